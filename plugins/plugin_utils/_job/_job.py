# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The atp_proxy role's job on one host: every part of a run, from ONE state query, in order.

Pure logic with injected remote access (the ``atp.sensor_proxy.atp_proxy_job`` action binds ``execute``,
``upload`` and ``remote_copy``); the rules of each part stay in their own module:

1. one read-only state query (:mod:`_host._remote`): the WinINet keys (:mod:`_wininet._write`), the sensor's services,
   the SenseIdentity process, the policy, WinHTTP, Defender for Endpoint and readiness keys
   (:func:`_sensor._discovery.discovery_reads`), the Defender for Endpoint settings (:func:`_mde._plan.reads`), the backup
   manifest and whether the connection user is an administrator;
2. discovery (:func:`_sensor._discovery.discover`; a v2 sensor adds the ``slurp`` of its SensorConfiguration.json);
3. the method (``atp_proxy_method``; ``auto``: :func:`_sensor._effective.auto_method`);
4. the Defender for Identity proxy: ``wininet`` (:func:`_wininet._write.run`, per account, or the machine-wide key
   under ``ProxySettingsPerUser=0``) or ``sensor_config`` (:func:`_sensor._change.run`); a v3 sensor (method
   ``mde``) gets its proxy where Set-MDISensorProxyConfiguration puts it (:mod:`_sensor._v3`), written in step 5;
5. Defender for Endpoint, the v3 sensor's two static proxy values and the opt-in .NET TLS values
   (:func:`_mde._run.run`: one backup in their own folder, one write; the atp_proxy_mde_* values must agree with the
   sensor's);
6. the refresh: a running sensor keeps the proxy it read at start, so what a change needs is restarted, once
   (:func:`_sensor._restart.restart_plan`);
7. what each sensor component uses now (:func:`_sensor._discovery.effective_from`, from the values written and verified;
   nothing more is read).

A converged host costs 1 round trip (2 with a v2 sensor: its file). A part that fails after an earlier part
wrote keeps the earlier part's record (what was written, the backup) in the error's details, so the summary
can say all of it.
"""

from __future__ import annotations

import copy

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import (
    ChangeError,
    ConnectionDropped,
    UsageError,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _preconditions as preconditions
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _options as options
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _parts as parts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _result as results
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job._result import MDE, SENSOR_CONFIG, WININET
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _catalogue as mde
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _plan as mde_plans
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _run as mde_run
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _after as sensor_after
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _change as sensor_apply
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as sensor
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _restart as sensor_restart
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _v3 as sensor_v3
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _write as configure
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet._result import WininetResult

var = options.var


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------
def reads(v: dict) -> dict:
    """Every read of the run, as :func:`_host._remote.read_state` keyword arguments (one state query)."""
    found = sensor.discovery_reads(bool(v[var("readiness")]))
    keys = list(found["keys"])  # the machine-wide Connections key among them (the ProxySettingsPerUser=0 target)
    try:
        keys += configure.reads(options.wininet_args(v))
    except UsageError:
        pass  # reported by the WinINet step, with its variable
    opts = options.mde_options(v)
    if opts is not None:
        ie = opts.get("winhttp_source") == "ie"
        # WinHTTP from ie is computed from the account's value as this run leaves it, not the caller's HKCU.
        keys += [k for k in mde_plans.reads(opts, options.mde_var, options.mde_wanted(v))
                 if not (ie and k == mde.CURRENT_USER_CONNECTIONS)]
        if ie:
            keys.append(accounts.connections_path(options.ie_account(v)))
    keys.append(backup.MANIFEST_PATH)
    unique = {}
    for key in keys:  # registry paths are case-insensitive (and so are PowerShell's hashtable keys)
        unique.setdefault(key.lower(), key)
    found["keys"] = list(unique.values())
    return found


# ---------------------------------------------------------------------------
# Deciding
# ---------------------------------------------------------------------------
def choose_method(v: dict, discovery: dict) -> tuple:
    """``(method, why)``: ``wininet``, ``sensor_config`` or ``mde`` (a v3 sensor: Defender for Endpoint's static
    proxy, as Set-MDISensorProxyConfiguration sets it)."""
    asked = v[var("method")]
    info = discovery["sensor"]
    if asked != "auto":
        return asked, "atp_proxy_method=%s" % asked
    chosen = discovery["auto_method"]
    in_use = discovery["method_in_use"]
    if chosen == MDE:
        return MDE, "sensor v3 connects through Defender for Endpoint: its static proxy, as " \
            "Set-MDISensorProxyConfiguration sets it"
    if not info["installed"]:
        return WININET, "no Defender for Identity sensor is installed: the per-account WinINet copy"
    if in_use == chosen:
        return chosen, "the v2 sensor already uses %s (Microsoft: use the method you used originally)" % chosen
    return chosen, "the v2 sensor has no proxy yet: its own setting, the method Microsoft recommends"


def restore_method(v: dict, snapshot, chosen: str, installed: bool = True) -> tuple | None:
    """``(method, why)`` of a restore with ``atp_proxy_method: auto`` on a v2 sensor's host, else None: the method of
    the backup it restores, which undoes the last change whichever method made it. A named file says it by its kind
    (a ``.reg``: WinINet; a ``.json``: the sensor's file); else the newest backup in ``atp_proxy_backup_dir`` written
    before a change (the manifest's stamp), where the host's method today would restore an older one and say "in
    sync"."""
    if not options.restore(v) or chosen == MDE or v[var("method")] != "auto" or not installed:
        return None  # without a sensor there is only WinINet to restore
    named = str(v.get(var("backup_file")) or "").lower()
    if named:
        kind = WININET if named.endswith(".reg") else SENSOR_CONFIG if named.endswith(".json") else None
        return (kind, "the backup to restore, %s, is %s" % (
            v[var("backup_file")], "a .reg file" if kind == WININET else "a SensorConfiguration.json")) if kind else None
    if not snapshot.has(backup.MANIFEST_PATH):
        return None
    manifest = backup.manifest_from(snapshot.key(backup.MANIFEST_PATH))
    base = v[var("backup_dir")].rstrip("\\").lower() + "\\"
    newest = [(entry.when, method, entry.path) for method, found in (
        (WININET, manifest.entries), (SENSOR_CONFIG, manifest.files)) for entry in found
        if entry.path.lower().startswith(base) and not entry.by_restore and entry.when]
    if not newest:
        return None
    dummy, method, path = max(newest)
    return method, "the newest backup in %s, %s, is the %s method's (a restore undoes the last change)" % (
        v[var("backup_dir")], path, method)


def run(execute, upload, remote_copy, v: dict, check_mode: bool, host: str = "host") -> dict:
    """The job (see the module docstring); ``v``: the role's variables, checked and resolved
    (:func:`_job._variables.check_role_variables`). Returns ``atp_proxy_job``'s result (:func:`_job._result.to_result`)."""
    job = results.JobResult()
    with preconditions.nothing_written_on_drop("Nothing was written.", "A rerun reads the host first, so it finishes "
                                               "the change or reports the host in sync."):
        _run(execute, upload, remote_copy, v, check_mode, host, job)
    return results.to_result(job)


def _run(execute, upload, remote_copy, v, check_mode, host, job: results.JobResult) -> None:
    read_only = options.read_only(v)
    predicted = check_mode or read_only
    snapshot = remote.read_state(execute, **reads(v))
    discovery = sensor.discover(execute, snapshot, readiness=bool(v[var("readiness")]))
    method, why = choose_method(v, discovery)
    method, why = restore_method(v, snapshot, method, discovery["sensor"]["installed"]) or (method, why)
    stamp = backup.stamp()
    warnings = job.warnings
    warnings += discovery["sensor_warnings"]
    per_machine = discovery["wininet"]["per_user_policy"]["per_machine"]
    info = dict(discovery)
    # Known before any part runs: a part that fails still says which sensor and method the host has.
    job.method, job.method_reason, job.sensor_info = method, why, info
    if method == MDE and options.restore(v):
        # The restore puts back WinINet values and SensorConfiguration.json; a sensor v3's proxy is Defender for
        # Endpoint's, restored by hand (docs/mde.md). Going on would compare the current values with themselves
        # and report the host in sync while nothing was restored.
        raise UsageError(
            "%s runs a sensor v3 (method mde), whose proxy is Defender for Endpoint's: a restore does not put those "
            "values back, so nothing was changed. Restore them by hand with reg import of the before.reg of the "
            "change to undo, under %s (docs/mde.md)" % (host, v[options.mde_var("backup_dir")]))
    v3_opts = v3_url = v3_wanted = None
    if method == MDE:
        v3_opts, v3_url, v3_warnings, v3_wanted = parts.sensor_v3_options(v, discovery, execute, snapshot, host)
        warnings += v3_warnings

    # -- Defender for Identity ------------------------------------------------
    sensor_result = None
    if method == WININET:
        targets = None
        if per_machine:
            if not v[var("machine_key")]:
                raise UsageError(
                    "%s has the ProxySettingsPerUser=0 policy (%s), so WinINet takes every account's proxy from the "
                    "machine-wide key %s and a per-account copy would have no effect; atp_proxy_machine_key is false, "
                    "so nothing was changed. Set atp_proxy_machine_key: true to write the machine-wide value, or use "
                    "atp_proxy_method: sensor_config." % (host, sensor.POLICY_KEY, sensor.MACHINE_CONNECTIONS))
            targets = [accounts.MACHINE]
            warnings.append("ProxySettingsPerUser=0 (%s): the machine-wide WinINet value is the one every account "
                            "uses, so it is the target (not %s)" % (sensor.POLICY_KEY, ", ".join(
                                v[var("targets")] or [])))
        try:
            job.wininet = configure.run_part(execute, upload, options.wininet_args(v, targets), check_mode, host=host,
                                             snapshot=snapshot)
        except (ChangeError, ConnectionDropped) as exc:
            job.failed(WININET, exc)
            raise
        if per_machine and accounts.MACHINE in job.wininet.changed_sids and v[var("stig_warning")]:
            job.stig_note = sensor_after.STIG_NOTE
            warnings.append(sensor_after.STIG_NOTE)
    else:
        job.wininet = WininetResult.skipped(why)
        if method == MDE:
            info["message"] = discovery.get("message") or "sensor v3: connects through Defender for Endpoint"
        elif method == SENSOR_CONFIG:
            url = parts.sensor_url(v, execute, snapshot)
            sensor_opts = dict(options.sensor_options(v, url, stamp), log_files=options.log_files(v, discovery),
                               log_secrets=sensor_after.secrets(v))
            try:
                sensor_result = sensor_apply.run(execute, upload, remote_copy, discovery, sensor_opts, predicted,
                                                 host=host)
            except (ChangeError, ConnectionDropped) as exc:
                job.failed(SENSOR_CONFIG, exc)
                raise
            if read_only:
                sensor_result.pending = sensor_result.changed
                sensor_result.changed = False
            job.sensor_config = sensor_result
            warnings += sensor_result.warnings
    wininet = job.wininet

    # -- Defender for Endpoint and the machine-wide opt-ins --------------------
    machine_items = parts.tls_items(v, discovery, snapshot)
    opts = v3_opts if v3_opts is not None else options.mde_options(v)
    mde_plan = None
    mde_result = None
    if opts is not None or machine_items:
        ie_from = None
        if opts is not None and opts.get("winhttp_source") == "ie":
            sid = accounts.MACHINE if per_machine else options.ie_account(v)
            after = copy.deepcopy(snapshot)
            # What WinHTTP copies: the account's value as this run leaves it (or would: in check mode, as planned).
            results.written_wininet(after, wininet.items, wininet.changed_sids if predicted else wininet.written)
            ie_from = mde_plans.copy_of(after.key(accounts.connections_path(sid)), accounts.label(sid))
        try:
            if opts is not None:
                wanted = v3_wanted if v3_opts is not None else options.mde_wanted(v)
                mde_plan = mde_plans.plan(execute, opts, snapshot.keys, options.mde_var,
                                          str(snapshot.user.get("name") or ""), ie_from=ie_from, wanted=wanted)
                mde_result = mde_run.run(execute, upload, opts, check_mode, snapshot=snapshot, host=host,
                                         extra_items=machine_items, ie_from=ie_from, stamp=stamp, the_plan=mde_plan)
            else:
                mde_result = parts.machine_change(execute, upload, machine_items, v, predicted, host, snapshot, stamp)
        except (ChangeError, ConnectionDropped) as exc:
            job.failed(MDE, exc)
            raise
        job.mde = mde_result
        warnings += mde_result.warnings
    if v3_opts is not None:
        job.sensor_v3 = sensor_v3.record(v3_url, mde_result.changed_settings if mde_result is not None else [])

    # -- the refresh: once, after every write of the run -----------------------
    wininet_changed = bool(wininet.written) or (predicted and bool(wininet.changed_sids))
    tls_changed = bool(machine_items) and (predicted or bool(mde_result is not None and mde_result.written))
    restart = {"services": [], "actions": [], "reasons": [], "restarted": []}
    if not read_only:
        plan = sensor_restart.restart_plan(discovery, wininet_changed or tls_changed, predicted,
                                           already=sensor_result.restarted if sensor_result is not None else [])
        restart.update(plan)
        if plan["services"] and v[var("restart_services")]:
            try:
                done = sensor_restart.restart(execute, plan["services"], predicted, watch=options.watch_seconds(v),
                                              logs=options.log_files(v, discovery), secrets=sensor_after.secrets(v))
            except (ChangeError, ConnectionDropped) as exc:
                job.failed("restart", exc)
                raise
            restart.update(restarted=done["restarted"], actions=done["actions"], services=done["services"],
                           verified=done["verified"], watch=done.get("watch") or {})
        elif plan["services"]:
            warnings.append("%s not restarted (atp_proxy_restart_services: false): the running sensor keeps the proxy "
                            "it read at start until its services restart" % " and ".join(plan["services"]))
            restart["actions"] = []
            restart["restart_needed"] = plan["services"]
    job.restart = restart
    # -- after the restart: does the sensor keep running, what did it log? ------
    watched = (sensor_result.watch if sensor_result is not None else None) or restart.get("watch") or {}
    job.after_run = sensor_after.after_run(execute, v, discovery, watched, predicted)

    # -- what each component uses now -------------------------------------------
    now = discovery.snapshot if predicted else results.after(discovery, wininet, mde_plan, machine_items, mde_result)
    proxy_after = None
    if sensor_result is not None and sensor_result.changed and not predicted:
        proxy_after = sensor_result.proxy_after
    effective, effective_warnings = sensor.effective_from(discovery, now, proxy_after)
    warnings += [w for w in effective_warnings if w not in warnings]
    info["effective_proxy"] = effective
    job.effective_proxy = effective
    # The readiness as the host is now (the TLS values this run set, read back by their change).
    job.readiness = discovery.get("readiness")
    if tls_changed and not predicted and job.readiness is not None:
        job.readiness = sensor.readiness_from(now, v2=info["sensor"]["generation"] == "v2")
        info["readiness"] = job.readiness
    job.done = True

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
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _catalogue as mde
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _desired as mde_desired
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _plan as mde_plans
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _run as mde_run
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _endpoints as endpoints
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _after as sensor_after
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _change as sensor_apply
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sensor_config
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_plan as config_plan
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as sensor
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _readiness as readiness
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _restart as sensor_restart
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _v3 as sensor_v3
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _compare as compare
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _registry_change as apply
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _winhttp as winhttp
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _write as configure

PREFIX = "atp_proxy_"
MDE_PREFIX = "atp_proxy_mde_"
WININET, SENSOR_CONFIG, MDE = "wininet", "sensor_config", "mde"
VALUE = "DefaultConnectionSettings"


def var(option: str) -> str:
    return PREFIX + option


# ---------------------------------------------------------------------------
# The parts' options, from the role's (checked) variables
# ---------------------------------------------------------------------------
def read_only(v: dict) -> bool:
    return (v.get(var("mode")) or "configure") == "check"


def wininet_args(v: dict, targets=None) -> dict:
    """The options of the WinINet write path (win_wininet_proxy's), from the role's variables."""
    options = ("source", "targets", "value_names", "load_hive", "backup_dir", "backup_keep")
    args = {option: v.get(var(option)) for option in options}
    args.update(read_only=read_only(v), name_prefix=PREFIX, exact=False)
    if targets is not None:
        args["targets"] = list(targets)
    if (v.get(var("state")) or "present") == "absent":
        # Direct access, encoded on top of each account's value: its counter goes on, its detection cache stays.
        args.update(source="settings", settings={"auto_detect": False})
        return args
    # Only the variable of the chosen source is passed on (the others keep their role defaults, '' or {}).
    option = compare.SOURCE_OPTION.get(args["source"])
    if option and v.get(var(option)) not in ("", {}, None):
        args[option] = v[var(option)]
    return args


def mde_options(v: dict) -> dict | None:
    """win_mde_proxy's options from the atp_proxy_mde_* variables; None when Defender for Endpoint is not managed."""
    if "mde" not in (v.get(var("products")) or []):
        return None
    opts = {option: v[MDE_PREFIX + option] for option in mde.DEFAULTS if MDE_PREFIX + option in v}
    if not opts.get("proxy_server"):
        settings = v.get(var("settings"))
        opts["proxy_server"] = (settings.get("proxy_server") or "") if isinstance(settings, dict) else ""
    opts.update(backup_dir=v.get(MDE_PREFIX + "backup_dir") or mde.DEFAULT_BACKUP_DIR,
                backup_keep=v.get(var("backup_keep")), read_only=read_only(v), name_prefix=MDE_PREFIX)
    return opts


def _ie_account(v: dict) -> str:
    return accounts.resolve_sid(v.get(MDE_PREFIX + "winhttp_ie_account") or "SYSTEM", MDE_PREFIX + "winhttp_ie_account")


def problems(v: dict) -> list:
    """What the checked variables cannot do, before anything is read (each names its variable)."""
    out = []
    opts = mde_options(v)
    if opts is not None:
        try:
            mde_desired.desired(opts, mde.namer(MDE_PREFIX))
        except UsageError as exc:
            out.append(str(exc))
        if opts.get("winhttp_source") == "ie":
            out += accounts.problems(v.get(MDE_PREFIX + "winhttp_ie_account") or "SYSTEM",
                                     MDE_PREFIX + "winhttp_ie_account")
    names = sensor_apply.ROLE_NAMES
    url = v.get(names["url"])
    if url:
        try:
            config_plan.validate_url(url, names["url"])
        except UsageError as exc:
            out.append(str(exc))
    if v.get(names["password"]) and not v.get(names["username"]):
        out.append("%s is set but %s is not: the sensor keeps a proxy password only together with a user name "
                   "(Set-MDISensorProxyConfiguration -ProxyCredential)" % (names["password"], names["username"]))
    if (v.get(var("state")) or "present") == "absent" and v.get(var("source")) == "backup":
        out.append("atp_proxy_state: absent clears the proxy, but atp_proxy_source=backup restores a backup; choose one")
    return out + sensor_after.problems(v)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------
def reads(v: dict) -> dict:
    """Every read of the run, as :func:`_host._remote.read_state` keyword arguments (one state query)."""
    found = sensor.discovery_reads(bool(v.get(var("readiness"), True)))
    keys = list(found["keys"])  # the machine-wide Connections key among them (the ProxySettingsPerUser=0 target)
    try:
        keys += configure.reads(wininet_args(v))
    except UsageError:
        pass  # reported by the WinINet step, with its variable
    opts = mde_options(v)
    if opts is not None:
        ie = opts.get("winhttp_source") == "ie"
        # WinHTTP from ie is computed from the account's value as this run leaves it, not the caller's HKCU.
        keys += [k for k in mde_plans.reads(opts, mde.namer(MDE_PREFIX)) if not (ie and k == mde.CURRENT_USER_CONNECTIONS)]
        if ie:
            keys.append(accounts.connections_path(_ie_account(v)))
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
    asked = v.get(var("method")) or "auto"
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


def _sensor_url(v: dict, execute, snapshot) -> str | None:
    """The sensor's own proxy URL: atp_proxy_sensor_proxy_url, else the WinINet source's proxy as http://host:port."""
    given = v.get(sensor_apply.ROLE_NAMES["url"])
    if given or (v.get(var("state")) or "present") == "absent":
        return given or None
    args = wininet_args(v)
    if args["source"] == "backup":
        return None
    try:
        kind = compare.infer_source_kind(args["source"], dict(args, settings=compare.clean_settings(
            args.get("settings"))), configure.namer(PREFIX))
        source = compare.load_source(execute, kind, args.get("source_sid"), args.get("source_value"),
                                     compare.clean_settings(args.get("settings")), configure.namer(PREFIX),
                                     snapshot=snapshot)
    except UsageError as exc:
        raise UsageError("%s is empty, and the WinINet source cannot give the sensor's proxy: %s"
                         % (sensor_apply.ROLE_NAMES["url"], exc)) from None
    settings = source.settings
    server = settings.proxy_server if settings.flags["proxy"] else ""
    if not server or "=" in server or ";" in server:
        raise UsageError(
            "%s is empty, and the WinINet source (%s=%s: %s) has no single proxy server to give the sensor; set %s to "
            "a URL such as http://proxy.corp.example:8080"
            % (sensor_apply.ROLE_NAMES["url"], var("source"), kind, wininet.describe(settings),
               sensor_apply.ROLE_NAMES["url"]))
    return "http://" + server


def _sensor_options(v: dict, url, stamp: str) -> dict:
    names = sensor_apply.ROLE_NAMES
    opts = {"url": url, "username": v.get(names["username"]) or None, "password": v.get(names["password"]) or None,
            "password_update": v.get(names["password_update"]) or "on_create",
            # A user and password the file holds stay unless new ones are given or clearing them is asked for.
            "keep_credentials": not v.get(names["clear_credentials"]),
            "state": v.get(var("state")) or "present", "restart": bool(v.get(var("restart_services"), True)),
            "backup_dir": v.get(var("backup_dir")), "backup_keep": v.get(var("backup_keep")), "when": stamp,
            "watch": _watch_seconds(v)}
    if v.get(var("source")) == "backup":
        opts.update(source="backup", backup_file=v.get(var("backup_file")) or None)
    return opts


def _watch_seconds(v: dict) -> int | None:
    """How long to watch the services after a restart (atp_proxy_sensor_start_timeout), None: do not."""
    return sensor_after.watch_seconds(v)


def _log_files(v: dict, discovery: dict) -> list:
    return sensor_after.log_files(v, discovery)


def _sensor_v3(v: dict, discovery: dict, execute, snapshot, host: str) -> tuple:
    """``(options for _mde._run.run, wanted URL or None, warnings)`` of a v3 sensor's proxy (method ``mde``): the
    atp_proxy_mde_* options (or only the sensor's two values when Defender for Endpoint is not managed) with the
    values Set-MDISensorProxyConfiguration writes; checked before anything is written. ``(None, None, [])``
    for a restore (atp_proxy_source=backup): the restore playbook puts the backups back."""
    generation = discovery["sensor"].get("generation")
    if generation != "v3":
        raise UsageError("atp_proxy_method=mde sets the proxy of a Defender for Identity sensor v3 (SenseIdentity "
                         "inside Defender for Endpoint), but %s has %s. Nothing was changed. Use atp_proxy_method: "
                         "auto, which keeps the method the host uses."
                         % (host, "a sensor %s" % generation if generation else "no Defender for Identity sensor"))
    if v.get(var("source")) == "backup":
        return None, None, []
    url = None
    if (v.get(var("state")) or "present") == "present":  # absent: both values removed, as Clear- does
        url = config_plan.validate_url(_sensor_url(v, execute, snapshot), sensor_apply.ROLE_NAMES["url"])
    opts = mde_options(v)
    if opts is None:  # Defender for Endpoint is not managed: only what the cmdlet writes for the sensor
        opts = {"winhttp_source": "unmanaged", "telemetry": False, "prefer_static_proxy": False,
                "backup_dir": v.get(MDE_PREFIX + "backup_dir") or mde.DEFAULT_BACKUP_DIR,
                "backup_keep": v.get(var("backup_keep")), "read_only": read_only(v), "name_prefix": MDE_PREFIX}
    opts["also"] = sensor_v3.wanted(url, sensor_v3.owner(v))
    mde_desired.desired(opts, mde.namer(MDE_PREFIX))  # one setting, one owner: a conflict stops here, nothing written
    warning = sensor_v3.credentials_warning(v, host)
    return opts, url, [warning] if warning else []


def _tls_items(v: dict, discovery: dict, snapshot) -> list:
    """The opt-in .NET TLS values (atp_proxy_fix_tls) as pending registry writes."""
    found = discovery.get("readiness")
    if not v.get(var("fix_tls")) or not found:
        return []
    items = []
    for path, name, data in readiness.tls_fix_values(found):
        key = snapshot.key(path)
        old = key.get(name) if key.exists else None
        if old is not None and old.type != "REG_DWORD":
            raise ChangeError("%s\\%s is %s, not REG_DWORD, so atp_proxy_fix_tls does not overwrite it. Nothing was "
                              "changed. Delete the value or set it to 1 as a DWORD." % (path, name, old.type),
                              changed=False)
        items.append(apply.Pending(None, path, name, None if old is None else old.value,
                                   "missing" if old is None else "different", data, key=mde.reg_key(path),
                                   label="%s (%s)" % (name, path.split(":\\", 1)[-1])))
    return items


# ---------------------------------------------------------------------------
# After the writes: what the host holds, for the effective proxy
# ---------------------------------------------------------------------------
def _patch(snapshot, path: str, name: str, kind: str, data) -> None:
    key = snapshot.keys.get(path.lower())
    if key is None:
        return
    key.exists = True
    if data is None:
        key.values.pop(name.lower(), None)
    elif isinstance(data, (bytes, bytearray)):
        key.values[name.lower()] = remote.RegValue(name, kind, bytes(data))
    else:
        key.values[name.lower()] = remote.RegValue(name, kind, None, data)


def _written_wininet(snapshot, result: dict) -> None:
    written = set(result.get("written") or [])
    for target in result.get("targets") or []:
        if target.get("sid") not in written:
            continue
        for name, value in (target.get("values") or {}).items():
            wanted = value.get("wanted_hex")
            _patch(snapshot, target["path"], name, "REG_BINARY", bytes.fromhex(wanted) if wanted is not None else None)


def _written_machine(snapshot, the_plan, items: list) -> None:
    for entry in the_plan.settings if the_plan is not None else []:
        if not entry.changed:
            continue
        wanted = winhttp.winhttp_bytes(entry.wanted) if entry.setting is mde.WINHTTP else entry.wanted
        _patch(snapshot, entry.setting.path, entry.setting.value_name, entry.setting.reg_type, wanted)
    for item in items:
        _patch(snapshot, item.path, item.name, "REG_DWORD", item.wanted)


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------
class _Record:
    """What the run did so far: a later part that fails carries it in its error's details."""

    def __init__(self):
        self.result = {}

    def failed(self, part: str, exc) -> None:
        """Add what was done before ``part`` failed to ``exc.details``; the part's own record goes under its name."""
        own = dict(exc.details)
        merged = dict(self.result)
        if part == WININET:
            merged.update(own)
        else:
            merged[part] = dict(own, failed=True, error=str(exc))
            merged["changed"] = bool(self.result.get("changed")) or bool(own.get("changed"))
            for field in ("written", "maybe_written", "backup_file", "dropped_at"):
                merged.setdefault(field, [] if field in ("written", "maybe_written") else "")
        merged["failed_part"] = part
        exc.details.clear()
        exc.details.update(merged)


def _wininet_stub(method: str, why: str) -> dict:
    return {"changed": False, "changed_sids": [], "backup_file": "", "applied_file": "", "backups": [],
            "written": [], "hives_loaded": [], "actions": [], "pruned": [], "targets": [], "in_sync": True,
            "needs_write": [], "hive_not_loaded": [], "source": {}, "wininet_skipped": why}


def run(execute, upload, remote_copy, v: dict, check_mode: bool, host: str = "host") -> dict:
    """The job (see the module docstring); ``v``: the role's variables, checked (:mod:`_job._variables`)."""
    record = _Record()
    with preconditions.nothing_written_on_drop("Nothing was written.", "A rerun reads the host first, so it finishes "
                                               "the change or reports the host in sync."):
        return _run(execute, upload, remote_copy, v, check_mode, host, record)


def _run(execute, upload, remote_copy, v, check_mode, host, record: _Record) -> dict:
    predicted = check_mode or read_only(v)
    snapshot = remote.read_state(execute, **reads(v))
    discovery = sensor.discover(execute, snapshot, readiness=bool(v.get(var("readiness"), True)))
    method, why = choose_method(v, discovery)
    stamp = backup.stamp()
    warnings = list(discovery["sensor_warnings"])
    per_machine = discovery["wininet"]["per_user_policy"]["per_machine"]
    info = dict(discovery)
    result = record.result
    # Known before any part runs: a part that fails still says which sensor and method the host has.
    result.update(method=method, method_reason=why, sensor_info=info)
    v3_opts = v3_url = None
    if method == MDE:
        v3_opts, v3_url, v3_warnings = _sensor_v3(v, discovery, execute, snapshot, host)
        warnings += v3_warnings

    # -- Defender for Identity ------------------------------------------------
    sensor_result = None
    if method == WININET:
        targets = None
        if per_machine:
            if not v.get(var("machine_key"), True):
                raise UsageError(
                    "%s has the ProxySettingsPerUser=0 policy (%s), so WinINet takes every account's proxy from the "
                    "machine-wide key %s and a per-account copy would have no effect; atp_proxy_machine_key is false, "
                    "so nothing was changed. Set atp_proxy_machine_key: true to write the machine-wide value, or use "
                    "atp_proxy_method: sensor_config." % (host, sensor.POLICY_KEY, sensor.MACHINE_CONNECTIONS))
            targets = [accounts.MACHINE]
            warnings.append("ProxySettingsPerUser=0 (%s): the machine-wide WinINet value is the one every account "
                            "uses, so it is the target (not %s)" % (sensor.POLICY_KEY, ", ".join(
                                v.get(var("targets")) or [])))
        try:
            result.update(configure.run(execute, upload, wininet_args(v, targets), check_mode, host=host,
                                        snapshot=snapshot))
        except (ChangeError, ConnectionDropped) as exc:
            record.failed(WININET, exc)
            raise
        if per_machine and accounts.MACHINE in (result.get("changed_sids") or []) and v.get(var("stig_warning"), True):
            result["stig_note"] = sensor_after.STIG_NOTE
            warnings.append(sensor_after.STIG_NOTE)
    else:
        result.update(_wininet_stub(method, why))
        if method == MDE:
            result["actions"] = []
            info["message"] = discovery.get("message") or "sensor v3: connects through Defender for Endpoint"
        elif method == SENSOR_CONFIG:
            url = _sensor_url(v, execute, snapshot)
            sensor_opts = dict(_sensor_options(v, url, stamp), log_files=_log_files(v, discovery),
                               log_secrets=sensor_after.secrets(v))
            try:
                sensor_result = sensor_apply.run(execute, upload, remote_copy, discovery, sensor_opts, predicted,
                                                 host=host)
            except (ChangeError, ConnectionDropped) as exc:
                record.failed(SENSOR_CONFIG, exc)
                raise
            if read_only(v):
                sensor_result["pending"] = bool(sensor_result.get("changed"))
                sensor_result["changed"] = False
            result[SENSOR_CONFIG] = sensor_result
            # A restore names the backup it used (the WinINet restore's fields, at the top).
            result.update({k: sensor_result[k] for k in ("restored_from", "trusted_because") if sensor_result.get(k)})
            warnings += sensor_result.get("warnings") or []
    result.update(method=method, method_reason=why)

    # -- Defender for Endpoint and the machine-wide opt-ins --------------------
    machine_items = _tls_items(v, discovery, snapshot)
    opts = v3_opts if v3_opts is not None else mde_options(v)
    mde_plan = None
    mde_result = None
    if opts is not None or machine_items:
        ie_from = None
        if opts is not None and opts.get("winhttp_source") == "ie":
            sid = accounts.MACHINE if per_machine else _ie_account(v)
            after = copy.deepcopy(snapshot)
            if not predicted:
                _written_wininet(after, result)
            else:
                _predicted_wininet(after, result)
            ie_from = mde_plans.copy_of(after.key(accounts.connections_path(sid)), accounts.label(sid))
        try:
            if opts is not None:
                mde_plan = mde_plans.plan(execute, opts, snapshot.keys, mde.namer(MDE_PREFIX),
                                          str(snapshot.user.get("name") or ""), ie_from=ie_from)
                mde_result = mde_run.run(execute, upload, opts, check_mode, snapshot=snapshot, host=host,
                                         extra_items=machine_items, ie_from=ie_from, stamp=stamp, the_plan=mde_plan)
            else:
                mde_result = _machine_change(execute, upload, machine_items, v, predicted, host, snapshot, stamp)
        except (ChangeError, ConnectionDropped) as exc:
            record.failed(MDE, exc)
            raise
        result[MDE] = mde_result
        warnings += mde_result.get("warnings") or []
        # --diff shows every part's values, decoded (the WinINet accounts' first)
        result["diff"] = list(result.get("diff") or []) + list(mde_result.get("diff") or [])
    if v3_opts is not None:
        result["sensor_v3"] = sensor_v3.record(v3_url, mde_result)

    # -- the refresh: once, after every write of the run -----------------------
    wininet_changed = bool(result.get("written")) or (predicted and bool(result.get("changed_sids")))
    tls_changed = bool(machine_items) and (predicted or bool((mde_result or {}).get("written")))
    restart = {"services": [], "actions": [], "reasons": [], "restarted": []}
    if not read_only(v):
        plan = sensor_restart.restart_plan(discovery, wininet_changed or tls_changed, predicted,
                                           already=(sensor_result or {}).get("restarted") or [])
        restart.update(plan)
        if plan["services"] and v.get(var("restart_services"), True):
            try:
                done = sensor_restart.restart(execute, plan["services"], predicted, watch=_watch_seconds(v),
                                              logs=_log_files(v, discovery), secrets=sensor_after.secrets(v))
            except (ChangeError, ConnectionDropped) as exc:
                record.failed("restart", exc)
                raise
            restart.update(restarted=done["restarted"], actions=done["actions"], services=done["services"],
                           verified=done["verified"], watch=done.get("watch") or {})
        elif plan["services"]:
            warnings.append("%s not restarted (atp_proxy_restart_services: false): the running sensor keeps the proxy "
                            "it read at start until its services restart" % " and ".join(plan["services"]))
            restart["actions"] = []
            restart["restart_needed"] = plan["services"]
    result["restart"] = restart
    # -- after the restart: does the sensor keep running, what did it log? ------
    watched = (sensor_result or {}).get("watch") or restart.get("watch") or {}
    result.update(sensor_after.after_run(execute, v, discovery, watched, predicted))
    result["actions"] = list(result.get("actions") or []) + list((sensor_result or {}).get("actions") or []) + \
        list((mde_result or {}).get("actions") or []) + list(restart["actions"])

    # -- what each component uses now -------------------------------------------
    now = discovery.snapshot if predicted else _after(discovery, result, mde_plan, machine_items, mde_result)
    proxy_after = None
    if sensor_result and sensor_result.get("changed") and not predicted:
        proxy_after = (sensor_result.get("proxy") or {}).get("after")
    effective, effective_warnings = sensor.effective_from(discovery, now, proxy_after)
    warnings += [w for w in effective_warnings if w not in warnings]
    info["effective_proxy"] = effective
    result["sensor_info"] = info
    result["effective_proxy"] = effective
    # The readiness as the host is now (the TLS values this run set, read back by their change).
    result["readiness"] = discovery.get("readiness")
    if tls_changed and not predicted and result["readiness"] is not None:
        result["readiness"] = sensor.readiness_from(now, v2=info["sensor"]["generation"] == "v2")
        info["readiness"] = result["readiness"]
    result["changed"] = bool(result.get("changed")) or bool((sensor_result or {}).get("changed")) or bool(
        (mde_result or {}).get("changed")) or bool(restart.get("restarted"))
    result["in_sync"] = bool(result.get("in_sync", True)) and not _pending(sensor_result) and not _pending(
        mde_result, True)
    result["pending_changes"] = _pending_labels(sensor_result, mde_result, predicted)
    # --diff shows every file and value the run changes (or would): the WinINet values, the sensor's file, Defender
    # for Endpoint and the .NET TLS values, each decoded.
    diffs = list(result.get("diff") or []) + ([sensor_result["diff"]] if (sensor_result or {}).get("diff") else [])
    diffs += list((mde_result or {}).get("diff") or [])
    if diffs:
        result["diff"] = diffs
    result["warnings"] = list(dict.fromkeys(list(result.get("warnings") or []) + warnings))
    return result


def sensor_workspace(result: dict, v: dict) -> str:
    """The workspace of the v2 sensor's SensorConfiguration.json (its sensor API address), '' when unknown."""
    config = (result.get("sensor_info") or {}).get("sensor_config") or {}
    return endpoints.workspace_of(config.get("sensor_api"), v.get(var("cloud")) or "commercial")


def sensor_v3_geo_url(result: dict) -> str:
    """The ``geoLocationUrl`` of Defender for Endpoint's onboarding info on a sensor v3 host ('' otherwise): the probe
    tests ``<geoLocationUrl>cnc/identity/api`` there, as Test-MDISensorApiConnection does."""
    info = result.get("sensor_info") or {}
    if (info.get("sensor") or {}).get("generation") != "v3":
        return ""
    return str((info.get("mde") or {}).get("geo_location_url") or "")


def probe_route(result: dict, v: dict) -> dict:
    """How the probe sends its requests so that it tests the proxy the sensor uses (the job's method):
    ``{"modes", "proxy", "proxy_username", "proxy_password", "proxy_source"}``. WinINet: the account's own proxy (mode
    ``default``). The sensor's own setting, or Defender for Endpoint's static proxy for a v3 sensor: that proxy,
    named (mode ``named``), with the sensor's proxy user and the password when the run was given it."""
    modes = list(v.get(var("probe_modes")) or ["default"])
    entry = (result.get("effective_proxy") or {}).get("sensor") or {}
    method = result.get("method")
    # Where the sensor takes its proxy from, so that the probe's hints name that setting (the method the host uses).
    source = method if method in (SENSOR_CONFIG, MDE) else (
        "wininet_machine" if entry.get("source") == "wininet_machine" else "wininet_per_account")
    route = {"modes": modes, "proxy": "", "proxy_username": "", "proxy_password": "", "proxy_source": source,
             "direct_fallback": False}
    if method not in (SENSOR_CONFIG, MDE) or not entry.get("proxy"):
        return route
    proxy = str(entry["proxy"])
    route["proxy"] = proxy if "://" in proxy else "http://" + proxy
    route["modes"] = ["named"] + [m for m in modes if m != "default"]
    if method == MDE:
        # Defender for Endpoint falls back to a direct connection when its static proxy fails (verify-connectivity):
        # probe direct too, so that a broken proxy hidden by open direct egress is 'works_only_direct'.
        route["modes"] += [] if "direct" in route["modes"] else ["direct"]
        route["direct_fallback"] = True
    if method == SENSOR_CONFIG:
        names = sensor_apply.ROLE_NAMES
        route["proxy_username"] = v.get(names["username"]) or ""
        route["proxy_password"] = v.get(names["password"]) or ""
    return route


def _pending(part: dict | None, machine: bool = False) -> bool:
    if not part:
        return False
    if machine:
        return bool(part.get("changed_settings"))
    return bool(part.get("pending") or part.get("changed"))


def _pending_labels(sensor_result, mde_result, predicted: bool) -> list:
    """What differs besides the WinINet accounts (predicted runs) or what was written (others)."""
    out = []
    if _pending(sensor_result):
        out.append(sensor_config.FILE_NAME)
    out += list((mde_result or {}).get("changed_settings") or [])
    return out


def _predicted_wininet(snapshot, result: dict) -> None:
    """In check mode: the values the WinINet step would write, as if written (for WinHTTP from ie)."""
    pending = set(result.get("changed_sids") or [])
    _written_wininet(snapshot, dict(result, written=[t.get("sid") for t in result.get("targets") or []
                                                     if t.get("sid") in pending]))


def _after(discovery, result, mde_plan, machine_items, mde_result):
    """The discovery's snapshot with what this run wrote (verified by each part's read back)."""
    after = copy.deepcopy(discovery.snapshot)
    _written_wininet(after, result)
    if mde_result and mde_result.get("written"):
        _written_machine(after, mde_plan, machine_items)
    return after


def _machine_change(execute, upload, items: list, v: dict, predicted: bool, host: str, snapshot, stamp: str) -> dict:
    """The opt-in machine-wide values without Defender for Endpoint (atp_proxy_fix_tls alone)."""
    out = {"changed": bool(items) and not read_only(v), "changed_settings": [i.label for i in items],
           "actions": [apply.sentence(i, predicted) for i in items], "diff": [apply.diff_for(i) for i in items],
           "backups": [i.to_result() for i in items], "settings": [], "written": [], "backup_file": "",
           "warnings": []}
    if not items or predicted:
        return out
    preconditions.require_administrator(snapshot.user, "the .NET TLS values under HKLM need local administrator rights",
                                        sid=False, fix="")
    change = apply.Change(execute, upload, items, backup_dir=v.get(MDE_PREFIX + "backup_dir") or mde.DEFAULT_BACKUP_DIR,
                          keep=v.get(var("backup_keep")) or backup.DEFAULT_KEEP,
                          comment="atp.sensor_proxy backup of %s (.NET TLS values)" % host, when=stamp,
                          manifest=backup.manifest_from(snapshot.key(backup.MANIFEST_PATH)))
    out.update(change.run())
    out["warnings"] = list(change.warnings)
    return out

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's summary (``atp_proxy_summary``, schema in ``docs/dev/contracts.md``), built once per run.

Pure Python, no Ansible imports. The only place that decides a host's status (:func:`status_of`). The role's
job (the ``atp.sensor_proxy.atp_proxy_job`` action) builds the summary from its own result (:func:`host_summary`):
the WinINet part, the sensor, Defender for Endpoint, plus the error of a failed step. The probe runs after the
job, as other tasks; :func:`with_probes` adds its results to that summary without building it again. Every
consumer reuses the one summary: the ``atp.sensor_proxy.atp_proxy_host_summary`` action (the role's last step),
the fleet filters the playbooks call (``fleet_rows``, then ``fleet_lines``, ``fleet_stats`` and the report over
those rows). A host that never got that far (unreachable before the role, or removed from the play) is
summarized from whatever results it registered (:func:`row_for`).

The vocabulary (statuses, labels, how a host ends) is in :mod:`_fleet._status`, the one-line text in
:mod:`_fleet._line`, the fleet's totals and set_stats in :mod:`_fleet._totals`.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _line as lines
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _status as st
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _summary as mde_part
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _connected as connected


def _proxy_of(decoded) -> str:
    """The proxy a decoded WinINet value makes the account use, for a probe: host:port or ``direct``."""
    if not isinstance(decoded, dict):
        return ""
    flags = decoded.get("flags") or {}
    if flags.get("proxy") and decoded.get("proxy_server"):
        return str(decoded["proxy_server"])
    if flags.get("auto_config_url") or flags.get("auto_detect"):
        return ""  # a PAC script or WPAD decides: the probe cannot know the proxy in advance
    return "direct"


def targets_of(proxy: dict, check_mode: bool) -> list:
    """The per-account part of a summary, from a win_wininet_proxy result."""
    changed = set(st.as_list(proxy.get("changed_sids")))
    written = set(st.as_list(proxy.get("written")))
    out = []
    for target in st.as_list(proxy.get("targets")):
        if not isinstance(target, dict) or not target.get("sid"):
            continue
        sid = st.as_text(target["sid"]).upper()
        out.append({
            "sid": sid,
            "account": st.as_text(target.get("account")) or accounts.account_name(sid),
            "before": st.as_text(target.get("state")),
            "hive_loaded": target.get("hive_loaded") is not False,  # False: its value could not be read
            "changed": sid in (changed if check_mode else written),
            "differences": [str(d) for d in st.as_list(target.get("differences"))],
            "current": st.as_text(target.get("summary")),
            "wanted": st.as_text(target.get("wanted_summary")),
        })
    return out


def expected_proxies(proxy: dict) -> dict:
    """SID -> the proxy each account uses after this run (``host:port``, ``direct``, or '' when unknown).

    An account this run wrote gets the source's proxy; one in sync keeps its own; a drifted account the run did not
    write (a drift check, check mode) keeps its current one: that is what the probe goes through.
    """
    source = (proxy.get("source") or {}).get("decoded")
    # In check mode nothing is written: the probe sees each account as it is (the "fixing" flag says a change is
    # pending), so its proxy is the current one, port and all.
    written = set(st.as_list(proxy.get("written")))
    out = {}
    for target in st.as_list(proxy.get("targets")):
        if not isinstance(target, dict) or not target.get("sid"):
            continue
        sid = st.as_text(target["sid"]).upper()
        if sid in written or target.get("state") in ("identical", "equivalent"):
            out[sid] = _proxy_of(source) if source else _proxy_of(target.get("decoded"))
        else:
            out[sid] = _proxy_of(target.get("decoded"))
    return out


def not_probed_why(probe: dict) -> str:
    """Why an account's probe gave no verdict, '' when it did: a dropped connection, a failure, a skipped
    account or no results are never "reachable" (nothing is inferred from a probe that did not run)."""
    msg = st.as_text(probe.get("msg")).strip()
    if probe.get("unreachable"):
        if msg.startswith("not probed: the connection dropped"):  # an account after the one whose probe dropped
            return msg[len("not probed: "):]
        return "the connection dropped%s" % (": " + msg if msg else "")
    if probe.get("skipped"):
        return "skipped%s" % (": " + st.as_text(probe.get("skip_reason")) if probe.get("skip_reason") else "")
    if probe.get("failed"):
        return "the probe failed%s" % (": " + msg if msg else "")
    if not [r for r in st.as_list(probe.get("results")) if isinstance(r, dict)]:
        return "the probe returned no results"
    return ""


def probe_entry(probe: dict, fixing: set) -> dict:
    account = st.as_text(probe.get("account") or probe.get("item"))
    sid = accounts.lookup(account).sid if accounts.lookup(account) else ""
    why = not_probed_why(probe)
    results = []
    for r in st.as_list(probe.get("results")):
        if isinstance(r, dict):
            results.append({k: r.get(k) for k in ("url", "endpoint", "outcome", "status", "hint", "proxy", "mode",
                                                  "tls_inspection", "proxy_outcome") if k in r})
    working = probe.get("working_modes") if isinstance(probe.get("working_modes"), dict) else {}
    return {"account": account, "sid": sid, "all_reachable": bool(probe.get("all_reachable")) and not why,
            "probed": not why, "why_not_probed": why, "fixing": sid in fixing, "results": results if not why else [],
            "working_modes": {str(url): [str(m) for m in st.as_list(modes)] for url, modes in working.items()},
            "not_tested": [{"mode": str(n.get("mode")), "why": str(n.get("why"))} for n in st.as_list(probe.get("not_tested"))
                           if isinstance(n, dict)]}


def status_of(mode: str, check_mode: bool, proxy: dict, error: str) -> str:
    if proxy.get("unreachable"):
        return st.UNREACHABLE
    if error == st.NO_RESULT and not proxy:
        return st.UNREACHABLE
    if error or proxy.get("failed") or proxy.get("error"):
        return st.FAILED
    if not proxy:
        return st.FAILED
    pending = bool(st.as_list(proxy.get("changed_sids"))) or bool(st.as_list(proxy.get("pending_changes")))
    if proxy.get("hive_not_loaded") and (mode == "check" or not pending):
        return st.HIVE_NOT_LOADED
    if mode == "check":
        return st.IN_SYNC if proxy.get("in_sync") else st.DRIFTED
    if pending and (check_mode or proxy.get("check_mode")):
        return st.WOULD_CHANGE
    if pending and (proxy.get("written") or proxy.get("changed")):
        return st.CHANGED
    if proxy.get("in_sync") or proxy.get("nothing_to_restore"):
        return st.IN_SYNC
    return st.DRIFTED


def host_summary(host: str, mode: str = "configure", check_mode: bool = False, proxy: dict | None = None,
                 probes=None, mde: dict | None = None, error: str = "", fail_on_unreachable: bool = False,
                 fail_on_drift: bool = False, cloud: dict | None = None) -> dict:
    """The ``atp_proxy_summary`` of one host (schema: docs/dev/contracts.md).

    ``cloud``: the cloud's view of the host's sensor, for "sensor connected?" (:mod:`_sensor._connected`'s cloud slot;
    else the job result's ``sensor_cloud``, if any).

    ``fail_on_unreachable``: a host with an endpoint that is not reachable ends failed.
    ``fail_on_drift``: a host that drifted, would change, could not be checked or was unreachable ends failed.
    """
    proxy = dict(proxy or {})
    check_mode = bool(check_mode or proxy.get("check_mode"))
    status = status_of(mode, check_mode, proxy, error)
    if not error and status in (st.FAILED, st.UNREACHABLE):
        error = st.as_text(proxy.get("error") or proxy.get("msg")) or st.NO_RESULT
    summary = {
        "schema": st.SCHEMA,
        "host": host,
        "status": status,
        "mode": mode,
        "check_mode": check_mode,
        "targets": targets_of(proxy, check_mode or mode == "check"),
        "changed_sids": list(st.as_list(proxy.get("changed_sids"))),
        "written": list(st.as_list(proxy.get("written"))),
        "maybe_written": list(st.as_list(proxy.get("maybe_written"))),
        "dropped_at": st.as_text(proxy.get("dropped_at")),
        # The backup of this run's change: WinINet's before.reg, or the sensor's own file's, or, when only Defender for
        # Endpoint's values changed (a sensor v3, method mde), theirs (its row's mde part keeps it too).
        "backup_file": st.as_text(proxy.get("backup_file") or st.as_dict(proxy.get("sensor_config")).get("backup_file")
                                  or st.as_dict(mde if mde is not None else proxy.get("mde")).get("backup_file")),
        "hives_loaded": list(st.as_list(proxy.get("hives_loaded"))),
        "actions": [str(a) for a in st.as_list(proxy.get("actions"))],
        "restored_from": st.as_text(proxy.get("restored_from")),
        # A restore that found nothing to put back says why (no backup, or none for these accounts).
        "restore_note": st.as_text(proxy.get("restore_note") or (
            proxy.get("msg") if proxy.get("nothing_to_restore") else "")),
        "probe": [],
        "mde": mde_part.summary(mde if mde is not None else proxy.get("mde")),
        # What the admin should know although nothing failed: the workspace the sensor talks to is not the one asked.
        "warnings": [w for w in [st.as_text(st.as_dict(proxy.get("probe")).get("workspace_mismatch"))] if w],
        "error": error,
        "fail": [],
    }
    summary.update(sensor_part(proxy))
    summary["connected"] = {}  # "sensor connected?" reads the probe: _finish decides it, with the probe's results
    if st.as_text(proxy.get("stig_note")):
        summary["warnings"].append(st.as_text(proxy.get("stig_note")))
    return _finish(summary, proxy, probes, cloud, fail_on_unreachable, fail_on_drift)


def pending_for_every_account(summary: dict) -> bool:
    """A read-only or check-mode run whose pending change is the sensor's own setting (its SensorConfiguration.json, or
    a sensor v3's Defender for Endpoint values): every account's probe went through the proxy that change replaces, so
    each is "before the pending change" (amber), as an account about to be written is."""
    if not (summary["check_mode"] or summary["mode"] == "check"):
        return False
    return bool(st.as_dict(summary.get("sensor_config")).get("changed")
                or st.as_list(st.as_dict(summary.get("sensor_v3")).get("pending")))


def _finish(summary: dict, proxy: dict, probes, cloud: dict | None, fail_on_unreachable: bool,
            fail_on_drift: bool) -> dict:
    """The fields of a summary that read the probe's results: ``probe``, ``connected``, ``fail``, ``line``,
    ``outcome`` and ``end``; ``summary`` is changed in place and returned."""
    status = summary["status"]
    pending = set(summary["changed_sids"]) if (summary["check_mode"] or summary["mode"] == "check") else set()
    summary["probe"] = [probe_entry(p, pending) for p in st.as_list(probes) if isinstance(p, dict)]
    if pending_for_every_account(summary):
        for entry in summary["probe"]:
            entry["fixing"] = True
    dropped = [p for p in st.as_list(probes) if isinstance(p, dict) and p.get("unreachable")]
    if dropped and status not in (st.FAILED, st.UNREACHABLE):
        # The job finished, then the connection dropped while probing: a run with results missing is no success. The
        # host ends unreachable, as Ansible's recap says, and its line keeps what the job did (job_status).
        account = st.as_text(dropped[0].get("account") or dropped[0].get("item")) or "the connection user"
        msg = st.as_text(dropped[0].get("msg")).strip()
        summary["job_status"] = status
        summary["status"] = status = st.UNREACHABLE
        summary["error"] = "the connection dropped while probing as %s%s; the job had finished before (%s)" % (
            account, " (%s)" % msg if msg else "", st.LABELS[summary["job_status"]])
    summary["connected"] = connected_of(summary, proxy, cloud if cloud is not None else proxy.get("sensor_cloud"))
    summary["fail"] = []
    if fail_on_unreachable and any(not p["all_reachable"] for p in summary["probe"]):
        summary["fail"].append(lines.unreachable_text(summary) + " (atp_proxy_fail_on_unreachable)")
    if fail_on_drift and status in (st.DRIFTED, st.WOULD_CHANGE, st.HIVE_NOT_LOADED, st.UNREACHABLE):
        summary["fail"].append("the host is %s (atp_proxy_fail_on_drift)" % st.LABELS[status])
    summary["line"] = lines.line(summary)
    summary["outcome"] = st.outcome(summary)
    # What is left to do to end the host: nothing when its job task failed already (bad input fails there, once).
    summary["end"] = {} if proxy.get("bad_input") else summary["outcome"]
    return summary


def sensor_part(proxy: dict) -> dict:
    """The sensor-aware fields of a summary, from the role's job result: ``method`` (and why), ``sensor``
    (installed, generation, version, message, warnings), ``effective_proxy`` (per component: proxy, source,
    summary, ambiguous), ``readiness`` (ok, fixes), ``sensor_config`` (its write) and ``restarted``."""
    info = proxy.get("sensor_info") if isinstance(proxy.get("sensor_info"), dict) else None
    if not info and not proxy.get("method"):
        return {}
    info = info or {}
    found = info.get("sensor") or {}
    effective = {}
    # What each component uses after the run; a run that failed part way has no such answer (the discovery's is from
    # before it, and a rollback or a drop may have changed it).
    failed = proxy.get("failed") or proxy.get("error") or proxy.get("unreachable")
    after = proxy.get("effective_proxy") or ({} if failed else info.get("effective_proxy"))
    for component, entry in (after or {}).items():
        if isinstance(entry, dict):
            fields = ("proxy", "source", "summary", "ambiguous", "account")
            effective[str(component)] = {k: entry.get(k) for k in fields}
    ready = proxy.get("readiness") or info.get("readiness")
    config = proxy.get("sensor_config") if isinstance(proxy.get("sensor_config"), dict) else {}
    restart = proxy.get("restart") if isinstance(proxy.get("restart"), dict) else {}
    v3 = proxy.get("sensor_v3") if isinstance(proxy.get("sensor_v3"), dict) else {}
    return {
        "method": st.as_text(proxy.get("method")),
        "method_reason": st.as_text(proxy.get("method_reason")),
        "sensor": {"installed": bool(found.get("installed")), "generation": found.get("generation"),
                   "version": found.get("version"), "message": st.as_text(info.get("message")),
                   "warnings": [str(w) for w in st.as_list(info.get("sensor_warnings"))]},
        "effective_proxy": effective,
        "readiness": {"ok": bool(ready.get("ok")), "fixes": [str(f) for f in st.as_list(ready.get("fixes"))]}
        if isinstance(ready, dict) else None,
        "sensor_config": {"changed": bool(config.get("changed") or config.get("pending")),
                          "actions": [str(a) for a in st.as_list(config.get("actions"))],
                          "backup_file": st.as_text(config.get("backup_file")), "failed": bool(config.get("failed")),
                          "error": st.as_text(config.get("error"))} if config else {},
        "restarted": [str(r) for r in st.as_list(restart.get("restarted"))],
        "restart_actions": [str(a) for a in st.as_list(restart.get("actions"))],
        "restart_needed": [str(r) for r in st.as_list(restart.get("restart_needed"))],
        # a sensor v3's static proxy (_sensor._v3.record): the proxy wanted, the values that differ(ed), the fix
        "sensor_v3": {"proxy": v3.get("proxy"), "pending": [str(p) for p in st.as_list(v3.get("pending"))],
                      "fix": st.as_text(v3.get("fix")), "applies": st.as_text(v3.get("applies"))} if v3 else {},
        # after a restart: the watch of the services (_sensor._watch) and the error log lines (_sensor._logs)
        "sensor_watch": st.as_dict(proxy.get("sensor_watch") or st.as_dict(
            st.as_dict(proxy.get("sensor_config")).get("watch"))),
        "sensor_logs": st.as_dict(proxy.get("sensor_logs")),
    }


def connected_of(summary: dict, proxy: dict, cloud: dict | None) -> dict:
    """"Sensor connected?" (:mod:`_sensor._connected`) from the summary's sensor fields, its probe and the cloud slot."""
    found = summary.get("sensor") or {}
    if not found.get("installed"):
        return connected.verdict(False)
    info = proxy.get("sensor_info") if isinstance(proxy.get("sensor_info"), dict) else {}
    services = (info.get("sensor") or {}).get("services") or {}
    states = {str(n): str(e.get("state")) for n, e in services.items() if isinstance(e, dict)}
    failed = bool(proxy.get("failed") or proxy.get("error") or proxy.get("unreachable"))
    watch = summary.get("sensor_watch") or {}
    account = ((summary.get("effective_proxy") or {}).get("sensor") or {}).get("account")
    return connected.verdict(
        True, found.get("generation"),
        service=connected.service_evidence(watch, {} if failed else states, found.get("generation")),
        log=connected.log_evidence(summary.get("sensor_logs")),
        probe=connected.probe_evidence(summary.get("probe") or [], account, found.get("generation")),
        cloud=connected.cloud_evidence(cloud))


def probe_ran(proxy: dict) -> bool:
    """Whether the role probed in the run that produced ``proxy`` (the condition the role's probe include uses).
    A run that did not probe leaves an earlier run's probe results registered: they must not be reported."""
    options = proxy.get("summary_options") or {}
    return bool(options.get("probe")) and not proxy.get("error") and not proxy.get("unreachable")


def recorded_summary(host: str, proxy: dict) -> dict | None:
    """The summary the job built from ``proxy`` (its result, as the role registered it), or None when there is none
    to reuse: the job failed before it returned one (bad input, a dropped connection, an error), or the result is
    another host's."""
    recorded = proxy.get("summary") if isinstance(proxy, dict) else None
    if not isinstance(recorded, dict) or recorded.get("schema") != st.SCHEMA or recorded.get("host") != host:
        return None
    if not recorded.get("status") or recorded.get("probe"):  # a summary with the probe is not the job's
        return None
    return recorded


def with_probes(recorded: dict, proxy: dict, probes) -> dict:
    """The job's summary (``recorded``, built before the probe ran) with the probe's results added: the same summary
    :func:`host_summary` builds from the job's result and the probes, without building the rest again."""
    options = proxy.get("summary_options") or {}
    return _finish(dict(recorded), proxy, probes, None, bool(options.get("fail_on_unreachable")),
                   bool(options.get("fail_on_drift")))


def probe_list(probe_results) -> list:
    """Each account's probe result from what the probe task registered: its ``accounts`` (the ``accounts`` option),
    a loop's ``results`` (a loop over ``become_user``), or the list itself."""
    if isinstance(probe_results, dict):
        return st.as_list(probe_results.get("accounts", probe_results.get("results")))
    return st.as_list(probe_results)


def from_results(host: str, proxy: dict, probe_results=None) -> dict:
    """A host's summary from what the role registered: the job's result and the probe task's (:func:`probe_list`).

    The job's own summary (``summary`` in its result) is reused as it is, the probe's results added when the probe
    ran; a result without one (the job failed before it returned one) is summarized here.
    """
    proxy = proxy if isinstance(proxy, dict) and not proxy.get("skipped") else {}
    probes = probe_list(probe_results) if probe_ran(proxy) else []
    recorded = recorded_summary(host, proxy)
    if recorded is not None:
        return with_probes(recorded, proxy, probes) if probes else recorded
    options = {k: v for k, v in (proxy.get("summary_options") or {}).items() if k != "probe"}
    return host_summary(host, check_mode=bool(proxy.get("check_mode")), proxy=proxy, probes=probes,
                        error="" if proxy else st.NO_RESULT, **options)


def row_for(host: str, hostvars: dict, mode: str = "configure") -> dict:
    """A host's summary from what it registered: the one the role recorded (``atp_proxy_summary``) when it is this
    run's, else the job's with the probe's results (:func:`from_results`); unreachable when it registered nothing."""
    proxy = hostvars.get("atp_proxy_result")
    recorded = hostvars.get("atp_proxy_summary")
    if isinstance(proxy, dict) and not proxy.get("skipped"):
        if isinstance(recorded, dict) and _recorded_from(recorded, host, proxy, hostvars.get("atp_proxy_probe_results")):
            return recorded
        return from_results(host, proxy, hostvars.get("atp_proxy_probe_results"))
    if isinstance(recorded, dict) and recorded.get("status"):
        return recorded
    summary = host_summary(host, mode=hostvars.get("atp_proxy_mode") or mode, error=st.NO_RESULT)
    summary["status"] = st.UNREACHABLE
    summary["line"] = lines.line(summary)
    return summary


# The fields _finish writes: the rest of a recorded summary is the job's, as it built it.
_PROBE_FIELDS = ("probe", "connected", "fail", "line", "outcome", "end")


def _recorded_from(recorded: dict, host: str, proxy: dict, probe_results) -> bool:
    """Whether the summary the role recorded (the atp_proxy_host_summary action's fact) is the one of this job result
    and these probe results, rather than an earlier run's left in the host's facts."""
    job = recorded_summary(host, proxy)
    if job is None or recorded.get("host") != host:
        return False
    if any(recorded.get(k) != v for k, v in job.items() if k not in _PROBE_FIELDS):
        return False
    probes = probe_list(probe_results) if probe_ran(proxy) else []
    pending = set(job["changed_sids"]) if (job["check_mode"] or job["mode"] == "check") else set()
    return recorded.get("probe") == [probe_entry(p, pending) for p in st.as_list(probes) if isinstance(p, dict)]

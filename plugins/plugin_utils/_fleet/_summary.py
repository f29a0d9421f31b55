# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's outcome and the fleet's: statuses, the summary schema, one-line texts and totals.

Pure Python, no Ansible imports. The only place that decides a host's status. Used by the
``atp.sensor_proxy.atp_proxy_host_summary`` action (the role's last step), by the fleet filters the
playbooks call (``fleet_rows``, ``fleet_lines``, ``fleet_stats``) and by the fleet report.

A summary is built from the role's registered results (:func:`host_summary`): the WinINet result
(``atp.sensor_proxy.win_wininet_proxy``), the probe results, the MDE result, plus the error of a
failed step. A host that never got that far (unreachable before the role, or removed from the
play) is summarized from whatever results it registered (:func:`row_for`).

Over 450 lines for a reason: it is the one status model (a host's status, its line, the fleet's totals and
set_stats), and every one of those reads the same fields; split, the rules would drift apart again.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _verdict as cloud_verdict
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _settings as mde_part
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _after as sensor_after
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _connected as connected

SCHEMA = 2

IN_SYNC = "in_sync"
CHANGED = "changed"
WOULD_CHANGE = "would_change"
DRIFTED = "drifted"
HIVE_NOT_LOADED = "hive_not_loaded"
FAILED = "failed"
UNREACHABLE = "unreachable"
# In the order the totals show them; the last two are problems.
STATUSES = (IN_SYNC, CHANGED, WOULD_CHANGE, DRIFTED, HIVE_NOT_LOADED, FAILED, UNREACHABLE)
PROBLEMS = (HIVE_NOT_LOADED, FAILED, UNREACHABLE)
LABELS = {
    IN_SYNC: "in sync",
    CHANGED: "changed",
    WOULD_CHANGE: "would change",
    DRIFTED: "drifted",
    HIVE_NOT_LOADED: "hive not loaded",
    FAILED: "failed",
    UNREACHABLE: "unreachable",
}
REACHABLE = "reachable"
WORKS_ONLY_DIRECT = "works_only_direct"  # _probe_outcomes.WORKS_ONLY_DIRECT: reached only by a direct fallback
MODES = ("configure", "check")
NO_RESULT = "no result: the host was unreachable or failed before the role ran"


def _list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _text(value) -> str:
    return "" if value is None else str(value)


def _dict_of(value) -> dict:
    return value if isinstance(value, dict) else {}


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
    changed = set(_list(proxy.get("changed_sids")))
    written = set(_list(proxy.get("written")))
    out = []
    for target in _list(proxy.get("targets")):
        if not isinstance(target, dict) or not target.get("sid"):
            continue
        sid = _text(target["sid"]).upper()
        out.append({
            "sid": sid,
            "account": _text(target.get("account")) or accounts.account_name(sid),
            "before": _text(target.get("state")),
            "changed": sid in (changed if check_mode else written),
            "differences": [str(d) for d in _list(target.get("differences"))],
            "current": _text(target.get("summary")),
            "wanted": _text(target.get("wanted_summary")),
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
    written = set(_list(proxy.get("written")))
    out = {}
    for target in _list(proxy.get("targets")):
        if not isinstance(target, dict) or not target.get("sid"):
            continue
        sid = _text(target["sid"]).upper()
        if sid in written or target.get("state") in ("identical", "equivalent"):
            out[sid] = _proxy_of(source) if source else _proxy_of(target.get("decoded"))
        else:
            out[sid] = _proxy_of(target.get("decoded"))
    return out


def not_probed_why(probe: dict) -> str:
    """Why an account's probe gave no verdict, '' when it did: a dropped connection, a failure, a skipped
    account or no results are never "reachable" (nothing is inferred from a probe that did not run)."""
    msg = _text(probe.get("msg")).strip()
    if probe.get("unreachable"):
        return "the connection dropped%s" % (": " + msg if msg else "")
    if probe.get("skipped"):
        return "skipped%s" % (": " + _text(probe.get("skip_reason")) if probe.get("skip_reason") else "")
    if probe.get("failed"):
        return "the probe failed%s" % (": " + msg if msg else "")
    if not [r for r in _list(probe.get("results")) if isinstance(r, dict)]:
        return "the probe returned no results"
    return ""


def probe_entry(probe: dict, fixing: set) -> dict:
    account = _text(probe.get("account") or probe.get("item"))
    sid = accounts.lookup(account).sid if accounts.lookup(account) else ""
    why = not_probed_why(probe)
    results = []
    for r in _list(probe.get("results")):
        if isinstance(r, dict):
            results.append({k: r.get(k) for k in ("url", "endpoint", "outcome", "status", "hint", "proxy", "mode",
                                                  "tls_inspection", "proxy_outcome") if k in r})
    working = probe.get("working_modes") if isinstance(probe.get("working_modes"), dict) else {}
    return {"account": account, "sid": sid, "all_reachable": bool(probe.get("all_reachable")) and not why,
            "probed": not why, "why_not_probed": why, "fixing": sid in fixing, "results": results if not why else [],
            "working_modes": {str(url): [str(m) for m in _list(modes)] for url, modes in working.items()},
            "not_tested": [{"mode": str(n.get("mode")), "why": str(n.get("why"))} for n in _list(probe.get("not_tested"))
                           if isinstance(n, dict)]}


def status_of(mode: str, check_mode: bool, proxy: dict, error: str) -> str:
    if proxy.get("unreachable"):
        return UNREACHABLE
    if error == NO_RESULT and not proxy:
        return UNREACHABLE
    if error or proxy.get("failed") or proxy.get("error"):
        return FAILED
    if not proxy:
        return FAILED
    pending = bool(_list(proxy.get("changed_sids"))) or bool(_list(proxy.get("pending_changes")))
    if proxy.get("hive_not_loaded") and (mode == "check" or not pending):
        return HIVE_NOT_LOADED
    if mode == "check":
        return IN_SYNC if proxy.get("in_sync") else DRIFTED
    if pending and (check_mode or proxy.get("check_mode")):
        return WOULD_CHANGE
    if pending and (proxy.get("written") or proxy.get("changed")):
        return CHANGED
    if proxy.get("in_sync") or proxy.get("nothing_to_restore"):
        return IN_SYNC
    return DRIFTED


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
    if not error and status in (FAILED, UNREACHABLE):
        error = _text(proxy.get("error") or proxy.get("msg")) or NO_RESULT
    pending = set(_list(proxy.get("changed_sids"))) if (check_mode or mode == "check") else set()
    summary = {
        "schema": SCHEMA,
        "host": host,
        "status": status,
        "mode": mode,
        "check_mode": check_mode,
        "targets": targets_of(proxy, check_mode or mode == "check"),
        "changed_sids": list(_list(proxy.get("changed_sids"))),
        "written": list(_list(proxy.get("written"))),
        "maybe_written": list(_list(proxy.get("maybe_written"))),
        "dropped_at": _text(proxy.get("dropped_at")),
        # The backup of this run's change: WinINet's before.reg, or the sensor's own file's.
        "backup_file": _text(proxy.get("backup_file") or _dict_of(proxy.get("sensor_config")).get("backup_file")),
        "hives_loaded": list(_list(proxy.get("hives_loaded"))),
        "actions": [str(a) for a in _list(proxy.get("actions"))],
        "restored_from": _text(proxy.get("restored_from")),
        # A restore that found nothing to put back says why (no backup, or none for these accounts).
        "restore_note": _text(proxy.get("restore_note") or (
            proxy.get("msg") if proxy.get("nothing_to_restore") else "")),
        "probe": [probe_entry(p, pending) for p in _list(probes) if isinstance(p, dict)],
        "mde": mde_part.summary(mde if mde is not None else proxy.get("mde")),
        # What the admin should know although nothing failed: the workspace the sensor talks to is not the one asked.
        "warnings": [w for w in [_text(_dict_of(proxy.get("probe")).get("workspace_mismatch"))] if w],
        "error": error,
        "fail": [],
    }
    summary.update(sensor_part(proxy))
    summary["connected"] = connected_of(summary, proxy, cloud if cloud is not None else proxy.get("sensor_cloud"))
    if _text(proxy.get("stig_note")):
        summary["warnings"].append(_text(proxy.get("stig_note")))
    if fail_on_unreachable and any(not p["all_reachable"] for p in summary["probe"]):
        summary["fail"].append(unreachable_text(summary) + " (atp_proxy_fail_on_unreachable)")
    if fail_on_drift and status in (DRIFTED, WOULD_CHANGE, HIVE_NOT_LOADED, UNREACHABLE):
        summary["fail"].append("the host is %s (atp_proxy_fail_on_drift)" % LABELS[status])
    summary["line"] = line(summary)
    summary["outcome"] = outcome(summary)
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
        "method": _text(proxy.get("method")),
        "method_reason": _text(proxy.get("method_reason")),
        "sensor": {"installed": bool(found.get("installed")), "generation": found.get("generation"),
                   "version": found.get("version"), "message": _text(info.get("message")),
                   "warnings": [str(w) for w in _list(info.get("sensor_warnings"))]},
        "effective_proxy": effective,
        "readiness": {"ok": bool(ready.get("ok")), "fixes": [str(f) for f in _list(ready.get("fixes"))]}
        if isinstance(ready, dict) else None,
        "sensor_config": {"changed": bool(config.get("changed") or config.get("pending")),
                          "actions": [str(a) for a in _list(config.get("actions"))],
                          "backup_file": _text(config.get("backup_file")), "failed": bool(config.get("failed")),
                          "error": _text(config.get("error"))} if config else {},
        "restarted": [str(r) for r in _list(restart.get("restarted"))],
        "restart_actions": [str(a) for a in _list(restart.get("actions"))],
        "restart_needed": [str(r) for r in _list(restart.get("restart_needed"))],
        # a sensor v3's static proxy (_sensor_v3.record): the proxy wanted, the values that differ(ed), the fix
        "sensor_v3": {"proxy": v3.get("proxy"), "pending": [str(p) for p in _list(v3.get("pending"))],
                      "fix": _text(v3.get("fix")), "applies": _text(v3.get("applies"))} if v3 else {},
        # after a restart: the watch of the services (_sensor_watch) and the error log lines (_sensor_logs)
        "sensor_watch": _dict_of(proxy.get("sensor_watch") or _dict_of(
            _dict_of(proxy.get("sensor_config")).get("watch"))),
        "sensor_logs": _dict_of(proxy.get("sensor_logs")),
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


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------
def _target_text(target: dict, tense: str) -> str:
    who = "%s (%s)" % (target["account"], target["sid"]) if target["account"] != target["sid"] else target["sid"]
    if tense == "would":
        verb = "would write"
    elif tense == "wrote":
        verb = "wrote"
    else:
        verb = "differs"
    return "%s %s: %s -> %s" % (verb, who, target["current"] or "(absent)", target["wanted"] or "?")


def _modes_text(probe: dict) -> str:
    """The Client Analyzer's view when several modes were tested: ``default 1/5, direct 5/5`` (URLs reached)."""
    modes = list(dict.fromkeys(r.get("mode") or "default" for r in probe["results"]))
    if modes in ([], ["default"]) and not probe.get("not_tested"):
        return ""
    counts = []
    for mode in modes:
        mine = [r for r in probe["results"] if (r.get("mode") or "default") == mode]
        reached = sum(1 for r in mine if r.get("outcome") in (REACHABLE, WORKS_ONLY_DIRECT))
        counts.append("%s %d/%d" % (mode, reached, len(mine)))
    counts += ["%s not tested" % n["mode"] for n in probe.get("not_tested") or []]
    return " [modes: %s]" % ", ".join(counts)


def _probe_text(probe: dict) -> str:
    if probe.get("probed") is False:
        return "%s not probed (%s)" % (probe["account"], probe.get("why_not_probed") or "no results")
    working = probe.get("working_modes") or {}
    fallback = {r.get("url"): r for r in probe["results"] if r.get("outcome") == WORKS_ONLY_DIRECT}
    bad, seen = [], set()
    for r in probe["results"]:  # a URL is reachable when any tested mode reached it
        if r.get("outcome") == REACHABLE or working.get(r.get("url")) or r.get("url") in seen:
            continue
        seen.add(r.get("url"))
        bad.append(fallback.get(r.get("url"), r))  # a URL reached only directly: say so, with its fix
    modes = _modes_text(probe)
    if not bad:
        return "%s reachable%s" % (probe["account"], modes)
    first = bad[0]
    if all(r.get("outcome") == WORKS_ONLY_DIRECT for r in bad):
        detail = "%s: %s" % (first.get("url"), first.get("hint") or "")
        if len(bad) > 1:
            detail += " (+%d more)" % (len(bad) - 1)
        return "%s WORKS ONLY DIRECT (%s)%s" % (probe["account"], detail, modes)
    detail = "%s %s" % (first.get("outcome"), first.get("url"))
    if first.get("hint"):
        detail += ": " + str(first["hint"])
    if len(bad) > 1:
        detail += " (+%d more)" % (len(bad) - 1)
    when = ", before the pending change" if probe.get("fixing") else ""
    return "%s UNREACHABLE (%s%s)%s" % (probe["account"], detail, when, modes)


def unreachable_text(summary: dict) -> str:
    """``Not reachable from dc01: LocalService: <url> dns_failure (<hint>); ...``."""
    items = []
    for probe in summary.get("probe") or []:
        if probe.get("probed") is False:
            items.append("%s: not probed (%s)" % (probe["account"], probe.get("why_not_probed")))
        for r in probe["results"]:
            if r.get("outcome") != REACHABLE:
                items.append("%s: %s %s (%s)" % (probe["account"], r.get("url"), r.get("outcome"), r.get("hint") or ""))
    return "Not reachable from %s: %s" % (summary["host"], "; ".join(items))


def _mde_text(mde: dict, status: str) -> str:
    if not mde.get("configured"):
        return ""
    if mde.get("failed"):
        return "MDE failed: %s" % mde.get("error")
    if not mde.get("actions"):
        return "MDE in sync"
    return "MDE: %s" % "; ".join(mde["actions"])


def _uses_text(summary: dict) -> str:
    """``sensor uses http://proxy.corp:8080 (sensor_config), updater proxy.corp:8080 (wininet_per_account)``."""
    found = summary.get("sensor") or {}
    if found.get("generation") == "v3":
        entry = (summary.get("effective_proxy") or {}).get("sensor") or {}
        return "sensor v3 connects through Defender for Endpoint (%s)" % (entry.get("summary") or "direct")
    items = []
    for component, entry in (summary.get("effective_proxy") or {}).items():
        proxy = entry.get("proxy") or ("direct" if entry.get("source") else "?")
        items.append("%s %s (%s%s)" % (component, proxy, entry.get("source"), ", ambiguous" if entry.get("ambiguous")
                                       else ""))
    return "uses: " + ", ".join(items) if items else ""


def line(summary: dict) -> str:
    """One line an admin can act on: status, what differs (current -> wanted), backup, probe, error."""
    status = summary["status"]
    parts = [status]
    tense = "would" if status == WOULD_CHANGE else ("wrote" if status == CHANGED else "differs")
    for target in summary.get("targets") or []:
        if target["before"] in ("different", "missing") or target["changed"]:
            parts.append(_target_text(target, tense))
        elif target["before"] == "hive_not_loaded":
            parts.append("%s: hive not loaded" % accounts.label(target["sid"]))
    if summary.get("method") and ((summary.get("sensor") or {}).get("installed") or summary["method"] != "wininet"):
        parts.append("method " + summary["method"])
    parts += (summary.get("sensor_config") or {}).get("actions") or []
    mde_text = _mde_text(summary.get("mde") or {}, status)
    if mde_text:
        parts.append(mde_text)
    v3 = summary.get("sensor_v3") or {}
    if v3.get("pending") and status in (DRIFTED, WOULD_CHANGE) and v3.get("fix"):
        parts.append("fix: " + v3["fix"])  # the v3 sensor goes direct or through another proxy: never in sync
    elif v3.get("pending") and status == CHANGED and v3.get("applies"):
        parts.append("sensor v3: " + v3["applies"])
    parts += summary.get("restart_actions") or []
    if summary.get("restart_needed"):
        parts.append("not restarted (atp_proxy_restart_services: false): %s" % ", ".join(summary["restart_needed"]))
    if summary.get("restored_from"):
        verb = {CHANGED: "restored from", WOULD_CHANGE: "would restore from", IN_SYNC: "already as in"}.get(
            status, "restore from")
        parts.append("%s %s" % (verb, summary["restored_from"]))
    if summary.get("restore_note"):
        parts.append(summary["restore_note"])
    if summary.get("backup_file"):
        parts.append("backup " + summary["backup_file"])
    uses = _uses_text(summary)
    if uses:
        parts.append(uses)
    logs = sensor_after.logs_text(summary.get("sensor_logs") or {})
    if logs:
        parts.append(logs)
    fixes = (summary.get("readiness") or {}).get("fixes") or []
    if fixes:
        parts.append("readiness: %s%s" % (fixes[0], " (+%d more)" % (len(fixes) - 1) if len(fixes) > 1 else ""))
    parts += ["warning: " + w for w in summary.get("warnings") or []]
    if summary.get("probe"):
        parts.append("probe " + ", ".join(_probe_text(p) for p in summary["probe"]))
    said = connected.text(summary.get("connected") or {})
    if said:
        parts.append(said)
    if summary.get("cloud"):  # the cloud's own details (issues, advice, the wait) after the answer they feed
        parts.append(cloud_verdict.text(summary["cloud"]))
    if summary.get("error"):
        parts.append("error: " + summary["error"])
    return "%s: %s" % (summary["host"], "; ".join(parts))


# ---------------------------------------------------------------------------
# Fleet
# ---------------------------------------------------------------------------
def probe_ran(proxy: dict) -> bool:
    """Whether the role probed in the run that produced ``proxy`` (the condition the role's probe include uses).
    A run that did not probe leaves an earlier run's probe results registered: they must not be reported."""
    options = proxy.get("summary_options") or {}
    return bool(options.get("probe")) and not proxy.get("error") and not proxy.get("unreachable")


def from_results(host: str, proxy: dict, probe_results=None) -> dict:
    """A host's summary from what the role registered: the job's result and the probe task's loop results."""
    proxy = proxy if isinstance(proxy, dict) and not proxy.get("skipped") else {}
    options = {k: v for k, v in (proxy.get("summary_options") or {}).items() if k != "probe"}
    probes = probe_results.get("results") if isinstance(probe_results, dict) else probe_results
    return host_summary(host, check_mode=bool(proxy.get("check_mode")), proxy=proxy,
                        probes=(probes or []) if probe_ran(proxy) else [], error="" if proxy else NO_RESULT, **options)


def row_for(host: str, hostvars: dict, mode: str = "configure") -> dict:
    """A host's summary, rebuilt from what it registered; one recorded by the role when it registered nothing."""
    proxy = hostvars.get("atp_proxy_result")
    if isinstance(proxy, dict) and not proxy.get("skipped"):
        return from_results(host, proxy, hostvars.get("atp_proxy_probe_results"))
    recorded = hostvars.get("atp_proxy_summary")
    if isinstance(recorded, dict) and recorded.get("status"):
        return recorded
    summary = host_summary(host, mode=hostvars.get("atp_proxy_mode") or mode, error=NO_RESULT)
    summary["status"] = UNREACHABLE
    summary["line"] = line(summary)
    return summary


def with_cloud(rows: list, reading, fail: bool = False) -> list:
    """The rows with the cloud's verdict (``cloud``, from one mdi_sensor_health reading for the fleet) in each
    host's summary and line; with ``fail`` (atp_proxy_fail_on_cloud) a host Graph shows not connected, or every
    host when the reading failed, ends failed."""
    out = []
    for row in rows:
        row = dict(row)
        cloud = cloud_verdict.entry(reading, str(row.get("host")))
        if cloud is not None:
            row["cloud"] = cloud
            said = row.get("connected") or {}
            if said.get("connected") not in (None, connected.NA) and isinstance(cloud.get("connected"), bool):
                # the cloud's verdict fills "sensor connected?"'s cloud slot (_connected.cloud_evidence)
                evidence = dict(said.get("evidence") or {})
                evidence["cloud"] = connected.cloud_evidence(dict(cloud, source="Microsoft Graph"))
                row["connected"] = connected.verdict(True, (row.get("sensor") or {}).get("generation"), **evidence)
            row["fail"] = list(row.get("fail") or []) + ([cloud_verdict.fails(cloud)] if fail else [])
            row["fail"] = [f for f in row["fail"] if f]
            ended = bool(row.get("outcome")) and not row.get("end")  # its job task failed already (bad input)
            row["line"] = line(row)
            row["outcome"] = outcome(row)
            row["end"] = {} if ended else row["outcome"]
        out.append(row)
    return out


def totals(rows: list) -> dict:
    out = {"hosts": len(rows)}
    for status in STATUSES:
        out[status] = sum(1 for r in rows if r.get("status") == status)
    probed = [res for r in rows for p in r.get("probe") or [] for res in p.get("results") or []]
    out["probe_failed"] = sum(1 for r in rows if any(not p.get("all_reachable") and p.get("probed") is not False
                                                     for p in r.get("probe") or []))
    out["not_probed"] = sum(1 for r in rows if any(p.get("probed") is False for p in r.get("probe") or []))
    out["endpoints_probed"] = len(probed)
    out["endpoints_reachable"] = sum(1 for res in probed if res.get("outcome") == REACHABLE)
    out["backups_written"] = sum(1 for r in rows if r.get("backup_file"))
    for answer in (connected.YES, connected.LIKELY, connected.NO, connected.UNKNOWN):
        out["sensor_connected_" + answer] = sum(1 for r in rows if (r.get("connected") or {}).get("connected") == answer)
    out["partial"] = sum(1 for r in rows if r.get("status") == UNREACHABLE and (r.get("written")
                                                                                or r.get("maybe_written")))
    out.update(cloud_verdict.totals(rows))
    return out


def stats(rows: list) -> dict:
    """The ``atp_proxy_fleet`` data the playbooks publish with set_stats (AWX shows it on the job)."""
    out = {status: [r["host"] for r in rows if r.get("status") == status] for status in STATUSES}
    out["probe_failed"] = {}
    for r in rows:
        bad = [{"account": p["account"], "url": res.get("url"), "outcome": res.get("outcome")}
               for p in r.get("probe") or [] for res in p.get("results") or [] if res.get("outcome") != REACHABLE]
        if bad:
            out["probe_failed"][r["host"]] = bad
    out["not_probed"] = {r["host"]: [{"account": p["account"], "why": p.get("why_not_probed")} for p in r["probe"]
                                     if p.get("probed") is False] for r in rows
                         if any(p.get("probed") is False for p in r.get("probe") or [])}
    out["backups"] = {r["host"]: r["backup_file"] for r in rows if r.get("backup_file")}
    out.update(cloud_verdict.stats(rows))
    # "sensor connected?" per host with a sensor: the answer and the evidence that decided it (_connected)
    out["sensor_connected"] = {r["host"]: {"connected": r["connected"]["connected"], "why": r["connected"]["why"]}
                               for r in rows if (r.get("connected") or {}).get("connected") not in (None, connected.NA)}
    out["totals"] = totals(rows)
    return out


def outcome(summary: dict) -> dict:
    """How the host ends: ``{}`` (ok), ``{"failed": True, "msg"}`` or ``{"unreachable": True, "msg"}``."""
    status = summary.get("status")
    text = summary.get("line") or summary.get("error") or NO_RESULT
    if status == UNREACHABLE:
        return {"unreachable": True, "msg": text}
    if status == FAILED:
        return {"failed": True, "msg": text}
    if summary.get("fail"):
        return {"failed": True, "msg": "%s (failing: %s)" % (text, "; ".join(summary["fail"]))}
    return {}

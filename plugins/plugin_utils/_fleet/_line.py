# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one line an admin can act on, per host: status, what differs (current -> wanted), the sensor's method and
proxy, Defender for Endpoint, restarts, backup, probe, "sensor connected?", the cloud's verdict and the error.

Pure Python, no Ansible imports. Reads a summary (built by :mod:`_fleet._summary`, schema in
``docs/dev/contracts.md``) and never re-derives a status: the line, the fleet's totals and the report all show
the fields the summary holds.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _verdict as cloud_verdict
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _status as st
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _after as sensor_after
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _connected as connected


def _target_text(target: dict, tense: str) -> str:
    who = "%s (%s)" % (target["account"], target["sid"]) if target["account"] != target["sid"] else target["sid"]
    if tense == "would" and target.get("hive_loaded") is False:
        # Its value cannot be read before the hive is loaded, which check mode does not do: the run may find it right.
        verb = "would load the hive and write, if it differs,"
    elif tense == "would":
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
        reached = sum(1 for r in mine if r.get("outcome") in (st.REACHABLE, st.WORKS_ONLY_DIRECT))
        counts.append("%s %d/%d" % (mode, reached, len(mine)))
    counts += ["%s not tested" % n["mode"] for n in probe.get("not_tested") or []]
    return " [modes: %s]" % ", ".join(counts)


def _probe_text(probe: dict) -> str:
    if probe.get("probed") is False:
        return "%s not probed (%s)" % (probe["account"], probe.get("why_not_probed") or "no results")
    # a URL is reachable when any tested mode reached it; one reached only directly is said so, with its fix
    bad = [r for r in st.url_results(probe["results"]) if r.get("outcome") != st.REACHABLE]
    modes = _modes_text(probe)
    if not bad:
        return "%s reachable%s" % (probe["account"], modes)
    first = bad[0]
    if all(r.get("outcome") == st.WORKS_ONLY_DIRECT for r in bad):
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
        for r in st.url_results(probe["results"]):
            if r.get("outcome") != st.REACHABLE:
                items.append("%s: %s %s (%s)" % (probe["account"], r.get("url"), r.get("outcome"), r.get("hint") or ""))
    return "Not reachable from %s: %s" % (summary["host"], "; ".join(items))


def _mde_text(mde: dict, status: str, backup_file: str = "") -> str:
    """Defender for Endpoint's part, with its own backup when it is not the host's (``backup_file``): a host that
    changed both WinINet and Defender for Endpoint has two, and docs/mde.md restores the second by hand."""
    if not mde.get("configured"):
        return ""
    if mde.get("failed"):
        return "MDE failed: %s" % mde.get("error")
    if not mde.get("actions"):
        return "MDE in sync"
    own = mde.get("backup_file") or ""
    return "MDE: %s%s" % ("; ".join(mde["actions"]), "; MDE backup %s" % own if own and own != backup_file else "")


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
    done = summary.get("job_status") or status  # what the job did, when the probe after it dropped the connection
    tense = "would" if done == st.WOULD_CHANGE else ("wrote" if done == st.CHANGED else "differs")
    for target in summary.get("targets") or []:
        if target["before"] in ("different", "missing") or target["changed"]:
            parts.append(_target_text(target, tense))
        elif target["before"] == "hive_not_loaded":
            parts.append("%s: hive not loaded" % accounts.label(target["sid"]))
    if summary.get("method") and ((summary.get("sensor") or {}).get("installed") or summary["method"] != "wininet"):
        parts.append("method " + summary["method"])
    parts += (summary.get("sensor_config") or {}).get("actions") or []
    if summary.get("hives_loaded") and status != st.WOULD_CHANGE:
        # A change on the host (Ansible counts it) even when the value found was already the wanted one.
        parts.append("loaded the hive of %s" % ", ".join(accounts.label(sid) for sid in summary["hives_loaded"]))
    mde_text = _mde_text(summary.get("mde") or {}, status, summary.get("backup_file") or "")
    if mde_text:
        parts.append(mde_text)
    v3 = summary.get("sensor_v3") or {}
    if v3.get("pending") and status in (st.DRIFTED, st.WOULD_CHANGE) and v3.get("fix"):
        parts.append("fix: " + v3["fix"])  # the v3 sensor goes direct or through another proxy: never in sync
    elif v3.get("pending") and status == st.CHANGED and v3.get("applies"):
        parts.append("sensor v3: " + v3["applies"])
    parts += summary.get("restart_actions") or []
    if summary.get("restart_needed"):
        parts.append("not restarted (atp_proxy_restart_services: false): %s" % ", ".join(summary["restart_needed"]))
    if summary.get("restored_from"):
        parts.append("%s %s" % (st.restore_verb(done), summary["restored_from"]))
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


def lines_of(rows) -> list:
    """Each host summary's one line: the line it holds (as it was built, with the cloud's verdict when read), or
    :func:`line` for one that holds none."""
    return [str(row.get("line") or line(row)) for row in rows]

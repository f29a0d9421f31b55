# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's content: what one run did on every host, as data the templates show.

Pure Python, no Ansible imports. Input is a list of host summaries (``atp_proxy_summary``, schema in
``docs/dev/contracts.md``), made ready by :func:`_fleet._rows.rows_of`; statuses, totals and texts come from
the status model (:mod:`_fleet._status`, :mod:`_fleet._line`, :mod:`_fleet._totals`), and are never re-derived
here. :func:`build` turns the rows into the report's view:

* tiles: the totals of :func:`_fleet._totals.totals` (partial writes and backups included); a zero is neutral;
* one row per host: the status, each account's current value against the wanted one, the backup, a
  partial write, the sensor's method and effective proxy, Defender for Endpoint, the cloud's verdict
  (:func:`_cloud._verdict.report_cell`), and a cell per endpoint;
* causes: each distinct probe outcome with its hint, error, failing rule, unloaded hive or readiness fix,
  explained once with the hosts it affects (:mod:`_fleet._causes`); cells refer to a cause by its number.

Secrets are masked before a value is shown or saved (:mod:`_common._redaction`).
Rendering is in :mod:`_fleet._render` (Jinja2 templates next to this file), files in :mod:`_fleet._files`.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _verdict as cloud_verdict
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _endpoint_cells as endpoints
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _line as lines
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _rows
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _status as st
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _totals as totals
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet._causes import Causes
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts

TITLE = "atp.sensor_proxy fleet report"

# Colour class of each host status (one entry per status of the status model).
STATUS_CLASS = {
    st.IN_SYNC: "ok",
    st.CHANGED: "change",
    st.WOULD_CHANGE: "warn",
    st.DRIFTED: "warn",
    st.HIVE_NOT_LOADED: "bad",
    st.FAILED: "bad",
    st.UNREACHABLE: "bad",
}
# Per-account cell states beyond the host statuses (an unreachable host's partial write).
WRITTEN = "written"
MAYBE_WRITTEN = "maybe_written"
UNKNOWN = "unknown"
NOT_TARGETED = "not_targeted"
CELL_LABELS = dict(st.LABELS, **{WRITTEN: "written", MAYBE_WRITTEN: "maybe written", UNKNOWN: "unknown",
                                 NOT_TARGETED: "not targeted"})
CELL_CLASS = dict(STATUS_CLASS, **{WRITTEN: "change", MAYBE_WRITTEN: "bad", UNKNOWN: "off", NOT_TARGETED: "off"})
IN_SYNC_STATES = ("identical", "equivalent")
# The sensor's proxy method (contracts.md, field ``method``), as the page names it.
METHOD_LABELS = {"wininet": "WinINet", "sensor_config": "SensorConfiguration.json", "mde": "Defender for Endpoint",
                 "none": "none"}


def _text(value) -> str:
    return "" if value is None else str(value)


def _list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _generic(text: str, host: str) -> str:
    """The host's own name in an error becomes ``<host>``, so one cause covers every host it hit."""
    if not host or host not in text:
        return text
    return re.sub(r"(?<![\w-])%s(?![\w-])" % re.escape(host), "<host>", text)


# ---------------------------------------------------------------------------
# Endpoint columns
# ---------------------------------------------------------------------------
def account_columns(rows: list) -> list:
    """``[{sid, name}]``: the sensor's two accounts always, any other account some host targets."""
    sids = list(accounts.SENSOR_TARGETS)
    for row in rows:
        for target in _list(row.get("targets")):
            sid = _text(_dict(target).get("sid")).upper()
            if sid and sid not in sids:
                sids.append(sid)
    known = [a.sid for a in accounts.ACCOUNTS]
    sids.sort(key=lambda s: known.index(s) if s in known else len(known))
    return [{"sid": sid, "name": accounts.account_name(sid)} for sid in sids]


# ---------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------
def _account_cell(row: dict, sid: str, causes: Causes) -> dict:
    targets = {_text(t.get("sid")).upper(): t for t in _list(row.get("targets")) if isinstance(t, dict)}
    target = targets.get(sid)
    cell = {"sid": sid, "current": "", "wanted": "", "cause": None}
    name = accounts.account_name(sid)
    if target is None:
        if sid in _list(row.get("written")):
            state = WRITTEN
        elif sid in _list(row.get("maybe_written")):
            state = MAYBE_WRITTEN
        elif row.get("status") in (st.FAILED, st.UNREACHABLE):
            state = UNKNOWN
        else:
            state = NOT_TARGETED
    else:
        before = _text(target.get("before"))
        cell["current"] = _text(target.get("current"))
        cell["wanted"] = _text(target.get("wanted"))
        if before == st.HIVE_NOT_LOADED:
            state = st.HIVE_NOT_LOADED
            cell["current"] = ""
            cell["cause"] = causes.add(
                ("hive", sid), "hive not loaded",
                "The registry hive of %s (%s) is not loaded, so its proxy could not be read or written. Start a "
                "service that runs as %s (the sensor does), or set atp_proxy_load_hive to load it from the "
                "account's profile." % (name, sid, name), "bad", row["host"], account=name)
        elif target.get("changed") and row.get("mode") != "check":
            pending = row.get("check_mode") or row.get("status") == st.WOULD_CHANGE
            state = st.WOULD_CHANGE if pending else st.CHANGED
        elif before in IN_SYNC_STATES:
            state = st.IN_SYNC
        else:
            state = st.DRIFTED
    cell.update(state=state, label=CELL_LABELS[state], css=CELL_CLASS[state],
                differs=state in (st.WOULD_CHANGE, st.CHANGED, st.DRIFTED),
                # A written account's old value is gone: it was the current one, the wanted one is now.
                tense=("was", "now") if state == st.CHANGED else ("now", "want"))
    return cell


def _backup(row: dict) -> dict:
    """The backup this run wrote (``short``: its stamp), and for a restore the backup it put back (``restored``)."""
    path = _text(row.get("backup_file"))
    restored = _text(row.get("restored_from"))
    out = _short_backup(path) if path else {}
    if restored:
        out["restored"] = dict(_short_backup(restored),
                               verb=st.restore_verb(_text(row.get("job_status") or row.get("status"))))
    if _text(row.get("restore_note")):  # what the restore left out, or why it had nothing to put back
        out["note"] = redaction.mask_credentials(_text(row.get("restore_note")))
    return out


def _short_backup(path: str) -> dict:
    folder = path.replace("/", "\\").rstrip("\\").split("\\")
    name = folder[-2] if len(folder) > 1 and folder[-1].lower().endswith((".reg", ".json")) else folder[-1]
    stamp = re.search(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})", name)
    short = "%s-%s-%s %s:%s" % stamp.groups()[:5] if stamp else name
    return {"path": path, "short": short}


def _partial(row: dict, causes: Causes) -> dict:
    written = [accounts.account_name(s) for s in _list(row.get("written"))]
    maybe = [accounts.account_name(s) for s in _list(row.get("maybe_written"))]
    if row.get("status") != st.UNREACHABLE or row.get("job_status") or not (written or maybe):
        return {}
    where = _text(row.get("dropped_at")) or "during the change"
    cause = causes.add(
        ("partial", where), "partial write",
        "The connection dropped %s, part way through the change: the accounts shown as written or maybe "
        "written may hold the new value. Run the job again when the host is back (it writes only what "
        "differs), or restore the backup named on the host's row." % where,
        "bad", row["host"])
    return {"written": written, "maybe": maybe, "dropped_at": where, "cause": cause}


def _sensor(row: dict, causes: Causes) -> dict:
    keys = ("method", "sensor", "effective_proxy", "readiness")
    if not any(k in row for k in keys):
        return {}
    sensor = _dict(row.get("sensor"))
    readiness = _dict(row.get("readiness"))
    method = _text(row.get("method"))
    out = {"method": METHOD_LABELS.get(method, method), "installed": sensor.get("installed"),
           "version": " ".join(_text(sensor.get(k)) for k in ("generation", "version") if sensor.get(k)),
           "ready": readiness.get("ok") if readiness else None, "causes": [], "proxies": []}
    for fix in _list(readiness.get("fixes")):
        out["causes"].append(causes.add(("readiness", _text(fix)), "sensor readiness", _text(fix), "warn",
                                        row["host"]))
    for warning in _list(sensor.get("warnings")):
        out["causes"].append(causes.add(("sensor", _text(warning)), "sensor", _text(warning), "warn", row["host"]))
    for component, value in _dict(row.get("effective_proxy")).items():
        value = _dict(value)
        out["proxies"].append({"component": _text(component), "proxy": _text(value.get("proxy")) or "direct",
                               "source": _text(value.get("source")).replace("_", " "),
                               "ambiguous": bool(value.get("ambiguous"))})
    return out


CONNECTED_CLASS = {"yes": "ok", "likely": "ok", "no": "bad", "unknown": "warn"}


def _connected(row: dict, causes: Causes) -> dict:
    """"Sensor connected?" (``_connected``): the answer and each piece of evidence (service, log, probe, cloud)."""
    found = _dict(row.get("connected"))
    answer = _text(found.get("connected"))
    if answer not in CONNECTED_CLASS:
        return {}
    evidence = []
    for name in ("service", "log", "probe", "cloud"):
        piece = _dict(_dict(found.get("evidence")).get(name))
        if piece:
            evidence.append({"name": name, "ok": bool(piece.get("ok")), "text": redaction.mask_credentials(_text(piece.get("text")))})
    out = {"answer": answer, "css": CONNECTED_CLASS[answer], "why": redaction.mask_credentials(_text(found.get("why"))),
           "evidence": evidence, "causes": []}
    if answer == "no":
        why = _generic(out["why"], row["host"])
        out["causes"].append(causes.add(("connected", why), "sensor not connected", why, "bad", row["host"]))
    return out


def _mde(row: dict, causes: Causes) -> dict:
    """Defender for Endpoint (``_mde._summary.summary``): each setting's current value against the wanted one."""
    mde = _dict(row.get("mde"))
    settings = []
    for item in _list(mde.get("settings")):
        item = _dict(item)
        settings.append({"name": _text(item.get("name")), "current": _text(item.get("current")),
                         "wanted": _text(item.get("wanted")), "changed": bool(item.get("changed"))})
    configured = bool(mde.get("configured")) or bool(settings)
    out = {"configured": configured, "settings": settings, "backup": _text(mde.get("backup_file")), "causes": []}
    if mde.get("failed"):
        out.update(css="bad", label="failed")
        error = _generic(_text(mde.get("error")) or "the Defender for Endpoint step failed", row["host"])
        out["causes"].append(causes.add(("mde", error), "Defender for Endpoint failed", error, "bad", row["host"]))
    elif mde.get("changed") or any(item["changed"] for item in settings):
        # A read-only run changes nothing (its mde part is never "changed"): a setting that differs is drift there.
        label = "would change" if row.get("check_mode") else ("drifted" if row.get("mode") == "check" else "changed")
        out.update(css="change" if label == "changed" else "warn", label=label)
    else:
        out.update(css="ok" if configured else "off", label="in sync" if configured else "not configured")
    return out


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------
def _tiles(tot: dict) -> list:
    def tile(key, label, value, css, flt=""):
        return {"key": key, "label": label, "value": value, "css": css if value else "zero", "filter": flt}

    tiles = [tile("hosts", "Hosts", tot["hosts"], "neutral")]
    tiles += [tile(s, st.LABELS[s], tot[s], STATUS_CLASS[s], "status:" + s) for s in st.STATUSES]
    tiles.append(tile("partial", "Partial writes", tot["partial"], "bad", "flag:partial"))
    tiles.append(tile("backups_written", "Backups written", tot["backups_written"], "neutral", "flag:backup"))
    tiles.append(tile("probe_failed", "Probe failed", tot["probe_failed"], "bad", "flag:probe_failed"))
    probed, reachable = tot["endpoints_probed"], tot["endpoints_reachable"]
    if not probed and tot.get("not_probed"):  # the probe was to run and gave no verdict: never "off", never ok
        tiles.append({"key": "endpoints", "label": "Endpoints reachable", "value": "not probed", "css": "bad",
                      "filter": "flag:not_probed"})
    elif not probed:
        tiles.append({"key": "endpoints", "label": "Endpoints reachable", "value": "probe off", "css": "zero",
                      "filter": ""})
    else:
        tiles.append({"key": "endpoints", "label": "Endpoints reachable", "value": "%d/%d" % (reachable, probed),
                      "css": "ok" if reachable == probed else "bad", "filter": "flag:probe_failed"})
    return tiles


def build(items, title: str = TITLE, generated: str = "", sources: int = 0) -> dict:
    """The report's view of the rows (host summaries): tiles, columns, causes and a record per host."""
    rows = _rows.rows_of(items)
    causes = Causes()
    columns = endpoints.endpoint_columns(rows)
    account_cols = account_columns(rows)
    hosts = []
    for row in rows:
        host = row["host"]
        status = row.get("status") if row.get("status") in STATUS_CLASS else st.FAILED
        record = {"host": host, "status": status, "label": st.LABELS[status], "css": STATUS_CLASS[status],
                  "rank": len(st.STATUSES) - 1 - st.STATUSES.index(status), "line": _text(row.get("line")) or lines.line(row),
                  "causes": []}
        if row.get("error"):
            record["causes"].append(causes.add(("error", status, _generic(_text(row["error"]), host)),
                                               st.LABELS[status], _generic(_text(row["error"]), host),
                                               "bad", host))
        for warning in _list(row.get("warnings")):
            record["causes"].append(causes.add(("warning", _generic(_text(warning), host)), "warning",
                                               _generic(_text(warning), host), "warn", host))
        for reason in _list(row.get("fail")):
            record["causes"].append(causes.add(("fail", _generic(_text(reason), host)), "fails the job",
                                               _generic(_text(reason), host), "bad", host))
        record["accounts"] = [_account_cell(row, c["sid"], causes) for c in account_cols]
        record["partial"] = _partial(row, causes)
        record["backup"] = _backup(row)
        record["sensor"] = _sensor(row, causes)
        record["mde"] = _mde(row, causes)
        record["cloud"] = cloud_verdict.report_cell(row) or {"causes": []}
        cloud_cause = record["cloud"].get("cause")
        cloud_cause = _generic(cloud_cause, host) if cloud_cause else ""
        record["cloud"]["causes"] = [causes.add(("cloud", cloud_cause), "the cloud's verdict", cloud_cause,
                                                record["cloud"]["css"], host)] if cloud_cause else []
        record["connected"] = _connected(row, causes)
        record["probes"] = endpoints.probe_cells(row, columns, causes)
        probe_failed = any(not _dict(p).get("all_reachable") and _dict(p).get("probed") is not False
                           for p in _list(row.get("probe")))
        not_probed = [_dict(p) for p in _list(row.get("probe")) if _dict(p).get("probed") is False]
        for probe in not_probed:
            why = _generic(_text(probe.get("why_not_probed")) or "no results", host)
            record["causes"].append(causes.add(
                ("not_probed", why), "not probed",
                "The probe gave no verdict for %s: %s. Nothing is known about its endpoints; probe again (the check "
                "playbook) when the host answers." % (_text(probe.get("account")) or "an account", why),
                "bad", host, account=_text(probe.get("account"))))
        flags = []
        if status in st.PROBLEMS or probe_failed or not_probed or st.outcome(row) or record["partial"]:
            flags.append("problem")
        if not_probed:
            flags.append("not_probed")
        if record["partial"]:
            flags.append("partial")
        if record["backup"].get("path"):
            flags.append("backup")
        if probe_failed:
            flags.append("probe_failed")
        if st.outcome(row):
            flags.append("failing")
        record["flags"] = flags
        cell_causes = [a["cause"] for a in record["accounts"] if a["cause"]]
        cell_causes += [c for cell in record["probes"] for part in cell["parts"] for c in part["causes"]]
        cell_causes += record["sensor"].get("causes", []) + record["mde"]["causes"] + record["cloud"]["causes"]
        cell_causes += record["connected"].get("causes", [])
        cell_causes += [record["partial"]["cause"]] if record["partial"] else []
        record["all_causes"] = list(OrderedDict.fromkeys(record["causes"] + cell_causes))
        hosts.append(record)
    tot = totals.totals(rows)
    modes = sorted({_text(r.get("mode")) for r in rows if r.get("mode")})
    return {
        "title": title,
        "generated": generated,
        "sources": sources,
        "rows": rows,
        "totals": tot,
        "tiles": _tiles(tot),
        "accounts": account_cols,
        "endpoints": columns,
        "hosts": hosts,
        "causes": causes.numbered(),
        "check_mode": any(r.get("check_mode") for r in rows),
        "drift_check": "check" in modes,
        "has_sensor": any(h["sensor"] for h in hosts),
        "has_proxies": any(h["sensor"].get("proxies") for h in hosts),
        "has_mde": any(h["mde"]["configured"] for h in hosts),
        "has_cloud": any(h["cloud"].get("label") for h in hosts),
        "has_connected": any(h["connected"] for h in hosts),
        "failing": [r["host"] for r in rows if st.outcome(r)],
    }

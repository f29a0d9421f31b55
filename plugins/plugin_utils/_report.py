# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet report: one self-contained HTML page (and a Markdown twin) for a whole run.

Pure Python, no Ansible imports. Input is a list of per-host ``atp_proxy_summary``
dictionaries (schema in ``docs/dev/contracts.md``); a host whose role never got as far
as setting the summary is passed as ``{"host": name}`` and is reported as failed.

The HTML page carries its own CSS, no scripts, no fonts, no images and a
Content-Security-Policy that forbids loading anything, so it opens the same way on
an air-gapped jump host. Every piece of data is HTML-escaped.
"""

from __future__ import annotations

import html
import re
from collections import OrderedDict

# The columns every report has; S-1-5-20 joins them only when some host targets it.
ACCOUNT_COLUMNS = (
    ("S-1-5-18", "LocalSystem"),
    ("S-1-5-19", "LocalService"),
    ("S-1-5-20", "NetworkService"),
)
ALWAYS_SHOWN = ("S-1-5-18", "S-1-5-19")

# Target states (per SID cell).
IN_SYNC = "in sync"
CHANGED = "changed"
WOULD_CHANGE = "would change"
DRIFTED = "drifted"
HIVE_NOT_LOADED = "hive not loaded"
NOT_TARGETED = "not targeted"

# Host statuses, in the order the totals show them.
HOST_STATUSES = ("in_sync", "changed", "would_change", "drifted", "hive_not_loaded", "failed")
# Shown as such, counted as failed.
FAILED_STATUSES = ("failed", "unreachable")
STATUS_LABELS = {
    "in_sync": "in sync",
    "changed": "changed",
    "would_change": "would change",
    "drifted": "drifted",
    "hive_not_loaded": "hive not loaded",
    "failed": "failed",
    "unreachable": "unreachable",
}
NO_SUMMARY_HINT = "no atp_proxy_summary: the host failed or was unreachable before the role finished"

# CSS class per kind of state: ok (green), change (blue), warn (amber), bad (red), off (grey).
STATE_CLASS = {
    IN_SYNC: "ok",
    CHANGED: "change",
    WOULD_CHANGE: "warn",
    DRIFTED: "warn",
    HIVE_NOT_LOADED: "bad",
    NOT_TARGETED: "off",
    "in_sync": "ok",
    "changed": "change",
    "would_change": "warn",
    "drifted": "warn",
    "hive_not_loaded": "bad",
    "failed": "bad",
    "unreachable": "bad",
}
# Probe outcomes that are neither success nor failure of the path to Microsoft.
OFF_OUTCOMES = frozenset({"skipped", "not_probed", "disabled"})
OK_OUTCOMES = frozenset({"reachable", "ok"})
MARKDOWN_MARK = {"ok": "✅", "change": "🔄", "warn": "⚠️", "bad": "❌", "off": "➖"}


def _text(value) -> str:
    return "" if value is None else str(value)


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def outcome_class(outcome: str) -> str:
    outcome = _text(outcome).lower()
    if outcome in OK_OUTCOMES:
        return "ok"
    if outcome in OFF_OUTCOMES or not outcome:
        return "off"
    return "bad"


def target_state(target: dict, check_mode: bool = False) -> str:
    """State of one SID on one host: in sync / changed / would change / drifted / hive not loaded."""
    before = _text(target.get("before")).lower()
    if before == "hive_not_loaded":
        return HIVE_NOT_LOADED
    if target.get("changed"):
        return WOULD_CHANGE if check_mode else CHANGED
    if before in ("identical", "equivalent"):
        return IN_SYNC
    return DRIFTED


def host_status(summary: dict) -> str:
    status = _text(summary.get("status")).lower()
    return status if status in STATUS_LABELS else "failed"


def normalize(summaries) -> list:
    """Turn the input rows into uniform host records (pure data, no markup)."""
    hosts = []
    for raw in _as_list(summaries):
        summary = dict(raw or {})
        name = _text(summary.get("host")) or "(unknown host)"
        has_summary = "status" in summary
        check_mode = bool(summary.get("check_mode"))
        targets = {}
        for target in _as_list(summary.get("targets")):
            if isinstance(target, dict) and target.get("sid"):
                targets[_text(target["sid"]).upper()] = {
                    "sid": _text(target["sid"]).upper(),
                    "account": _text(target.get("account")),
                    "before": _text(target.get("before")),
                    "state": target_state(target, check_mode),
                }
        probes = []
        for probe in _as_list(summary.get("probe")):
            if not isinstance(probe, dict):
                continue
            account = _text(probe.get("account")) or "controller"
            for result in _as_list(probe.get("results")):
                if isinstance(result, dict):
                    probes.append({
                        "account": account,
                        "url": _text(result.get("url")),
                        "outcome": _text(result.get("outcome")) or "unknown",
                        "status": _text(result.get("status")),
                        "hint": _text(result.get("hint")),
                        "proxy": _text(result.get("proxy")),
                    })
        mde = summary.get("mde") if isinstance(summary.get("mde"), dict) else {}
        hosts.append({
            "host": name,
            "has_summary": has_summary,
            "status": host_status(summary) if has_summary else "failed",
            "error": _text(summary.get("error")) if has_summary else NO_SUMMARY_HINT,
            "check_mode": check_mode,
            "targets": targets,
            "backup_file": _text(summary.get("backup_file")),
            "changed_sids": [_text(s) for s in _as_list(summary.get("changed_sids"))],
            "probes": probes,
            "probe_failed": any(outcome_class(p["outcome"]) == "bad" for p in probes),
            "mde": {"configured": bool(mde.get("configured")), "changed": bool(mde.get("changed"))},
        })
    return hosts


def totals(hosts: list) -> OrderedDict:
    """Counts shown at the top of the report (``hosts`` comes from :func:`normalize`)."""
    out = OrderedDict(hosts=len(hosts))
    for status in HOST_STATUSES:
        wanted = FAILED_STATUSES if status == "failed" else (status,)
        out[status] = sum(1 for h in hosts if h["status"] in wanted)
    out["probe_failed"] = sum(1 for h in hosts if h["probe_failed"])
    probes = [p for h in hosts for p in h["probes"] if outcome_class(p["outcome"]) != "off"]
    out["endpoints_probed"] = len(probes)
    out["endpoints_reachable"] = sum(1 for p in probes if outcome_class(p["outcome"]) == "ok")
    out["backups_written"] = sum(1 for h in hosts if h["backup_file"])
    return out


def _columns(hosts: list) -> tuple:
    sids = [sid for sid, dummy in ACCOUNT_COLUMNS
            if sid in ALWAYS_SHOWN or any(sid in h["targets"] for h in hosts)]
    urls = list(OrderedDict.fromkeys(p["url"] for h in hosts for p in h["probes"]))
    return [(sid, dict(ACCOUNT_COLUMNS)[sid]) for sid in sids], urls


def _cell_state(host: dict, sid: str) -> str:
    if sid in host["targets"]:
        return host["targets"][sid]["state"]
    return NOT_TARGETED if host["has_summary"] else "unknown"


def _url_cell(host: dict, url: str) -> tuple:
    """(css class, [(account, outcome, status, hint, proxy)]) of one host x endpoint."""
    rows = [p for p in host["probes"] if p["url"] == url]
    if not rows:
        return "off", []
    classes = [outcome_class(p["outcome"]) for p in rows]
    css = "bad" if "bad" in classes else ("ok" if "ok" in classes else "off")
    return css, rows


def _total_labels(tot: OrderedDict) -> list:
    return [
        ("hosts", "Hosts", tot["hosts"], "off"),
        ("in_sync", "In sync", tot["in_sync"], "ok"),
        ("changed", "Changed", tot["changed"], "change"),
        ("would_change", "Would change", tot["would_change"], "warn"),
        ("drifted", "Drifted", tot["drifted"], "warn"),
        ("hive_not_loaded", "Hive not loaded", tot["hive_not_loaded"], "bad"),
        ("failed", "Failed", tot["failed"], "bad"),
        ("probe_failed", "Probe failed", tot["probe_failed"], "bad"),
        ("endpoints", "Endpoints reachable",
         "%d/%d" % (tot["endpoints_reachable"], tot["endpoints_probed"]), "ok"),
        ("backups_written", "Backups written", tot["backups_written"], "off"),
    ]


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px}
p.meta{color:#57606a;margin:0 0 16px;font-size:13px}
.totals{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 20px;padding:0;list-style:none}
.totals li{border-radius:6px;padding:8px 14px;min-width:90px;border:1px solid #d0d7de}
.totals .n{display:block;font-size:22px;font-weight:700}
.totals .l{font-size:12px;text-transform:uppercase;letter-spacing:.03em}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border:1px solid #d0d7de;padding:6px 8px;vertical-align:top;text-align:left}
th{background:#f6f8fa;position:sticky;top:0}
th.url{max-width:260px;word-break:break-all;font-weight:600}
td.host{font-weight:600;white-space:nowrap}
td.backup{font-family:ui-monospace,Consolas,monospace;font-size:12px;word-break:break-all;max-width:260px}
.ok{background:#dafbe1;color:#0b4a1e}
.change{background:#ddf4ff;color:#0a3069}
.warn{background:#fff8c5;color:#4d2d00}
.bad{background:#ffebe9;color:#82071e}
.off{background:#f6f8fa;color:#57606a}
.probe{display:block;margin:0 0 4px}
.probe:last-child{margin:0}
.hint{display:block;font-size:12px;opacity:.85}
.acct{font-size:11px;text-transform:uppercase;opacity:.8}
footer{margin-top:16px;font-size:12px;color:#57606a}
""".strip()


def _e(value) -> str:
    return html.escape(_text(value), quote=True)


def render_html(summaries, title: str = "atp.sensor_proxy fleet report", generated: str = "") -> str:
    hosts = normalize(summaries)
    tot = totals(hosts)
    sid_columns, urls = _columns(hosts)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        # Nothing may be fetched: the page is self-contained by construction.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title>" % _e(title),
        "<style>%s</style>" % _CSS,
        "</head>",
        "<body>",
        "<h1>%s</h1>" % _e(title),
        '<p class="meta">%s%d host(s)%s</p>' % (
            ("Generated %s &middot; " % _e(generated)) if generated else "",
            tot["hosts"],
            " &middot; check mode (nothing was written)" if any(h["check_mode"] for h in hosts) else "",
        ),
        '<ul class="totals" id="totals">',
    ]
    for key, label, number, css in _total_labels(tot):
        out.append('<li class="%s" data-total="%s"><span class="n">%s</span><span class="l">%s</span></li>'
                   % (css, _e(key), _e(number), _e(label)))
    out.append("</ul>")
    out.append('<table id="hosts">')
    header = ["<th>Host</th>", "<th>Status</th>"]
    header += ['<th title="%s">%s</th>' % (_e(sid), _e(name)) for sid, name in sid_columns]
    header += ["<th>Backup written</th>", "<th>MDE (WinHTTP)</th>"]
    header += ['<th class="url">%s</th>' % _e(url) for url in urls]
    out.append("<thead><tr>%s</tr></thead>" % "".join(header))
    out.append("<tbody>")
    for host in hosts:
        cells = ['<td class="host">%s</td>' % _e(host["host"])]
        label = STATUS_LABELS[host["status"]]
        cells.append('<td class="%s" data-status="%s">%s%s</td>' % (
            STATE_CLASS[host["status"]], _e(host["status"]), _e(label),
            '<span class="hint">%s</span>' % _e(host["error"]) if host["error"] else ""))
        for sid, _name in sid_columns:
            state = _cell_state(host, sid)
            before = host["targets"].get(sid, {}).get("before", "")
            cells.append('<td class="%s" data-sid="%s">%s%s</td>' % (
                STATE_CLASS.get(state, "off"), _e(sid), _e(state),
                '<span class="hint">before: %s</span>' % _e(before) if before else ""))
        cells.append('<td class="backup">%s</td>' % (_e(host["backup_file"]) or "&mdash;"))
        mde = host["mde"]
        mde_text = ("changed" if mde["changed"] else "configured") if mde["configured"] else "not configured"
        cells.append('<td class="%s">%s</td>' % (
            "change" if mde["changed"] else ("ok" if mde["configured"] else "off"), _e(mde_text)))
        for url in urls:
            css, rows = _url_cell(host, url)
            if not rows:
                cells.append('<td class="off" data-url="%s">not probed</td>' % _e(url))
                continue
            parts = []
            for p in rows:
                status = " %s" % _e(p["status"]) if p["status"] else ""
                via = '<span class="hint">via %s</span>' % _e(p["proxy"]) if p["proxy"] else ""
                hint = '<span class="hint">%s</span>' % _e(p["hint"]) if p["hint"] else ""
                parts.append('<span class="probe %s"><span class="acct">%s</span> <b>%s</b>%s%s%s</span>' % (
                    outcome_class(p["outcome"]), _e(p["account"]), _e(p["outcome"]), status, hint, via))
            cells.append('<td class="%s" data-url="%s">%s</td>' % (css, _e(url), "".join(parts)))
        out.append('<tr data-host="%s">%s</tr>' % (_e(host["host"]), "".join(cells)))
    out.append("</tbody></table>")
    out.append("<footer>atp.sensor_proxy &middot; LocalSystem = S-1-5-18, LocalService = S-1-5-19 "
               "(WinINet DefaultConnectionSettings); green = in sync / reachable, blue = changed, "
               "amber = drifted / would change, red = failed / unreachable.</footer>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------
def _md(value) -> str:
    """Escape a value for a Markdown table cell (no markup, no pipes, no line breaks)."""
    text = _text(value).replace("\r", " ").replace("\n", " ")
    text = html.escape(text, quote=False)
    for char in "\\`*[]|":
        text = text.replace(char, "\\" + char)
    # An underscore inside a word never emphasises (GFM); escape only the others.
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def render_markdown(summaries, title: str = "atp.sensor_proxy fleet report", generated: str = "") -> str:
    hosts = normalize(summaries)
    tot = totals(hosts)
    sid_columns, urls = _columns(hosts)
    out = ["# %s" % _md(title), ""]
    meta = "%d host(s)" % tot["hosts"]
    if generated:
        meta = "Generated %s, %s" % (_md(generated), meta)
    if any(h["check_mode"] for h in hosts):
        meta += ", check mode (nothing was written)"
    out += [meta, "", "## Totals", ""]
    for _key, label, number, _css in _total_labels(tot):
        out.append("- **%s**: %s" % (label, _md(number)))
    out += ["", "## Hosts", ""]
    header = ["Host", "Status"] + [name for dummy, name in sid_columns] + ["Backup written", "MDE (WinHTTP)"]
    header += [_md(url) for url in urls]
    out.append("| %s |" % " | ".join(header))
    out.append("|%s|" % "|".join(["---"] * len(header)))
    for host in hosts:
        label = STATUS_LABELS[host["status"]]
        status = "%s %s" % (MARKDOWN_MARK[STATE_CLASS[host["status"]]], label)
        if host["error"]:
            status += " (%s)" % _md(host["error"])
        row = [_md(host["host"]), status]
        for sid, _name in sid_columns:
            state = _cell_state(host, sid)
            row.append("%s %s" % (MARKDOWN_MARK[STATE_CLASS.get(state, "off")], _md(state)))
        row.append("`%s`" % host["backup_file"].replace("`", "'") if host["backup_file"] else "-")
        mde = host["mde"]
        row.append(("changed" if mde["changed"] else "configured") if mde["configured"] else "not configured")
        for url in urls:
            _css, rows = _url_cell(host, url)
            if not rows:
                row.append("%s not probed" % MARKDOWN_MARK["off"])
                continue
            parts = []
            for p in rows:
                text = "%s %s: %s" % (MARKDOWN_MARK[outcome_class(p["outcome"])], _md(p["account"]), _md(p["outcome"]))
                if p["status"]:
                    text += " %s" % _md(p["status"])
                if p["hint"]:
                    text += " (%s)" % _md(p["hint"])
                parts.append(text)
            row.append("<br>".join(parts))
        out.append("| %s |" % " | ".join(row))
    out.append("")
    return "\n".join(out)


def render(summaries, fmt: str = "html", title: str = "atp.sensor_proxy fleet report", generated: str = "") -> str:
    fmt = _text(fmt).lower()
    if fmt in ("html", "htm"):
        return render_html(summaries, title=title, generated=generated)
    if fmt in ("markdown", "md"):
        return render_markdown(summaries, title=title, generated=generated)
    raise ValueError("format must be 'html' or 'markdown', got %r" % fmt)

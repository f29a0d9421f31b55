# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's endpoint columns and their cells: one column per probed URL, one cell per host, each
account's (and probe mode's) outcome with a cause for each failure (:mod:`_fleet._causes`).

Pure Python, no Ansible imports; used by :mod:`_fleet._view`.
"""

from __future__ import annotations

from collections import OrderedDict
from urllib.parse import urlsplit

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _status as st

_text, _list, _dict = st.as_text, st.as_list, st.as_dict

# Short names of the probe's outcomes (``_probe._outcomes.OUTCOMES``) for the page's narrow endpoint cells;
# the causes and the Markdown twin spell them out.
OUTCOME_SHORT = {
    "proxy_auth_required": "auth",
    "blocked_by_proxy": "blocked",
    "tls_intercepted": "TLS inspected",
    "tls_error": "TLS error",
    "dns_failure": "DNS",
    "connection_refused": "refused",
    "timeout": "timeout",
    "proxy_unreachable": "proxy down",  # the account has a proxy; it did not answer
    "become_failed": "become",
    "unknown": "unknown",
    "works_only_direct": "direct only",
}
# Outcomes that work today and will not (a warning, never reachable): works_only_direct (the proxy fails and the
# client falls back to a direct connection).
OUTCOME_WARN = ("works_only_direct",)


def endpoint_columns(rows: list) -> list:
    """``[{url, label, endpoint}]`` in order of first appearance: short labels (the endpoint id, or the host
    when an id names several URLs), the full URL for the hover text."""
    seen: OrderedDict = OrderedDict()
    for row in rows:
        for probe in _list(row.get("probe")):
            for result in _list(_dict(probe).get("results")):
                url = _text(_dict(result).get("url"))
                if url and url not in seen:
                    seen[url] = _text(result.get("endpoint"))
    ids: dict = {}
    for url, ident in seen.items():
        ids.setdefault(ident, []).append(url)
    columns, labels = [], set()
    for url, ident in seen.items():
        label = ident if ident and len(ids[ident]) == 1 else (urlsplit(url).hostname or url)
        if label in labels:
            label = "%s (%d)" % (label, len(columns) + 1)
        labels.add(label)
        columns.append({"url": url, "label": label, "endpoint": ident})
    return columns


def probe_cells(row: dict, columns: list, causes) -> list:
    """One cell per endpoint column: each account's (and mode's) outcome, a cause for each failure."""
    by_url: dict = {}
    for probe in _list(row.get("probe")):
        probe = _dict(probe)
        account = _text(probe.get("account")) or "controller"
        # Each URL's verdict for this account (st.url_results): another mode's failure beside it is information (a
        # host that uses a proxy fails "direct", as it should), shown but neither a cause nor a red cell.
        verdicts = [id(r) for r in st.url_results(probe.get("results"))]
        for result in _list(probe.get("results")):
            result = _dict(result)
            mode = _text(result.get("mode"))
            # Several probe modes (the Client Analyzer's ways): each result says which way it went.
            who = "%s via %s" % (account, mode) if mode and mode != "default" else account
            by_url.setdefault(_text(result.get("url")), []).append(
                (who, result, bool(probe.get("fixing")), id(result) not in verdicts))
    cells = []
    for column in columns:
        found = by_url.get(column["url"], [])
        if not found:
            cells.append({"css": "off", "parts": []})
            continue
        groups: OrderedDict = OrderedDict()
        for account, result, fixing, info in found:
            outcome = _text(result.get("outcome")) or "unknown"
            ok = outcome == st.REACHABLE or info
            cause = None
            if not ok:
                hint = _text(result.get("hint"))
                title = outcome.replace("_", " ")
                if fixing:
                    # Check mode: the account is about to be written; a drift check: it has drifted.
                    title += ", while the account is drifted" if row.get("mode") == "check" else \
                        ", before the pending change"
                cause = causes.add(("probe", outcome, hint, fixing), title, hint,
                                   "warn" if fixing or outcome in OUTCOME_WARN else "bad",
                                   row["host"], endpoint=column["label"], account=account)
            key = (outcome, fixing, info)
            group = groups.setdefault(key, {"outcome": outcome, "info": info, "label": "reachable" if outcome == st.REACHABLE else
                                            outcome.replace("_", " ") + (" (information)" if info else ""),
                                            "short": OUTCOME_SHORT.get(outcome, outcome),
                                            "ok": ok, "fixing": fixing, "accounts": [], "statuses": [],
                                            "causes": []})
            group["accounts"].append(account)
            if result.get("status") not in (None, ""):
                group["statuses"].append(_text(result.get("status")))
            if cause is not None and cause not in group["causes"]:
                group["causes"].append(cause)
        parts = list(groups.values())
        bad = [p for p in parts if not p["ok"]]
        css = "ok" if not bad else ("warn" if all(p["fixing"] for p in bad) else "bad")
        if any(p["outcome"] in OUTCOME_WARN for p in parts):
            css = "warn"  # the proxy's failure and the direct fallback that hides it: one warning with the fix
        for part in parts:
            part["who"] = ", ".join(part["accounts"]) if len(parts) > 1 else ""
            part["status"] = "/".join(OrderedDict.fromkeys(part["statuses"]))
        cells.append({"css": css, "parts": parts})
    return cells

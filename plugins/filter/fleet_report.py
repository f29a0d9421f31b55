# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``atp.sensor_proxy.fleet_report``; documented in ``fleet_report.yml`` next to it."""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _report

SUMMARY_VAR = "atp_proxy_summary"


def _plain(value):
    """Deep copy into plain dict/list/str/int/bool (hostvars hand out lazy, templated containers)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _summary_of(host: str, item) -> dict:
    summary = None
    if isinstance(item, Mapping):
        if SUMMARY_VAR in item:
            summary = item[SUMMARY_VAR]
        elif "status" in item or "targets" in item:
            summary = item
    summary = _plain(summary) if isinstance(summary, Mapping) else {}
    summary.setdefault("host", host)
    if not summary.get("host"):
        summary["host"] = host
    return summary


def collect(data, hosts=None) -> list:
    """Per-host summaries from ``hostvars`` (or a host -> summary mapping, or a list of summaries)."""
    if isinstance(data, Mapping):
        names = [str(h) for h in hosts] if hosts is not None else [str(h) for h in data]
        rows = []
        for name in names:
            try:
                item = data[name] if name in data else None
            except Exception:  # hostvars of a host missing from the inventory
                item = None
            rows.append(_summary_of(name, item))
        return rows
    if isinstance(data, (list, tuple)):
        rows = [_summary_of(str(s.get("host", "")) if isinstance(s, Mapping) else "", s) for s in data]
        if hosts is not None:
            wanted = [str(h) for h in hosts]
            by_name = {r["host"]: r for r in rows}
            rows = [by_name.get(name, {"host": name}) for name in wanted]
        return rows
    raise AnsibleFilterError(
        "fleet_report expects hostvars, a mapping of host -> atp_proxy_summary or a list of summaries, got %s"
        % type(data).__name__
    )


def fleet_report(data, hosts=None, format="html", title="atp.sensor_proxy fleet report", generated=None):
    if generated is None:
        generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")  # noqa: UP017 (py3.10)
    try:
        return _report.render(collect(data, hosts), fmt=format, title=str(title), generated=str(generated))
    except ValueError as exc:
        raise AnsibleFilterError("fleet_report: %s" % exc) from exc


class FilterModule:
    def filters(self):
        return {"fleet_report": fleet_report}

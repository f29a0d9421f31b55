# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``atp.sensor_proxy.fleet_report``; documented in ``fleet_report.yml`` next to it.

The same renderer as the ``atp.sensor_proxy.atp_proxy_fleet_report`` action (``_fleet/_render.py``); hosts
without a summary are summarized as ``_summary.row_for`` does (unreachable, or what they registered)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._plain import plain
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _render as render
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _summary as summary

SUMMARY_VAR = "atp_proxy_summary"
HOST_VARS = (SUMMARY_VAR, "atp_proxy_result", "atp_proxy_probe_results", "atp_proxy_mode")


def _row(host: str, item) -> dict:
    """A host's summary from its hostvars, from a mapping host -> summary, or as ``_summary.row_for`` makes it."""
    if isinstance(item, Mapping) and any(k in item for k in HOST_VARS):
        return summary.row_for(host, plain({k: item[k] for k in HOST_VARS if k in item}))
    if isinstance(item, Mapping) and item.get("status"):
        return dict(plain(item), host=str(item.get("host") or host))
    return summary.row_for(host, {})


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
            rows.append(_row(name, item))
        return rows
    if isinstance(data, (list, tuple)):
        rows = [_row(str(s.get("host", "")), s) for s in data if isinstance(s, Mapping)]
        if hosts is not None:
            by_name = {r["host"]: r for r in rows}
            rows = [by_name.get(str(name)) or summary.row_for(str(name), {}) for name in hosts]
        return rows
    raise AnsibleFilterError(
        "fleet_report expects hostvars, a mapping of host -> atp_proxy_summary or a list of summaries, got %s"
        % type(data).__name__
    )


def fleet_report(data, hosts=None, format="html", title="atp.sensor_proxy fleet report", generated=None):
    if generated is None:
        generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")  # noqa: UP017 (py3.10)
    try:
        return render.render(collect(data, hosts), fmt=format, title=str(title), generated=str(generated))
    except ValueError as exc:
        raise AnsibleFilterError("fleet_report: %s" % exc) from exc


class FilterModule:
    def filters(self):
        return {"fleet_report": fleet_report}

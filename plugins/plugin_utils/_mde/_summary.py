# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Defender for Endpoint part of a host's summary, from a ``win_mde_proxy`` result: the ``mde`` fields of
``atp_proxy_summary`` (docs/dev/contracts.md, "mde") that the fleet report shows, and its one-line text.

Pure Python, no Ansible imports.
"""

from __future__ import annotations


def summary(result: dict | None) -> dict:
    """The ``mde`` part of ``atp_proxy_summary`` from a ``win_mde_proxy`` result (``None``/``{}``: the step did
    not run): ``configured``, ``changed``, ``failed``, ``error``, ``settings`` (``name``, ``current``, ``wanted``,
    ``changed`` each), ``actions`` and ``backup_file``."""
    if not result:
        return {"configured": False, "changed": False, "failed": False, "error": "", "settings": [], "actions": [],
                "backup_file": ""}
    failed = bool(result.get("failed") or result.get("unreachable"))
    return {
        "configured": True,
        "changed": bool(result.get("changed")),
        "failed": failed,
        "error": str(result.get("error") or result.get("msg") or "") if failed else "",
        "settings": [{key: s.get(key) for key in ("name", "current", "wanted", "changed")}
                     for s in result.get("settings") or []],
        "actions": list(result.get("actions") or []),
        "backup_file": str(result.get("backup_file") or ""),
    }


def line(result: dict | None) -> str:
    """The MDE part of a host's one-line text: ``MDE in sync (4 settings)``, ``MDE: set TelemetryProxyServer:
    old.corp:3128 -> proxy.corp:8080`` (in check mode ``would set ...``), ``MDE failed: <why>``, or '' when the
    step did not run."""
    found = summary(result)
    if not found["configured"]:
        return ""
    if found["failed"]:
        return "MDE failed: %s" % found["error"]
    if not found["actions"]:
        return "MDE in sync (%d setting%s)" % (len(found["settings"]), "" if len(found["settings"]) == 1 else "s")
    return "MDE: %s" % "; ".join(found["actions"])

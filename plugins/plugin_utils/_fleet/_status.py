# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's status in one run, and how the host ends: the vocabulary every part of the fleet's summary shares.

Pure Python, no Ansible imports. The statuses (in the order the totals show them), their labels, the summary's
schema number and the probe outcomes a summary counts as reached; :func:`outcome` turns a summary into how the
host's task ends (ok, failed or unreachable), the one place that decides it. The status itself is decided by
:func:`_fleet._summary.status_of`, from the role's job result.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _report as probe_report

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
WORKS_ONLY_DIRECT = "works_only_direct"  # _probe._outcomes.WORKS_ONLY_DIRECT: reached only by a direct fallback
MODES = ("configure", "check")
url_results = probe_report.url_results  # each URL of an account's probe once, as the probe reads several modes
NO_RESULT = "no result: the host was unreachable or failed before the role ran"


def as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def as_text(value) -> str:
    return "" if value is None else str(value)


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def restore_verb(status: str) -> str:
    """How a line or a report says the backup a restore used, by what the job did (its status)."""
    return {CHANGED: "restored from", WOULD_CHANGE: "would restore from", IN_SYNC: "already as in"}.get(
        status, "restore from")


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

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the endpoint probe found, as one typed value (:class:`ProbeResult`): the classified result of each URL and
mode, from which side and as which account it was probed, what it cost (time, round trips), the modes it could not
test, the reports it wrote and whether an unreachable endpoint fails the task.

:meth:`ProbeResult.to_result` makes the documented RETURN of ``atp_endpoint_probe`` at the edge (the summary of
:func:`_probe._report.summarize`: ``all_reachable``, ``failing``, ``works_only_direct``, ``working_modes``, ...),
with every form of the proxy's password masked (:mod:`_common._redaction`), whatever a result holds.

Pure Python, no Ansible imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _report as report


@dataclass
class ProbeResult:
    """One probe run. ``modes`` and ``not_tested`` are the target side's (None from the controller, whose result
    has no such fields); ``report_json``/``report_junit`` the reports written (None: not asked for)."""

    results: list
    via: str
    account: str | None
    elapsed_total: float
    round_trips: int = 0
    modes: list | None = None
    not_tested: dict | None = None
    report_json: str | None = None
    report_junit: str | None = None
    fail_on_unreachable: bool = False
    secrets: tuple = field(default=(), repr=False)  # the password's forms, masked in every field
    ran_as: dict | None = None  # target side: whom the probe script ran as ({name, sid}); None with win_uri
    identity_error: str | None = None  # the script ran as someone else than the become user: its results are not

    def _summary(self) -> dict:
        out = report.summarize(self.results, via=self.via, account=self.account, elapsed_total=self.elapsed_total,
                               round_trips=self.round_trips, modes=self.modes, not_tested=self.not_tested)
        if self.modes is not None:  # the target side's result
            out["ran_as"] = self.ran_as
        if self.identity_error:
            out["all_reachable"] = False  # what was reached is not the become user's
        return out

    def summary(self) -> dict:
        """The summary of the results (without the report paths and the failure): what the reports contain."""
        return redaction.scrub_secrets(self._summary(), self.secrets)

    def to_result(self) -> dict:
        """The documented result: the summary, the report paths, and ``failed``/``msg`` when
        ``fail_on_unreachable`` and an endpoint is not reachable (masked once, as a whole)."""
        out = self._summary()
        for name in ("report_json", "report_junit"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.identity_error:
            out.update(failed=True, msg=self.identity_error)
        elif self.fail_on_unreachable and not out["all_reachable"]:
            out.update(failed=True, msg=report.failure_message(out))
        return redaction.scrub_secrets(out, self.secrets)


def accounts_result(names: list, runs: list) -> dict:
    """The result of the ``accounts`` option: ``runs``, the action's result for each account of ``names`` probed so
    far in order, each as the task returns it for that account alone, combined.

    Probing stops at a run whose connection dropped: each account after it gets an ``unreachable`` entry saying it
    was not probed, and the whole result is ``unreachable`` (a missing result is never a success). Otherwise a failed
    account makes the result ``failed``, each failed account's message named.
    """
    if not names:
        return {"changed": False, "skipped": True, "skip_reason": "accounts is empty: no account to probe as",
                "accounts": [], "round_trips": 0, "all_reachable": False}
    entries = [dict(run) for run in runs]
    for name, entry in zip(names, entries, strict=False):  # the runs stop at a dropped connection
        entry.setdefault("account", name)
    dropped = next((e for e in entries if e.get("unreachable")), None)
    for name in names[len(entries):]:
        entries.append({"account": name, "changed": False, "unreachable": True, "round_trips": 0,
                        "msg": "not probed: the connection dropped while probing %s" % dropped["account"]})
    out = {
        "changed": False,
        "accounts": entries,
        "round_trips": sum(int(e.get("round_trips") or 0) for e in entries),
        "all_reachable": all(e.get("all_reachable") is True and not e.get("failed") and not e.get("unreachable")
                             for e in entries),
    }
    failed = [e for e in entries if e.get("failed")]
    if dropped is not None:
        out.update(unreachable=True, msg="the connection dropped while probing %s: %s"
                   % (dropped["account"], dropped.get("msg") or "no message"))
    elif failed:
        out.update(failed=True, msg="; ".join("%s: %s" % (e["account"], e.get("msg") or "failed") for e in failed))
    return out

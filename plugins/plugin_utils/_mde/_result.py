# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Defender for Endpoint part did, as one typed value (:class:`MdeResult`): the plan of the Defender for
Endpoint and Defender Antivirus values (:class:`_plan.Plan`; none for the .NET TLS values alone), the machine-wide
values that joined the same change (the .NET TLS opt-in, as :class:`_wininet._registry_change.Pending`), whether the
run only predicted, and what the change did (the backup, what was written and verified).

Its fields are the documented RETURN of ``win_mde_proxy`` and the ``mde`` of ``atp_proxy_job``. The values stay
:class:`Pending` items with their bytes until :meth:`MdeResult.to_result` makes the flat fields (``settings``,
``actions``, ``diff``, ``backups`` as hex) at the edge, for the action or the job that returns them.

Pure Python, no Ansible imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _registry_change as apply

# What the change answers (``_registry_change.Change.run`` and its details): the fields a result takes from it.
_DONE = ("changed", "backup_file", "applied_file", "written", "pruned", "backup_dir_secured", "verified")


@dataclass
class MdeResult:
    """The Defender for Endpoint part of a run (or the .NET TLS values alone, when ``plan`` is None).

    ``predicted``: check mode or a read-only run (the sentences say "would set"). ``winhttp_copied_from`` is None when
    the result has no such field (the TLS values alone). ``backup_dir_secured`` and ``verified`` are None until the
    change gets there (the result then leaves them out).
    """

    plan: object = None  # _plan.Plan, or None for the .NET TLS values alone
    extra: list = field(default_factory=list)  # Pending: the machine-wide values joining the same change
    predicted: bool = False
    changed: bool = False
    winhttp_copied_from: str | None = None
    warnings: list = field(default_factory=list)
    backup_file: str = ""
    applied_file: str = ""
    written: list = field(default_factory=list)
    pruned: list = field(default_factory=list)
    backup_dir_secured: bool | None = None
    verified: bool | None = None

    @property
    def items(self) -> list:
        """Every value the change writes (or would): the plan's, then the joining ones."""
        return (list(self.plan.items) if self.plan is not None else []) + list(self.extra)

    @property
    def changed_settings(self) -> list:
        return (list(self.plan.changed_settings) if self.plan is not None else []) + \
            [i.label or i.name for i in self.extra]

    def done(self, answer: dict) -> None:
        """Take what the change answered (its details: the backup, what was written, verified)."""
        for name in _DONE:
            if name in answer:
                setattr(self, name, answer[name])

    def to_result(self) -> dict:
        """The flat result fields (the documented RETURN): the settings and sentences, decoded diffs, the values as
        hex in ``backups``."""
        planned = self.plan
        out = {"changed": self.changed, "backup_file": self.backup_file, "applied_file": self.applied_file,
               "written": list(self.written), "pruned": list(self.pruned)}
        if self.winhttp_copied_from is not None:
            out["winhttp_copied_from"] = self.winhttp_copied_from
        out.update({
            "settings": [s.to_result() for s in planned.settings] if planned is not None else [],
            "changed_settings": self.changed_settings,
            "actions": (planned.actions(self.predicted) if planned is not None else []) + [
                apply.sentence(i, self.predicted) for i in self.extra],
            "diff": (planned.diff() if planned is not None else []) + [apply.diff_for(i) for i in self.extra],
            "backups": [i.to_result() for i in self.items],
            "warnings": list(self.warnings),
        })
        for name in ("backup_dir_secured", "verified"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

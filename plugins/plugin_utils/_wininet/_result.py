# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the WinINet write path did, as one typed value (:class:`WininetResult`): the accounts compared, the values
planned as :class:`_wininet._registry_change.Pending` (their bytes as written, or as they would be), the backup and
what was written and verified; or, when the run did not take the WinINet path, that it did not run and why
(:meth:`WininetResult.not_run`).

Its fields are the documented RETURN of ``win_wininet_proxy`` and of ``atp_proxy_job`` (``changed_sids``,
``backup_file``, ``written``, ``targets``, ...: "returned: success"), so their defaults are stated here once and a
run that did not write still returns every one of them. The bytes stay bytes in :attr:`WininetResult.items`;
:meth:`WininetResult.to_result` makes the flat result fields (hex, decoded diffs) at the edge, for the action that
returns them."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _registry_change as apply

# The fields a run may or may not reach (None: the run did not get there, and the result does not have the key).
_WHEN_REACHED = ("verified", "backup_dir_secured", "hive_loaded_before", "warnings", "restored_from",
                 "trusted_because", "nothing_to_restore", "restore_skipped", "restore_not_targeted", "restore_note",
                 "msg")


@dataclass
class WininetResult:
    """The WinINet part of a run: ``win_wininet_proxy``'s result, and the ``atp_proxy_job`` fields of that part.

    ``not_run`` is ``""`` when the part ran, else why it did not (the job's method is another one: the result then
    says ``wininet_skipped`` and every other field keeps its default: nothing compared, nothing written, in sync).
    ``planned``: the run got to planning the values (compared, and either something to write or a drift report),
    so that the result has a ``diff`` (possibly empty), as ``--diff`` shows it.
    """

    changed: bool = False
    changed_sids: list = field(default_factory=list)
    backup_file: str = ""
    applied_file: str = ""
    written: list = field(default_factory=list)
    hives_loaded: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    pruned: list = field(default_factory=list)
    source: dict = field(default_factory=dict)
    targets: list = field(default_factory=list)
    in_sync: bool = True
    needs_write: list = field(default_factory=list)
    hive_not_loaded: list = field(default_factory=list)
    items: list = field(default_factory=list)  # the planned values, as Pending (bytes); ``backups`` and ``diff``
    planned: bool = False
    not_run: str = ""
    # Reached or not (None: not reached, the key is left out of the result).
    verified: bool | None = None
    backup_dir_secured: bool | None = None
    hive_loaded_before: bool | None = None
    warnings: list | None = None
    restored_from: str | None = None
    trusted_because: str | None = None
    nothing_to_restore: bool | None = None
    restore_skipped: list | None = None
    restore_not_targeted: list | None = None
    restore_note: str | None = None
    msg: str | None = None

    @classmethod
    def skipped(cls, why: str) -> WininetResult:
        """The part did not run (another method was chosen): why, and the defaults (nothing done, in sync)."""
        return cls(not_run=why)

    def set(self, values: dict) -> None:
        """Take the fields of a step's answer (:func:`_wininet._compare.summarize`, a restore's choice, the
        change's record). Unknown names are a bug of the caller: they would be lost."""
        known = {f.name for f in fields(self)}
        for name, value in values.items():
            if name == "backups":  # made from ``items`` at the edge (the same list, hex)
                continue
            if name not in known:
                raise KeyError("WininetResult has no field %r" % name)
            setattr(self, name, value)

    def to_result(self) -> dict:
        """The flat result fields (the documented RETURN): the bytes of :attr:`items` as hex and decoded diffs."""
        out = {"changed": self.changed, "changed_sids": list(self.changed_sids), "backup_file": self.backup_file,
               "applied_file": self.applied_file, "backups": [i.to_result() for i in self.items],
               "written": list(self.written), "hives_loaded": list(self.hives_loaded), "actions": list(self.actions),
               "pruned": list(self.pruned), "source": self.source, "targets": self.targets, "in_sync": self.in_sync,
               "needs_write": list(self.needs_write), "hive_not_loaded": list(self.hive_not_loaded)}
        if self.not_run:
            out["wininet_skipped"] = self.not_run
        if self.planned:
            out["diff"] = self.diffs()
        for name in _WHEN_REACHED:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def diffs(self) -> list:
        """``--diff`` of the planned values, decoded (empty when the part did not plan)."""
        return [apply.diff_for(i) for i in self.items] if self.planned else []

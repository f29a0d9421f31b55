# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the sensor_config method did, as one typed value (:class:`SensorResult`): the plan of the file's proxy
member (:class:`_sensor._config_plan.Plan`, or :class:`_sensor._file_backup.RestorePlan` for a restore, with the new
file's bytes), the sentences, and what the change did (the backup, what was written, the restarts and their watch).

Its fields are the documented RETURN of ``win_mdi_sensor_proxy`` and the ``sensor_config`` of ``atp_proxy_job``.
The plan stays a plan until :meth:`SensorResult.to_result` makes the flat fields (``proxy``, the decoded ``diff``)
at the edge, for the action or the job that returns them. The password is in none of them.

Pure Python, no Ansible imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sensor_config

# What the file change answers (_sensor._file_change.SensorChange.details): the fields a result takes from it.
_DONE = ("changed", "verified", "backup_file", "written", "restarted", "pruned", "backup_dir_secured", "config_path",
         "watch", "services")
# Fields a run may or may not reach (None: not reached, and the result leaves the key out).
_WHEN_REACHED = ("pending", "restored_from", "trusted_because", "restart_needed", "pruned", "backup_dir_secured",
                 "watch")


def _diff_text(path: str, proxy: dict) -> str:
    lines = ["# %s: %s" % (path, sensor_config.PROXY_KEY),
             "state: %s" % proxy.get("state"),
             "url: %s" % (proxy.get("url") or ""),
             "username: %s" % (proxy.get("username") or ""),
             "password: %s" % ("set (encrypted, certificate %s)" % proxy.get("certificate_thumbprint")
                               if proxy.get("password_set") else "none")]
    return "\n".join(lines) + "\n"


def diff_for(path: str, before: dict, after: dict) -> dict:
    """What ``--diff`` shows: the proxy member before and after, decoded; never the encrypted bytes."""
    return {"before_header": path, "after_header": path, "before": _diff_text(path, before),
            "after": _diff_text(path, after)}


@dataclass
class SensorResult:
    """The sensor_config part of a run on the file ``config_path``.

    ``plan`` is None until the run has planned (a restore that found no backup never does). ``pending``: set by a
    read-only run (a drift report), which says what differs there and leaves ``changed`` false.
    """

    config_path: str = ""
    plan: object = None  # _config_plan.Plan or _file_backup.RestorePlan
    changed: bool = False
    actions: list = field(default_factory=list)
    msg: str = ""
    warnings: list = field(default_factory=list)
    services: dict = field(default_factory=dict)
    backup_file: str = ""
    restarted: list = field(default_factory=list)
    verified: bool = False
    written: list = field(default_factory=list)
    # Reached or not (None: not reached, the key is left out of the result).
    pending: bool | None = None
    restored_from: str | None = None
    trusted_because: str | None = None
    restart_needed: list | None = None
    pruned: list | None = None
    backup_dir_secured: bool | None = None
    watch: dict | None = None

    @property
    def proxy_after(self) -> dict | None:
        """The proxy member the file holds after the change (as planned), or None before a plan."""
        return self.plan.after if self.plan is not None else None

    def done(self, answer: dict) -> None:
        """Take what the file change answered (its details: the backup, what was written, the restarts)."""
        for name in _DONE:
            if name in answer:
                setattr(self, name, answer[name])

    def to_result(self) -> dict:
        """The flat result fields (the documented RETURN), with the plan as ``proxy`` and a decoded ``diff``."""
        planned = self.plan
        out = {"changed": self.changed, "actions": list(self.actions), "msg": self.msg,
               "backup_file": self.backup_file, "restarted": list(self.restarted), "verified": self.verified,
               "written": list(self.written), "config_path": self.config_path,
               "diff": diff_for(self.config_path, planned.before, planned.after)
               if planned is not None and planned.changed else {},
               "services": self.services, "warnings": list(self.warnings),
               "proxy": planned.to_result() if planned is not None else {}}
        for name in _WHEN_REACHED:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

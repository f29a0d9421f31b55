# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.win_wininet_proxy: back up, copy, verify."""

from __future__ import annotations

import datetime
import traceback

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _apply as apply
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _registry as registry

ARGUMENT_SPEC = dict(
    registry.SOURCE_ARGUMENT_SPEC,
    backup_dir={"type": "str", "default": apply.DEFAULT_BACKUP_DIR},
    exact={"type": "bool", "default": False},
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}

        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        execute = registry.CountingExecutor(self._execute_module, task_vars)
        try:
            result.update(self._apply(execute, args, task_vars))
        except registry.UsageError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
        except registry.RemoteError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
        except apply.ApplyError as exc:
            result.update(exc.details)
            result.update(failed=True, changed=False, msg=str(exc))
        except AnsibleConnectionFailure:
            raise
        except Exception as exc:  # never a bare traceback for the user
            result.update(failed=True, changed=False, msg="unexpected error applying WinINet settings: %s" % exc,
                          exception=traceback.format_exc())
        result["round_trips"] = len(execute.calls)
        result["check_mode"] = bool(self._task.check_mode)
        return result

    def _apply(self, execute, args: dict, task_vars: dict) -> dict:
        found = registry.compare_all(execute, args)
        result = dict(found, changed=False, backup_file="", backups=[], changed_sids=[])
        if found["hive_not_loaded"]:
            sids = ", ".join("HKU\\%s (%s)" % (sid, registry.account_name(sid)) for sid in found["hive_not_loaded"])
            raise registry.UsageError(
                "the hive %s is not loaded on the host, so its proxy cannot be set; nothing was written. "
                "It is loaded while a service runs as that account; or load it from its profile "
                "(the atp_proxy role does so with atp_proxy_load_hive=true)" % sids)
        items = apply.pending_writes(found["targets"], args["exact"])
        if not items:
            return result

        result.update(
            changed=True,
            changed_sids=list(dict.fromkeys(item.sid for item in items)),
            backups=[item.to_result() for item in items],
            diff=[apply.diff_for(item) for item in items],
        )
        if self._task.check_mode:
            return result

        stamp = datetime.datetime.now(datetime.timezone.utc)
        backup_file = "%s\\%s%s.reg" % (args["backup_dir"].rstrip("\\"), apply.BACKUP_PREFIX,
                                        stamp.strftime("%Y%m%dT%H%M%S%fZ"))
        comment = "atp.sensor_proxy backup of %s, %s UTC.\nRestore with: reg import \"%s\"" % (
            task_vars.get("inventory_hostname", "host"), stamp.strftime("%Y-%m-%d %H:%M:%S"), backup_file)
        registry.call(execute, "ansible.windows.win_file", {"path": args["backup_dir"], "state": "directory"})
        copied = self._write_file(backup_file, apply.backup_content(items, comment), task_vars)
        execute.calls.extend(["ansible.windows.win_copy"] * 2)  # its query and single-file executions
        if copied.get("failed"):
            raise apply.ApplyError("writing the backup %s failed: %s. Nothing was written to the registry."
                                   % (backup_file, copied.get("msg")))
        result["backup_file"] = backup_file
        try:
            apply.write_and_verify(execute, items, backup_file)
        except apply.ApplyError as exc:
            exc.details.update(backup_file=backup_file, backups=result["backups"], diff=result["diff"])
            raise
        result["verified"] = True
        return result

    def _write_file(self, dest: str, content: str, task_vars: dict) -> dict:
        """Write a text file on the host with the real ansible.windows.win_copy action (as template does)."""
        task = self._task.copy()
        task.args = {"content": content, "dest": dest}
        action = self._shared_loader_obj.action_loader.get(
            "ansible.windows.win_copy", task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        return action.run(task_vars=task_vars)

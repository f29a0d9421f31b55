# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.win_wininet_proxy: the whole write path (and restore), in one task.

Glue only: the logic is in plugin_utils/_configure.py (order of steps), _apply.py (backup, one
reg import, verify, roll back, prune), _backup.py (folder security, manifest) and _restore.py.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from ansible.errors import AnsibleConnectionFailure

from ansible_collections.atp.sensor_proxy.plugins.modules.win_wininet_proxy import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _configure as configure
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._errors import Disconnected


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    # The win_copy action makes (and removes) its own temporary folder only when a backup is written, so a
    # converged host costs no temporary-folder round trips.
    TRANSFERS_FILES = False
    WHAT = "applying WinINet settings"

    def act(self, args, execute, task_vars):
        host = task_vars.get("inventory_hostname", "host")
        return configure.run(execute, lambda files, dest: self._upload(files, dest, task_vars, execute),
                             args, self.check_mode, host=host)

    def _upload(self, files: dict, dest: str, task_vars: dict, execute) -> dict:
        """Write ``files`` into the folder ``dest`` on the host with the real ansible.windows.win_copy action.

        Several files go as one zip (win_copy's query, temporary folder, transfer, explode, clean-up:
        5 WinRM commands, counted in ``round_trips``).
        """
        local = tempfile.mkdtemp(prefix="atp-proxy-backup-")
        try:
            for name, data in files.items():
                with open(os.path.join(local, name), "wb") as handle:
                    handle.write(data)
            task = self._task.copy()
            task.args = {"src": local + os.sep, "dest": dest.rstrip("\\") + "\\"}
            action = self._shared_loader_obj.action_loader.get(
                "ansible.windows.win_copy", task=task, connection=self._connection, play_context=self._play_context,
                loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
            try:
                return action.run(task_vars=task_vars)
            except AnsibleConnectionFailure as exc:
                raise Disconnected(str(exc)) from exc
            finally:
                execute.count("ansible.windows.win_copy", 5)
        finally:
            shutil.rmtree(local, ignore_errors=True)

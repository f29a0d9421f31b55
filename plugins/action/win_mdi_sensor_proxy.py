# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.win_mdi_sensor_proxy: the sensor's own proxy (SensorConfiguration.json),
backed up, written, read back, the updater restarted and checked, rolled back on failure.

Glue only: the discovery is plugin_utils/_sensor.py (one state query, which also reads the backup manifest,
and the file), the plan _sensor_config.py, the change, restart and rollback _sensor_apply.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleConnectionFailure

from ansible_collections.atp.sensor_proxy.plugins.action.win_wininet_proxy import ActionModule as _WinInetAction
from ansible_collections.atp.sensor_proxy.plugins.modules.win_mdi_sensor_proxy import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _sensor as sensor
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _sensor_apply as sensor_apply
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _sensor_config as sensor_config
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._errors import Disconnected


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    NO_LOG = ("password",)
    # The win_copy action makes (and removes) its own temporary folder only when a backup is written.
    TRANSFERS_FILES = False
    WHAT = "setting the Defender for Identity sensor's proxy"
    # The same upload as the WinINet write path: the backup folder's files in one win_copy (5 WinRM commands).
    _upload = _WinInetAction._upload

    def act(self, args, execute, task_vars):
        host = task_vars.get("inventory_hostname", "host")
        names = {option: args["name_prefix"] + option for option in sensor_apply.ROLE_NAMES}
        # Bad input fails here, before any remote call.
        sensor_config.validate(sensor_config.ProxyRequest(args["state"], args["url"], args["username"],
                                                          args["password"], args["password_update"]), names)
        reads = sensor.discovery_reads(readiness=False)
        snapshot = remote.read_state(execute, reads["keys"] + [backup.MANIFEST_PATH], reads["processes"],
                                     reads["services"], reads["root_certificates"])
        discovery = sensor.discover(execute, snapshot, readiness=False)
        return sensor_apply.run(
            execute, lambda files, dest: self._upload(files, dest, task_vars, execute),
            lambda src, dest: self._remote_copy(src, dest, task_vars, execute), discovery, args, self.check_mode,
            host=host, name=names)

    def _remote_copy(self, src: str, dest: str, task_vars: dict, execute) -> dict:
        """Copy a file on the host with the real ansible.windows.win_copy action and ``remote_src: true``.

        The action runs the module once in its ``remote`` mode (win_copy.py lines 387-401, win_copy.ps1
        lines 363-425); nothing crosses the wire but the two paths (1 WinRM command, counted in ``round_trips``).
        """
        task = self._task.copy()
        task.args = {"src": src, "dest": dest, "remote_src": True}
        action = self._shared_loader_obj.action_loader.get(
            "ansible.windows.win_copy", task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        try:
            return action.run(task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            raise Disconnected(str(exc)) from exc
        finally:
            execute.count("ansible.windows.win_copy", 1)

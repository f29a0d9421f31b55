# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.win_mdi_sensor_proxy: the sensor's own proxy (SensorConfiguration.json),
backed up, written, read back, the updater restarted and checked, rolled back on failure.

Glue only: it maps its arguments and binds the remote access, then calls the one entry point
plugins/plugin_utils/_sensor/_change.py ``set_proxy`` (the options checked, the discovery, the plan, the change).
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.modules.win_mdi_sensor_proxy import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _change as sensor_change


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    NO_LOG = ("password",)
    # No file is transferred: the backups travel in the arguments of one win_powershell run (_host/_file_write.py), and
    # the win_copy remote_src copy of the sensor's file runs the module once; no temporary folder is made.
    TRANSFERS_FILES = False
    WHAT = "setting the Defender for Identity sensor's proxy"

    def act(self, args, execute, task_vars):
        names = {option: args["name_prefix"] + option for option in sensor_change.ROLE_NAMES}
        return sensor_change.set_proxy(execute, self.uploader(execute), self.remote_copier(task_vars, execute), args,
                                       self.check_mode, host=task_vars.get("inventory_hostname", "host"),
                                       name=names).to_result()

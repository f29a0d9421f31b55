# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.win_mdi_sensor_proxy: the sensor's own proxy (SensorConfiguration.json),
backed up, written, read back, the updater restarted and checked, rolled back on failure.

Glue only: the discovery is plugin_utils/_sensor/_discovery.py (one state query, which also reads the backup manifest,
and the file), the plan _sensor/_config_file.py, the change, restart and rollback _sensor/_change.py.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.modules.win_mdi_sensor_proxy import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _change as sensor_apply
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_plan as config_plan
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as sensor


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    NO_LOG = ("password",)
    # No file is transferred: the backups travel in the arguments of one win_powershell run (_host/_file_write.py), and
    # the win_copy remote_src copy of the sensor's file runs the module once; no temporary folder is made.
    TRANSFERS_FILES = False
    WHAT = "setting the Defender for Identity sensor's proxy"

    def act(self, args, execute, task_vars):
        host = task_vars.get("inventory_hostname", "host")
        names = {option: args["name_prefix"] + option for option in sensor_apply.ROLE_NAMES}
        # Bad input fails here, before any remote call.
        config_plan.validate(config_plan.ProxyRequest(args["state"], args["url"], args["username"],
                                                          args["password"], args["password_update"]), names)
        reads = sensor.discovery_reads(readiness=False)
        snapshot = remote.read_state(execute, reads["keys"] + [backup.MANIFEST_PATH], reads["processes"],
                                     reads["services"], reads["root_certificates"])
        discovery = sensor.discover(execute, snapshot, readiness=False)
        return sensor_apply.run(
            execute, self.uploader(execute), self.remote_copier(task_vars, execute), discovery, args,
            self.check_mode,
            host=host, name=names)

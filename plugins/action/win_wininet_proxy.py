# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.win_wininet_proxy: the whole write path (and restore), in one task.

Glue only: the logic is in plugin_utils/_wininet/_write.py (order of steps), _wininet/_registry_change.py (backup, one
reg import, verify, roll back, prune), _host/_backup.py (folder security, manifest) and _wininet/_restore.py.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.modules.win_wininet_proxy import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _write as configure


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    # No file is transferred: the backups travel in the arguments of one win_powershell run (_host/_file_write.py),
    # so no task costs a temporary-folder round trip.
    TRANSFERS_FILES = False
    WHAT = "applying WinINet settings"

    def act(self, args, execute, task_vars):
        host = task_vars.get("inventory_hostname", "host")
        return configure.run(execute, self.uploader(execute), args, self.check_mode, host=host)

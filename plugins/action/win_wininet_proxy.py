# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.win_wininet_proxy: the whole write path (and restore), in one task.

Glue only: the logic is in plugin_utils/_configure.py (order of steps), _apply.py (backup, one
reg import, verify, roll back, prune), _backup.py (folder security, manifest) and _restore.py.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.modules.win_wininet_proxy import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _configure as configure
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    # No file is transferred: the backups travel in the arguments of one win_powershell run (_file_write.py),
    # so no task costs a temporary-folder round trip.
    TRANSFERS_FILES = False
    WHAT = "applying WinINet settings"

    def act(self, args, execute, task_vars):
        host = task_vars.get("inventory_hostname", "host")
        return configure.run(execute, self.uploader(execute), args, self.check_mode, host=host)

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.win_wininet_proxy_compare (read-only)."""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.modules.win_wininet_proxy_compare import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _compare as compare


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    WHAT = "comparing WinINet settings"

    def act(self, args, execute, task_vars):
        dummy, result = compare.compare_all(execute, args)
        return result

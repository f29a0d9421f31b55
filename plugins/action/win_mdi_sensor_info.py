# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.win_mdi_sensor_info (read-only)."""

from __future__ import annotations

import codecs

from ansible_collections.atp.sensor_proxy.plugins.modules.win_mdi_sensor_info import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as sensor


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    WHAT = "discovering the Defender for Identity sensor"

    def act(self, args, execute, task_vars):
        try:
            codecs.lookup(args["ansi_encoding"])
        except LookupError:
            raise UsageError("ansi_encoding: %r is not a Python codec name such as cp1252" % args["ansi_encoding"]) from None
        result = dict(sensor.discover(execute, readiness=args["readiness"], dotnet_versions=tuple(args["dotnet_versions"]),
                                      ansi_codec=args["ansi_encoding"]))
        if result["sensor_warnings"]:
            result["warnings"] = list(result["sensor_warnings"])
        return result

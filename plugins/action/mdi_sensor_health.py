# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.mdi_sensor_health (controller only, read-only, check mode: full).

Glue only: it maps the task's arguments and the play's hosts and calls :func:`_cloud._health_check.sensor_health`,
where the Graph read lives (identity, credential, client, matching and verdicts).
"""

from __future__ import annotations

import os

from ansible_collections.atp.sensor_proxy.plugins.modules.mdi_sensor_health import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _health_check as health_check
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _sensor_health as health


def _host_names(task_vars: dict, host: str) -> list:
    """The inventory name, then ``ansible_host`` and ``ansible_fqdn`` when the inventory has them."""
    others = []
    try:
        variables = (task_vars.get("hostvars") or {}).get(host)
        if variables is not None:
            others = [variables.get("ansible_host"), variables.get("ansible_fqdn")]
    except Exception:  # an undefined or broken template in another host's variables: use the name alone
        others = []
    return health.host_names(host, *[o for o in others if isinstance(o, str)])


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    NO_LOG = ("client_secret", "certificate_password", "proxy_password")
    WHAT = "reading the sensors' health from Microsoft Graph"
    _requires_connection = False

    def act(self, args, execute, task_vars):
        hosts = [str(h) for h in (args["hosts"] if args["hosts"] is not None else
                                  task_vars.get("ansible_play_batch") or [task_vars.get("inventory_hostname")])]
        names = {host: _host_names(task_vars, host) for host in dict.fromkeys(hosts) if host}
        return health_check.sensor_health(args, os.environ, names)

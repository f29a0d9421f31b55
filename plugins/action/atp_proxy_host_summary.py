# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.atp_proxy_host_summary (controller only). The rules are in _fleet/_summary.py
(the job's summary reused, the probe's results added), how a host ends in _fleet/_status.py."""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.modules.atp_proxy_host_summary import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _status as st
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _summary as summary


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    WHAT = "summarizing the host"
    _requires_connection = False

    def act(self, args, execute, task_vars):
        host = task_vars.get("inventory_hostname", "host")
        if args.get("summary"):
            recorded = dict(args["summary"])
        elif (args["proxy"] or {}).get("summary_options"):  # the role's job: it says how to summarize
            recorded = summary.from_results(host, args["proxy"], args["probes"])
        else:
            recorded = summary.host_summary(host, mode=args["mode"], check_mode=self.check_mode,
                                            proxy=args["proxy"], probes=args["probes"], mde=args["mde"],
                                            error=args["error"], fail_on_unreachable=args["fail_on_unreachable"],
                                            fail_on_drift=args["fail_on_drift"])
        result = {"summary": recorded, "msg": recorded.get("line", ""), "changed": False,
                  "ansible_facts": {"atp_proxy_summary": recorded}}
        ending = st.outcome(recorded) if args["fail"] else {}
        if ending:
            # A failed task's facts are not kept, and its result is printed whole: the one line says it all.
            return dict(ending, changed=False)
        return result

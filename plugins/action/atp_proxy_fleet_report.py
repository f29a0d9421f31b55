# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.atp_proxy_fleet_report (controller only; writes local files, in check
mode too). The report is built in _fleet/_view.py, rendered in _fleet/_render.py, written in _fleet/_files.py."""

from __future__ import annotations

import datetime

from ansible_collections.atp.sensor_proxy.plugins.modules.atp_proxy_fleet_report import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._plain import plain
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _files as report_files


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    WHAT = "writing the fleet report"
    _requires_connection = False

    def act(self, args, execute, task_vars):
        generated = args.get("generated") or datetime.datetime.now(datetime.timezone.utc).strftime(  # noqa: UP017
            "%Y-%m-%d %H:%M:%S UTC")
        gathered = report_files.gather(plain(args["rows"]), plain(args["slices"]), args["files"])
        result = report_files.publish(gathered["rows"], args.get("dest") or "", title=args["title"],
                                      generated=generated, sources=gathered["sources"])
        result.update(sources=gathered["sources"], duplicates=gathered["duplicates"], changed=False,
                      msg="%d host(s)%s" % (result["hosts"], " written to %s" % args["dest"] if args.get("dest")
                                            else ""))
        return result

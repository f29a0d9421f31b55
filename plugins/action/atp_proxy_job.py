# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.atp_proxy_job: the role's job on one host. Glue only: the variable check is
_job/_variables.py, the run _job/_job.py (one state query, then each part's own module), what the probe takes from
the result _job/_probe_plan.py, the summary _fleet/_summary.py."""

from __future__ import annotations

import os

from ansible.utils.display import Display

from ansible_collections.atp.sensor_proxy.plugins.modules.atp_proxy_job import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._plain import plain
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _summary as summary
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _job as job
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _probe_plan as probe_plan
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _variables as validate

_display = Display()
# Parsed on import: ansible-core imports this plugin in the controller's main process before it forks a worker per host
# (see AtpAction.__init_subclass__), so the workers inherit the role's argument spec instead of each reading the YAML.
validate.role_spec()


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    # No file is transferred: the backups travel in the arguments of one win_powershell run (_host/_file_write.py), and
    # the win_copy remote_src copy of the sensor's file runs the module once; no temporary folder is made.
    TRANSFERS_FILES = False
    WHAT = "running the atp_proxy job"

    def usage_failure(self, exc, secrets=()):
        """Bad input (a role variable, a backup the host cannot give): the job task itself fails, with one message.
        ``bad_input`` is what the role's ``failed_when`` looks at; without ``error`` the message is not printed
        twice more (the summary reads ``msg``)."""
        out = super().usage_failure(exc, secrets)
        del out["error"]
        return dict(out, bad_input=True)

    def role_variables(self, task_vars: dict) -> dict:
        """Every atp_proxy_* variable the host sees, templated (role defaults, inventory, play and extra vars), as
        plain Python values: ansible-core 2.19+ tags each value with its origin, and the variable check's validator
        deep-copies what it is given (a tagged value copies slowly: that copy was a quarter of the job's worker)."""
        names = [n for n in task_vars if n.startswith(validate.PREFIX)]
        return plain({n: self._templar.template(task_vars[n]) for n in names})  # the names are tagged too

    def act(self, args, execute, task_vars):
        host = task_vars.get("inventory_hostname", "host")
        # os.environ: the cloud's verdict may take its credential from the AWX credential type's ATP_GRAPH_*
        problems, warnings, checked = validate.check_role_variables(self.role_variables(task_vars), os.environ)
        for warning in warnings:
            _display.warning(warning)
        if problems:
            raise UsageError("Invalid role variables, nothing was changed: %s" % "; ".join(problems))
        result = job.run(execute, self.uploader(execute), self.remote_copier(task_vars, execute),
                         checked, self.check_mode, host=host)
        probe, probe_warnings = probe_plan.plan(result, checked)
        for warning in probe_warnings:
            _display.warning(warning)
        result["summary_options"] = {"mode": checked.get("atp_proxy_mode") or "configure", "probe": probe["run"],
                                     "fail_on_unreachable": bool(checked.get("atp_proxy_fail_on_unreachable")),
                                     "fail_on_drift": bool(checked.get("atp_proxy_fail_on_drift"))}
        result["probe"] = probe
        for warning in result.pop("warnings", []):
            _display.warning(warning)
        result["summary"] = summary.from_results(host, dict(result, check_mode=self.check_mode))
        return result

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.atp_proxy_job: the role's job on one host. Glue only: the variable check is
_validate.py, the WinINet path _configure.py (the same as win_wininet_proxy's), the summary _summary.py."""

from __future__ import annotations

from ansible.utils.display import Display

from ansible_collections.atp.sensor_proxy.plugins.action.win_wininet_proxy import ActionModule as WinInetProxy
from ansible_collections.atp.sensor_proxy.plugins.modules.atp_proxy_job import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _compare as compare
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _configure as configure
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _summary as summary
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _validate as validate
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._errors import UsageError

PREFIX = "atp_proxy_"
_display = Display()


class ActionModule(WinInetProxy):
    DOCUMENTATION = DOCUMENTATION
    WHAT = "running the atp_proxy job"

    def role_variables(self, task_vars: dict) -> dict:
        """Every atp_proxy_* variable the host sees, templated (role defaults, inventory, play and extra vars)."""
        names = [n for n in task_vars if n.startswith(PREFIX)]
        return {n: self._templar.template(task_vars[n]) for n in names}

    def act(self, args, execute, task_vars):
        host = task_vars.get("inventory_hostname", "host")
        values = self.role_variables(task_vars)
        problems, warnings, checked = validate.check_role_variables(values)
        for warning in warnings:
            _display.warning(warning)
        probe = validate.probe_plan(checked) if not problems else {"run": False}
        for warning in probe.pop("warnings", []):
            _display.warning(warning)
        options = {"mode": checked.get("atp_proxy_mode") or "configure",
                   "probe": probe["run"],
                   "fail_on_unreachable": bool(checked.get("atp_proxy_fail_on_unreachable")),
                   "fail_on_drift": bool(checked.get("atp_proxy_fail_on_drift"))}
        if problems:
            raise UsageError("Invalid role variables, nothing was changed: %s" % "; ".join(problems))
        wininet = {option: checked.get(PREFIX + option) for option in (
            "source", "targets", "value_names", "load_hive", "backup_dir", "backup_keep")}
        wininet.update(read_only=options["mode"] == "check", name_prefix=PREFIX, exact=False)
        # Only the variable of the chosen source is passed on (the others keep their role defaults, '' or {}).
        option = compare.SOURCE_OPTION.get(wininet["source"])
        if option and checked.get(PREFIX + option) not in ("", {}, None):
            wininet[option] = checked[PREFIX + option]
        result = configure.run(execute, lambda files, dest: self._upload(files, dest, task_vars, execute), wininet,
                               self.check_mode, host=host)
        result["summary_options"] = options
        result["probe"] = probe
        result["summary"] = summary.from_results(host, dict(result, check_mode=self.check_mode))
        return result

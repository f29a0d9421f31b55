# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.atp_endpoint_probe (read-only, check mode: full).

Glue only: it expands the task's ``plan`` (:func:`_probe._plan.arguments`), maps the task's arguments and play context
and calls :func:`_probe._run.probe_endpoints`, where the probe lives (the catalogue, both sides' probes, the issuer
check, the result and the reports).
"""

from __future__ import annotations

import getpass
import os

from ansible import constants as C

from ansible_collections.atp.sensor_proxy.plugins.modules.atp_endpoint_probe import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _plan as plan
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _result as probe_result
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _run as probe

# Inside ansible-core's per-run local temporary directory: created by the controller process before it forks its
# workers, removed when the run ends, so the target-mode issuer check runs once per proxy and destination per run.
ISSUER_CACHE = "atp_sensor_proxy_issuers"


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    NO_LOG = ("proxy_password",)
    WHAT = "probing the endpoints"

    def _account(self, via: str) -> str:
        if via == "controller":
            return getpass.getuser()
        if self._play_context.become and self._play_context.become_user:
            return self._play_context.become_user
        return self._play_context.remote_user or ""

    def arguments(self, given):
        # The plan's expected_proxies name the account by SID: the probed account is the become user (via=target).
        return plan.arguments(given, self.argument_spec(), self._account(given.get("via") or "target"))

    def run(self, tmp=None, task_vars=None):
        """With ``accounts``: the probe once per account, the become user set to each in turn (what a loop over
        ``become_user`` does for each item: the same connection, its become plugin's ``become_user`` set again), one
        task and one result for all; :func:`_probe._result.accounts_result` combines them."""
        accounts = plan.accounts(self._task.args)  # the task's, else its plan's
        if accounts is None:
            return super().run(tmp, task_vars)
        try:
            names = probe.check_accounts(accounts, self._task.args.get("via") or "target",
                                         become=self._connection.become is not None)
        except UsageError as exc:
            return dict(self.usage_failure(exc, redaction.secrets_in(self._task.args, self.NO_LOG)), round_trips=0,
                        check_mode=self.check_mode)
        given = dict(self._task.args, accounts=None)  # None wins over the plan's: each run is one account's
        runs = []
        for name in names:
            # The PowerShell exec wrapper is built for each module run from the become plugin's become_user
            # (ansible-core 2.19 plugins/become/runas.py _build_powershell_wrapper_action; 2.16-2.18
            # plugins/action/__init__.py _configure_module, become_kwargs), so each run is this account's.
            self._connection.become.set_option("become_user", name)
            self._play_context.become_user = name  # what _account() and ansible-core 2.16's fallback read
            self._task.args = dict(given)
            # A dropped connection is an unreachable result here (AtpAction.run), which ends the probing.
            runs.append(super().run(tmp, task_vars))
            if runs[-1].get("unreachable"):
                break
        return dict(probe_result.accounts_result(names, runs), check_mode=self.check_mode)

    def act(self, args, execute, task_vars):
        return probe.probe_endpoints(
            args, execute, account=self._account(args["via"]), become=bool(self._play_context.become),
            become_user=self._play_context.become_user, host=task_vars.get("inventory_hostname") or "localhost",
            issuer_cache=os.path.join(C.DEFAULT_LOCAL_TMP, ISSUER_CACHE)).to_result()

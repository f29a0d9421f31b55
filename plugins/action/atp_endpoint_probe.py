# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.atp_endpoint_probe (read-only, check mode: full).

Glue only: the catalogue is in ``plugin_utils/_endpoints.py``, classification, the concurrent
controller prober and the report writers in ``plugin_utils/_probe.py``.
"""

from __future__ import annotations

import getpass
import time
import traceback

import yaml
from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

from ansible_collections.atp.sensor_proxy.plugins.modules.atp_endpoint_probe import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _endpoints as endpoints_mod
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _probe as probe

CONTROLLER_ONLY = ("ca_path", "proxy", "proxy_username", "proxy_password")
TARGET_ONLY = ("expected_proxy",)


def argument_spec_from_doc(documentation: str) -> dict:
    """The argument spec, from the doc stub's DOCUMENTATION (one source of truth)."""
    spec = {}
    for name, option in yaml.safe_load(documentation)["options"].items():
        entry = {"type": option.get("type", "str")}
        for key in ("default", "choices", "elements", "required", "aliases"):
            if key in option:
                entry[key] = option[key]
        if "password" in name:
            entry["no_log"] = True
        spec[name] = entry
    return spec


ARGUMENT_SPEC = argument_spec_from_doc(DOCUMENTATION)


def _scrub(value, secrets):
    """Remove the secrets from every string of a result (defence in depth for no_log)."""
    if not secrets:
        return value
    if isinstance(value, str):
        return probe.redact(value, secrets)
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def _account(self, via: str) -> str:
        if via == "controller":
            return getpass.getuser()
        if self._play_context.become and self._play_context.become_user:
            return self._play_context.become_user
        return self._play_context.remote_user or ""

    def _probe_target(self, endpoints, args: dict, account: str, task_vars: dict):
        """One ansible.windows.win_uri call per URL (a WinRM connection runs one module at a time)."""
        results = []
        try:
            for endpoint in endpoints:
                raw = self._execute_module(
                    module_name="ansible.windows.win_uri",
                    module_args=probe.win_uri_args(endpoint, args["timeout"], args["validate_certs"]),
                    task_vars=task_vars,
                )
                results.append(
                    probe.classify_win_uri(
                        endpoint,
                        raw,
                        expected_proxy=args["expected_proxy"],
                        account=account,
                        timeout=args["timeout"],
                    )
                )
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return results, len(results)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}

        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        via = args["via"]
        secrets = [s for s in (args["proxy_password"],) if s]
        result["changed"] = False

        wrong = [name for name in (CONTROLLER_ONLY if via == "target" else TARGET_ONLY) if args.get(name) is not None]
        if wrong:
            other = "controller" if via == "target" else "target"
            result.update(failed=True, msg="%s: only used with via=%s" % (", ".join(wrong), other))
            return result
        try:
            endpoints = endpoints_mod.build_catalogue(
                workspace=args["workspace"],
                regions=args["regions"],
                products=args["products"],
                mde_urls=args["mde_urls"],
                urls=args["urls"],
                include_crl=args["include_crl"],
            )
        except endpoints_mod.CatalogueError as exc:
            result.update(failed=True, msg=str(exc))
            return result

        account = self._account(via)
        start = time.monotonic()
        try:
            if via == "controller":
                results = probe.probe_controller(
                    endpoints,
                    proxy=args["proxy"],
                    proxy_username=args["proxy_username"],
                    proxy_password=args["proxy_password"],
                    timeout=args["timeout"],
                    validate_certs=args["validate_certs"],
                    ca_path=args["ca_path"],
                    expected_issuers=args["expected_issuers"],
                )
                round_trips = 0
            else:
                results, round_trips = self._probe_target(endpoints, args, account, task_vars)
            summary = probe.summarize(
                results, via=via, account=account, elapsed_total=time.monotonic() - start, round_trips=round_trips
            )
            summary = _scrub(summary, secrets)
            host = task_vars.get("inventory_hostname") or "localhost"
            if args["report_json"]:
                summary["report_json"] = probe.write_json_report(args["report_json"], host, summary)
            if args["report_junit"]:
                summary["report_junit"] = probe.write_junit_report(args["report_junit"], host, summary)
        except probe.ProbeError as exc:
            result.update(failed=True, msg=probe.redact(str(exc), secrets))
            return result
        except AnsibleConnectionFailure:
            raise
        except Exception as exc:  # never a bare traceback for the user
            result.update(
                failed=True,
                msg=probe.redact("unexpected error probing the endpoints: %s" % exc, secrets),
                exception=probe.redact(traceback.format_exc(), secrets),
            )
            return result

        result.update(summary)
        result["changed"] = False
        if args["fail_on_unreachable"] and not summary["all_reachable"]:
            result.update(failed=True, msg=probe.failure_message(summary))
        return result

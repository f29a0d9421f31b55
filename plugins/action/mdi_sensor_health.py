# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.mdi_sensor_health (controller only, read-only, check mode: full).

Glue only: the Graph client (token, retries, paging, errors) is ``plugin_utils/_cloud/_graph_client.py``, the certificate
credential ``_cloud/_graph_assertion.py``, the matching and the verdicts ``_cloud/_sensor_health.py``.
"""

from __future__ import annotations

import os
import time

from ansible_collections.atp.sensor_proxy.plugins.modules.mdi_sensor_health import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_assertion as assertion
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_client as graph
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _sensor_health as health
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._plain import plain
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _controller as proxies
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes

POSITIVE = ("timeout", "total_timeout", "wait_interval")
NOT_NEGATIVE = ("max_retries", "wait_timeout")


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
        wrong = [n for n in POSITIVE if args[n] <= 0] + [n for n in NOT_NEGATIVE if args[n] < 0]
        if wrong:
            raise UsageError("%s: must be %s" % (", ".join(wrong), "positive" if wrong[0] in POSITIVE else
                                                 "0 or more"))
        try:
            who = graph.identity(args, os.environ)
            login, root = graph.endpoints(who["cloud"], args["graph_endpoint"], args["authority"])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if args["proxy"] and not args["use_proxy"]:
            raise UsageError("proxy: given while use_proxy is false")
        try:
            proxy, proxy_user, proxy_password = proxies.proxy_credentials(
                args["proxy"], args["proxy_username"], args["proxy_password"])
        except outcomes.ProbeError as exc:
            raise UsageError(str(exc)) from None
        secrets = [who["client_secret"], who["certificate_password"]]
        secrets += proxies.credential_secrets(args["proxy"], args["proxy_username"], args["proxy_password"])
        secrets = [s for s in secrets if s]
        try:
            return outcomes.scrub(self._read(args, task_vars, who, login, root, proxy, proxy_user, proxy_password,
                                             secrets), secrets)
        except UsageError as exc:
            raise UsageError(outcomes.redact(str(exc), secrets)) from None

    def _read(self, args, task_vars, who, login, root, proxy, proxy_user, proxy_password, secrets):
        described = {"type": "certificate" if who["certificate_path"] else "client_secret", "source": who["source"]}
        if who["certificate_path"]:
            try:
                cert = assertion.load(who["certificate_path"], who["certificate_password"])
            except assertion.CertificateError as exc:
                raise UsageError(str(exc)) from None
            described["certificate"] = cert.describe()

            def credential(token_url):
                return {"client_assertion_type": graph.ASSERTION_TYPE,
                        "client_assertion": assertion.assertion(cert, who["client_id"], token_url)}
        else:
            def credential(token_url):
                return {"client_secret": who["client_secret"]}
        try:
            opener = graph.build_opener(use_proxy=args["use_proxy"], proxy=proxy, proxy_username=proxy_user,
                                        proxy_password=proxy_password, validate_certs=args["validate_certs"],
                                        ca_path=args["ca_path"])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        client = graph.GraphClient(
            tenant_id=who["tenant_id"], client_id=who["client_id"], credential=credential, login_root=login,
            graph_root=root, api_version=args["api_version"], timeout=args["timeout"],
            total_timeout=args["total_timeout"], max_retries=args["max_retries"], opener=opener, secrets=secrets)
        info = {"changed": False, "credential": described,
                "endpoints": {"cloud": who["cloud"], "authority": login, "graph": root,
                              "api_version": args["api_version"]}}
        hosts = [str(h) for h in (args["hosts"] if args["hosts"] is not None else
                                  task_vars.get("ansible_play_batch") or [task_vars.get("inventory_hostname")])]
        names = {host: _host_names(task_vars, host) for host in dict.fromkeys(hosts) if host}
        overrides = plain(args["sensor_names"] or {})

        def read_once():
            client.restart_budget()
            sensors, issues = health.read(client.get_all)
            return health.verdicts(names, sensors, issues, overrides, args["connectivity_issues"])

        try:
            result = health.watch(read_once, args["wait_timeout"], args["wait_interval"], time.monotonic,
                                  time.sleep, args["wait_for"])
        except (graph.GraphError, health.HealthError) as exc:
            text = client.redact(str(exc))
            info.update(failed=True, msg=text, error=text, client=client.stats.as_dict(),
                        missing_permissions=list(getattr(exc, "missing_permissions", [])))
            return info
        result.update(info, client=client.stats.as_dict(), msg=health.message(result))
        return result

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sensors' health in Microsoft Graph as one call: :func:`sensor_health`, which the ``mdi_sensor_health`` action
calls with its arguments (as ansible.windows' ``win_reboot`` action calls ``_reboot.reboot_host``).

Pure Python, no Ansible imports. It checks the options, takes the application's identity from the task or the
environment (:mod:`_cloud._graph_identity`), builds the credential (a client secret, or a certificate's signed
assertion: :mod:`_cloud._graph_assertion`) and the opener (:mod:`_cloud._graph_transport`), reads the sensors and
their health issues through the client (:mod:`_cloud._graph_client`), and gives each host its verdict, waiting when
asked (:mod:`_cloud._sensor_health`). Every secret (the client secret, the certificate's password, the proxy's
password in all its forms) is masked in everything returned.
"""

from __future__ import annotations

import time

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_assertion as assertion
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_client as graph
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_identity as graph_identity
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_transport as transport
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _sensor_health as health
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._plain import plain
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _proxy_auth as proxy_auth

POSITIVE = ("timeout", "total_timeout", "wait_interval")
NOT_NEGATIVE = ("max_retries", "wait_timeout")


def sensor_health(args: dict, environ, hosts: dict, *, clock=time.monotonic, sleep=time.sleep) -> dict:
    """Read the sensors and their health issues from Microsoft Graph and give each host its verdict.

    Args:
        args: the task's validated options (every option of the ``mdi_sensor_health`` documentation).
        environ: where the identity is read when the task does not give it (``os.environ``; the variables of
            :data:`_cloud._graph_identity.ENV`, which the collection's AWX credential type injects).
        hosts: inventory name -> the names its sensor may carry in Graph (:func:`_cloud._sensor_health.host_names`),
            in the order the result lists them.
        clock: the monotonic clock of ``wait_for``'s deadline.
        sleep: how to wait between reads.

    Returns:
        The documented result of ``mdi_sensor_health`` (each host's verdict and evidence, the sensors, the issues,
        ``client`` with the requests, retries and waits; ``failed``/``msg``/``error``/``missing_permissions`` when
        Graph could not be read), every secret masked.

    Raises:
        UsageError: an option that is wrong, naming it (the secrets masked).
    """
    wrong = [n for n in POSITIVE if args[n] <= 0] + [n for n in NOT_NEGATIVE if args[n] < 0]
    if wrong:
        raise UsageError("%s: must be %s" % (", ".join(wrong), "positive" if wrong[0] in POSITIVE else
                                             "0 or more"))
    try:
        who = graph_identity.identity(args, environ)
        login, root = graph_identity.endpoints(who["cloud"], args["graph_endpoint"], args["authority"])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args["proxy"] and not args["use_proxy"]:
        raise UsageError("proxy: given while use_proxy is false")
    try:
        proxy = proxy_auth.proxy_credentials(args["proxy"], args["proxy_username"], args["proxy_password"])
    except outcomes.ProbeError as exc:
        raise UsageError(str(exc)) from None
    secrets = [who["client_secret"], who["certificate_password"]]
    secrets += proxy_auth.credential_secrets(args["proxy"], args["proxy_username"], args["proxy_password"])
    secrets = [s for s in secrets if s]
    try:
        return redaction.scrub_secrets(_read(args, hosts, who, login, root, proxy, secrets, clock, sleep), secrets)
    except UsageError as exc:
        raise UsageError(redaction.redact(str(exc), secrets)) from None


def _read(args, hosts, who, login, root, proxy, secrets, clock, sleep):
    """``proxy``: the proxy URL without credentials, its user and its password."""
    proxy_url, proxy_user, proxy_password = proxy
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
        opener = transport.build_opener(use_proxy=args["use_proxy"], proxy=proxy_url, proxy_username=proxy_user,
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
    overrides = plain(args["sensor_names"] or {})

    def read_once():
        client.restart_budget()
        sensors, issues = health.read(client.get_all)
        return health.verdicts(hosts, sensors, issues, overrides, args["connectivity_issues"])

    try:
        result = health.watch(read_once, args["wait_timeout"], args["wait_interval"], clock, sleep, args["wait_for"])
    except (graph.GraphError, health.HealthError) as exc:
        text = client.redact(str(exc))
        info.update(failed=True, msg=text, error=text, client=client.stats.as_dict(),
                    missing_permissions=list(getattr(exc, "missing_permissions", [])))
        return info
    result.update(info, client=client.stats.as_dict(), msg=health.message(result))
    return result

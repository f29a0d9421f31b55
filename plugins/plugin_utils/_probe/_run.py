# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The endpoint probe as one call: :func:`probe_endpoints`, which the ``atp_endpoint_probe`` action calls with its
arguments and its executor (as ansible.windows' ``win_reboot`` action calls ``_reboot.reboot_host``).

Pure Python, no Ansible imports. It checks the options that only one side uses, builds the catalogue
(:mod:`_probe._endpoints`), probes from the controller (:mod:`_probe._controller`) or from the host (engine
``script``: :mod:`_probe._facts`; engine ``win_uri``: :mod:`_probe._target`, then the controller-side issuer check of
:mod:`_probe._issuer`), and turns the results into the documented summary and reports (:mod:`_probe._report`),
every form of the proxy's password masked (:mod:`_common._redaction`).
"""

from __future__ import annotations

import time

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _controller as controller
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _endpoints as endpoints_mod
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _facts as facts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _issuer as issuer_check
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _proxy_auth as proxy_auth
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _report as report
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _target as target
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._result import ProbeResult

CONTROLLER_ONLY = ("ca_path",)
TARGET_ONLY = ("expected_proxy",)
TARGET_ONLY_CHANGED = {"modes": ["default"], "tls_inspection_check": True,
                       "proxy_source": outcomes.WININET_PER_ACCOUNT, "engine": "script", "direct_fallback": False}
ENGINE_WIN_URI = "win_uri"


def check_become_user(name: str | None) -> None:
    """Refuse, before anything runs, a become_user that runas cannot log on as (a SID, ``LocalSystem``).

    Only names of the well-known service accounts are judged (through the one account table); any other
    name (a domain account) is left to runas.
    """
    text = (name or "").strip()
    if not text:
        return
    if _accounts.canonical_sid(text) or _accounts.lookup(text) is not None:
        try:
            _accounts.resolve_become(text, "become_user")
        except _accounts.AccountError as exc:
            raise UsageError(str(exc)) from None


def check_accounts(accounts, via: str, become: bool) -> list:
    """The ``accounts`` option as the names to probe as, in order, or :class:`UsageError` naming it; before anything
    runs. Each must be a name runas can log on as (the one account table, :func:`_host._accounts.resolve_become`): the
    task becomes each in turn, so it needs ``become``, and runs on the host (``via: target``)."""
    if via != "target":
        raise UsageError("accounts: only used with via=target (the requests run on the host as each account)")
    if isinstance(accounts, str):  # Ansible's list type: a comma-separated string is a list
        accounts = [a.strip() for a in accounts.split(",") if a.strip()]
    if not isinstance(accounts, (list, tuple)) or not all(isinstance(a, str) for a in accounts):
        raise UsageError("accounts: a list of account names (SYSTEM, LocalService, NetworkService); got %s"
                         % type(accounts).__name__)
    if accounts and not become:
        raise UsageError("accounts: needs become: true and become_method: ansible.builtin.runas on the task (it "
                         "becomes each account in turn)")
    try:
        for name in accounts:
            _accounts.resolve_become(name, "accounts")
    except _accounts.AccountError as exc:
        raise UsageError(str(exc)) from None
    return [name.strip() for name in accounts]


def probe_endpoints(args: dict, execute, *, account: str, become: bool, become_user: str | None, host: str,
                    issuer_cache: str) -> ProbeResult:
    """Probe the endpoints the options select, from the side ``args["via"]`` names, and return the summary.

    Args:
        args: the task's validated options (every option of the ``atp_endpoint_probe`` documentation).
        execute: the counting executor the action built (``_host._remote.CountingExecutor``): it runs the remote
            modules by FQCN (``ansible.windows.win_powershell``, or ``ansible.windows.win_uri`` for engine
            ``win_uri``); its ``calls`` are the round trips. Not called with ``via: controller``.
        account: the account the requests run as (the controller's user, or the become/connection user).
        become: whether the task uses become (the probe then runs as ``become_user``).
        become_user: the become user, checked before anything runs (:func:`check_become_user`).
        host: the inventory name, written into the reports.
        issuer_cache: a directory that lives as long as the run (inside ansible-core's ``DEFAULT_LOCAL_TMP``),
            shared by the forks, for the target-mode issuer check (:func:`_probe._issuer.cached_issuer`).

    Returns:
        :class:`_probe._result.ProbeResult`; its ``to_result()`` is the documented result of ``atp_endpoint_probe``
        (``results``, ``all_reachable``, ``failing``, the report paths, ``failed``/``msg`` when
        ``fail_on_unreachable`` and an endpoint is not reachable), with every form of the proxy's password masked.

    Raises:
        UsageError: an option that is wrong, or given for the other side, naming it (the password masked).
    """
    secrets = proxy_auth.credential_secrets(args["proxy"], args["proxy_username"], args["proxy_password"])
    try:
        return _probe(args, execute, secrets, account, become, become_user, host, issuer_cache)
    except outcomes.ProbeError as exc:
        raise UsageError(redaction.redact(str(exc), secrets)) from None


def _check_options(args: dict, via: str) -> None:
    if via == "target":
        wrong = [n for n in CONTROLLER_ONLY if args.get(n) is not None]
        if wrong:
            raise UsageError("%s: only used with via=controller" % ", ".join(wrong))
        if (args["proxy"] or args["proxy_username"] is not None) and "named" not in args["modes"]:
            raise UsageError("proxy, proxy_username, proxy_password: with via=target only used by mode 'named' "
                             "(add it to modes)")
        if args["direct_fallback"] and not {"named", "direct"} <= set(args["modes"]):
            raise UsageError("direct_fallback: needs modes 'named' and 'direct' (the proxy, and the fallback)")
    else:
        wrong = [n for n in TARGET_ONLY if args.get(n) is not None]
        wrong += [n for n, default in TARGET_ONLY_CHANGED.items() if args.get(n) != default]
        if wrong:
            raise UsageError("%s: only used with via=target" % ", ".join(wrong))


def _probe(args, execute, secrets, account, become, become_user, host, issuer_cache):
    via = args["via"]
    _check_options(args, via)
    try:
        endpoints = endpoints_mod.build_catalogue(
            workspace=args["workspace"], regions=args["regions"], products=args["products"],
            mde_urls=args["mde_urls"], urls=args["urls"], include_crl=args["include_crl"],
            cloud=args["cloud"], mde_sets=args["mde_sets"], mde_geo=args["mde_geo"],
            include_azure_pki=args["include_azure_pki"], v3_geo_url=args["v3_geo_url"],
        )
    except endpoints_mod.CatalogueError as exc:
        raise UsageError(str(exc)) from None
    blank_issuer = outcomes.issuer_problems(args["expected_issuers"])
    if blank_issuer:
        raise UsageError(blank_issuer[0])
    args = dict(args, expected_issuers=outcomes.expected_issuers_for(args["cloud"], args["expected_issuers"]))
    start = time.monotonic()
    if via == "controller":
        results = controller.probe_controller(
            endpoints, proxy=args["proxy"], proxy_username=args["proxy_username"],
            proxy_password=args["proxy_password"], timeout=args["timeout"], validate_certs=args["validate_certs"],
            ca_path=args["ca_path"], expected_issuers=args["expected_issuers"],
        )
        found = ProbeResult(results, via, account, time.monotonic() - start)
    else:
        if become:
            check_become_user(become_user)
        results, not_tested, ran_as = _probe_target(endpoints, args, account, become, execute, issuer_cache)
        if args["direct_fallback"] and args["proxy"]:
            results = outcomes.direct_fallback(results, endpoints, proxy_auth.proxy_display(args["proxy"]))
        found = ProbeResult(results, via, account, time.monotonic() - start, round_trips=len(execute.calls),
                            modes=list(args["modes"]), not_tested=not_tested, ran_as=ran_as,
                            identity_error=facts.identity_error(ran_as, become, become_user))
    found.results = redaction.scrub_secrets(found.results, secrets)
    found.secrets = tuple(secrets or ())
    if args["report_json"]:
        found.report_json = report.write_json_report(args["report_json"], host, found.summary())
    if args["report_junit"]:
        found.report_junit = report.write_junit_report(args["report_junit"], host, found.to_result())
    found.fail_on_unreachable = bool(args["fail_on_unreachable"])
    return found


def _probe_target(endpoints, args, account, become, execute, issuer_cache):
    """Engine ``script`` (the default): one ansible.windows.win_powershell run for every URL and tested mode,
    the chain the host received deciding the TLS inspection. Engine ``win_uri``: one ansible.windows.win_uri
    call per URL and tested mode (a WinRM connection runs one module at a time), then the controller-side issuer
    check for the HTTPS results that went through a known proxy. Returns ``(results, not_tested, ran_as)``;
    ``ran_as``, whom the script ran as, is None with ``win_uri`` (it returns no identity)."""
    modes = list(dict.fromkeys(args["modes"]))
    not_tested = {m: target.NOT_TESTABLE[m] for m in modes if m in target.NOT_TESTABLE}
    named_proxy = named_user = named_password = None
    if "named" in modes:
        if args["proxy"]:
            named_proxy, named_user, named_password = proxy_auth.proxy_credentials(
                args["proxy"], args["proxy_username"], args["proxy_password"])
        else:
            not_tested["named"] = target.NAMED_NEEDS_PROXY
    tested = [m for m in modes if m not in not_tested]
    if args["engine"] != ENGINE_WIN_URI:
        results, ran_as = facts.run(
            execute, facts.plan(endpoints, tested), timeout=args["timeout"], named_proxy=named_proxy,
            proxy_username=named_user, proxy_password=named_password, expected_proxy=args["expected_proxy"],
            account=account, become=become, validate_certs=args["validate_certs"],
            expected_issuers=args["expected_issuers"], source=args["proxy_source"])
        return results, not_tested, ran_as
    results = []
    named = (named_proxy, named_user, named_password)
    for endpoint in endpoints:
        for mode in tested:
            raw = execute(target.WIN_URI, target.win_uri_args(
                endpoint, args["timeout"], args["validate_certs"], mode=mode, proxy=named_proxy,
                proxy_username=named_user, proxy_password=named_password))
            result = target.classify_win_uri(
                endpoint, raw, mode=mode, expected_proxy=args["expected_proxy"], named_proxy=named_proxy,
                account=account, become=become, timeout=args["timeout"],
                expected_issuers=args["expected_issuers"], source=args["proxy_source"])
            results.append(_inspect(endpoint, result, args, mode, named, account, issuer_cache))
    return results, not_tested, None


def _inspect(endpoint, result, args, mode, named, account, issuer_cache):
    """Fill ``tls_inspection`` of one target-mode result (see the module's description); ``named`` is the named
    proxy with its user and password."""
    if endpoint.scheme != "https" or result["outcome"] not in (outcomes.REACHABLE, "tls_error") \
            or result.get("cause") == "handshake":
        return result
    if mode == "direct":
        result["tls_inspection_detail"] = ("the host connected directly; the controller's own direct route is "
                                           "not the host's, so it cannot see what the host sees")
        return result
    if mode == "named":
        proxy, user, password = named
    else:
        proxy = target.effective_proxy(args["expected_proxy"], "https")
        user = password = None
        if proxy == outcomes.DIRECT:
            result["tls_inspection_detail"] = ("expected_proxy says this account goes direct; the controller's "
                                               "own direct route is not the host's")
            return result
    if not proxy:
        result["tls_inspection_detail"] = ("win_uri does not return the certificate and the proxy this account "
                                           "uses is not known: pass expected_proxy so the controller can look "
                                           "through it")
        return result
    if not args["tls_inspection_check"]:
        result["tls_inspection_detail"] = "the controller-side issuer check is off (tls_inspection_check: false)"
        return result
    seen = issuer_check.cached_issuer(
        issuer_cache, proxy, endpoint.host, endpoint.port,
        timeout=args["timeout"], proxy_username=user, proxy_password=password)
    how = "seen by the controller through %s, the proxy this host uses (checked once per run)" % (
        proxy_auth.proxy_display(proxy))
    return outcomes.with_inspection(result, endpoint, seen["issuer"], seen["why"], how, via="target",
                                    account=account, timeout=args["timeout"],
                                    expected_issuers=args["expected_issuers"], source=args["proxy_source"])

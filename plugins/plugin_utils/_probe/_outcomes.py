# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe outcomes, the HTTP rules, the TLS-inspection verdict and the one-sentence hints.

Pure Python, no Ansible imports. Both probe modes (``_probe._target``, ``_probe._controller``) turn
what they saw into one :func:`make_result`, so an outcome means the same whichever side probed.
Every outcome is documented in ``docs/troubleshooting.md``.
"""

from __future__ import annotations

import re

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._endpoints import RULES, Endpoint

OUTCOMES = (
    "reachable",
    "proxy_auth_required",
    "blocked_by_proxy",
    "tls_intercepted",
    "tls_error",
    "dns_failure",
    "connection_refused",
    "timeout",
    "proxy_unreachable",
    "become_failed",
    "unknown",
    "works_only_direct",
)
REACHABLE = "reachable"
WORKS_ONLY_DIRECT = "works_only_direct"
DIRECT = "direct"
# Fragments of the issuer names of the certificates Microsoft's endpoints present
# ("Microsoft Azure RSA TLS Issuing CA 03", "DigiCert SHA2 Secure Server CA", ...). ATADocs
# troubleshooting-known-issues.md ("Proxy authentication problem presents as a connection error")
# names the DigiCert roots the sensor API chains to. Per cloud: azure-docs
# articles/security/fundamentals/azure-CA-details.md lists the root and subordinate CAs Azure services use, and
# "the scope includes government and national clouds", so GCC (*.gcc.atp.azure.com) and GCC High / DoD
# (*.atp.azure.us) present certificates of the same Microsoft and DigiCert CAs as the commercial cloud.
ISSUERS_BY_CLOUD = {
    "commercial": ("Microsoft", "DigiCert"),
    "gcc": ("Microsoft", "DigiCert"),
    "gcc_high": ("Microsoft", "DigiCert"),
    "dod": ("Microsoft", "DigiCert"),
}
DEFAULT_EXPECTED_ISSUERS = ISSUERS_BY_CLOUD["commercial"]


def issuer_problems(given, variable: str = "expected_issuers") -> list:
    """An issuer fragment that is empty (or only spaces) is in every issuer's name: it would call a certificate of any
    inspecting proxy genuine. Each problem names ``variable``."""
    blank = [i for i, fragment in enumerate(given or ()) if isinstance(fragment, str) and not fragment.strip()]
    if not blank or len(blank) == len(given):
        return []  # nothing blank, or nothing given (an empty survey field): the cloud's own issuers
    return ["%s: entry %d is empty, and an empty fragment is in every issuer's name (an inspecting proxy's certificate "
            "would pass for genuine); give parts of the genuine issuers' names, such as Microsoft, or no list for the "
            "cloud's own" % (variable, blank[0] + 1)]


def expected_issuers_for(cloud: str | None, given=None) -> list:
    """The issuer fragments a genuine certificate of ``cloud``'s services carries, unless ``given`` (the option)."""
    given = [str(i) for i in given or () if str(i).strip()]
    if given:
        return given
    return list(ISSUERS_BY_CLOUD.get(str(cloud or "commercial").lower(), DEFAULT_EXPECTED_ISSUERS))


DEFAULT_TIMEOUT = 10

# The three values of a result's ``tls_inspection``.
INTERCEPTED = "intercepted"
NOT_INTERCEPTED = "not intercepted"
UNKNOWN = "unknown"
INSPECTION_STATES = (INTERCEPTED, NOT_INTERCEPTED, UNKNOWN)

# Response headers (snake case, as win_uri returns them) that only a proxy adds to a page it generated
# itself. Through a CONNECT tunnel the service's answer never carries any of them; on plain HTTP a
# proxy adds Via (and its own Server stays the origin's) to every answer it forwards, so there only the
# error markers count.
PROXY_ERROR_HEADERS = ("x_squid_error", "proxy_authenticate", "proxy_agent", "proxy_connection")
PROXY_MARKER_HEADERS = PROXY_ERROR_HEADERS + ("via",)
PROXY_SERVER_RE = re.compile(
    r"squid|tinyproxy|proxy|bluecoat|zscaler|web gateway|fortigate|forcepoint|websense|netcache", re.I
)


class ProbeError(Exception):
    """A usage problem (missing library, unreadable CA file, conflicting credentials), not an outcome."""


def normalize_headers(headers) -> dict:
    """``{'X-Squid-Error': ..}`` -> ``{'x_squid_error': ..}`` (win_uri's snake case)."""
    if not headers:
        return {}
    return {str(k).lower().replace("-", "_"): v for k, v in dict(headers).items()}


def proxy_generated(headers, tunnelled: bool = True) -> bool:
    """True when the answer carries the marks of a page the proxy produced itself."""
    headers = normalize_headers(headers)
    names = PROXY_MARKER_HEADERS if tunnelled else PROXY_ERROR_HEADERS
    if any(headers.get(name) for name in names):
        return True
    return tunnelled and bool(PROXY_SERVER_RE.search(str(headers.get("server") or "")))


def accepted(endpoint: Endpoint, status: int) -> bool:
    """Does ``status`` from the service itself prove it was reached (the endpoint's rule)?"""
    rule = endpoint.rule
    if rule == "sensor_ping":
        return status in (200, 503)
    if rule == "sensor_root":
        return status == 503
    if rule == "crl":
        return 200 <= status < 400 or status == 404
    if rule == "mde" and endpoint.expect:
        return status in endpoint.expect
    if rule == "v3_identity":
        return status == 500
    return 100 <= status < 600  # ocsp, service: any answer of the service itself


def classify_http(endpoint: Endpoint, status: int, headers=None, connect_refused: bool = False) -> str:
    """Outcome of an HTTP answer ``status`` for ``endpoint``.

    ``connect_refused``: the proxy answered the CONNECT itself (the tunnel was never opened), so the
    answer is the proxy's whatever it says. A proxy-generated answer is never ``reachable``.
    """
    tunnelled = endpoint.scheme == "https"
    by_proxy = connect_refused or proxy_generated(headers, tunnelled)
    if status == 407 or (status == 401 and by_proxy):
        # Some proxies (tinyproxy) answer wrong credentials with 401 instead of 407; on a CONNECT, or on
        # a page the proxy produced, a 401 can only be about the proxy's own authentication.
        return "proxy_auth_required"
    if connect_refused:
        return "blocked_by_proxy"
    if by_proxy and (tunnelled or status == 403 or status >= 500):
        return "blocked_by_proxy"
    return REACHABLE if accepted(endpoint, status) else "blocked_by_proxy"


def issuer_expected(issuer: str | None, expected_issuers) -> bool:
    """True when ``issuer`` contains one of the ``expected_issuers`` fragments (case-insensitive)."""
    text = (issuer or "").lower()
    return any(str(fragment).lower() in text for fragment in expected_issuers or ())


def inspection_verdict(issuer: str | None, expected_issuers, why_unknown: str | None, how: str) -> tuple:
    """(``tls_inspection``, detail): intercepted / not intercepted with the issuer, or unknown with why."""
    if issuer:
        if issuer_expected(issuer, expected_issuers):
            return NOT_INTERCEPTED, "issuer '%s' is one of the expected issuers (%s), %s" % (
                issuer, issuers_text(expected_issuers), how)
        return INTERCEPTED, "issuer '%s' is none of the expected issuers (%s), %s" % (
            issuer, issuers_text(expected_issuers), how)
    return UNKNOWN, why_unknown or "the certificate was not seen"


def inspected_outcome(outcome: str, state: str) -> str:
    """A certificate that is not from an expected issuer turns an answer, or a trust failure, into ``tls_intercepted``
    (whichever side saw the certificate)."""
    return "tls_intercepted" if state == INTERCEPTED and outcome in (REACHABLE, "tls_error") else outcome


def with_inspection(result: dict, endpoint: Endpoint, issuer: str | None, why: str | None, how: str, *,
                    expected_issuers=DEFAULT_EXPECTED_ISSUERS, **hint) -> dict:
    """``result`` with its ``tls_*`` fields from the :func:`inspection_verdict` on ``issuer``, its outcome through
    :func:`inspected_outcome`, and its hint recomputed (``hint``: :func:`hint_for`'s ``via``, ``account``,
    ``timeout``)."""
    state, detail = inspection_verdict(issuer, expected_issuers, why, how)
    result = dict(result, tls_issuer=issuer, tls_inspection=state, tls_inspection_detail=detail)
    result["outcome"] = inspected_outcome(result["outcome"], state)
    return rehint(result, endpoint, expected_issuers=expected_issuers, **hint)


def issuers_text(expected_issuers) -> str:
    items = [str(i) for i in expected_issuers or ()]
    return ", ".join("'%s'" % i for i in items) if items else "none configured"


# Where the host's sensor takes its proxy from (the effective-proxy sources of ``_sensor``): each hint names the
# setting to change there, not another method's.
WININET_PER_ACCOUNT = "wininet_per_account"
WININET_MACHINE = "wininet_machine"
SENSOR_CONFIG = "sensor_config"
MDE = "mde"
SOURCES = (WININET_PER_ACCOUNT, WININET_MACHINE, SENSOR_CONFIG, MDE)


def _copy_target(account: str | None) -> str:
    known = _accounts.lookup(account) if account else None
    if known is not None:
        return "%s (%s)" % (account, known.sid)
    return "LocalService (S-1-5-19) and LocalSystem (S-1-5-18)"


def _set_proxy(source: str, account: str | None) -> str:
    """The one change that gives the sensor its proxy, where this host's sensor reads it."""
    if source == SENSOR_CONFIG:
        return ("set the sensor's own proxy in its SensorConfiguration.json (atp_proxy_sensor_proxy_url, or "
                "atp.sensor_proxy.win_mdi_sensor_proxy)")
    if source == WININET_MACHINE:
        return ("set the machine-wide WinINet value that every account uses under ProxySettingsPerUser=0 "
                "(atp.sensor_proxy.win_wininet_proxy with targets [HKLM])")
    if source == MDE:
        return ("set the sensor v3's proxy where Defender for Endpoint reads it, TelemetryProxyServer "
                "(atp_proxy_sensor_proxy_url, as Set-MDISensorProxyConfiguration does)")
    return "copy the proxy to %s with atp.sensor_proxy.win_wininet_proxy" % _copy_target(account)


def _proxy_setting(source: str, account: str | None) -> str:
    """Where the proxy's address is configured for this host's sensor."""
    if source == SENSOR_CONFIG:
        return "the sensor's SensorConfiguration.json (atp_proxy_sensor_proxy_url)"
    if source == WININET_MACHINE:
        return "the machine-wide WinINet value (ProxySettingsPerUser=0)"
    if source == MDE:
        return "Defender for Endpoint's TelemetryProxyServer (atp_proxy_sensor_proxy_url)"
    return "the WinINet settings of %s" % _copy_target(account)


def _become_hint(cause: str | None, account: str | None) -> str:
    who = account or "the become user"
    allowed = "SYSTEM, LocalService or NetworkService (with or without NT AUTHORITY\\)"
    if cause == "account":
        return ("runas could not look up '%s' (LookupAccountName knows neither SIDs nor 'LocalSystem'): "
                "set become_user to %s." % (who, allowed))
    if cause == "secondary_logon":
        return ("runas could not start a process as %s because the Secondary Logon service (seclogon) is "
                "disabled: set it to Manual (Set-Service seclogon -StartupType Manual) and probe again." % who)
    if cause == "admin_rights":
        return ("runas could not get the SYSTEM token it needs to become %s: connect as a member of the local "
                "Administrators group (elevated, with SeDebugPrivilege) and probe again." % who)
    return ("The probe could not run as %s: check that the connection user is a local administrator, that the "
            "Secondary Logon service (seclogon) is not disabled, and that the account name is one runas knows "
            "(%s)." % (who, allowed))


def hint_for(outcome: str, endpoint: Endpoint, **kwargs) -> str:
    """One sentence telling the admin what to change; empty for ``reachable``. For the sensor v3's identity channel
    it says which channel failed (the URL Test-MDISensorApiConnection tests on a v3 host)."""
    text = _hint(outcome, endpoint, **kwargs)
    if text and endpoint.rule == "v3_identity":
        text = text.rstrip(".") + ("; this is the sensor v3's identity channel (%s, from the geoLocationUrl of "
                                   "Defender for Endpoint's onboarding info)." % endpoint.url)
    return text


def _hint(
    outcome: str,
    endpoint: Endpoint,
    *,
    via: str = "target",
    status: int | None = None,
    issuer: str | None = None,
    proxy: str | None = None,
    account: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    expected_issuers=DEFAULT_EXPECTED_ISSUERS,
    cause: str | None = None,
    operator_credentials: bool = False,
    source: str = WININET_PER_ACCOUNT,
) -> str:
    """One sentence telling the admin what to change; empty for ``reachable``. ``source``: where the host's sensor
    takes its proxy from (:data:`SOURCES`), so the sentence names that setting."""
    pattern = endpoint.allow_pattern
    host = endpoint.host
    copy = _set_proxy(source, account)
    expected = issuers_text(expected_issuers)
    if outcome == REACHABLE:
        return ""
    if outcome == "proxy_auth_required":
        if source == SENSOR_CONFIG and not operator_credentials:
            return ("The proxy asks for credentials (HTTP %s): give the sensor its proxy user and password "
                    "(atp_proxy_sensor_proxy_username and _password, which the probe then uses too), or allow "
                    "anonymous access to %s on the proxy." % (status or 407, pattern))
        if operator_credentials:
            return ("The proxy rejected the credentials given to this probe (proxy_username/proxy_password or the "
                    "user:password in the proxy URL) with HTTP %s: check that user name and password; the sensor's "
                    "service account itself still needs anonymous access to %s." % (status or 407, pattern))
        return (
            "Allow anonymous (unauthenticated) access to %s on the proxy: the sensor's service account "
            "cannot answer the proxy's authentication challenge (HTTP %s)." % (pattern, status or 407)
        )
    if outcome == "blocked_by_proxy":
        if status in (502, 503, 504):
            return (
                "The proxy answered HTTP %s instead of the service: check that the proxy itself can resolve "
                "and reach %s (its DNS and egress firewall)." % (status, host)
            )
        if status == 403:
            return "Allow %s on the proxy: it refused the request with HTTP 403." % pattern
        return (
            "Allow %s on the proxy and look for a block or captive page: HTTP %s came back, which is not what "
            "the service answers (expected %s)." % (pattern, status, _rule_text(endpoint))
        )
    if outcome == "tls_intercepted":
        return (
            "Exclude %s from SSL/TLS inspection on the proxy: the certificate was issued by '%s', not by one of "
            "the expected issuers (%s), and the sensor's mutual TLS breaks behind inspection." % (pattern, issuer, expected)
        )
    if outcome == "tls_error":
        if cause == "handshake":
            return (
                "The TLS handshake with %s failed (no common protocol or cipher): enable TLS 1.2 for .NET by setting "
                "SchUseStrongCrypto and SystemDefaultTlsVersions to 1 under HKLM\\SOFTWARE\\Microsoft\\.NETFramework"
                "\\v4.0.30319 (and WOW6432Node), then probe again." % host
            )
        if via == "target":
            return (
                "This host does not trust the certificate of %s: install the DigiCert and Microsoft root CAs, let it "
                "reach the CRL hosts, and exclude %s from SSL/TLS inspection (expected issuers: %s)." % (host, pattern, expected)
            )
        return (
            "Check the certificate chain of %s (issuer: %s, expected: %s): trust its CA with ca_path if it is "
            "legitimate, or exclude %s from SSL/TLS inspection." % (host, issuer or "not visible", expected, pattern)
        )
    if outcome == "dns_failure":
        if via == "target":
            return (
                "The request went direct and %s could not be resolved, so the sensor has no proxy here: %s (or let "
                "this host resolve public names)." % (host, copy)
            )
        return "The controller cannot resolve %s: set the proxy option to the corporate proxy, or fix DNS." % host
    if outcome == "connection_refused":
        if via == "target":
            return (
                "Nothing accepted the connection to %s:%s: if this account should go through the proxy, %s; "
                "otherwise open the firewall." % (host, endpoint.port, copy)
            )
        return "Nothing accepted the connection to %s:%s: open the firewall or set the proxy option." % (
            host, endpoint.port)
    if outcome == "timeout":
        if via == "target":
            return (
                "No answer within %s s from %s: check the firewall and the proxy's egress, or %s if this account "
                "goes direct." % (timeout, host, copy)
            )
        return "No answer within %s s from %s: check the firewall and the proxy's egress." % (timeout, host)
    if outcome == "proxy_unreachable":
        where = _proxy_setting(source, account) if via == "target" else "the proxy option"
        return (
            "The proxy %s could not be reached: check its address in %s and the firewall between this host and "
            "the proxy." % (proxy or "(configured)", where)
        )
    if outcome == "become_failed":
        return _become_hint(cause, account)
    if outcome == WORKS_ONLY_DIRECT:
        return (
            "Fix the proxy %s for %s (through it: %s), its address in TelemetryProxyServer and Defender Antivirus' "
            "ProxyServer or its rules for %s: the host reached %s only directly, and Defender for Endpoint falls back "
            "to a direct connection when its static proxy fails, so it works only until direct egress is closed."
            % (proxy or "(configured)", host, cause or "failed", pattern, host))
    if outcome == "unknown":
        return ("The probe of %s failed in a way it does not recognise: read the error field (the host's own "
                "message) and check the proxy and the firewall for %s." % (host, pattern))
    raise ValueError("unknown outcome %r" % outcome)


def _rule_text(endpoint: Endpoint) -> str:
    if endpoint.rule == "mde" and endpoint.expect:
        return "HTTP %s" % "/".join(str(s) for s in endpoint.expect)
    return RULES.get(endpoint.rule, endpoint.rule)


def make_result(
    endpoint: Endpoint,
    outcome: str,
    *,
    via: str,
    mode: str = "default",
    status: int | None = None,
    elapsed: float | None = None,
    proxy: str | None = None,
    tls_issuer: str | None = None,
    tls_inspection: str = UNKNOWN,
    tls_inspection_detail: str | None = None,
    error: str | None = None,
    cause: str | None = None,
    account: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    expected_issuers=DEFAULT_EXPECTED_ISSUERS,
    operator_credentials: bool = False,
    source: str = WININET_PER_ACCOUNT,
) -> dict:
    """One probe result (the documented ``results[]`` entry)."""
    if outcome not in OUTCOMES:
        raise ValueError("unknown outcome %r" % outcome)
    if tls_inspection not in INSPECTION_STATES:
        raise ValueError("unknown tls_inspection %r" % tls_inspection)
    return {
        "url": endpoint.url,
        "endpoint": endpoint.id,
        "mode": mode,
        "status": status,
        "elapsed": round(float(elapsed or 0.0), 3),
        "proxy": proxy,
        "tls_issuer": tls_issuer,
        "tls_inspection": tls_inspection,
        "tls_inspection_detail": tls_inspection_detail,
        "outcome": outcome,
        "cause": cause,
        "hint": hint_for(
            outcome, endpoint, via=via, status=status, issuer=tls_issuer, proxy=proxy, account=account,
            timeout=timeout, expected_issuers=expected_issuers, cause=cause,
            operator_credentials=operator_credentials, source=source,
        ),
        "error": error,
    }


def direct_fallback(results: list, endpoints, proxy: str | None) -> list:
    """A client that falls back to a direct connection when its proxy fails (Defender for Endpoint with its static
    proxy; defender-docs ``verify-connectivity.md``: "When the TelemetryProxyServer is set ..., Defender for Endpoint
    falls back to direct connectivity if [it] fails to access the defined proxy"): a URL whose mode ``named`` failed
    and whose mode ``direct`` was reached works only direct. That ``direct`` result becomes ``works_only_direct``
    (never ``reachable``) with ``proxy_outcome`` (the ``named`` outcome) and the fix; the others are unchanged."""
    by_url: dict = {}
    for result in results:
        by_url.setdefault(result["url"], {})[result.get("mode")] = result
    for endpoint in endpoints:
        modes = by_url.get(endpoint.url) or {}
        named, direct = modes.get("named"), modes.get("direct")
        if named and direct and named["outcome"] != REACHABLE and direct["outcome"] == REACHABLE:
            direct.update(outcome=WORKS_ONLY_DIRECT, proxy_outcome=named["outcome"],
                          hint=hint_for(WORKS_ONLY_DIRECT, endpoint, proxy=proxy, cause=named["outcome"]))
    return results


def rehint(result: dict, endpoint: Endpoint, **kwargs) -> dict:
    """``result`` with its hint recomputed after ``outcome``/``tls_*`` changed (target-mode issuer check)."""
    result = dict(result)
    result["hint"] = hint_for(result["outcome"], endpoint, status=result.get("status"),
                              issuer=result.get("tls_issuer"), proxy=result.get("proxy"),
                              cause=result.get("cause"), **kwargs)
    return result

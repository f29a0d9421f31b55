# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Endpoint probe logic for ``atp.sensor_proxy.atp_endpoint_probe``.

Pure Python, no Ansible runtime imports. Four parts:

* classification: an HTTP answer or a failure becomes exactly one of :data:`OUTCOMES`, with
  a one-sentence ``hint`` (see ``docs/troubleshooting.md``);
* ``via: target``: :func:`win_uri_args` builds the ``ansible.windows.win_uri`` arguments and
  :func:`classify_win_uri` reads its result (the shapes of the real ``win_uri.ps1`` and
  ``module_utils/WebRequest.psm1`` of ansible.windows 3.3.0);
* ``via: controller``: :func:`probe_controller` probes all URLs concurrently with ``requests``;
* reports: :func:`summarize`, :func:`write_json_report` and :func:`write_junit_report`.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import socket
import ssl
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit, urlunsplit

try:
    import requests
    import urllib3
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without requests
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

try:
    from cryptography import x509

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover
    HAS_CRYPTOGRAPHY = False

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._endpoints import RULES, Endpoint
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._registry import well_known_sid

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
)
REACHABLE = "reachable"
DIRECT = "direct"
# Fragments of the issuer names of the certificates Microsoft's endpoints present
# ("Microsoft Azure RSA TLS Issuing CA 03", "DigiCert SHA2 Secure Server CA", ...).
DEFAULT_EXPECTED_ISSUERS = ("Microsoft", "DigiCert")
DEFAULT_TIMEOUT = 10

# Response headers (snake case, as win_uri returns them) that only a proxy adds to a page it
# generated itself; a tunnelled answer from the service never carries them.
PROXY_MARKER_HEADERS = ("x_squid_error", "proxy_authenticate", "proxy_agent", "proxy_connection", "via")
PROXY_SERVER_RE = re.compile(
    r"squid|tinyproxy|proxy|bluecoat|zscaler|web gateway|fortigate|forcepoint|websense|netcache", re.I
)

# win_uri.ps1 (ansible.windows 3.3.0) line ~205: every exception of the request ends up as
#   $module.FailJson("Unhandled exception occurred when sending web request. Exception: $($_.Exception.Message)", $_)
WIN_URI_EXCEPTION_PREFIX = "Unhandled exception occurred when sending web request. Exception: "
# The .NET System.Net.WebException messages (Status in parentheses) we classify.
DOTNET_NAME_RE = re.compile(r"The remote name could not be resolved: '(?P<name>[^']*)'")  # NameResolutionFailure
DOTNET_PROXY_NAME_RE = re.compile(
    r"The proxy name could not be resolved: '(?P<name>[^']*)'"
)  # ProxyNameResolutionFailure
DOTNET_CONNECT = "Unable to connect to the remote server"  # ConnectFailure
DOTNET_TIMEOUT = "The operation has timed out"  # Timeout
DOTNET_TRUST = "Could not establish trust relationship for the SSL/TLS secure channel"  # TrustFailure
DOTNET_SEND = "An unexpected error occurred on a send"  # SendFailure (TLS handshake refused/reset)

_TUNNEL_RE = re.compile(r"Tunnel connection failed: (\d{3})")


class ProbeError(Exception):
    """A usage problem (missing library, unreadable CA file) rather than a probe outcome."""


def require_requests() -> None:
    if not HAS_REQUESTS:
        raise ProbeError(
            "via=controller needs the Python library 'requests' on the controller "
            "(pip install requests): %s" % REQUESTS_IMPORT_ERROR
        )


# --------------------------------------------------------------------------------------------
# classification and hints
# --------------------------------------------------------------------------------------------


def normalize_headers(headers) -> dict:
    """``{'X-Squid-Error': ..}`` -> ``{'x_squid_error': ..}`` (win_uri's snake case)."""
    if not headers:
        return {}
    return {str(k).lower().replace("-", "_"): v for k, v in dict(headers).items()}


def proxy_generated(headers) -> bool:
    """True when the response carries the marks of a page the proxy produced itself."""
    headers = normalize_headers(headers)
    if any(headers.get(name) for name in PROXY_MARKER_HEADERS):
        return True
    return bool(PROXY_SERVER_RE.search(str(headers.get("server") or "")))


def classify_http(endpoint: Endpoint, status: int, headers=None, connect_refused: bool = False) -> str:
    """Outcome of an HTTP answer ``status`` for ``endpoint`` (see the rules in ``_endpoints``).

    ``connect_refused``: the proxy answered the CONNECT itself with this status.
    """
    by_proxy = proxy_generated(headers)
    if status == 407 or (status == 401 and (connect_refused or by_proxy)):
        # Some proxies (tinyproxy) answer wrong credentials with 401 instead of 407; on a CONNECT, or on
        # a page the proxy produced, a 401 can only be about the proxy's own authentication.
        return "proxy_auth_required"
    if connect_refused:
        return "blocked_by_proxy"
    if endpoint.rule == "sensor_ping":
        return REACHABLE if status == 200 and not by_proxy else "blocked_by_proxy"
    if endpoint.rule == "sensor_root":
        return REACHABLE if status == 503 and not by_proxy else "blocked_by_proxy"
    if endpoint.rule == "crl":
        ok = 200 <= status < 400 or status == 404
        return REACHABLE if ok else "blocked_by_proxy"
    if (status == 403 or status >= 500) and by_proxy:
        return "blocked_by_proxy"
    return REACHABLE


def issuer_expected(issuer: str | None, expected_issuers) -> bool:
    """True when ``issuer`` contains one of the ``expected_issuers`` fragments (case-insensitive)."""
    if not issuer:
        return True  # nothing to judge
    text = issuer.lower()
    return any(str(fragment).lower() in text for fragment in expected_issuers or ())


def account_sid(account: str | None) -> str | None:
    return well_known_sid(account)


def _copy_target(account: str | None) -> str:
    sid = account_sid(account)
    if sid:
        return "%s (%s)" % (sid, account)
    return "S-1-5-19 (LocalService) and S-1-5-18 (LocalSystem)"


def hint_for(
    outcome: str,
    endpoint: Endpoint,
    *,
    via: str = "target",
    status: int | None = None,
    issuer: str | None = None,
    proxy: str | None = None,
    account: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """One sentence telling the admin what to change; empty for ``reachable``."""
    pattern = endpoint.allow_pattern
    host = endpoint.host
    copy = "copy the proxy to %s with atp.sensor_proxy.win_wininet_proxy" % _copy_target(account)
    if outcome == REACHABLE:
        return ""
    if outcome == "proxy_auth_required":
        return (
            "Allow anonymous (unauthenticated) access to %s on the proxy: the sensor's service account "
            "cannot answer the proxy's authentication challenge (HTTP 407)." % pattern
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
            "Exclude %s from SSL/TLS inspection on the proxy: the certificate was issued by '%s', not by "
            "Microsoft or DigiCert, and the sensor's mutual TLS breaks behind inspection." % (pattern, issuer)
        )
    if outcome == "tls_error":
        if via == "target":
            return (
                "Exclude %s from SSL/TLS inspection and make sure this host trusts the Microsoft and DigiCert root "
                "CAs and has TLS 1.2 enabled (target mode cannot see the issuer: run with via: controller to see it)."
                % pattern
            )
        return (
            "Check the certificate chain of %s (issuer: %s): trust its CA with ca_path if it is legitimate, "
            "or exclude %s from SSL/TLS inspection." % (host, issuer or "not visible", pattern)
        )
    if outcome == "dns_failure":
        if via == "target":
            return (
                "This account tried to resolve %s itself, so it has no proxy: %s (or let this host resolve "
                "public names)." % (host, copy)
            )
        return "The controller cannot resolve %s: set the proxy option to the corporate proxy, or fix DNS." % host
    if outcome == "connection_refused":
        if via == "target":
            return (
                "Nothing accepted the connection to %s:%s: if this account should go through the proxy, %s; "
                "otherwise open the firewall." % (host, endpoint.port, copy)
            )
        return "Nothing accepted the connection to %s:%s: open the firewall or set the proxy option." % (
            host,
            endpoint.port,
        )
    if outcome == "timeout":
        if via == "target":
            return (
                "No answer within %s s from %s: check the firewall and the proxy's egress, or %s if this account "
                "goes direct." % (timeout, host, copy)
            )
        return "No answer within %s s from %s: check the firewall and the proxy's egress." % (timeout, host)
    if outcome == "proxy_unreachable":
        where = (
            "this account's WinINet settings (%s)" % _copy_target(account) if via == "target" else "the proxy option"
        )
        return (
            "The proxy %s could not be reached: check its address in %s and the firewall between this host and the proxy."
            % (
                proxy or "(configured)",
                where,
            )
        )
    raise ValueError("unknown outcome %r" % outcome)


def _rule_text(endpoint: Endpoint) -> str:
    return RULES.get(endpoint.rule, endpoint.rule)


def make_result(
    endpoint: Endpoint,
    outcome: str,
    *,
    via: str,
    status: int | None = None,
    elapsed: float | None = None,
    proxy: str | None = None,
    tls_issuer: str | None = None,
    error: str | None = None,
    account: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict:
    if outcome not in OUTCOMES:
        raise ValueError("unknown outcome %r" % outcome)
    return {
        "url": endpoint.url,
        "endpoint": endpoint.id,
        "status": status,
        "elapsed": round(float(elapsed or 0.0), 3),
        "proxy": proxy,
        "tls_issuer": tls_issuer,
        "outcome": outcome,
        "hint": hint_for(
            outcome,
            endpoint,
            via=via,
            status=status,
            issuer=tls_issuer,
            proxy=proxy,
            account=account,
            timeout=timeout,
        ),
        "error": error,
    }


# --------------------------------------------------------------------------------------------
# via: target (ansible.windows.win_uri, one call per URL)
# --------------------------------------------------------------------------------------------


def win_uri_args(endpoint: Endpoint, timeout: int = DEFAULT_TIMEOUT, validate_certs: bool = True) -> dict:
    """Arguments for one ``ansible.windows.win_uri`` call (docs/dev/contracts.md).

    ``status_code`` accepts every code so that win_uri returns the answer instead of failing;
    ``use_proxy`` stays at its default (true): the request uses the account's WinINet proxy.
    """
    return {
        "url": endpoint.url,
        "method": "GET",
        "status_code": list(range(100, 600)),
        "follow_redirects": "none",
        "validate_certs": bool(validate_certs),
        "timeout": int(timeout),
        "return_content": False,
    }


def _status_int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def classify_win_uri(
    endpoint: Endpoint,
    result: dict,
    *,
    expected_proxy: str | None = None,
    account: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict:
    """Turn one win_uri result into a probe result.

    ``expected_proxy``: the proxy the probed account is configured with, when the caller knows it.
    win_uri does not say whether the request went through a proxy, so without it ``proxy`` is
    null unless the failure itself names it ("direct" for a local DNS failure, the proxy's name
    for a proxy DNS failure), and "Unable to connect" counts as ``connection_refused``.
    """
    proxy = expected_proxy if expected_proxy and expected_proxy != DIRECT else None
    if expected_proxy == DIRECT:
        proxy = DIRECT
    elapsed = result.get("elapsed")
    status = _status_int(result.get("status_code"))
    msg = str(result.get("msg") or "")
    common = {"via": "target", "elapsed": elapsed, "account": account, "timeout": timeout}

    if not result.get("failed") and status is not None:
        outcome = classify_http(endpoint, status, result)
        return make_result(endpoint, outcome, status=status, proxy=proxy, **common)

    exception = msg[len(WIN_URI_EXCEPTION_PREFIX) :] if msg.startswith(WIN_URI_EXCEPTION_PREFIX) else msg
    error = msg or "win_uri failed without a message"
    if status is not None:
        # A WebException that still carried a response (not the IgnoreBadResponse path).
        outcome = classify_http(endpoint, status, result)
        return make_result(endpoint, outcome, status=status, proxy=proxy, error=error, **common)
    match = DOTNET_PROXY_NAME_RE.search(exception)
    if match:
        return make_result(endpoint, "proxy_unreachable", proxy=match.group("name"), error=error, **common)
    if DOTNET_NAME_RE.search(exception):
        # With a proxy the client never resolves the remote name itself: this request went direct.
        return make_result(endpoint, "dns_failure", proxy=DIRECT, error=error, **common)
    if DOTNET_CONNECT in exception:
        outcome = "proxy_unreachable" if proxy and proxy != DIRECT else "connection_refused"
        return make_result(endpoint, outcome, proxy=proxy, error=error, **common)
    if DOTNET_TIMEOUT in exception:
        return make_result(endpoint, "timeout", proxy=proxy, error=error, **common)
    if DOTNET_TRUST in exception or DOTNET_SEND in exception:
        return make_result(endpoint, "tls_error", proxy=proxy, error=error, **common)
    # Other connection-level WebExceptions ("The underlying connection was closed: The connection
    # was closed unexpectedly.", "... on a receive.") mean the connection was refused or reset.
    return make_result(endpoint, "connection_refused", proxy=proxy, error=error, **common)


# --------------------------------------------------------------------------------------------
# via: controller (requests, concurrent)
# --------------------------------------------------------------------------------------------


def proxy_display(proxy: str | None) -> str:
    """``http://user:pw@proxy:8080`` -> ``http://proxy:8080``; None -> ``direct``."""
    if not proxy:
        return DIRECT
    parts = urlsplit(_with_scheme(proxy))
    netloc = parts.hostname or ""
    if parts.port:
        netloc = "%s:%d" % (netloc, parts.port)
    return urlunsplit((parts.scheme, netloc, "", "", ""))


def _with_scheme(proxy: str) -> str:
    return proxy if "://" in proxy else "http://" + proxy


def _proxy_with_auth(proxy: str, username: str | None, password: str | None) -> str:
    parts = urlsplit(_with_scheme(proxy))
    if username is None:
        return urlunsplit(parts)
    netloc = "%s:%s@%s" % (quote(username, safe=""), quote(password or "", safe=""), parts.hostname)
    if parts.port:
        netloc += ":%d" % parts.port
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def redact(text: str | None, secrets) -> str | None:
    """Remove every form of the secrets (plain, URL-quoted, inside Basic credentials) from ``text``."""
    if text is None:
        return None
    forms = set()
    for secret in secrets:
        if secret:
            forms.update({secret, quote(secret, safe=""), quote(secret)})
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "********")
    return text


def _exc_chain(exc: BaseException):
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        yield current
        stack.append(getattr(current, "reason", None))
        stack.append(current.__cause__)
        stack.append(current.__context__)
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))


def classify_exception(exc: BaseException, proxied: bool) -> tuple[str, int | None]:
    """(outcome, status) for a requests/urllib3 exception; status is the proxy's CONNECT answer."""
    chain = list(_exc_chain(exc))
    text = " | ".join(str(e) for e in chain)
    match = _TUNNEL_RE.search(text)
    if match:
        status = int(match.group(1))
        return ("proxy_auth_required" if status in (401, 407) else "blocked_by_proxy"), status

    def has(*types) -> bool:
        return any(isinstance(e, types) for e in chain)

    # urllib3's NewConnectionError (refused, DNS) subclasses ConnectTimeoutError: test it first.
    dns = has(socket.gaierror, urllib3.exceptions.NameResolutionError)
    refused = has(ConnectionRefusedError) or "Connection refused" in text
    connect_timeout = any(
        isinstance(e, (urllib3.exceptions.ConnectTimeoutError, requests.exceptions.ConnectTimeout))
        and not isinstance(e, urllib3.exceptions.NewConnectionError)
        for e in chain
    ) and not (dns or refused)
    timed_out = connect_timeout or "timed out" in text.lower()
    timed_out = timed_out or (has(socket.timeout, requests.exceptions.ReadTimeout) and not (dns or refused))
    if has(requests.exceptions.ProxyError, urllib3.exceptions.ProxyError):
        if timed_out and not connect_timeout:
            return "timeout", None
        return "proxy_unreachable", None
    if proxied and (connect_timeout or dns or refused):
        return "proxy_unreachable", None
    if dns:
        return "dns_failure", None
    if refused:
        return "connection_refused", None
    if timed_out:
        return "timeout", None
    if has(ssl.SSLError, urllib3.exceptions.SSLError, requests.exceptions.SSLError):
        return "tls_error", None
    return "connection_refused", None


def _resolving_pools(mapping: dict) -> dict:
    """Test seam: connect to ``mapping[name]`` instead of resolving ``name`` (direct connections only).

    TLS still uses the original name for SNI and certificate checks. Production never passes a
    mapping; through a proxy the proxy resolves the name, as it does for real.
    """

    def connection_class(base):
        class _Resolving(base):
            def _new_conn(self):
                name = self._dns_host
                self._dns_host = mapping.get(name.rstrip(".").lower(), name)
                try:
                    return super()._new_conn()
                finally:
                    self._dns_host = name

        return _Resolving

    return {
        "http": type("_ResolvingHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": connection_class(HTTPConnection)}),
        "https": type(
            "_ResolvingHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": connection_class(HTTPSConnection)}
        ),
    }


if HAS_REQUESTS:

    class _ProbeAdapter(requests.adapters.HTTPAdapter):
        """Uses one prepared ``ssl.SSLContext`` for every connection, direct or tunnelled.

        requests would otherwise hand urllib3 its CA bundle path for every new connection, and
        loading that bundle costs about 0.25 s of CPU under the GIL: 20 URLs would then take
        seconds of serial work instead of running side by side.
        """

        def __init__(self, ssl_context=None, pool_classes=None):
            self._ssl_context = ssl_context
            self._pool_classes = pool_classes
            super().__init__(max_retries=0)

        def init_poolmanager(self, *args, **kwargs):
            if self._ssl_context is not None:
                kwargs["ssl_context"] = self._ssl_context
            super().init_poolmanager(*args, **kwargs)
            if self._pool_classes:
                self.poolmanager.pool_classes_by_scheme = dict(self._pool_classes)

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            if self._ssl_context is not None:
                proxy_kwargs["ssl_context"] = self._ssl_context
            return super().proxy_manager_for(proxy, **proxy_kwargs)

        def cert_verify(self, conn, url, verify, cert):
            if verify is True and self._ssl_context is not None:
                conn.cert_reqs = "CERT_REQUIRED"
                conn.ca_certs = None
                conn.ca_cert_dir = None
                return
            super().cert_verify(conn, url, verify, cert)


def verify_context(ca_path: str | None = None) -> ssl.SSLContext:
    """requests' default CA bundle plus the extra bundle ``ca_path`` (added, not instead), loaded once."""
    context = ssl.create_default_context(cafile=requests.certs.where())
    if ca_path:
        if not os.path.isfile(ca_path):
            raise ProbeError("ca_path: '%s' is not a readable CA bundle file on the controller" % ca_path)
        try:
            context.load_verify_locations(cafile=ca_path)
        except (OSError, ssl.SSLError) as exc:
            raise ProbeError("ca_path: cannot load '%s' as PEM CA certificates: %s" % (ca_path, exc)) from exc
    return context


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def peek_issuer(
    host: str,
    port: int,
    *,
    proxy: str | None = None,
    proxy_username: str | None = None,
    proxy_password: str | None = None,
    timeout: float = 5.0,
    resolve: dict | None = None,
) -> str | None:
    """Issuer (RFC 4514) of the certificate ``host:port`` presents on the same route, unverified.

    A second handshake with verification off, so the issuer is visible even when verification
    failed. Through a proxy it opens its own CONNECT tunnel. None when it cannot be seen.
    """
    if not HAS_CRYPTOGRAPHY or timeout <= 0.05:
        return None
    try:
        if proxy:
            parts = urlsplit(_with_scheme(proxy))
            sock = socket.create_connection((parts.hostname, parts.port or 8080), timeout=timeout)
            lines = ["CONNECT %s:%d HTTP/1.1" % (host, port), "Host: %s:%d" % (host, port)]
            if proxy_username is not None:
                token = base64.b64encode(("%s:%s" % (proxy_username, proxy_password or "")).encode()).decode()
                lines.append("Proxy-Authorization: Basic %s" % token)
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            head = _read_head(sock)
            if not re.match(rb"HTTP/1\.[01] 200", head):
                sock.close()
                return None
        else:
            address = (resolve or {}).get(host.lower(), host)
            sock = socket.create_connection((address, port), timeout=timeout)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with context.wrap_socket(sock, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ValueError):
        return None
    if not der:
        return None
    return x509.load_der_x509_certificate(der).issuer.rfc4514_string()


def _probe_one(endpoint: Endpoint, cfg: dict) -> dict:
    start = time.monotonic()
    timeout = cfg["timeout"]
    proxy = cfg["proxy"]
    secrets = cfg["secrets"]
    proxied = bool(proxy)
    status = None
    issuer = None
    error = None
    session = requests.Session()
    session.trust_env = False  # only the proxy option counts, never HTTPS_PROXY & co.
    adapter = _ProbeAdapter(cfg["ssl_context"], _resolving_pools(cfg["resolve"]) if cfg["resolve"] else None)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    proxies = {"http": cfg["proxy_url"], "https": cfg["proxy_url"]} if proxied else {}
    tls_seen = False
    try:
        response = session.get(
            endpoint.url,
            timeout=(timeout, timeout),
            allow_redirects=False,
            verify=cfg["verify"],
            proxies=proxies,
            stream=True,
        )
        status = response.status_code
        headers = dict(response.headers)
        response.close()
        outcome = classify_http(endpoint, status, headers)
        tls_seen = endpoint.scheme == "https"
    except requests.exceptions.RequestException as exc:
        outcome, status = classify_exception(exc, proxied)
        error = redact(str(exc), secrets)[:1000]
        tls_seen = outcome == "tls_error"
    finally:
        session.close()
    if tls_seen:
        # The peek is a local handshake over a route that just answered: it gets what is left of the
        # URL's timeout, but at least 1 s, so a slow first attempt on a busy controller does not hide
        # the issuer (a TLS failure then takes at most timeout + 2 s, with the one retry).
        for _attempt in range(2):  # one retry: a dropped handshake must not hide the issuer
            remaining = max(start + timeout - time.monotonic(), 1.0)
            issuer = peek_issuer(
                endpoint.host,
                endpoint.port,
                proxy=proxy,
                proxy_username=cfg["proxy_username"],
                proxy_password=cfg["proxy_password"],
                timeout=min(remaining, 5.0),
                resolve=cfg["resolve"],
            )
            if issuer:
                break
        if issuer and not issuer_expected(issuer, cfg["expected_issuers"]):
            outcome = "tls_intercepted"
    return make_result(
        endpoint,
        outcome,
        via="controller",
        status=status,
        elapsed=time.monotonic() - start,
        proxy=proxy_display(proxy),
        tls_issuer=issuer,
        error=error,
        account=None,
        timeout=timeout,
    )


def probe_controller(
    endpoints,
    *,
    proxy: str | None = None,
    proxy_username: str | None = None,
    proxy_password: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    validate_certs: bool = True,
    ca_path: str | None = None,
    expected_issuers=DEFAULT_EXPECTED_ISSUERS,
    resolve: dict | None = None,
) -> list:
    """Probe every endpoint from this machine, all at once; results keep the endpoints' order.

    Each URL gets its own ``requests.Session`` and thread, so the total time is bounded by the
    slowest URL (connect and read each bounded by ``timeout``), never by the sum.
    ``resolve`` is a test seam (name -> address for direct connections); production passes None.
    """
    require_requests()
    endpoints = list(endpoints)
    if proxy_password is not None and proxy_username is None:
        raise ProbeError("proxy_password needs proxy_username")
    if proxy_username is not None and not proxy:
        raise ProbeError("proxy_username/proxy_password need proxy")
    context = verify_context(ca_path) if validate_certs else None
    if not validate_certs:
        # The user asked for it; the warning would only clutter the task output.
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    secrets = [s for s in (proxy_password,) if s]
    if proxy_username is not None and proxy_password:
        secrets.append(base64.b64encode(("%s:%s" % (proxy_username, proxy_password)).encode()).decode())
    cfg = {
        "timeout": float(timeout),
        "proxy": proxy,
        "proxy_url": _proxy_with_auth(proxy, proxy_username, proxy_password) if proxy else None,
        "proxy_username": proxy_username,
        "proxy_password": proxy_password,
        "secrets": secrets,
        "verify": bool(validate_certs),
        "ssl_context": context,
        "expected_issuers": list(expected_issuers or ()),
        "resolve": {k.lower(): v for k, v in (resolve or {}).items()},
    }
    if not endpoints:
        return []
    with ThreadPoolExecutor(max_workers=min(64, len(endpoints)), thread_name_prefix="atp-probe") as pool:
        return list(pool.map(lambda ep: _probe_one(ep, cfg), endpoints))


# --------------------------------------------------------------------------------------------
# summary and reports
# --------------------------------------------------------------------------------------------


def summarize(results, *, via: str, account: str | None, elapsed_total: float, round_trips: int = 0) -> dict:
    failing = [
        {"url": r["url"], "endpoint": r["endpoint"], "outcome": r["outcome"], "hint": r["hint"]}
        for r in results
        if r["outcome"] != REACHABLE
    ]
    return {
        "changed": False,
        "results": list(results),
        "all_reachable": not failing,
        "failing": failing,
        "elapsed_total": round(float(elapsed_total), 3),
        "via": via,
        "account": account,
        "round_trips": round_trips,
    }


def failure_message(summary: dict) -> str:
    items = "; ".join("%s (%s)" % (f["url"], f["outcome"]) for f in summary["failing"])
    return "%d of %d endpoint(s) not reachable: %s" % (len(summary["failing"]), len(summary["results"]), items)


def report_target(path: str, host: str, suffix: str) -> str:
    """A directory (existing, or given with a trailing slash) gets one file per host; else ``path``."""
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", host) or "host"
        return os.path.join(path, safe + suffix)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    return path


@contextlib.contextmanager
def _locked(path: str):
    """Exclusive lock on ``<path>.lock``: forks of one run (several hosts) merge into one file safely."""
    with open(path + ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _atomic_write(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _report_entry(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "changed"}


def write_json_report(path: str, host: str, summary: dict) -> str:
    """Merge this host's summary into ``{"hosts": {host: summary}}`` at ``path``; returns the file."""
    target = report_target(path, host, ".json")
    with _locked(target):
        data = {"hosts": {}}
        if os.path.exists(target):
            try:
                with open(target, encoding="utf-8") as handle:
                    loaded = json.load(handle)
                if isinstance(loaded, dict) and isinstance(loaded.get("hosts"), dict):
                    data = loaded
            except (OSError, ValueError):
                pass
        data["hosts"][host] = _report_entry(summary)
        data["all_reachable"] = all(h.get("all_reachable") for h in data["hosts"].values())
        _atomic_write(target, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return target


def junit_suite(host: str, summary: dict) -> ET.Element:
    """One ``<testsuite>`` per host, one ``<testcase>`` per URL; unreachable URLs are failures."""
    results = summary["results"]
    suite = ET.Element(
        "testsuite",
        name=host,
        tests=str(len(results)),
        failures=str(len(summary["failing"])),
        errors="0",
        skipped="0",
        time="%.3f" % summary["elapsed_total"],
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="atp_endpoint_probe.%s" % host,
            name="%s %s" % (result["endpoint"], result["url"]),
            time="%.3f" % result["elapsed"],
        )
        details = "outcome=%s status=%s proxy=%s tls_issuer=%s via=%s account=%s" % (
            result["outcome"],
            result["status"],
            result["proxy"],
            result["tls_issuer"],
            summary["via"],
            summary["account"],
        )
        if result["outcome"] != REACHABLE:
            failure = ET.SubElement(case, "failure", message="%s: %s" % (result["outcome"], result["hint"]))
            failure.set("type", result["outcome"])
            failure.text = details + ("\nerror: %s" % result["error"] if result["error"] else "")
        ET.SubElement(case, "system-out").text = details
    return suite


def write_junit_report(path: str, host: str, summary: dict) -> str:
    """Merge this host's ``<testsuite>`` into the ``<testsuites>`` file at ``path``; returns the file."""
    target = report_target(path, host, ".xml")
    with _locked(target):
        root = None
        if os.path.exists(target):
            try:
                root = ET.parse(target).getroot()
            except (OSError, ET.ParseError):
                root = None
        if root is None or root.tag != "testsuites":
            root = ET.Element("testsuites", name="atp_endpoint_probe")
        for old in [s for s in root.findall("testsuite") if s.get("name") == host]:
            root.remove(old)
        root.append(junit_suite(host, summary))
        suites = root.findall("testsuite")
        root.set("tests", str(sum(int(s.get("tests", 0)) for s in suites)))
        root.set("failures", str(sum(int(s.get("failures", 0)) for s in suites)))
        root.set("errors", "0")
        ET.indent(root)
        _atomic_write(target, ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")
    return target

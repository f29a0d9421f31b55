# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``via: controller``: the concurrent ``requests`` prober.

Pure Python, no Ansible imports.

:func:`probe_controller` probes every URL from this machine, one thread and session per URL, so the total time is
the slowest URL's. The proxy's credentials are those of :mod:`_probe._proxy_auth` (one pair for every request,
redacted in every form from everything returned); after each HTTPS answer the issuer check
(:func:`_probe._issuer.peek_issuer`) looks at the certificate on the same route, and the outcome, hint and
TLS-inspection verdict are those of :mod:`_probe._outcomes`, as for the target side.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _issuer as issuer_check
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _libraries as libraries
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _proxy_auth as proxy_auth
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._endpoints import Endpoint
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._libraries import (
    HAS_REQUESTS,
    HTTPConnection,
    HTTPConnectionPool,
    HTTPSConnection,
    HTTPSConnectionPool,
    requests,
    urllib3,
)

ProbeError = outcomes.ProbeError
USER_AGENT = "atp.sensor_proxy atp_endpoint_probe"
_TUNNEL_RE = re.compile(r"Tunnel connection failed: (\d{3})")


def require_requests() -> None:
    if not HAS_REQUESTS:
        raise ProbeError(libraries.missing("requests", "via=controller"))


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


def classify_exception(exc: BaseException, proxied: bool) -> tuple:
    """(outcome, status, cause) for a requests/urllib3 exception; status is the proxy's CONNECT answer.

    Exception types first (urllib3's and Python's), then the tunnel's status line; ``unknown`` when
    nothing matches.
    """
    chain = list(_exc_chain(exc))
    text = " | ".join(str(e) for e in chain)
    match = _TUNNEL_RE.search(text)
    if match:
        status = int(match.group(1))
        # A refused CONNECT is the proxy's answer, whatever it says (a plain 403 included).
        return ("proxy_auth_required" if status in (401, 407) else "blocked_by_proxy"), status, None

    def has(*types) -> bool:
        return any(isinstance(e, types) for e in chain)

    # urllib3's NewConnectionError (refused, DNS) subclasses ConnectTimeoutError: test it first.
    dns = has(socket.gaierror, urllib3.exceptions.NameResolutionError)
    refused = has(ConnectionRefusedError)
    reset = has(ConnectionResetError, ConnectionAbortedError)
    connect_timeout = any(
        isinstance(e, (urllib3.exceptions.ConnectTimeoutError, requests.exceptions.ConnectTimeout))
        and not isinstance(e, urllib3.exceptions.NewConnectionError)
        for e in chain
    ) and not (dns or refused)
    timed_out = connect_timeout or (
        has(socket.timeout, TimeoutError, requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError)
        and not (dns or refused)
    )
    tls = has(ssl.SSLError, urllib3.exceptions.SSLError, requests.exceptions.SSLError)
    if has(requests.exceptions.ProxyError, urllib3.exceptions.ProxyError):
        if timed_out and not connect_timeout:
            return "timeout", None, None
        return "proxy_unreachable", None, None
    if proxied and (connect_timeout or dns or refused):
        return "proxy_unreachable", None, None
    if dns:
        return "dns_failure", None, None
    if refused:
        return "connection_refused", None, None
    if timed_out:
        return "timeout", None, None
    if tls:
        verify = has(ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text
        return "tls_error", None, ("trust" if verify else "handshake")
    if reset:
        return "connection_refused", None, "reset"
    return "unknown", None, None


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


def _probe_one(endpoint: Endpoint, cfg: dict) -> dict:
    start = time.monotonic()
    timeout = cfg["timeout"]
    proxy = cfg["proxy"]
    secrets = cfg["secrets"]
    proxied = bool(proxy)
    status = None
    issuer = None
    why = None
    error = None
    cause = None
    session = requests.Session()
    session.trust_env = False  # only the proxy option counts, never HTTPS_PROXY & co.
    session.headers["User-Agent"] = USER_AGENT
    adapter = _ProbeAdapter(cfg["ssl_context"], _resolving_pools(cfg["resolve"]) if cfg["resolve"] else None)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    proxies = {"http": cfg["proxy_url"], "https": cfg["proxy_url"]} if proxied else {}
    https = endpoint.scheme == "https"
    tls_route = False
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
        outcome = outcomes.classify_http(endpoint, status, headers)
        tls_route = https
    except requests.exceptions.RequestException as exc:
        outcome, status, cause = classify_exception(exc, proxied)
        error = redaction.redact(str(exc), secrets)[:1000]
        tls_route = outcome == "tls_error"
    finally:
        session.close()
    if not https:
        why = "plain HTTP: no TLS"
    elif not tls_route:
        why = "no TLS handshake happened: %s" % outcome
    else:
        # The peek is a local handshake over a route that just answered: it gets what is left of the
        # URL's timeout, but at least 1 s (a TLS failure then takes at most timeout + 1 s).
        remaining = max(start + timeout - time.monotonic(), 1.0)
        issuer, why = issuer_check.peek_issuer(endpoint.host, endpoint.port, proxy=proxy,
                                               proxy_username=cfg["proxy_username"],
                                               proxy_password=cfg["proxy_password"], timeout=remaining,
                                               resolve=cfg["resolve"])
        why = redaction.redact(why, secrets)
    how = "seen by the controller %s" % ("through %s" % proxy_auth.proxy_display(proxy) if proxy else "directly")
    state, detail = outcomes.inspection_verdict(issuer, cfg["expected_issuers"], why, how)
    outcome = outcomes.inspected_outcome(outcome, state)
    return outcomes.make_result(
        endpoint,
        outcome,
        via="controller",
        mode="controller",
        status=status,
        elapsed=time.monotonic() - start,
        proxy=proxy_auth.proxy_display(proxy),
        tls_issuer=issuer,
        tls_inspection=state,
        tls_inspection_detail=detail,
        error=error,
        cause=cause,
        account=None,
        timeout=timeout,
        expected_issuers=cfg["expected_issuers"],
        operator_credentials=cfg["proxy_username"] is not None,
    )


def probe_controller(
    endpoints,
    *,
    proxy: str | None = None,
    proxy_username: str | None = None,
    proxy_password: str | None = None,
    timeout: float = outcomes.DEFAULT_TIMEOUT,
    validate_certs: bool = True,
    ca_path: str | None = None,
    expected_issuers=outcomes.DEFAULT_EXPECTED_ISSUERS,
    resolve: dict | None = None,
) -> list:
    """Probe every endpoint from this machine, all at once; results keep the endpoints' order.

    ``resolve`` is a test seam (name -> address for direct connections); production passes None.
    """
    require_requests()
    endpoints = list(endpoints)
    secrets = proxy_auth.credential_secrets(proxy, proxy_username, proxy_password)
    try:
        bare, username, password = proxy_auth.proxy_credentials(proxy, proxy_username, proxy_password)
    except ProbeError as exc:
        raise ProbeError(redaction.redact(str(exc), secrets)) from None
    secrets = proxy_auth.credential_secrets(proxy, username, password) + secrets
    context = verify_context(ca_path) if validate_certs else None
    if not validate_certs:
        # The user asked for it; the warning would only clutter the task output.
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    cfg = {
        "timeout": float(timeout),
        "proxy": bare,
        "proxy_url": proxy_auth.proxy_with_auth(bare, username, password) if bare else None,
        "proxy_username": username,
        "proxy_password": password,
        "secrets": secrets,
        "verify": bool(validate_certs),
        "ssl_context": context,
        "expected_issuers": list(expected_issuers or ()),
        "resolve": {k.lower(): v for k, v in (resolve or {}).items()},
    }
    if not endpoints:
        return []
    with ThreadPoolExecutor(max_workers=min(64, len(endpoints)), thread_name_prefix="atp-probe") as pool:
        results = list(pool.map(lambda ep: _probe_one(ep, cfg), endpoints))
    return redaction.scrub_secrets(results, secrets)

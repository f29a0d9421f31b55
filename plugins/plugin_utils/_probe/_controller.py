# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``via: controller``: the concurrent ``requests`` prober, and the issuer check both modes use.

Pure Python, no Ansible imports.

* :func:`probe_controller` probes every URL from this machine, one thread and session per URL, so the
  total time is the slowest URL's. The proxy's credentials, given as ``proxy_username``/``proxy_password``
  or as ``user:password@`` in the proxy URL, are one pair used for every request (the probe and the
  issuer check) and redacted, in every form, from everything returned.
* :func:`peek_issuer` reads the issuer of the certificate a host presents on a route (direct, or
  through a CONNECT tunnel), with verification off, so the issuer is visible even when verification
  failed. It answers ``(issuer, why)``: the issuer, or why it could not be seen.
* :func:`cached_issuer` is the target-mode check: the controller looks through the proxy a host uses,
  once per proxy and destination per run, however many hosts and forks ask (a file lock per key in a
  directory that lives as long as the run).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import re
import socket
import ssl
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, unquote, urlsplit, urlunsplit

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

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._endpoints import Endpoint

DIRECT = outcomes.DIRECT
ProbeError = outcomes.ProbeError
USER_AGENT = "atp.sensor_proxy atp_endpoint_probe"
ISSUER_CHECK_AGENT = "atp.sensor_proxy issuer check"
_TUNNEL_RE = re.compile(r"Tunnel connection failed: (\d{3})")


def require_requests() -> None:
    if not HAS_REQUESTS:
        raise ProbeError(
            "via=controller needs the Python library 'requests' on the controller "
            "(pip install requests): %s" % REQUESTS_IMPORT_ERROR
        )


# --------------------------------------------------------------------------------------------
# proxies and credentials
# --------------------------------------------------------------------------------------------


def _with_scheme(proxy: str) -> str:
    return proxy if "://" in proxy else "http://" + proxy


def proxy_display(proxy: str | None) -> str:
    """``http://user:pw@proxy:8080`` -> ``http://proxy:8080``; None -> ``direct``."""
    if not proxy:
        return DIRECT
    parts = urlsplit(_with_scheme(proxy))
    netloc = parts.hostname or ""
    if parts.port:
        netloc = "%s:%d" % (netloc, parts.port)
    return urlunsplit((parts.scheme, netloc, "", "", ""))


def proxy_credentials(proxy: str | None, username: str | None, password: str | None) -> tuple:
    """(proxy URL without credentials, username, password), whichever way the credentials were given.

    Raises :class:`ProbeError` naming the options when they are given twice or incompletely.
    """
    if password is not None and username is None:
        raise ProbeError("proxy_password needs proxy_username")
    if not proxy:
        if username is not None:
            raise ProbeError("proxy_username/proxy_password need proxy")
        return None, None, None
    parts = urlsplit(_with_scheme(proxy))
    if parts.username is not None or parts.password is not None:
        if username is not None:
            raise ProbeError("proxy: credentials are given both in the proxy URL and in proxy_username; give them once")
        username, password = unquote(parts.username or ""), unquote(parts.password or "")
    if not parts.hostname:
        raise ProbeError("proxy: '%s' is not a proxy URL (http://host:port)" % proxy_display(proxy))
    return proxy_display(proxy), username, password


def credential_secrets(proxy: str | None, username: str | None, password: str | None) -> list:
    """Every string that would reveal the password: as given, as written in the URL, inside Basic."""
    secrets = []
    if password:
        secrets.append(password)
        secrets.append(base64.b64encode(("%s:%s" % (username or "", password)).encode()).decode())
    if proxy and "@" in proxy:
        raw = urlsplit(_with_scheme(proxy)).password
        if raw:
            secrets.append(raw)
    return secrets


def _proxy_with_auth(proxy: str, username: str | None, password: str | None) -> str:
    parts = urlsplit(_with_scheme(proxy))
    if username is None:
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    netloc = "%s:%s@%s" % (quote(username, safe=""), quote(password or "", safe=""), parts.hostname)
    if parts.port:
        netloc += ":%d" % parts.port
    return urlunsplit((parts.scheme, netloc, "", "", ""))


# --------------------------------------------------------------------------------------------
# the issuer check
# --------------------------------------------------------------------------------------------


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
) -> tuple:
    """``(issuer, why)``: the issuer (RFC 4514) of the certificate ``host:port`` presents on this route,
    unverified, or None and why it could not be seen. Through a proxy it opens its own CONNECT tunnel,
    with the same credentials as the probe."""
    if not HAS_CRYPTOGRAPHY:
        return None, "the Python library 'cryptography' is not installed on the controller"
    deadline = time.monotonic() + max(float(timeout), 1.0)
    sock = None
    try:
        if proxy:
            parts = urlsplit(_with_scheme(proxy))
            where = "%s:%d" % (parts.hostname, parts.port or 8080)
            try:
                sock = socket.create_connection((parts.hostname, parts.port or 8080), timeout=timeout)
            except OSError as exc:
                return None, "the controller could not connect to the proxy %s: %s" % (where, exc)
            lines = ["CONNECT %s:%d HTTP/1.1" % (host, port), "Host: %s:%d" % (host, port),
                     "User-Agent: %s" % ISSUER_CHECK_AGENT]
            if proxy_username is not None:
                token = base64.b64encode(("%s:%s" % (proxy_username, proxy_password or "")).encode()).decode()
                lines.append("Proxy-Authorization: Basic %s" % token)
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            head = _read_head(sock)
            match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
            if not match:
                return None, "the proxy %s closed the issuer check's CONNECT without an answer" % where
            if match.group(1) != b"200":
                return None, "the proxy %s answered the issuer check's CONNECT with HTTP %s" % (
                    where, match.group(1).decode())
        else:
            address = (resolve or {}).get(host.lower(), host)
            try:
                sock = socket.create_connection((address, port), timeout=timeout)
            except OSError as exc:
                return None, "the controller could not connect to %s:%d: %s" % (host, port, exc)
        sock.settimeout(max(deadline - time.monotonic(), 0.5))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        tls = context.wrap_socket(sock, server_hostname=host)
        sock = tls
        der = tls.getpeercert(binary_form=True)
    except (OSError, ValueError) as exc:
        return None, "the issuer check's TLS handshake with %s:%d failed: %s" % (host, port, exc)
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
    if not der:
        return None, "%s:%d presented no certificate" % (host, port)
    return x509.load_der_x509_certificate(der).issuer.rfc4514_string(), None


def cached_issuer(
    cache_dir: str,
    proxy: str,
    host: str,
    port: int,
    *,
    timeout: float,
    proxy_username: str | None = None,
    proxy_password: str | None = None,
    peek=None,
) -> dict:
    """The target-mode issuer check: ``{issuer, why, proxy, checked_at, cached}``.

    One check per (proxy, user, host, port) and ``cache_dir``: the first caller (any process) takes an
    exclusive lock on the key's lock file, checks and writes the answer; the others wait on the lock and
    read it. The file holds the issuer or the reason only, never a credential. The action plugin gives a
    directory inside ansible-core's per-run local temporary directory (``DEFAULT_LOCAL_TMP``, created
    by the controller process before it forks its workers, removed when the run ends).
    """
    key = "|".join([proxy_display(proxy), proxy_username or "", host.lower(), str(int(port))])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    path = os.path.join(cache_dir, digest + ".json")
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if os.path.exists(path):
                try:
                    with open(path, encoding="utf-8") as handle:
                        data = json.load(handle)
                    data["cached"] = True
                    return data
                except (OSError, ValueError):
                    pass
            issuer, why = (peek or peek_issuer)(host, port, proxy=proxy, proxy_username=proxy_username,
                                                proxy_password=proxy_password, timeout=timeout)
            data = {"issuer": issuer, "why": why, "proxy": proxy_display(proxy), "host": host, "port": int(port),
                    "checked_at": time.time()}
            fd, tmp = tempfile.mkstemp(prefix=".issuer.", dir=cache_dir)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
            os.replace(tmp, path)
            data["cached"] = False
            return data
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------
# requests machinery
# --------------------------------------------------------------------------------------------


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
        error = outcomes.redact(str(exc), secrets)[:1000]
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
        issuer, why = peek_issuer(endpoint.host, endpoint.port, proxy=proxy, proxy_username=cfg["proxy_username"],
                                  proxy_password=cfg["proxy_password"], timeout=remaining, resolve=cfg["resolve"])
        why = outcomes.redact(why, secrets)
    how = "seen by the controller %s" % ("through %s" % proxy_display(proxy) if proxy else "directly")
    state, detail = outcomes.inspection_verdict(issuer, cfg["expected_issuers"], why, how)
    outcome = outcomes.inspected_outcome(outcome, state)
    return outcomes.make_result(
        endpoint,
        outcome,
        via="controller",
        mode="controller",
        status=status,
        elapsed=time.monotonic() - start,
        proxy=proxy_display(proxy),
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
    secrets = credential_secrets(proxy, proxy_username, proxy_password)
    try:
        bare, username, password = proxy_credentials(proxy, proxy_username, proxy_password)
    except ProbeError as exc:
        raise ProbeError(outcomes.redact(str(exc), secrets)) from None
    secrets = credential_secrets(proxy, username, password) + secrets
    context = verify_context(ca_path) if validate_certs else None
    if not validate_certs:
        # The user asked for it; the warning would only clutter the task output.
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    cfg = {
        "timeout": float(timeout),
        "proxy": bare,
        "proxy_url": _proxy_with_auth(bare, username, password) if bare else None,
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
    return outcomes.scrub(results, secrets)

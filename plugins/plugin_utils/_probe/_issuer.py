# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The issuer check: which CA issued the certificate a host presents on a route, seen from the controller.

Pure Python, no Ansible imports.

* :func:`peek_issuer` reads the issuer of the certificate a host presents on a route (direct, or
  through a CONNECT tunnel), with verification off, so the issuer is visible even when verification
  failed. It answers ``(issuer, why)``: the issuer, or why it could not be seen. Both probe modes use it:
  the controller prober after each HTTPS request, and the target mode through :func:`cached_issuer`.
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
from urllib.parse import urlsplit

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _libraries as libraries
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._proxy_auth import proxy_display, with_scheme

ISSUER_CHECK_AGENT = "atp.sensor_proxy issuer check"


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
    if not libraries.HAS_CRYPTOGRAPHY:
        return None, "the Python library 'cryptography' is not installed on the controller"
    deadline = time.monotonic() + max(float(timeout), 1.0)
    sock = None
    try:
        if proxy:
            parts = urlsplit(with_scheme(proxy))
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
    return libraries.x509.load_der_x509_certificate(der).issuer.rfc4514_string(), None


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

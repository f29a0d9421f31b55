# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real network parts of the lab, all on 127.0.0.1: an HTTPS "sensor API", the CRL hosts and a real HTTP proxy.

* :class:`SensorApi`: a TLS server (certificate from a ``trustme`` CA) that answers like the
  Defender for Identity sensor API: 503 on ``/``, 200 on ``/tri/sensor/api/ping`` (503 for the older
  workspace :data:`OLD_SENSOR_HOST`), 404 otherwise. ``issuer`` is its CA's name (RFC 4514).
* :class:`CrlServer`: a plain-HTTP server standing in for ``crl.microsoft.com`` and
  ``ctldl.windowsupdate.com`` (the CDN behind them): 200 with the CDN's content type for the
  files the probe's catalogue names (``plugins/plugin_utils/_probe/_urls.py`` ``CRL_URLS``), 404 otherwise.
* :class:`ProxyPy`: a real ``proxy.py`` process (``--port 0 --port-file``), optional
  ``--basic-auth`` (a proper 407), with :mod:`tests.lab.proxy_plugin` as its DNS and request log;
  :func:`deny_through_proxy` makes it refuse a host with a plain 403 (no marker headers).
* :class:`MitmProxy`: an SSL-inspection proxy: it answers CONNECT, presents a certificate for the
  requested host from its own CA and relays the decrypted traffic to the real upstream.
* :func:`set_win_uri_fault`: the faults of the lab's ``win_uri`` stand-in (a localized .NET, a DC that
  offers only old TLS, a failed ``become``), kept in ``lab.json`` ``win_uri_faults``.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import http.server
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import trustme

from tests.lab.state import REPO_ROOT, load_by_path, resolve_name

# The sensor v3's identity channel (<geoLocationUrl>cnc/identity/api), the geoLocationUrl of the lab's onboarding
# info (system_state.seed_v3_sensor): the same server answers it.
V3_GEO_HOST = "lab.endpoint.security.microsoft.com"
SENSOR_NAMES = ["*.atp.azure.com", V3_GEO_HOST, "localhost", "127.0.0.1"]
# The lab's Defender for Identity workspace: its sensor API name resolves to SensorApi (through the proxy).
WORKSPACE_NAME = "contoso-corp"
SENSOR_HOST = WORKSPACE_NAME + "sensorapi.atp.azure.com"
# An older workspace: its ping route answers 503 (ATADocs test-connectivity.md: "This is a temporary state that
# still indicates success"). Cloud/tests register it like SENSOR_HOST.
OLD_WORKSPACE_NAME = "contoso-old"
OLD_SENSOR_HOST = OLD_WORKSPACE_NAME + "sensorapi.atp.azure.com"
PROXY_NAME = "proxy.corp:8080"
ENDPOINTS_PATH = REPO_ROOT / "plugins" / "plugin_utils" / "_probe" / "_urls.py"


def endpoints():
    """The probe's published endpoints (``_probe/_urls.py``, pure data), loaded by file path like the codec."""
    return load_by_path("atp_lab_endpoints", ENDPOINTS_PATH)


class _SensorHandler(http.server.BaseHTTPRequestHandler):
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def do_GET(self):  # noqa: N802 (http.server naming)
        self.server.requests.append({"path": self.path, "host": self.headers.get("Host", "")})
        path = self.path.split("?", 1)[0]
        old = self.headers.get("Host", "").split(":", 1)[0].lower() == OLD_SENSOR_HOST
        if path == "/tri/sensor/api/ping" and old:
            status, body = 503, b"<h1>Service Unavailable</h1>"
        elif path == "/tri/sensor/api/ping":
            status, body = 200, b""
        elif path == "/":
            status, body = 503, b"<h1>Service Unavailable</h1>"
        elif path == "/cnc/identity/api":
            # Test-MDISensorApiConnection counts this 500 as the v3 identity channel being reached.
            status, body = 500, b"Internal Server Error"
        else:
            status, body = 404, b"Not Found"
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if body else "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that went away (its timeout) is no error of the server


class _TlsServer(_QuietServer):
    """Each connection's TLS handshake in that connection's own thread: a server whose listening socket is wrapped
    handshakes inside ``accept()``, so one slow client (a CPU-starved lab DC among many probing at once) would hold
    up every other connection."""

    context: ssl.SSLContext

    def finish_request(self, request, client_address):
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client gave up the handshake (it did not trust the certificate, or timed out)
        super().finish_request(request, client_address)


class _ThreadedServer:
    """start/stop/context manager for a server with ``self.httpd`` served by ``self.thread``."""

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# The lab's stand-in for the CA that issues Microsoft's service certificates: its name carries "Microsoft", as the
# real issuers' do ("Microsoft Azure RSA TLS Issuing CA 03", O=Microsoft Corporation), so that a probe judging the
# chain it received against the default expected issuers (Microsoft, DigiCert) sees the lab's sensor API as genuine,
# and the inspecting proxy's CA (MitmProxy) as the interception it is.
SENSOR_CA_ORGANIZATION = "Microsoft Corporation"
SENSOR_CA_UNIT = "atp.sensor_proxy lab stand-in for Microsoft Azure RSA TLS Issuing CA"


class SensorApi(_ThreadedServer):
    """HTTPS sensor API on 127.0.0.1:<random port> with a fresh trustme CA named like Microsoft's issuing CA."""

    def __init__(self, directory, names=None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name=SENSOR_CA_ORGANIZATION, organization_unit_name=SENSOR_CA_UNIT)
        self.ca_file = self.dir / "lab-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        cert = self.ca.issue_cert(*(names or SENSOR_NAMES))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self.httpd = _TlsServer(("127.0.0.1", 0), _SensorHandler)
        self.httpd.daemon_threads = True
        self.httpd.requests = []
        self.httpd.context = context
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def requests(self) -> list:
        return self.httpd.requests

    @property
    def issuer(self) -> str:
        from cryptography import x509

        return x509.load_pem_x509_certificate(self.ca.cert_pem.bytes()).subject.rfc4514_string()


# Content types the CDN serves for these files (crl.microsoft.com / ctldl.windowsupdate.com answer a
# GET of the .crl with application/pkix-crl and of the .cab with application/vnd.ms-cab-compressed).
_CRL_CONTENT_TYPES = {".crl": "application/pkix-crl", ".cab": "application/vnd.ms-cab-compressed",
                      ".stl": "application/vnd.ms-pki.stl", ".txt": "text/plain"}


class _CrlHandler(http.server.BaseHTTPRequestHandler):
    server_version = "ECAcc (lab)"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def _answer(self, with_body: bool):
        host = self.headers.get("Host", "").split(":", 1)[0].lower()
        path = self.path.split("?", 1)[0]
        if "://" in path:  # absolute-form request line (a client that talks to us as a proxy)
            path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
        self.server.requests.append({"method": self.command, "path": path, "host": host})
        body = self.server.files.get((host, path)) if host else None
        if body is None and not host:
            body = next((b for (dummy, p), b in self.server.files.items() if p == path), None)
        if body is None:
            status, ctype, body = 404, "text/html", b"<h2>404 - File or directory not found.</h2>"
        else:
            status = 200
            ctype = _CRL_CONTENT_TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if status == 200:
            self.send_header("ETag", '"%s"' % hashlib.sha1(body).hexdigest()[:16])
            self.send_header("Last-Modified", self.server.last_modified)
            self.send_header("Cache-Control", "max-age=900")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server naming)
        self._answer(True)

    def do_HEAD(self):  # noqa: N802
        self._answer(False)

    def log_message(self, *args):
        pass


class CrlServer(_ThreadedServer):
    """Plain-HTTP stand-in for the CRL/CTL hosts on 127.0.0.1:<random port>.

    It serves every ``http://`` URL of the probe's ``CRL_URLS`` (200, the CDN's content type,
    ETag, Last-Modified) and 404 for anything else, like the CDN. :meth:`register` makes the
    hosts resolvable **through the proxy only** (``proxy_dns``), as the Internet names they
    are: from a DC without a proxy they do not resolve.
    """

    def __init__(self, urls=None):
        from urllib.parse import urlsplit

        self.urls = [u for dummy, u in (urls or endpoints().CRL_URLS)]
        files = {}
        for url in self.urls:
            parts = urlsplit(url)
            files[(parts.hostname.lower(), parts.path)] = b"lab content of " + url.encode()
        self.hosts = sorted({h for h, dummy in files})
        self.httpd = _QuietServer(("127.0.0.1", 0), _CrlHandler)
        self.httpd.daemon_threads = True
        self.httpd.requests = []
        self.httpd.files = files
        self.httpd.last_modified = email.utils.formatdate(time.time() - 86400, usegmt=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def requests(self) -> list:
        """``[{method, path, host}]`` in arrival order."""
        return self.httpd.requests

    def register(self, lab) -> None:
        """Make each CRL host (port 80) resolve to this server, through the proxy only (a ``state.Lab``)."""
        for host in self.hosts:
            lab.add_dns("%s:80" % host, "127.0.0.1:%d" % self.port, proxy_only=True)


class ProxyPy:
    """A real proxy.py on 127.0.0.1, in its own process. ``log()`` returns the requests it saw."""

    def __init__(self, directory, lab_dir, basic_auth: str | None = None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.lab_dir = str(lab_dir)
        self.basic_auth = basic_auth
        self.port_file = self.dir / "proxy.port"
        self.log_file = self.dir / "proxy-requests.jsonl"
        self.out_file = self.dir / "proxy.out"
        self.proc = None
        self.port = None

    def start(self, timeout: float = 20.0) -> ProxyPy:
        self.port_file.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0",
               "--port-file", str(self.port_file), "--num-acceptors", "1", "--num-workers", "1",
               "--plugins", "tests.lab.proxy_plugin.LabProxyPlugin", "--data-dir", str(self.dir / "data"),
               "--log-level", "WARNING", "--timeout", "10"]
        if self.basic_auth:
            cmd += ["--basic-auth", self.basic_auth]
        env = dict(os.environ, ATP_LAB_DIR=self.lab_dir, ATP_LAB_PROXY_LOG=str(self.log_file),
                   PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
        out = open(self.out_file, "wb")
        self.proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), env=env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.port_file.exists() and self.port_file.read_text().strip():
                self.port = int(self.port_file.read_text().strip())
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("proxy.py did not start: %s" % self.out_file.read_text(errors="replace")[-2000:])

    def log(self) -> list:
        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Cloud:
    """Everything a DC talks to, for the demo, the benchmark and ``lab cloud start``: the sensor API of
    ``WORKSPACE_NAME`` (also a sensor v3's identity channel, ``V3_GEO_HOST``), the CRL hosts (all only through the
    proxy) and a real proxy.py known to the DCs as ``PROXY_NAME``.

        with Cloud(lab_env.lab, tmp_dir) as cloud: ...   # cloud.api, cloud.crl, cloud.proxy
    """

    def __init__(self, lab, directory):
        self.lab = lab
        self.dir = Path(directory)
        self.api = self.crl = self.proxy = None

    def start(self) -> Cloud:
        try:
            self.api = SensorApi(self.dir / "api").start()
            self.crl = CrlServer().start()
            self.proxy = ProxyPy(self.dir / "proxy", self.lab.dir).start()
        except BaseException:
            self.stop()
            raise
        self.lab.update_config(ca_file=str(self.api.ca_file))
        self.lab.add_dns(PROXY_NAME, "127.0.0.1:%d" % self.proxy.port)
        self.lab.add_dns("%s:443" % SENSOR_HOST, "127.0.0.1:%d" % self.api.port, proxy_only=True)
        # A sensor v3's identity channel (the geoLocationUrl of the onboarding info seed-sensor --v3 writes): the same
        # sensor API answers it (HTTP 500, as the service does to the probe), through the proxy only.
        self.lab.add_dns("%s:443" % V3_GEO_HOST, "127.0.0.1:%d" % self.api.port, proxy_only=True)
        self.crl.register(self.lab)
        return self

    def stop(self) -> None:
        for part in (self.proxy, self.crl, self.api):
            if part is not None:
                part.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def deny_through_proxy(lab, host: str) -> None:
    """Make the lab's proxy.py refuse ``host`` (CONNECT and plain requests) with a plain ``403 Forbidden``:
    no Proxy-Agent, Via or X-Squid-Error, so only the status says the proxy refused (a ``state.Lab``)."""
    lab.update_config(proxy_deny={host.lower(): True})


# --------------------------------------------------------------------------------------------
# The win_uri stand-in's faults
# --------------------------------------------------------------------------------------------
# Read by tests/lab/collections/.../modules/win_uri.py from lab.json "win_uri_faults" {host: {fault: value}}.
WIN_URI_FAULTS = {
    "language": "'de-DE': the .NET WebException messages in German, as on a DC with the German language pack",
    "tls_max": "'TLSv1' or 'TLSv1_1': the DC offers nothing newer, as .NET 4.x does without SchUseStrongCrypto",
    "become": "'seclogon_disabled' (CreateProcessWithTokenW fails, Win32ErrorCode 1058) or 'no_system_token' "
              "(runas cannot get the SYSTEM token: the connection user is no administrator)",
}


def set_win_uri_fault(lab, host: str, fault: str, value=True) -> None:
    """Switch a fault of the lab's ``win_uri`` on ``host`` on (``value``) or off (None/False)."""
    if fault not in WIN_URI_FAULTS:
        raise ValueError("unknown win_uri fault %r; known: %s" % (fault, ", ".join(sorted(WIN_URI_FAULTS))))
    mine = dict((lab.config().get("win_uri_faults") or {}).get(host) or {})
    if value in (None, False):
        mine.pop(fault, None)
    else:
        mine[fault] = value
    lab.update_config(win_uri_faults={host: mine})


# --------------------------------------------------------------------------------------------
# An SSL-inspection proxy
# --------------------------------------------------------------------------------------------


class MitmProxy:
    """A small TLS-intercepting proxy on 127.0.0.1: answers CONNECT with 200, terminates TLS with a
    certificate for the requested host signed by its own CA (``ca``, a ``trustme.CA``), and relays the
    decrypted traffic to the real upstream over a new TLS connection, like an SSL-inspection proxy.

    ``resolve(host, port) -> (ip, port) | None`` maps the CONNECT target (the lab's ``proxy_dns`` by
    default). ``basic_auth`` (``user:password``) makes it answer a CONNECT without those credentials with
    407 and ``Proxy-Authenticate: Basic``. ``seen`` lists ``{host, port, user_agent, authorized}`` per
    CONNECT, in arrival order.

    Each connection is relayed by ONE thread (:meth:`_relay`): an SSL socket must never be read in one
    thread while another writes it (OpenSSL's SSL objects are not safe for concurrent use). The relay the
    network tests had before used two threads per connection and, at random, lost the answer: the TLS
    tests then waited for their timeout and reported ``timeout``/``proxy_unreachable``.
    """

    def __init__(self, ca, resolve=None, lab_dir=None, basic_auth: str | None = None):
        self.ca = ca
        self.basic_auth = basic_auth
        self.lab_dir = str(lab_dir) if lab_dir else None
        self._resolve = resolve or self._lab_resolve
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.seen: list = []
        self._contexts: dict = {}
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> MitmProxy:
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    @property
    def address(self) -> str:
        return "127.0.0.1:%d" % self.port

    def _lab_resolve(self, host, port):
        from tests.lab.state import read_json

        config = read_json(Path(self.lab_dir) / "lab.json", default=dict) if self.lab_dir else {}
        return resolve_name(config, host, port, "proxy_dns") or resolve_name(config, host, port, "dns")

    def _serve(self):
        while not self._stop:
            try:
                client, dummy = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket):
        inner = upstream = None
        try:
            client.settimeout(30)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            lines = head.split(b"\r\n")
            method, target = lines[0].split(b" ", 2)[:2]
            if method != b"CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            agent = ""
            credentials = None
            for line in lines[1:]:
                name, dummy, value = line.partition(b":")
                if name.strip().lower() == b"user-agent":
                    agent = value.strip().decode("latin-1")
                if name.strip().lower() == b"proxy-authorization" and value.strip().lower().startswith(b"basic "):
                    credentials = base64.b64decode(value.strip()[6:]).decode("utf-8", "replace")
            host, port = target.decode().rsplit(":", 1)
            authorized = self.basic_auth is None or credentials == self.basic_auth
            with self._lock:
                self.seen.append({"host": host, "port": int(port), "user_agent": agent, "authorized": authorized})
            if not authorized:
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                               b"Proxy-Authenticate: Basic realm=\"inspection\"\r\nContent-Length: 0\r\n"
                               b"Connection: close\r\n\r\n")
                return
            address = self._resolve(host, int(port))
            if address is None:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            inner = self._context_for(host).wrap_socket(client, server_side=True)
            upstream_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            upstream_ctx.check_hostname = False
            upstream_ctx.verify_mode = ssl.CERT_NONE
            upstream = upstream_ctx.wrap_socket(socket.create_connection(address, timeout=30), server_hostname=host)
            self._relay(inner, upstream)
        except (OSError, ValueError):
            pass
        finally:
            for sock in (inner, upstream, client):
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass

    @staticmethod
    def _relay(a, b) -> None:
        """Copy both ways until either side closes, in this one thread.

        Reads are non-blocking and tried before waiting: OpenSSL may already hold a record that arrived with
        the handshake (a client's request right behind its Finished), which neither ``select`` (the kernel
        buffer is empty) nor ``pending()`` (not yet decrypted) would report.
        """
        other = {a: b, b: a}
        for sock in other:
            sock.setblocking(False)
        while True:
            moved = False
            for src in (a, b):
                try:
                    data = src.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    continue
                if not data:
                    return
                dst = other[src]
                dst.setblocking(True)
                dst.settimeout(30)
                try:
                    dst.sendall(data)
                finally:
                    dst.setblocking(False)
                moved = True
            if not moved and not select.select([a, b], [], [], 30)[0]:
                return  # idle for 30 s

    def _context_for(self, host: str) -> ssl.SSLContext:
        """One forged certificate per host, issued once."""
        with self._lock:
            if host not in self._contexts:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                self.ca.issue_cert(host).configure_cert(context)
                self._contexts[host] = context
            return self._contexts[host]

    def controller_checks(self) -> list:
        """The CONNECTs of the probe's controller-side issuer check (its User-Agent says so)."""
        return [s for s in self.seen if "issuer check" in s["user_agent"]]

    def stop(self):
        self._stop = True
        self.listener.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

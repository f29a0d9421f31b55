# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real network parts on 127.0.0.1 for the endpoint probe (no internet, every port is port 0).

Fixtures:

* ``test_ca``: a trustme CA ("the Microsoft CA" of these tests), its PEM file and issuer string;
* ``sensor_api``: a real HTTPS server mimicking the sensor API (503 on ``/``, 200 on
  ``/tri/sensor/api/ping`` but 503 for the older workspace :data:`OLD_WORKSPACE_HOST`, 200 on anything
  else) with a certificate for ``localhost``, ``127.0.0.1`` and the fake Microsoft names in
  :data:`SENSOR_NAMES`;
* ``crl_origin``: a plain HTTP server answering 200 (the CRL hosts);
* ``start_proxy``: starts proxy.py (subprocess) optionally with ``--basic-auth`` and an ACL
  denying some hosts (403), with a resolver mapping :data:`SENSOR_NAMES` to 127.0.0.1;
* ``mitm_proxy``, ``auth_mitm_proxy``: the lab's TLS-intercepting proxy (``tests/lab/network.py``
  ``MitmProxy``) re-signing with its own CA, without and with Basic authentication;
* ``closed_port``, ``blackhole``: a port nobody listens on, a socket that accepts and never answers;
* ``dns_map``: the name -> 127.0.0.1 map to pass as the prober's ``resolve`` test seam.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from tests.lab.network import MitmProxy

HERE = Path(__file__).resolve().parent
SENSOR_NAMES = (
    "contososensorapi.atp.azure.com",
    "blockedsensorapi.atp.azure.com",
    "triprd1wceuw1sensorapi.atp.azure.com",
    "crl.microsoft.com",
    "ctldl.windowsupdate.com",
    "winatp-gw-weu.microsoft.com",
    "oldwssensorapi.atp.azure.com",
)
# An older workspace: its ping route answers 503, which Microsoft says "still indicates success".
OLD_WORKSPACE_HOST = "oldwssensorapi.atp.azure.com"
PROXY_USER = "svc-probe"
# Characters that URL quoting changes, so that both forms must be redacted.
PROXY_PASSWORD = "S3cret-Pr0xy:PW@/%!"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server API
        path = self.path.split("?", 1)[0]
        delay = getattr(self.server, "delay", 0)
        if delay:
            time.sleep(delay)
        old = self.headers.get("Host", "").split(":")[0].lower() == OLD_WORKSPACE_HOST
        if getattr(self.server, "tls", False) and (path == "/" or (old and path == "/tri/sensor/api/ping")):
            code, body = 503, b"Service Unavailable"
        else:
            code, body = 200, b"OK"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    """TLS handshakes happen in each request's own thread, so one slow or aborted client never stalls
    the accept loop (wrapping the listening socket would handshake inside accept())."""

    daemon_threads = True
    ssl_context: ssl.SSLContext | None = None

    def handle_error(self, request, client_address):
        pass  # a client that drops the connection (the issuer check does, after the handshake) is no error

    def finish_request(self, request, client_address):
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return  # the client gave up the handshake (e.g. it does not trust our CA)
        super().finish_request(request, client_address)


def start_http_server(context: ssl.SSLContext | None = None, delay: float = 0.0) -> _Server:
    """A real HTTP(S) server on 127.0.0.1:0 in a daemon thread; ``.server_port`` tells the port."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.delay = delay
    server.tls = context is not None
    server.ssl_context = context
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class CA:
    ca: trustme.CA
    pem: str
    issuer: str


def _ca(tmp: Path, name: str, organization: str) -> CA:
    from cryptography import x509

    ca = trustme.CA(organization_name=organization)
    pem = tmp / ("%s.pem" % name)
    ca.cert_pem.write_to_path(str(pem))
    issuer = x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject.rfc4514_string()
    return CA(ca, str(pem), issuer)


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory) -> CA:
    return _ca(tmp_path_factory.mktemp("ca"), "sensor_ca", "ATP Test Root CA")


@pytest.fixture(scope="session")
def dns_map() -> dict:
    return {name: "127.0.0.1" for name in SENSOR_NAMES}


@pytest.fixture(scope="session")
def sensor_api(test_ca):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.ca.issue_cert("localhost", "127.0.0.1", *SENSOR_NAMES).configure_cert(context)
    server = start_http_server(context)
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def crl_origin():
    server = start_http_server()
    yield server
    server.shutdown()


@dataclass
class RunningProxy:
    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port


def _wait_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("proxy on port %d did not come up" % port)


@pytest.fixture
def start_proxy(tmp_path, dns_map):
    """Factory: ``start_proxy(basic_auth='user:pass', deny=('host',))`` -> a running proxy.py."""
    started: list[RunningProxy] = []

    def start(basic_auth: str | None = None, deny=()) -> RunningProxy:
        port_file = tmp_path / ("proxy%d.port" % len(started))
        argv = [
            sys.executable,
            "-m",
            "proxy",
            "--hostname",
            "127.0.0.1",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--num-acceptors",
            "1",
            "--num-workers",
            "2",
            "--plugins",
            "atp_probe_proxy_plugins.MapAndDenyPlugin",
            "--log-level",
            "WARNING",
        ]
        if basic_auth:
            argv += ["--basic-auth", basic_auth]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
        env["ATP_TEST_DNS_MAP"] = json.dumps(dns_map)
        env["ATP_TEST_DENY"] = ",".join(deny)
        env["HOME"] = str(tmp_path)  # proxy.py keeps its state under ~/.proxy
        log = tmp_path / ("proxy%d.log" % len(started))
        with open(log, "wb") as handle:
            process = subprocess.Popen(argv, cwd=str(tmp_path), env=env, stdout=handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None:
                raise RuntimeError("proxy.py exited with %s: %s" % (process.returncode, log.read_text()[-2000:]))
            time.sleep(0.05)
        port = int(port_file.read_text().strip())
        _wait_port(port, deadline)
        running = RunningProxy(process, port)
        started.append(running)
        return running

    yield start
    for running in started:
        running.process.terminate()
        try:
            running.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            running.process.kill()


@pytest.fixture(scope="session")
def intercept_ca(tmp_path_factory) -> CA:
    return _ca(tmp_path_factory.mktemp("mitm"), "inspection_ca", "Contoso SSL Inspection")


@pytest.fixture
def mitm_proxy(intercept_ca, dns_map):
    """The SSL-inspection proxy of the lab (tests/lab/network.py), upstreams resolved with ``dns_map``."""
    proxy = MitmProxy(intercept_ca.ca, resolve=lambda host, port: (dns_map.get(host, host), port)).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def auth_mitm_proxy(intercept_ca, dns_map):
    """The same, but it wants ``PROXY_USER``/``PROXY_PASSWORD`` (Basic) on every CONNECT, else 407."""
    proxy = MitmProxy(intercept_ca.ca, resolve=lambda host, port: (dns_map.get(host, host), port),
                      basic_auth="%s:%s" % (PROXY_USER, PROXY_PASSWORD)).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def blackhole():
    """A port that accepts connections and never sends a byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept():
        while True:
            try:
                conn, dummy = listener.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for conn in held:
        conn.close()


@pytest.fixture
def both_cas(tmp_path, test_ca, intercept_ca) -> str:
    """One bundle trusting the sensor CA and the inspection CA (an admin who trusts the proxy's CA)."""
    path = tmp_path / "both.pem"
    path.write_text(Path(test_ca.pem).read_text() + Path(intercept_ca.pem).read_text())
    return str(path)

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real network parts of the lab, all on 127.0.0.1: an HTTPS "sensor API" and a real HTTP proxy.

* :class:`SensorApi`: a TLS server (certificate from a ``trustme`` CA) that answers like the
  Defender for Identity sensor API: 503 on ``/``, 200 on ``/tri/sensor/api/ping``, 404 otherwise.
* :class:`ProxyPy`: a real ``proxy.py`` process (``--port 0 --port-file``), optional
  ``--basic-auth`` (a proper 407), with :mod:`tests.lab.proxy_plugin` as its DNS and request log.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import trustme

from tests.lab.state import REPO_ROOT

SENSOR_NAMES = ["*.atp.azure.com", "localhost", "127.0.0.1"]


class _SensorHandler(http.server.BaseHTTPRequestHandler):
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def do_GET(self):  # noqa: N802 (http.server naming)
        self.server.requests.append({"path": self.path, "host": self.headers.get("Host", "")})
        path = self.path.split("?", 1)[0]
        if path == "/tri/sensor/api/ping":
            status, body = 200, b""
        elif path == "/":
            status, body = 503, b"<h1>Service Unavailable</h1>"
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


class SensorApi:
    """HTTPS sensor API on 127.0.0.1:<random port> with a fresh trustme CA."""

    def __init__(self, directory, names=None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA()
        self.ca_file = self.dir / "lab-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        cert = self.ca.issue_cert(*(names or SENSOR_NAMES))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SensorHandler)
        self.httpd.daemon_threads = True
        self.httpd.requests = []
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def requests(self) -> list:
        return self.httpd.requests

    def start(self) -> SensorApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


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

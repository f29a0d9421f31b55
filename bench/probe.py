# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: is the controller prober really concurrent?

20 local HTTPS URLs (a real TLS server on 127.0.0.1 with a trustme CA) that each answer after 1 s.
Prints the single-URL latency, the concurrent wall time for all 20, a serial loop over the same 20,
and the ratios. Goal: concurrent <= 1.3 x single-URL latency. Run: ``make bench`` (or
``PYTHONPATH=.build/collections .venv/bin/python bench/probe.py [--urls N] [--delay S]``).
"""

from __future__ import annotations

import argparse
import os
import ssl
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _controller as probe
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._endpoints import Endpoint

GOAL = 1.3


class SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server API
        time.sleep(self.server.delay)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=20)
    parser.add_argument("--delay", type=float, default=1.0)
    opts = parser.parse_args()

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = Server(("127.0.0.1", 0), SlowHandler)
    server.delay = opts.delay
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fd, ca_pem = tempfile.mkstemp(suffix=".pem")
    os.close(fd)
    ca.cert_pem.write_to_path(ca_pem)

    port = server.server_port
    endpoints = [
        Endpoint("url_%d" % i, "https://127.0.0.1:%d/slow/%d" % (port, i), "service", "extra") for i in range(opts.urls)
    ]
    kwargs = {"ca_path": ca_pem, "expected_issuers": ["trustme"], "timeout": 10}

    def timed(eps):
        start = time.monotonic()
        results = probe.probe_controller(eps, **kwargs)
        assert all(r["outcome"] == "reachable" for r in results), results
        return time.monotonic() - start

    try:
        timed(endpoints[:1])  # warm-up (imports, CA bundle)
        single = timed(endpoints[:1])
        concurrent = timed(endpoints)
        serial = sum(timed([endpoint]) for endpoint in endpoints)
    finally:
        server.shutdown()
        os.unlink(ca_pem)

    print("urls: %d, each answering after %.1f s" % (opts.urls, opts.delay))
    print("single-URL latency: %.2f s" % single)
    print("concurrent wall time: %.2f s" % concurrent)
    print("serial loop: %.2f s" % serial)
    print("concurrent / serial: %.3f (speed-up x%.1f)" % (concurrent / serial, serial / concurrent))
    ratio = concurrent / single
    print("concurrent / single-URL latency: %.2f (goal <= %.1f): %s" % (ratio, GOAL, "OK" if ratio <= GOAL else "MISSED"))
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: is the target-mode probe script really concurrent? Measured on the lab.

One lab DC probes, as LocalService through its WinINet proxy (a real proxy.py), N HTTPS URLs (default 20) of a real
TLS server on 127.0.0.1 that answers each after its own delay (from 0.3 s up to ``--delay``, the slowest), with
``atp_endpoint_probe`` in a real ``ansible-playbook`` run, the lab's PowerShell executor running the probe script.
It prints the probe's own wall time (``elapsed_total``) for the slowest URL alone, for all N URLs with the script
engine (one win_powershell run, the requests side by side) and with the win_uri engine (one call per URL), and the
ratios. Goal: all N URLs <= 1.5 x the slowest URL alone. ``--latency`` models the WinRM cost of each remote command.

    PYTHONPATH=.build/collections:. .venv/bin/python bench/probe_script.py [--urls 20] [--delay 1.0] [--latency 0]
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
from pathlib import Path

import trustme

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab.fixtures import LabEnv  # noqa: E402
from tests.lab.network import PROXY_NAME, SENSOR_CA_ORGANIZATION, ProxyPy  # noqa: E402

GOAL = 1.5
PROBE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: probe
      atp.sensor_proxy.atp_endpoint_probe:
        products: []
        urls: "{{ urls }}"
        include_crl: false
        timeout: 10
        engine: "{{ engine }}"
        expected_proxy: "{{ proxy_name }}"
        tls_inspection_check: false
      become: true
      become_method: ansible.builtin.runas
      become_user: LocalService
"""


class Slow(BaseHTTPRequestHandler):
    """``/delay/<ms>``: 200 after that many milliseconds."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server API
        time.sleep(int(self.path.rsplit("/", 1)[-1]) / 1000.0)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def finish_request(self, request, client_address):
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=20)
    parser.add_argument("--delay", type=float, default=1.0, help="the slowest URL's delay (s)")
    parser.add_argument("--latency", type=float, default=0.0, help="modelled WinRM latency per remote command (s)")
    args = parser.parse_args(argv)
    ca = trustme.CA(organization_name=SENSOR_CA_ORGANIZATION)
    names = ["slow%02d.contoso.example" % i for i in range(args.urls)]
    server = Server(("127.0.0.1", 0), Slow)
    server.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(server.context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    delays = [int(1000 * (0.3 + (args.delay - 0.3) * i / max(args.urls - 1, 1))) for i in range(args.urls)]
    urls = ["https://%s/delay/%d" % (name, ms) for name, ms in zip(names, delays, strict=True)]
    print("urls %d (delays %.1f-%.1f s), latency %.2f s, %d CPUs, load average at start %.2f"
          % (args.urls, delays[0] / 1000, delays[-1] / 1000, args.latency, os.cpu_count(), os.getloadavg()[0]),
          flush=True)
    with tempfile.TemporaryDirectory(prefix="atp-probe-script-") as tmp:
        env = LabEnv(Path(tmp) / "lab", hosts=1)
        ca_file = Path(tmp) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        env.lab.update_config(ca_file=str(ca_file))
        for name in names:
            env.lab.add_dns("%s:443" % name, "127.0.0.1:%d" % server.server_port, proxy_only=True)
        with ProxyPy(Path(tmp) / "proxy", env.lab.dir) as proxy:
            env.lab.add_dns(PROXY_NAME, "127.0.0.1:%d" % proxy.port)
            env.host(env.host_names[0]).seed({"LocalService": {"proxy_server": PROXY_NAME}})
            os.environ["ATP_LAB_LATENCY"] = str(args.latency)

            def probe(chosen, engine):
                run = env.run_playbook(PROBE, extra_vars={"urls": chosen, "engine": engine, "proxy_name": PROXY_NAME})
                result = run.result(env.host_names[0], "probe")
                bad = [r for r in result.get("results") or [] if r["outcome"] != "reachable"]
                if run.rc or bad or not result.get("results"):
                    raise SystemExit("the probe failed:\n%s\n%s" % (bad[:3], run.stdout[-3000:]))
                return result

            try:
                probe(urls[-1:], "script")  # warm-up: imports, agent
                single = probe(urls[-1:], "script")
                many = probe(urls, "script")
                serial = probe(urls, "win_uri")
            finally:
                os.environ.pop("ATP_LAB_LATENCY", None)
                server.shutdown()
    slowest = max(r["elapsed"] for r in many["results"])
    print("slowest URL alone (script engine, 1 round trip): %.2f s (its request %.2f s)"
          % (single["elapsed_total"], single["results"][0]["elapsed"]))
    print("all %d URLs, script engine (%d round trip): %.2f s (slowest request inside %.2f s)"
          % (args.urls, many["round_trips"], many["elapsed_total"], slowest))
    print("all %d URLs, win_uri engine (%d round trips): %.2f s"
          % (args.urls, serial["round_trips"], serial["elapsed_total"]))
    ratio = many["elapsed_total"] / single["elapsed_total"]
    print("script engine, %d URLs / slowest URL alone: %.2f (goal <= %.1f): %s"
          % (args.urls, ratio, GOAL, "OK" if ratio <= GOAL else "MISSED"))
    print("win_uri engine / script engine, %d URLs: %.1fx" % (args.urls, serial["elapsed_total"] / many["elapsed_total"]))
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())

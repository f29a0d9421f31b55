# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A second real proxy, tinyproxy (from apt, installed by make), with its real-world quirk.

tinyproxy answers a CONNECT without credentials with 407, but one with WRONG credentials with
401 Unauthorized (and WWW-Authenticate, not Proxy-Authenticate). Both mean the proxy wants other
credentials, so both must be ``proxy_auth_required``, not ``blocked_by_proxy``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _controller as probe
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._endpoints import Endpoint

pytestmark = pytest.mark.network
TINYPROXY = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def tinyproxy(tmp_path):
    assert os.path.exists(TINYPROXY), "tinyproxy is missing: run make (it installs it from apt)"
    port = _free_port()
    conf = tmp_path / "tinyproxy.conf"
    lines = ["Port %d" % port, "Listen 127.0.0.1", "Timeout 10", "MaxClients 20", "BasicAuth lab secret"]
    if os.geteuid() == 0:  # tinyproxy refuses to run as root without dropping privileges
        lines = ["User nobody", "Group nogroup"] + lines
    conf.write_text("\n".join(lines) + "\n")
    conf.chmod(0o644)
    tmp_path.chmod(0o755)
    process = subprocess.Popen([TINYPROXY, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("tinyproxy did not start") from None
            time.sleep(0.05)
    yield "http://127.0.0.1:%d" % port
    process.terminate()
    process.wait(timeout=5)


def test_tinyproxy_401_for_wrong_credentials_is_proxy_auth_required(tinyproxy, sensor_api, test_ca):
    endpoint = Endpoint("mdi_workspace", "https://localhost:%d/tri/sensor/api/ping" % sensor_api.server_port,
                        "sensor_ping", "mdi")
    trust = {"ca_path": test_ca.pem, "expected_issuers": [test_ca.issuer], "timeout": 5}

    [anonymous] = probe.probe_controller([endpoint], proxy=tinyproxy, **trust)
    assert (anonymous["status"], anonymous["outcome"]) == (407, "proxy_auth_required")

    [wrong] = probe.probe_controller([endpoint], proxy=tinyproxy, proxy_username="lab", proxy_password="nope", **trust)
    assert (wrong["status"], wrong["outcome"]) == (401, "proxy_auth_required")
    assert "nope" not in repr(wrong)
    assert "rejected the credentials given to this probe" in wrong["hint"]

    [right] = probe.probe_controller([endpoint], proxy=tinyproxy, proxy_username="lab", proxy_password="secret",
                                     **trust)
    assert (right["status"], right["outcome"]) == (200, "reachable")


def test_target_mode_classifies_a_proxy_generated_401():
    # What win_uri returns when .NET's CONNECT gets tinyproxy's 401 (IgnoreBadResponse path).
    endpoint = Endpoint("mdi_workspace", "https://contososensorapi.atp.azure.com/tri/sensor/api/ping",
                        "sensor_ping", "mdi")
    headers = {"server": "tinyproxy/1.11.1", "www_authenticate": 'Basic realm="Tinyproxy"'}
    assert outcomes.classify_http(endpoint, 401, headers) == "proxy_auth_required"
    # a 401 from the service itself (no proxy marks) is not the proxy's doing
    assert outcomes.classify_http(endpoint, 401, {"server": "Microsoft-HTTPAPI/2.0"}) == "blocked_by_proxy"

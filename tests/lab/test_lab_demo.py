# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``make demo`` (python -m tests.lab.demo): the probe as LocalService fails before and reaches every URL after."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab import demo
from tests.lab.network import SENSOR_HOST, endpoints

pytestmark = [pytest.mark.lab, pytest.mark.network]

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON_WARNING = re.compile(r"^.*\b[A-Z][A-Za-z]*Warning: .*$", re.M)


def _rows(text):
    """{(host, account, url): outcome} from a "== probe ..." section of the demo's output."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^  (dc\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s+via\s+\S+\s+(\S+)$", line)
        if m:
            rows[(m.group(1), m.group(2), m.group(5))] = m.group(4)
    return rows


def test_demo_probes_every_url_as_every_account():
    """``make demo`` runs ``python -m tests.lab.demo``: the same command here, its whole output read."""
    assert demo.role_vars()["atp_proxy_workspace"] + "sensorapi.atp.azure.com" == SENSOR_HOST
    proc = subprocess.run([sys.executable, "-m", "tests.lab.demo", "--quiet"], cwd=str(REPO_ROOT),
                          capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    # No Python warning from the toolchain between the host lines (the lock pins it clean).
    assert not PYTHON_WARNING.findall(out + proc.stderr), out + proc.stderr
    before = _rows(out.split("== probe before", 1)[1].split("== running", 1)[0])
    after = _rows(out.split("== probe after", 1)[1].split("== round trips", 1)[0])
    urls = ["https://%s/tri/sensor/api/ping" % SENSOR_HOST] + [u for dummy, u in endpoints().CRL_URLS]
    keys = {(h, a, u) for h in ("dc01", "dc02", "dc03", "dc04") for a in ("LocalService", "SYSTEM") for u in urls}
    assert set(after) == keys and set(after.values()) == {"reachable"}, out
    # Before: dc01's and dc02's LocalService have no (usable) proxy; dc03 is already configured.
    assert {before[("dc01", "LocalService", u)] for u in urls} == {"dns_failure"}, out
    assert {before[("dc03", "LocalService", u)] for u in urls} == {"reachable"}, out
    assert "GET crl.microsoft.com:80" in out and "CONNECT %s:443" % SENSOR_HOST in out
    # Each failure with its one-sentence fix, and the proxy in full (host:port)
    probe_before = out.split("== probe before", 1)[1].split("== running", 1)[0]
    assert "via old.corp:3128" in probe_before, probe_before
    assert "        -> The request went direct and" in probe_before, probe_before
    # Each fix names the setting the host's sensor reads: dc04's sensor v2 takes its own SensorConfiguration.json.
    hints, host = {}, None
    for text in probe_before.splitlines():
        if text.startswith("  dc"):
            host = text.split()[0]
        elif text.startswith("        -> "):
            hints.setdefault(host, []).append(text)
    assert hints["dc04"] and all("set the sensor's own proxy in its SensorConfiguration.json" in h and
                                 "WinINet" not in h for h in hints["dc04"]), hints
    assert any("copy the proxy to LocalService (S-1-5-19) with atp.sensor_proxy.win_wininet_proxy" in h
               for h in hints["dc01"]), hints
    # dc04's sensor v2 got its own proxy, and the one line per host says so
    lines = out.split("== one line per host", 1)[1]
    assert "dc04: changed; method sensor_config; wrote SensorConfiguration.json: proxy (none) -> " \
        "http://proxy.corp:8080; restarted AATPSensorUpdater" in lines, lines
    assert "dc03: in_sync; probe LocalService reachable, SYSTEM reachable" in lines

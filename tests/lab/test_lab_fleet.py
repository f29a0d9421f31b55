# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""200 emulated hosts, forks 20: the compare module finishes on every host without errors."""

from __future__ import annotations

import pytest

from tests.lab.state import codec

pytestmark = pytest.mark.lab

ADMIN = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}


def test_two_hundred_hosts_forks_20(make_lab):
    env = make_lab(200)
    names = env.host_names
    for i, name in enumerate(names):  # three starting states, spread over the fleet
        host = env.host(name)
        spec = {"user": ADMIN, "SYSTEM": ADMIN}
        if i % 3 == 1:
            spec["LocalService"] = ADMIN
        elif i % 3 == 2:
            spec["LocalService"] = {"proxy_server": "old.corp:3128"}
        host.seed(spec)
    run = env.run_playbook("""
- hosts: all
  gather_facts: false
  tasks:
    - name: compare
      atp.sensor_proxy.win_wininet_proxy_compare:
""", forks=20, timeout=600)
    assert run.rc == 0, run
    assert len(run.stats) == 200
    assert all(s["failures"] == 0 and s["unreachable"] == 0 and s["ok"] == 1 for s in run.stats.values())
    in_sync = {r["host"]: r["result"]["in_sync"] for r in run.task("compare")}
    assert [in_sync[n] for n in names] == [i % 3 == 1 for i in range(200)]
    trips = {n: led["module_calls"] for n, led in env.ledger().items()}
    assert len(set(trips.values())) == 1 and min(trips.values()) >= 1  # same work on every host
    assert env.host(names[1]).proxy_value("LocalService") == codec().encode(ADMIN)

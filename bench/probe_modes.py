# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: what each extra target probe mode (direct, named) costs over the default one, on the emulated lab.

On one N-host lab (default 20 hosts, forks 10; real proxy.py, HTTPS sensor API), SYSTEM probes the workspace
URL with ``modes: [default]`` (the baseline, what the role runs today), then ``[default, direct]`` and
``[default, direct, named]``. It prints, per run, the wall time and its ratio to the baseline of the same
run, the round trips per host counted by the lab ledger (every remote command), the probe's remote commands
per host and per mode (``win_powershell`` runs of the probe script, the default engine, plus any ``win_uri``
calls of the ``win_uri`` engine), and the working modes the probe reported. ``--latency`` models the WinRM cost of each
remote command (seconds), as ``bench/fleet.py`` does.

    PYTHONPATH=.build/collections:. .venv/bin/python bench/probe_modes.py [--hosts 20] [--forks 10] [--latency 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab.fixtures import LabEnv  # noqa: E402
from tests.lab.network import PROXY_NAME, SENSOR_HOST, WORKSPACE_NAME, Cloud  # noqa: E402

PROBE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: probe
      atp.sensor_proxy.atp_endpoint_probe:
        workspace: "{{ workspace }}"
        include_crl: false
        expected_proxy: "{{ proxy_name }}"
        modes: "{{ modes }}"
        proxy: "{{ ('http://' ~ proxy_name) if 'named' in modes else omit }}"
        tls_inspection_check: false
      become: true
      become_method: ansible.builtin.runas
      become_user: SYSTEM
"""
RUNS = (["default"], ["default", "direct"], ["default", "direct", "named"])
PING = "https://%s/tri/sensor/api/ping" % SENSOR_HOST


def measure(env: LabEnv, modes: list, forks: int, latency: float) -> dict:
    env.reset_ledgers()
    os.environ["ATP_LAB_LATENCY"] = str(latency)
    load = os.getloadavg()[0]
    try:
        result = env.run_playbook(PROBE, forks=forks, timeout=3600,
                                  extra_vars={"workspace": WORKSPACE_NAME, "proxy_name": PROXY_NAME, "modes": modes})
    finally:
        os.environ.pop("ATP_LAB_LATENCY", None)
    ledgers = env.ledger()
    trips = [led["module_calls"] for led in ledgers.values()]
    probe_cmds = [led["by_module"].get("win_uri", 0) + led["by_module"].get("win_powershell", 0)
                  for led in ledgers.values()]
    working = set()
    for name in env.host_names:
        found = result.task("probe", name)
        if found:
            working.add(tuple(found[-1]["result"].get("working_modes", {}).get(PING, [])))
    return {"modes": modes, "elapsed": result.elapsed, "rc": result.rc, "trips": trips, "probe_cmds": probe_cmds,
            "working": sorted(working), "load": load, "stdout": result.stdout}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.0, help="modelled WinRM latency per remote command (s)")
    args = parser.parse_args(argv)
    print("hosts %d, forks %d, latency %.2f s, %d CPUs, load average at start %.2f"
          % (args.hosts, args.forks, args.latency, os.cpu_count(), os.getloadavg()[0]), flush=True)
    measured = []
    with tempfile.TemporaryDirectory(prefix="atp-probe-modes-") as tmp:
        env = LabEnv(Path(tmp) / "lab", hosts=args.hosts)
        with Cloud(env.lab, Path(tmp) / "cloud"):
            for name in env.host_names:
                env.host(name).seed({"SYSTEM": {"proxy_server": PROXY_NAME, "bypass": ["<local>"]}})
            measure(env, ["default"], args.forks, args.latency)  # warm-up: imports, agent, caches
            for modes in RUNS:
                measured.append(measure(env, modes, args.forks, args.latency))
    base = measured[0]
    columns = ("modes", "wall (s)", "ratio", "trips/host", "probe cmd/host", "probe cmd/mode", "working modes")
    print("%-28s %9s %7s %11s %15s %15s  %s" % columns)
    for m in measured:
        per_host = statistics.mean(m["probe_cmds"])
        print("%-28s %9.2f %7.2f %11.2f %15.2f %15.2f  %s" % (
            ",".join(m["modes"]), m["elapsed"], m["elapsed"] / base["elapsed"], statistics.mean(m["trips"]), per_host,
            per_host / len(m["modes"]), "; ".join(",".join(w) for w in m["working"])))
    bad = [m for m in measured if m["rc"]]
    for m in bad:
        print("\n%s: rc=%d\n%s" % (",".join(m["modes"]), m["rc"], m["stdout"][-3000:]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

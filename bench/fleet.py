# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet benchmark on the emulated lab: the least any tool must do versus our playbook.

Runs the same N-host lab (default 200 hosts, forks 20) twice:
1. a one-task playbook that only reads one registry value per host (ansible.windows.win_reg_stat);
2. our playbook (``--playbook``; default playbooks/configure_atp_proxy.yml if it exists, else a
   one-task playbook with atp.sensor_proxy.win_wininet_proxy_compare).
Prints both wall times, their ratio and the round trips (module executions) per host from the ledger.

    python bench/fleet.py [--hosts 200] [--forks 20] [--playbook PATH] [-e key=value ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab.fixtures import LabEnv  # noqa: E402
from tests.lab.network import ProxyPy, SensorApi  # noqa: E402

ADMIN = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
BASELINE = r"""
- hosts: all
  gather_facts: false
  tasks:
    - name: read one value
      ansible.windows.win_reg_stat:
        path: 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections'
        name: DefaultConnectionSettings
"""
COMPARE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: compare
      atp.sensor_proxy.win_wininet_proxy_compare:
"""


def default_playbook() -> str:
    main = REPO / "playbooks" / "configure_atp_proxy.yml"
    return str(main) if main.exists() else COMPARE


def seed(env: LabEnv) -> None:
    for i, name in enumerate(env.host_names):
        spec = {"user": ADMIN, "SYSTEM": ADMIN}
        spec["LocalService"] = ADMIN if i % 2 else None
        env.host(name).seed(spec)


def run(env: LabEnv, playbook: str, forks: int, extra_vars: dict) -> tuple:
    seed(env)
    env.reset_ledgers()
    result = env.run_playbook(playbook, forks=forks, extra_vars=extra_vars, timeout=3600)
    trips = [led["module_calls"] for led in env.ledger().values()]
    bad = {h: s for h, s in result.stats.items() if s["failures"] or s["unreachable"]}
    return result, trips, bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--playbook", default=None, help="our playbook (path); default: %(default)s")
    parser.add_argument("-e", "--extra-var", action="append", default=[], help="key=value (JSON values allowed)")
    args = parser.parse_args(argv)
    extra = {}
    for item in args.extra_var:
        key, _, value = item.partition("=")
        try:
            extra[key] = json.loads(value)
        except ValueError:
            extra[key] = value
    playbook = args.playbook or default_playbook()
    with tempfile.TemporaryDirectory(prefix="atp-fleet-") as tmp:
        env = LabEnv(Path(tmp) / "lab", hosts=args.hosts)
        api = SensorApi(Path(tmp) / "api").start()
        proxy = ProxyPy(Path(tmp) / "proxy", env.lab.dir).start()
        env.lab.update_config(ca_file=str(api.ca_file))
        env.lab.add_dns("proxy.corp:8080", "127.0.0.1:%d" % proxy.port)
        try:
            base, base_trips, base_bad = run(env, BASELINE, args.forks, {})
            ours, our_trips, our_bad = run(env, playbook, args.forks, extra)
        finally:
            proxy.stop()
            api.stop()
    name = playbook if "\n" not in playbook else "win_wininet_proxy_compare (one task)"
    print("hosts %d, forks %d" % (args.hosts, args.forks))
    print("baseline (one win_reg_stat per host): %7.1f s  rc=%d  round trips/host %s"
          % (base.elapsed, base.rc, statistics.mean(base_trips)))
    print("ours (%s): %7.1f s  rc=%d  round trips/host mean %.1f min %d max %d"
          % (name, ours.elapsed, ours.rc, statistics.mean(our_trips), min(our_trips), max(our_trips)))
    print("wall-time ratio ours/baseline: %.2f" % (ours.elapsed / base.elapsed))
    if base_bad or our_bad:
        print("hosts with failures/unreachable: baseline %d, ours %d" % (len(base_bad), len(our_bad)))
        print(ours.stdout[-3000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

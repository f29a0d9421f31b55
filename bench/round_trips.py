# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Round trips per host, by host kind, for the configure playbook (probe off), counted by the lab ledger.

Every remote command counts (module executions, temporary folders, file transfers): on a real fleet each costs
about a second of WinRM. For each host kind the role handles (``KINDS``: no sensor, sensor v2 on WinINet, on its
own proxy or under the machine policy, sensor v3, with Defender for Endpoint) it runs the playbook three times on a
fresh lab host: the first change (the backup folder is created and secured), a second change (the proxy changed
again), and the converged rerun. The baseline is one read: a one-task playbook with one ``ansible.windows.win_reg_stat``.

Then the converged run with the probe on (LocalService and SYSTEM, the workspace and the 4 CRL URLs; the lab's
cloud is not started, so every URL fails fast, which costs the same round trips), with each probe engine: the
script engine is one round trip per account, win_uri one per URL and account.

    python bench/round_trips.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab import system_state as ss  # noqa: E402
from tests.lab.fixtures import LabEnv  # noqa: E402

CONFIGURE = str(REPO / "playbooks" / "configure_atp_proxy.yml")
LS, SYS = "S-1-5-19", "S-1-5-18"
BASELINE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: one read
      ansible.windows.win_reg_stat:
        path: HKU:\\S-1-5-19\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections
        name: DefaultConnectionSettings
"""


PROBE_ACCOUNTS = ["LocalService", "SYSTEM"]
PROBE_ON = {"atp_proxy_probe": True, "atp_proxy_workspace": "contoso-corp", "atp_proxy_probe_timeout": 2,
            "atp_proxy_probe_accounts": PROBE_ACCOUNTS}


def settings(proxy: str) -> dict:
    return {"atp_proxy_hosts": "all", "atp_proxy_probe": False, "atp_proxy_source": "settings",
            "atp_proxy_settings": {"proxy_server": proxy, "bypass": ["<local>"]}}


def _no_sensor(host):
    for sid in (SYS, LS):
        host.set_proxy(sid, {"proxy_server": "old.corp:3128"})


def _v2_wininet(host):
    ss.seed_v2_sensor(host)
    _no_sensor(host)


def _v2_neither(host):
    ss.seed_v2_sensor(host)


def _v3_mde(host):
    ss.seed_v3_sensor(host)


def _policy(host):
    ss.seed_v2_sensor(host)
    _no_sensor(host)
    ss.seed_per_machine_policy(host, {"proxy_server": "old.corp:3128"})


KINDS = [
    ("no sensor, WinINet per account", _no_sensor, {}),
    ("v2 sensor, WinINet (+ restart)", _v2_wininet, {}),
    ("v2 sensor, its own proxy (sensor_config)", _v2_neither, {}),
    ("v2 sensor, ProxySettingsPerUser=0 (HKLM)", _policy, {}),
    ("v3 sensor, its static proxy (mde)", _v3_mde, {}),
    ("v3 sensor, with Defender for Endpoint", _v3_mde, {"atp_proxy_products": ["mdi", "mde"]}),
]


def measure(seed, extra: dict) -> tuple:
    with tempfile.TemporaryDirectory(prefix="atp-bench-rt-") as tmp:
        lab = LabEnv(Path(tmp) / "lab", hosts=1)
        seed(lab.host(lab.host_names[0]))
        counts = []
        for proxy in ("proxy.corp:8080", "proxy2.corp:8080", "proxy2.corp:8080"):
            lab.reset_ledgers()
            run = lab.run_playbook(CONFIGURE, extra_vars=dict(settings(proxy), **extra))
            if run.rc != 0:
                raise SystemExit("the playbook failed:\n" + run.stdout[-3000:])
            counts.append(lab.round_trips()[lab.host_names[0]])
        lab.reset_ledgers()
        lab.run_playbook(BASELINE)
        baseline = lab.round_trips()[lab.host_names[0]]
        return counts, baseline


def measure_probe(seed, extra: dict) -> dict:
    """Round trips of the converged run with the probe on (LocalService and SYSTEM; the workspace and the 4 CRL URLs),
    per engine, and of the one-read baseline, on a fresh lab host."""
    with tempfile.TemporaryDirectory(prefix="atp-bench-rt-") as tmp:
        lab = LabEnv(Path(tmp) / "lab", hosts=1)
        name = lab.host_names[0]
        seed(lab.host(name))
        run = lab.run_playbook(CONFIGURE, extra_vars=dict(settings("proxy.corp:8080"), **extra))
        if run.rc != 0:
            raise SystemExit("the playbook failed:\n" + run.stdout[-3000:])
        out = {}
        for engine in ("script", "win_uri"):
            lab.reset_ledgers()
            run = lab.run_playbook(CONFIGURE, extra_vars=dict(settings("proxy.corp:8080"), **dict(extra, **PROBE_ON,
                                                              atp_proxy_probe_engine=engine)))
            if run.rc != 0:
                raise SystemExit("the playbook failed:\n" + run.stdout[-3000:])
            out[engine] = lab.round_trips()[name]
        lab.reset_ledgers()
        lab.run_playbook(BASELINE)
        out["baseline"] = lab.round_trips()[name]
        return out


def main() -> int:
    print("%-44s %13s %13s %10s %9s" % ("host kind", "first change", "later change", "converged", "baseline"))
    converged_off = {}
    for label, seed, extra in KINDS:
        (first, later, converged), baseline = measure(seed, extra)
        converged_off[label] = converged
        print("%-44s %13d %13d %10d %9d   converged/baseline %.1fx, later change/baseline %.1fx"
              % (label, first, later, converged, baseline, converged / baseline, later / baseline), flush=True)
    print("\nconverged, probe on (LocalService and SYSTEM; workspace + 4 CRL URLs): round trips per host")
    print("%-44s %13s %13s %9s" % ("host kind", "engine script", "engine win_uri", "baseline"))
    added = set()
    for label, seed, extra in KINDS:
        trips = measure_probe(seed, extra)
        added.add(trips["script"] - converged_off[label])
        print("%-44s %13d %13d %9d   script/baseline %.1fx, win_uri/baseline %.1fx"
              % (label, trips["script"], trips["win_uri"], trips["baseline"], trips["script"] / trips["baseline"],
                 trips["win_uri"] / trips["baseline"]), flush=True)
    accounts = len(PROBE_ACCOUNTS)
    ok = added == {accounts}
    print("engine script: the probe adds %s round trip(s) per host to the converged run (goal: one per probed "
          "account, %d): %s" % (", ".join(str(a) for a in sorted(added)), accounts, "OK" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

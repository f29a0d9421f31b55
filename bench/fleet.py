# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet benchmark on the emulated lab: the least any tool must do versus our playbook.

On one N-host lab (default 200 hosts, forks 20; real proxy.py, HTTPS sensor API and CRL hosts):

1. ``baseline``: a one-task playbook that only reads one registry value per host (ansible.windows.win_reg_stat);
2. ``converged, probe off``: our playbook on a fleet that is already configured, ``atp_proxy_probe: false``;
3. ``converged, probe on``: the same with the probe (LocalService and SYSTEM, workspace + CRL URLs), the probe
   script (``atp_proxy_probe_engine: script``, the default: one round trip per account);
   ``converged_probe_win_uri`` (not run unless asked with ``--runs``) is the same with the win_uri engine (one round
   trip per URL and account), for comparison;
4. ``drifted, first change``: our playbook on a fleet where LocalService has no proxy or an old one, and
   SYSTEM has none on every third host (so it backs up, writes and verifies), on hosts that never had a
   backup (their backup folder is created and secured first: 5 round trips more, once per host);
5. ``drifted, later change``: the same drift on hosts whose backup folder is already secured (a later change,
   what a scheduled run meets when someone changed a proxy).

It prints each wall time, its ratio to the baseline measured at the same latency, the goals of the probe (converged
with the probe: at most 3 round trips per host, the state query and one probe per account, and at most 4 x the
baseline at the highest latency measured), the round trips
per host from the lab ledger (every remote command: module executions, temporary directories, file
transfers), the tasks each host executed (not skipped), and the load average before and after each run
(the lab runs on this machine: a busy machine makes every number slower, so note the load with the numbers).

``--latency 0,0.3`` repeats every run with each modelled WinRM latency: the lab's connection sleeps that many
seconds before each remote command, the usual cost of one PowerShell module execution over WinRM.

    python bench/fleet.py [--hosts 200] [--forks 20] [--latency 0,0.3] [--playbook PATH]
                          [--runs baseline,converged,...] [--no-agent] [-e key=value ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.lab.demo import probe_outcomes  # noqa: E402
from tests.lab.fixtures import LabEnv  # noqa: E402
from tests.lab.network import PROXY_NAME, WORKSPACE_NAME, Cloud  # noqa: E402

ADMIN = {"proxy_server": PROXY_NAME, "bypass": ["<local>"]}
OLD = {"proxy_server": "old.corp:3128"}
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
RUNS = ("baseline", "converged", "converged_probe", "drifted_first", "drifted")
OPTIONAL_RUNS = ("converged_probe_win_uri",)
PROBE_TRIPS_GOAL = 3
PROBE_RATIO_GOAL = 4.0
BACKUP_MANIFEST = "HKLM:\\SOFTWARE\\atp.sensor_proxy\\Backups"
BACKUP_ROOT = "C:\\ProgramData\\atp.sensor_proxy"


def default_playbook() -> str:
    main = REPO / "playbooks" / "configure_atp_proxy.yml"
    return str(main) if main.exists() else COMPARE


def seed_converged(env: LabEnv) -> None:
    for name in env.host_names:
        env.host(name).seed({"user": ADMIN, "SYSTEM": ADMIN, "LocalService": ADMIN})


def seed_drifted(env: LabEnv) -> None:
    for i, name in enumerate(env.host_names):
        env.host(name).seed({"user": ADMIN, "SYSTEM": None if i % 3 == 0 else ADMIN,
                             "LocalService": OLD if i % 2 else None})


def forget_backups(env: LabEnv) -> None:
    """Every host as before its first change: no backup manifest, no backup folder."""
    for name in env.host_names:
        host = env.host(name)
        with host.transaction() as st:
            host.registry(st).delete_key(BACKUP_MANIFEST)
            host.forget_security(BACKUP_ROOT, st)
        shutil.rmtree(host.path(BACKUP_ROOT), ignore_errors=True)


def tasks_executed(result, hosts) -> list:
    """Per lab host: the task results that were not skipped (each is a worker fork on the controller)."""
    counts = dict.fromkeys(hosts, 0)
    for row in result.results:
        if row["status"] != "skipped" and row["host"] in counts:
            counts[row["host"]] += 1
    return list(counts.values()) or [0]


def measure(env: LabEnv, label: str, playbook: str, forks: int, extra_vars: dict, latency: float) -> dict:
    env.reset_ledgers()
    os.environ["ATP_LAB_LATENCY"] = str(latency)
    load_before = os.getloadavg()
    result = env.run_playbook(playbook, forks=forks, extra_vars=extra_vars, timeout=3600)
    load_after = os.getloadavg()
    os.environ.pop("ATP_LAB_LATENCY", None)
    trips = [led["module_calls"] for led in env.ledger().values()]
    tasks = tasks_executed(result, env.host_names)
    bad = sorted(h for h, s in result.stats.items() if s["failures"] or s["unreachable"])
    outcomes = [row[4] for row in probe_outcomes(result)]
    return {"label": label, "latency": latency, "elapsed": result.elapsed, "rc": result.rc, "trips": trips,
            "tasks": tasks, "bad": bad,
            "load": (load_before[0], load_after[0]), "result": result,
            "probes": (outcomes.count("reachable"), len(outcomes))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--playbook", default=None, help="our playbook (default: playbooks/configure_atp_proxy.yml)")
    parser.add_argument("--runs", default=",".join(RUNS),
                        help="comma-separated subset of %s" % ", ".join(RUNS + OPTIONAL_RUNS))
    parser.add_argument("--latency", default="0,0.3",
                        help="comma-separated modelled WinRM latencies per remote command, in seconds")
    parser.add_argument("--no-agent", action="store_true", help="run every module in a fresh python (slow)")
    parser.add_argument("-e", "--extra-var", action="append", default=[], help="key=value (JSON values allowed)")
    args = parser.parse_args(argv)
    extra = {"atp_proxy_hosts": "all", "atp_proxy_workspace": WORKSPACE_NAME}
    for item in args.extra_var:
        key, dummy, value = item.partition("=")
        try:
            extra[key] = json.loads(value)
        except ValueError:
            extra[key] = value
    playbook = args.playbook or default_playbook()
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = set(runs) - set(RUNS) - set(OPTIONAL_RUNS)
    if unknown:
        parser.error("unknown runs: %s" % ", ".join(sorted(unknown)))
    print("hosts %d, forks %d, %d CPUs, agent %s, load average at start %.2f %.2f %.2f"
          % (args.hosts, args.forks, os.cpu_count(), "off" if args.no_agent else "on", *os.getloadavg()),
          flush=True)
    latencies = [float(x) for x in args.latency.split(",") if x.strip()]
    measured = []
    with tempfile.TemporaryDirectory(prefix="atp-fleet-") as tmp:
        env = LabEnv(Path(tmp) / "lab", hosts=args.hosts, agent=not args.no_agent)
        with Cloud(env.lab, Path(tmp) / "cloud"):
            for latency in latencies:
                for run in runs:
                    if run == "baseline":
                        seed_converged(env)
                        m = measure(env, "baseline: one win_reg_stat per host", BASELINE, args.forks, {}, latency)
                    elif run == "converged":
                        seed_converged(env)
                        m = measure(env, "ours, converged, probe off", playbook, args.forks,
                                    dict(extra, atp_proxy_probe=False), latency)
                    elif run == "converged_probe":
                        seed_converged(env)
                        m = measure(env, "ours, converged, probe on", playbook, args.forks,
                                    dict(extra, atp_proxy_probe=True), latency)
                    elif run == "converged_probe_win_uri":
                        seed_converged(env)
                        m = measure(env, "ours, converged, probe on, win_uri", playbook, args.forks,
                                    dict(extra, atp_proxy_probe=True, atp_proxy_probe_engine="win_uri"), latency)
                    elif run == "drifted_first":
                        seed_drifted(env)
                        forget_backups(env)
                        m = measure(env, "ours, drifted, first change", playbook, args.forks,
                                    dict(extra, atp_proxy_probe=False), latency)
                    else:
                        seed_drifted(env)
                        m = measure(env, "ours, drifted, later change", playbook, args.forks,
                                    dict(extra, atp_proxy_probe=False), latency)
                    measured.append(m)
                    print("  latency %.2f s  %-38s %7.1f s  rc=%d  round trips/host mean %.2f (min %d, max %d)  "
                          "tasks/host %.1f  load %.1f -> %.1f"
                          % (latency, m["label"], m["elapsed"], m["rc"], statistics.mean(m["trips"]), min(m["trips"]),
                             max(m["trips"]), statistics.mean(m["tasks"]), *m["load"]), flush=True)
                    if m["probes"][1]:
                        print("  %-52s %d of %d probes (host x account x URL) reachable"
                              % ("", *m["probes"]), flush=True)
    name = playbook if "\n" not in playbook else "win_wininet_proxy_compare (one task)"
    print("\nour playbook: %s" % name)
    print("%-8s %-40s %9s %8s %12s %11s" % ("latency", "run", "wall (s)", "ratio", "trips/host", "tasks/host"))
    for m in measured:
        base = next((b for b in measured if b["label"].startswith("baseline") and b["latency"] == m["latency"]), None)
        ratio = "%.2f" % (m["elapsed"] / base["elapsed"]) if base else "-"
        values = (m["latency"], m["label"], m["elapsed"], ratio, statistics.mean(m["trips"]), statistics.mean(m["tasks"]))
        print("%-8.2f %-40s %9.1f %8s %12.2f %11.1f" % values)
    missed = probe_goals(measured)
    failed = [m for m in measured if m["rc"] or m["bad"] or m["probes"][0] != m["probes"][1]]
    for m in failed:
        bad = ", ".join(m["bad"][:5])
        print("\n%s: rc=%d, %d hosts failed/unreachable (%s)" % (m["label"], m["rc"], len(m["bad"]), bad))
        print(m["result"].stdout[-3000:])
    return 1 if failed or missed else 0


def probe_goals(measured: list) -> bool:
    """Print the probe's goals for the converged run with the probe (engine script); True when one is missed."""
    runs = [m for m in measured if m["label"] == "ours, converged, probe on"]
    if not runs:
        return False
    missed = False
    print()
    for m in runs:
        base = next((b for b in measured if b["label"].startswith("baseline") and b["latency"] == m["latency"]), None)
        trips = statistics.mean(m["trips"])
        line = "goal, converged with the probe, latency %.2f s: round trips/host %.2f (goal <= %d): %s" % (
            m["latency"], trips, PROBE_TRIPS_GOAL, "OK" if trips <= PROBE_TRIPS_GOAL else "MISSED")
        missed |= trips > PROBE_TRIPS_GOAL
        if base:
            ratio = m["elapsed"] / base["elapsed"]
            line += "; wall/baseline %.2f" % ratio
            if m["latency"] == max(r["latency"] for r in runs):
                line += " (goal <= %.0f): %s" % (PROBE_RATIO_GOAL, "OK" if ratio <= PROBE_RATIO_GOAL else "MISSED")
                missed |= ratio > PROBE_RATIO_GOAL
        print(line)
    return missed


if __name__ == "__main__":
    sys.exit(main())

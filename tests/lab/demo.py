# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``make demo``: four emulated DCs, a real proxy, the HTTPS sensor API and the CRL hosts, the main playbook.

    python -m tests.lab.demo [--playbook PATH] [-e key=value ...] [--check] [--no-check-first] [--quiet]

dc01 to dc03 have no sensor yet (the accounts' WinINet values: empty, partly old, in sync); dc04 runs a
Defender for Identity sensor v2 without a proxy, so the job gives it its own setting (SensorConfiguration.json,
the method Microsoft recommends) and restarts its updater. It prints each host's state before, probes the
endpoints as the service accounts with the read-only check playbook (LocalService has no proxy yet, so the
sensor API and CRL names do not resolve; each failure with its one-sentence fix), runs the main playbook,
then prints the state after, the probe outcome per host/account/URL, the one line per host, the round trips
and what the proxy saw. The exit code is non-zero when the playbook fails or, after a real configure run
that probed, an account still cannot reach an URL.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tests.lab import system_state
from tests.lab.cli import print_ledger, show
from tests.lab.fixtures import LabEnv
from tests.lab.network import PROXY_NAME, WORKSPACE_NAME, Cloud
from tests.lab.state import REPO_ROOT

ADMIN = {"proxy_server": PROXY_NAME, "bypass": ["<local>"]}
WORKSPACE = WORKSPACE_NAME  # the sensor API of this workspace is the lab's SensorApi
CHECK_PLAYBOOK = REPO_ROOT / "playbooks" / "check_atp_proxy.yml"
COMPARE_PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: compare the service accounts with the admin's proxy
      atp.sensor_proxy.win_wininet_proxy_compare:
      register: cmp
    - name: show the result
      ansible.builtin.debug:
        msg: "in_sync={{ cmp.in_sync }} {{ cmp.targets | map(attribute='state') | list }}"
"""


def select_playbook(override: str | None = None) -> str:
    """The playbook the demo runs: ``override``, else the main playbook, else a compare playbook."""
    if override:
        return override
    main = REPO_ROOT / "playbooks" / "configure_atp_proxy.yml"
    return str(main) if main.exists() else COMPARE_PLAYBOOK


def role_vars(extra_var_items=()) -> dict:
    """The role's variables for the lab: the workspace whose sensor API the lab serves (the proxy comes from
    the admin's HKCU, seeded on every DC, as in Microsoft's procedure)."""
    extra = {"atp_proxy_workspace": WORKSPACE}
    for item in extra_var_items:
        key, dummy, value = item.partition("=")
        try:
            extra[key] = json.loads(value)
        except ValueError:
            extra[key] = value
    return extra


def probe_outcomes(result) -> list:
    """``[(host, account, endpoint id, url, outcome, status, proxy)]`` of every atp_endpoint_probe result
    in a run (found by shape, so a renamed task still counts; the ``accounts`` option and a loop each give one
    entry per account)."""
    rows = []
    for entry in result.results:
        res = entry["result"]
        # _fleet._summary.probe_list's rule; make demo runs without the collection on the path, so it is not imported
        per_account = res.get("accounts", res.get("results"))
        for probe in per_account if isinstance(per_account, list) else []:
            if not isinstance(probe, dict) or not isinstance(probe.get("results"), list):
                continue
            account = probe.get("account") or probe.get("item") or "?"
            for r in probe["results"]:
                if isinstance(r, dict) and "outcome" in r:
                    rows.append((entry["host"], account, r.get("endpoint", ""), r.get("url", ""), r["outcome"],
                                 r.get("status"), r.get("proxy", ""), r.get("hint") or ""))
    return rows


def summary_lines(result) -> list:
    """The playbook's one line per host (the "One line per host" task's message)."""
    for entry in result.results:
        if entry["task"].split(" : ")[-1] == "One line per host" and isinstance(entry["result"].get("msg"), list):
            return list(entry["result"]["msg"])
    return []


def print_probe(rows: list, out=None) -> None:
    out = out or sys.stdout
    if not rows:
        print("  (no probe ran)", file=out)
        return
    hints_shown = set()
    for host, account, endpoint, url, outcome, status, proxy, hint in sorted(rows, key=lambda row: row[0]):
        print("  %-5s %-13s %-14s %-18s %-4s via %-20s %s" % (host, account, endpoint, outcome,
                                                              status if status is not None else "-", proxy or "-", url),
              file=out)
        # Each outcome's one-sentence fix, once per host and account (the same for every URL that failed alike).
        if outcome != "reachable" and hint and (host, account, outcome) not in hints_shown:
            hints_shown.add((host, account, outcome))
            print("        -> %s" % hint, file=out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--playbook")
    parser.add_argument("-e", "--extra-var", action="append", default=[])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--no-check-first", action="store_true", help="skip the probe before the run")
    parser.add_argument("--quiet", action="store_true", help="do not print the playbook's own output")
    args = parser.parse_args(argv)
    extra = role_vars(args.extra_var)
    with tempfile.TemporaryDirectory(prefix="atp-demo-") as tmp:
        env = LabEnv(Path(tmp) / "lab", hosts=4)
        with Cloud(env.lab, Path(tmp) / "cloud") as cloud:
            env.host("dc01").seed({"user": ADMIN})  # fresh DC: service accounts have nothing
            env.host("dc02").seed({"user": ADMIN, "SYSTEM": ADMIN, "LocalService": {"proxy_server": "old.corp:3128"}})
            env.host("dc03").seed({"user": ADMIN, "SYSTEM": ADMIN, "LocalService": ADMIN})  # already in sync
            env.host("dc04").seed({"user": ADMIN})
            system_state.seed_v2_sensor(env.host("dc04"), workspace=WORKSPACE)  # a sensor v2 without a proxy
            print("== lab: 4 emulated DCs; proxy.py on 127.0.0.1:%d (as %s); sensor API of workspace %s on "
                  "127.0.0.1:%d; CRL hosts on 127.0.0.1:%d (both only through the proxy)\n"
                  % (cloud.proxy.port, PROXY_NAME, WORKSPACE, cloud.api.port, cloud.crl.port))
            print("== before")
            for name in env.host_names:
                show(env.lab, name)
            if not args.no_check_first and CHECK_PLAYBOOK.exists():
                before = env.run_playbook(str(CHECK_PLAYBOOK), extra_vars=extra)
                print("\n== probe before (%s, read-only; rc=%d)" % (CHECK_PLAYBOOK.name, before.rc))
                print_probe(probe_outcomes(before))
                env.reset_ledgers()
                proxy_seen_before = len(cloud.proxy.log())
            else:
                proxy_seen_before = 0
            playbook = select_playbook(args.playbook)
            print("\n== running %s\n" % (playbook if "\n" not in playbook else "a compare playbook"))
            result = env.run_playbook(playbook, extra_vars=extra, check=args.check, diff=True)
            if not args.quiet:
                print(result.stdout)
            if result.stderr.strip():
                print(result.stderr[-3000:])
            print("== after (rc=%d, %.1f s)" % (result.rc, result.elapsed))
            for name in env.host_names:
                show(env.lab, name)
            rows = probe_outcomes(result)
            print("\n== probe after")
            print_probe(rows)
            print("\n== round trips (module executions) per host and task")
            print_ledger(env.lab)
            log = cloud.proxy.log()[proxy_seen_before:]
            print("\n== requests the proxy saw during the run: %d (%s)" % (
                len(log), ", ".join(sorted({"%s %s:%d" % (r["method"], r["host"], r["port"]) for r in log}))
                or "none"))
            print("\n== one line per host")
            for text in summary_lines(result):
                print("  " + text)
            if result.rc == 0 and rows and not args.check and any(r[4] != "reachable" for r in rows):
                print("\nnot every account reaches every URL after the run")
                return 1
            return result.rc


if __name__ == "__main__":
    sys.exit(main())

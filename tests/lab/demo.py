# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``make demo``: three emulated DCs, a real proxy, the HTTPS sensor API, the main playbook, before/after.

    python -m tests.lab.demo [--playbook PATH] [-e key=value ...] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tests.lab.cli import print_ledger, show
from tests.lab.fixtures import LabEnv
from tests.lab.network import ProxyPy, SensorApi
from tests.lab.state import REPO_ROOT

ADMIN = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
WORKSPACE = "contoso-corp"
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--playbook")
    parser.add_argument("-e", "--extra-var", action="append", default=[])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    extra = {"atp_proxy_server": ADMIN["proxy_server"], "atp_proxy_bypass": ADMIN["bypass"],
             "atp_proxy_workspace": WORKSPACE}
    for item in args.extra_var:
        key, _, value = item.partition("=")
        try:
            extra[key] = json.loads(value)
        except ValueError:
            extra[key] = value
    with tempfile.TemporaryDirectory(prefix="atp-demo-") as tmp:
        env = LabEnv(Path(tmp) / "lab", hosts=3)
        api = SensorApi(Path(tmp) / "api").start()
        proxy = ProxyPy(Path(tmp) / "proxy", env.lab.dir).start()
        try:
            env.lab.update_config(ca_file=str(api.ca_file))
            env.lab.add_dns("proxy.corp:8080", "127.0.0.1:%d" % proxy.port)
            env.lab.add_dns("%ssensorapi.atp.azure.com:443" % WORKSPACE, "127.0.0.1:%d" % api.port, proxy_only=True)
            env.host("dc01").seed({"user": ADMIN})  # fresh DC: service accounts have nothing
            env.host("dc02").seed({"user": ADMIN, "SYSTEM": ADMIN, "LocalService": {"proxy_server": "old.corp:3128"}})
            env.host("dc03").seed({"user": ADMIN, "SYSTEM": ADMIN, "LocalService": ADMIN})  # already in sync
            print("== lab: 3 emulated DCs, proxy.py on 127.0.0.1:%d (as proxy.corp:8080), sensor API on "
                  "127.0.0.1:%d\n" % (proxy.port, api.port))
            print("== before")
            for name in env.host_names:
                show(env.lab, name)
            playbook = select_playbook(args.playbook)
            print("\n== running %s\n" % (playbook if "\n" not in playbook else "a compare playbook"))
            result = env.run_playbook(playbook, extra_vars=extra, check=args.check, diff=True)
            print(result.stdout)
            if result.stderr.strip():
                print(result.stderr[-3000:])
            print("== after")
            for name in env.host_names:
                show(env.lab, name)
            print("\n== round trips (module executions) per host and task")
            print_ledger(env.lab)
            print("\n== requests the proxy saw: %d (%s)" % (
                len(proxy.log()), ", ".join(sorted({"%s %s:%d" % (r["method"], r["host"], r["port"])
                                                    for r in proxy.log()})) or "none"))
            return result.rc
        finally:
            proxy.stop()
            api.stop()


if __name__ == "__main__":
    sys.exit(main())

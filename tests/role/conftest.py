# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role and playbooks, run for real against the emulated Windows lab (tests/lab)."""

from __future__ import annotations

import hashlib
import json

# The lab's fixtures (pytest only honours pytest_plugins in the top-level conftest).
from tests.lab.conftest import auth_proxy, crl_server, lab, make_lab, proxy, sensor_api  # noqa: F401

__all__ = ["auth_proxy", "crl_server", "lab", "make_lab", "proxy", "sensor_api"]  # re-exported lab fixtures

PROXY = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
CONFIGURE = "playbooks/configure_atp_proxy.yml"
CHECK = "playbooks/check_atp_proxy.yml"
RESTORE = "playbooks/restore_atp_proxy.yml"
NO_PROBE = {"atp_proxy_hosts": "all", "atp_proxy_probe": False}


def snapshot(host) -> str:
    """Everything a host holds: its registry, hive states and every file, as one comparable string."""
    state = host.state()
    files = {}
    root = host.fs_root
    if root.exists():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            files[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return json.dumps({"hives": state["hives"], "files": files}, sort_keys=True)


BACKUP_DIR = "C:\\ProgramData\\atp.sensor_proxy\\backups"
WRITE_TASK = "Find the sensor, then check, back up, set and verify its proxy"


def backups(host, directory=BACKUP_DIR) -> list:
    """The before.reg of every backup on the host (one folder per change), oldest first."""
    return host.find_files(directory, "before.reg")


def task_result(run, host: str, name: str) -> dict:
    """The result of the role task ``name`` (role tasks are reported as ``<role> : <name>``)."""
    found = [r for r in run.results if r["host"] == host and r["task"].split(" : ")[-1] == name]
    if not found:
        raise KeyError("task %r did not report for %s" % (name, host))
    return found[-1]["result"]


def summary_lines(run) -> list:
    """The playbook's one-line-per-host summary (a run_once task: reported by whichever host ran it)."""
    found = [r for r in run.results if r["task"].split(" : ")[-1] == "One line per host" and r["status"] == "ok"]
    assert found, "the summary did not run"
    return found[-1]["result"]["msg"]

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real-Windows integration target ``win_wininet_proxy_compare``, run unchanged on the emulated lab.

The same role ansible-test runs on Windows (tasks/main.yml: save, tasks/tests.yml with every
scenario of tests/integration/scenarios.yml, restore) runs here with real ``ansible-playbook``
against an emulated DC (tests/lab). The scenarios cannot drift between the lab and Windows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.lab.fixtures import LabEnv

HERE = Path(__file__).resolve().parent
TARGETS_DIR = HERE / "targets"
SCENARIOS = yaml.safe_load((HERE / "scenarios.yml").read_text(encoding="utf-8"))

pytestmark = pytest.mark.lab

# The host's own values before the target runs: LocalSystem holds a value written by real Windows
# (fixture v01, with its WPAD detection cache; it must come back byte for byte), LocalService has
# none (it must be absent again afterwards).
FIXTURES = json.loads((HERE.parent / "fixtures" / "wininet_values.json").read_text(encoding="utf-8"))
ORIGINAL_SYSTEM_HEX = next(v["hex"] for v in FIXTURES if v["id"] == "v01")


def run_target(tmp_path: Path, target: str) -> tuple:
    """Run ``target`` the way ansible-test does (targets on the roles path, one play with the role)
    against a fresh emulated DC holding the host's own values described above: (LabEnv, Host, result)."""
    env = LabEnv(tmp_path / "lab", hosts=1)
    # ansible-test puts tests/integration/targets on the roles path; do the same.
    with open(env.ansible_cfg, "a", encoding="utf-8") as cfg:
        cfg.write("roles_path = %s\n" % TARGETS_DIR)
    host = env.host(env.host_names[0])
    host.set_raw("S-1-5-18", ORIGINAL_SYSTEM_HEX)
    host.set_proxy("S-1-5-19", None)
    result = env.run_playbook([{"name": "ansible-test style run of %s" % target, "hosts": "all",
                                "gather_facts": False, "roles": [target]}])
    return env, host, result


def test_compare_target_runs_every_shared_scenario_on_the_lab(tmp_path):
    env, host, result = run_target(tmp_path, "win_wininet_proxy_compare")
    name = env.host_names[0]
    assert result.rc == 0, str(result)
    assert result.stats[name]["failures"] == 0 and result.stats[name]["unreachable"] == 0, str(result)

    # Every scenario ran both its check-mode and its real compare, and its assertions passed
    # (in scenario order; the callback may report the role prefix and the untemplated name).
    scenarios = SCENARIOS["atp_it_scenarios"]
    for step in ("compare in check mode", "compare", "check the result of both runs", "check that nothing was written"):
        runs = [r for r in result.results if r["host"] == name and r["task"].endswith("| " + step)]
        assert [r["status"] for r in runs] == ["ok"] * len(scenarios), step
    compares = [r["result"] for r in result.results if r["host"] == name and r["task"].endswith("| compare")]
    for scenario, compared in zip(scenarios, compares, strict=True):
        assert {t["sid"]: t["state"] for t in compared["targets"]} == scenario["expected"], scenario["name"]
        assert compared["in_sync"] is scenario["in_sync"], scenario["name"]

    # The always: section put the host's own values back, byte for byte.
    assert host.proxy_value("S-1-5-18").hex() == ORIGINAL_SYSTEM_HEX
    assert host.proxy_value("S-1-5-19") is None
    restored = [r for r in result.results
                if r["host"] == name and r["task"].endswith("Check that the host has its original values back, byte for byte")]
    assert [r["status"] for r in restored] == ["ok"]

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The other real-Windows integration targets, run UNCHANGED on the emulated lab (tests/lab).

Each target runs as ansible-test runs it on Windows (its tasks/main.yml: save the host's values,
tests.yml, restore in always:) with real ``ansible-playbook`` against one emulated DC. A target
passes here when every one of its own assertions ran and passed and the host got its original
values back byte for byte; the same YAML is what ``ansible-test windows-integration`` runs.
"""

from __future__ import annotations

import pytest

from tests.integration.test_scenarios_lab import ORIGINAL_SYSTEM_HEX, SCENARIOS, run_target

pytestmark = pytest.mark.lab

# The target's own checks (assert tasks), in the order they run; each must have run and passed.
CHECKS = {
    "win_wininet_proxy": [
        "Check that check mode predicted the change and wrote nothing",
        "Check the run wrote the source's exact bytes, showed a decoded diff and kept a backup",
        "Check the rerun changed nothing and wrote no new backup",
        "Check the restore gave back the starting values byte for byte (absent ones absent)",
        "Check the settings are in place and the counters continued",
    ],
    "atp_endpoint_probe": [
        "Check LocalService went direct and could not resolve the name itself",
        "Check SYSTEM went through its own proxy",
        "Check LocalService now uses its proxy, and the failure names the URL and outcome",
        "Check the controller-side outcomes",
    ],
    "atp_self_check": [
        "Fail when the state query and the documented modules disagree",
        "Check the self-check compared the host and found no difference",
    ],
    "atp_proxy": [
        "Check that check mode reported exactly what would change and wrote nothing",
        "Check the run converged, showed a decoded diff, kept a backup and probed as LocalService",
        "Check the rerun is in sync, changed nothing and wrote no new backup",
        "Check the drift is reported for LocalService only",
        "Check the restore gave back the starting values byte for byte (absent ones absent)",
    ],
}


def _statuses(result, name, suffix):
    return [r["status"] for r in result.results if r["host"] == name and r["task"].endswith(suffix)]


def _assert_target_passed(target, env, host, result):
    name = env.host_names[0]
    assert result.rc == 0, str(result)
    assert result.stats[name]["failures"] == 0 and result.stats[name]["unreachable"] == 0, str(result)
    for check in CHECKS[target]:
        assert _statuses(result, name, check) == ["ok"], (check, str(result))
    # The always: section put the host's own values back, byte for byte, and removed the test backups.
    assert host.proxy_value("S-1-5-18").hex() == ORIGINAL_SYSTEM_HEX
    assert host.proxy_value("S-1-5-19") is None
    assert _statuses(result, name, "Check that the host has its original values back, byte for byte") == ["ok"]
    assert host.list_files(r"C:\Windows\Temp") == []


def test_win_wininet_proxy_target_runs_on_the_lab(tmp_path):
    env, host, result = run_target(tmp_path, "win_wininet_proxy")
    _assert_target_passed("win_wininet_proxy", env, host, result)
    name = env.host_names[0]
    # Every shared scenario went through the apply module (check mode and real run both checked).
    per_scenario = _statuses(result, name, "| check both runs")
    assert per_scenario == ["ok"] * len(SCENARIOS["atp_it_scenarios"])
    # The backup it restored from was a real reg.exe import on the host.
    assert _statuses(result, name, "Restore the backup with reg.exe import") == ["ok"]


def test_atp_endpoint_probe_target_runs_on_the_lab(tmp_path):
    env, host, result = run_target(tmp_path, "atp_endpoint_probe")
    _assert_target_passed("atp_endpoint_probe", env, host, result)
    name = env.host_names[0]
    # The probes ran on the host as the become accounts (one probe script run each, the default engine), not on the
    # controller.
    ledger = host.ledger()
    assert "win_uri" not in ledger["by_module"], ledger
    trips = {task: n for task, n in ledger["by_task"].items() if task.split(" : ")[-1].startswith("Probe as")}
    assert sorted(trips.values()) == [1, 1, 1, 2], ledger["by_task"]
    probe = result.result(name, "atp_endpoint_probe : Probe as LocalService again, failing when unreachable")
    assert probe["account"] == "LocalService" and probe["via"] == "target"
    # The accounts option: one task, one probe script run per account, each as that account (the target checks
    # that each went its own way).
    both = "atp_endpoint_probe : Probe as LocalService and SYSTEM in one task (no become_user; the action sets it " \
           "per account)"
    assert trips[both] == 2
    assert [a["account"] for a in result.result(name, both)["accounts"]] == ["LocalService", "SYSTEM"]


def test_atp_proxy_target_runs_on_the_lab(tmp_path):
    # This target found that the role took check mode from ansible_check_mode (set by --check only), so
    # include_role apply: {check_mode: true} made verify.yml fail; the role now takes it from its modules.
    env, host, result = run_target(tmp_path, "atp_proxy")
    _assert_target_passed("atp_proxy", env, host, result)
    name = env.host_names[0]
    check = result.result(name, "atp_proxy : Keep the check-mode summary")
    assert check["ansible_facts"]["atp_it_summary_check"]["status"] == "would_change"
    # the role probed from the host as LocalService (the probe script: a win_powershell round trip of that task)
    by_task = host.ledger()["by_task"]
    assert any("Probe the Defender endpoints" in task and trips >= 1 for task, trips in by_task.items()), by_task


def test_atp_self_check_target_runs_on_the_lab(tmp_path):
    env, host, result = run_target(tmp_path, "atp_self_check")
    _assert_target_passed("atp_self_check", env, host, result)
    # read-only: the state query and the documented modules, then the target's own restore (win_regedit of the
    # values it saved, which the self-check did not change)
    allowed = {"win_powershell", "win_reg_stat", "win_service_info", "win_certificate_info", "win_stat", "win_whoami",
               "win_file", "win_regedit"}
    assert set(host.ledger()["by_module"]) <= allowed
    name = env.host_names[0]
    assert result.stats[name]["changed"] == 0

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's job on one host (plugins/plugin_utils/_job/_job.py), run in-process against the lab's emulated host:
the values it writes, the backup it leaves, what it returns, what it refuses, and what a dropped connection says."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import (
    ChangeError,
    ConnectionDropped,
    Disconnected,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _file_write as file_write
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _job as job
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _variables as variables
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w
from tests.lab import state
from tests.unit.plugins.action.lab_executor import LabExecutor

SYS, LS = "S-1-5-18", "S-1-5-19"
PROXY = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
BACKUP_DIR = "C:\\ProgramData\\atp.sensor_proxy\\backups"


@pytest.fixture
def lab(tmp_path):
    found = state.Lab.create(tmp_path / "lab", hosts=1)
    found.host("dc01").set_proxy("user", PROXY)
    return found


def checked(**given) -> dict:
    problems, dummy, values = variables.check_role_variables(given)
    assert problems == []
    return values


def run(lab, values: dict, check_mode=False, execute=None):
    execute = execute or LabExecutor(lab, "dc01")
    return job.run(execute, execute.upload, execute.remote_copy, values, check_mode, host="dc01"), execute


def test_a_host_without_values_gets_the_admins_bytes_after_a_backup_then_a_rerun_reads_once(lab):
    host = lab.host("dc01")
    admin = host.proxy_value("user")
    result, execute = run(lab, checked())
    assert host.proxy_value(SYS) == admin and host.proxy_value(LS) == admin  # the connection user's bytes, exactly
    assert result["changed"] is True and sorted(result["changed_sids"]) == [SYS, LS] and result["method"] == "wininet"
    assert result["backup_file"] in host.find_files(BACKUP_DIR, "before.reg")
    parsed = regfile.parse(host.read_file(result["backup_file"]).decode("ascii"))
    assert all(values == {"DefaultConnectionSettings": None} for values in parsed.values())  # a restore deletes them

    again, execute = run(lab, checked())
    assert again["changed"] is False and again["in_sync"] is True and again["changed_sids"] == []
    assert execute.calls == ["ansible.windows.win_powershell"]  # one state query, nothing else
    assert len(host.find_files(BACKUP_DIR, "before.reg")) == 1


def test_check_mode_and_the_drift_report_write_nothing_and_say_what_would_change(lab):
    host = lab.host("dc01")
    host.seed({"SYSTEM": {"proxy_server": "old.corp:3128"}})
    old = host.proxy_value(SYS)
    for values, check_mode in ((checked(), True), (checked(atp_proxy_mode="check"), False)):
        result, execute = run(lab, values, check_mode)
        assert sorted(result["changed_sids"]) == [SYS, LS] and result["in_sync"] is False
        assert result["changed"] is (not values["atp_proxy_mode"] == "check")  # a drift report changes nothing
        assert host.proxy_value(SYS) == old and host.proxy_value(LS) is None
        assert host.find_files(BACKUP_DIR) == [] and execute.calls == ["ansible.windows.win_powershell"]


def test_settings_source_and_state_absent(lab):
    host = lab.host("dc01")
    result, dummy = run(lab, checked(atp_proxy_source="settings", atp_proxy_settings={"proxy_server": "p.corp:3128"}))
    assert w.decode(host.proxy_value(SYS)).proxy_server == "p.corp:3128" and result["changed"] is True
    result, dummy = run(lab, checked(atp_proxy_state="absent"))
    cleared = w.decode(host.proxy_value(SYS))
    assert result["changed"] is True and not cleared.flags["proxy"] and not cleared.flags["auto_detect"]
    assert len(host.find_files(BACKUP_DIR, "before.reg")) == 2  # one backup per change


def test_a_connection_user_who_is_not_an_administrator_changes_nothing(lab):
    host = lab.host("dc01")
    host.set_fault("not_admin")
    with pytest.raises(ChangeError, match="is not an enabled member of BUILTIN") as caught:
        run(lab, checked())
    assert caught.value.details["changed"] is False
    assert host.proxy_value(SYS) is None and host.find_files(BACKUP_DIR) == []


def test_a_drop_before_the_first_write_says_nothing_was_written(lab):
    inner = LabExecutor(lab, "dc01")

    def dropping(module, args):
        raise Disconnected("WinRM: connection reset")

    dropping.upload, dropping.remote_copy = inner.upload, inner.remote_copy
    with pytest.raises(ConnectionDropped, match="dropped before anything was written") as caught:
        run(lab, checked(), execute=dropping)
    assert caught.value.details == {"written": [], "maybe_written": [], "backup_file": "",
                                    "dropped_at": "before the change", "changed": False}
    assert lab.host("dc01").proxy_value(SYS) is None


def test_a_drop_after_the_backup_names_the_backup_and_what_may_be_written(lab):
    inner = LabExecutor(lab, "dc01")

    def dropping(module, args):
        if module == "ansible.windows.win_command":  # the reg import, after the backup's file write
            raise Disconnected("WinRM: connection reset")
        return inner(module, args)

    dropping.upload = lambda files, dest: file_write.write(dropping, dest, files)
    dropping.remote_copy = inner.remote_copy
    with pytest.raises(ConnectionDropped) as caught:
        run(lab, checked(), execute=dropping)
    details = caught.value.details
    assert details["backup_file"] in lab.host("dc01").find_files(BACKUP_DIR, "before.reg")
    assert details["written"] == [] and sorted(details["maybe_written"]) == [SYS, LS]


def test_winhttp_from_ie_copies_the_value_this_run_wrote_for_the_account(lab):
    """WinHTTP from ie is computed from SYSTEM's WinINet value as this run leaves it: the bytes the WinINet part
    wrote, not what the host held before (SYSTEM had another proxy)."""
    host = lab.host("dc01")
    host.seed({"SYSTEM": {"proxy_server": "old.corp:3128"}})
    values = checked(atp_proxy_products=["mdi", "mde"], atp_proxy_mde_proxy_server="proxy.corp:8080",
                     atp_proxy_mde_winhttp_source="ie", atp_proxy_mde_winhttp_ie_account="SYSTEM")
    result, dummy = run(lab, values, check_mode=True)
    assert host.winhttp() is None  # check mode: nothing written
    (entry,) = [s for s in result["mde"]["settings"] if "WinHttp" in str(s.get("name")) or "winhttp" in str(s)]
    assert "proxy.corp:8080" in str(entry) and "old.corp" not in str(entry)  # the value this run would write
    result, dummy = run(lab, values)
    assert w.decode(host.proxy_value(SYS)).proxy_server == "proxy.corp:8080"
    assert host.winhttp()["proxy_server"] == "proxy.corp:8080" and result["mde"]["winhttp_copied_from"]


@pytest.mark.parametrize("given, expected", [
    # The variable check and the Defender for Endpoint part both read its proxy; the argument spec and the catalogue
    # both know the clouds: each problem once.
    ({"atp_proxy_mde_proxy_server": "proxy.corp"},
     ["atp_proxy_mde_proxy_server: 'proxy.corp' has no port; write it as host:port, for example proxy.corp:8080"]),
    ({"atp_proxy_mde_bypass": [""], "atp_proxy_mde_proxy_server": "proxy.corp:8080"},
     ["atp_proxy_mde_bypass: entry 1 is empty or blank (''); remove it, or give a host pattern such as <local> or "
      "*.corp.example"]),
    ({"atp_proxy_cloud": "mars"}, ["value of atp_proxy_cloud must be one of: commercial, gcc, gcc_high, dod, got: mars"]),
    # Two problems of one variable found by one check are both said.
    ({"atp_proxy_targets": ["x", "y"], "atp_proxy_products": ["mdi"]},
     ["atp_proxy_targets: 'x' is neither", "atp_proxy_targets: 'y' is neither"]),
    # Problems of other variables from the later checks are still said with them.
    ({"atp_proxy_targets": ["x"], "atp_proxy_products": ["mdi"], "atp_proxy_sensor_proxy_url": "javascript:alert(1)"},
     ["atp_proxy_targets: 'x' is neither", "atp_proxy_sensor_proxy_url: 'javascript:alert(1)' has the scheme"]),
])
def test_each_problem_is_said_once(given, expected):
    values = dict({"atp_proxy_products": ["mdi", "mde"], "atp_proxy_targets": ["S-1-5-18"]}, **given)
    problems, dummy, dummy = variables.check_role_variables(values)
    assert len(problems) == len(expected), problems
    assert all(p.startswith(e) for p, e in zip(problems, expected, strict=True)), problems

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's own PowerShell (the state query of _host/_state_query.py, the file write of _host/_file_write.py) run for
real by the lab's executor, read by the collection's own Python (_remote.read_state, _file_write.write).

Each test here failed on the scripts as they were before the executor existed (the traps: variables ignore case and a
typed parameter converts; errors went on under Continue; SHA256::Create under FIPS; signed GetValue numbers)."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import RemoteError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _file_write as file_write
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _state_query as state_query
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _services as sensor_services
from tests.lab import state, system_state
from tests.lab.pwsh import runner

FOLDER = "C:\\ProgramData\\atp.sensor_proxy\\backups\\atp_proxy_20261201T000000000000Z"


@pytest.fixture
def host(tmp_path):
    return state.Lab.create(tmp_path / "lab", hosts=1).host("dc01")


def executor(host, become=None, check_mode=False):
    """``execute(module, args)`` as the action plugins bind it, with win_powershell run by the lab's executor."""
    calls = []

    def execute(module, args):
        assert module == "ansible.windows.win_powershell"
        calls.append(args)
        return runner.run(args["script"], host, runner.lab_account(host, become), args.get("parameters") or {},
                          args.get("depth", 2), args.get("error_action", "continue"), check_mode)

    execute.calls = calls
    return execute


def test_the_state_query_returns_the_installed_services_from_their_registry_keys(host):
    seed = system_state.seed_v2_sensor(host)
    system_state.set_service(host, "AATPSensorUpdater", state="stopped")
    snapshot = remote.read_state(executor(host), services=list(sensor_services.SERVICES))
    services = {k.lower(): s for k, s in snapshot.services.items()}
    assert services["aatpsensor"] == {
        "name": "AATPSensor", "status": "Running", "dependents": [], "path": '"%sMicrosoft.Tri.Sensor.exe"'
        % seed.install_folder, "account": "NT AUTHORITY\\LocalService", "start": 2, "dependencies": []}
    assert services["aatpsensorupdater"]["status"] == "Stopped"
    assert services["aatpsensorupdater"]["account"] == "LocalSystem"
    info = sensor_services.sensor_info(snapshot.services, snapshot.processes)
    assert info["generation"] == "v2" and info["config_path"] == seed.config_path  # what sensor_config slurps


def test_the_state_query_fails_naming_the_key_it_could_not_read(host):
    host.set_value("HKLM:\\SOFTWARE\\Policies\\Contoso", "A", "REG_SZ", "x")
    host.deny_registry_read("HKLM:\\SOFTWARE\\Policies\\Contoso")
    execute = executor(host)
    with pytest.raises(RemoteError) as caught:
        remote.read_state(execute, ["HKLM:\\SOFTWARE\\Microsoft", "HKLM:\\SOFTWARE\\Policies\\Contoso"])
    assert execute.calls[0]["error_action"] == "stop"
    assert str(caught.value) == (
        "ansible.windows.win_powershell failed on the host: the state query failed while reading the registry key "
        "HKLM:\\SOFTWARE\\Policies\\Contoso: Exception calling \"OpenSubKey\" with \"2\" argument(s): \"Requested "
        "registry access is not allowed.\"")


def test_an_error_record_without_failed_is_a_failure_too():
    # error_action continue (or a script that goes on): a written error record means the data may be wrong
    result = {"changed": False, "result": {"reading": "the service AATPSensor", "keys": {}},
              "error": [{"exception": {"message": "You cannot call a method on a null-valued expression."}}]}
    assert state_query.failure(result) == ("the state query failed while reading the service AATPSensor: You cannot "
                                           "call a method on a null-valued expression.")
    assert state_query.failure({"changed": False, "result": {}, "error": []}) is None


def test_registry_numbers_come_back_unsigned_and_make_a_valid_reg_line(host):
    path = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Defender"
    host.set_value(path, "Flags", "REG_DWORD", 0x80000000)
    host.set_value(path, "All", "REG_DWORD", 0xFFFFFFFF)
    host.set_value(path, "Big", "REG_QWORD", 0xFFFFFFFFFFFFFFFE)
    key = remote.read_state(executor(host), [path]).key(path)
    assert (key.get("Flags").value, key.get("All").value, key.get("Big").value) == (
        0x80000000, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFE)
    assert regfile.value_lines("Flags", key.get("Flags").value) == ['"Flags"=dword:80000000']
    assert regfile.value_lines("All", key.get("All").value) == ['"All"=dword:ffffffff']


def test_the_file_write_works_under_the_fips_policy(host):
    system_state.seed_fips(host)  # FIPS on, .NET Framework 4.7.2: SHA256Managed throws
    files = {"before.reg": b"Windows Registry Editor Version 5.00\r\n", "after.reg": b"x"}
    out = file_write.write(executor(host), FOLDER, files)
    assert out == {"changed": True, "written": [FOLDER + "\\before.reg", FOLDER + "\\after.reg"], "failed": False}
    assert host.read_file(FOLDER + "\\before.reg") == files["before.reg"]
    assert hashlib.sha256(host.read_file(FOLDER + "\\after.reg")).hexdigest() == hashlib.sha256(b"x").hexdigest()


def test_the_file_write_stops_at_the_first_error_and_says_what_is_written(host):
    host.write_file(FOLDER + "\\b.reg", b"someone else's")
    out = file_write.write(executor(host), FOLDER, {"a.reg": b"1", "b.reg": b"2", "c.reg": b"3"})
    assert out == {"changed": True, "written": [FOLDER + "\\a.reg"], "failed": True,
                   "msg": "The file '%s\\b.reg' already exists." % FOLDER}
    assert host.read_file(FOLDER + "\\b.reg") == b"someone else's" and host.read_file(FOLDER + "\\c.reg") is None


def test_the_state_query_runs_in_check_mode_and_the_file_write_does_not(host):
    system_state.seed_v3_sensor(host)
    snapshot = remote.read_state(executor(host, check_mode=True), processes=["SenseIdentity"])
    assert [p["name"] for p in snapshot.processes] == ["SenseIdentity"]
    out = file_write.write(executor(host, check_mode=True), FOLDER, {"a.reg": b"1"})
    assert out["failed"] is True and host.read_file(FOLDER + "\\a.reg") is None


def test_the_state_query_as_each_account(host):
    snapshot = remote.read_state(executor(host, become="LocalService"),
                                 ["HKCU:\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections"])
    assert snapshot.user == {"name": "NT AUTHORITY\\LOCAL SERVICE", "sid": "S-1-5-19", "administrator": False}
    host.set_hive_loaded("NetworkService", False)
    key = "HKU:\\S-1-5-20\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections"
    read = remote.read_state(executor(host, become="SYSTEM"), [key])
    assert read.key(key).exists is False and read.key(key).hive_loaded is False and read.user["administrator"]

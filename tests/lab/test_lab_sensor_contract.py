# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract and behaviour of the lab's sensor stand-ins (win_service_info, win_service, win_certificate_info,
win_powershell), exercised by real ansible-playbook and checked against the REAL ansible.windows 3.3.0 RETURN docs."""

from __future__ import annotations

import pytest

from tests.lab import system_state as ss
from tests.lab.test_lab_contract import check, real_return_doc

pytestmark = [pytest.mark.lab]

SCRIPT_PATH = "plugins/plugin_utils/_host/_state_query.py"
# Keys the real PowerShell returns that its RETURN documents otherwise, with where they come from.
DEVIATIONS = {
    # win_certificate_info.ps1 line 38 sets "raw"; RETURN documents the same data as "cert_data".
    "win_certificate_info: undocumented key certificates[].raw",
    # win_service_info.ps1 line 198 sets "failure_actions_on_non_crash_failure" (RETURN: "failure_action_on_...")
    # and line 219 "win32_exit_code" (RETURN: "win32_exitcode").
    "win_service_info: undocumented key services[].failure_actions_on_non_crash_failure",
    "win_service_info: undocumented key services[].win32_exit_code",
}


# win_powershell's RETURN documents ``result`` as "Defaults to an empty dict but can be set to anything by the
# script" (``contains: {}``): its members are the script's own, checked by value below.
SCRIPT_DEFINED = "win_powershell: undocumented key result."


def problems(module: str, result: dict) -> list:
    return [p for p in check(module, result, real_return_doc(module))
            if p not in DEVIATIONS and not p.startswith(SCRIPT_DEFINED)]


def state_query(**reads):
    """The win_powershell arguments of the collection's state query (the script, loaded from the checkout)."""
    from tests.lab import state

    module = state.load_by_path("atp_lab_state_query_test", state.REPO_ROOT / SCRIPT_PATH)
    return module.module_args(**reads)


SENSOR_READS = {"processes": ["SenseIdentity"], "services": ["AATPSensor", "aatpsensorupdater", "NoSuchService"],
                "root_certificates": ["df3c24f9bfd666761b268073fe06d1cc8d4f82a4",
                                      "A8985D3A65E5E5C4B2D7D66D40C6DD2FB19C5436"]}


@pytest.fixture
def sensor_host(lab):
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    ss.add_process(host, "SenseIdentity", ss.MDE_FOLDER + "\\SenseIdentity.exe")
    return host, seed


def play(tasks: str) -> str:
    return "- hosts: dc01\n  gather_facts: false\n  tasks:\n" + tasks


def test_every_sensor_standin_matches_the_real_return_docs(lab, sensor_host):
    host, seed = sensor_host
    run = lab.run_playbook(play("""
    - {name: services, ansible.windows.win_service_info: {name: 'AATPSensor*'}}
    - {name: by_display_name, ansible.windows.win_service_info: {name: Azure Advanced Threat Protection Sensor}}
    - {name: no_service, ansible.windows.win_service_info: {name: NoSuchService}}
    - {name: my_store, ansible.windows.win_certificate_info: {store_name: My}}
    - {name: root_by_thumbprint, ansible.windows.win_certificate_info:
         {store_name: Root, thumbprint: df3c24f9bfd666761b268073fe06d1cc8d4f82a4}}
    - {name: no_cert, ansible.windows.win_certificate_info: {thumbprint: '0000000000000000000000000000000000000000'}}
    - {name: state_query, ansible.windows.win_powershell: "{{ query }}"}
    - {name: restart, ansible.windows.win_service: {name: AATPSensorUpdater, state: restarted,
                                                    force_dependent_services: true}}
    - {name: stop, ansible.windows.win_service: {name: AATPSensor, state: stopped}}
    - {name: start, ansible.windows.win_service: {name: Azure Advanced Threat Protection Sensor, state: started}}
"""), extra_vars={"query": state_query(**SENSOR_READS)}, diff=True)
    assert run.rc == 0, run
    found = []
    for task, module in (("services", "win_service_info"), ("by_display_name", "win_service_info"),
                         ("no_service", "win_service_info"), ("my_store", "win_certificate_info"),
                         ("root_by_thumbprint", "win_certificate_info"), ("no_cert", "win_certificate_info"),
                         ("state_query", "win_powershell"), ("restart", "win_service"), ("stop", "win_service"),
                         ("start", "win_service")):
        found += problems(module, run.result("dc01", task))
    assert found == [], "\n".join(found)
    # Values, not only types.
    services = run.result("dc01", "services")
    assert services["exists"] is True and [s["name"] for s in services["services"]] == ["AATPSensor",
                                                                                        "AATPSensorUpdater"]
    updater = services["services"][1]
    assert (updater["username"], updater["state"], updater["start_mode"]) == ("NT AUTHORITY\\SYSTEM", "started", "auto")
    assert services["services"][0]["username"] == "NT AUTHORITY\\LocalService"
    assert run.result("dc01", "by_display_name")["services"][0]["name"] == "AATPSensor"
    assert run.result("dc01", "no_service") == {**run.result("dc01", "no_service"), "exists": False, "services": []}
    [cert] = run.result("dc01", "my_store")["certificates"]
    assert (cert["thumbprint"], cert["has_private_key"]) == (seed.thumbprint, True)
    assert cert["subject"] == "CN=Azure ATP Sensor"
    assert cert["key_usages"] == ["DataEncipherment", "KeyEncipherment", "DigitalSignature"]  # ascending flags
    root = run.result("dc01", "root_by_thumbprint")["certificates"][0]
    assert root["subject"] == "CN=DigiCert Global Root G2, OU=www.digicert.com, O=DigiCert Inc, C=US"
    assert root["is_ca"] is True and root["valid_to_iso8601"] == "2038-01-15T12:00:00Z"
    assert run.result("dc01", "no_cert")["exists"] is False
    ps = run.result("dc01", "state_query")
    assert ps["changed"] is False and [p["name"] for p in ps["result"]["processes"]] == ["SenseIdentity"]
    services = ps["result"]["services"]
    assert sorted(services) == ["AATPSensor", "aatpsensorupdater"]  # keyed as asked; a missing one is left out
    assert services["aatpsensorupdater"] == {
        "name": "AATPSensorUpdater", "status": "Running", "dependents": [], "account": "LocalSystem", "start": 2,
        "path": '"%sMicrosoft.Tri.Sensor.Updater.exe"' % seed.install_folder, "dependencies": []}
    assert services["AATPSensor"]["account"] == "NT AUTHORITY\\LocalService"
    assert ps["result"]["root_certificates"] == {"df3c24f9bfd666761b268073fe06d1cc8d4f82a4": True,
                                                 "A8985D3A65E5E5C4B2D7D66D40C6DD2FB19C5436": True}
    restart = run.result("dc01", "restart")
    assert restart["changed"] is True and restart["state"] == "running" and restart["username"] == "LocalSystem"
    assert restart["diff"]["before"]["state"] == "started" and restart["diff"]["after"]["state"] == "restarted"
    assert run.result("dc01", "stop")["state"] == "stopped" and run.result("dc01", "start")["state"] == "running"
    assert ss.service_state(host, "AATPSensor") == "started"


def test_powershell_runs_any_script_refuses_what_the_lab_does_not_emulate_and_check_mode(lab, sensor_host):
    run = lab.run_playbook(play("""
    - {name: other, ansible.windows.win_powershell: {script: 'Get-Service | ForEach-Object { $_.Name }'}}
    - {name: unknown, ansible.windows.win_powershell: {script: "$x = 1\\nfunction f { 1 }"}, ignore_errors: true}
"""))
    # any script runs, through the lab's executor: here the services of the host, by name
    assert run.result("dc01", "other")["output"] == ["AATPSensor", "AATPSensorUpdater"]
    assert run.status("dc01", "unknown") == "ignored"
    assert run.result("dc01", "unknown")["msg"] == "unsupported in the lab: function statement at line 2"
    checked = lab.run_playbook(play("""
    - {name: state_query, ansible.windows.win_powershell: "{{ query }}"}
"""), extra_vars={"query": state_query(**SENSOR_READS)}, check=True)
    assert checked.rc == 0, checked
    result = checked.result("dc01", "state_query")["result"]  # SupportsShouldProcess: it ran in check mode
    assert result["processes"][0]["name"] == "SenseIdentity"


def test_restart_stops_and_starts_dependents_and_needs_force(lab, sensor_host):
    host, seed = sensor_host
    ss.set_service(host, "AATPSensor", dependencies=["AATPSensorUpdater"])
    before = ss.service(host, "AATPSensor")["process_id"]
    run = lab.run_playbook(play("""
    - {name: no_force, ansible.windows.win_service: {name: AATPSensorUpdater, state: restarted}, ignore_errors: true}
    - {name: info, ansible.windows.win_service_info: {name: AATPSensorUpdater}}
    - {name: forced, ansible.windows.win_service: {name: AATPSensorUpdater, state: restarted,
                                                   force_dependent_services: true}}
"""))
    assert run.status("dc01", "no_force") == "ignored"
    assert run.result("dc01", "no_force")["msg"] == (
        "Unhandled exception while executing module: Cannot stop service 'Azure Advanced Threat Protection Sensor "
        "Updater (AATPSensorUpdater)' because it has dependent services. It can only be stopped if the Force flag "
        "is set.")
    assert run.result("dc01", "info")["services"][0]["dependency_of"] == ["AATPSensor"]
    assert run.result("dc01", "forced")["depended_by"] == ["AATPSensor"]
    assert ss.service_state(host, "AATPSensor") == ss.service_state(host, "AATPSensorUpdater") == "started"
    assert ss.service(host, "AATPSensor")["process_id"] != before  # the dependent was restarted too


def test_service_fails_to_start_fault(lab, sensor_host):
    host, seed = sensor_host
    ss.fail_to_start(host, "AATPSensorUpdater")
    run = lab.run_playbook(play("""
    - {name: restart, ansible.windows.win_service: {name: AATPSensorUpdater, state: restarted,
                                                    force_dependent_services: true}, ignore_errors: true}
    - {name: info, ansible.windows.win_service_info: {name: 'AATPSensor*'}}
"""))
    assert run.status("dc01", "restart") == "ignored"
    assert run.result("dc01", "restart")["msg"] == (
        "Unhandled exception while executing module: Service 'Azure Advanced Threat Protection Sensor Updater "
        "(AATPSensorUpdater)' cannot be started due to the following error: Cannot start service "
        "AATPSensorUpdater on computer '.'.")
    states = {s["name"]: s["state"] for s in run.result("dc01", "info")["services"]}
    assert states == {"AATPSensor": "started", "AATPSensorUpdater": "stopped"}  # what was stopped stays stopped
    ss.fail_to_start(host, "AATPSensorUpdater", on=False)
    again = lab.run_playbook(play("    - {name: start, ansible.windows.win_service: {name: AATPSensorUpdater, "
                                  "state: started}}\n"))
    assert again.rc == 0 and ss.service_state(host, "AATPSensorUpdater") == "started"


def test_a_failing_dependency_fails_its_dependent(lab, sensor_host):
    host, seed = sensor_host
    ss.set_service(host, "AATPSensor", dependencies=["AATPSensorUpdater"])
    ss.fail_to_start(host, "AATPSensorUpdater")
    run = lab.run_playbook(play("""
    - {name: restart, ansible.windows.win_service: {name: AATPSensorUpdater, state: restarted,
                                                    force_dependent_services: true}, ignore_errors: true}
"""))
    # Restart-Service starts the dependent first; the SCM then starts its dependency, which fails.
    assert "Service 'Azure Advanced Threat Protection Sensor (AATPSensor)' cannot be started" in \
        run.result("dc01", "restart")["msg"]
    assert ss.service_state(host, "AATPSensor") == ss.service_state(host, "AATPSensorUpdater") == "stopped"


def test_check_mode_changes_no_service(lab, sensor_host):
    host, seed = sensor_host
    ss.fail_to_start(host, "AATPSensorUpdater")  # -WhatIf never tries, so the fault cannot show
    before = ss.read(host)
    run = lab.run_playbook(play("""
    - {name: restart, ansible.windows.win_service: {name: AATPSensorUpdater, state: restarted,
                                                    force_dependent_services: true}}
    - {name: stop, ansible.windows.win_service: {name: AATPSensor, state: stopped}}
"""), check=True)
    assert run.rc == 0, run
    assert run.result("dc01", "restart")["changed"] is True and run.result("dc01", "stop")["changed"] is True
    assert ss.read(host) == before


def test_missing_service_and_unemulated_options(lab):
    run = lab.run_playbook(play("""
    - {name: missing, ansible.windows.win_service: {name: AATPSensor, state: started}, ignore_errors: true}
    - {name: create, ansible.windows.win_service: {name: X, path: 'C:\\x.exe'}, ignore_errors: true}
"""))
    assert run.result("dc01", "missing")["msg"] == ("Service 'AATPSensor' is not installed, need to set 'path' to "
                                                    "create a new service")
    assert "stand-in emulates only" in run.result("dc01", "create")["msg"]


# ---------------------------------------------------------------------------
# win_copy remote mode (remote_src: true), driven by the REAL win_copy action plugin
# ---------------------------------------------------------------------------
REMOTE_PLAY = r"""
    - {name: file, ansible.windows.win_copy: {src: 'C:\ProgramData\lab\src\a.json', dest: 'C:\ProgramData\lab\dst\a.json',
                                              remote_src: true}}
    - {name: again, ansible.windows.win_copy: {src: 'C:\ProgramData\lab\src\a.json', dest: 'C:\ProgramData\lab\dst\a.json',
                                               remote_src: true}}
    - {name: into_folder, ansible.windows.win_copy: {src: 'C:\ProgramData\lab\src\a.json', dest: 'C:\ProgramData\lab\dst\',
                                                     remote_src: true}}
    - {name: other_name, ansible.windows.win_copy: {src: 'C:\ProgramData\lab\src\b.json', dest: 'C:\ProgramData\lab\dst\a.json',
                                                    remote_src: true}}
    - {name: folder_contents, ansible.windows.win_copy: {src: 'C:\ProgramData\lab\src\', dest: 'C:\ProgramData\lab\tree',
                                                         remote_src: true}}
    - {name: folder, ansible.windows.win_copy: {src: 'C:\ProgramData\lab\src', dest: 'C:\ProgramData\lab\tree2',
                                                remote_src: true}}
    - {name: missing_src, ansible.windows.win_copy: {src: 'C:\ProgramData\lab\nosuch.json', dest: 'C:\ProgramData\lab\x.json',
                                                     remote_src: true}, ignore_errors: true}
    - {name: missing_parent, ansible.windows.win_copy: {src: 'C:\ProgramData\lab\src\a.json',
                                                        dest: 'C:\ProgramData\lab\nosuch\a.json', remote_src: true},
       ignore_errors: true}
    - {name: dest_is_folder_file, ansible.windows.win_copy: {src: 'C:\ProgramData\lab\src\a.json',
                                                             dest: 'C:\ProgramData\lab\tree2\src', remote_src: true},
       ignore_errors: true}
"""


def test_win_copy_remote_mode_as_win_copy_ps1_does(lab):
    host = lab.host("dc01")
    a, b = b'{"a": 1}\r\n', b'{"b": 22}\r\n'
    host.write_file("C:\\ProgramData\\lab\\src\\a.json", a)
    host.write_file("C:\\ProgramData\\lab\\src\\b.json", b)
    host.write_file("C:\\ProgramData\\lab\\dst\\keep.txt", b"x")
    lab.reset_ledgers()
    run = lab.run_playbook(play(REMOTE_PLAY), diff=True)
    assert run.rc == 0, run
    found = []
    for task in ("file", "again", "into_folder", "other_name", "folder_contents", "folder", "missing_src",
                 "missing_parent", "dest_is_folder_file"):
        found += problems("win_copy", run.result("dc01", task))
    assert found == [], "\n".join(found)
    sha1 = {k: __import__("hashlib").sha1(v).hexdigest() for k, v in (("a", a), ("b", b))}
    first = run.result("dc01", "file")
    assert {k: first[k] for k in ("changed", "operation", "original_basename", "checksum", "size", "src", "dest")} == {
        "changed": True, "operation": "file_copy", "original_basename": "a.json", "checksum": sha1["a"],
        "size": len(a), "src": "C:\\ProgramData\\lab\\src\\a.json", "dest": "C:\\ProgramData\\lab\\dst\\a.json"}
    assert first["diff"] == {"prepared": "+C:\\ProgramData\\lab\\dst\\a.json\n"}
    assert run.result("dc01", "again")["changed"] is False  # same SHA-1: no copy (force)
    assert run.result("dc01", "into_folder")["dest"] == "C:\\ProgramData\\lab\\dst\\a.json"
    other = run.result("dc01", "other_name")
    assert other["changed"] is True and other["diff"]["prepared"] == ("-C:\\ProgramData\\lab\\dst\\a.json\n"
                                                                      "+C:\\ProgramData\\lab\\dst\\a.json\n")
    assert host.read_file("C:\\ProgramData\\lab\\dst\\a.json") == b  # the exact bytes
    assert run.result("dc01", "folder_contents")["operation"] == "folder_copy"
    assert host.read_file("C:\\ProgramData\\lab\\tree\\b.json") == b
    assert run.result("dc01", "folder")["dest"] == "C:\\ProgramData\\lab\\tree2\\src"
    assert host.read_file("C:\\ProgramData\\lab\\tree2\\src\\a.json") == a
    assert run.result("dc01", "missing_src")["msg"] == ("Cannot copy src file: 'C:\\ProgramData\\lab\\nosuch.json' as "
                                                        "it does not exist")
    assert run.result("dc01", "missing_parent")["msg"] == ("Destination directory 'C:\\ProgramData\\lab\\nosuch' does "
                                                           "not exist")
    assert run.result("dc01", "dest_is_folder_file")["dest"] == "C:\\ProgramData\\lab\\tree2\\src\\a.json"
    # The action runs the module once per task in remote mode: nothing is transferred.
    assert lab.ledger()["dc01"]["by_module"] == {"win_copy": 9}


def test_win_copy_remote_mode_in_check_mode_copies_nothing(lab):
    host = lab.host("dc01")
    host.write_file("C:\\ProgramData\\lab\\src\\a.json", b"{}")
    host.write_file("C:\\ProgramData\\lab\\dst\\b.json", b"[]")
    run = lab.run_playbook(play(r"""
    - {name: new, ansible.windows.win_copy: {src: 'C:\ProgramData\lab\src\a.json', dest: 'C:\ProgramData\lab\dst\a.json',
                                             remote_src: true}}
    - {name: over, ansible.windows.win_copy: {src: 'C:\ProgramData\lab\src\a.json', dest: 'C:\ProgramData\lab\dst\b.json',
                                              remote_src: true}}
"""), check=True)
    new, over = run.result("dc01", "new"), run.result("dc01", "over")
    assert new["changed"] is True and new["size"] is None and problems("win_copy", new) == []  # -WhatIf: no file
    assert over["changed"] is True and over["size"] == 2  # the old file is still there, and still its size
    assert host.read_file("C:\\ProgramData\\lab\\dst\\a.json") is None
    assert host.read_file("C:\\ProgramData\\lab\\dst\\b.json") == b"[]"


def test_a_service_that_fails_its_next_starts_only(lab, sensor_host):
    host, seed = sensor_host
    ss.fail_to_start(host, "AATPSensorUpdater", times=1)
    run = lab.run_playbook(play("""
    - {name: first, ansible.windows.win_service: {name: AATPSensorUpdater, state: restarted,
                                                  force_dependent_services: true}, ignore_errors: true}
    - {name: second, ansible.windows.win_service: {name: AATPSensorUpdater, state: started}}
"""))
    assert run.status("dc01", "first") == "ignored" and "cannot be started" in run.result("dc01", "first")["msg"]
    assert run.result("dc01", "second")["changed"] is True and ss.service_state(host, "AATPSensorUpdater") == "started"
    assert ss.read(host)["faults"]["service_fails_to_start_times"] == {"aatpsensorupdater": 0}

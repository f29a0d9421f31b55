# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_mdi_sensor_proxy (the sensor_config write path of _sensor._change) driven with recorded ansible.windows answers.

The fake host (tests/unit/fakes/sensor.py ``WriteHost``) extends the discovery fake (the state query and slurp)
with what the write path calls, in the real modules' shapes its docstring cites.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ansible_collections.atp.sensor_proxy.plugins.action.win_mdi_sensor_proxy import ActionModule
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _file_write as file_write_module
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _change as sensor_apply
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as sensor
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _file_backup as sensor_backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _restart as sensor_restart
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _services as sensor_services
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.sensor import (
    CONFIG,
    JSON_PROXY,
    SECRET_MANAGER,
    FakeSensorHost,
    WriteHost,
    config_json,
)

from .harness import build_action

REPO = Path(__file__).resolve().parents[4]
CANARY = "Canary-Pa55-41d9"
URL = "http://proxy.corp:8080"
BACKUPS = backup.DEFAULT_BACKUP_DIR


@pytest.fixture(scope="module")
def private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def decrypt(key, encrypted: str) -> str:
    return key.decrypt(base64.b64decode(encrypted), padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)).decode("utf-16-le")


def upload_to(host):
    """The action's ``upload``, bound to the fake host: one file-write script."""
    return lambda files, dest: file_write_module.write(host, dest, files)


def run(host, args, check_mode=False, diff=True):
    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        return host(module_name, dict(module_args or {}, _ansible_check_mode=check_mode))

    plugin = build_action(ActionModule, dict(args), execute_module, check_mode=check_mode, diff=diff)

    def remote_copy(src, dest, task_vars, execute):
        assert not check_mode, "check mode must not write"
        execute.count("ansible.windows.win_copy", 1)
        return host.remote_copy(src, dest)

    plugin._remote_copy = remote_copy
    return plugin.run(task_vars={"inventory_hostname": "dc01"})


def modules(host):
    return [c[0].rsplit(".", 1)[1] for c in host.calls]


def stored_proxy(host):
    return json.loads(host.files[CONFIG.lower()])["SensorProxyConfiguration"]


def backup_files(host):
    return {n: d for n, d in host.files.items() if n.startswith(BACKUPS.lower())}


# ---------------------------------------------------------------------------
# A change, and the second run
# ---------------------------------------------------------------------------
def test_a_sensor_without_a_proxy_gets_one_with_backup_restart_and_check():
    host = WriteHost()
    old = host.files[CONFIG.lower()]
    result = run(host, {"url": URL})
    assert result["changed"] is True and result["verified"] is True and not result.get("failed"), result
    assert stored_proxy(host) == {"$type": "SensorProxyConfiguration", "Url": URL}
    assert result["actions"] == ["wrote SensorConfiguration.json: proxy (none) -> %s" % URL,
                                 "restarted AATPSensorUpdater"]
    assert result["written"] == [CONFIG] and result["restarted"] == ["AATPSensorUpdater"]
    assert result["services"] == {"AATPSensor": "Running", "AATPSensorUpdater": "Running"}
    # The backup holds the exact previous bytes and the manifest lists it with their SHA-256.
    folder = result["backup_file"].rsplit("\\", 1)[0]
    assert folder.startswith(BACKUPS + "\\atp_proxy_") and result["backup_file"].endswith("\\SensorConfiguration.json")
    assert host.files[result["backup_file"].lower()] == old
    assert host.hklm[result["backup_file"]] == backup.sha256(old)
    assert host.hklm[BACKUPS] == backup.SECURED  # the folder was secured, first use
    assert host.files[(folder + "\\SensorConfiguration.new.json").lower()] == host.files[CONFIG.lower()]
    # Order: discovery (one query, the file), secure 5, the backup write 1, the manifest entry, then Microsoft's
    # order (Set-MDISensorProxyConfiguration): stop the updater, the copy, the read back, start it, one query of the
    # services.
    assert modules(host) == ["win_powershell", "slurp", "win_file", "win_owner", "win_acl", "win_acl",
                             "win_acl_inheritance", "win_powershell", "win_command", "win_service", "win_copy",
                             "win_stat", "win_service", "win_powershell"]
    assert [c[1]["state"] for c in host.calls if c[0].endswith("win_service")] == ["stopped", "started"]
    manifest = backup.manifest_from(sensor.remote.read_state(host, [backup.MANIFEST_PATH]).key(backup.MANIFEST_PATH))
    assert backup.trust(manifest, result["backup_file"], old, None)[0] is True  # what a restore checks
    assert result["round_trips"] == 2 + 5 + 1 + 1 + 1 + 1 + 1 + 1 + 1
    assert host.uploads[0] == (folder, ["SensorConfiguration.json", "SensorConfiguration.new.json",
                                        "manifest.reg"]), host.uploads
    assert "state: null" in result["diff"]["before"] and "url: %s" % URL in result["diff"]["after"]
    # The second run: nothing to do, 2 round trips (the discovery), nothing written or restarted.
    host.calls.clear()
    again = run(host, {"url": "HTTP://Proxy.Corp:8080/"})
    assert again["changed"] is False and again["round_trips"] == 2 and modules(host) == ["win_powershell", "slurp"]
    assert again["msg"] == "SensorConfiguration.json: the sensor proxy is already set"
    # A later change: the folder is secured already (the manifest says so).
    host.calls.clear()
    later = run(host, {"url": "http://other.corp:3128"})
    assert later["changed"] and "win_owner" not in modules(host) and later["round_trips"] == 2 + 1 + 6
    assert later["backup_file"] != result["backup_file"] and len(sensor_backup.sensor_backups(
        backup.manifest_from(sensor.remote.read_state(host, [backup.MANIFEST_PATH]).key(backup.MANIFEST_PATH)))) == 2


def test_check_mode_says_what_it_would_do_and_does_nothing():
    host = WriteHost()
    before = dict(host.files)
    result = run(host, {"url": URL}, check_mode=True)
    assert result["changed"] is True and result["check_mode"] is True
    assert result["msg"] == ("would write SensorConfiguration.json: proxy (none) -> http://proxy.corp:8080; "
                             "would restart AATPSensorUpdater")
    assert host.files == before and host.hklm == {} and modules(host) == ["win_powershell", "slurp"]
    assert {s["name"]: s["status"] for s in host.services} == {"AATPSensor": "Running", "AATPSensorUpdater": "Running"}
    assert result["backup_file"] == "" and result["restarted"] == []


def test_absent_clears_the_proxy_as_clear_mdisensorproxyconfiguration_does():
    host = WriteHost()
    host.files[CONFIG.lower()] = config_json(JSON_PROXY)
    result = run(host, {"state": "absent"})
    assert result["changed"] and stored_proxy(host) is None
    assert result["actions"][0] == "wrote SensorConfiguration.json: proxy %s as CORP\\svc (password set) -> (none)" % URL
    assert b'"SensorProxyConfiguration": null,\r\n' in host.files[CONFIG.lower()]  # the file's own CRLF kept
    assert run(host, {"state": "absent"})["changed"] is False


def test_a_dependent_sensor_restarts_with_the_updater_and_must_run_again():
    host = WriteHost()
    host.service("AATPSensor")["dependencies"] = ["AATPSensorUpdater"]
    result = run(host, {"url": URL})
    assert result["actions"][1] == "restarted AATPSensorUpdater with the services that depend on it (AATPSensor)"
    assert result["services"] == {"AATPSensor": "Running", "AATPSensorUpdater": "Running"}


def test_restart_false_writes_and_says_the_running_sensor_keeps_its_old_proxy():
    host = WriteHost()
    result = run(host, {"url": URL, "restart": False})
    assert result["changed"] and "win_service" not in modules(host) and result["restarted"] == []
    assert result["restart_needed"] == ["AATPSensorUpdater"]
    assert any("keeps its old proxy" in w and "restart: false" in w for w in result["warnings"])


# ---------------------------------------------------------------------------
# The password
# ---------------------------------------------------------------------------
def test_the_password_is_encrypted_on_the_controller_and_appears_nowhere(private_key):
    host = WriteHost(private_key)
    result = run(host, {"url": URL, "username": "CORP\\svc-mdi", "password": CANARY})
    assert result["changed"] and result["proxy"]["password_encrypted"] is True
    stored = stored_proxy(host)["EncryptedUserPasswordData"]
    assert stored["CertificateThumbprint"] == SECRET_MANAGER and stored["SecretVersion"] is None
    assert decrypt(private_key, stored["EncryptedBytes"]) == CANARY
    assert modules(host).count("win_certificate_info") == 1 and result["round_trips"] == 2 + 1 + 1 + 5 + 6
    everything = json.dumps(result) + json.dumps(host.calls, default=str) + repr(host.hklm)
    everything += "".join(d.decode("latin-1") for d in host.files.values())
    for form in (CANARY, CANARY.encode("utf-16-le").decode("latin-1"), base64.b64encode(CANARY.encode()).decode()):
        assert form not in everything
    assert stored["EncryptedBytes"] not in json.dumps(result)  # not even the ciphertext in the result
    # on_create: the same user keeps the stored password; nothing is encrypted or written
    host.calls.clear()
    again = run(host, {"url": URL, "username": "corp\\SVC-MDI", "password": CANARY})
    assert again["changed"] is False and again["proxy"]["password_kept"] and "win_certificate_info" not in modules(host)
    # always: encrypted again every run (OAEP gives other bytes), so it changes every run
    always = run(host, {"url": URL, "username": "CORP\\svc-mdi", "password": CANARY, "password_update": "always"})
    assert always["changed"] and stored_proxy(host)["EncryptedUserPasswordData"]["EncryptedBytes"] != \
        stored["EncryptedBytes"]


def test_a_missing_certificate_names_the_variable_and_the_thumbprint_before_anything_is_written():
    host = WriteHost()  # LocalMachine\My is empty
    before = dict(host.files)
    for check_mode in (False, True):
        result = run(host, {"url": URL, "username": "CORP\\svc", "password": CANARY,
                            "name_prefix": "atp_proxy_sensor_proxy_"}, check_mode=check_mode)
        assert result["failed"] and result["changed"] is False
        assert "atp_proxy_sensor_proxy_password cannot be encrypted" in result["msg"]
        assert SECRET_MANAGER in result["msg"] and "LocalMachine\\My" in result["msg"] and CANARY not in result["msg"]
    assert host.files == before and host.hklm == {} and "win_copy" not in modules(host) and host.uploads == []


@pytest.mark.parametrize("args, message", [
    ({"url": "proxy.corp:8080"}, "url: 'proxy.corp:8080' has no scheme"),
    ({"url": URL, "password": CANARY}, "password is set but username is not"),
    ({"url": "ftp://proxy.corp:21"}, "a proxy URL starts with http:// or https://"),
    ({}, "url is required"),
])
def test_bad_input_names_the_option_and_makes_no_remote_call(args, message):
    host = WriteHost()
    result = run(host, args)
    assert result["failed"] and message in result["msg"] and result["round_trips"] == 0 and host.calls == []
    assert CANARY not in json.dumps(result)


def test_name_prefix_spells_the_callers_variables():
    result = run(WriteHost(), {"url": "proxy.corp:8080", "name_prefix": "atp_proxy_sensor_proxy_"})
    assert result["msg"].startswith("atp_proxy_sensor_proxy_url: 'proxy.corp:8080' has no scheme")


# ---------------------------------------------------------------------------
# Failures: rollback, and what the host holds now
# ---------------------------------------------------------------------------
def test_an_updater_that_does_not_come_back_gets_the_old_file_back_and_a_clear_failure():
    host = WriteHost()
    old = host.files[CONFIG.lower()]
    host.fail_times["AATPSensorUpdater"] = 1  # the new file makes it fail once; the rollback brings it back
    result = run(host, {"url": URL})
    assert result["failed"] is True and result["rolled_back"] is True and result["verified"] is False
    assert host.files[CONFIG.lower()] == old  # byte for byte
    msg = result["msg"]
    assert msg.startswith("AATPSensorUpdater did not come back to running after the restart (AATPSensorUpdater: "
                          "Unhandled exception while executing module: Service 'Azure Advanced Threat Protection "
                          "Sensor Updater (AATPSensorUpdater)' cannot be started")
    assert "The previous SensorConfiguration.json was put back from %s and reads back identical and " \
           "AATPSensorUpdater was restarted again" % result["backup_file"] in msg
    assert "the host holds its previous SensorConfiguration.json" in msg and "AATPSensorUpdater Running" in msg
    assert result["services"] == {"AATPSensor": "Running", "AATPSensorUpdater": "Running"}
    assert result["written"] == [] and result["restarted"] == ["AATPSensorUpdater"]
    assert modules(host)[-6:] == ["win_service", "win_powershell", "win_copy", "win_stat", "win_service",
                                  "win_powershell"]


def test_a_service_that_stays_down_is_reported_with_the_fix():
    host = WriteHost()
    old = host.files[CONFIG.lower()]
    host.failing.add("AATPSensorUpdater")
    result = run(host, {"url": URL})
    assert result["failed"] and host.files[CONFIG.lower()] == old and result["rolled_back"] is True
    assert "after the rollback still not running: AATPSensorUpdater (AATPSensorUpdater: its start failed again)" \
        in result["msg"]
    assert "Now the host holds its previous SensorConfiguration.json; services: AATPSensor Running, " \
           "AATPSensorUpdater Stopped" in result["msg"]
    assert "Start-Service AATPSensorUpdater" in result["msg"]
    assert result["services"]["AATPSensorUpdater"] == "Stopped"


def test_a_sensor_that_stops_after_the_restart_is_rolled_back():
    host = WriteHost()
    host.service("AATPSensor")["dependencies"] = ["AATPSensorUpdater"]
    host.fail_times["AATPSensor"] = 1
    result = run(host, {"url": URL})
    assert result["failed"] and result["msg"].startswith("AATPSensor did not come back to running after the restart")
    assert "AATPSensorUpdater was restarted again (AATPSensor started)" in result["msg"]
    assert result["services"] == {"AATPSensor": "Running", "AATPSensorUpdater": "Running"}


def test_a_write_that_reads_back_differently_is_undone_before_the_updater_starts_again():
    host = WriteHost()
    old = host.files[CONFIG.lower()]
    host.mangle_copy = True
    result = run(host, {"url": URL})
    assert result["failed"] and result["msg"].startswith("verify after write failed: %s reads back with SHA-256" % CONFIG)
    # stopped before the write; the copy, the read back and the rollback copy happen while it is stopped; then it
    # starts again (the restart the rollback makes)
    assert modules(host)[-9:] == ["win_powershell", "win_command", "win_service", "win_copy", "win_stat", "win_copy",
                                  "win_stat", "win_service", "win_powershell"]
    assert [c[1]["state"] for c in host.calls if c[0].endswith("win_service")] == ["stopped", "restarted"]
    assert result["restarted"] == ["AATPSensorUpdater"]
    # The rollback copy is mangled too: the result says the host still holds the new (other) bytes.
    assert "Rolling back" in result["msg"] and host.files[CONFIG.lower()] != old
    host.mangle_copy = False
    host.files[CONFIG.lower()] = old
    host.calls.clear()
    assert run(host, {"url": URL})["changed"] is True


def test_a_stopped_sensor_is_not_required_to_run_after_the_change():
    host = WriteHost()
    host.service("AATPSensor")["status"] = "Stopped"
    result = run(host, {"url": URL})
    assert result["verified"] and result["services"]["AATPSensor"] == "Stopped"


def test_a_non_administrator_is_refused_before_anything_is_written():
    host = WriteHost()
    host.admin = False
    result = run(host, {"url": URL})
    assert result["failed"] and "is not an enabled member of BUILTIN\\Administrators" in result["msg"]
    assert "win_copy" not in modules(host) and result["changed"] is False


@pytest.mark.parametrize("generation", ["v3", None])
def test_other_hosts_are_refused_saying_why(generation):
    host = FakeSensorHost()
    if generation == "v3":
        host.processes = [{"name": "SenseIdentity", "id": 4}]
    result = run(host, {"url": URL})
    assert result["failed"] and result["round_trips"] == 1
    assert ("a sensor v3, which connects through Defender for Endpoint" if generation else
            "no Defender for Identity sensor") in result["msg"]


def test_a_missing_or_broken_file_is_refused():
    host = WriteHost()
    host.files[CONFIG.lower()] = b"{broken"
    result = run(host, {"url": URL})
    assert result["failed"] and "cannot be read" in result["msg"] and "nothing was changed" in result["msg"]
    del host.files[CONFIG.lower()]
    assert "does not exist" in run(host, {"url": URL})["msg"]


# ---------------------------------------------------------------------------
# Connection drops: what was written, and where the backup is
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("module, n, written, maybe, stage", [
    ("ansible.windows.win_command", 1, [], [], "while the backup was being listed"),
    ("ansible.windows.win_stat", 1, [], [CONFIG], "after %s was written, before it was read back" % CONFIG),
    ("ansible.windows.win_service", 2, [CONFIG], [], "while AATPSensorUpdater was being restarted"),
])
def test_a_dropped_connection_says_what_was_written_and_where_the_backup_is(module, n, written, maybe, stage):
    host = WriteHost()
    host.drop_at = (module, n)
    result = run(host, {"url": URL})
    assert result["unreachable"] is True and result["dropped_at"].startswith(stage)
    assert result["written"] == written and result["maybe_written"] == maybe
    assert result["backup_file"].endswith("\\SensorConfiguration.json") == (module != "ansible.windows.win_command")
    if result["backup_file"]:
        assert "Backup of the previous file: %s" % result["backup_file"] in result["msg"]
    if module != "ansible.windows.win_command":  # a rerun would find the file in place: say the restart is owed
        assert "run Restart-Service AATPSensorUpdater -Force" in result["msg"] and "A rerun reads" not in result["msg"]
    else:
        assert "The backup was being written to" in result["msg"] and "was not changed" in result["msg"]


def test_a_drop_while_the_updater_is_stopped_says_to_start_it():
    host = WriteHost()
    host.drop_at = ("ansible.windows.win_service", 1)
    result = run(host, {"url": URL})
    assert result["unreachable"] is True and result["dropped_at"] == "while AATPSensorUpdater was being stopped"
    assert result["written"] == [] and result["maybe_written"] == []
    assert "AATPSensorUpdater may have been stopped for the write: start it (Start-Service AATPSensorUpdater)." \
        in result["msg"]


def test_a_drop_in_the_discovery_says_nothing_was_written():
    host = WriteHost()
    host.drop_at = ("ansible.windows.slurp", 1)
    result = run(host, {"url": URL})
    assert result["unreachable"] is True and "Failed" not in result["msg"]


# ---------------------------------------------------------------------------
# Retention and restore
# ---------------------------------------------------------------------------
def test_backups_beyond_backup_keep_are_pruned_with_their_manifest_entries():
    host = WriteHost()
    paths = []
    for i, url in enumerate(("http://a.corp:1", "http://b.corp:2", "http://c.corp:3")):
        result = run(host, {"url": url, "backup_keep": 2})
        assert result["changed"], result
        paths.append(result["backup_file"])
        if i == 2:
            assert result["pruned"] == [paths[0]]
    listed = [p for p in host.hklm if p.endswith("SensorConfiguration.json")]
    assert sorted(listed) == sorted(paths[1:])
    assert not any(n.startswith(paths[0].rsplit("\\", 1)[0].lower()) for n in host.files)


def test_restore_puts_the_newest_trusted_backup_back():
    host = WriteHost()
    original = host.files[CONFIG.lower()]
    run(host, {"url": URL})
    discovery = sensor.discover(host, sensor.remote.read_state(
        host, sensor.discovery_reads(False)["keys"] + [backup.MANIFEST_PATH], ["SenseIdentity"], list(sensor_services.SERVICES)),
        readiness=False)
    restored = sensor_apply.run(host, upload_to(host), host.remote_copy, discovery, {"source": "backup"}, False,
                                "dc01").to_result()
    assert restored["changed"] and host.files[CONFIG.lower()] == original
    assert restored["trusted_because"] == "listed in the manifest with this SHA-256"
    assert restored["actions"][0] == "wrote SensorConfiguration.json: proxy %s -> (none)" % URL
    # A tampered backup is refused, naming why (the newest written before a change: a restore's own is never picked).
    listed = sensor_backup.sensor_backups(backup.manifest_from(
        sensor.remote.read_state(host, [backup.MANIFEST_PATH]).key(backup.MANIFEST_PATH)))
    assert [e.by_restore for e in listed] == [False, True]
    newest = [e for e in listed if not e.by_restore][-1].path
    host.files[newest.lower()] += b" "
    discovery = sensor.discover(host, None, readiness=False)
    with pytest.raises(sensor_apply.UsageError, match="was changed after atp.sensor_proxy wrote it"):
        sensor_apply.run(host, upload_to(host), host.remote_copy, discovery, {"source": "backup"}, False, "dc01")


# ---------------------------------------------------------------------------
# The refresh after a WinINet change (restart_plan, restart)
# ---------------------------------------------------------------------------
def v2_discovery(host):
    return sensor.discover(host, None, readiness=False)


def test_restart_plan_restarts_each_running_service_once():
    host = WriteHost()
    plan = sensor_restart.restart_plan(v2_discovery(host), True, check_mode=True)
    assert plan["services"] == ["AATPSensorUpdater", "AATPSensor"]
    assert plan["actions"] == ["would restart AATPSensorUpdater", "would restart AATPSensor"]
    assert sensor_restart.restart_plan(v2_discovery(host), False, True)["services"] == []
    # the sensor depends on the updater: restarting the updater restarts it
    host.service("AATPSensor")["dependencies"] = ["AATPSensorUpdater"]
    plan = sensor_restart.restart_plan(v2_discovery(host), True, check_mode=False)
    assert plan["services"] == ["AATPSensorUpdater"]
    assert plan["actions"] == ["restarted AATPSensorUpdater with the services that depend on it (AATPSensor)"]
    # the sensor_config change already restarted the updater in this run: nothing more
    assert sensor_restart.restart_plan(v2_discovery(host), True, False, already=["AATPSensorUpdater"])["services"] == []
    host.service("AATPSensor")["dependencies"] = []
    assert sensor_restart.restart_plan(v2_discovery(host), True, False, already=["AATPSensorUpdater"])["services"] == [
        "AATPSensor"]
    # a stopped service reads the proxy when it starts
    host.service("AATPSensor")["status"] = "Stopped"
    plan = sensor_restart.restart_plan(v2_discovery(host), True, False)
    assert plan["services"] == ["AATPSensorUpdater"] and any("reads the proxy when it starts" in r
                                                             for r in plan["reasons"])
    v3 = FakeSensorHost()
    v3.processes = [{"name": "SenseIdentity", "id": 4}]
    assert sensor_restart.restart_plan(sensor.discover(v3, None, readiness=False), True, False)["services"] == []


def test_restart_checks_the_services_run_again_and_fails_saying_what_runs():
    host = WriteHost()
    assert sensor_restart.restart(host, ["AATPSensorUpdater", "AATPSensor"], check_mode=True) == {
        "changed": True, "restarted": [], "actions": ["would restart AATPSensorUpdater", "would restart AATPSensor"],
        "services": {}, "verified": False}
    assert host.calls == []
    done = sensor_restart.restart(host, ["AATPSensorUpdater", "AATPSensor"], check_mode=False)
    assert done["verified"] and done["restarted"] == ["AATPSensorUpdater", "AATPSensor"]
    assert modules(host) == ["win_service", "win_service", "win_powershell"]
    host.failing.add("AATPSensor")
    with pytest.raises(sensor_apply.ChangeError) as failed:
        sensor_restart.restart(host, ["AATPSensorUpdater", "AATPSensor"], check_mode=False)
    assert str(failed.value).startswith("AATPSensor did not come back to running after the restart")
    assert "Now: AATPSensor Stopped, AATPSensorUpdater Running" in str(failed.value)
    assert failed.value.details["restarted"] == ["AATPSensorUpdater"]

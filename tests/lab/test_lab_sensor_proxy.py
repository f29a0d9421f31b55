# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_mdi_sensor_proxy end to end: real ansible-playbook against emulated domain controllers with a sensor v2.

Each test seeds a kind of sensor host (tests/lab/system_state.py seed_v2_sensor) and checks what users judge: the file the
sensor reads, its backup and the manifest entry a restore trusts, the services, the second run, check mode,
the messages of bad input and of a failed restart, and that the password is nowhere but encrypted in the file.
"""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sc
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_plan as cp
from tests.lab import system_state as ss

pytestmark = [pytest.mark.lab]

CANARY = "Canary-Pr0xy-5e2a"
URL = "http://proxy.corp:8080"
PREFIX = "atp_proxy_sensor_proxy_"


def play(args: dict, name: str = "proxy", hosts: str = "all") -> str:
    """One task of the module (arguments as JSON, which is YAML) and the discovery after it."""
    return """
- hosts: %s
  gather_facts: false
  tasks:
    - name: %s
      atp.sensor_proxy.win_mdi_sensor_proxy: %s
      register: atp_result
      ignore_errors: true
    - name: info
      atp.sensor_proxy.win_mdi_sensor_info: {readiness: false}
""" % (hosts, name, json.dumps(args))


def proxy_of(host, seed) -> dict | None:
    return json.loads(host.read_file(seed.config_path).decode("utf-8-sig"))["SensorProxyConfiguration"]


def pid(host, service):
    return ss.service(host, service)["process_id"]


def backups(host) -> list:
    return host.find_files(backup.DEFAULT_BACKUP_DIR)


def manifest(host) -> dict:
    """The backup manifest in the host's registry: value name -> data."""
    values = host.registry(host.state()).get_values(backup.MANIFEST_PATH) or {}
    return {v["name"]: v["data"] for v in values.values()}


def test_a_v2_sensor_with_neither_gets_its_own_proxy_and_the_second_run_changes_nothing(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    old = host.read_file(seed.config_path)
    updater_pid = pid(host, ss.UPDATER_SERVICE)
    lab.reset_ledgers()
    run = lab.run_playbook(play({"url": URL}), diff=True)
    assert run.rc == 0, run
    result = run.result("dc01", "proxy")
    assert result["changed"] is True and result["verified"] is True, result
    assert run.stats["dc01"]["changed"] == 1
    assert proxy_of(host, seed) == {"$type": "SensorProxyConfiguration", "Url": URL}
    # Only the proxy value changed: every other byte is the sensor's own (CRLF, indentation, member order).
    new = host.read_file(seed.config_path)
    assert new == old.replace(b'"SensorProxyConfiguration": null',
                              b'"SensorProxyConfiguration": {\r\n    "$type": "SensorProxyConfiguration",\r\n'
                              b'    "Url": "http://proxy.corp:8080"\r\n  }')
    # The updater was restarted (a new process) and both services run.
    assert pid(host, ss.UPDATER_SERVICE) != updater_pid
    assert ss.service_state(host, ss.SENSOR_SERVICE) == ss.service_state(host, ss.UPDATER_SERVICE) == "started"
    assert result["actions"] == ["wrote SensorConfiguration.json: proxy (none) -> %s" % URL,
                                 "restarted AATPSensorUpdater"]
    # The backup: the exact previous bytes, listed in the manifest with their SHA-256, in a secured folder.
    assert host.read_file(result["backup_file"]) == old
    assert manifest(host)[result["backup_file"]] == backup.sha256(old)
    assert manifest(host)[backup.DEFAULT_BACKUP_DIR] == backup.SECURED
    assert host.security(backup.DEFAULT_BACKUP_DIR)["protected"] is True
    # What the sensor reads now, as the discovery sees it.
    info = run.result("dc01", "info")
    assert info["effective_proxy"]["sensor"]["source"] == "sensor_config" and info["method_in_use"] == "sensor_config"
    # Round trips: discovery 2, secure 5, backup write 1, manifest entry 1, then Microsoft's order: stop the updater 1,
    # copy 1, read back 1, start it 1, check 1.
    assert result["round_trips"] == 14 == lab.ledger()["dc01"]["by_task"]["proxy"]
    # --diff shows the member, decoded
    assert "url: http://proxy.corp:8080" in run.stdout and "state: null" in run.stdout

    second = lab.run_playbook(play({"url": URL}))
    result = second.result("dc01", "proxy")
    assert result["changed"] is False and second.stats["dc01"]["changed"] == 0 and result["round_trips"] == 2
    assert host.read_file(seed.config_path) == new and len(backups(host)) == 3  # no new backup


def test_a_v2_sensor_with_a_json_proxy_converges_keeping_its_password(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host, proxy={"url": "http://old.corp:3128", "username": "CORP\\svc-mdi",
                                          "password": CANARY})
    stored = proxy_of(host, seed)["EncryptedUserPasswordData"]
    args = {"url": URL, "username": "CORP\\svc-mdi", "password": "not-the-stored-one"}
    first = lab.run_playbook(play(args))
    result = first.result("dc01", "proxy")
    assert result["changed"] is True and result["proxy"]["password_kept"] is True, result
    assert proxy_of(host, seed) == {"$type": "SensorProxyConfiguration", "Url": URL, "UserName": "CORP\\svc-mdi",
                                    "EncryptedUserPasswordData": stored}  # on_create: the stored password stays
    assert ss.decrypt(host, seed.thumbprint, stored["EncryptedBytes"]) == CANARY
    assert "ansible.windows.win_certificate_info" not in json.dumps(lab.ledger()["dc01"]["by_module"])
    second = lab.run_playbook(play(args))
    assert second.result("dc01", "proxy")["changed"] is False and second.stats["dc01"]["changed"] == 0


def test_the_password_is_encrypted_for_the_sensor_and_appears_nowhere_even_at_vvvv(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    run = lab.run_playbook(play({"url": URL, "username": "CORP\\svc-mdi", "password": CANARY}), verbosity=4,
                           diff=True)
    assert run.rc == 0, run
    result = run.result("dc01", "proxy")
    assert result["changed"] and result["proxy"]["password_encrypted"] is True
    stored = proxy_of(host, seed)["EncryptedUserPasswordData"]
    assert stored["CertificateThumbprint"] == seed.thumbprint
    assert ss.decrypt(host, seed.thumbprint, stored["EncryptedBytes"]) == CANARY  # what the sensor does
    assert result["round_trips"] == 15  # the certificate, read once, only because a password is encrypted
    # Nowhere in clear: not in the output at -vvvv, the results, any file of the lab (the host's file system,
    # the backups, the registry with the manifest, the ledger) or the run's result files.
    forms = [CANARY, CANARY.encode("utf-16-le").decode("latin-1"), base64.b64encode(CANARY.encode()).decode(),
             base64.b64encode(CANARY.encode("utf-16-le")).decode()]
    texts = [run.stdout, run.stderr, json.dumps(run.results)]
    # (The playbook file is the test's input, where a real play would use a vault.)
    texts += [p.read_bytes().decode("latin-1") for p in lab.dir.rglob("*") if p.is_file()
              and "lab_keys" not in p.parts and p.suffix != ".pyc" and not p.name.startswith("playbook_")]
    assert any(p.name.startswith("results_") for p in lab.dir.iterdir()) and len(texts) > 10
    for form in forms:
        assert not any(form in text for text in texts), form
    assert "EncryptedBytes" in host.read_file(seed.config_path).decode()  # the file holds the ciphertext only
    assert stored["EncryptedBytes"] not in run.stdout + json.dumps(result)


def test_absent_clears_the_proxy_and_the_second_run_changes_nothing(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host, proxy={"url": URL, "username": "CORP\\svc-mdi", "password": CANARY},
                             encoding="utf-8-bom")
    run = lab.run_playbook(play({"state": "absent"}))
    result = run.result("dc01", "proxy")
    assert result["changed"] is True and proxy_of(host, seed) is None, result
    assert host.read_file(seed.config_path).startswith(b"\xef\xbb\xbf")  # its byte order mark kept
    assert result["actions"][0] == "wrote SensorConfiguration.json: proxy %s as CORP\\svc-mdi (password set) -> " \
                                   "(none)" % URL
    info = run.result("dc01", "info")
    assert info["sensor_config"]["proxy"]["state"] == "null" and info["method_in_use"] == "none"
    again = lab.run_playbook(play({"state": "absent"}))
    assert again.result("dc01", "proxy")["changed"] is False and again.stats["dc01"]["changed"] == 0


def test_check_mode_writes_nothing_and_restarts_nothing(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    before = (host.state(), ss.read(host), host.read_file(seed.config_path))
    run = lab.run_playbook(play({"url": URL, "username": "CORP\\svc-mdi", "password": CANARY}), check=True)
    assert run.rc == 0, run
    result = run.result("dc01", "proxy")
    assert result["changed"] is True and result["check_mode"] is True
    assert result["msg"] == ("would write SensorConfiguration.json: proxy (none) -> http://proxy.corp:8080 as "
                             "CORP\\svc-mdi (password set), encrypted with the certificate %s; would restart "
                             "AATPSensorUpdater" % seed.thumbprint)
    assert (host.state(), ss.read(host), host.read_file(seed.config_path)) == before  # process ids included
    assert backups(host) == [] and result["backup_file"] == ""
    plain = lab.run_playbook(play({"url": URL}), check=True).result("dc01", "proxy")
    assert plain["msg"] == ("would write SensorConfiguration.json: proxy (none) -> http://proxy.corp:8080; "
                            "would restart AATPSensorUpdater")
    assert (host.state(), ss.read(host), host.read_file(seed.config_path)) == before


@pytest.mark.parametrize("args, message", [
    ({"url": "proxy.corp:8080"}, PREFIX + "url: 'proxy.corp:8080' has no scheme"),
    ({"url": URL, "password": CANARY}, PREFIX + "password is set but %susername is not" % PREFIX),
    ({"url": URL, "username": "CORP\\svc-mdi", "password": CANARY},
     PREFIX + "password cannot be encrypted: the certificate %s (SecretManagerConfigurationCertificateThumbprint) "
              "is not in LocalMachine\\My on dc01"),
])
def test_bad_input_names_the_variable_and_changes_nothing(make_lab, args, message):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    ss.remove_certificate(host, "My", seed.thumbprint)  # the third case; the other two fail before any read
    before = (host.state(), ss.read(host), host.read_file(seed.config_path))
    run = lab.run_playbook(play(dict(args, name_prefix=PREFIX)))
    result = run.result("dc01", "proxy")
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith(message.replace("%s", seed.thumbprint)), result["msg"]
    assert (host.state(), ss.read(host), host.read_file(seed.config_path)) == before and backups(host) == []
    assert CANARY not in run.stdout + run.stderr + json.dumps(run.results)


def test_a_service_that_fails_to_restart_is_rolled_back_with_a_clear_failure(make_lab):
    lab = make_lab(2)
    seeds = {name: ss.seed_v2_sensor(lab.host(name)) for name in ("dc01", "dc02")}
    old = {name: lab.host(name).read_file(seed.config_path) for name, seed in seeds.items()}
    ss.fail_to_start(lab.host("dc01"), ss.UPDATER_SERVICE, times=1)  # fails with the new file, starts after rollback
    ss.fail_to_start(lab.host("dc02"), ss.UPDATER_SERVICE)  # does not start at all
    run = lab.run_playbook(play({"url": URL}))
    for name in ("dc01", "dc02"):
        host, result = lab.host(name), run.result(name, "proxy")
        assert result["failed"] is True and result["rolled_back"] is True, result
        assert host.read_file(seeds[name].config_path) == old[name]  # the previous file, byte for byte
        assert result["msg"].startswith(
            "AATPSensorUpdater did not come back to running after the restart (AATPSensorUpdater: Unhandled "
            "exception while executing module: Service 'Azure Advanced Threat Protection Sensor Updater "
            "(AATPSensorUpdater)' cannot be started due to the following error: Cannot start service "
            "AATPSensorUpdater on computer '.'.)")
        assert host.read_file(result["backup_file"]) == old[name]
    dc01 = run.result("dc01", "proxy")
    assert "The previous SensorConfiguration.json was put back from %s and reads back identical and " \
           "AATPSensorUpdater was restarted again. Now the host holds its previous SensorConfiguration.json; " \
           "services: AATPSensor Running, AATPSensorUpdater Running." % dc01["backup_file"] in dc01["msg"]
    assert ss.service_state(lab.host("dc01"), ss.UPDATER_SERVICE) == "started"
    dc02 = run.result("dc02", "proxy")
    assert "Now the host holds its previous SensorConfiguration.json; services: AATPSensor Running, " \
           "AATPSensorUpdater Stopped. To finish by hand: Start-Service AATPSensorUpdater" in dc02["msg"]
    assert ss.service_state(lab.host("dc02"), ss.UPDATER_SERVICE) == "stopped"
    # Once the service starts again, a rerun makes the change.
    ss.fail_to_start(lab.host("dc02"), ss.UPDATER_SERVICE, on=False)
    again = lab.run_playbook(play({"url": URL}), limit="dc02")
    assert again.result("dc02", "proxy")["changed"] is True and proxy_of(lab.host("dc02"), seeds["dc02"])["Url"] == URL


def test_a_dropped_connection_during_the_restart_keeps_what_was_written_and_says_the_restart_is_owed(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    lab.run_playbook(play({"url": "http://first.corp:1"}))  # the backup folder is secured: later changes cost 9
    previous = host.read_file(seed.config_path)
    lab.reset_ledgers()
    # discovery, backup write, manifest entry, stop the updater, copy, read back; then the start drops
    host.set_fault("drop_after", 2 + 1 + 1 + 1 + 1 + 1)
    run = lab.run_playbook(play({"url": URL}))
    assert run.stats["dc01"]["unreachable"] == 1
    result = run.result("dc01", "proxy")
    assert result["unreachable"] is True and result["written"] == [seed.config_path], result
    assert result["dropped_at"] == "while AATPSensorUpdater was being restarted"
    assert "run Restart-Service AATPSensorUpdater -Force" in result["msg"]
    assert "Backup of the previous file: %s" % result["backup_file"] in result["msg"]
    assert proxy_of(host, seed)["Url"] == URL and host.read_file(result["backup_file"]) == previous
    assert manifest(host)[result["backup_file"]] == backup.sha256(previous)  # listed before the file changed
    # A rerun finds the file in place: nothing to change (which is why the message says to restart by hand).
    host.set_fault("drop_after", None)
    assert lab.run_playbook(play({"url": URL})).result("dc01", "proxy")["changed"] is False


def test_win_mdi_sensor_proxy_refuses_a_v3_host(make_lab):
    lab = make_lab(1)
    ss.seed_v3_sensor(lab.host("dc01"), telemetry_proxy="proxy.corp:8080")
    result = lab.run_playbook(play({"url": URL})).result("dc01", "proxy")
    assert result["failed"] and "a sensor v3, which connects through Defender for Endpoint" in result["msg"]
    assert result["round_trips"] == 1


def test_the_plan_matches_what_the_codec_computes(make_lab):
    """The module writes exactly the bytes _sensor/_config_plan.py plan() computes for the file it read."""
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host, encoding="utf-16-le", newline="\n")
    old = host.read_file(seed.config_path)
    expected = cp.plan(sc.parse(old), cp.ProxyRequest(url=URL)).data
    assert lab.run_playbook(play({"url": URL})).result("dc01", "proxy")["changed"] is True
    assert host.read_file(seed.config_path) == expected and expected.startswith(b"\xff\xfe")


def test_the_file_is_written_as_microsoft_does_while_the_updater_holds_it(lab):
    """Set-MDISensorProxyConfiguration stops AATPSensorUpdater, writes, starts it: a running updater that holds its
    SensorConfiguration.json (as a running service may) does not stop the change, and AATPSensor runs after it."""
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    ss.hold_file(host, seed.config_path, "Microsoft.Tri.Sensor.Updater.exe", service=ss.UPDATER_SERVICE)
    host.reset_ledger()
    run = lab.run_playbook(play({"url": URL}), limit="dc01")
    result = run.result("dc01", "proxy")
    assert result["changed"] is True and result["verified"] is True and not result.get("failed"), result
    assert proxy_of(host, seed) == {"$type": "SensorProxyConfiguration", "Url": URL}
    assert result["services"] == {"AATPSensor": "Running", "AATPSensorUpdater": "Running"}
    assert result["restarted"] == [ss.UPDATER_SERVICE]
    sequence = host.ledger()["sequence"]
    write = sequence.index("win_copy")
    assert sequence[write - 1:write + 4] == ["win_service", "win_copy", "win_stat", "win_service", "win_powershell"]
    assert ss.service_state(host, ss.UPDATER_SERVICE) == "started" and ss.service_state(host, "AATPSensor") == "started"


def test_a_file_another_process_holds_is_a_clear_failure_that_names_the_backup_and_writes_nothing(lab):
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    old = host.read_file(seed.config_path)
    ss.hold_file(host, seed.config_path, "notepad.exe")  # held whatever the sensor's services do
    run = lab.run_playbook(play({"url": URL}), limit="dc01")
    result = run.result("dc01", "proxy")
    assert result["failed"] is True and result["verified"] is False and result["written"] == []
    assert host.read_file(seed.config_path) == old  # nothing half-written
    assert host.read_file(result["backup_file"]) == old
    assert result["msg"] == (
        "Writing %s failed: Unhandled exception while executing module: Cannot remove item %s: The process cannot "
        "access the file '%s' because it is being used by another process. Nothing was written: the file reads back "
        "as before (backup: %s). AATPSensorUpdater was started again. Now: services AATPSensor Running, "
        "AATPSensorUpdater Running." % (seed.config_path, seed.config_path, seed.config_path, result["backup_file"]))
    assert ss.service_state(host, ss.UPDATER_SERVICE) == "started"
    ss.release_file(host, seed.config_path)  # once the file is free, a rerun makes the change
    again = lab.run_playbook(play({"url": URL}), limit="dc01").result("dc01", "proxy")
    assert again["changed"] is True and proxy_of(host, seed) == {"$type": "SensorProxyConfiguration", "Url": URL}

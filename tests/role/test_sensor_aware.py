# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The configure playbook on each host kind the role handles, end to end with real ansible-playbook.

Each test seeds a host kind (tests/lab/system_state.py) and checks what an admin would: the file the sensor reads,
the accounts' WinINet values, the machine-wide value, the services (a restart is a new process), the one-line
summary, the second run's changed=0, check mode, and the messages of bad input.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w
from tests.lab import system_state as ss
from tests.lab.network import SENSOR_HOST, WORKSPACE_NAME

from .conftest import CONFIGURE, NO_PROBE, WRITE_TASK, snapshot, summary_lines, task_result

pytestmark = [pytest.mark.lab]

LS, SYS = "S-1-5-19", "S-1-5-18"
SETTINGS = {"atp_proxy_source": "settings", "atp_proxy_settings": {"proxy_server": "proxy.corp:8080",
                                                                   "bypass": ["<local>"]}}
RUN = dict(NO_PROBE, atp_proxy_hosts="dc01", **SETTINGS)
URL = "http://proxy.corp:8080"
CANARY = "Canary-Pr0xy-9f3b"


def sensor_proxy(host, seed):
    return json.loads(host.read_file(seed.config_path).decode("utf-8-sig"))["SensorProxyConfiguration"]


def pid(host, service):
    return ss.service(host, service)["process_id"]


def settings(host, sid) -> dict:
    return host.decoded(sid)["settings"]


def machine_value(host) -> dict:
    return w.decode(bytes.fromhex(host.get_value(ss.MACHINE_CONNECTIONS, "DefaultConnectionSettings")["data"])).to_dict()


def job(run) -> dict:
    return task_result(run, "dc01", WRITE_TASK)


def line(run) -> str:
    return next(text for text in summary_lines(run) if text.startswith("dc01:"))


def test_v2_sensor_with_neither_gets_its_own_proxy_and_wininet_is_left_alone(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    sensor_pid, updater_pid = pid(host, ss.SENSOR_SERVICE), pid(host, ss.UPDATER_SERVICE)
    run = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert run.rc == 0, run.stdout[-3000:]
    # auto: a v2 sensor without a proxy gets the method Microsoft recommends, from the WinINet source's proxy
    assert sensor_proxy(host, seed) == {"$type": "SensorProxyConfiguration", "Url": URL}
    assert host.proxy_value(SYS) is None and host.proxy_value(LS) is None
    result = job(run)
    assert result["method"] == "sensor_config" and result["changed"] is True
    assert result["effective_proxy"]["sensor"] == dict(result["effective_proxy"]["sensor"], source="sensor_config",
                                                       proxy=URL)
    # Microsoft's cmdlet restarts the updater (with the services that depend on it); both run again
    assert pid(host, ss.UPDATER_SERVICE) != updater_pid
    assert ss.service_state(host, ss.SENSOR_SERVICE) == ss.service_state(host, ss.UPDATER_SERVICE) == "started"
    text = line(run)
    assert text.startswith("dc01: changed; method sensor_config; wrote SensorConfiguration.json: proxy (none) -> "
                           "http://proxy.corp:8080; restarted AATPSensorUpdater"), text
    assert "uses: sensor %s (sensor_config), updater %s (sensor_config)" % (URL, URL) in text

    lab.reset_ledgers()
    again = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0
    assert lab.round_trips()["dc01"] == 2  # the state query and the sensor's file
    assert line(again).startswith("dc01: in_sync; method sensor_config")
    assert pid(host, ss.SENSOR_SERVICE) == pid(host, ss.SENSOR_SERVICE) and sensor_pid  # nothing restarted


def test_v2_sensor_with_a_json_proxy_keeps_its_method(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host, proxy={"url": "http://old.corp:3128"})
    run = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert run.rc == 0, run.stdout[-3000:]
    assert sensor_proxy(host, seed)["Url"] == URL
    assert host.proxy_value(SYS) is None and host.proxy_value(LS) is None
    assert "wrote SensorConfiguration.json: proxy http://old.corp:3128 -> %s" % URL in line(run)
    again = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0


def test_v2_sensor_with_wininet_only_keeps_wininet_and_restarts_once(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    before = host.read_file(seed.config_path)
    for sid in (SYS, LS):
        host.set_proxy(sid, {"proxy_server": "old.corp:3128"})
    sensor_pid, updater_pid = pid(host, ss.SENSOR_SERVICE), pid(host, ss.UPDATER_SERVICE)
    lab.reset_ledgers()
    run = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert run.rc == 0, run.stdout[-3000:]
    for sid in (SYS, LS):
        assert settings(host, sid)["proxy_server"] == "proxy.corp:8080"
    assert host.read_file(seed.config_path) == before  # the method the host used originally
    result = job(run)
    assert result["method"] == "wininet"
    # A running service keeps the proxy it read at start: both are restarted, once each
    assert pid(host, ss.UPDATER_SERVICE) != updater_pid and pid(host, ss.SENSOR_SERVICE) != sensor_pid
    assert 1 <= lab.ledger()["dc01"]["by_module"].get("win_service", 0) <= 2
    text = line(run)
    assert "method wininet" in text and "restarted AATPSensorUpdater" in text
    assert "uses: sensor proxy.corp:8080 (wininet_per_account), updater proxy.corp:8080 (wininet_per_account)" in text
    again = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0


def test_v3_sensor_connects_through_mde_and_gets_no_wininet_value(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    ss.seed_v3_sensor(host)
    mde = dict(RUN, atp_proxy_products=["mdi", "mde"])
    run = lab.run_playbook(CONFIGURE, extra_vars=mde)
    assert run.rc == 0, run.stdout[-3000:]
    assert host.proxy_value(SYS) is None and host.proxy_value(LS) is None  # no WinINet value on a v3 host
    policy = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection"
    assert host.get_value(policy, "TelemetryProxyServer")["data"] == "proxy.corp:8080"
    text = line(run)
    assert "method mde" in text and "sensor v3 connects through Defender for Endpoint (TelemetryProxyServer " \
        "proxy.corp:8080)" in text, text
    assert job(run)["effective_proxy"]["sensor"]["source"] == "mde"
    again = lab.run_playbook(CONFIGURE, extra_vars=mde)
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0

    # Only an explicit atp_proxy_method: wininet writes WinINet there.
    explicit = lab.run_playbook(CONFIGURE, extra_vars=dict(mde, atp_proxy_method="wininet"))
    assert explicit.rc == 0 and settings(host, SYS)["proxy_server"] == "proxy.corp:8080"


def test_proxy_settings_per_user_policy_writes_the_machine_wide_value(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    ss.seed_v2_sensor(host)
    for sid in (SYS, LS):
        host.set_proxy(sid, {"proxy_server": "old.corp:3128"})
    ss.seed_per_machine_policy(host, {"proxy_server": "old.corp:3128"})
    refused = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_machine_key=False))
    assert refused.rc != 0
    assert "ProxySettingsPerUser=0" in line(refused) and "atp_proxy_machine_key is false" in line(refused)
    assert machine_value(host)["proxy_server"] == "old.corp:3128"

    run = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert run.rc == 0, run.stdout[-3000:]
    assert machine_value(host)["proxy_server"] == "proxy.corp:8080"
    for sid in (SYS, LS):  # the per-account values have no effect under the policy: left as they were
        assert settings(host, sid)["proxy_server"] == "old.corp:3128"
    result = job(run)
    assert result["changed_sids"] == ["HKLM"] and result["effective_proxy"]["sensor"]["source"] == "wininet_machine"
    assert "wrote machine-wide (HKLM): proxy old.corp:3128 -> proxy proxy.corp:8080, bypass <local>" in line(run)
    again = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0


def test_absent_clears_the_proxy_with_either_method(make_lab):
    lab = make_lab(2)
    v2 = lab.host("dc01")
    seed = ss.seed_v2_sensor(v2, proxy={"url": URL})
    plain = lab.host("dc02")  # no sensor: wininet
    for sid in (SYS, LS):
        plain.set_proxy(sid, {"proxy_server": "proxy.corp:8080", "auto_detect": True})
    cache = {sid: settings(plain, sid)["cache_length"] for sid in (SYS, LS)}
    absent = dict(NO_PROBE, atp_proxy_state="absent")
    run = lab.run_playbook(CONFIGURE, extra_vars=absent)
    assert run.rc == 0, run.stdout[-3000:]
    assert sensor_proxy(v2, seed) is None or sensor_proxy(v2, seed).get("Url") is None
    for sid in (SYS, LS):
        decoded = settings(plain, sid)
        assert decoded["flags"] == {"direct": True, "proxy": False, "auto_config_url": False, "auto_detect": False}
        assert decoded["cache_length"] == cache[sid]  # the detection cache is kept
    assert v2.find_files("C:\\ProgramData\\atp.sensor_proxy\\backups", "SensorConfiguration.json")
    assert plain.find_files("C:\\ProgramData\\atp.sensor_proxy\\backups", "before.reg")
    again = lab.run_playbook(CONFIGURE, extra_vars=absent)
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0 and again.stats["dc02"]["changed"] == 0


def test_a_service_that_fails_to_restart_is_rolled_back_with_a_clear_failure(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    before = host.read_file(seed.config_path)
    ss.fail_to_start(host, ss.UPDATER_SERVICE, times=1)
    run = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert run.rc != 0 and run.stats["dc01"]["failures"] == 1
    assert host.read_file(seed.config_path) == before  # rolled back
    assert ss.service_state(host, ss.UPDATER_SERVICE) == "started"  # and it runs again
    text = line(run)
    # The line names the sensor's method and the backup of its file (a failed sensor host keeps them), then the error.
    assert text.startswith("dc01: failed; method sensor_config; backup C:\\ProgramData\\atp.sensor_proxy\\backups\\"), text
    assert "; error: AATPSensorUpdater did not come back to running" in text and "uses:" not in text, text
    assert "the host holds its previous SensorConfiguration.json" in text, text
    # one failure line per host: the summary's, not three
    failed = [r for r in run.results if r["host"] == "dc01" and r["status"] == "failed"]
    assert len(failed) == 1, [r["task"] for r in failed]


def test_check_mode_writes_nothing_and_restarts_nothing(make_lab):
    lab = make_lab(2)
    v2 = lab.host("dc01")
    ss.seed_v2_sensor(v2)
    wininet_host = lab.host("dc02")
    ss.seed_v2_sensor(wininet_host)
    for sid in (SYS, LS):
        wininet_host.set_proxy(sid, {"proxy_server": "old.corp:3128"})
    before = {h: (snapshot(lab.host(h)), pid(lab.host(h), ss.UPDATER_SERVICE), pid(lab.host(h), ss.SENSOR_SERVICE))
              for h in ("dc01", "dc02")}
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_hosts="all"), check=True)
    assert run.rc == 0, run.stdout[-3000:]
    after = {h: (snapshot(lab.host(h)), pid(lab.host(h), ss.UPDATER_SERVICE), pid(lab.host(h), ss.SENSOR_SERVICE))
             for h in ("dc01", "dc02")}
    assert after == before
    lines = summary_lines(run)
    first = next(t for t in lines if t.startswith("dc01:"))
    second = next(t for t in lines if t.startswith("dc02:"))
    assert first.startswith("dc01: would_change; method sensor_config; would write SensorConfiguration.json") \
        and "would restart AATPSensorUpdater" in first, first
    assert "would write LocalSystem (S-1-5-18)" in second and "would restart AATPSensorUpdater" in second, second


@pytest.mark.parametrize("extra, variable, needle", [
    ({"atp_proxy_method": "sensor_config", "atp_proxy_sensor_proxy_url": "proxy.corp:8080"},
     "atp_proxy_sensor_proxy_url", "has no scheme"),
    ({"atp_proxy_sensor_proxy_url": URL, "atp_proxy_sensor_proxy_password": CANARY},
     "atp_proxy_sensor_proxy_password", "atp_proxy_sensor_proxy_username"),
])
def test_bad_sensor_input_names_the_variable_and_reads_nothing(make_lab, extra, variable, needle):
    lab = make_lab(1)
    host = lab.host("dc01")
    ss.seed_v2_sensor(host)
    before = snapshot(host)
    lab.reset_ledgers()
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, **extra))
    assert run.rc != 0
    text = line(run)
    assert variable in text and needle in text, text
    assert CANARY not in run.stdout + run.stderr
    assert snapshot(host) == before and lab.round_trips()["dc01"] == 0


def test_a_missing_certificate_fails_naming_the_password_and_changes_nothing(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    ss.remove_certificate(host, "My", seed.thumbprint)
    before = snapshot(host)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_sensor_proxy_username="CORP\\svc",
                                                      atp_proxy_sensor_proxy_password=CANARY))
    assert run.rc != 0
    text = line(run)
    assert "atp_proxy_sensor_proxy_password" in text and seed.thumbprint.lower() in text.lower(), text
    assert snapshot(host) == before and CANARY not in run.stdout + run.stderr


def test_the_sensor_password_is_encrypted_and_nowhere_else(make_lab, tmp_path):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    report = tmp_path / "report"
    # The secret comes from a vars file (vault or an AWX credential in real use), not the command line, which
    # ansible-playbook -vvvv echoes.
    secrets = tmp_path / "secrets.yml"
    secrets.write_text(json.dumps({"atp_proxy_sensor_proxy_password": CANARY}))
    extra = dict(RUN, atp_proxy_sensor_proxy_username="CORP\\svc-mdi", atp_proxy_report_dir=str(report))
    run = lab.run_playbook(CONFIGURE, extra_vars=extra, verbosity=4, diff=True, extra_args=["-e", "@%s" % secrets])
    assert run.rc == 0, run.stdout[-3000:]
    stored = sensor_proxy(host, seed)
    assert stored["UserName"] == "CORP\\svc-mdi"
    assert ss.decrypt(host, seed.thumbprint, stored["EncryptedUserPasswordData"]["EncryptedBytes"]) == CANARY
    channels = {"stdout": run.stdout, "stderr": run.stderr, "results": json.dumps(run.results)}
    for path in report.iterdir():
        channels[path.name] = path.read_text(errors="replace")
    for name in host.find_files("C:\\ProgramData\\atp.sensor_proxy\\backups"):
        channels[name] = (host.read_file(name) or b"").decode("latin-1")
    channels["sensor file"] = host.read_file(seed.config_path).decode("utf-8-sig")
    from urllib.parse import quote
    for channel, text in channels.items():
        for form in (CANARY, quote(CANARY, safe=""), CANARY.encode().hex()):
            assert form not in text, (channel, form)


def test_the_probe_takes_the_workspace_and_the_proxy_the_sensor_is_configured_for(lab, sensor_api, proxy):
    """atp_proxy_workspace empty: the workspace of the sensor's own SensorConfiguration.json is probed, through the
    sensor's own proxy (its accounts have no WinINet proxy, which would fail)."""
    host = lab.host("dc01")
    ss.seed_v2_sensor(host, workspace=WORKSPACE_NAME)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_probe=True, atp_proxy_probe_include_crl=False,
                                                      atp_proxy_probe_accounts=["LocalService"]))
    assert run.rc == 0, run.stdout[-3000:]
    probe = [r for r in run.results if r["host"] == "dc01" and r["task"].endswith("Probe the Defender endpoints as "
                                                                                  "each service account")]
    urls = [u["url"] for u in probe[-1]["result"]["accounts"][0]["results"]]
    assert urls == ["https://%s/tri/sensor/api/ping" % SENSOR_HOST]
    result = probe[-1]["result"]["accounts"][0]["results"][0]
    assert result["outcome"] == "reachable" and result["mode"] == "named", result
    assert sensor_api.requests, "the sensor API was not reached"


def test_under_the_policy_the_probe_uses_the_machine_wide_proxy(lab, sensor_api, proxy):
    """ProxySettingsPerUser=0: LocalService's own value (a dead proxy) has no effect; the machine-wide value the
    run wrote is what the probe (and the sensor) goes through."""
    host = lab.host("dc01")
    for sid in (SYS, LS):
        host.set_proxy(sid, {"proxy_server": "old.corp:3128"})
    ss.seed_per_machine_policy(host, None)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_workspace=WORKSPACE_NAME, atp_proxy_probe=True,
                                                      atp_proxy_probe_include_crl=False,
                                                      atp_proxy_probe_accounts=["LocalService"]))
    assert run.rc == 0, run.stdout[-3000:]
    assert machine_value(host)["proxy_server"] == "proxy.corp:8080"
    assert "probe LocalService reachable" in line(run), line(run)
    probe = [r for r in run.results if r["host"] == "dc01" and r["task"].endswith("Probe the Defender endpoints as "
                                                                                  "each service account")]
    assert probe[-1]["result"]["accounts"][0]["results"][0]["proxy"] == "proxy.corp:8080"  # the expected proxy


def test_readiness_reports_missing_tls_values_and_fix_tls_sets_them(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    ss.seed_v2_sensor(host)
    ss.seed_tls(host, 0)
    run = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert run.rc == 0, run.stdout[-3000:]
    text = line(run)
    assert "readiness: " in text and "SchUseStrongCrypto" in text, text  # reported, with its one-line fix
    assert host.get_value(ss.DOTNET_KEYS[0], "SchUseStrongCrypto")["data"] == 0  # read-only without the opt-in

    lab.reset_ledgers()
    fixed = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_fix_tls=True))
    assert fixed.rc == 0, fixed.stdout[-3000:]
    for key in ss.DOTNET_KEYS:
        for name in ("SchUseStrongCrypto", "SystemDefaultTlsVersions"):
            assert host.get_value(key, name) == dict(host.get_value(key, name), type="REG_DWORD", data=1)
    assert host.find_files("C:\\ProgramData\\atp.sensor_proxy\\mde_backups", "before.reg")  # backed up first
    assert "readiness" not in line(fixed)
    # the running sensor reloads them: restarted (win_service) and running again
    assert "AATPSensorUpdater" in job(fixed)["restart"]["restarted"]
    assert lab.ledger()["dc01"]["by_module"].get("win_service", 0) >= 1
    assert ss.service_state(host, ss.SENSOR_SERVICE) == ss.service_state(host, ss.UPDATER_SERVICE) == "started"
    again = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_fix_tls=True))
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0

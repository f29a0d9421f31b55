# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sensor v3 gets the proxy where Set-MDISensorProxyConfiguration puts it, end to end with real ansible-playbook.

The DefenderForIdentity module, when SenseIdentity runs, writes TelemetryProxyServer (host:port) under
...\\Windows\\DataCollection and ProxyServer (the URL) under ...\\Windows Defender, and Clear- removes both
(docs/dev/sensor_sources.md, "Sensor v3.x"). Each test seeds a v3 host (tests/lab/system_state.py) and checks what
an admin would: the two registry values, the backup, the one line, changed=0 on a rerun, check mode, the drift
report, and the messages of what cannot be done.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from tests.lab import system_state as ss

from .conftest import CHECK, CONFIGURE, NO_PROBE, RESTORE, WRITE_TASK, snapshot, summary_lines, task_result

pytestmark = [pytest.mark.lab]

LS, SYS = "S-1-5-19", "S-1-5-18"
PROXY, URL = "proxy.corp:8080", "http://proxy.corp:8080"
RUN = dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_source="settings",
           atp_proxy_settings={"proxy_server": PROXY, "bypass": ["<local>"]})
MDE_BACKUPS = "C:\\ProgramData\\atp.sensor_proxy\\mde_backups"
DATACOLLECTION = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection"
DEFENDER = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows Defender"
CANARY = "Canary-V3-Pr0xy-51c2"


def telemetry(host):
    found = host.get_value(ss.DATACOLLECTION_KEY, "TelemetryProxyServer")
    return found["data"] if found else None


def defender(host):
    found = host.get_value(ss.DEFENDER_POLICY_KEY, "ProxyServer")
    return found["data"] if found else None


def line(run, host="dc01") -> str:
    return next(text for text in summary_lines(run) if text.startswith(host + ":"))


def v3_host(make_lab, **seed):
    lab = make_lab(1)
    host = lab.host("dc01")
    ss.seed_v3_sensor(host, **seed)
    return lab, host


def test_a_v3_host_without_a_proxy_gets_it_where_microsofts_cmdlet_puts_it(make_lab):
    lab, host = v3_host(make_lab)
    lab.reset_ledgers()
    run = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert run.rc == 0, run.stdout[-3000:]
    assert telemetry(host) == PROXY and defender(host) == URL  # host:port, and the URL with its scheme
    # Only what the cmdlet writes: no WinINet value, and Defender for Endpoint's other settings are not managed
    assert host.proxy_value(SYS) is None and host.proxy_value(LS) is None
    assert host.get_value(ss.DATACOLLECTION_KEY, "DisableEnterpriseAuthProxy") is None and host.winhttp() is None
    # backed up first, in the Defender for Endpoint backup folder: both values were absent
    backups = host.find_files(MDE_BACKUPS, "before.reg")
    assert len(backups) == 1
    before = regfile.parse(host.read_file(backups[0]))
    assert before[DATACOLLECTION] == {"TelemetryProxyServer": None} and before[DEFENDER] == {"ProxyServer": None}
    result = task_result(run, "dc01", WRITE_TASK)
    assert result["method"] == "mde" and result["changed"] is True
    assert result["effective_proxy"]["sensor"]["proxy"] == PROXY
    assert result["sensor_v3"]["pending"] == ["telemetry_proxy_server", "av_proxy_server"]
    text = line(run)
    assert text.startswith("dc01: changed; method mde; MDE: set TelemetryProxyServer: (absent) -> proxy.corp:8080 "
                           "(the sensor v3's proxy); set Defender Antivirus ProxyServer: (absent) -> "
                           "http://proxy.corp:8080 (the sensor v3's proxy)"), text
    # Microsoft documents no restart for a changed static proxy, and restarts nothing: the line says so
    assert "sensor v3: Defender for Endpoint takes it when it next reads its static proxy" in text, text
    assert "sensor v3 connects through Defender for Endpoint (TelemetryProxyServer proxy.corp:8080)" in text, text
    # and where the backup is, as for any other change (the line said nothing of it, the report counted no backup)
    assert "; backup %s;" % backups[0] in text, text
    # query, the backup folder (created and secured: 5), the backup, reg import, read back
    assert lab.round_trips()["dc01"] == 9, lab.ledger()["dc01"]
    assert "win_service" not in lab.ledger()["dc01"]["by_module"]

    lab.reset_ledgers()
    again = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0
    assert line(again).startswith("dc01: in_sync; method mde"), line(again)
    assert lab.round_trips()["dc01"] == 1  # the state query only
    assert len(host.find_files(MDE_BACKUPS, "before.reg")) == 1


def test_explicit_mde_is_the_same_as_auto_and_the_sensor_url_can_be_https(make_lab):
    lab, host = v3_host(make_lab)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_method="mde",
                                                      atp_proxy_sensor_proxy_url="https://proxy.corp:8443"))
    assert run.rc == 0, run.stdout[-3000:]
    # TelemetryProxyServer is host:port whatever the scheme (the cmdlet's Replace('http://', '') would keep https://)
    assert telemetry(host) == "proxy.corp:8443" and defender(host) == "https://proxy.corp:8443"
    assert "atp_proxy_method=mde" in task_result(run, "dc01", WRITE_TASK)["method_reason"]


def test_check_mode_writes_nothing_and_shows_the_decoded_diff(make_lab):
    lab, host = v3_host(make_lab, telemetry_proxy="old.corp:3128")
    before = snapshot(host)
    run = lab.run_playbook(CONFIGURE, extra_vars=RUN, check=True, diff=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert snapshot(host) == before  # not even a backup
    text = line(run)
    assert text.startswith("dc01: would_change; method mde; MDE: would set TelemetryProxyServer: old.corp:3128 -> "
                           "proxy.corp:8080"), text
    assert "fix: run the configure playbook, or Set-MDISensorProxyConfiguration -ProxyUrl 'http://proxy.corp:8080'" \
        in text, text
    # --diff: each value, decoded, with its key
    assert "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection\\TelemetryProxyServer" in run.stdout
    assert "-old.corp:3128" in run.stdout and "+proxy.corp:8080" in run.stdout
    assert "+http://proxy.corp:8080" in run.stdout


@pytest.mark.parametrize("seed, current", [
    ({}, "direct (no proxy)"),
    ({"telemetry_proxy": "old.corp:3128", "defender_proxy": "http://old.corp:3128"}, "TelemetryProxyServer old.corp:3128"),
    ({"telemetry_proxy": PROXY}, "TelemetryProxyServer proxy.corp:8080"),  # Defender Antivirus' half is missing
], ids=["direct", "another_proxy", "half"])
def test_the_check_playbook_never_calls_a_v3_sensor_without_the_wanted_proxy_in_sync(make_lab, seed, current):
    lab, host = v3_host(make_lab, **seed)
    before = snapshot(host)
    run = lab.run_playbook(CHECK, extra_vars=RUN)
    assert run.rc == 0, run.stdout[-3000:]
    assert snapshot(host) == before
    text = line(run)
    assert text.startswith("dc01: drifted; method mde; MDE: would set "), text
    assert "fix: run the configure playbook, or Set-MDISensorProxyConfiguration -ProxyUrl 'http://proxy.corp:8080'" \
        in text, text
    assert "sensor v3 connects through Defender for Endpoint (%s)" % current in text, text
    # the scheduled drift check ends failed, so that AWX notifies
    failing = lab.run_playbook(CHECK, extra_vars=dict(RUN, atp_proxy_fail_on_drift=True))
    assert failing.rc != 0 and line(failing).startswith("dc01: drifted")
    # once configured, the same check reports it in sync
    assert lab.run_playbook(CONFIGURE, extra_vars=RUN).rc == 0
    synced = lab.run_playbook(CHECK, extra_vars=RUN)
    assert synced.rc == 0 and line(synced).startswith("dc01: in_sync; method mde"), line(synced)


def test_absent_removes_both_values_as_clear_does(make_lab):
    lab, host = v3_host(make_lab, telemetry_proxy=PROXY, defender_proxy=URL)
    absent = dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_state="absent")
    checked = lab.run_playbook(CONFIGURE, extra_vars=absent, check=True)
    assert checked.rc == 0 and telemetry(host) == PROXY and defender(host) == URL
    assert "would remove TelemetryProxyServer: proxy.corp:8080 -> (absent)" in line(checked), line(checked)

    run = lab.run_playbook(CONFIGURE, extra_vars=absent)
    assert run.rc == 0, run.stdout[-3000:]
    assert telemetry(host) is None and defender(host) is None
    assert "removed TelemetryProxyServer: proxy.corp:8080 -> (absent)" in line(run)
    assert "removed Defender Antivirus ProxyServer: http://proxy.corp:8080 -> (absent)" in line(run)
    before = regfile.parse(host.read_file(host.find_files(MDE_BACKUPS, "before.reg")[0]))
    assert before[DATACOLLECTION] == {"TelemetryProxyServer": PROXY} and before[DEFENDER] == {"ProxyServer": URL}
    again = lab.run_playbook(CONFIGURE, extra_vars=absent)
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0 and line(again).startswith("dc01: in_sync")


def test_absent_removes_the_one_value_left(make_lab):
    """Clear- removes both in one try: when TelemetryProxyServer is already gone it leaves ProxyServer. Not here."""
    lab, host = v3_host(make_lab, defender_proxy=URL)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_state="absent"))
    assert run.rc == 0, run.stdout[-3000:]
    assert telemetry(host) is None and defender(host) is None


@pytest.mark.parametrize("extra, variables", [
    ({"atp_proxy_products": ["mdi", "mde"], "atp_proxy_mde_proxy_server": "other.corp:3128"},
     ("atp_proxy_mde_proxy_server", "atp_proxy_settings.proxy_server")),
    ({"atp_proxy_products": ["mdi", "mde"], "atp_proxy_mde_av_proxy_server": "http://other.corp:3128"},
     ("atp_proxy_mde_av_proxy_server", "atp_proxy_settings.proxy_server")),
    ({"atp_proxy_products": ["mdi", "mde"], "atp_proxy_sensor_proxy_url": "http://other.corp:3128"},
     ("atp_proxy_mde_proxy_server", "atp_proxy_sensor_proxy_url")),
    ({"atp_proxy_products": ["mdi", "mde"], "atp_proxy_state": "absent"},
     ("atp_proxy_mde_telemetry", "atp_proxy_state=absent")),
], ids=["mde_proxy_server", "mde_av_proxy_server", "sensor_proxy_url", "absent"])
def test_a_conflicting_static_proxy_is_refused_naming_both_variables(make_lab, extra, variables):
    lab, host = v3_host(make_lab)
    before = snapshot(host)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, **extra))
    assert run.rc != 0
    text = line(run)
    assert text.startswith("dc01: failed"), text
    for variable in variables:
        assert variable in text, (variable, text)
    assert "one setting has one owner" in text and "Nothing was changed" in text, text
    assert snapshot(host) == before  # nothing written, not even a backup


def test_agreeing_mde_variables_are_written_with_the_sensor_values_in_one_backup(make_lab):
    lab, host = v3_host(make_lab)
    both = dict(RUN, atp_proxy_products=["mdi", "mde"], atp_proxy_mde_proxy_server="PROXY.corp:8080")
    run = lab.run_playbook(CONFIGURE, extra_vars=both)
    assert run.rc == 0, run.stdout[-3000:]
    assert telemetry(host) == "PROXY.corp:8080" and defender(host) == URL  # the same proxy: written once
    assert host.get_value(ss.DATACOLLECTION_KEY, "DisableEnterpriseAuthProxy")["data"] == 1
    assert len(host.find_files(MDE_BACKUPS, "before.reg")) == 1  # one backup, one write
    again = lab.run_playbook(CONFIGURE, extra_vars=both)
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0


def test_credentials_for_a_v3_host_give_a_warning_citing_microsoft(make_lab, tmp_path):
    lab, host = v3_host(make_lab)
    secrets = tmp_path / "secrets.yml"
    secrets.write_text(json.dumps({"atp_proxy_sensor_proxy_password": CANARY}))
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_sensor_proxy_username="CORP\\svc-mdi"),
                           extra_args=["-e", "@%s" % secrets])
    assert run.rc == 0, run.stdout[-3000:]
    output = " ".join((run.stdout + run.stderr).split())
    assert "[WARNING]: atp_proxy_sensor_proxy_username and atp_proxy_sensor_proxy_password are not used on dc01" \
        in output, output[-3000:]
    assert "learn.microsoft.com/defender-endpoint/configure-device-connectivity" in output
    assert "Enforcing proxy (user) authentication breaks connectivity" in output
    assert CANARY not in run.stdout + run.stderr + json.dumps(run.results) and "svc-mdi" not in output
    assert telemetry(host) == PROXY and defender(host) == URL  # the proxy itself, without credentials


def test_explicit_mde_on_a_host_without_a_sensor_v3_is_refused(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    ss.seed_v2_sensor(host)
    before = snapshot(host)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_method="mde"))
    assert run.rc != 0
    assert "atp_proxy_method=mde" in line(run) and "a sensor v2" in line(run), line(run)
    assert snapshot(host) == before


def test_a_restore_of_a_v3_host_says_it_cannot_instead_of_in_sync(make_lab):
    # The restore puts back WinINet values and SensorConfiguration.json; it compared a v3 sensor's Defender for
    # Endpoint values with themselves and reported "in_sync" while the host kept the change.
    lab, host = v3_host(make_lab)
    assert lab.run_playbook(CONFIGURE, extra_vars=RUN).rc == 0
    assert telemetry(host) == PROXY
    before = snapshot(host)
    restore = lab.run_playbook(RESTORE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01"))
    assert restore.rc == 2 and restore.stats["dc01"]["changed"] == 0
    text = line(restore)
    assert text.startswith("dc01: failed") and "in_sync" not in text, text
    assert "runs a sensor v3 (method mde)" in text and "reg import" in text and "mde_backups" in text, text
    assert snapshot(host) == before and telemetry(host) == PROXY

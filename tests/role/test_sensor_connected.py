# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""After the change, does the sensor itself connect? Real ansible-playbook runs of the configure and check playbooks
against the lab: the watch after the restart (a sensor that stops again is rolled back), the sensor's error log
lines (each documented string with its fix, unknown errors cut and masked), "sensor connected?" in the line,
set_stats and the fleet report, and the STIG note of the machine-wide key."""

from __future__ import annotations

import json

import pytest

from tests.lab import system_state as ss
from tests.lab.network import WORKSPACE_NAME

from .conftest import CHECK, CONFIGURE, NO_PROBE, WRITE_TASK, summary_lines, task_result

pytestmark = [pytest.mark.lab]

SETTINGS = {"atp_proxy_source": "settings", "atp_proxy_settings": {"proxy_server": "proxy.corp:8080",
                                                                   "bypass": ["<local>"]}}
RUN = dict(NO_PROBE, atp_proxy_hosts="dc01", **SETTINGS)
SSL = "Error CommunicationWebClient+<SendWithRetryAsync>d__9`1 ApplyInternal failed two way SSL connection to service."


def line(run, host="dc01") -> str:
    return next(text for text in summary_lines(run) if text.startswith(host + ":"))


def fleet_stats(run) -> dict:
    found = [r for r in run.results if r["task"].endswith("Publish the summary to AWX (set_stats)")]
    assert found, "set_stats did not run"
    return found[-1]["result"]["ansible_stats"]["data"]["atp_proxy_fleet"]


def test_a_sensor_that_stops_again_after_the_change_is_rolled_back_naming_its_log(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    before = host.read_file(seed.config_path)
    ss.stop_again(host, ss.UPDATER_SERVICE, 30)  # the service the sensor_config write restarts
    ss.log_on_start(host, ss.UPDATER_SERVICE, [SSL])
    run = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert run.rc != 0 and run.stats["dc01"]["failures"] == 1, run.stdout[-3000:]
    assert host.read_file(seed.config_path) == before  # the sensor write path's rollback
    text = line(run)
    assert "AATPSensorUpdater stopped again (after 30 s) after the restart (watched 60 s)" in text, text
    assert "its log says: ApplyInternal failed two way SSL connection to service" in text, text
    assert "Exempt *.atp.azure.com from TLS inspection" in text, text
    assert "The previous SensorConfiguration.json was put back" in text, text


def test_a_sensor_that_keeps_running_is_running_and_a_shorter_watch_is_honoured(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    ss.seed_v2_sensor(host)
    ss.stop_again(host, ss.UPDATER_SERVICE, 30)  # stops 30 s after its restart: a 20 s watch cannot see it
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_sensor_start_timeout=20))
    assert run.rc == 0, run.stdout[-3000:]
    result = task_result(run, "dc01", WRITE_TASK)
    assert result["sensor_watch"]["verdicts"] == {"AATPSensorUpdater": "running", "AATPSensor": "running"}
    assert result["sensor_watch"]["seconds"] == 20
    text = line(run)
    # no probe: the service is running, but nothing proved the sensor reaches its service
    assert "sensor connected? unknown (no probe evidence)" in text, text
    assert fleet_stats(run)["sensor_connected"] == {"dc01": {"connected": "unknown", "why": "no probe evidence"}}


@pytest.mark.parametrize("message, says, fix", [
    ("Info InteractiveDeploymentManager ValidateCreateSensorAsync returned [validateCreateSensorResult=LicenseInvalid]]",
     "validateCreateSensorResult=LicenseInvalid", "without authentication, or make the proxy answer 407"),
    ("Error SensorDeployer The sensor failed to connect to service.", "The sensor failed to connect to service",
     "Import DigiCert Global Root G2"),
    (SSL, "ApplyInternal failed two way SSL connection to service", "Exempt *.atp.azure.com from TLS inspection"),
    ("Error CommunicationWebClient System.Net.Http.HttpRequestException: An error occurred while sending the request. "
     "---> System.Net.WebException: Unable to connect to the remote server", "Unable to connect to the remote server",
     "Allow localhost TCP 444"),
])
def test_each_documented_log_string_is_named_with_its_fix_in_a_check_run(make_lab, message, says, fix):
    lab = make_lab(1)
    host = lab.host("dc01")
    ss.seed_v2_sensor(host)
    ss.write_sensor_log(host, [message], updater="Deployment" in message)
    run = lab.run_playbook(CHECK, extra_vars=RUN)
    assert run.rc == 0, run.stdout[-3000:]
    text = line(run)
    assert "sensor log (recent): %s" % says in text and fix in text, text
    assert "sensor connected? no (log: logged recently: %s)" % says in text, text
    assert fleet_stats(run)["sensor_connected"]["dc01"]["connected"] == "no"


def test_an_unknown_error_is_shown_cut_and_masked_never_dropped(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    ss.seed_v2_sensor(host)
    ss.write_sensor_log(host, ["Error Something Proxy http://svc-mdi:S3cret-Pw@proxy.corp:8080 refused the tunnel "
                               "Password=Hunter2 " + "x" * 400])
    run = lab.run_playbook(CONFIGURE, extra_vars=RUN, check=True)
    assert run.rc == 0, run.stdout[-3000:]
    text = line(run)
    assert "sensor log (recent): 1 other error(s), newest: Something Proxy http://svc-mdi:********@proxy.corp:8080 " \
           "refused the tunnel Password=********" in text, text
    assert "S3cret-Pw" not in run.stdout + json.dumps(run.results) and "Hunter2" not in run.stdout
    assert "x" * 300 not in text  # cut


def test_a_converged_run_reads_no_log_and_a_check_run_reads_them_once(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    ss.seed_v2_sensor(host)
    assert lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_sensor_start_timeout=0)).rc == 0
    lab.reset_ledgers()
    again = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0
    assert lab.round_trips()["dc01"] == 2  # query and slurp, as before: no log read when nothing restarted
    lab.reset_ledgers()
    check = lab.run_playbook(CHECK, extra_vars=RUN)
    assert check.rc == 0 and lab.round_trips()["dc01"] == 3  # + the log read
    off = lab.run_playbook(CHECK, extra_vars=dict(RUN, atp_proxy_sensor_logs=False))
    assert "sensor log" not in line(off)


def test_with_the_probe_a_healthy_sensor_is_likely_connected_in_the_line_stats_and_report(
        lab, tmp_path, sensor_api, proxy):
    host = lab.host("dc01")
    ss.seed_v2_sensor(host, workspace=WORKSPACE_NAME)
    report = tmp_path / "report"
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_probe=True, atp_proxy_probe_include_crl=False,
                                                      atp_proxy_probe_accounts=["LocalService"],
                                                      atp_proxy_report_dir=str(report)))
    assert run.rc == 0, run.stdout[-3000:]
    text = line(run)
    assert "sensor connected? likely (AATPSensor running, AATPSensorUpdater running; no documented failure logged " \
           "since the restart; sensor endpoint reachable as LocalService)" in text, text
    stats = fleet_stats(run)
    assert stats["sensor_connected"]["dc01"]["connected"] == "likely" and stats["totals"]["sensor_connected_likely"] == 1
    html = (report / "atp_proxy_report.html").read_text()
    md = (report / "atp_proxy_report.md").read_text()
    assert "Sensor connected?" in html and "Sensor connected?" in md
    assert "sensor endpoint reachable as LocalService" in html and "✅ likely" in md
    rows = json.loads((report / "atp_proxy_fleet.json").read_text())
    row = next(r for r in (rows["rows"] if isinstance(rows, dict) else rows) if r["host"] == "dc01")
    assert row["connected"]["connected"] == "likely" and row["connected"]["evidence"]["cloud"] is None


def test_stig_note_under_the_per_machine_policy_and_silenced(make_lab):
    lab = make_lab(2)
    for name in ("dc01", "dc02"):
        ss.seed_per_machine_policy(lab.host(name), {"proxy_server": "old.corp:3128"})  # a STIG-hardened host's GPO
    extra = dict(NO_PROBE, atp_proxy_hosts="dc01,dc02", **SETTINGS)
    check = lab.run_playbook(CONFIGURE, extra_vars=extra, check=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert "warning: STIG: this host has ProxySettingsPerUser=0" in line(check) and "V-3430" in line(check)
    run = lab.run_playbook(CONFIGURE, extra_vars=extra, limit="dc01")
    assert "V-3430" in line(run) and "Group Policy refresh may set it back" in line(run)
    assert "V-3430" in run.stdout  # an Ansible warning too
    quiet = lab.run_playbook(CONFIGURE, extra_vars=dict(extra, atp_proxy_stig_warning=False), limit="dc02")
    assert quiet.rc == 0 and "V-3430" not in line(quiet, "dc02") and "V-3430" not in quiet.stdout
    again = lab.run_playbook(CONFIGURE, extra_vars=extra, limit="dc01")  # nothing written: no note
    assert again.stats["dc01"]["changed"] == 0 and "V-3430" not in line(again)


@pytest.mark.parametrize("value", [-1, 601])
def test_a_bad_start_timeout_names_the_variable_and_changes_nothing(make_lab, value):
    lab = make_lab(1)
    ss.seed_v2_sensor(lab.host("dc01"))
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(RUN, atp_proxy_sensor_start_timeout=value))
    assert run.rc != 0 and "atp_proxy_sensor_start_timeout: %d; give 0 to 600 seconds" % value in run.stdout
    assert lab.round_trips()["dc01"] == 0


def test_readiness_localhost_444_listens_and_is_not_blocked_on_v2_hosts(make_lab):
    lab = make_lab(4)
    ok, silent, blocked, plain = (lab.host(n) for n in ("dc01", "dc02", "dc03", "dc04"))
    for host in (ok, silent, blocked):
        ss.seed_v2_sensor(host)
    ss.stop_listening(silent, 444)  # another program took the port, or the sensor never opened it
    ss.block_tcp(blocked, "Block 443-445", "443-445")  # a hardening rule that also covers the sensor's port
    ss.block_tcp(ok, "Block SMB", "445")  # a block rule that does not cover 444
    run = lab.run_playbook(CHECK, extra_vars=dict(RUN, atp_proxy_hosts="all"))
    assert run.rc == 0, run.stdout[-3000:]
    assert "localhost TCP 444" not in line(run, "dc01") and "Block SMB" not in line(run, "dc01")
    assert "readiness: Nothing listens on localhost TCP 444, which the sensor needs" in line(run, "dc02"), line(run, "dc02")
    assert "readiness: The Windows Firewall rule 'Block 443-445' blocks TCP 444 for localhost: allow localhost TCP " \
           "444" in line(run, "dc03"), line(run, "dc03")
    found = task_result(run, "dc03", WRITE_TASK)["readiness"]["localhost_444"]
    assert found == {"ok": False, "port": 444, "listening": ["127.0.0.1"], "blocked_by": ["Block 443-445"],
                     "fix": found["fix"]}
    assert "localhost_444" not in (task_result(run, "dc04", WRITE_TASK)["readiness"] or {})  # no sensor: not checked

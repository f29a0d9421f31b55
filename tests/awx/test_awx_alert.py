# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alerts on drift: the scheduled drift check fails when a host drifted, after the summary,
set_stats and the report are complete, and the example notification template tells who needs attention.

The job is the drift-check template of awx/job_templates.yml run by ansible-runner as AWX runs it (job type
"check", survey answers and meta variables as AWX writes them); the alert's message is rendered from that job's
artifacts the way AWX renders it (tests/awx/_awx.py names the AWX source).
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests._helpers import REPO, ansible_env, run, tool

from . import _awx
from ._awx_lab import dc_job, lab_fleet, template
from ._report_page import Page
from ._runner import host_results

DRIFT = "Defender sensor proxy - drift check"
ALERT = "Defender sensor proxy - drift alert"


def _alert() -> dict:
    data = _awx.load_awx_yaml(REPO / "awx" / "notification_templates.yml")["atp_awx_notification_templates"]
    return next(n for n in data if n["name"] == ALERT)


@pytest.fixture(scope="module")
def drift_job(tmp_path_factory):
    base = tmp_path_factory.mktemp("drift")
    with lab_fleet(base, hosts=3) as lab:
        before = {h: (lab.host(h).proxy_value("S-1-5-18"), lab.host(h).proxy_value("S-1-5-19")) for h in lab.host_names}
        job = dc_job(base / "pdd", lab, lab.host_names, DRIFT, "check_atp_proxy.yml", "drift",
                     _awx.meta_vars(7, template_name=DRIFT), {"atp_proxy_report_dir": str(base / "report")},
                     check=True)
        job["written"] = before != {h: (lab.host(h).proxy_value("S-1-5-18"), lab.host(h).proxy_value("S-1-5-19"))
                                    for h in lab.host_names}
    job["report"] = base / "report"
    return job


def test_the_scheduled_drift_check_turns_fail_on_drift_on_and_alerts():
    drift = template(DRIFT)
    assert drift["job_type"] == "check" and drift["extra_vars"]["atp_proxy_fail_on_drift"] is True
    assert drift["notification_templates_error"] == [ALERT]
    assert template("Defender sensor proxy - configure")["extra_vars"].get("atp_proxy_fail_on_drift") is None
    alert = _alert()
    assert alert["notification_type"] == "webhook" and set(alert["messages"]) == {"error"}


def test_a_drifted_fleet_fails_the_job_with_everything_written(drift_job):
    """Exit status failed; only the drifted and unreadable hosts end failed; the summary AWX keeps covers every
    host; the report was written although the job type is Check; nothing changed on any host."""
    assert drift_job["status"] == "failed" and drift_job["rc"] == 2, drift_job["stdout"][-4000:]
    recap = drift_job["recap"]
    assert sorted(recap["failures"]) == ["dc01", "dc03"] and "dc02" in recap["ok"] and not recap["dark"]
    fleet = drift_job["artifacts"]["atp_proxy_fleet"]
    assert fleet["totals"]["hosts"] == 3
    assert (fleet["drifted"], fleet["in_sync"], fleet["hive_not_loaded"]) == (["dc01"], ["dc02"], ["dc03"])
    failed = host_results(drift_job["events"], event="runner_on_failed", task="End this host as its run went")
    ended = {host: res["msg"] for host, res in failed.items()}
    assert sorted(ended) == ["dc01", "dc03"]
    assert "atp_proxy_fail_on_drift" in ended["dc01"] and "dc01: drifted" in ended["dc01"]
    # The report came first, complete.
    page = Page((drift_job["report"] / "atp_proxy_report.html").read_text())
    assert sorted(page.rows) == ["dc01", "dc02", "dc03"]
    assert page.tiles["drifted"] == ("tile warn", "1") and page.tiles["hive_not_loaded"] == ("tile bad", "1")
    assert page.cause_of("the host is drifted (atp_proxy_fail_on_drift)")
    assert "drift check (read-only)" in (drift_job["report"] / "atp_proxy_report.html").read_text()
    assert drift_job["written"] is False


def test_the_alert_names_the_hosts_from_the_jobs_artifacts(drift_job):
    body_template = _alert()["messages"]["error"]["body"]
    job = {"id": 7, "name": DRIFT, "status": drift_job["status"], "artifacts": drift_job["artifacts"]}
    body = _awx.webhook_body(_awx.render_notification(body_template, job))
    assert body["status"] == "failed" and body["job_id"] == 7 and body["hosts"] == 3
    assert body["drifted"] == ["dc01"] and body["hive_not_loaded"] == ["dc03"] and body["unreachable"] == []
    # dc02 is in sync, but its probe failed (this lab has no CRL hosts): it needs attention too
    assert "dc02" in body["probe_failed"]
    assert body["text"].startswith("Defender sensor proxy: 3 of 3 domain controller(s) need attention: dc01, dc03, "
                                   "dc02.")
    message = _awx.render_notification(_alert()["messages"]["error"]["message"], job)
    assert "\n" not in message and DRIFT in message and "failed" in message


def test_awx_accepts_the_messages_when_the_template_is_saved():
    """AWX renders every message against a stub job without artifacts, undefined names being errors; the body
    must still be a JSON object (the webhook backend posts {} otherwise)."""
    messages = _alert()["messages"]["error"]
    body = _awx.webhook_body(_awx.validate_message(messages["body"]))
    assert body["hosts"] == 0 and body["drifted"] == [] and body["job_id"] == 42
    assert "\n" not in _awx.validate_message(messages["message"])


def test_configure_awx_hands_awx_the_messages_untemplated(tmp_path):
    """awx/configure_awx.yml passes item.messages to awx.awx.notification_template: the !unsafe tags keep Ansible from
    rendering AWX's own Jinja (job.artifacts, url) on the way."""
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{
        "name": "The data configure_awx.yml hands the module", "hosts": "localhost", "gather_facts": False,
        "vars_files": [str(REPO / "awx" / "job_templates.yml"), str(REPO / "awx" / "notification_templates.yml")],
        "vars": {"atp_awx_alert_webhook_url": "https://alerts.corp.example/hook", "atp_awx_alert_webhook_username": "",
                 "atp_awx_alert_webhook_password": ""},
        "tasks": [{"name": "Messages", "ansible.builtin.debug": {"msg": "{{ item.messages }}"},
                   "loop": "{{ atp_awx_notification_templates }}"},
                  {"name": "Configuration", "ansible.builtin.debug": {"msg": "{{ item.notification_configuration }}"},
                   "loop": "{{ atp_awx_notification_templates }}"}]}]))
    proc = run([tool("ansible-playbook"), "-i", "localhost,", tmp_path / "play.yml"],
               env=ansible_env(tmp=tmp_path, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json"), cwd=tmp_path)
    tasks = json.loads(proc.stdout[proc.stdout.index("{"):])["plays"][0]["tasks"]
    messages = tasks[0]["hosts"]["localhost"]["results"][0]["msg"]
    assert messages == _alert()["messages"]
    assert "{{ job.id | tojson }}" in messages["error"]["body"]
    configuration = tasks[1]["hosts"]["localhost"]["results"][0]["msg"]
    assert configuration["url"] == "https://alerts.corp.example/hook" and configuration["http_method"] == "POST"


def test_the_alert_counts_a_host_whose_probe_failed():
    """With atp_proxy_fail_on_unreachable, a host whose endpoints are unreachable fails the job: the alert's count and
    text name it too (they said "0 of 2 ... need attention" with probe_failed listing it)."""
    fleet = {"totals": {"hosts": 2}, "drifted": ["dc01"], "in_sync": ["dc02"],
             "probe_failed": {"dc01": [{"account": "SYSTEM", "url": "u", "outcome": "timeout"}],
                              "dc02": [{"account": "SYSTEM", "url": "u", "outcome": "proxy_unreachable"}]}}
    job = {"id": 8, "name": DRIFT, "status": "failed", "artifacts": {"atp_proxy_fleet": fleet}}
    body = _awx.webhook_body(_awx.render_notification(_alert()["messages"]["error"]["body"], job))
    assert body["probe_failed"] == ["dc01", "dc02"]
    assert body["text"].startswith("Defender sensor proxy: 2 of 2 domain controller(s) need attention: dc01, dc02.")

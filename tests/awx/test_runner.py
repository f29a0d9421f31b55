# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks the way AWX runs them: ``ansible-runner run <private_data_dir> -p <playbook>`` against the lab.

The private data dir is what AWX hands to ansible-runner: ``project/`` (the playbooks), ``inventory/``,
``env/envvars`` and ``env/extravars``. The extra vars are built as AWX builds them: the job template's
``extra_vars`` (awx/job_templates.yml, Jinja allowed) plus the survey answers tagged ``!unsafe``
(ALLOW_JINJA_IN_EXTRA_VARS=template). The lab's DCs reach a real HTTPS sensor API through a real proxy.
"""

from __future__ import annotations

import json

import pytest

from . import _awx
from ._awx_lab import SENSOR_HOST, SURVEY_ANSWERS, data_dir, lab_fleet, template
from ._report_page import Page
from ._runner import host_results, run_job

PING = "https://%s/tri/sensor/api/ping" % SENSOR_HOST


def _awx_extravars(template_name: str, extra: dict) -> str:
    """env/extravars as AWX writes it: the template's extra_vars as they are, the survey answers !unsafe."""
    return _awx.extravars(template(template_name)["extra_vars"], SURVEY_ANSWERS, extra)


@pytest.fixture
def fleet(tmp_path):
    """Three DCs: dc01 drifted (accounts empty), dc02 in sync, dc03 drifted with LocalService's hive unloaded."""
    with lab_fleet(tmp_path, hosts=3, drifted=("dc01", "dc03"), unloaded=("dc03",)) as lab:
        yield lab


def private_data_dir(tmp_path, lab, extravars: str):
    return data_dir(tmp_path / "pdd", lab, lab.host_names, extravars)


def ok_results(job, action: str = "", task_name: str = "") -> dict:
    return host_results(job["events"], action=action, task=task_name)


def fleet_stats(job) -> dict:
    return job["artifacts"]["atp_proxy_fleet"]


def _decoded(lab, host, sid):
    return lab.host(host).decoded(sid)


def test_check_job_reports_drift_and_writes_nothing(tmp_path, fleet):
    before = {h: (fleet.host(h).proxy_value("S-1-5-18"), fleet.host(h).proxy_value("S-1-5-19"))
              for h in fleet.host_names}
    extravars = _awx_extravars("Defender sensor proxy - drift check", {"atp_proxy_report_dir": str(tmp_path / "r")})
    pdd = private_data_dir(tmp_path, fleet, extravars)
    # The drift template's job type is "check": AWX adds --check.
    job = run_job(pdd, "check_atp_proxy.yml", "drift", check=True)
    # The template sets atp_proxy_fail_on_drift: the drifted and unreadable hosts end failed, after the summary,
    # so that AWX marks the job failed and sends the drift alert (notification_templates_error).
    assert job["status"] == "failed" and job["rc"] == 2, job["stdout"][-4000:]
    recap = job["recap"]
    assert sorted(recap["failures"]) == ["dc01", "dc03"], recap
    assert "--check" in " ".join(json.loads((pdd / "artifacts" / "drift" / "command").read_text())["command"])

    # The drift check is the write module with read_only (the role's atp_proxy_mode=check): it compares only.
    compare = ok_results(job, action="atp.sensor_proxy.atp_proxy_job")
    assert set(compare) == {"dc01", "dc02", "dc03"}, sorted(compare)
    assert not any(res["changed"] for res in compare.values())
    states = {h: {t["sid"]: t["state"] for t in res["targets"]} for h, res in compare.items()}
    assert states["dc01"] == {"S-1-5-18": "missing", "S-1-5-19": "missing"}
    assert set(states["dc02"].values()) <= {"identical", "equivalent"}
    assert states["dc03"]["S-1-5-19"] == "hive_not_loaded"

    fleet_summary = fleet_stats(job)
    assert fleet_summary["in_sync"] == ["dc02"]
    assert fleet_summary["changed"] == []
    assert "dc01" in fleet_summary["drifted"] + fleet_summary.get("would_change", [])
    assert fleet_summary["hive_not_loaded"] == ["dc03"]
    # Nothing was written on any host.
    after = {h: (fleet.host(h).proxy_value("S-1-5-18"), fleet.host(h).proxy_value("S-1-5-19"))
             for h in fleet.host_names}
    assert after == before


def test_configure_job_from_the_survey(tmp_path, fleet):
    fleet.host("dc03").set_hive_loaded("S-1-5-19", True)
    report_dir = tmp_path / "report"
    extravars = _awx_extravars("Defender sensor proxy - configure", {"atp_proxy_report_dir": str(report_dir)})
    pdd = private_data_dir(tmp_path, fleet, extravars)
    job = run_job(pdd, "configure_atp_proxy.yml", "configure")
    assert job["status"] == "successful" and job["rc"] == 0, job["stdout"][-4000:]

    # What the survey asked for is now in LocalSystem and LocalService on every DC.
    for host in fleet.host_names:
        for sid in ("S-1-5-18", "S-1-5-19"):
            settings = _decoded(fleet, host, sid)["settings"]
            assert settings["proxy_server"] == "proxy.corp:8080", (host, sid)
            assert settings["bypass"] == ["<local>", "*.corp.example"], (host, sid)
            assert settings["flags"]["proxy"] is True

    # Per-host results in the runner artifacts.
    applied = ok_results(job, action="atp.sensor_proxy.atp_proxy_job")
    assert applied["dc01"]["changed"] is True and sorted(applied["dc01"]["changed_sids"]) == ["S-1-5-18", "S-1-5-19"]
    assert applied["dc01"]["backup_file"].endswith(".reg")
    assert {host: res["summary"]["status"] for host, res in applied.items()} == {
        "dc01": "changed", "dc02": "in_sync", "dc03": "changed"}

    # The set_stats summary AWX shows on the job and passes to workflow nodes.
    fleet_summary = fleet_stats(job)
    assert sorted(fleet_summary["changed"]) == ["dc01", "dc03"]
    assert fleet_summary["in_sync"] == ["dc02"]
    assert fleet_summary["failed"] == [] and fleet_summary["hive_not_loaded"] == []
    probe_failed = fleet_summary["probe_failed"]
    # The sensor API answers through the proxy; the CRL endpoints cannot (no Internet behind the lab proxy).
    for host in fleet.host_names:
        urls = {(f["url"], f["outcome"]) for f in probe_failed.get(host, [])}
        assert all(url != PING for url, dummy in urls), urls
        assert urls and all(outcome == "blocked_by_proxy" for dummy, outcome in urls), urls

    # The fleet report of this run: each account's value now, the sensor API reachable, the CRL hosts blocked by
    # the proxy explained once for the three hosts.
    page = Page((report_dir / "atp_proxy_report.html").read_text())
    assert set(page.rows) == {"dc01", "dc02", "dc03"}
    assert page.rows["dc01"]["attrs"]["data-status"] == "changed" and page.rows["dc02"]["attrs"]["data-status"] == "in_sync"
    assert "proxy proxy.corp:8080, bypass <local>;*.corp.example" in page.cell("dc01", data_sid="S-1-5-19")[1]
    assert page.cell("dc01", data_ep="mdi_workspace")[0] == "ep ok"
    assert page.cell("dc01", data_ep="crl_microsoft")[0] == "ep bad"
    blocked = page.cause_of("check that the proxy itself can resolve and reach crl.microsoft.com")
    assert blocked["text"].startswith(blocked["number"] + " blocked by proxy") and "3 hosts" in blocked["text"]
    assert page.tiles["changed"] == ("tile change", "2") and page.tiles["backups_written"][1] == "2"
    markdown = (report_dir / "atp_proxy_report.md").read_text()
    assert "| dc02 | ✅ in sync |" in markdown

    # Run it again: AWX would show nothing changed.
    job2 = run_job(pdd, "configure_atp_proxy.yml", "configure-again")
    assert job2["status"] == "successful"
    assert sorted(fleet_stats(job2)["in_sync"]) == ["dc01", "dc02", "dc03"]

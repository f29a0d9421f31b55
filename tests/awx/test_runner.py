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
import shutil

import pytest
import yaml

from tests.lab.fixtures import LabEnv
from tests.lab.network import ProxyPy, SensorApi

from ._helpers import REPO, run, tool
from ._report_page import Page

WORKSPACE = "contoso-corp"
SENSOR_HOST = WORKSPACE + "sensorapi.atp.azure.com"
PING = "https://%s/tri/sensor/api/ping" % SENSOR_HOST
WANTED = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>", "*.corp.example"]}
SURVEY_ANSWERS = {
    "atp_proxy_survey_proxy_server": "proxy.corp:8080",
    "atp_proxy_survey_bypass": "<local>\n*.corp.example\n",
    "atp_proxy_survey_auto_config_url": "",
    "atp_proxy_products": ["mdi"],
    "atp_proxy_workspace": WORKSPACE,
}
ENV_KEYS_PREFIXES = ("ANSIBLE_", "ATP_", "PYTHONPATH")


class _Unsafe(str):
    pass


def _unsafe_representer(dumper, data):
    return dumper.represent_scalar("!unsafe", str(data))


yaml.SafeDumper.add_representer(_Unsafe, _unsafe_representer)


def _awx_extravars(template_name: str, extra: dict) -> str:
    """env/extravars as AWX writes it: template extra_vars as they are, survey answers !unsafe."""
    templates = yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())["atp_awx_job_templates"]
    template = next(t for t in templates if t["name"] == template_name)

    def unsafe(value):
        if isinstance(value, str):
            return _Unsafe(value)
        if isinstance(value, list):
            return [unsafe(v) for v in value]
        return value

    data = dict(template["extra_vars"])
    data.update({k: unsafe(v) for k, v in SURVEY_ANSWERS.items()})
    data.update(extra)
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture
def fleet(tmp_path):
    """Three DCs: dc01 drifted (accounts empty), dc02 in sync, dc03 with LocalService's hive unloaded."""
    lab = LabEnv(tmp_path / "lab", hosts=3)
    api = SensorApi(tmp_path / "sensor_api").start()
    lab.lab.update_config(ca_file=str(api.ca_file))
    lab.lab.add_dns("%s:443" % SENSOR_HOST, "127.0.0.1:%d" % api.port, proxy_only=True)
    proxy = ProxyPy(tmp_path / "proxy", lab.lab.dir).start()
    lab.lab.add_dns("proxy.corp:8080", "127.0.0.1:%d" % proxy.port)
    for name in lab.host_names:
        lab.host(name).seed({"user": WANTED})
    lab.host("dc02").seed({"S-1-5-18": WANTED, "S-1-5-19": WANTED})
    lab.host("dc03").seed({"unloaded": ["S-1-5-19"]})
    yield lab
    proxy.stop()
    api.stop()


def private_data_dir(tmp_path, lab: LabEnv, extravars: str):
    """Lay out an AWX-style private data dir for the lab."""
    pdd = tmp_path / "pdd"
    shutil.copytree(REPO / "playbooks", pdd / "project")
    (pdd / "inventory").mkdir(parents=True)
    inventory = {"all": {"vars": lab.inventory_vars(), "children": {
        "atp_sensors": {"hosts": {name: {} for name in lab.host_names}}}}}
    (pdd / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (pdd / "env").mkdir()
    env = {k: v for k, v in lab.env().items() if k.startswith(ENV_KEYS_PREFIXES)}
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)  # the runner's own event callback is what AWX reads
    env.pop("ANSIBLE_CALLBACK_PLUGINS", None)
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(env))
    (pdd / "env" / "extravars").write_text(extravars)
    (pdd / "env" / "settings").write_text(yaml.safe_dump({"idle_timeout": 600, "job_timeout": 900}))
    return pdd


def run_job(pdd, playbook: str, ident: str, check=False):
    cmd = [tool("ansible-runner"), "run", pdd, "-p", playbook, "--ident", ident]
    # A job template of type "check" adds --check; runner takes extra arguments from env/cmdline.
    cmdline = pdd / "env" / "cmdline"
    if check:
        cmdline.write_text("--check")
    elif cmdline.exists():
        cmdline.unlink()
    proc = run(cmd, check=False, timeout=900)
    assert (pdd / "artifacts" / ident / "status").exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    artifacts = pdd / "artifacts" / ident
    event_files = sorted((artifacts / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-")[0]))
    events = [json.loads(p.read_text()) for p in event_files]
    return {
        "proc": proc,
        "status": (artifacts / "status").read_text().strip(),
        "rc": int((artifacts / "rc").read_text().strip()),
        "events": events,
        "stdout": (artifacts / "stdout").read_text(),
    }


def ok_results(job, action: str = "", task_name: str = "") -> dict:
    """host -> event_data.res of the (last) runner_on_ok event of a module (FQCN) or a task name."""
    found = {}
    for e in job["events"]:
        data = e["event_data"]
        if e["event"] != "runner_on_ok":
            continue
        if (action and action in (data.get("resolved_action"), data.get("task_action"))) or \
                (task_name and data.get("task") == task_name):
            found[data["host"]] = data["res"]
    return found


def fleet_stats(job) -> dict:
    stats = [e for e in job["events"] if e["event"] == "playbook_on_stats"]
    assert len(stats) == 1
    return stats[0]["event_data"]["artifact_data"]["atp_proxy_fleet"]


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
    recap = [e for e in job["events"] if e["event"] == "playbook_on_stats"][0]["event_data"]
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

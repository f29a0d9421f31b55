# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's task result (several modes included), its failure message and the JSON/JUnit reports."""

from __future__ import annotations

import json
import multiprocessing
import xml.etree.ElementTree as ET

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _report as r
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _target as t
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._endpoints import Endpoint

PING = Endpoint("mdi_workspace", "https://contososensorapi.atp.azure.com/tri/sensor/api/ping", "sensor_ping", "mdi")
MDE = Endpoint("mde_1", "https://winatp-gw-weu.microsoft.com/test", "service", "mde")
PREFIX = t.WIN_URI_EXCEPTION_PREFIX


def ok(url):
    return {"changed": False, "elapsed": 0.1, "url": url, "status_code": 200, "msg": "OK", "method": "GET"}


def timed_out(url):
    return {"changed": False, "failed": True, "elapsed": 0.05, "url": url, "msg": PREFIX + "The operation has timed out."}


def results_for(host_tag):
    return [
        t.classify_win_uri(PING, ok(PING.url), account=host_tag),
        t.classify_win_uri(MDE, timed_out(MDE.url), account=host_tag),
    ]


def test_summary_and_failure_message():
    summary = r.summarize(results_for("x"), via="target", account="LocalService", elapsed_total=1.23456, round_trips=2)
    assert summary["all_reachable"] is False and summary["changed"] is False
    assert summary["failing"] == [
        {"url": MDE.url, "endpoint": "mde_1", "outcome": "timeout", "hint": summary["results"][1]["hint"],
         "mode": "default"}
    ]
    assert summary["working_modes"] == {PING.url: ["default"], MDE.url: []}
    assert summary["elapsed_total"] == 1.235 and summary["round_trips"] == 2
    assert r.failure_message(summary) == "1 of 2 endpoint(s) not reachable: %s (timeout)" % MDE.url


def test_a_url_is_reachable_when_any_tested_mode_reaches_it():
    results = [
        t.classify_win_uri(MDE, timed_out(MDE.url), mode="default"),
        t.classify_win_uri(MDE, ok(MDE.url), mode="named", named_proxy="http://named:3128"),
    ]
    summary = r.summarize(results, via="target", account="SYSTEM", elapsed_total=1, modes=["default", "named", "wpad"],
                          not_tested={"wpad": t.NOT_TESTABLE["wpad"]})
    assert summary["all_reachable"] is True and summary["failing"] == []
    assert summary["working_modes"] == {MDE.url: ["named"]}
    assert summary["not_tested"] == [{"mode": "wpad", "why": t.NOT_TESTABLE["wpad"]}]
    suite = r.junit_suite("dc01", summary)
    assert suite.get("failures") == "0"
    assert [c.get("name") for c in suite.findall("testcase")] == ["mde_1 %s [default]" % MDE.url,
                                                                  "mde_1 %s [named]" % MDE.url]


def _write_both(args):
    path_json, path_xml, host = args
    summary = r.summarize(results_for(host), via="target", account="LocalService", elapsed_total=1.0, round_trips=2)
    r.write_json_report(path_json, host, summary)
    r.write_junit_report(path_xml, host, summary)


def test_reports_merge_safely_from_parallel_processes(tmp_path):
    path_json, path_xml = str(tmp_path / "r" / "probe.json"), str(tmp_path / "r" / "probe.xml")
    hosts = ["dc%02d" % i for i in range(12)]
    with multiprocessing.get_context("fork").Pool(6) as pool:
        pool.map(_write_both, [(path_json, path_xml, h) for h in hosts])
    data = json.loads(open(path_json).read())
    assert sorted(data["hosts"]) == hosts and data["all_reachable"] is False
    root = ET.parse(path_xml).getroot()
    assert sorted(s.get("name") for s in root.findall("testsuite")) == hosts
    assert root.get("tests") == "24" and root.get("failures") == "12"
    case = root.find("testsuite/testcase[failure]")
    assert case.get("name") == "mde_1 %s" % MDE.url
    assert case.find("failure").get("type") == "timeout"
    assert "tls_inspection=unknown" in case.find("system-out").text
    # Running again for one host replaces its suite instead of adding one.
    _write_both((path_json, path_xml, "dc03"))
    assert len(ET.parse(path_xml).getroot().findall("testsuite")) == 12


def test_report_directory_gets_one_file_per_host(tmp_path):
    summary = r.summarize(results_for("x"), via="target", account="a", elapsed_total=1.0)
    written = r.write_json_report(str(tmp_path / "out") + "/", "dc01.corp.example", summary)
    assert written == str(tmp_path / "out" / "dc01.corp.example.json")
    written = r.write_junit_report(str(tmp_path / "out"), "dc/02", summary)
    assert written == str(tmp_path / "out" / "dc_02.xml")
    assert ET.parse(written).getroot().find("testsuite").get("name") == "dc/02"

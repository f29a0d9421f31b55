# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloud's verdict in the playbooks (atp_proxy_cloud_verdict): real ansible-playbook runs of configure_atp_proxy
and check_atp_proxy on the lab, with Microsoft Graph played by the local HTTPS server of tests/network/graph_server.py.

What the admin sees is asserted: each host's line, the set_stats data, the fleet report (Markdown, HTML and the rows
JSON), the exit code; and what Graph saw: one reading for the fleet (one token), a bounded wait for the changed hosts
only, nothing written when the credential is missing, no secret anywhere.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus

import pytest

from tests.lab import system_state as ss
from tests.network.graph_server import FakeGraph, health_issue, sensor

from .conftest import CHECK, CONFIGURE, NO_PROBE, snapshot, summary_lines

pytestmark = [pytest.mark.lab, pytest.mark.network]

SECRET = "Cnry!Graph 7;x=@q+"
STOPPED = "Sensor stopped communicating"
ADVICE = "Check the communication between the Defender for Identity sensor and the cloud service isn't blocked."
SETTINGS = {"atp_proxy_source": "settings", "atp_proxy_settings": {"proxy_server": "proxy.corp:8080",
                                                                   "bypass": ["<local>"]}}
ASK = "Ask Microsoft Graph whether each host's sensor is connected"


def graph_vars(server: FakeGraph, **more) -> dict:
    return dict(NO_PROBE, **SETTINGS, atp_proxy_cloud_verdict=True, atp_proxy_graph_tenant_id=server.tenant,
                atp_proxy_graph_client_id=server.client_id, atp_proxy_graph_endpoint=server.url,
                atp_proxy_graph_authority=server.url, atp_proxy_graph_ca_path=str(server.ca_file), **more)


def secret_file(lab) -> list:
    """The client secret in a vars file, as a vault or an AWX credential gives it (never on the command line)."""
    path = lab.dir / "graph_secret.json"
    path.write_text(json.dumps({"atp_proxy_graph_client_secret": SECRET}))
    return ["-e", "@%s" % path]


def lines(run) -> dict:
    return {text.split(":", 1)[0]: text for text in summary_lines(run)}


def fleet_stats(run) -> dict:
    found = [r for r in run.results if r["task"].endswith("Publish the summary to AWX (set_stats)")]
    assert found, "set_stats did not run"
    return found[-1]["result"]["ansible_stats"]["data"]["atp_proxy_fleet"]


def asked(run) -> list:
    return [r for r in run.results if r["task"].split(" : ")[-1] == ASK and r["status"] != "skipped"]


@pytest.fixture
def graph(tmp_path):
    servers = []

    def start(**kwargs):
        server = FakeGraph(tmp_path / ("graph%d" % len(servers)), client_secret=SECRET, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_configure_waits_for_the_changed_sensors_and_shows_the_cloud_everywhere(make_lab, graph, tmp_path):
    lab = make_lab(3)
    for name in ("dc01", "dc02", "dc03"):
        ss.seed_v2_sensor(lab.host(name))
    # dc02 already has the proxy: in sync, not waited for
    first = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, **SETTINGS, atp_proxy_hosts="dc02"))
    assert first.rc == 0, first.stdout[-3000:]
    # Graph: dc01 disconnected until its third reading (it reconnects after the change), dc02 healthy, dc03 stays
    # disconnected with Microsoft's health issue; 2 sensors a page, so every reading pages.
    server = graph(sensors=[sensor("DC01", status="disconnected", health="notHealthyMedium", issues=1),
                            sensor("DC02"), sensor("DC03", status="disconnected", health="notHealthyHigh",
                                                   issues=1)],
                   issues=[health_issue(STOPPED, ["DC01.corp.example"], recommendation=ADVICE),
                           health_issue(STOPPED, ["DC03.corp.example"], severity="high", recommendation=ADVICE)],
                   page_size=2)

    def reconnect(route, count):
        if route == "security/identities/sensors" and count == 3:
            server.sensors[0] = sensor("DC01")
            server.issues = server.issues[1:]

    server.on_read = reconnect
    report = tmp_path / "report"
    run = lab.run_playbook(CONFIGURE, verbosity=4, extra_args=secret_file(lab), extra_vars=graph_vars(
        server, atp_proxy_hosts="all", atp_proxy_cloud_wait_timeout=5, atp_proxy_cloud_wait_interval=1,
        atp_proxy_report_dir=str(report)))
    assert run.rc == 0, run.stdout[-3000:]

    # One reading task for the fleet, on the controller, with one token for all its readings.
    assert len(asked(run)) == 1
    assert server.routes().count("token") == 1
    reading = asked(run)[0]["result"]
    assert reading["waited_for"] == ["dc01", "dc03"]  # the changed hosts only
    assert reading["readings"] >= 4 and reading["settled"] is False and 4 <= reading["waited"] <= 5
    assert server.routes()[1:4] == ["sensors", "sensors", "healthIssues"]  # two pages of sensors, one of issues

    text = lines(run)
    assert text["dc01"].startswith("dc01: changed;")
    assert text["dc01"].endswith("cloud connected (Graph: healthy, upToDate)"), text["dc01"]
    assert text["dc02"].startswith("dc02: in_sync;")
    assert text["dc02"].endswith("cloud connected (Graph: healthy, upToDate)"), text["dc02"]
    assert re.search(r"; cloud NOT CONNECTED \(Graph: notHealthyHigh, disconnected; %s: %s; still so after waiting "
                     r"[45]s \(atp_proxy_cloud_wait_timeout\)\)$" % (STOPPED, re.escape(ADVICE)), text["dc03"]), \
        text["dc03"]
    # the cloud's verdict is the evidence that answers "sensor connected?" (its cloud slot): yes only from the cloud
    assert "; sensor connected? yes (cloud: Microsoft Graph reports the sensor connected (healthy)); cloud connected" \
        in text["dc01"], text["dc01"]
    assert "; sensor connected? no (cloud: Microsoft Graph reports the sensor not connected (notHealthyHigh): %s); " \
        "cloud NOT CONNECTED" % STOPPED in text["dc03"], text["dc03"]

    stats = fleet_stats(run)
    assert stats["cloud"]["connected"] == ["dc01", "dc02"] and stats["cloud"]["not_connected"] == ["dc03"]
    assert (stats["totals"]["cloud_read"], stats["totals"]["cloud_connected"],
            stats["totals"]["cloud_not_connected"]) == (3, 2, 1)
    assert stats["sensor_connected"]["dc03"]["connected"] == "no"
    assert stats["sensor_connected"]["dc01"]["connected"] == "yes"
    assert (stats["totals"]["sensor_connected_yes"], stats["totals"]["sensor_connected_no"]) == (2, 1)

    rows = {r["host"]: r for r in json.loads((report / "atp_proxy_fleet.json").read_text())["rows"]}
    assert rows["dc03"]["cloud"]["connected"] is False
    assert rows["dc03"]["cloud"]["issues"] == [{"name": STOPPED, "severity": "high", "recommendations": [ADVICE]}]
    assert rows["dc01"]["cloud"]["waited"]["settled"] is False  # the wait ended on dc03, not on dc01
    markdown = (report / "atp_proxy_report.md").read_text()
    assert "Cloud (Microsoft Graph) |" in markdown
    assert "❌ NOT CONNECTED" in markdown and "✅ connected" in markdown
    assert "%s: %s" % (STOPPED, ADVICE) in markdown  # the cause, numbered once
    assert "Cloud (Microsoft Graph)</th>" in (report / "atp_proxy_report.html").read_text()
    assert "Sensor connected? |" in markdown and "cloud: Microsoft Graph reports the sensor connected" in markdown

    texts = {"stdout": run.stdout, "stderr": run.stderr, "results": json.dumps(run.results)}
    texts.update({p.name: p.read_text() for p in report.iterdir()})
    forms = (SECRET, quote(SECRET, safe=""), quote_plus(SECRET))
    assert [(name, form) for name, text in texts.items() for form in forms if form in text] == []


def test_check_reads_once_and_shows_an_unhealthy_sensor_without_failing(make_lab, graph):
    lab = make_lab(2)
    for name in ("dc01", "dc02"):
        ss.seed_v2_sensor(lab.host(name))
    server = graph(sensors=[sensor("DC01", status="disconnected", health="notHealthyMedium", issues=1)],
                   issues=[health_issue(STOPPED, ["DC01.corp.example"], recommendation=ADVICE)])
    server.fault("sensors", (429, {"Retry-After": "1"}))  # throttled once: Graph's Retry-After is honoured
    before = snapshot(lab.host("dc01"))
    run = lab.run_playbook(CHECK, extra_args=secret_file(lab), extra_vars=graph_vars(server, atp_proxy_hosts="all"))
    assert run.rc == 0, run.stdout[-3000:]
    assert server.routes() == ["token", "sensors", "sensors", "healthIssues"]  # the retry; no wait in a check
    assert server.requests[2]["at"] - server.requests[1]["at"] >= 1.0  # the retry came after Retry-After
    assert asked(run)[0]["result"]["client"]["retries"] == 1
    text = lines(run)
    assert text["dc01"].startswith("dc01: drifted;")
    assert text["dc01"].endswith("cloud NOT CONNECTED (Graph: notHealthyMedium, disconnected; %s: %s)"
                                 % (STOPPED, ADVICE)), text["dc01"]
    assert text["dc02"].endswith("cloud: no sensor in Graph (no sensor in Graph is named dc02 (1 sensor(s) "
                                 "listed))"), text["dc02"]
    assert snapshot(lab.host("dc01")) == before

    # atp_proxy_fail_on_cloud: the host Graph shows not connected ends failed, with its line; the other does not.
    # atp_proxy_cloud_sensor_names: dc02's sensor is registered under another name, the override finds it.
    server.sensors.append(sensor("SRV-DC-B"))
    gated = lab.run_playbook(CHECK, extra_args=secret_file(lab), extra_vars=graph_vars(
        server, atp_proxy_hosts="all", atp_proxy_fail_on_cloud=True,
        atp_proxy_cloud_sensor_names={"dc02": "srv-dc-b.corp.example"}))
    assert gated.rc != 0
    assert gated.stats["dc01"]["failures"] == 1 and gated.stats["dc02"]["failures"] == 0
    assert lines(gated)["dc02"].endswith("; cloud connected (Graph: healthy, upToDate)"), lines(gated)["dc02"]
    assert asked(gated)[0]["result"]["hosts"]["dc02"]["matched_by"] == "override"
    assert "Microsoft Graph shows the sensor not connected (atp_proxy_fail_on_cloud)" in gated.stdout


def test_a_missing_permission_is_named_on_every_line_and_fails_nothing(make_lab, graph):
    lab = make_lab(2)
    for name in ("dc01", "dc02"):
        ss.seed_v2_sensor(lab.host(name))
    server = graph(sensors=[sensor("DC01"), sensor("DC02")], roles={"SecurityIdentitiesSensors.Read.All"})
    run = lab.run_playbook(CHECK, extra_args=secret_file(lab), extra_vars=graph_vars(server, atp_proxy_hosts="all"))
    assert run.rc == 0, run.stdout[-3000:]
    for text in lines(run).values():
        assert "; cloud not read: " in text, text
        assert "application permission SecurityIdentitiesHealth.Read.All, granted with admin consent" in text
    stats = fleet_stats(run)
    assert stats["cloud"]["not_read"] == ["dc01", "dc02"] and "SecurityIdentitiesHealth.Read.All" in \
        stats["cloud"]["error"]
    gated = lab.run_playbook(CHECK, extra_args=secret_file(lab), extra_vars=graph_vars(
        server, atp_proxy_hosts="all", atp_proxy_fail_on_cloud=True))
    assert gated.rc != 0 and gated.stats["dc01"]["failures"] == gated.stats["dc02"]["failures"] == 1
    assert "the cloud's verdict could not be read (atp_proxy_fail_on_cloud)" in gated.stdout


def test_without_a_credential_every_host_fails_first_naming_the_variables(make_lab, graph, monkeypatch):
    for name in ("ATP_GRAPH_TENANT_ID", "ATP_GRAPH_CLIENT_ID", "ATP_GRAPH_CLIENT_SECRET", "ATP_GRAPH_CERTIFICATE_PATH"):
        monkeypatch.delenv(name, raising=False)
    lab = make_lab(1)
    ss.seed_v2_sensor(lab.host("dc01"))
    server = graph(sensors=[sensor("DC01")])
    before = snapshot(lab.host("dc01"))
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(graph_vars(server, atp_proxy_hosts="all"),
                                                      atp_proxy_graph_tenant_id=""))
    assert run.rc != 0
    line = lines(run)["dc01"]
    assert line.startswith("dc01: failed;")
    assert ("atp_proxy_cloud_verdict is true, but atp_proxy_graph_tenant_id is required (or set "
            "ATP_GRAPH_TENANT_ID); no credential: give atp_proxy_graph_client_secret or "
            "atp_proxy_graph_certificate_path") in line, line
    assert snapshot(lab.host("dc01")) == before
    assert server.routes() == [] and "; cloud " not in line  # no host got past its job: Graph is not asked


def test_off_by_default(make_lab, graph):
    lab = make_lab(1)
    ss.seed_v2_sensor(lab.host("dc01"))
    server = graph(sensors=[sensor("DC01")])
    run = lab.run_playbook(CHECK, extra_vars=dict(NO_PROBE, **SETTINGS, atp_proxy_hosts="all"))
    assert run.rc == 0 and asked(run) == [] and server.routes() == []
    assert "cloud" not in lines(run)["dc01"]

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's advice follows the method the host's sensor uses (its own SensorConfiguration.json, WinINet per account,
the machine-wide value, Defender for Endpoint for a v3 sensor), names the proxy with its port, and the workspace probed
is the one the sensor talks to, with a difference named in the line and the report."""

from __future__ import annotations

import pytest

from tests.awx._report_page import Page
from tests.lab import system_state as ss
from tests.lab.network import WORKSPACE_NAME

from .conftest import CHECK, CONFIGURE, PROXY, summary_lines

pytestmark = [pytest.mark.lab]

PROBE = {"atp_proxy_hosts": "dc01", "atp_proxy_workspace": WORKSPACE_NAME, "atp_proxy_probe_include_crl": False}
PING = "https://%ssensorapi.atp.azure.com/tri/sensor/api/ping"


def hints(run, host="dc01") -> dict:
    """account -> the hints of its probe results (the one-sentence fixes an admin reads)."""
    task = "Probe the Defender endpoints as each service account"
    found = [r for r in run.results if r["host"] == host and r["task"].endswith(task)]
    assert found, "the probe did not run"
    return {item["account"]: [x["hint"] for x in item["results"] if x["hint"]] for item in found[-1]["result"]["accounts"]}


def line(run, host="dc01") -> str:
    return next(text for text in summary_lines(run) if text.startswith(host + ":"))


def seed_v2_no_proxy(host):
    ss.seed_v2_sensor(host)


def seed_v2_gone_proxy(host):
    ss.seed_v2_sensor(host, proxy={"url": "http://gone.corp:3128"})


def seed_machine_wide(host):
    ss.seed_v2_sensor(host)
    ss.seed_per_machine_policy(host, {"proxy_server": "gone.corp:3128"})


def seed_v3(host):
    ss.seed_v3_sensor(host)


@pytest.mark.parametrize("seed, wanted, unwanted", [
    (seed_v2_no_proxy, "set the sensor's own proxy in its SensorConfiguration.json (atp_proxy_sensor_proxy_url",
     "win_wininet_proxy"),
    (seed_v2_gone_proxy, "The proxy http://gone.corp:3128 could not be reached: check its address in the sensor's "
                         "SensorConfiguration.json (atp_proxy_sensor_proxy_url)", "WinINet"),
    (seed_machine_wide, "The proxy gone.corp:3128 could not be reached: check its address in the machine-wide WinINet "
                        "value (ProxySettingsPerUser=0)", "WinINet settings of"),
    (seed_v3, "set the sensor v3's proxy where Defender for Endpoint reads it, TelemetryProxyServer "
              "(atp_proxy_sensor_proxy_url", "win_wininet_proxy"),
], ids=["v2-no-proxy", "v2-own-proxy-down", "machine-wide", "v3"])
def test_hints_name_the_setting_the_host_uses(lab, seed, wanted, unwanted):
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    seed(host)
    run = lab.run_playbook(CHECK, extra_vars=PROBE)
    found = hints(run)
    # the accounts the sensor connects as: a v3 sensor runs inside SENSE, as LocalSystem only
    expected = ["SYSTEM"] if seed is seed_v3 else ["LocalService", "SYSTEM"]
    assert sorted(found) == expected and all(found[a] for a in expected), found
    for account, texts in found.items():
        assert all(wanted in t and unwanted not in t for t in texts), (account, texts)
    assert wanted in line(run)


def test_a_proxy_that_does_not_answer_is_named_with_its_port_before_a_pending_change(lab):
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    host.seed({"SYSTEM": {"proxy_server": "old.corp:3128"}, "LocalService": {"proxy_server": "old.corp:3128"}})
    run = lab.run_playbook(CONFIGURE, extra_vars=PROBE, check=True)
    assert run.rc == 0, run.stdout[-3000:]
    for account, sid in (("LocalService", "S-1-5-19"), ("SYSTEM", "S-1-5-18")):
        assert hints(run)[account][0] == (
            "The proxy old.corp:3128 could not be reached: check its address in the WinINet settings of %s (%s) and "
            "the firewall between this host and the proxy." % (account, sid)), hints(run)[account]
    assert "before the pending change" in line(run)


def test_the_workspace_the_sensor_talks_to_is_probed_and_a_difference_named(lab, tmp_path):
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    ss.seed_v2_sensor(host, workspace="fabrikam")
    report = tmp_path / "report"
    run = lab.run_playbook(CHECK, extra_vars=dict(PROBE, atp_proxy_report_dir=str(report)))
    assert run.rc == 0, run.stdout[-3000:]
    warning = ("atp_proxy_workspace is %s, but this sensor's SensorConfiguration.json points at "
               "fabrikamsensorapi.atp.azure.com (workspace fabrikam): the sensor talks to fabrikam, so that is the "
               "workspace probed" % WORKSPACE_NAME)
    text = line(run)
    assert "warning: " + warning in text, text
    probed = [r for r in run.results if r["task"].endswith("Probe the Defender endpoints as each service account")]
    urls = {x["url"] for item in probed[-1]["result"]["accounts"] for x in item["results"]}
    assert urls == {PING % "fabrikam"}, urls
    page = Page((report / "atp_proxy_report.html").read_text())
    assert any(warning in c["text"] for c in page.causes), page.causes


@pytest.mark.parametrize("check", [False, True], ids=["drift-check", "configure-check-mode"])
def test_a_probe_through_the_sensor_proxy_a_pending_change_replaces_is_amber(lab, tmp_path, check):
    """A review found a host whose own sensor proxy was about to be rewritten shown red, while a WinINet account
    about to be written is amber: the probe went through the proxy the pending change replaces."""
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    seed_v2_gone_proxy(host)
    report = tmp_path / "report"
    variables = dict(PROBE, atp_proxy_sensor_proxy_url="http://proxy.corp:8080", atp_proxy_report_dir=str(report))
    run = lab.run_playbook(CONFIGURE if check else CHECK, extra_vars=variables, check=check)
    assert run.rc == 0, run.stdout[-3000:]
    assert "UNREACHABLE (proxy_unreachable" in line(run) and ", before the pending change)" in line(run), line(run)
    markdown = (report / "atp_proxy_report.md").read_text()
    title = "while the account is drifted" if not check else "before the pending change"
    assert "proxy unreachable, %s" % title in markdown, markdown[-3000:]

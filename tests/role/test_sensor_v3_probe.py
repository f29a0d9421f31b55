# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe of a sensor v3 host, end to end with real ansible-playbook on the lab: what the admin sees.

* The identity channel, as the DefenderForIdentity module's Test-MDISensorApiConnection tests it on a v3 host:
  ``<geoLocationUrl>cnc/identity/api`` (the geoLocationUrl of the host's OnboardingInfo), through Defender for
  Endpoint's proxy, HTTP 500 counted as reachable; blocked by the proxy, it is a clear outcome with the fix.
* Defender for Endpoint's fallback: with its static proxy unreachable and direct egress open, the host's line, the
  fleet summary (set_stats) and the fleet report say ``works only direct`` with the fix, never reachable.
"""

from __future__ import annotations

import json
import socket

import pytest

from tests.lab import system_state as ss
from tests.lab.network import V3_GEO_HOST, deny_through_proxy

from .conftest import CHECK, CONFIGURE, summary_lines

pytestmark = [pytest.mark.lab, pytest.mark.network]

IDENTITY = "https://%s/cnc/identity/api" % V3_GEO_HOST
PROBE = {"atp_proxy_hosts": "dc01", "atp_proxy_probe": True, "atp_proxy_probe_include_crl": False,
         "atp_proxy_probe_accounts": ["SYSTEM"], "atp_proxy_source": "settings"}


def line(run, host="dc01") -> str:
    return next(text for text in summary_lines(run) if text.startswith(host + ":"))


def probe_results(run) -> list:
    found = [r for r in run.results if r["host"] == "dc01" and r["task"].endswith(
        "Probe the Defender endpoints as each service account")]
    assert found and found[-1]["status"] == "ok", run.stdout[-3000:]
    [account] = found[-1]["result"]["accounts"]
    return account


def fleet_stats(run) -> dict:
    found = [r for r in run.results if r["task"].endswith("Publish the summary to AWX (set_stats)")]
    assert found, "set_stats did not run"
    return found[-1]["result"]["ansible_stats"]["data"]["atp_proxy_fleet"]


def v3_through(lab, sensor_api, proxy_name: str, direct: bool = False):
    """A v3 host whose Defender for Endpoint goes through ``proxy_name``; the identity channel's host is the lab's
    sensor API, resolvable through the proxy only, or by the DC too (``direct``: open direct egress)."""
    host = lab.host("dc01")
    ss.seed_v3_sensor(host, telemetry_proxy=proxy_name, defender_proxy="http://" + proxy_name)
    lab.lab.add_dns("%s:443" % V3_GEO_HOST, "127.0.0.1:%d" % sensor_api.port, proxy_only=not direct)
    return host


def test_the_identity_channel_is_probed_through_mdes_proxy_and_its_500_is_reachable(lab, sensor_api, proxy):
    v3_through(lab, sensor_api, "proxy.corp:8080")
    run = lab.run_playbook(CHECK, extra_vars=dict(PROBE, atp_proxy_settings={"proxy_server": "proxy.corp:8080"}))
    assert run.rc == 0, run.stdout[-3000:]
    account = probe_results(run)
    by_mode = {r["mode"]: r for r in account["results"] if r["url"] == IDENTITY}
    assert (by_mode["named"]["outcome"], by_mode["named"]["status"]) == ("reachable", 500), by_mode
    assert by_mode["named"]["endpoint"] == "mdi_v3_identity"
    # the direct fallback was tested too: the DC cannot resolve the name itself, so the proxy is what works
    assert by_mode["direct"]["outcome"] == "dns_failure"
    assert account["all_reachable"] is True and account["works_only_direct"] == []
    assert "probe SYSTEM reachable" in line(run), line(run)
    # the direct results of a host that uses its proxy are information: the sensor is connected through the proxy
    assert "sensor connected? likely (sensor endpoint reachable as SYSTEM)" in line(run), line(run)
    assert any(r["path"] == "/cnc/identity/api" and r["host"].startswith(V3_GEO_HOST) for r in sensor_api.requests)


def test_a_healthy_v3_host_probed_as_the_default_accounts_is_connected_and_counts_no_failure(
        lab, sensor_api, proxy, tmp_path):
    """A review found every healthy v3 host "sensor connected? no": the direct results (dns_failure, as a host without
    direct egress should) were read as failures, and LocalService's as the sensor's (LocalSystem is SYSTEM)."""
    v3_through(lab, sensor_api, "proxy.corp:8080")
    report = tmp_path / "report"
    variables = {k: v for k, v in PROBE.items() if k != "atp_proxy_probe_accounts"}
    run = lab.run_playbook(CHECK, extra_vars=dict(variables, atp_proxy_settings={"proxy_server": "proxy.corp:8080"},
                                                  atp_proxy_report_dir=str(report)))
    assert run.rc == 0, run.stdout[-3000:]
    text = line(run)
    assert "sensor connected? likely (sensor endpoint reachable as SYSTEM)" in text, text
    stats = fleet_stats(run)
    assert stats["probe_failed"] == {} and stats["sensor_connected"]["dc01"]["connected"] == "likely", stats
    totals = stats["totals"]
    assert totals["probe_failed"] == 0 and totals["endpoints_reachable"] == totals["endpoints_probed"] > 0, totals
    markdown = next(report.glob("*.md")).read_text()
    assert "sensor not connected" not in markdown and "dns failure (information)" in markdown, markdown[-3000:]


def test_a_blocked_identity_channel_is_a_clear_outcome_with_the_fix(lab, sensor_api, proxy):
    v3_through(lab, sensor_api, "proxy.corp:8080")
    deny_through_proxy(lab.lab, V3_GEO_HOST)
    run = lab.run_playbook(CHECK, extra_vars=dict(PROBE, atp_proxy_settings={"proxy_server": "proxy.corp:8080"}))
    assert run.rc == 0, run.stdout[-3000:]
    named = next(r for r in probe_results(run)["results"] if r["url"] == IDENTITY and r["mode"] == "named")
    assert (named["outcome"], named["status"]) == ("blocked_by_proxy", 403), named
    # the rule an admin writes for Defender for Endpoint's streamlined domain
    assert named["hint"].startswith("Allow *.endpoint.security.microsoft.com on the proxy: it refused the request "
                                    "with HTTP 403")
    assert "the sensor v3's identity channel (%s" % IDENTITY in named["hint"]
    text = line(run)
    assert "probe SYSTEM UNREACHABLE (blocked_by_proxy %s: Allow *.endpoint.security.microsoft.com" % IDENTITY in text, \
        text


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_mde_proxy_with_direct_egress_open_works_only_direct(lab, sensor_api, tmp_path):
    lab.lab.add_dns("deadproxy.corp:8080", "127.0.0.1:%d" % closed_port())
    v3_through(lab, sensor_api, "deadproxy.corp:8080", direct=True)
    report = tmp_path / "report"
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(PROBE, atp_proxy_settings={"proxy_server": "deadproxy.corp:8080"},
                                                      atp_proxy_report_dir=str(report)))
    assert run.rc == 0, run.stdout[-3000:]
    account = probe_results(run)
    by_mode = {r["mode"]: r for r in account["results"] if r["url"] == IDENTITY}
    assert by_mode["named"]["outcome"] in ("proxy_unreachable", "connection_refused"), by_mode["named"]
    direct = by_mode["direct"]
    assert (direct["outcome"], direct["status"]) == ("works_only_direct", 500), direct
    assert direct["hint"].startswith("Fix the proxy http://deadproxy.corp:8080 for %s" % V3_GEO_HOST)
    assert "falls back to a direct connection" in direct["hint"]
    assert account["all_reachable"] is False and account["working_modes"] == {IDENTITY: []}
    assert [w["url"] for w in account["works_only_direct"]] == [IDENTITY]
    # the host's line
    text = line(run)
    assert "probe SYSTEM WORKS ONLY DIRECT (%s: Fix the proxy http://deadproxy.corp:8080" % IDENTITY in text, text
    assert "reachable" not in text.split("probe SYSTEM", 1)[1].split("(", 1)[0]
    # connected for now, directly (Defender for Endpoint's fallback), and said so
    assert "sensor connected? likely (sensor endpoint reached only directly as SYSTEM (%s: through the proxy " \
           % IDENTITY in text, text
    # the fleet summary AWX gets: the host's probe failed, no endpoint counted as reachable
    stats = fleet_stats(run)
    assert stats["totals"]["probe_failed"] == 1 and stats["totals"]["endpoints_reachable"] == 0, stats["totals"]
    # the fleet report: the cause, with the fix, as a warning
    markdown = next(report.glob("*.md")).read_text()
    assert "works only direct" in markdown and "Fix the proxy http://deadproxy.corp:8080" in markdown, markdown[-3000:]
    page = next(report.glob("*.html")).read_text()
    assert "direct only" in page
    fleet = json.loads(next(report.glob("*.json")).read_text())
    assert "works_only_direct" in json.dumps(fleet)


def test_accounts_given_explicitly_are_probed_on_a_v3_host_too(lab, sensor_api, proxy):
    """Empty atp_proxy_probe_accounts (the default) probes a v3 host as SYSTEM, the account its sensor connects as;
    accounts the admin names are probed as named."""
    v3_through(lab, sensor_api, "proxy.corp:8080")
    variables = dict(PROBE, atp_proxy_probe_accounts=["LocalService", "SYSTEM"],
                     atp_proxy_settings={"proxy_server": "proxy.corp:8080"})
    run = lab.run_playbook(CHECK, extra_vars=variables)
    assert run.rc == 0, run.stdout[-3000:]
    found = [r for r in run.results if r["host"] == "dc01" and r["task"].endswith(
        "Probe the Defender endpoints as each service account")]
    assert [a["account"] for a in found[-1]["result"]["accounts"]] == ["LocalService", "SYSTEM"]
    assert "sensor connected? likely (sensor endpoint reachable as SYSTEM)" in line(run), line(run)

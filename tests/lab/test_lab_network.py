# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_uri in the lab: real requests through a real proxy, as the become account."""

from __future__ import annotations

import pytest

from tests.lab.conftest import SENSOR_HOST

pytestmark = [pytest.mark.lab, pytest.mark.network]

PING = "https://%s/tri/sensor/api/ping" % SENSOR_HOST

PROBE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: probe as LocalService
      ansible.windows.win_uri:
        url: "{{ url }}"
        method: GET
        status_code: [200, 407, 503]
        follow_redirects: none
        validate_certs: true
        timeout: 10
        return_content: false
      become: true
      become_method: ansible.builtin.runas
      become_user: "{{ account | default('LocalService') }}"
      ignore_errors: true
"""


def test_localservice_goes_through_its_proxy_after_seeding(lab, sensor_api, proxy):
    # Before: LocalService has no proxy; the name only resolves via the proxy, so direct fails.
    lab.host("dc01").seed({"user": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}})
    before = lab.run_playbook(PROBE, extra_vars={"url": PING}, limit="dc01")
    res = before.result("dc01", "probe as LocalService")
    assert res["failed"] is True, before
    assert res["msg"] == ("Unhandled exception occurred when sending web request. Exception: "
                          "The remote name could not be resolved: '%s'" % SENSOR_HOST)
    assert proxy.log() == []

    # After: seed LocalService's own hive with the proxy; the request tunnels through it.
    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}})
    after = lab.run_playbook(PROBE, extra_vars={"url": PING}, limit="dc01")
    res = after.result("dc01", "probe as LocalService")
    assert not res.get("failed"), after
    assert res["status_code"] == 200
    assert res["msg"] == "OK"
    assert isinstance(res["elapsed"], float)
    assert res["url"] == PING
    assert [(r["method"], r["host"], r["port"]) for r in proxy.log()] == [("CONNECT", SENSOR_HOST, 443)]
    assert sensor_api.requests[-1]["path"] == "/tri/sensor/api/ping"


def test_root_answers_503_and_system_account_stays_direct(lab, sensor_api, proxy):
    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080"}})
    root = "https://%s/" % SENSOR_HOST
    res = lab.run_playbook(PROBE, extra_vars={"url": root}, limit="dc01").result("dc01", "probe as LocalService")
    assert res["status_code"] == 503 and res["msg"] == "Service Unavailable"
    # SYSTEM (S-1-5-18) has no proxy: same request goes direct and cannot resolve the name.
    res = lab.run_playbook(PROBE, extra_vars={"url": root, "account": "SYSTEM"}, limit="dc01").result(
        "dc01", "probe as LocalService")
    assert "could not be resolved" in res["msg"]


def test_proxy_407_is_returned_as_the_response_with_proxy_headers(lab, sensor_api, auth_proxy):
    lab.host("dc01").seed({"LocalService": {"proxy_server": "authproxy.corp:8080"}})
    run = lab.run_playbook(PROBE, extra_vars={"url": PING}, limit="dc01")
    res = run.result("dc01", "probe as LocalService")
    assert res["status_code"] == 407, run
    assert "proxy_authenticate" in res and res["proxy_authenticate"].lower().startswith("basic")
    assert sensor_api.requests == []  # the proxy refused the CONNECT; nothing reached the API


@pytest.mark.parametrize(
    "seed, url, expected",
    [
        ({"proxy_server": "nosuch.corp:8080"}, PING, "The proxy name could not be resolved: 'nosuch.corp'"),
        ({"proxy_server": "127.0.0.1:1"}, PING, "Unable to connect to the remote server"),
        (None, "https://127.0.0.1:{api_port}/tri/sensor/api/ping",
         "The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure "
         "channel."),
    ],
)
def test_failures_use_the_real_dotnet_messages(lab, sensor_api, seed, url, expected):
    if seed:
        lab.host("dc01").seed({"LocalService": seed})
    # The machine trust store is emptied, so the sensor API's certificate cannot be trusted.
    if "127.0.0.1" in url:
        lab.lab.update_config(ca_file="")
    run = lab.run_playbook(PROBE, extra_vars={"url": url.format(api_port=sensor_api.port)}, limit="dc01")
    res = run.result("dc01", "probe as LocalService")
    assert res["msg"] == "Unhandled exception occurred when sending web request. Exception: " + expected, run


def test_bypass_local_and_wildcards(lab, sensor_api, proxy):
    # <local> and *.atp.azure.com both bypass: the request goes direct and fails to resolve.
    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080", "bypass": ["*.atp.azure.com"]}})
    res = lab.run_playbook(PROBE, extra_vars={"url": PING}, limit="dc01").result("dc01", "probe as LocalService")
    assert "The remote name could not be resolved" in res["msg"]
    assert proxy.log() == []
    # Per-protocol proxy: only http= given, so https goes direct too.
    lab.host("dc01").seed({"LocalService": {"proxy_server": "http=proxy.corp:8080"}})
    res = lab.run_playbook(PROBE, extra_vars={"url": PING}, limit="dc01").result("dc01", "probe as LocalService")
    assert "The remote name could not be resolved" in res["msg"]
    lab.host("dc01").seed({"LocalService": {"proxy_server": "http=other.corp:1;https=proxy.corp:8080"}})
    res = lab.run_playbook(PROBE, extra_vars={"url": PING}, limit="dc01").result("dc01", "probe as LocalService")
    assert res["status_code"] == 200

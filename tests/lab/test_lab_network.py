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


CATALOGUE_PROBE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: probe the whole catalogue as LocalService
      atp.sensor_proxy.atp_endpoint_probe:
        workspace: "{{ workspace }}"
      become: true
      become_method: ansible.builtin.runas
      become_user: LocalService
"""


def test_crl_hosts_answer_like_the_cdn_through_the_proxy_only(lab, sensor_api, crl_server, proxy):
    from tests.lab.conftest import WORKSPACE_NAME
    from tests.lab.network import endpoints

    crl_urls = [url for dummy, url in endpoints().CRL_URLS]
    lab.host("dc01").seed({"user": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}})
    run = lab.run_playbook(CATALOGUE_PROBE, extra_vars={"workspace": WORKSPACE_NAME}, limit="dc01")
    before = run.result("dc01", "probe the whole catalogue as LocalService")
    # LocalService has no proxy: neither the sensor API nor the CRL hosts resolve from the DC.
    assert {r["url"]: r["outcome"] for r in before["results"]} == dict.fromkeys([PING] + crl_urls, "dns_failure"), run
    assert crl_server.requests == [] and proxy.log() == []

    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}})
    run = lab.run_playbook(CATALOGUE_PROBE, extra_vars={"workspace": WORKSPACE_NAME}, limit="dc01")
    after = run.result("dc01", "probe the whole catalogue as LocalService")
    assert after["all_reachable"] is True, run
    assert {r["url"]: (r["outcome"], r["status"]) for r in after["results"]} == dict.fromkeys(
        [PING] + crl_urls, ("reachable", 200))
    # Plain HTTP through the proxy (a GET with the absolute URL), as Windows fetches CRLs; the CDN got the paths.
    assert sorted((r["method"], r["host"], r["port"]) for r in proxy.log()) == sorted(
        [("CONNECT", SENSOR_HOST, 443)] + [("GET", u.split("/")[2], 80) for u in crl_urls])
    # Microsoft's list for the sensor: crl.microsoft.com, ctldl.windowsupdate.com, www.microsoft.com/pkiops/*
    # and www.microsoft.com/pki/* (ATADocs configure-proxy.md).
    assert {u.split("/")[2] + "/" + u.split("/")[3] for u in crl_urls} == {
        "crl.microsoft.com/pki", "ctldl.windowsupdate.com/msdownload", "www.microsoft.com/pkiops", "www.microsoft.com/pki"}
    assert sorted((r["host"], r["path"]) for r in crl_server.requests) == sorted(
        (u.split("/")[2], "/" + u.split("/", 3)[3]) for u in crl_urls)

    # Like the CDN: the real content type for the catalogue's files, 404 for a file that is not there.
    run = lab.run_playbook(PROBE, extra_vars={"url": crl_urls[0]}, limit="dc01")
    res = run.result("dc01", "probe as LocalService")
    assert (res["status_code"], res["content_type"]) == (200, "application/pkix-crl"), run
    run = lab.run_playbook(PROBE, extra_vars={"url": "http://crl.microsoft.com/pki/crl/products/nosuch.crl"},
                           limit="dc01")
    res = run.result("dc01", "probe as LocalService")
    assert res["failed"] is True and res["status_code"] == 404, run

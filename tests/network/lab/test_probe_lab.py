# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""via: target end to end in the emulated Windows lab (tests/lab): real ansible-playbook runs, the
lab's win_uri stand-in making real requests as the become account through that account's WinINet
proxy (a real proxy.py) to a real HTTPS sensor API."""

from __future__ import annotations

import pytest

from tests.lab.conftest import SENSOR_HOST, WORKSPACE_NAME

pytestmark = [pytest.mark.lab, pytest.mark.network]

PING = "https://%s/tri/sensor/api/ping" % SENSOR_HOST

PROBE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: probe as the service account
      atp.sensor_proxy.atp_endpoint_probe:
        workspace: "{{ workspace }}"
        include_crl: false
        expected_proxy: "{{ expected_proxy | default(omit) }}"
        fail_on_unreachable: "{{ strict | default(false) }}"
      become: true
      become_method: ansible.builtin.runas
      become_user: "{{ account | default('LocalService') }}"
      ignore_errors: true
"""
TASK = "probe as the service account"


def probe(lab, check=False, **extra):
    run = lab.run_playbook(PROBE, extra_vars=dict({"workspace": WORKSPACE_NAME}, **extra), limit="dc01", check=check)
    return run, run.result("dc01", TASK)


def test_localservice_fails_before_the_proxy_is_copied_and_is_reachable_after(lab, sensor_api, proxy):
    # The admin has a proxy; LocalService (S-1-5-19) has none: the sensor's account goes direct.
    lab.host("dc01").seed({"user": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}})
    run, before = probe(lab)
    assert before["changed"] is False and not before.get("failed"), run
    assert before["account"] == "LocalService" and before["via"] == "target"
    assert before["all_reachable"] is False
    [result] = before["results"]
    assert (result["url"], result["endpoint"], result["outcome"]) == (PING, "mdi_workspace", "dns_failure")
    assert result["proxy"] == "direct"
    assert "S-1-5-19 (LocalService)" in result["hint"]
    assert proxy.log() == []

    # Copy the proxy to LocalService: the same probe now tunnels through the real proxy.
    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}})
    run, after = probe(lab, expected_proxy="proxy.corp:8080")
    assert after["all_reachable"] is True, run
    [result] = after["results"]
    assert (result["outcome"], result["status"], result["proxy"]) == ("reachable", 200, "proxy.corp:8080")
    assert after["round_trips"] == 1
    assert [(r["method"], r["host"]) for r in proxy.log()] == [("CONNECT", SENSOR_HOST)]
    assert sensor_api.requests[-1]["path"] == "/tri/sensor/api/ping"

    # SYSTEM (S-1-5-18) still has no proxy.
    dummy, system = probe(lab, account="SYSTEM")
    assert system["account"] == "SYSTEM"
    assert system["results"][0]["outcome"] == "dns_failure"
    assert "S-1-5-18 (SYSTEM)" in system["results"][0]["hint"]


def test_check_mode_probes_too(lab, sensor_api, proxy):
    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080"}})
    run, result = probe(lab, check=True, strict=True)
    assert result["all_reachable"] is True and result["changed"] is False, run
    assert not result.get("failed")


def test_authenticating_proxy_is_proxy_auth_required(lab, sensor_api, auth_proxy):
    lab.host("dc01").seed({"LocalService": {"proxy_server": "authproxy.corp:8080"}})
    run, result = probe(lab, expected_proxy="authproxy.corp:8080")
    [entry] = result["results"]
    assert (entry["outcome"], entry["status"]) == ("proxy_auth_required", 407), run
    assert "anonymous" in entry["hint"]
    assert sensor_api.requests == []


def test_unreachable_proxy_with_expected_proxy(lab, sensor_api):
    # proxy.corp:8080 is configured but nothing listens behind it in this test.
    lab.host("dc01").seed({"LocalService": {"proxy_server": "noproxy.corp:8080"}})
    run, result = probe(lab, expected_proxy="noproxy.corp:8080")
    [entry] = result["results"]
    assert entry["outcome"] == "proxy_unreachable", (entry, run)

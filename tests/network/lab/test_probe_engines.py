# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Both target-mode engines on every lab scenario: the probe script (one win_powershell run, the default) and
win_uri (one call per URL), against the lab's real proxies (proxy.py, tinyproxy, the inspecting proxy), TLS servers,
DNS tables, WinINet per account and faults. Each lab host is one scenario; one playbook probes every host with both
engines, and every URL and mode must end with the same outcome, status and hint.

The one difference is the one the script engine exists for: it sees the certificate chain the host received, so an
inspecting proxy the host does not trust is ``tls_intercepted`` even when nobody told the probe which proxy the
account uses; win_uri can only report the trust failure then (its issuer check needs ``expected_proxy``)."""

from __future__ import annotations

import json

import pytest
import trustme

from tests.lab.conftest import SENSOR_HOST, WORKSPACE_NAME
from tests.lab.network import OLD_SENSOR_HOST, OLD_WORKSPACE_NAME, MitmProxy, deny_through_proxy, set_win_uri_fault
from tests.network import test_tinyproxy

pytestmark = [pytest.mark.lab, pytest.mark.network]

tinyproxy = test_tinyproxy.tinyproxy  # the fixture, under its name for this module's tests
PING = "https://%s/tri/sensor/api/ping" % SENSOR_HOST
PROXY = "proxy.corp:8080"
BOTH = """
- hosts: all
  gather_facts: false
  tasks:
    - name: win_uri
      atp.sensor_proxy.atp_endpoint_probe: "{{ probe_args | combine({'engine': 'win_uri'}) }}"
      become: true
      become_method: ansible.builtin.runas
      become_user: "{{ account }}"
      ignore_errors: true
    - name: script
      atp.sensor_proxy.atp_endpoint_probe: "{{ probe_args | combine({'engine': 'script'}) }}"
      become: true
      become_method: ansible.builtin.runas
      become_user: "{{ account }}"
      ignore_errors: true
"""
WS = {"workspace": WORKSPACE_NAME, "include_crl": False}


def scenarios(mitm, tiny, blackhole, closed_port) -> dict:
    """name -> (seed, probe_args, account, faults)."""
    ls = {"proxy_server": PROXY, "bypass": ["<local>"]}
    return {
        "no_proxy_catalogue": ({"LocalService": None}, {"workspace": WORKSPACE_NAME}, "LocalService", {}),
        "proxy_catalogue": ({"LocalService": ls}, {"workspace": WORKSPACE_NAME, "expected_proxy": PROXY},
                            "LocalService", {}),
        "proxy_not_told": ({"LocalService": ls}, dict(WS), "LocalService", {}),
        "auth_proxy": ({"LocalService": {"proxy_server": "authproxy.corp:8080"}},
                       dict(WS, expected_proxy="authproxy.corp:8080"), "LocalService", {}),
        "unresolvable_proxy": ({"LocalService": {"proxy_server": "nosuch.corp:8080"}}, dict(WS), "LocalService", {}),
        "closed_proxy": ({"LocalService": {"proxy_server": "127.0.0.1:%d" % closed_port}},
                         dict(WS, expected_proxy="127.0.0.1:%d" % closed_port), "LocalService", {}),
        "closed_proxy_not_told": ({"LocalService": {"proxy_server": "127.0.0.1:%d" % closed_port}}, dict(WS),
                                  "LocalService", {}),
        "silent_proxy": ({"LocalService": {"proxy_server": "127.0.0.1:%d" % blackhole}}, dict(WS, timeout=2),
                         "LocalService", {}),
        "denied_by_proxy": ({"LocalService": ls}, {"products": ["mde"], "include_crl": False, "expected_proxy": PROXY,
                                                   "mde_urls": ["https://winatp-gw-weu.microsoft.com/test"]},
                            "LocalService", {}),
        "older_workspace": ({"LocalService": ls}, {"workspace": OLD_WORKSPACE_NAME, "include_crl": False,
                                                   "expected_proxy": PROXY}, "LocalService", {}),
        "modes": ({"SYSTEM": {"proxy_server": "authproxy.corp:8080"}},
                  dict(WS, expected_proxy="authproxy.corp:8080", modes=["default", "direct", "named", "winhttp"],
                       proxy="http://" + PROXY), "SYSTEM", {}),
        "named_with_credentials": ({}, dict(WS, modes=["named"], proxy="http://authproxy.corp:8080",
                                            proxy_username="lab", proxy_password="secret"), "SYSTEM", {}),
        "named_wrong_credentials": ({}, dict(WS, modes=["named"], proxy="http://authproxy.corp:8080",
                                             proxy_username="lab", proxy_password="wrong"), "SYSTEM", {}),
        "tinyproxy_anonymous": ({"LocalService": {"proxy_server": tiny}}, dict(WS, expected_proxy=tiny),
                                "LocalService", {}),
        "tinyproxy_wrong_credentials": ({}, dict(WS, modes=["named"], proxy="http://" + tiny, proxy_username="lab",
                                                 proxy_password="nope"), "SYSTEM", {}),
        "inspecting_proxy": ({"LocalService": {"proxy_server": mitm}}, dict(WS, expected_proxy=mitm), "LocalService",
                             {}),
        "inspecting_proxy_not_told": ({"LocalService": {"proxy_server": mitm}}, dict(WS), "LocalService", {}),
        "old_tls": ({"LocalService": ls}, dict(WS, expected_proxy=PROXY), "LocalService", {"tls_max": "TLSv1"}),
        "german": ({"LocalService": None}, dict(WS, include_crl=True), "LocalService", {"language": "de-DE"}),
        "german_proxy": ({"LocalService": {"proxy_server": "nosuch.corp:8080"}}, dict(WS), "LocalService",
                         {"language": "de-DE"}),
        "become_fails": ({"LocalService": ls}, dict(WS, expected_proxy=PROXY), "LocalService",
                         {"become": "seclogon_disabled"}),
        "wpad": ({"LocalService": {"auto_detect": True}}, dict(WS), "LocalService", {}),
        "per_scheme_proxy": ({"LocalService": {"proxy_server": "http=%s" % PROXY}},
                             {"workspace": WORKSPACE_NAME, "expected_proxy": "http=%s" % PROXY}, "LocalService", {}),
        "bypassed": ({"LocalService": {"proxy_server": PROXY, "bypass": ["*.atp.azure.com"]}}, dict(WS),
                     "LocalService", {}),
    }


# What only the script engine sees: the chain of a proxy nobody named to the probe.
SCRIPT_SEES_MORE = {"inspecting_proxy_not_told": {PING: ("tls_error", "tls_intercepted")}}


@pytest.fixture
def lab(make_lab):
    return make_lab(hosts=24)


def _rows(result: dict) -> dict:
    return {(r["url"], r["mode"]): (r["outcome"], r["status"], r["hint"]) for r in result.get("results") or []}


def test_both_engines_agree_on_every_lab_scenario(lab, sensor_api, crl_server, proxy, auth_proxy, tinyproxy,  # noqa: F811
                                                  blackhole, closed_port):
    inspection = trustme.CA(organization_name="Contoso SSL Inspection")
    lab.lab.add_dns("%s:443" % OLD_SENSOR_HOST, "127.0.0.1:%d" % sensor_api.port, proxy_only=True)
    deny_through_proxy(lab.lab, "winatp-gw-weu.microsoft.com")
    with MitmProxy(inspection, lab_dir=lab.lab.dir) as mitm:
        table = scenarios(mitm.address, tinyproxy.split("//", 1)[1], blackhole, closed_port)
        assert len(table) <= len(lab.host_names)
        hosts = dict(zip(lab.host_names, table.items(), strict=False))
        (lab.dir / "host_vars").mkdir(exist_ok=True)
        for host, scenario in hosts.items():
            seed, args, account, faults = scenario[1]
            lab.host(host).seed(seed)
            for fault, value in faults.items():
                set_win_uri_fault(lab.lab, host, fault, value)
            (lab.dir / "host_vars" / ("%s.json" % host)).write_text(json.dumps({"probe_args": args,
                                                                                "account": account}))
        run = lab.run_playbook(BOTH, limit=",".join(hosts), forks=8, timeout=1200)
    assert run.rc == 0, run.stdout[-3000:]
    compared = 0
    for host, scenario in hosts.items():
        name = scenario[0]
        by_uri, by_script = run.result(host, "win_uri"), run.result(host, "script")
        win_uri, script = _rows(by_uri), _rows(by_script)
        assert win_uri and set(win_uri) == set(script), (name, by_uri, by_script)
        for key, (outcome, status, hint) in win_uri.items():
            expected = SCRIPT_SEES_MORE.get(name, {}).get(key[0])
            if expected:
                assert (outcome, script[key][0]) == expected, (name, key, by_uri, by_script)
                continue
            assert script[key] == (outcome, status, hint), (name, key, win_uri[key], script[key])
            compared += 1
        # one round trip for the whole plan, one per URL and mode before
        assert by_script["round_trips"] == 1 and by_uri["round_trips"] == len(win_uri), name
    assert compared >= 40
    outcomes = {o for host in hosts for (o, dummy, dummy2) in _rows(run.result(host, "script")).values()}
    assert outcomes >= {"reachable", "dns_failure", "proxy_unreachable", "proxy_auth_required", "blocked_by_proxy",
                        "timeout", "tls_intercepted", "tls_error", "become_failed", "unknown", "connection_refused"}

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""atp_endpoint_probe, via: target, engine win_uri, driven with recorded ansible.windows.win_uri results (the
default engine, the probe script, is in test_atp_endpoint_probe_script.py).

Shapes: ansible.windows 3.3.0 ``plugins/modules/win_uri.ps1`` (lines 49-50, 104-123, 203) and
``plugins/module_utils/WebRequest.psm1`` (lines 283-312, 469-511); see test_probe_target.py for the details.
"""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.atp.sensor_proxy.plugins.action import atp_endpoint_probe as action_mod
from ansible_collections.atp.sensor_proxy.plugins.action.atp_endpoint_probe import ActionModule
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _issuer as issuer_mod
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.probe import UriHost as FakeHost

from .harness import build_action

PING = "https://contososensorapi.atp.azure.com/tri/sensor/api/ping"
CRLS = [
    "http://crl.microsoft.com/pki/crl/products/MicRooCerAut2011_2011_03_22.crl",
    "http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/authrootstl.cab",
    "http://www.microsoft.com/pkiops/crl/Microsoft%20Azure%20RSA%20TLS%20Issuing%20CA%2003.crl",
    "http://www.microsoft.com/pki/certs/MicRooCerAut2011_2011_03_22.crt",
]
PREFIX = "Unhandled exception occurred when sending web request. Exception: "
SECRET = "Pr0xy:P@ss/%"


def ok(url, status=200, msg="OK", **headers):
    return dict({"changed": False, "elapsed": 0.1, "url": url, "status_code": status, "msg": msg, "method": "GET"},
                **headers)


def boom(url, message):
    return {"changed": False, "failed": True, "elapsed": 0.02, "url": url, "msg": PREFIX + message}


def run(args, host, **kwargs):
    kwargs.setdefault("remote_user", "CORP\\ansible")
    if args.get("via", "target") == "target":
        args = dict({"engine": "win_uri"}, **args)
    plugin = build_action(ActionModule, args, host, **kwargs)
    return plugin.run(task_vars={"inventory_hostname": "dc01"})


ALL_OK = dict({PING: ok(PING)}, **{u: ok(u, 404, "Not Found") for u in CRLS})


@pytest.fixture(autouse=True)
def issuer_check(monkeypatch, tmp_path):
    """The controller-side issuer check, with a recorded answer instead of a network connection."""
    seen = []

    def peek(host, port, **kwargs):
        seen.append((host, port, kwargs.get("proxy")))
        return seen_answer["issuer"], seen_answer["why"]

    seen_answer = {"issuer": "CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1,O=DigiCert Inc,C=US", "why": None}
    monkeypatch.setattr(issuer_mod, "peek_issuer", peek)
    monkeypatch.setattr(action_mod.C, "DEFAULT_LOCAL_TMP", str(tmp_path / "run-tmp"))
    return {"seen": seen, "answer": seen_answer}


def test_one_win_uri_per_url_with_the_contract_arguments():
    host = FakeHost(ALL_OK)
    result = run({"workspace": "contoso", "timeout": 7}, host, become_user="LocalService")
    assert not result.get("failed") and result["changed"] is False
    assert result["all_reachable"] is True and result["failing"] == []
    assert result["via"] == "target" and result["account"] == "LocalService"
    assert result["ran_as"] is None  # win_uri returns no identity: nobody can say whom it ran as
    assert result["round_trips"] == 5 == len(host.calls)
    assert [r["outcome"] for r in result["results"]] == ["reachable"] * 5
    assert [r["endpoint"] for r in result["results"]] == ["mdi_workspace", "crl_microsoft", "crl_ctldl", "crl_pkiops",
                                                          "crl_pki"]
    assert {r["mode"] for r in result["results"]} == {"default"}
    dummy, args = host.calls[0]
    assert args == {
        "url": PING,
        "method": "GET",
        "status_code": list(range(100, 600)),
        "follow_redirects": "none",
        "validate_certs": True,
        "timeout": 7,
        "return_content": False,
    }
    # no proxy known: the issuer check has nothing to look through, and says so
    assert result["results"][0]["tls_inspection"] == "unknown"
    assert "pass expected_proxy" in result["results"][0]["tls_inspection_detail"]


def test_localservice_without_proxy_gets_a_hint_to_copy_it():
    host = FakeHost(dict(ALL_OK, **{PING: boom(PING, "The remote name could not be resolved: 'contososensorapi.atp.azure.com'")}))
    result = run({"workspace": "contoso"}, host, become_user="LocalService")
    assert result["all_reachable"] is False and not result.get("failed")
    [failing] = result["failing"]
    assert failing["outcome"] == "dns_failure" and failing["url"] == PING
    assert "LocalService (S-1-5-19)" in failing["hint"]
    assert result["results"][0]["proxy"] == "direct"


def test_fail_on_unreachable_lists_each_failing_url():
    host = FakeHost(dict(ALL_OK, **{
        PING: ok(PING, 407, "Proxy Authentication Required", proxy_authenticate="NTLM", method="CONNECT"),
        CRLS[0]: boom(CRLS[0], "Unable to connect to the remote server"),
    }))
    result = run({"workspace": "contoso", "fail_on_unreachable": True, "expected_proxy": "proxy.corp:8080"}, host)
    assert result["failed"] is True
    assert result["msg"] == ("2 of 5 endpoint(s) not reachable: %s (proxy_auth_required); %s (proxy_unreachable)"
                             % (PING, CRLS[0]))
    assert result["account"] == "CORP\\ansible"
    assert {r["proxy"] for r in result["results"]} == {"proxy.corp:8080"}


def test_trusted_inspection_is_seen_by_the_controller_check(issuer_check):
    # The DC trusts the inspection CA (GPO): win_uri gets 200. The controller looks through the same proxy.
    issuer_check["answer"]["issuer"] = "CN=Contoso SSL Inspection CA,O=Contoso"
    host = FakeHost(ALL_OK)
    result = run({"workspace": "contoso", "include_crl": False, "expected_proxy": "proxy.corp:8080"}, host,
                 become_user="LocalService")
    [entry] = result["results"]
    assert (entry["status"], entry["outcome"], entry["tls_inspection"]) == (200, "tls_intercepted", "intercepted")
    assert entry["tls_issuer"] == "CN=Contoso SSL Inspection CA,O=Contoso"
    assert "through http://proxy.corp:8080" in entry["tls_inspection_detail"]
    assert "'Microsoft', 'DigiCert'" in entry["hint"]
    assert issuer_check["seen"] == [("contososensorapi.atp.azure.com", 443, "proxy.corp:8080")]
    # A second task of the same run (same DEFAULT_LOCAL_TMP): the answer comes from the cache.
    run({"workspace": "contoso", "include_crl": False, "expected_proxy": "proxy.corp:8080"}, FakeHost(ALL_OK))
    assert len(issuer_check["seen"]) == 1


def test_genuine_issuer_is_not_intercepted(issuer_check):
    host = FakeHost(ALL_OK)
    result = run({"workspace": "contoso", "include_crl": False, "expected_proxy": "proxy.corp:8080"}, host)
    [entry] = result["results"]
    assert (entry["outcome"], entry["tls_inspection"]) == ("reachable", "not intercepted")
    off = run({"workspace": "contoso", "include_crl": False, "expected_proxy": "proxy.corp:8080",
               "tls_inspection_check": False}, FakeHost(ALL_OK))
    assert off["results"][0]["tls_inspection"] == "unknown"
    assert "tls_inspection_check: false" in off["results"][0]["tls_inspection_detail"]


def test_modes_default_direct_named_and_the_untestable_ones():
    host = FakeHost({PING: {"by_mode": {
        "default": ok(PING, 407, "Proxy Authentication Required", proxy_authenticate="Basic", method="CONNECT"),
        "direct": boom(PING, "The remote name could not be resolved: 'contososensorapi.atp.azure.com'"),
        "named": ok(PING),
    }}})
    result = run({"workspace": "contoso", "include_crl": False, "modes": ["default", "direct", "named", "winhttp", "wpad"],
                  "proxy": "http://svc:%s@named.corp:3128" % SECRET.replace("%", "%25").replace("/", "%2F")
                  .replace("@", "%40").replace(":", "%3A")},
                 host, become_user="SYSTEM")
    assert [c[1].get("use_proxy", True) for c in host.calls] == [True, False, True]
    assert host.calls[2][1]["proxy_url"] == "http://named.corp:3128"
    assert (host.calls[2][1]["proxy_username"], host.calls[2][1]["proxy_password"]) == ("svc", SECRET)
    assert [(r["mode"], r["outcome"]) for r in result["results"]] == [
        ("default", "proxy_auth_required"), ("direct", "dns_failure"), ("named", "reachable")]
    assert result["working_modes"] == {PING: ["named"]}
    assert result["all_reachable"] is True
    assert [n["mode"] for n in result["not_tested"]] == ["winhttp", "wpad"]
    assert "WinINet" in result["not_tested"][0]["why"]
    assert result["round_trips"] == 3
    assert SECRET not in json.dumps(result, default=str)


def test_named_mode_without_proxy_is_not_tested():
    host = FakeHost(ALL_OK)
    result = run({"workspace": "contoso", "include_crl": False, "modes": ["default", "named"]}, host)
    why = "not tested: mode 'named' needs the proxy option (the named proxy, win_uri proxy_url)"
    assert result["not_tested"] == [{"mode": "named", "why": why}]
    assert len(host.calls) == 1


@pytest.mark.parametrize("become_user, needle", [
    ("S-1-5-19", "use 'LocalService'"),
    ("LocalSystem", "use 'SYSTEM'"),
    ("s-1-5-18", "use 'SYSTEM'"),
])
def test_become_users_runas_cannot_use_are_refused_before_any_call(become_user, needle):
    host = FakeHost(ALL_OK)
    result = run({"workspace": "contoso"}, host, become_user=become_user)
    assert result["failed"] is True and "become_user" in result["msg"] and needle in result["msg"]
    assert host.calls == [] and result["round_trips"] == 0


def test_a_domain_become_user_is_left_to_runas():
    result = run({"workspace": "contoso", "include_crl": False}, FakeHost(ALL_OK), become_user="CORP\\svc-probe")
    assert not result.get("failed") and result["account"] == "CORP\\svc-probe"


def test_become_failure_is_become_failed():
    record = ('Exception calling "CreateProcessAsUser" with "9" argument(s): "CreateProcessWithTokenW() failed (The '
              'service cannot be started, either because it is disabled or because it has no enabled devices '
              'associated with it, Win32ErrorCode 1058)"')
    host = FakeHost({PING: {"failed": True, "msg": "failure during exec_wrapper: " + record}})
    result = run({"workspace": "contoso", "include_crl": False}, host, become_user="LocalService")
    [entry] = result["results"]
    assert (entry["outcome"], entry["cause"]) == ("become_failed", "secondary_logon")
    assert "Secondary Logon" in entry["hint"]


def test_check_mode_probes_all_the_same_and_changes_nothing():
    host = FakeHost(ALL_OK)
    result = run({"workspace": "contoso"}, host, check_mode=True)
    assert result["changed"] is False and result["all_reachable"] is True and result["check_mode"] is True
    assert len(host.calls) == 5  # win_uri is read-only and supports check mode


def test_reports_are_written_on_the_controller(tmp_path):
    host = FakeHost(ALL_OK)
    result = run(
        {"workspace": "contoso", "report_json": str(tmp_path / "p.json"), "report_junit": str(tmp_path / "p.xml")}, host
    )
    assert result["report_json"] == str(tmp_path / "p.json")
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["hosts"]["dc01"]["results"][0]["url"] == PING
    assert "<testsuite name=\"dc01\"" in (tmp_path / "p.xml").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        ({"workspace": "contoso", "proxy": "http://proxy:8080"}, "only used by mode 'named'"),
        ({"workspace": "contoso", "ca_path": "/x.pem"}, "ca_path: only used with via=controller"),
        ({"via": "controller", "workspace": "contoso", "expected_proxy": "p:1"}, "expected_proxy: only used with via=target"),
        ({"via": "controller", "workspace": "contoso", "modes": ["direct"]}, "modes: only used with via=target"),
        ({"via": "controller", "workspace": "contoso", "engine": "win_uri"}, "engine: only used with via=target"),
        ({"products": ["mde"], "mde_urls": ["https://*.ods.opinsights.azure.com"]}, "wildcards cannot be probed"),
        ({"workspace": "contoso", "modes": ["named"], "proxy": "http://u:s3cr3t-pw@p:1", "proxy_username": "u"},
         "credentials are given both in the proxy URL and in proxy_username"),
        # An empty fragment is in every issuer's name: any inspecting proxy's certificate passed for genuine.
        ({"workspace": "contoso", "expected_issuers": ["Microsoft", " "]}, "expected_issuers: entry 2 is empty"),
        ({"via": "controller", "workspace": "contoso", "expected_issuers": ["", "DigiCert"]},
         "expected_issuers: entry 1 is empty"),
    ],
)
def test_usage_errors(args, message):
    host = FakeHost(ALL_OK)
    result = run(args, host)
    assert result["failed"] is True and message in result["msg"]
    assert host.calls == []


def test_bad_option_type_is_a_failure_naming_it_and_nothing_else():
    # ansible-core's validate_argument_spec raises AnsibleActionFail with obj=the task's arguments, which 2.19 prints
    # in full, no_log options too: the task fails with the message alone, the password masked.
    host = FakeHost(ALL_OK)
    result = run({"workspace": "contoso", "via": "satellite", "proxy": "http://ops:Zq-SECRET@proxy.corp:8080",
                  "proxy_password": "Pw-SECRET"}, host)
    assert result["failed"] is True and "via" in result["msg"] and "satellite" in result["msg"]
    assert "SECRET" not in str(result) and result["round_trips"] == 0 and host.calls == []


def test_unreachable_host_is_reported_unreachable():
    host = FakeHost(dict(ALL_OK, **{PING: AnsibleConnectionFailure("winrm: connection refused")}))
    result = run({"workspace": "contoso"}, host)
    assert result["unreachable"] is True and "connection refused" in result["msg"]


def test_password_is_no_log_and_the_spec_comes_from_the_docs():
    spec = ActionModule.argument_spec()
    assert spec["proxy_password"]["no_log"] is True
    assert spec["via"] == {"type": "str", "default": "target", "choices": ["target", "controller"]}
    assert spec["modes"]["choices"] == ["default", "direct", "named", "winhttp", "wpad"]
    assert spec["engine"] == {"type": "str", "default": "script", "choices": ["script", "win_uri"]}
    assert not hasattr(action_mod, "argument_spec_from_doc")

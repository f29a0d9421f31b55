# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""atp_endpoint_probe, via: target, driven with recorded ansible.windows.win_uri results.

Shapes: ansible.windows 3.3.0 ``plugins/modules/win_uri.ps1`` (lines 46-47, 102-121, 204) and
``plugins/module_utils/WebRequest.psm1`` (lines 469-500); see test_probe.py for the details.
"""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure

from ansible_collections.atp.sensor_proxy.plugins.action.atp_endpoint_probe import ARGUMENT_SPEC, ActionModule

from .harness import build_action

PING = "https://contososensorapi.atp.azure.com/tri/sensor/api/ping"
CRL = "http://crl.microsoft.com/pki/crl/products/MicRooCerAut2011_2011_03_22.crl"
CTL = "http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/authrootstl.cab"
PREFIX = "Unhandled exception occurred when sending web request. Exception: "


def ok(url, status=200, msg="OK", **headers):
    return dict({"changed": False, "elapsed": 0.1, "url": url, "status_code": status, "msg": msg}, **headers)


def boom(url, message):
    return {"changed": False, "failed": True, "elapsed": 0.02, "url": url, "msg": PREFIX + message}


class FakeHost:
    """Answers win_uri per URL, like one Windows host; records every module call."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, module_name=None, module_args=None, task_vars=None, **dummy):
        assert module_name == "ansible.windows.win_uri", "always call remote modules by FQCN"
        self.calls.append((module_name, dict(module_args)))
        answer = self.answers[module_args["url"]]
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)


def make_plugin(args, host, check_mode=False, become_user=None, remote_user="CORP\\ansible"):
    return build_action(ActionModule, args, host, check_mode=check_mode, become_user=become_user,
                        remote_user=remote_user)


def run(args, host, **kwargs):
    return make_plugin(args, host, **kwargs).run(task_vars={"inventory_hostname": "dc01"})


ALL_OK = {PING: ok(PING), CRL: ok(CRL, 404, "Not Found"), CTL: ok(CTL)}


def test_one_win_uri_per_url_with_the_contract_arguments():
    host = FakeHost(ALL_OK)
    result = run({"workspace": "contoso", "timeout": 7}, host, become_user="LocalService")
    assert not result.get("failed") and result["changed"] is False
    assert result["all_reachable"] is True and result["failing"] == []
    assert result["via"] == "target" and result["account"] == "LocalService"
    assert result["round_trips"] == 3 == len(host.calls)
    assert [r["outcome"] for r in result["results"]] == ["reachable"] * 3
    assert [r["endpoint"] for r in result["results"]] == ["mdi_workspace", "crl_microsoft", "crl_ctldl"]
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


def test_localservice_without_proxy_gets_a_hint_to_copy_it():
    host = FakeHost(dict(ALL_OK, **{PING: boom(PING, "The remote name could not be resolved: 'contososensorapi.atp.azure.com'")}))
    result = run({"workspace": "contoso"}, host, become_user="LocalService")
    assert result["all_reachable"] is False and not result.get("failed")
    [failing] = result["failing"]
    assert failing["outcome"] == "dns_failure" and failing["url"] == PING
    assert "S-1-5-19 (LocalService)" in failing["hint"]
    assert result["results"][0]["proxy"] == "direct"


def test_fail_on_unreachable_lists_each_failing_url():
    host = FakeHost(
        {
            PING: ok(PING, 407, "Proxy Authentication Required", proxy_authenticate="NTLM"),
            CRL: boom(CRL, "Unable to connect to the remote server"),
            CTL: ok(CTL),
        }
    )
    result = run({"workspace": "contoso", "fail_on_unreachable": True, "expected_proxy": "proxy.corp:8080"}, host)
    assert result["failed"] is True
    assert result["msg"] == "2 of 3 endpoint(s) not reachable: %s (proxy_auth_required); %s (proxy_unreachable)" % (PING, CRL)
    assert result["account"] == "CORP\\ansible"
    assert {r["proxy"] for r in result["results"]} == {"proxy.corp:8080"}


def test_check_mode_probes_all_the_same_and_changes_nothing():
    host = FakeHost(ALL_OK)
    result = run({"workspace": "contoso"}, host, check_mode=True)
    assert result["changed"] is False and result["all_reachable"] is True
    assert len(host.calls) == 3  # win_uri is read-only and supports check mode


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
        ({"workspace": "contoso", "proxy": "http://proxy:8080"}, "proxy: only used with via=controller"),
        ({"workspace": "contoso", "ca_path": "/x.pem"}, "ca_path: only used with via=controller"),
        ({"via": "controller", "workspace": "contoso", "expected_proxy": "p:1"}, "expected_proxy: only used with via=target"),
        ({"products": ["mde"], "mde_urls": ["https://*.ods.opinsights.azure.com"]}, "wildcards cannot be probed"),
    ],
)
def test_usage_errors(args, message):
    host = FakeHost(ALL_OK)
    result = run(args, host)
    assert result["failed"] is True and message in result["msg"]
    assert host.calls == []


def test_bad_option_type_is_an_action_failure():
    with pytest.raises(AnsibleActionFail):
        run({"workspace": "contoso", "via": "satellite"}, FakeHost(ALL_OK))


def test_unreachable_host_propagates():
    host = FakeHost(dict(ALL_OK, **{PING: AnsibleConnectionFailure("winrm: connection refused")}))
    with pytest.raises(AnsibleConnectionFailure):
        run({"workspace": "contoso"}, host)


def test_password_is_no_log_in_the_spec():
    assert ARGUMENT_SPEC["proxy_password"]["no_log"] is True
    assert ARGUMENT_SPEC["via"] == {"type": "str", "default": "target", "choices": ["target", "controller"]}

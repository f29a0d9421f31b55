# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""atp_endpoint_probe's ``plan``: the job's result (its ``probe``) passed whole gives the probe the options the role's
probe task used to template one by one, the expected proxy of the account it runs as included; the task's own
options win; a plan naming anything else is refused, naming it, before anything runs on the host."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from ansible_collections.atp.sensor_proxy.plugins.action import atp_endpoint_probe as probe_action
from ansible_collections.atp.sensor_proxy.plugins.action.atp_proxy_job import ActionModule as JobAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._result import ProbeResult
from tests.lab import state, system_state

from .harness import build_action
from .lab_executor import LabExecutor

PROXY = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
OLD = {"proxy_server": "old-proxy.corp:3128", "bypass": ["<local>"]}
SENSOR_PASSWORD = "Pr0xy-S3cret!"


def job_result(tmp_path, values: dict, seed=None, sensor=None) -> dict:
    """The real job on one emulated host (the lab's stand-in modules), probing on; ``sensor``: a v2 sensor installed
    with this proxy setting ({url, username, password})."""
    lab = state.Lab.create(tmp_path / "lab", hosts=1)
    if sensor:
        system_state.seed_v2_sensor(lab.host("dc01"), proxy=sensor, workspace="contoso")
    for account, settings in (seed or {"user": PROXY}).items():
        lab.host("dc01").set_proxy(account, settings)
    host = LabExecutor(lab, "dc01")

    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        return host(module_name, dict(module_args or {}, _ansible_check_mode=False))

    job = build_action(JobAction, {}, execute_module)
    job._templar = MagicMock(template=lambda value: value)
    result = job.run(task_vars=dict(values, inventory_hostname="dc01", atp_proxy_probe=True))
    assert not result.get("failed"), result.get("msg")
    return result


def probe_args(monkeypatch, args: dict, become_user="LocalService", calls=None) -> tuple:
    """The options atp_endpoint_probe validated and handed to the probe (``probe_endpoints`` is replaced, so nothing
    runs; the last call's, and each call's in ``calls``), and the task's result."""
    seen = {}

    def probe_endpoints(validated, execute, **kwargs):
        seen.clear()
        seen.update(validated)
        if calls is not None:
            calls.append((kwargs["account"], dict(validated)))
        return ProbeResult([], "target", kwargs["account"], 0.1)

    monkeypatch.setattr(probe_action.probe, "probe_endpoints", probe_endpoints)
    action = build_action(probe_action.ActionModule, args, MagicMock(), become_user=become_user)
    return seen, action.run(task_vars={"inventory_hostname": "dc01"})


def the_twenty_arguments(**changed) -> dict:
    """What roles/atp_proxy/tasks/probe.yml passed before the plan, for the role's defaults with
    atp_proxy_workspace: contoso on a host whose accounts end up with proxy.corp:8080 (its templates, evaluated)."""
    args = {"via": "target", "products": ["mdi"], "cloud": "commercial", "workspace": "contoso", "regions": [],
            "urls": [], "mde_urls": [], "mde_sets": [], "include_crl": True, "include_azure_pki": False,
            "modes": ["default"], "proxy_source": "wininet_per_account", "direct_fallback": False, "engine": "script",
            "tls_inspection_check": True, "timeout": 10, "validate_certs": True, "fail_on_unreachable": False,
            "expected_proxy": "proxy.corp:8080"}
    args.update(changed)
    return {k: v for k, v in args.items() if v is not None}


@pytest.mark.parametrize("account", ["LocalService", "SYSTEM"])
def test_the_plan_gives_the_probe_what_the_twenty_arguments_gave(tmp_path, monkeypatch, account):
    result = job_result(tmp_path, {"atp_proxy_workspace": "contoso"})
    # The task probes as the one account here (the plan's own accounts are both: see the next test).
    from_plan, outcome = probe_args(monkeypatch, {"via": "target", "plan": result["probe"], "accounts": [account],
                                                  "fail_on_unreachable": False}, become_user=account)
    assert not outcome.get("failed"), outcome.get("msg")
    by_hand, dummy = probe_args(monkeypatch, the_twenty_arguments(), become_user=account)
    assert from_plan == by_hand
    assert from_plan["expected_proxy"] == "proxy.corp:8080" and from_plan["workspace"] == "contoso"


def test_each_account_gets_its_own_expected_proxy_in_a_drift_report(tmp_path, monkeypatch):
    # A drift report writes nothing: LocalService keeps its old proxy, SYSTEM has none (direct).
    result = job_result(tmp_path, {"atp_proxy_workspace": "contoso", "atp_proxy_mode": "check"},
                        seed={"user": PROXY, "LocalService": OLD})
    assert result["probe"]["expected_proxies"]["S-1-5-19"] == "old-proxy.corp:3128"
    # The plan names whom to probe as (atp_proxy_probe_accounts): one task probes each, with its own expected proxy.
    assert result["probe"]["accounts"] == ["LocalService", "SYSTEM"]
    calls = []
    dummy, outcome = probe_args(monkeypatch, {"via": "target", "plan": result["probe"]}, calls=calls)
    assert [a["account"] for a in outcome["accounts"]] == ["LocalService", "SYSTEM"]
    # SYSTEM has no value of its own: what it uses is not known in advance, so none is expected (as before the plan).
    assert result["probe"]["expected_proxies"]["S-1-5-18"] == ""
    assert [(account, args["expected_proxy"]) for account, args in calls] == [
        ("LocalService", "old-proxy.corp:3128"), ("SYSTEM", None)]
    # The task's own accounts win over the plan's; an account the job knows nothing about (a domain account, with the
    # task's own become_user) gets none, as the expected_proxy filter gave ''.
    calls = []
    probe_args(monkeypatch, {"via": "target", "plan": result["probe"], "accounts": ["SYSTEM"]}, calls=calls)
    assert [account for account, dummy in calls] == ["SYSTEM"]
    assert probe_args(monkeypatch, {"via": "target", "plan": dict(result["probe"], accounts=None)},
                      "CORP\\svc-mdi")[0]["expected_proxy"] is None


def test_the_sensor_config_route_and_its_password_apart(tmp_path, monkeypatch):
    # A sensor already on its own proxy, with a user: the probe goes through that proxy, named, as the sensor does.
    result = job_result(tmp_path, {
        "atp_proxy_workspace": "contoso", "atp_proxy_method": "sensor_config",
        "atp_proxy_sensor_proxy_url": "http://proxy.corp:8080", "atp_proxy_sensor_proxy_username": "svc-probe",
        "atp_proxy_sensor_proxy_password": SENSOR_PASSWORD},
        sensor={"url": "http://proxy.corp:8080", "username": "svc-probe", "password": SENSOR_PASSWORD})
    probe = result["probe"]
    assert probe["proxy_password_given"] is True and SENSOR_PASSWORD not in repr(result)
    seen, outcome = probe_args(monkeypatch, {"via": "target", "plan": probe, "proxy_password": SENSOR_PASSWORD})
    assert not outcome.get("failed"), outcome.get("msg")
    assert (seen["modes"], seen["proxy"], seen["proxy_username"], seen["proxy_source"]) == (
        ["named"], "http://proxy.corp:8080", "svc-probe", "sensor_config")
    assert seen["proxy_password"] == SENSOR_PASSWORD


def test_the_task_wins_over_the_plan(tmp_path, monkeypatch):
    probe = job_result(tmp_path, {"atp_proxy_workspace": "contoso"})["probe"]
    seen, dummy = probe_args(monkeypatch, {"via": "target", "plan": probe, "timeout": 30, "expected_proxy": "direct",
                                           "include_crl": False})
    assert (seen["timeout"], seen["expected_proxy"], seen["include_crl"]) == (30, "direct", False)
    assert seen["workspace"] == "contoso"


def test_without_a_plan_nothing_changes(monkeypatch):
    seen, outcome = probe_args(monkeypatch, {"workspace": "contoso"})
    assert not outcome.get("failed") and seen["workspace"] == "contoso" and seen["expected_proxy"] is None
    assert seen["timeout"] == 10 and seen["modes"] == ["default"]


@pytest.mark.parametrize("bad, named", [
    ({"workspace": "contoso", "color": "blue"}, "plan: color is no option"),
    ({"workspace": "contoso", "proxy_password": SENSOR_PASSWORD}, "plan: proxy_password is no option"),
    ({"workspace": "contoso", "via": "controller"}, "plan: via is no option"),
    ({"workspace": "contoso", "expected_proxies": ["proxy.corp:8080"]}, "plan.expected_proxies: a dict"),
])
def test_a_plan_naming_anything_else_is_refused_before_anything_runs(monkeypatch, bad, named):
    seen, outcome = probe_args(monkeypatch, {"via": "target", "plan": bad})
    assert outcome["failed"] is True and named in outcome["msg"] and seen == {}
    assert outcome["round_trips"] == 0 and SENSOR_PASSWORD not in repr(outcome)


def test_a_plan_that_is_not_a_dict_is_refused(monkeypatch):
    seen, outcome = probe_args(monkeypatch, {"via": "target", "plan": "contoso"})
    assert outcome["failed"] is True and seen == {}
    assert "plan: a dict, the probe plan of an atp.sensor_proxy.atp_proxy_job result" in outcome["msg"]


def test_a_plan_value_of_the_wrong_type_fails_naming_the_option(monkeypatch):
    # As any option of the wrong type: the module's own validation names it (Ansible reports the task failed).
    seen, result = probe_args(monkeypatch, {"via": "target", "plan": {"workspace": "contoso", "timeout": "soon"}})
    assert result["failed"] is True and "argument 'timeout' is of type str" in result["msg"], result
    assert seen == {}  # the probe never ran


@pytest.mark.parametrize("account, expected", [
    ("LocalService", "a:80"), ("NT AUTHORITY\\LocalService", "a:80"), ("S-1-5-19", "a:80"), ("SYSTEM", "b:80"),
    ("NetworkService", ""), ("CORP\\someone", ""), (None, ""),
])
def test_expected_proxy_names_the_account_by_its_sid(account, expected):
    assert accounts.expected_proxy({"S-1-5-19": "a:80", "S-1-5-18": "b:80"}, account) == expected


def test_under_the_machine_wide_policy_every_account_gets_the_machine_value():
    assert accounts.expected_proxy({"HKLM": "m:8080"}, "LocalService") == "m:8080"
    assert accounts.expected_proxy({"HKLM": "m:8080"}, "NetworkService") == "m:8080"

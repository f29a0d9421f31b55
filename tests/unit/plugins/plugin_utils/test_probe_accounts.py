# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""atp_endpoint_probe's ``accounts`` option, its pure parts: the names checked before anything runs
(``_probe._run.check_accounts``) and each account's result combined (``_probe._result.accounts_result``). End to end,
with the lab's runas and a dropped connection: tests/network/lab/test_probe_accounts.py."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._plan import accounts as plan_accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._result import accounts_result
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._run import check_accounts


def reached(account, ok=True, trips=1):
    return {"account": account, "changed": False, "all_reachable": ok, "round_trips": trips,
            "results": [{"url": "https://x/", "outcome": "reachable" if ok else "dns_failure"}]}


def test_names_are_kept_in_order_and_a_comma_string_is_a_list():
    assert check_accounts(["SYSTEM", " LocalService"], "target", become=True) == ["SYSTEM", "LocalService"]
    assert check_accounts("LocalService, NT AUTHORITY\\SYSTEM", "target", become=True) == [
        "LocalService", "NT AUTHORITY\\SYSTEM"]
    assert check_accounts([], "target", become=False) == []  # nothing to become


@pytest.mark.parametrize("accounts,via,become,message", [
    (["LocalSystem"], "target", True, "accounts: 'LocalSystem' cannot be a become_user"),
    (["SYSTEM", "CORP\\svc"], "target", True, "accounts: 'CORP\\\\svc' is not a service account runas can become"),
    (["SYSTEM"], "target", False, "accounts: needs become: true"),
    (["SYSTEM"], "controller", True, "accounts: only used with via=target"),
    ([1], "target", True, "accounts: a list of account names"),
])
def test_bad_names_are_refused_naming_the_option(accounts, via, become, message):
    with pytest.raises(UsageError) as err:
        check_accounts(accounts, via, become=become)
    assert str(err.value).startswith(message), str(err.value)


def test_every_account_reached():
    got = accounts_result(["LocalService", "SYSTEM"], [reached("LocalService"), reached("SYSTEM")])
    assert got == {"changed": False, "accounts": [reached("LocalService"), reached("SYSTEM")], "round_trips": 2,
                   "all_reachable": True}


def test_a_failed_account_fails_the_result_naming_it_and_keeps_the_others():
    failed = dict(reached("SYSTEM", ok=False), failed=True, msg="1 URL not reachable: https://x/ dns_failure")
    got = accounts_result(["LocalService", "SYSTEM"], [reached("LocalService"), failed])
    assert got["failed"] is True and got["msg"] == "SYSTEM: 1 URL not reachable: https://x/ dns_failure"
    assert got["all_reachable"] is False and got["accounts"][0] == reached("LocalService")
    assert "unreachable" not in got


def test_a_result_without_its_account_is_named_by_the_account_it_ran_as():
    got = accounts_result(["LocalService"], [{"changed": False, "failed": True, "msg": "plan: a dict"}])
    assert got["accounts"][0]["account"] == "LocalService" and got["msg"] == "LocalService: plan: a dict"


def test_a_drop_names_the_account_and_the_accounts_never_probed():
    dropped = {"changed": False, "unreachable": True, "msg": "lab: connection dropped", "round_trips": 0}
    got = accounts_result(["LocalService", "SYSTEM", "NetworkService"], [reached("LocalService"), dropped])
    assert got["unreachable"] is True and "failed" not in got
    assert got["msg"] == "the connection dropped while probing SYSTEM: lab: connection dropped"
    assert [e["account"] for e in got["accounts"]] == ["LocalService", "SYSTEM", "NetworkService"]
    assert got["accounts"][2] == {"account": "NetworkService", "changed": False, "unreachable": True,
                                  "round_trips": 0, "msg": "not probed: the connection dropped while probing SYSTEM"}
    assert got["all_reachable"] is False and got["round_trips"] == 1


def test_an_account_not_reached_is_not_all_reachable_even_without_failing():
    got = accounts_result(["LocalService", "SYSTEM"], [reached("LocalService"), reached("SYSTEM", ok=False)])
    assert got["all_reachable"] is False and "failed" not in got and "unreachable" not in got


def test_no_account_is_skipped():
    got = accounts_result([], [])
    assert got["skipped"] is True and got["accounts"] == [] and got["round_trips"] == 0


def test_the_tasks_accounts_win_over_the_plans():
    plan = {"workspace": "contoso", "accounts": ["LocalService", "SYSTEM"]}
    assert plan_accounts({"plan": plan}) == ["LocalService", "SYSTEM"]
    assert plan_accounts({"plan": plan, "accounts": ["SYSTEM"]}) == ["SYSTEM"]
    assert plan_accounts({"plan": plan, "accounts": []}) == []  # given, and empty: nothing to probe as
    assert plan_accounts({"plan": {"workspace": "contoso"}}) is None  # the task's become_user, as before
    assert plan_accounts({"plan": "contoso"}) is None  # refused later, naming plan

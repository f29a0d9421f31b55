# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""atp_endpoint_probe's ``accounts`` option end to end in the emulated Windows lab: one task becomes each account in
turn (real ansible-playbook, the lab's runas stand-in, the probe script run by the lab's PowerShell executor, a real
proxy.py and HTTPS sensor API). Each account has its own WinINet proxy here, so each result shows whose run it was."""

from __future__ import annotations

import json

import pytest

from tests.lab.conftest import SENSOR_HOST, WORKSPACE_NAME

pytestmark = [pytest.mark.lab, pytest.mark.network]

PING = "https://%s/tri/sensor/api/ping" % SENSOR_HOST
PROXY = "proxy.corp:8080"
# No become_user: the action sets it for each account.
PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: probe
      atp.sensor_proxy.atp_endpoint_probe: "{{ probe_args }}"
      become: "{{ use_become }}"
      become_method: ansible.builtin.runas
      ignore_errors: true
      ignore_unreachable: true
"""


def probe(lab, accounts, use_become=True, **args):
    variables = lab.dir / ("accounts_vars_%d.json" % len(list(lab.dir.glob("accounts_vars_*.json"))))
    probe_args = dict({"workspace": WORKSPACE_NAME, "include_crl": False, "accounts": accounts}, **args)
    variables.write_text(json.dumps({"probe_args": probe_args, "use_become": use_become}))
    run = lab.run_playbook(PLAY, limit="dc01", extra_args=["--extra-vars", "@%s" % variables])
    return run, run.result("dc01", "probe")


def ping_of(entry: dict) -> dict:
    return next(r for r in entry["results"] if r["url"] == PING)


@pytest.mark.parametrize("order", [["LocalService", "SYSTEM"], ["SYSTEM", "LocalService"]])
def test_each_account_is_probed_as_itself_in_one_task(lab, sensor_api, proxy, order):
    # LocalService has the proxy, SYSTEM has none: a run as the wrong account shows in its result.
    lab.host("dc01").seed({"LocalService": {"proxy_server": PROXY}})
    run, result = probe(lab, order)
    assert not result.get("failed") and not result.get("unreachable"), run
    by_account = {e["account"]: e for e in result["accounts"]}
    assert [e["account"] for e in result["accounts"]] == order
    # and each says so: whom its script ran as on the host (WindowsIdentity.GetCurrent())
    assert by_account["LocalService"]["ran_as"] == {"name": "NT AUTHORITY\\LOCAL SERVICE", "sid": "S-1-5-19"}
    assert by_account["SYSTEM"]["ran_as"] == {"name": "NT AUTHORITY\\SYSTEM", "sid": "S-1-5-18"}
    assert by_account["LocalService"]["all_reachable"] is True
    assert ping_of(by_account["LocalService"])["outcome"] == "reachable"
    system = ping_of(by_account["SYSTEM"])
    assert system["outcome"] == "dns_failure"  # no proxy: the DC cannot resolve Internet names
    assert "SYSTEM (S-1-5-18)" in system["hint"]
    assert result["all_reachable"] is False and result["changed"] is False
    # one probe script per account, in one task
    assert result["round_trips"] == 2 and [e["round_trips"] for e in result["accounts"]] == [1, 1]
    assert lab.round_trips()["dc01"] == 2
    assert [(r["method"], r["host"]) for r in proxy.log()] == [("CONNECT", SENSOR_HOST)]  # LocalService's only


def test_fail_on_unreachable_names_the_account_that_did_not_reach(lab, sensor_api, proxy):
    lab.host("dc01").seed({"LocalService": {"proxy_server": PROXY}})
    run, result = probe(lab, ["LocalService", "SYSTEM"], fail_on_unreachable=True)
    assert result["failed"] is True, run
    assert result["msg"].startswith("SYSTEM: ") and "LocalService" not in result["msg"]
    assert PING in result["msg"] and "dns_failure" in result["msg"]
    assert [e.get("failed", False) for e in result["accounts"]] == [False, True]
    assert result["accounts"][0]["all_reachable"] is True  # the account that reached is still reported


def test_a_dropped_connection_keeps_what_was_probed_and_says_what_was_not(lab, sensor_api, proxy):
    host = lab.host("dc01")
    host.seed({"LocalService": {"proxy_server": PROXY}})
    host.set_fault("drop_after", 1)  # SYSTEM's probe, the second remote command, loses the connection
    run, result = probe(lab, ["LocalService", "SYSTEM", "NetworkService"])
    assert result["unreachable"] is True, run
    assert result["msg"].startswith("the connection dropped while probing SYSTEM: ")
    local, system, network = result["accounts"]
    assert local["all_reachable"] is True and ping_of(local)["outcome"] == "reachable"
    assert system["unreachable"] is True and "results" not in system
    assert network == {"account": "NetworkService", "changed": False, "unreachable": True, "round_trips": 0,
                       "msg": "not probed: the connection dropped while probing SYSTEM"}
    assert result["all_reachable"] is False
    assert lab.round_trips()["dc01"] == 2  # LocalService's and the one that dropped; NetworkService was never tried


@pytest.mark.parametrize("accounts,use_become,extra,words", [
    (["LocalService", "LocalSystem"], True, {}, ["accounts: 'LocalSystem' cannot be a become_user", "'SYSTEM'"]),
    (["LocalService", "S-1-5-18"], True, {}, ["accounts: 'S-1-5-18'"]),
    (["LocalService"], False, {}, ["accounts: needs become: true"]),
    (["LocalService"], True, {"via": "controller"}, ["accounts: only used with via=target"]),
    ({"LocalService": 1}, True, {}, ["accounts: a list of account names"]),
], ids=["LocalSystem", "a SID", "no become", "via controller", "not a list"])
def test_bad_accounts_are_refused_before_anything_runs(lab, sensor_api, accounts, use_become, extra, words):
    run, result = probe(lab, accounts, use_become=use_become, **extra)
    assert result["failed"] is True, run
    for word in words:
        assert word in result["msg"], result["msg"]
    assert "Traceback" not in run.stdout + run.stderr
    assert result["round_trips"] == 0 and lab.round_trips()["dc01"] == 0


def test_no_account_is_skipped(lab, sensor_api):
    run, result = probe(lab, [])
    assert run.status("dc01", "probe") == "skipped" and result["accounts"] == [], run
    assert "accounts is empty" in result["skip_reason"]
    assert lab.round_trips()["dc01"] == 0

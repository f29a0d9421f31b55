# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End-to-end: real ansible-playbook runs of atp.sensor_proxy.win_wininet_proxy_compare across lab hosts
in different states, each lab fault injected once."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab

ADMIN = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
CONN = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"

COMPARE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: compare
      atp.sensor_proxy.win_wininet_proxy_compare:
        source: current_user
      register: cmp
"""


def by_sid(result):
    return {t["sid"]: t for t in result["targets"]}


def test_compare_across_three_hosts_with_a_hive_unloaded_and_a_corrupted_value(lab):
    lab.host("dc01").seed({"user": ADMIN, "SYSTEM": ADMIN, "LocalService": ADMIN})  # in sync
    lab.host("dc02").seed({"user": ADMIN, "SYSTEM": ADMIN, "unloaded": ["S-1-5-19"]})  # hive not loaded
    lab.host("dc03").seed({"user": ADMIN, "SYSTEM": {"proxy_server": "old.corp:3128"},
                           "faults": {"corrupt_value": "S-1-5-19"}})  # different + malformed
    run = lab.run_playbook(COMPARE, forks=3)
    assert run.rc == 0, run
    one = run.result("dc01", "compare")
    assert one["in_sync"] is True and one["changed"] is False
    assert {t["state"] for t in one["targets"]} == {"identical"}

    two = by_sid(run.result("dc02", "compare"))
    assert two["S-1-5-19"]["state"] == "hive_not_loaded"
    assert two["S-1-5-18"]["state"] == "identical"
    assert run.result("dc02", "compare")["in_sync"] is False

    three = run.result("dc03", "compare")
    assert by_sid(three)["S-1-5-18"]["state"] == "different"
    assert "proxy_server" in by_sid(three)["S-1-5-18"]["differences"]
    assert by_sid(three)["S-1-5-19"]["state"] not in ("identical", "equivalent", "missing")
    # Round trips are accounted per host and per task.
    ledger = lab.ledger()
    for host in ("dc01", "dc02", "dc03"):
        assert ledger[host]["by_task"]["compare"] == ledger[host]["module_calls"] > 0


WRITE = r"""
- hosts: all
  gather_facts: false
  tasks:
    - name: write LocalService
      ansible.windows.win_regedit:
        path: 'HKU:\S-1-5-19\{conn}'
        name: DefaultConnectionSettings
        type: binary
        data: '{hex}'
      register: w
      ignore_errors: true
    - name: read back
      ansible.windows.win_reg_stat:
        path: 'HKU:\S-1-5-19\{conn}'
        name: DefaultConnectionSettings
      register: r
"""


def test_access_denied_and_lost_write_faults(lab):
    from tests.lab.state import codec

    blob = codec().encode(ADMIN)
    lab.host("dc02").set_fault("deny_hku_write")
    lab.host("dc03").set_fault("lost_write")
    run = lab.run_playbook(WRITE.format(conn=CONN, hex=blob.hex()), forks=3)
    path = "HKU:\\S-1-5-19\\" + CONN
    # dc01: written and read back identical.
    assert run.result("dc01", "write LocalService")["changed"] is True
    assert bytes(run.result("dc01", "read back")["value"]) == blob
    assert lab.host("dc01").proxy_value("S-1-5-19") == blob
    # dc02: the real module's message for an access-denied write.
    denied = run.result("dc02", "write LocalService")
    assert denied["failed"] is True
    assert denied["msg"] == ("failed to create registry property 'DefaultConnectionSettings' at %s: "
                             "Requested registry access is not allowed." % path)
    # dc03: reports success, but the read-back differs (nothing was written).
    assert run.result("dc03", "write LocalService")["changed"] is True
    assert run.result("dc03", "read back")["exists"] is False
    assert lab.host("dc03").proxy_value("S-1-5-19") is None


def test_connection_drop_after_n_calls_makes_the_host_unreachable(lab):
    for host in lab.host_names:
        lab.host(host).seed({"user": ADMIN})
    lab.host("dc02").set_fault("drop_after", 0)  # the compare is one remote command (the state query)
    play = COMPARE + """
    - name: second call
      ansible.windows.win_reg_stat:
        path: 'HKCU:\\\\Software'
"""
    run = lab.run_playbook(play, forks=3)
    assert run.stats["dc02"]["unreachable"] == 1, run
    assert run.stats["dc01"]["unreachable"] == 0 and run.stats["dc01"]["failures"] == 0
    assert run.status("dc02", "second call") == "not run"  # an unreachable host runs no more tasks
    assert run.status("dc02", "compare") == "unreachable"
    assert lab.ledger()["dc02"]["module_calls"] == 1  # the compare's call was counted, then dropped
    assert run.status("dc01", "second call") == "ok"


def test_not_admin_fault_and_reg_load(lab):
    lab.host("dc01").set_hive_loaded("LocalService", False)
    lab.host("dc02").set_hive_loaded("LocalService", False)
    lab.host("dc02").set_fault("not_admin")
    play = r"""
- hosts: dc01,dc02
  gather_facts: false
  tasks:
    - name: whoami
      ansible.windows.win_whoami:
      register: who
    - name: load the LocalService hive
      ansible.windows.win_command:
        argv: [reg.exe, load, 'HKU\S-1-5-19', 'C:\Windows\ServiceProfiles\LocalService\NTUSER.DAT']
      ignore_errors: true
    - name: load it again
      ansible.windows.win_command:
        argv: [reg.exe, load, 'HKU\S-1-5-19', 'C:\Windows\ServiceProfiles\LocalService\NTUSER.DAT']
      ignore_errors: true
"""
    run = lab.run_playbook(play)
    admin_sids = [g["sid"] for g in run.result("dc01", "whoami")["groups"]]
    assert "S-1-5-32-544" in admin_sids
    assert "S-1-5-32-544" not in [g["sid"] for g in run.result("dc02", "whoami")["groups"]]
    loaded = run.result("dc01", "load the LocalService hive")
    assert loaded["rc"] == 0 and loaded["stdout"] == "The operation completed successfully.\r\n"
    assert lab.host("dc01").hive_loaded("LocalService")
    again = run.result("dc01", "load it again")
    assert again["rc"] == 1 and again["failed"] is True
    assert again["stderr_lines"] == [
        "ERROR: The process cannot access the file because it is being used by another process."]
    denied = run.result("dc02", "load the LocalService hive")
    assert denied["rc"] == 1 and "A required privilege is not held by the client." in denied["stderr"]
    assert not lab.host("dc02").hive_loaded("LocalService")


def test_check_mode_and_diff_of_win_regedit(lab):
    blob = __import__("tests.lab.state", fromlist=["codec"]).codec().encode(ADMIN)
    run = lab.run_playbook(WRITE.format(conn=CONN, hex=blob.hex()), check=True, diff=True,
                           limit="dc01")
    res = run.result("dc01", "write LocalService")
    assert res["changed"] is True
    path = "HKU:\\S-1-5-19\\" + CONN
    assert res["diff"]["before"] == {path: {}}
    assert res["diff"]["after"][path]["DefaultConnectionSettings"]["type"] == "Binary"
    assert res["diff"]["after"][path]["DefaultConnectionSettings"]["value"][:2] == ["0x46", "0x00"]
    assert lab.host("dc01").proxy_value("S-1-5-19") is None  # check mode wrote nothing

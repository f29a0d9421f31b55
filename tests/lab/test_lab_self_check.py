# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real-host self-check (playbooks/self_check_atp_proxy.yml, integration target atp_self_check) on the lab:
the collection's state query, run by the lab's PowerShell executor, against the stand-ins of the documented
modules (each citing its real .ps1)."""

from __future__ import annotations

import pytest

from tests.lab import state
from tests.lab import system_state as ss

pytestmark = [pytest.mark.lab]

PLAYBOOK = str(state.REPO_ROOT / "playbooks" / "self_check_atp_proxy.yml")
TASK = "atp.sensor_proxy.atp_proxy : Fail when the state query and the documented modules disagree"
COMPARE = "atp.sensor_proxy.atp_proxy : Compare the state query with the documented modules"


def test_every_host_kind_agrees_and_nothing_is_written(lab):
    ss.seed_v2_sensor(lab.host("dc01"))
    ss.seed_v3_sensor(lab.host("dc02"), telemetry_proxy="proxy.corp:8080")
    ss.seed_missing_root_ca(lab.host("dc03"), list(ss.ROOT_CERTIFICATES)[:1])
    lab.host("dc03").set_value("HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319", "Big", "REG_DWORD",
                               0xFFFFFFFF)
    before = {name: (lab.host(name).state(), ss.read(lab.host(name))) for name in lab.host_names}
    run = lab.run_playbook(PLAYBOOK, check=False)
    assert run.rc == 0, run.stdout[-3000:]
    for name in lab.host_names:
        assert run.status(name, TASK) == "ok"
        report = run.result(name, COMPARE)["ansible_facts"]["atp_proxy_self_check"]
        assert report["ok"] is True and report["differences"] == [] and report["checked"] >= 14, report
    dc01 = run.result("dc01", COMPARE)["ansible_facts"]["atp_proxy_self_check"]
    assert dc01["not_compared"] == ["process SenseIdentity: no documented module lists processes (the state query "
                                    "found none)"]
    dc02 = run.result("dc02", COMPARE)["ansible_facts"]["atp_proxy_self_check"]
    assert dc02["not_compared"][0].startswith("process SenseIdentity: no documented module lists processes (the "
                                              "state query found 41")
    assert {name: (lab.host(name).state(), ss.read(lab.host(name))) for name in lab.host_names} == before
    assert run.stats["dc01"]["changed"] == 0


def test_a_difference_fails_the_host_with_both_answers(lab):
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host)
    # the service's registry key says one program, the service control manager another
    host.set_value("HKLM:\\SYSTEM\\CurrentControlSet\\Services\\AATPSensor", "ImagePath", "REG_EXPAND_SZ",
                   "C:\\Other\\Sensor.exe")
    run = lab.run_playbook(PLAYBOOK, limit="dc01")
    assert run.rc != 0 and run.status("dc01", TASK) == "failed"
    report = run.result("dc01", COMPARE)["ansible_facts"]["atp_proxy_self_check"]
    expected = ("service AATPSensor: path: state query C:\\Other\\Sensor.exe, win_service_info "
                '"%sMicrosoft.Tri.Sensor.exe"' % seed.install_folder)
    assert expected in report["lines"]
    assert "file C:\\Other\\Sensor.exe: state query exists (the state query points at it), win_stat does not exist" \
        in report["lines"]
    assert expected in run.result("dc01", TASK)["msg"]


def test_a_key_the_query_may_not_read_fails_the_check_naming_it(lab):
    host = lab.host("dc01")
    key = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Defender"
    host.set_value(key, "ProxyServer", "REG_SZ", "proxy.corp:8080")
    host.deny_registry_read(key)
    run = lab.run_playbook(PLAYBOOK, limit="dc01")
    report = run.result("dc01", COMPARE)["ansible_facts"]["atp_proxy_self_check"]
    assert report["ok"] is False and report["lines"] == [
        "the state query: state query the state query failed while reading the registry key %s: Exception calling "
        "\"OpenSubKey\" with \"2\" argument(s): \"Requested registry access is not allowed.\", win_powershell "
        "(not compared)" % key]

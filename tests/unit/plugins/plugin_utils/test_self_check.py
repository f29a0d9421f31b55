# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The self-check's comparison (plugins/plugin_utils/_job/_self_check.py): the two bugs the lab's executor found in the
state query (services read as the last registry key; signed DWORDs) are exactly what it shows on a real host."""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _self_check as self_check

KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Defender"
FOLDER = "C:\\Program Files\\Azure Advanced Threat Protection Sensor\\2.250.1\\"


def module_answers(**overrides):
    answers = {
        "reg_stats": {"results": [{"item": KEY, "exists": True, "sub_keys": [], "properties": {
            "Flags": {"type": "REG_DWORD", "value": 2147483648, "raw_value": 2147483648}}}]},
        "service_infos": {"results": [{"item": "AATPSensor", "exists": True, "services": [{
            "name": "AATPSensor", "state": "started", "path": '"%sMicrosoft.Tri.Sensor.exe"' % FOLDER,
            "username": "NT AUTHORITY\\LOCAL SERVICE", "start_mode": "auto", "dependencies": [],
            "dependency_of": []}]}]},
        "certificates": {"certificates": [{"thumbprint": "DF3C24F9BFD666761B268073FE06D1CC8D4F82A4"}]},
        "stats": {"results": [{"item": FOLDER + "Microsoft.Tri.Sensor.exe", "stat": {"exists": True}},
                              {"item": FOLDER + "SensorConfiguration.json", "stat": {"exists": True}}]},
        "whoami": {"account": {"sid": "S-1-5-21-1-500"}, "groups": [
            {"sid": "S-1-5-32-544", "attributes": ["Mandatory", "Enabled by default", "Enabled", "Owner"]}]},
    }
    answers.update(overrides)
    return answers


def query(services=None, flags=2147483648):
    return {"changed": False, "error": [], "result": {
        "keys": {KEY: {"exists": True, "sub_keys": [], "values": {"Flags": {"type": "DWord", "value": flags}}}},
        "processes": [], "root_certificates": {"DF3C24F9BFD666761B268073FE06D1CC8D4F82A4": True},
        "services": services if services is not None else {"AATPSensor": {
            "name": "AATPSensor", "status": "Running", "dependents": [], "path": '"%sMicrosoft.Tri.Sensor.exe"' % FOLDER,
            "account": "NT AUTHORITY\\LocalService", "start": 2, "dependencies": []}},
        "user": {"name": "CORP\\admin", "sid": "S-1-5-21-1-500", "administrator": True}}}


def report(q, **overrides):
    a = module_answers(**overrides)
    return self_check.differences(q, a["reg_stats"], a["service_infos"], a["certificates"], a["stats"], a["whoami"])


def test_agreeing_answers_pass_and_the_paths_come_from_the_query():
    out = report(query())
    assert out["ok"] is True and out["differences"] == [] and out["checked"] == 6
    assert self_check.paths(query()) == [FOLDER + "Microsoft.Tri.Sensor.exe", FOLDER + "SensorConfiguration.json"]


def test_a_signed_dword_is_a_difference_with_both_answers():
    out = report(query(flags=-2147483648))
    assert out["ok"] is False
    assert out["lines"] == ["%s: value Flags: state query -2147483648, win_reg_stat 2147483648" % KEY]


def test_services_read_from_the_wrong_entry_are_differences():
    # what the state query returned when $service was converted to a string: the last key's entry
    wrong = {"AATPSensor": {"exists": True, "values": {}, "sub_keys": []}}
    out = report(query(services=wrong))
    facts = [d["fact"] for d in out["differences"]]
    assert "service AATPSensor: state" in facts and "service AATPSensor: path" in facts
    assert "service AATPSensor: start" in facts


def test_a_failed_query_is_one_difference_naming_what_it_read():
    failed = {"failed": True, "result": {"reading": "the service AATPSensor"},
              "error": [{"exception": {"message": "You cannot call a method on a null-valued expression."}}]}
    out = report(failed)
    assert out["ok"] is False and out["lines"] == [
        "the state query: state query the state query failed while reading the service AATPSensor: You cannot call a "
        "method on a null-valued expression., win_powershell (not compared)"]

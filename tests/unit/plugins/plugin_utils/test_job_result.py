# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job's result as the parts hold it and as the action returns it (plugins/plugin_utils/_wininet/_result.py and
plugins/plugin_utils/_job/_result.py): the WinINet part typed, with its bytes, and the flat fields the documented
RETURN of atp_proxy_job names, made in one place, for a WinINet run, a sensor_config run and an MDE run on the
lab's emulated host."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.atp.sensor_proxy.plugins.modules import atp_proxy_job as job_doc
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import ChangeError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _job as job
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _options as options
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _result as results
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _write as configure
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet._result import WininetResult
from tests.lab import system_state
from tests.unit.plugins.action.lab_executor import LabExecutor
from tests.unit.plugins.plugin_utils import test_job as shared

SYS, LS = "S-1-5-18", "S-1-5-19"
PROXY = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
URL = "http://proxy.corp:8080"
# What a run that did not take the WinINet path returns of that part (the result every reader relies on).
NOT_RUN = {"changed": False, "changed_sids": [], "backup_file": "", "applied_file": "", "backups": [], "written": [],
           "hives_loaded": [], "actions": [], "pruned": [], "targets": [], "in_sync": True, "needs_write": [],
           "hive_not_loaded": [], "source": {}}
# The same one-host lab (a fixture) and variable check as the job's own tests.
lab = shared.lab
checked = shared.checked
# The job's own documented fields "returned: success" (the action adds summary, probe, round_trips, check_mode).
ADDED_BY_THE_ACTION = {"summary", "summary_options", "probe", "round_trips", "check_mode"}
SUCCESS = sorted(k for k, v in yaml.safe_load(job_doc.RETURN).items()
                 if v.get("returned") == "success" and k not in ADDED_BY_THE_ACTION)


def run(lab, values: dict, check_mode=False) -> dict:
    execute = LabExecutor(lab, "dc01")
    return job.run(execute, execute.upload, execute.remote_copy, values, check_mode, host="dc01")


def test_a_part_that_did_not_run_says_why_and_states_its_defaults_once():
    result = WininetResult.skipped("the v2 sensor already uses sensor_config").to_result()
    assert result == dict(NOT_RUN, wininet_skipped="the v2 sensor already uses sensor_config")
    assert "diff" not in result and "verified" not in result  # a step not reached is not in the result
    with pytest.raises(KeyError, match="no field 'chnaged'"):
        WininetResult().set({"chnaged": True})  # a misspelt field would be lost: refused


def test_the_wininet_part_keeps_the_bytes_and_the_edge_makes_the_documented_fields(lab):
    host = lab.host("dc01")
    execute = LabExecutor(lab, "dc01")
    args = options.wininet_args(checked())
    part = configure.run_part(execute, execute.upload, args, False, host="dc01")
    admin = host.proxy_value("user")
    assert sorted(part.written) == [SYS, LS] and part.changed is True
    assert all(isinstance(i.wanted, bytes) and i.wanted == admin for i in part.items)  # bytes until the edge
    fields = part.to_result()
    assert [b["old_hex"] for b in fields["backups"]] == [None, None] and sorted(fields["written"]) == [SYS, LS]
    assert fields["verified"] is True and fields["backup_file"].endswith("before.reg")
    assert [d["after_header"].split("\\")[1] for d in fields["diff"]] == [SYS, LS]
    assert "wininet_skipped" not in fields

    result = run(lab, checked())  # the same host, now in sync: the job's flat fields from the typed part
    assert set(SUCCESS) <= set(result) and result["method"] == "wininet" and result["in_sync"] is True
    assert result["changed"] is False and result["changed_sids"] == [] and "wininet_skipped" not in result


def test_a_sensor_config_run_nests_its_part_and_keeps_the_wininet_fields_at_their_defaults(lab):
    system_state.seed_v2_sensor(lab.host("dc01"))
    result = run(lab, checked(atp_proxy_sensor_proxy_url=URL), check_mode=True)
    assert set(SUCCESS) <= set(result) and result["method"] == "sensor_config"
    assert {k: result[k] for k in NOT_RUN if k not in ("changed", "in_sync", "actions")} == {
        k: v for k, v in NOT_RUN.items() if k not in ("changed", "in_sync", "actions")}
    assert result["wininet_skipped"] == result["method_reason"]
    assert result["sensor_config"]["changed"] is True and result["changed"] is True and result["in_sync"] is False
    assert result["diff"] == [result["sensor_config"]["diff"]]  # the sensor's file, once
    assert result["pending_changes"] == ["SensorConfiguration.json"]


def test_an_mde_run_nests_its_part_and_shows_each_value_in_the_diff_once(lab):
    system_state.seed_v3_sensor(lab.host("dc01"))
    result = run(lab, checked(atp_proxy_sensor_proxy_url=URL))
    assert set(SUCCESS) <= set(result) and result["method"] == "mde" and result["changed"] is True
    assert result["wininet_skipped"] == result["method_reason"] and result["written"] == []
    headers = [d["after_header"].rsplit("\\", 1)[1] for d in result["diff"]]
    assert headers == ["TelemetryProxyServer", "ProxyServer"]  # once each (not the MDE part's list twice)
    assert result["mde"]["diff"] == result["diff"] and result["sensor_v3"]
    again = run(lab, checked(atp_proxy_sensor_proxy_url=URL))
    assert again["changed"] is False and again["in_sync"] is True and again["pending_changes"] == []


def test_a_wininet_run_with_defender_for_endpoint_lists_both_parts_diffs_once(lab):
    values = checked(atp_proxy_products=["mdi", "mde"], atp_proxy_mde_proxy_server="proxy.corp:8080")
    result = run(lab, values)
    names = [d["after_header"].rsplit("\\", 1)[1] for d in result["diff"]]
    assert names.count("DefaultConnectionSettings") == 2 and len(names) == len(set(names[2:])) + 2
    assert names[2:] == [d["after_header"].rsplit("\\", 1)[1] for d in result["mde"]["diff"]]
    assert w.decode(lab.host("dc01").proxy_value(SYS)).proxy_server == "proxy.corp:8080"


def test_a_failing_part_carries_what_the_earlier_parts_did():
    done = results.JobResult(method="wininet", method_reason="why", sensor_info={"sensor": {}})
    assert results.to_result(done) == {"method": "wininet", "method_reason": "why", "sensor_info": {"sensor": {}}}
    done.wininet = WininetResult(changed=True, changed_sids=[SYS], written=[SYS], backup_file="C:\\b\\before.reg")
    exc = ChangeError("the MDE write failed", changed=False, written=[])
    done.failed(results.MDE, exc)
    details = exc.details
    assert details["failed_part"] == "mde" and details["changed"] is True and details["written"] == [SYS]
    assert details["backup_file"] == "C:\\b\\before.reg" and details["mde"]["failed"] is True
    assert details["maybe_written"] == [] and details["dropped_at"] == "" and "restart" not in details

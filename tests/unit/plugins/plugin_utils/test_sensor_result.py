# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sensor_config part's typed result (_sensor/_result.SensorResult): its plan (with the new file's bytes) stays a
plan until the edge, where win_mdi_sensor_proxy and the job's ``sensor_config`` get their documented fields."""

from __future__ import annotations

import json

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _file_backup as file_backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor._result import SensorResult

PATH = "C:\\Program Files\\Azure Advanced Threat Protection Sensor\\2.250\\SensorConfiguration.json"
NONE = {"configured": False, "state": None}
SET = {"configured": True, "state": "present", "url": "http://proxy.corp:8080", "username": "CORP\\svc",
       "password_set": True, "certificate_thumbprint": "AB" * 20}


def test_before_a_plan_the_result_has_every_documented_field_and_nothing_reached():
    flat = SensorResult(config_path=PATH, msg="no backup: nothing to restore").to_result()
    assert flat == {"changed": False, "actions": [], "msg": "no backup: nothing to restore", "backup_file": "",
                    "restarted": [], "verified": False, "written": [], "config_path": PATH, "diff": {},
                    "services": {}, "warnings": [], "proxy": {}}


def test_a_planned_restore_gives_its_plan_decoded_and_never_the_file_bytes():
    plan = file_backup.RestorePlan(True, "restore of x (its hash)", NONE, SET, b'{"SecretPassword":"ENCRYPTED"}')
    result = SensorResult(config_path=PATH, plan=plan, restored_from="C:\\b\\SensorConfiguration.json",
                          trusted_because="its hash is in the manifest")
    result.changed = True
    assert result.proxy_after == SET
    flat = result.to_result()
    assert flat["proxy"]["before"] == NONE and flat["proxy"]["after"] == SET and flat["proxy"]["changed"] is True
    assert flat["diff"]["before_header"] == PATH and "url: http://proxy.corp:8080" in flat["diff"]["after"]
    assert "password: set (encrypted, certificate %s)" % ("AB" * 20) in flat["diff"]["after"]
    assert flat["restored_from"].endswith("SensorConfiguration.json") and "pending" not in flat
    assert "ENCRYPTED" not in json.dumps(flat)  # the plan's bytes stay in the plan


def test_the_change_answer_and_a_read_only_run_are_kept():
    plan = file_backup.RestorePlan(True, "r", NONE, SET, b"{}")
    result = SensorResult(config_path=PATH, plan=plan, changed=True)
    result.done({"backup_file": "C:\\b\\x", "written": [PATH], "restarted": ["AATPSensorUpdater"], "pruned": [],
                 "backup_dir_secured": True, "config_path": PATH, "watch": {"stopped": []}, "changed": True,
                 "verified": True, "services": {"AATPSensorUpdater": "Running"}, "rolled_back": False})
    flat = result.to_result()
    assert flat["verified"] is True and flat["restarted"] == ["AATPSensorUpdater"] and flat["written"] == [PATH]
    assert flat["watch"] == {"stopped": []} and flat["backup_dir_secured"] is True and flat["pruned"] == []
    assert "rolled_back" not in flat  # only a failed change says so, in its error's details
    drift = SensorResult(config_path=PATH, plan=plan, changed=True)
    drift.pending, drift.changed = drift.changed, False  # what the job does in a read-only run
    flat = drift.to_result()
    assert flat["pending"] is True and flat["changed"] is False and flat["diff"]

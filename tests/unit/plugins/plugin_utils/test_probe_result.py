# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's typed result (_probe/_result.ProbeResult): the documented result of atp_endpoint_probe made at the
edge, the password masked in every field, the target side's fields only from the target side."""

from __future__ import annotations

import json

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._result import ProbeResult

URL = "https://contoso-corpsensorapi.atp.azure.com/tri/sensor/api/ping"


def entry(outcome, mode="default", hint=""):
    return {"url": URL, "endpoint": "mdi_workspace", "outcome": outcome, "hint": hint, "mode": mode}


def test_a_target_result_names_its_modes_and_fails_only_when_asked():
    found = ProbeResult([entry("proxy_auth_required", hint="the proxy answered 407 to s3cr3t")], "target",
                        "LocalService", 1.23456, round_trips=1, modes=["default", "wpad"],
                        not_tested={"wpad": "WPAD is not testable"}, secrets=("s3cr3t",))
    flat = found.to_result()
    assert flat["all_reachable"] is False and flat["failing"][0]["outcome"] == "proxy_auth_required"
    assert flat["modes"] == ["default", "wpad"] and flat["not_tested"] == [{"mode": "wpad", "why": "WPAD is not testable"}]
    assert flat["elapsed_total"] == 1.235 and flat["round_trips"] == 1 and "failed" not in flat
    assert "s3cr3t" not in json.dumps(flat) and flat["failing"][0]["hint"].startswith("the proxy answered 407 to ")
    found.fail_on_unreachable = True
    failed = found.to_result()
    assert failed["failed"] is True and URL in failed["msg"] and "s3cr3t" not in json.dumps(failed)


def test_a_controller_result_has_no_target_fields_and_the_reports_it_wrote():
    found = ProbeResult([entry("reachable", mode="controller")], "controller", "ansible", 0.5,
                        report_json="/tmp/r.json")
    flat = found.to_result()
    assert flat["all_reachable"] is True and flat["via"] == "controller" and flat["round_trips"] == 0
    assert "modes" not in flat and "not_tested" not in flat and "report_junit" not in flat
    assert flat["report_json"] == "/tmp/r.json" and "report_json" not in found.summary()

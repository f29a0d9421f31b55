# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Defender for Endpoint options want (plugins/plugin_utils/_mde/_desired.py ``desired``) is computed once
per run: the role's variable check computes it and the job's reads and plan take it from the checked values
(_job/_options.mde_wanted); win_mde_proxy's reads and plan share one. Counted on the lab's emulated host, where the
run also writes what it should."""

from __future__ import annotations

import sys

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _job as job
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _variables as variables
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _desired
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _run as mde_run
from tests.lab import state, system_state
from tests.unit.plugins.action.lab_executor import LabExecutor

PROXY = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
MDE = {"atp_proxy_products": ["mdi", "mde"], "atp_proxy_mde_proxy_server": "proxy.corp:8080"}


@pytest.fixture
def lab(tmp_path):
    found = state.Lab.create(tmp_path / "lab", hosts=1)
    found.host("dc01").set_proxy("user", PROXY)
    return found


@pytest.fixture
def calls(monkeypatch):
    """Every call of ``desired``, wherever a module imported it (by module or by name)."""
    original = _desired.desired
    seen = []

    def counting(*args, **kwargs):
        seen.append(args)
        return original(*args, **kwargs)

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("ansible_collections.atp.sensor_proxy.") and \
                getattr(module, "desired", None) is original:
            monkeypatch.setattr(module, "desired", counting)
    return seen


def job_run(lab, given: dict, check_mode=False) -> dict:
    problems, dummy, values = variables.check_role_variables(given)  # as the action does, then the job
    assert problems == []
    execute = LabExecutor(lab, "dc01")
    return job.run(execute, execute.upload, execute.remote_copy, values, check_mode, host="dc01")


@pytest.mark.parametrize("extra", [{}, {"atp_proxy_mde_winhttp_source": "ie", "atp_proxy_mde_winhttp_ie_account":
                                        "SYSTEM"}], ids=["proxy_server", "winhttp_from_ie"])
def test_one_job_run_with_defender_for_endpoint_settings_computes_what_they_want_once(lab, calls, extra):
    result = job_run(lab, dict(MDE, **extra))
    assert len(calls) == 1
    assert result["mde"]["changed"] is True and "telemetry_proxy_server" in result["mde"]["changed_settings"]
    assert lab.host("dc01").winhttp()["proxy_server"] == "proxy.corp:8080"
    calls.clear()
    again = job_run(lab, dict(MDE, **extra))
    assert len(calls) == 1 and again["mde"]["changed"] is False and again["in_sync"] is True


def test_a_v3_sensor_merges_its_values_into_what_the_options_want_without_computing_it_again(lab, calls):
    system_state.seed_v3_sensor(lab.host("dc01"))
    result = job_run(lab, dict(MDE, atp_proxy_sensor_proxy_url="http://proxy.corp:8080"))
    assert len(calls) == 1 and result["method"] == "mde" and result["changed"] is True
    assert "av_proxy_server" in [s["name"] for s in result["mde"]["settings"]]  # the sensor's value, merged in


def test_a_run_without_defender_for_endpoint_computes_nothing_for_it(lab, calls):
    job_run(lab, {})
    assert calls == []


def test_win_mde_proxy_reads_and_plans_from_one_computation(lab, calls):
    execute = LabExecutor(lab, "dc01")
    result = mde_run.run(execute, execute.upload, {"proxy_server": "proxy.corp:8080"}, True).to_result()
    assert len(calls) == 1 and result["changed"] is True and result["written"] == []

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""atp.sensor_proxy.atp_proxy_job refuses exactly what the atp.sensor_proxy.atp_proxy_problems filter returns (one
validation entry point, _job/_variables.check_role_variables): a bad input fails the task naming each problem, and
nothing is read from the host; a good one runs."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from ansible_collections.atp.sensor_proxy.plugins.action.atp_proxy_job import ActionModule
from ansible_collections.atp.sensor_proxy.plugins.filter.atp_proxy import atp_proxy_problems
from tests.lab import state

from .harness import build_action
from .lab_executor import LabExecutor

PROXY = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
BAD = {
    "no targets": {"atp_proxy_targets": []},
    "a choice that does not exist": {"atp_proxy_method": "pac"},
    "sid source without a SID": {"atp_proxy_source": "sid"},
    "a malformed proxy server": {"atp_proxy_source": "settings", "atp_proxy_settings": {"proxy_server": "a b:80"}},
    "absent and a restore": {"atp_proxy_state": "absent", "atp_proxy_source": "backup"},
    "a password without a user": {"atp_proxy_sensor_proxy_password": "Pa55-w0rd"},
    "a sensor URL that is not http": {"atp_proxy_sensor_proxy_url": "ftp://proxy.corp:21"},
    "Defender for Endpoint without a proxy": {"atp_proxy_products": ["mdi", "mde"]},
    "no backup kept": {"atp_proxy_backup_keep": 0},
    "a start timeout too long": {"atp_proxy_sensor_start_timeout": 3600},
    "WinHTTP from an account that does not exist": {
        "atp_proxy_products": ["mdi", "mde"], "atp_proxy_mde_proxy_server": "proxy.corp:8080",
        "atp_proxy_mde_winhttp_source": "ie", "atp_proxy_mde_winhttp_ie_account": "nobody"},
}
GOOD = {
    "the defaults": {},
    "a settings source": {"atp_proxy_source": "settings", "atp_proxy_settings": PROXY},
    "a drift report": {"atp_proxy_mode": "check"},
}


def run_job(tmp_path, values: dict):
    lab = state.Lab.create(tmp_path / "lab", hosts=1)
    lab.host("dc01").set_proxy("user", PROXY)
    host = LabExecutor(lab, "dc01")

    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        return host(module_name, dict(module_args or {}, _ansible_check_mode=False))

    plugin = build_action(ActionModule, {}, execute_module)
    plugin._templar = MagicMock(template=lambda value: value)
    return plugin.run(task_vars=dict(values, inventory_hostname="dc01", atp_proxy_probe=False)), host, lab


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_job_refuses_exactly_what_the_filter_returns_and_reads_nothing(tmp_path, case):
    values = dict(BAD[case], atp_proxy_probe=False)
    problems = atp_proxy_problems(values)
    assert problems, case
    result, host, lab = run_job(tmp_path, values)
    assert result["failed"] is True and result["bad_input"] is True and result["changed"] is False
    assert result["msg"] == "Invalid role variables, nothing was changed: %s" % "; ".join(problems)
    assert host.calls == [] and lab.host("dc01").proxy_value("S-1-5-18") is None
    assert "Pa55-w0rd" not in repr(result)


@pytest.mark.parametrize("case", sorted(GOOD))
def test_what_the_filter_accepts_the_job_runs(tmp_path, case):
    values = dict(GOOD[case], atp_proxy_probe=False)
    assert atp_proxy_problems(values) == []
    result, host, lab = run_job(tmp_path, values)
    assert not result.get("failed") and "bad_input" not in result, result.get("msg")
    assert host.calls[0] == "ansible.windows.win_powershell"  # the one state query comes first
    assert result["summary"]["host"] == "dc01" and result["summary"]["status"] in ("changed", "drifted")
    written = lab.host("dc01").proxy_value("S-1-5-18")
    assert (written is not None) is (case != "a drift report")

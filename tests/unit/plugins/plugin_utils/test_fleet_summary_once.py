# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's summary is built once, by the role's job, and reused: the role's last step and the fleet filters add the
probe's results to it, a summary the role recorded for this run is returned as recorded, and the report makes its
rows ready (masked) once. Each test counts the builds (``_summary.host_summary``) and compares the answer with a
full build from the same results, so reuse never changes what a user sees."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _files as report_files
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _summary as summary
from tests.awx import _report_fixtures as fx

OPTIONS = {"mode": "configure", "probe": True, "fail_on_unreachable": True, "fail_on_drift": False}
HOST = "dc02"


@pytest.fixture
def builds(monkeypatch):
    """The number of summaries built (calls of _summary.host_summary) since the fixture started."""
    calls = []
    real = summary.host_summary

    def counting(*args, **kwargs):
        calls.append(args[0] if args else kwargs.get("host"))
        return real(*args, **kwargs)

    monkeypatch.setattr(summary, "host_summary", counting)
    return calls


def _job_result(probe: bool = True) -> dict:
    """The atp_proxy_job result as the role registers it: one account drifted and written, the job's summary in it
    (built as the action builds it, from its own result)."""
    proxy = fx.proxy_result([fx.target(fx.SYSTEM, "identical"), fx.target(fx.LOCAL_SERVICE, "different", fx.OLD)],
                            write=True, backup=fx.BACKUP % ("20261122", 2), summary_options=dict(OPTIONS, probe=probe))
    return dict(proxy, summary=summary.from_results(HOST, proxy))


def _probes(outcome: str = "proxy_auth_required", status: int = 407) -> list:
    return [fx.probe("LocalService", [(fx.PING, outcome, status)]), fx.healthy("SYSTEM")]


def _full_build(proxy: dict, probes: list) -> dict:
    """What building the summary again from the same results gives (the answer reuse must keep)."""
    options = {k: v for k, v in proxy["summary_options"].items() if k != "probe"}
    return summary.host_summary(HOST, check_mode=proxy["check_mode"], proxy=proxy, probes=probes, **options)


def test_the_jobs_summary_gets_the_probes_results_without_a_second_build(builds):
    proxy, probes = _job_result(), _probes()
    del builds[:]
    got = summary.from_results(HOST, proxy, {"accounts": probes})
    assert builds == []
    assert got == _full_build(proxy, probes)
    assert [p["account"] for p in got["probe"]] == ["LocalService", "SYSTEM"]
    assert "LocalService UNREACHABLE (proxy_auth_required" in got["line"]
    assert got["fail"] and got["fail"][0].endswith("(atp_proxy_fail_on_unreachable)")
    assert got["outcome"]["failed"] is True
    assert proxy["summary"]["probe"] == [] and proxy["summary"]["fail"] == []  # the job's own summary is untouched


def test_without_the_probe_the_jobs_summary_is_the_answer(builds):
    proxy = _job_result(probe=False)
    del builds[:]
    got = summary.from_results(HOST, proxy, {"accounts": _probes()})  # an earlier run's probe results stay ignored
    assert got is proxy["summary"]
    assert builds == []
    assert got == _full_build(proxy, [])


def test_a_summary_the_role_recorded_for_this_run_is_returned_as_recorded(builds):
    proxy, probes = _job_result(), _probes()
    recorded = summary.from_results(HOST, proxy, {"accounts": probes})  # the role's last step (atp_proxy_host_summary)
    hostvars = {"atp_proxy_result": proxy, "atp_proxy_probe_results": {"accounts": probes},
                "atp_proxy_summary": recorded}
    del builds[:]
    assert summary.row_for(HOST, hostvars) is recorded
    assert builds == []


def test_an_earlier_runs_recorded_summary_is_not_reused(builds):
    proxy = _job_result()
    earlier = summary.from_results(HOST, proxy, {"accounts": _probes()})
    probes = _probes("reachable", 200)  # this run's probe reached everything
    got = summary.row_for(HOST, {"atp_proxy_result": proxy, "atp_proxy_probe_results": {"accounts": probes},
                                 "atp_proxy_summary": earlier})
    assert got is not earlier
    assert got == _full_build(proxy, probes)
    assert got["fail"] == [] and "UNREACHABLE" not in got["line"]


def test_a_job_that_ended_before_its_summary_is_summarized_from_its_result(builds):
    dropped = {"unreachable": True, "msg": "The connection to the host dropped during reg import",
               "written": [fx.SYSTEM], "dropped_at": "during reg import", "summary_options": OPTIONS}
    got = summary.row_for(HOST, {"atp_proxy_result": dropped})
    assert builds == [HOST]
    assert got["status"] == "unreachable" and got["written"] == [fx.SYSTEM]


def test_another_hosts_summary_is_never_reused(builds):
    proxy = _job_result()
    del builds[:]
    got = summary.from_results("dc09", proxy, {"accounts": _probes()})
    assert builds == ["dc09"] and got["host"] == "dc09"


def test_the_report_makes_its_rows_ready_once(tmp_path, monkeypatch):
    """gather, then publish with its three files: each row is masked once, not again by publish and by the view."""
    rows = fx.kinds()
    scrubbed = []
    real = redaction.scrub

    def counting(value):
        if isinstance(value, dict) and "host" in value:
            scrubbed.append(value["host"])
        return real(value)

    monkeypatch.setattr(redaction, "scrub", counting)
    gathered = report_files.gather(rows)
    result = report_files.publish(gathered["rows"], str(tmp_path), generated="g", sources=gathered["sources"])
    assert sorted(scrubbed) == sorted(r["host"] for r in rows)
    assert result["hosts"] == len(rows) and set(result["files"]) == {"json", "markdown", "html"}


def test_a_loop_over_become_user_registers_the_same_probes_as_the_accounts_option(builds):
    # The role registers the accounts option's result (its accounts); a playbook that loops the module over
    # become_user registers a loop's results: both give the same summary.
    proxy, probes = _job_result(), _probes()
    by_option = summary.from_results(HOST, proxy, {"accounts": probes, "changed": False})
    items = [dict(p, item=p["account"], ansible_loop_var="item") for p in probes]
    by_loop = summary.from_results(HOST, proxy, {"results": items, "changed": False, "msg": "All items completed"})
    assert by_option == by_loop == _full_build(proxy, probes)
    assert [p["account"] for p in by_option["probe"]] == ["LocalService", "SYSTEM"]
    assert summary.from_results(HOST, proxy, {"changed": False, "skipped": True}) == proxy["summary"]

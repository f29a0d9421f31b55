# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX job slicing: two ansible-runner jobs over the two slices of a lab inventory, as AWX runs
the slices of a job template with job_slice_count 2, then the merge node, fed the way AWX feeds it.

Each slice's summary and set_stats cover its own hosts; the merge (playbooks/merge_fleet_report.yml) makes one
report and one atp_proxy_fleet out of them, the same as one unsliced job over the whole inventory publishes,
from the set_stats artifacts AWX passes to the workflow's next node, or from the slices' atp_proxy_fleet.json.
"""

from __future__ import annotations

import pytest

from tests._helpers import REPO

from . import _awx
from ._awx_lab import data_dir, dc_job, lab_fleet, run_job, template
from ._report_page import Page

DRIFT = "Defender sensor proxy - drift check"
MERGE = "Defender sensor proxy - merge fleet report"
WORKFLOW_JOB = 500  # the sliced job's workflow job
SLICE_JOBS = (501, 502)


def _sorted_stats(stats: dict) -> dict:
    return {k: (sorted(v) if isinstance(v, list) else v) for k, v in stats.items()}


@pytest.fixture(scope="module")
def sliced(tmp_path_factory):
    """The drift check of 4 DCs in 2 slices (dc01, dc03 | dc02, dc04), and the same check unsliced."""
    base = tmp_path_factory.mktemp("slices")
    with lab_fleet(base, hosts=4) as lab:
        parts = _awx.slices(lab.host_names, 2)
        jobs = []
        for number, (hosts, job_id) in enumerate(zip(parts, SLICE_JOBS, strict=True), 1):
            meta = _awx.meta_vars(job_id, WORKFLOW_JOB, DRIFT)
            jobs.append(dc_job(base / ("slice%d" % number), lab, hosts, DRIFT, "check_atp_proxy.yml", "slice",
                               meta, {"atp_proxy_report_dir": str(base / "reports" / str(job_id))}, check=True))
        whole = dc_job(base / "whole", lab, lab.host_names, DRIFT, "check_atp_proxy.yml", "whole",
                       _awx.meta_vars(499, template_name=DRIFT), {}, check=True)
    return {"base": base, "lab": lab, "parts": parts, "jobs": jobs, "whole": whole}


def test_awx_slices_the_inventory_as_this_test_does():
    assert _awx.slices(["dc01", "dc02", "dc03", "dc04"], 2) == [["dc01", "dc03"], ["dc02", "dc04"]]


def test_each_slice_reports_its_own_hosts(sliced):
    first, second = sliced["jobs"]
    assert sliced["parts"] == [["dc01", "dc03"], ["dc02", "dc04"]]
    # Slice 1 holds the drifted and the unreadable DC: it fails (atp_proxy_fail_on_drift); slice 2 is in sync.
    assert (first["status"], first["rc"]) == ("failed", 2), first["stdout"][-3000:]
    assert (second["status"], second["rc"]) == ("successful", 0), second["stdout"][-3000:]
    one, two = first["artifacts"]["atp_proxy_fleet"], second["artifacts"]["atp_proxy_fleet"]
    assert one["totals"]["hosts"] == 2 and (one["drifted"], one["hive_not_loaded"], one["in_sync"]) == (
        ["dc01"], ["dc03"], [])
    assert two["totals"]["hosts"] == 2 and two["in_sync"] == ["dc02", "dc04"] and two["drifted"] == []
    # And the rows, under a key of each job's own, for the merge node.
    assert [r["host"] for r in first["artifacts"]["atp_proxy_rows_501"]] == ["dc01", "dc03"]
    assert [r["host"] for r in second["artifacts"]["atp_proxy_rows_502"]] == ["dc02", "dc04"]
    # Each slice's report is its own hosts.
    for job_id, hosts in zip(SLICE_JOBS, sliced["parts"], strict=True):
        page = Page((sliced["base"] / "reports" / str(job_id) / "atp_proxy_report.html").read_text())
        assert sorted(page.rows) == hosts


def _merge(sliced, name: str, extra: dict) -> dict:
    artifacts = _awx.artifacts_for_next_node([job["artifacts"] for job in sliced["jobs"]])
    meta = _awx.meta_vars(503, 498, MERGE)
    extravars = _awx.extravars(template(MERGE)["extra_vars"], artifacts, meta, extra)
    pdd = data_dir(sliced["base"] / name, sliced["lab"], sliced["lab"].host_names, extravars)
    job = run_job(pdd, "merge_fleet_report.yml", name)
    job["passed_in"] = artifacts
    return job


def test_the_merge_node_makes_one_fleet_out_of_the_slices_artifacts(sliced):
    report = sliced["base"] / "merged"
    job = _merge(sliced, "merge", {"atp_proxy_report_dir": str(report)})
    # AWX handed it both slices' rows, and the last slice's atp_proxy_fleet only (one key, two slices).
    assert {"atp_proxy_rows_501", "atp_proxy_rows_502"} <= set(job["passed_in"])
    assert job["passed_in"]["atp_proxy_fleet"]["totals"]["hosts"] == 2
    # It ends as the unsliced job did: failed, for dc01 and dc03.
    whole = sliced["whole"]
    assert (whole["status"], job["status"], job["rc"]) == ("failed", "failed", 2), job["stdout"][-3000:]
    assert "2 host(s) ended failed or unreachable: dc01, dc03" in job["stdout"]
    merged = job["artifacts"]["atp_proxy_fleet"]
    assert merged["totals"] == whole["artifacts"]["atp_proxy_fleet"]["totals"]
    assert _sorted_stats(merged) == _sorted_stats(whole["artifacts"]["atp_proxy_fleet"])
    assert merged["totals"]["hosts"] == 4 and sorted(merged["in_sync"]) == ["dc02", "dc04"]
    page = Page((report / "atp_proxy_report.html").read_text())
    assert sorted(page.rows) == ["dc01", "dc02", "dc03", "dc04"]
    assert page.tiles["hosts"] == ("tile neutral", "4") and page.tiles["in_sync"] == ("tile ok", "2")
    assert "merged from 2 jobs" in (report / "atp_proxy_report.html").read_text()
    # The merge job's alert tells the whole fleet.
    alert = _awx.load_awx_yaml(REPO / "awx" / "notification_templates.yml")["atp_awx_notification_templates"][0]
    body = _awx.webhook_body(_awx.render_notification(alert["messages"]["error"]["body"], {
        "id": 503, "name": MERGE, "status": job["status"], "artifacts": job["artifacts"]}))
    assert body["hosts"] == 4 and body["drifted"] == ["dc01"] and body["hive_not_loaded"] == ["dc03"]


def test_the_merge_from_the_slices_fleet_files(sliced):
    """Without AWX artifacts (several ansible-playbook runs over parts of a fleet): the atp_proxy_fleet.json files."""
    job = _merge(sliced, "merge-files", {"atp_proxy_merge_files": [str(sliced["base"] / "reports" / "*")],
                                         "atp_proxy_report_dir": str(sliced["base"] / "merged-files")})
    # Given the artifacts as well, the same hosts come twice: each keeps one row, the fleet is the same.
    assert _sorted_stats(job["artifacts"]["atp_proxy_fleet"]) == _sorted_stats(
        sliced["whole"]["artifacts"]["atp_proxy_fleet"])
    files_only = run_job(data_dir(sliced["base"] / "files-only", sliced["lab"], [], _awx.extravars({}, {
        "atp_proxy_merge_files": [str(sliced["base"] / "reports" / "*")]})), "merge_fleet_report.yml", "files")
    assert _sorted_stats(files_only["artifacts"]["atp_proxy_fleet"]) == _sorted_stats(
        sliced["whole"]["artifacts"]["atp_proxy_fleet"])
    assert files_only["status"] == "failed" and "dc01: drifted" in files_only["stdout"]

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the line, set_stats and the fleet report say must be what happened: a probe that never ran is "not probed"
with its reason, never "reachable" or "probe off"; the report's labels say what they mean (a proxy that did not
answer, a host without a sensor), and a failed sensor host still shows its sensor and its backup."""

from __future__ import annotations

import pytest
import yaml

from tests.awx._report_page import Page
from tests.lab import system_state as ss
from tests.lab.network import WORKSPACE_NAME

from .conftest import CHECK, CONFIGURE, NO_PROBE, PROXY, summary_lines

pytestmark = [pytest.mark.lab]

OLD = {"proxy_server": "old.corp:3128"}


def fleet_stats(run) -> dict:
    found = [r for r in run.results if r["task"].endswith("Publish the summary to AWX (set_stats)")]
    assert found, "set_stats did not run"
    return found[-1]["result"]["ansible_stats"]["data"]["atp_proxy_fleet"]


def lines(run) -> dict:
    return {text.split(":", 1)[0]: text for text in summary_lines(run)}


def row(page: Page, host: str) -> dict:
    """The report row's cells by their class (the first word of it)."""
    return {(css.split() or [""])[0]: text for css, attrs, text in page.rows[host]["cells"]}


def test_a_probe_that_never_ran_is_not_probed_everywhere(lab, tmp_path):
    """dc02 loses its connection at its first probe request; dc01 does not probe (atp_proxy_probe: false)."""
    (lab.dir / "host_vars").mkdir(exist_ok=True)
    (lab.dir / "host_vars" / "dc01.yml").write_text(yaml.safe_dump({"atp_proxy_probe": False}))
    for name in ("dc01", "dc02"):
        lab.host(name).set_proxy("user", PROXY)
        lab.host(name).seed({"LocalService": OLD})
    lab.reset_ledgers()
    lab.host("dc02").set_fault("drop_after", 1)  # the state query, then the probe's first win_uri drops
    report = tmp_path / "report"
    run = lab.run_playbook(CHECK, extra_vars={"atp_proxy_hosts": "dc01:dc02", "atp_proxy_workspace": WORKSPACE_NAME,
                                              "atp_proxy_report_dir": str(report)})
    assert run.stats["dc02"]["unreachable"] == 1, run.stdout[-3000:]
    text = lines(run)["dc02"]
    assert "probe LocalService not probed (the connection dropped: " in text, text
    assert "SYSTEM not probed (the connection dropped while probing LocalService)" in text, text
    assert "reachable" not in text.split("probe ", 1)[1]
    # the host ends unreachable in the summary too, with what the job had found (a drift check: drifted)
    assert text.startswith("dc02: unreachable;") and text.endswith("the job had finished before (drifted)"), text
    stats = fleet_stats(run)
    assert [p["account"] for p in stats["not_probed"]["dc02"]] == ["LocalService", "SYSTEM"]
    assert "dc02" not in stats["probe_failed"] and stats["totals"]["not_probed"] == 1
    page = Page((report / "atp_proxy_report.html").read_text())
    assert page.tiles["endpoints"] == ("tile bad", "not probed"), page.tiles
    assert "not_probed" in page.rows["dc02"]["attrs"]["data-flags"]
    assert any("The probe gave no verdict for LocalService: the connection dropped" in c["text"] for c in page.causes)
    assert "not probed" in (report / "atp_proxy_report.md").read_text()


def test_report_labels_say_what_they_mean(lab, tmp_path, sensor_api, proxy, crl_server):
    # dc01: no sensor, its accounts point at a proxy that does not answer. dc02: a v2 sensor whose updater will not
    # start again, so the change of its own file is rolled back and the host fails; its backup exists.
    dc01, dc02 = lab.host("dc01"), lab.host("dc02")
    for host in (dc01, dc02):
        host.set_proxy("user", PROXY)
    dc01.seed({"SYSTEM": {"proxy_server": "gone.corp:3128"}, "LocalService": {"proxy_server": "gone.corp:3128"}})
    ss.seed_v2_sensor(dc02, workspace=WORKSPACE_NAME)
    ss.fail_to_start(dc02, ss.UPDATER_SERVICE, times=1)
    report = tmp_path / "report"
    checked = lab.run_playbook(CHECK, extra_vars={"atp_proxy_hosts": "dc01", "atp_proxy_workspace": WORKSPACE_NAME,
                                                  "atp_proxy_report_dir": str(report)})
    page = Page((report / "atp_proxy_report.html").read_text())
    cells = " ".join(text for css, attrs, text in page.rows["dc01"]["cells"])
    assert "proxy down" in cells and "no proxy" not in cells, cells  # the account has a proxy; it did not answer
    assert row(page, "dc01")["sensor"].startswith("no sensor"), row(page, "dc01")
    assert "not installed" not in (report / "atp_proxy_report.md").read_text()
    assert "proxy_unreachable" in lines(checked)["dc01"]

    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc02", atp_proxy_source="settings",
                                                      atp_proxy_settings=PROXY, atp_proxy_report_dir=str(report)))
    assert run.rc == 2 and run.stats["dc02"]["failures"] == 1, run.stdout[-3000:]
    (backup,) = dc02.find_files("C:\\ProgramData\\atp.sensor_proxy\\backups", "SensorConfiguration.json")
    assert "backup %s" % backup in lines(run)["dc02"]
    page = Page((report / "atp_proxy_report.html").read_text())
    cells = row(page, "dc02")
    assert cells["sensor"].startswith("SensorConfiguration.json"), cells
    assert page.rows["dc02"]["cells"][[c.split()[0] if c else "" for c, a, t in page.rows["dc02"]["cells"]]
                                      .index("backup")][1].get("title") == backup
    assert fleet_stats(run)["backups"] == {"dc02": backup}


def test_a_sensor_config_line_names_its_backup(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    ss.seed_v2_sensor(host)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_source="settings",
                                                      atp_proxy_settings=PROXY))
    assert run.rc == 0, run.stdout[-3000:]
    (backup,) = host.find_files("C:\\ProgramData\\atp.sensor_proxy\\backups", "SensorConfiguration.json")
    assert "restarted AATPSensorUpdater; backup %s" % backup in lines(run)["dc01"], lines(run)["dc01"]

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report in headless Chromium, offline: screenshots, sorting and filtering, the Content-Security-Policy.

The screenshots committed under docs/images/ are the ones these tests take (looked at, not only measured):
``ATP_UPDATE_SCREENSHOTS=1 pytest tests/awx/test_fleet_report_browser.py`` writes them there again.
"""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _render as render
from tests._helpers import REPO

from . import _report_fixtures as fx
from ._png import read_png
from ._report_page import AMBER, BLUE, CHROMIUM, GREEN, RED, Page, dump_dom, pixel_share, screenshot

GENERATED = "2026-12-01 08:20:00 UTC"
IMAGES = REPO / "docs" / "images"
SIZE = (1400, 1000)


def _keep(png, name):
    if os.environ.get("ATP_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(png, IMAGES / name)


@pytest.fixture(scope="module")
def fleet_page(tmp_path_factory):
    """The 500-host report, rendered once; the render time and size are what the README states."""
    assert shutil.which(CHROMIUM), "Debian's chromium package is needed (apt-get install -y chromium)"
    rows = fx.fleet(500)
    started = time.perf_counter()
    text = render.render(rows, "html", generated=GENERATED)
    elapsed = time.perf_counter() - started
    path = tmp_path_factory.mktemp("fleet") / "atp_proxy_report.html"
    path.write_text(text, encoding="utf-8")
    return {"path": path, "rows": rows, "text": text, "seconds": elapsed}


def test_500_host_report_renders_fast_and_stays_small(fleet_page):
    assert fleet_page["seconds"] < 3.0, fleet_page["seconds"]
    size = len(fleet_page["text"].encode())
    assert size < 1_000_000, "a 500-host page of %d bytes" % size
    assert len(Page(fleet_page["text"]).rows) == 500


def test_500_host_screenshot_is_readable(fleet_page, tmp_path):
    """Tiles, then the causes, then the table, whose last endpoint column is on screen (no horizontal scrolling at
    1400 px), in the state colours of the stylesheet."""
    png = screenshot(fleet_page["path"], tmp_path / "fleet_report.png", tmp_path / "profile", SIZE)
    width, height, rows = read_png(png)
    assert (width, height) == SIZE
    assert png.stat().st_size > 60_000, "a blank page compresses to a few KB"
    table = (0, 650, width, height)
    assert pixel_share(rows, GREEN, table) > 0.15, "the in-sync cells are green"
    assert pixel_share(rows, RED, table) > 0.005, "the blocked CRL cells are red"
    assert pixel_share(rows, BLUE, table) > 0.002, "the changed accounts are blue"
    last_column = (width - 90, 650, width - 30, height)
    assert pixel_share(rows, GREEN, last_column) > 0.2, "the last endpoint column is cut off"
    _keep(png, "fleet_report.png")


def test_small_report_with_every_kind_of_host(tmp_path):
    """In sync, changed, would change, drifted, hive not loaded, failed, unreachable with a partial write and a
    backup, and a host that recorded nothing: each in its colour, on one screen."""
    page = tmp_path / "atp_proxy_report.html"
    page.write_text(render.render(fx.kinds(), "html", generated=GENERATED), encoding="utf-8")
    png = screenshot(page, tmp_path / "fleet_report_kinds.png", tmp_path / "profile", (1400, 1200))
    width, height, rows = read_png(png)
    table = (0, 640, width, height)
    for colour, what in ((GREEN, "in sync"), (BLUE, "changed"), (AMBER, "would change / drifted"), (RED, "failed")):
        assert pixel_share(rows, colour, table) > 0.01, what
    _keep(png, "fleet_report_kinds.png")


def test_a_shared_link_shows_only_the_problems_worst_first(fleet_page, tmp_path):
    """#problems=1&sort=Status: only the hosts that need a fix, unreachable first (the filter is in the link)."""
    png = screenshot(fleet_page["path"], tmp_path / "fleet_report_problems.png", tmp_path / "profile", (1400, 1400),
                     fragment="#problems=1&sort=Status")
    width, height, rows = read_png(png)
    table = (0, 700, width, height)
    assert pixel_share(rows, GREEN, table) < 0.5 * pixel_share(
        read_png(screenshot(fleet_page["path"], tmp_path / "all.png", tmp_path / "profile", (1400, 1400)))[2],
        GREEN, table), "the in-sync hosts are filtered out"
    _keep(png, "fleet_report_problems.png")


def _visible(dom: str) -> list:
    return [m.group(1) for m in re.finditer(r'<tr data-host="([^"]+)"(?![^>]*\bhidden\b)[^>]*>', dom)]


def test_the_script_runs_under_the_policy_and_filters_by_status(fleet_page, tmp_path):
    dom = dump_dom(fleet_page["path"], tmp_path / "profile", "#status=failed,unreachable")
    assert 'data-report-ready="500"' in dom, "the page's script did not run"
    want = [r["host"] for r in fleet_page["rows"] if r["status"] in ("failed", "unreachable")]
    assert sorted(_visible(dom)) == sorted(want) and want
    assert "Showing %d of 500 hosts" % len(want) in dom
    assert re.search(r'data-total="failed"[^>]*aria-pressed="true"', dom)


def test_sort_by_status_puts_what_needs_a_fix_first(fleet_page, tmp_path):
    dom = dump_dom(fleet_page["path"], tmp_path / "profile", "#sort=Status&dir=asc")
    order = _visible(dom)
    assert len(order) == 500
    status = {r["host"]: r["status"] for r in fleet_page["rows"]}
    ranks = ["unreachable", "failed", "hive_not_loaded", "drifted", "would_change", "changed", "in_sync"]
    seen = [ranks.index(status[h]) for h in order]
    assert seen == sorted(seen) and status[order[0]] == "unreachable" and status[order[-1]] == "in_sync"
    descending = _visible(dump_dom(fleet_page["path"], tmp_path / "profile", "#sort=Host&dir=desc"))
    assert descending == sorted(descending, reverse=True)


def test_filter_by_cause_text_and_problems(fleet_page, tmp_path):
    rows = fleet_page["rows"]
    page = Page(fleet_page["text"])
    blocked = page.cause_of("Allow crl.microsoft.com on the proxy")
    dom = dump_dom(fleet_page["path"], tmp_path / "profile", "#cause=%s" % blocked["number"])
    want = [r["host"] for r in rows if any(res["outcome"] == "blocked_by_proxy" for p in r["probe"]
                                           for res in p["results"])]
    assert sorted(_visible(dom)) == sorted(want)
    dom = dump_dom(fleet_page["path"], tmp_path / "profile", "#q=dc01")
    assert _visible(dom) and all("dc01" in h for h in _visible(dom))
    dom = dump_dom(fleet_page["path"], tmp_path / "profile", "#problems=1")
    healthy = {r["host"] for r in rows if r["status"] in ("in_sync", "changed") and all(
        p["all_reachable"] for p in r["probe"])}
    assert _visible(dom) and not healthy & set(_visible(dom))


def test_a_script_the_policy_does_not_name_never_runs(fleet_page, tmp_path):
    """The hash pins the script: change one character and Chromium refuses to run it (nothing else could run)."""
    text = fleet_page["text"].replace('setAttribute("data-report-ready"', 'setAttribute("data-report-READY"')
    tampered = tmp_path / "tampered.html"
    tampered.write_text(text, encoding="utf-8")
    dom = dump_dom(tampered, tmp_path / "profile")
    assert 'data-report-READY="' not in dom and 'data-report-ready="' not in dom
    assert len(_visible(dom)) == 500, "without the script every row stays visible"


def test_a_fleet_of_sensors_keeps_every_endpoint_column_on_screen(tmp_path):
    """A review found the endpoint columns pushed off screen at 1400 px on a fleet with sensors: the evidence lines of
    "Sensor connected?" did not wrap (a URL and an outcome in each). They wrap now (long URLs too), a good answer
    keeps its evidence in the cell's title, and an endpoint cell's outcome may wrap."""
    rows = fx.fleet(40)
    api = "https://contoso-corpsensorapi.atp.azure.com/tri/sensor/api/ping"
    last = [r["url"] for r in rows[0]["probe"][0]["results"]][-1]
    for row in rows:
        row["sensor"] = {"installed": True, "generation": "v2", "version": "2.240", "warnings": []}
        text = "%s: proxy_unreachable as LocalService" % api
        row["connected"] = {"connected": "unknown", "why": "no service evidence",
                            "evidence": {"probe": {"ok": False, "text": text}}}
        for probe in row.get("probe") or []:  # the last endpoint column, and only it, is red
            for result in probe.get("results") or []:
                if result["url"] == last:
                    result.update(outcome="blocked_by_proxy", status=403, hint="Allow it on the proxy")
    page = tmp_path / "atp_proxy_report.html"
    page.write_text(render.render(rows, "html", generated=GENERATED), encoding="utf-8")
    assert "Sensor connected?" in page.read_text()
    png = screenshot(page, tmp_path / "sensors.png", tmp_path / "profile", SIZE)
    width, height, pixels = read_png(png)
    right_edge = (width - 70, 650, width - 30, height)
    assert pixel_share(pixels, RED, right_edge) > 0.2, "the last endpoint column is cut off"

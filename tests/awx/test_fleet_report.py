# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report: content (filter and real playbook runs) and a headless Chromium screenshot."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser

import pytest

from ansible_collections.atp.sensor_proxy.plugins.filter.fleet_report import fleet_report

from ._helpers import REPO, ansible_env, read_png, run, sample_summaries, tool

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class _Cells(HTMLParser):
    """Collect rows of the hosts table as {host: [(class, data-*, text)]} and the totals."""

    def __init__(self):
        super().__init__()
        self.rows, self.totals, self.tags = {}, {}, []
        self._row = self._cell = self._total = None
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "tr" and "data-host" in attrs:
            self._row = attrs["data-host"]
            self.rows[self._row] = []
        elif tag == "td" and self._row is not None:
            self._cell, self._text = attrs, []
        elif tag == "li" and "data-total" in attrs:
            self._total, self._text = attrs["data-total"], []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[self._row].append((self._cell.get("class"), self._cell, " ".join(self._text)))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "li" and self._total is not None:
            self.totals[self._total] = self._text[0]
            self._total = None

    def handle_data(self, data):
        if data.strip():
            self._text.append(data.strip())


def _parse(page: str) -> _Cells:
    parser = _Cells()
    parser.feed(page)
    return parser


def _cell(parser, host, **match):
    for css, attrs, text in parser.rows[host]:
        if all(attrs.get(k) == v for k, v in match.items()):
            return css, text
    raise AssertionError("no cell %r for %s in %r" % (match, host, parser.rows[host]))


def assert_self_contained(page: str) -> None:
    lowered = page.lower()
    for needle in ("<script", "<link", "<img", "<iframe", "@import", "url(", "@font-face", " src="):
        assert needle not in lowered, "the report must not load anything (%s found)" % needle
    assert "default-src 'none'" in page


def test_html_rows_totals_and_escaping():
    page = fleet_report(sample_summaries() + [{"host": "dc05"}], generated="2026-11-22 10:15:00 UTC")
    assert page.startswith("<!DOCTYPE html>")
    assert_self_contained(page)
    parsed = _parse(page)
    assert parsed.totals == {
        "hosts": "5", "in_sync": "1", "changed": "1", "would_change": "0", "drifted": "1",
        "hive_not_loaded": "1", "failed": "1", "probe_failed": "2", "endpoints": "3/5", "backups_written": "2",
    }
    assert list(parsed.rows) == ["dc01", "dc02", "dc03", "<dc04 & co>", "dc05"]
    ping = "https://contososensorapi.atp.azure.com/tri/sensor/api/ping"
    assert _cell(parsed, "dc01", **{"data-sid": "S-1-5-18"})[0] == "ok"
    assert _cell(parsed, "dc02", **{"data-sid": "S-1-5-19"}) == ("change", "changed before: different")
    assert _cell(parsed, "dc03", **{"data-sid": "S-1-5-19"})[1].startswith("hive not loaded")
    assert _cell(parsed, "dc03", **{"data-sid": "S-1-5-18"})[0] == "change"
    assert _cell(parsed, "<dc04 & co>", **{"data-sid": "S-1-5-18"})[1].startswith("drifted")
    css, text = _cell(parsed, "dc02", **{"data-url": ping})
    assert css == "bad" and "proxy_auth_required" in text and "407" in text and "bypass auth <for>" in text
    assert _cell(parsed, "dc01", **{"data-url": ping})[0] == "ok"
    assert _cell(parsed, "dc03", **{"data-url": ping}) == ("off", "not probed")
    assert _cell(parsed, "dc05", **{"data-status": "failed"})[1].startswith("failed")
    assert "atp_proxy_20261122T101500Z.reg" in " ".join(t for _c, _a, t in parsed.rows["dc02"])
    # Data is escaped: the hint's markup is text, never a tag.
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<dc04" not in page and "&lt;dc04 &amp; co&gt;" in page
    assert not any(tag == "script" for tag, dummy in parsed.tags)


def test_markdown_twin():
    text = fleet_report(sample_summaries(), format="markdown", generated="2026-11-22 10:15:00 UTC")
    assert text.startswith("# atp.sensor_proxy fleet report\n")
    assert "- **Hosts**: 4" in text and "- **Probe failed**: 2" in text and "- **Endpoints reachable**: 3/5" in text
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split(" | ")]
    assert header[:6] == ["Host", "Status", "LocalSystem", "LocalService", "Backup written", "MDE (WinHTTP)"]
    rows = {r.split(" | ")[0][2:]: r for r in lines[1:]}
    assert set(rows) == {"dc01", "dc02", "dc03", "&lt;dc04 &amp; co&gt;"}
    assert "✅ in sync" in rows["dc01"] and "🔄 changed" in rows["dc02"]
    assert "❌ hive not loaded" in rows["dc03"] and "⚠️ drifted" in rows["&lt;dc04 &amp; co&gt;"]
    assert "❌ LocalService: proxy_auth_required 407" in rows["dc02"]
    # Every row has as many cells as the header (pipes in data are escaped).
    assert all(len(re.split(r"(?<!\\)\|", r)) == len(re.split(r"(?<!\\)\|", lines[0])) for r in lines)


def test_unknown_format_is_an_error():
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="html' or 'markdown"):
        fleet_report(sample_summaries(), format="pdf")


PLAY = """
- name: Summaries as the role leaves them, then the report task file
  hosts: fleet
  gather_facts: false
  tasks:
    - name: Set atp_proxy_summary as the role does
      ansible.builtin.set_fact:
        atp_proxy_summary: "{{ summaries[inventory_hostname] }}"
      when: inventory_hostname in summaries

    - name: Fleet report
      ansible.builtin.include_tasks: "%s/playbooks/tasks/fleet_report.yml"
"""


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
def test_task_file_writes_report_in_a_real_playbook_run(tmp_path, check_mode):
    """playbooks/tasks/fleet_report.yml through ansible-playbook: hostvars in, two files out."""
    summaries = {s["host"]: s for s in sample_summaries()[:3]}
    (tmp_path / "summaries.json").write_text(json.dumps({"summaries": summaries}))
    (tmp_path / "play.yml").write_text(PLAY % REPO)
    (tmp_path / "hosts.ini").write_text(
        "[fleet]\ndc01\ndc02\ndc03\ndc09\n\n[fleet:vars]\nansible_connection=local\n"
        "ansible_python_interpreter='{{ ansible_playbook_python }}'\n")
    report_dir = tmp_path / "report out"
    cmd = [tool("ansible-playbook"), "-i", tmp_path / "hosts.ini", tmp_path / "play.yml",
           "-e", "@%s" % (tmp_path / "summaries.json"), "-e", json.dumps({"atp_proxy_report_dir": str(report_dir)})]
    if check_mode:
        cmd.append("--check")
    proc = run(cmd, env=ansible_env(tmp=tmp_path))
    assert "dc09" in proc.stdout
    html_page = (report_dir / "atp_proxy_report.html").read_text()
    markdown = (report_dir / "atp_proxy_report.md").read_text()
    assert_self_contained(html_page)
    parsed = _parse(html_page)
    # ansible_play_hosts_all order, and dc09 (no summary) is reported as failed.
    assert list(parsed.rows) == ["dc01", "dc02", "dc03", "dc09"]
    assert parsed.totals["hosts"] == "4" and parsed.totals["failed"] == "1" and parsed.totals["changed"] == "1"
    assert _cell(parsed, "dc09", **{"data-status": "failed"})[0] == "bad"
    assert "| dc02 | 🔄 changed |" in markdown and "| dc09 | ❌ failed" in markdown


def test_task_file_does_nothing_without_report_dir(tmp_path):
    (tmp_path / "play.yml").write_text(PLAY % REPO)
    (tmp_path / "hosts.ini").write_text("[fleet]\ndc01\n\n[fleet:vars]\nansible_connection=local\n"
                                        "ansible_python_interpreter='{{ ansible_playbook_python }}'\n")
    proc = run([tool("ansible-playbook"), "-i", tmp_path / "hosts.ini", tmp_path / "play.yml",
                "-e", json.dumps({"summaries": {}})], env=ansible_env(tmp=tmp_path), cwd=tmp_path)
    assert "Write the fleet report" not in proc.stdout or "skipping" in proc.stdout
    assert not list(tmp_path.rglob("atp_proxy_report.*"))


def _pixel_share(rows, colour, tolerance=6):
    hits = total = 0
    for row in rows[::3]:
        for pixel in row[::3]:
            total += 1
            if all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True)):
                hits += 1
    return hits / total


def screenshot(page_path, png_path, user_data_dir):
    proc = run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                "--user-data-dir=%s" % user_data_dir, "--screenshot=%s" % png_path, "--window-size=1400,900",
                page_path.as_uri()], timeout=120, check=False)
    assert png_path.exists(), "chromium wrote no screenshot: rc=%s\n%s" % (proc.returncode, proc.stderr[-3000:])


def test_report_renders_in_headless_chromium(tmp_path):
    """A person can look at it: Chromium, offline, paints the coloured cells."""
    assert shutil.which(CHROMIUM), "Debian's chromium package is needed (apt-get install -y chromium)"
    page = tmp_path / "atp_proxy_report.html"
    page.write_text(fleet_report(sample_summaries(), generated="2026-11-22 10:15:00 UTC"))
    png = tmp_path / "fleet_report.png"
    screenshot(page, png, tmp_path / "chromium-profile")
    width, height, rows = read_png(png)
    assert (width, height) == (1400, 900)
    assert png.stat().st_size > 20_000, "a blank page compresses to a few KB"
    # The state colours of the stylesheet are really painted.
    assert _pixel_share(rows, (0xDA, 0xFB, 0xE1)) > 0.002, "no green (in sync / reachable) cells"
    assert _pixel_share(rows, (0xFF, 0xEB, 0xE9)) > 0.002, "no red (failed / unreachable) cells"
    assert _pixel_share(rows, (0xDD, 0xF4, 0xFF)) > 0.001, "no blue (changed) cells"
    assert _pixel_share(rows, (0xFF, 0xFF, 0xFF)) < 0.98

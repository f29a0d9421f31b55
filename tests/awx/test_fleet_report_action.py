# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""atp.sensor_proxy.atp_proxy_fleet_report through ansible-playbook, and playbooks/tasks/fleet_report.yml.

The files are written on the controller, atomically, in check mode too; the module never connects to a host;
several runs' rows merge into one report.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import yaml

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _files as report_files
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _render as render
from tests._helpers import REPO, ansible_env, run, tool

from . import _report_fixtures as fx
from ._report_page import Page

FILES = ("atp_proxy_report.html", "atp_proxy_report.md", "atp_proxy_fleet.json")
# A host whose connection would fail at once if anything tried to reach it.
UNREACHABLE_HOST = ("dc-nowhere ansible_connection=winrm ansible_host=127.0.0.1 ansible_port=1 "
                    "ansible_user=nobody ansible_password=x ansible_winrm_transport=basic ansible_winrm_scheme=http")


def playbook(tmp_path, play: str, inventory: str = "localhost ansible_connection=local\n", extra=(), check=False,
             env=None):
    (tmp_path / "play.yml").write_text(play)
    (tmp_path / "hosts.ini").write_text(inventory + "\n[all:vars]\nansible_python_interpreter='{{ ansible_playbook_python }}'\n")
    cmd = [tool("ansible-playbook"), "-i", tmp_path / "hosts.ini", tmp_path / "play.yml"]
    for item in extra:
        cmd += ["-e", item]
    if check:
        cmd.append("--check")
    return run(cmd, env=ansible_env(tmp=tmp_path, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", **(env or {})),
               check=False, cwd=tmp_path)


def task_results(proc, name: str) -> dict:
    data = json.loads(proc.stdout[proc.stdout.index("{"):])
    for play in data["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == name:
                return task["hosts"]
    raise AssertionError("task %r did not run:\n%s" % (name, proc.stdout[-3000:]))


WRITE = """
- name: Write the fleet report
  hosts: {hosts}
  gather_facts: false
  tasks:
    - name: Report
      atp.sensor_proxy.atp_proxy_fleet_report:
        rows: "{{{{ rows }}}}"
        dest: "{{{{ dest }}}}"
      register: written
"""


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
def test_writes_three_files_atomically_in_check_mode_too(tmp_path, check_mode):
    dest = tmp_path / "report out"
    (tmp_path / "rows.json").write_text(json.dumps({"rows": fx.kinds(), "dest": str(dest)}))
    proc = playbook(tmp_path, WRITE.format(hosts="localhost"), extra=["@%s" % (tmp_path / "rows.json")],
                    check=check_mode)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    result = task_results(proc, "Report")["localhost"]
    assert result["changed"] is False and result["check_mode"] is check_mode
    assert result["files"] == {"html": str(dest / FILES[0]), "markdown": str(dest / FILES[1]),
                               "json": str(dest / FILES[2])}
    assert sorted(os.listdir(dest)) == sorted(FILES), "no temporary file is left behind"
    for name in FILES:
        assert stat.S_IMODE((dest / name).stat().st_mode) == 0o644
    assert result["hosts"] == 8 and result["totals"]["partial"] == 1 and result["totals"]["backups_written"] == 2
    assert set(result["failing"]) == {"dc06", "dc07", "dc08"}
    assert result["stats"]["unreachable"] == ["dc07", "dc08"]
    assert len(result["lines"]) == 8 and result["lines"][1].startswith("dc02: changed; wrote LocalService")
    page = Page((dest / FILES[0]).read_text())
    assert list(page.rows) == [r["host"] for r in fx.kinds()]
    saved = json.loads((dest / FILES[2]).read_text())
    assert saved["kind"] == "atp.sensor_proxy fleet" and [r["host"] for r in saved["rows"]] == list(page.rows)
    assert "| dc02 | 🔄 changed |" in (dest / FILES[1]).read_text()


def test_never_connects_to_the_host_it_runs_for(tmp_path):
    """Without delegate_to, on a host nothing could connect to: the report is written, the host is not touched."""
    dest = tmp_path / "r"
    (tmp_path / "rows.json").write_text(json.dumps({"rows": fx.kinds()[:2], "dest": str(dest)}))
    proc = playbook(tmp_path, WRITE.format(hosts="dc-nowhere"), inventory=UNREACHABLE_HOST + "\n",
                    extra=["@%s" % (tmp_path / "rows.json")])
    assert proc.returncode == 0, proc.stdout[-4000:]
    result = task_results(proc, "Report")["dc-nowhere"]
    assert not result.get("unreachable") and result["round_trips"] == 0
    assert (dest / FILES[0]).is_file()


def test_a_replaced_report_is_never_half_written(tmp_path, monkeypatch):
    """The old file stays whole for a reader that has it open; a failure mid-way leaves the old report and no
    temporary file."""
    report_files.publish(fx.kinds()[:2], str(tmp_path), generated="first")
    html = tmp_path / FILES[0]
    reader = html.open(encoding="utf-8")
    before_inode = html.stat().st_ino
    report_files.publish(fx.kinds(), str(tmp_path), generated="second")
    assert html.stat().st_ino != before_inode, "replaced by a rename, not rewritten in place"
    assert "first" in reader.read() and "second" in html.read_text()
    reader.close()

    original = render.render_view

    def broken(view, fmt):
        if fmt == "html":
            raise OSError("disk full")
        return original(view, fmt)

    monkeypatch.setattr(render, "render_view", broken)
    with pytest.raises(UsageError, match="dest: cannot write the fleet report into .*: disk full"):
        report_files.publish(fx.kinds()[:1], str(tmp_path), generated="third")
    assert "second" in html.read_text()
    assert sorted(os.listdir(tmp_path)) == sorted(FILES)


MERGE = """
- name: Merge
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Merge
      atp.sensor_proxy.atp_proxy_fleet_report:
        files: "{{ files }}"
        slices: "{{ slices | default({}) }}"
        dest: "{{ dest }}"
"""


def test_merges_files_and_slices_and_names_what_is_missing(tmp_path):
    rows = fx.kinds()
    report_files.publish(rows[:3], str(tmp_path / "site1"), generated="g")
    report_files.publish(rows[3:5], str(tmp_path / "site2"), generated="g")
    # dc06 again in a later job (job 12 ran after job 9, although "12" < "9" as text): it keeps that row.
    newer = fx.host("dc06", proxy=fx.proxy_result([fx.target(fx.SYSTEM, "identical")], write=True))
    args = {"files": [str(tmp_path / "site1" / FILES[2]), str(tmp_path / "site2")], "dest": str(tmp_path / "all"),
            "slices": {"atp_proxy_rows_12": [newer], "atp_proxy_rows_9": rows[5:]}}
    (tmp_path / "args.json").write_text(json.dumps(args))
    proc = playbook(tmp_path, MERGE, extra=["@%s" % (tmp_path / "args.json")])
    assert proc.returncode == 0, proc.stdout[-4000:]
    result = task_results(proc, "Merge")["localhost"]
    assert result["sources"] == 4 and result["hosts"] == 8 and result["duplicates"] == ["dc06"]
    page = Page((tmp_path / "all" / FILES[0]).read_text())
    assert page.rows["dc06"]["attrs"]["data-status"] == "in_sync"
    assert sorted(page.rows) == sorted(r["host"] for r in rows)
    assert "merged from 4 jobs" in (tmp_path / "all" / FILES[0]).read_text()

    args["files"] = [str(tmp_path / "site*" / FILES[2]), str(tmp_path / "site9*" / FILES[2])]
    (tmp_path / "args.json").write_text(json.dumps(args))
    proc = playbook(tmp_path, MERGE, extra=["@%s" % (tmp_path / "args.json")])
    assert proc.returncode == 2
    result = task_results(proc, "Merge")["localhost"]
    assert result["failed"] and "no file matches %s" % (tmp_path / "site9*" / FILES[2]) in result["msg"]


# ---------------------------------------------------------------------------
# playbooks/tasks/fleet_report.yml
# ---------------------------------------------------------------------------
PLAY = """
- name: Summaries as the role leaves them, then the report task file
  hosts: fleet
  gather_facts: false
  tasks:
    - name: Set atp_proxy_summary as the role does
      ansible.builtin.set_fact:
        atp_proxy_summary: "{{{{ summaries[inventory_hostname] }}}}"
      when: inventory_hostname in summaries

    - name: Fleet report
      ansible.builtin.include_tasks: "{repo}/playbooks/tasks/fleet_report.yml"
"""
FLEET = "[fleet]\ndc01\ndc02\ndc03\ndc09\n\n[fleet:vars]\nansible_connection=local\n"


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
def test_task_file_writes_the_report_in_a_real_playbook_run(tmp_path, check_mode):
    """hostvars in, three files out; --check too (the task file has no check_mode: false, which AWX Check jobs
    skip); dc09 recorded no summary and is reported unreachable."""
    summaries = {s["host"]: s for s in fx.kinds()[:3]}
    report_dir = tmp_path / "report out"
    (tmp_path / "vars.json").write_text(json.dumps({"summaries": summaries, "atp_proxy_report_dir": str(report_dir)}))
    proc = playbook(tmp_path, PLAY.format(repo=REPO), inventory=FLEET, extra=["@%s" % (tmp_path / "vars.json")],
                    check=check_mode)
    assert proc.returncode == 0, proc.stdout[-4000:]
    page = Page((report_dir / FILES[0]).read_text())
    assert list(page.rows) == ["dc01", "dc02", "dc03", "dc09"]
    assert page.rows["dc09"]["attrs"]["data-status"] == "unreachable"
    assert page.tiles["unreachable"] == ("tile bad", "1") and page.tiles["changed"] == ("tile change", "1")
    assert "| dc02 | 🔄 changed |" in (report_dir / FILES[1]).read_text()
    assert [r["host"] for r in json.loads((report_dir / FILES[2]).read_text())["rows"]] == list(page.rows)
    tasks = yaml.safe_load((REPO / "playbooks" / "tasks" / "fleet_report.yml").read_text())

    def walk(items):
        for item in items:
            yield item
            yield from walk(item.get("block", []))

    assert not any("check_mode" in t for t in walk(tasks))


def test_task_file_does_nothing_without_report_dir_or_awx(tmp_path):
    proc = playbook(tmp_path, PLAY.format(repo=REPO), inventory=FLEET, extra=[json.dumps({"summaries": {}})],
                    env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"})
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert not list(tmp_path.rglob("atp_proxy_report.*"))
    assert json.loads(proc.stdout[proc.stdout.index("{"):])["global_custom_stats"] == {}


def test_task_file_publishes_the_rows_for_a_merge_in_an_awx_workflow(tmp_path):
    """AWX passes awx_job_id and awx_workflow_job_id to a job of a workflow (each slice of a sliced job template
    is one); the rows go into set_stats under a key of that job's own."""
    summaries = {s["host"]: s for s in fx.kinds()[:3]}
    (tmp_path / "vars.json").write_text(json.dumps({"summaries": summaries, "awx_job_id": 731,
                                                    "awx_workflow_job_id": 730}))
    proc = playbook(tmp_path, PLAY.format(repo=REPO), inventory=FLEET, extra=["@%s" % (tmp_path / "vars.json")],
                    env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"})
    assert proc.returncode == 0, proc.stdout[-4000:]
    stats = json.loads(proc.stdout[proc.stdout.index("{"):])["global_custom_stats"]
    rows = stats["atp_proxy_rows_731"]
    assert [r["host"] for r in rows] == ["dc01", "dc02", "dc03", "dc09"]
    assert rows[1]["status"] == "changed" and rows[3]["status"] == "unreachable"

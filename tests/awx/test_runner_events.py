# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A job whose output holds lines no callback wrote (a dependency's Python warning, say) is read as AWX reads it:
those lines are ``verbose`` events without ``event_data``, skipped, never fatal."""

from __future__ import annotations

import yaml

from ._runner import data, host_results, run_job, stats

PLAYBOOK = """
- name: A job with a result
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say hello
      ansible.builtin.debug:
        msg: hello
"""


def test_events_without_event_data_are_skipped(tmp_path):
    pdd = tmp_path / "pdd"
    (pdd / "project").mkdir(parents=True)
    (pdd / "project" / "job.yml").write_text(PLAYBOOK)
    # What a dependency's warning does: a line on ansible-playbook's stdout before any callback runs.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("print('SomeDeprecationWarning: printed by a dependency')\n")
    (pdd / "env").mkdir()
    (pdd / "env" / "envvars").write_text(yaml.safe_dump({"PYTHONPATH": str(site), "ANSIBLE_NOCOLOR": "1"}))

    job = run_job(pdd, "job.yml", "stray")

    assert job["status"] == "successful", job["stdout"][-2000:]
    stray = [e for e in job["events"] if "SomeDeprecationWarning" in e.get("stdout", "")]
    assert stray and all(e["event"] == "verbose" and "event_data" not in e for e in stray), stray
    assert data(stray[0]) == {}
    assert host_results(job["events"], task="Say hello") == {"localhost": host_results(
        job["events"], action="ansible.builtin.debug")["localhost"]}
    assert host_results(job["events"], task="Say hello")["localhost"]["msg"] == "hello"
    assert stats(job["events"])["ok"] == {"localhost": 1}

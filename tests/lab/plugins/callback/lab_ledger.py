# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Test-only callback of the atp.sensor_proxy lab: per-task round trips and a JSON result file."""

from __future__ import annotations

DOCUMENTATION = """
    name: lab_ledger
    type: aggregate
    short_description: attribute lab round trips to tasks and write results as JSON (TEST ONLY)
    description:
        - After each host finishes a task, gives the module executions counted since the host's previous task
          to this task (hosts run their tasks sequentially). It reads the ledger without a lock and keeps the
          attribution in memory; at the end of the run it stores it in each host's ledger (by_task).
        - Writes every task result, as it arrives, as one JSON line to C(ATP_LAB_RESULTS).jsonl and the final
          stats to the file named by C(ATP_LAB_RESULTS). Results are not kept in memory, because the controller forks a
          worker per host and task, and a bigger controller process forks slower.
    author: atp.sensor_proxy contributors
    requirements:
        - enabled through ANSIBLE_CALLBACKS_ENABLED=lab_ledger
"""

import json
import os
import sys

from ansible.plugins.callback import CallbackBase


def _lab():
    repo = os.environ.get("ATP_LAB_REPO")
    if repo and repo not in sys.path:
        sys.path.insert(0, repo)
    from tests.lab import state

    lab_dir = os.environ.get("ATP_LAB_DIR")
    return state.Lab(lab_dir) if lab_dir else None


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "lab_ledger"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lab = _lab()
        # The lab's hosts do not change during a run: list them once, not once per result.
        self._lab_hosts = frozenset(self._lab.host_names()) if self._lab is not None else frozenset()
        path = os.environ.get("ATP_LAB_RESULTS")
        self._out = open(path + ".jsonl", "w") if path else None
        self._play = ""
        self._attributed = {}  # host -> module_calls already given to a task
        self._by_task = {}  # host -> {task: calls} attributed during this run

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()

    def _record(self, result, status):
        host = result._host.get_name()
        task = result._task.get_name()
        calls = 0
        if host in self._lab_hosts:
            ledger = self._lab.host(host).ledger()  # lock-free: writers replace the file atomically
            done = self._attributed.setdefault(host, ledger["attributed"])
            calls = ledger["module_calls"] - done
            self._attributed[host] = ledger["module_calls"]
            by_task = self._by_task.setdefault(host, {})
            by_task[task] = by_task.get(task, 0) + calls
        data = dict(result._result)
        data.pop("invocation", None)
        if status in ("failed", "ignored"):
            data["failed"] = True  # ansible-core 2.19 hands callbacks the result without it
        elif status == "unreachable":
            data["unreachable"] = True
        if self._out is not None:
            self._out.write(json.dumps({"host": host, "task": task, "play": self._play, "status": status,
                                        "module_calls": calls, "result": data}, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_playbook_on_stats(self, stats):
        for host, by_task in self._by_task.items():
            self._lab.host(host).commit_attribution(self._attributed[host], by_task)
        self._by_task = {}
        path = os.environ.get("ATP_LAB_RESULTS")
        if not path:
            return
        if self._out is not None:
            self._out.close()
            self._out = None
        hosts = {h: stats.summarize(h) for h in sorted(stats.processed)}
        with open(path, "w") as handle:
            json.dump({"stats": hosts}, handle, default=str)

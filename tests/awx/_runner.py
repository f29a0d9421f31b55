# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-runner jobs and their artifacts, read the way AWX reads them. Every test that runs a job or reads
``artifacts/<ident>/job_events`` goes through here.

Not every event carries ``event_data``. ansible-runner writes any stdout line that no callback produced (a Python
warning printed by a dependency, for one) as an event of type ``verbose`` with ``stdout`` only
(``ansible_runner/utils/__init__.py`` ``OutputEventFilter._emit_event``: ``event_data`` is set only when the line
came with callback data). AWX stores such events with an empty ``event_data`` (``awx/main/models/events.py``:
``event_data = JSONBlob(default=dict)``) and filters on its keys. So do we: an event without ``event_data`` is read
as having an empty one, never a crash.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests._helpers import run, tool


def data(event: dict) -> dict:
    """An event's ``event_data``, or ``{}`` for the events that have none (``verbose`` lines)."""
    return event.get("event_data") or {}


def read_events(artifacts: Path) -> list:
    """The job's events in the order runner numbered them (``<counter>-<uuid>.json``)."""
    files = sorted((Path(artifacts) / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-")[0]))
    return [json.loads(p.read_text()) for p in files]


def run_job(pdd: Path, playbook: str, ident: str, check: bool = False) -> dict:
    """``ansible-runner run PDD -p PLAYBOOK --ident IDENT``. A job template of type "check" adds ``--check``
    (runner reads extra arguments from ``env/cmdline``)."""
    cmdline = Path(pdd) / "env" / "cmdline"
    if check:
        cmdline.write_text("--check")
    elif cmdline.exists():
        cmdline.unlink()
    proc = run([tool("ansible-runner"), "run", pdd, "-p", playbook, "--ident", ident], check=False, timeout=900)
    artifacts = Path(pdd) / "artifacts" / ident
    assert (artifacts / "status").exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    events = read_events(artifacts)
    recap = stats(events)
    return {
        "proc": proc,
        "status": (artifacts / "status").read_text().strip(),
        "rc": int((artifacts / "rc").read_text().strip()),
        "events": events,
        "stdout": (artifacts / "stdout").read_text(),
        "recap": recap,
        # What AWX saves as the job's artifacts (set_stats) and shows on its Details tab.
        "artifacts": recap.get("artifact_data") or {},
    }


def stats(events: list) -> dict:
    """The ``playbook_on_stats`` event's data (the recap, ``artifact_data``), ``{}`` when the job has none."""
    found = [data(e) for e in events if e.get("event") == "playbook_on_stats"]
    assert len(found) <= 1, "more than one playbook_on_stats event"
    return found[0] if found else {}


def host_results(events: list, event: str = "runner_on_ok", action: str = "", task: str = "") -> dict:
    """host -> ``res`` of the last ``event`` of a module (FQCN, resolved or as written) or of a task name."""
    found = {}
    for e in events:
        if e.get("event") != event:
            continue
        d = data(e)
        if (action and action in (d.get("resolved_action"), d.get("task_action"))) or (task and d.get("task") == task):
            found[d["host"]] = d.get("res") or {}
    return found

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's files on the controller, and merging the rows of several jobs (AWX job slices).

Pure Python, no Ansible imports. :func:`publish` writes ``atp_proxy_report.html``, ``atp_proxy_report.md``
and ``atp_proxy_fleet.json`` (the rows themselves, secrets masked, for a later merge), each atomically:
a temporary file in the same folder, then a rename, so a reader never sees half a report.

:func:`gather` collects the rows to report: rows given directly, the rows other jobs published (a mapping
of ``atp_proxy_rows_<job id>`` to rows, as AWX hands a workflow node the ``set_stats`` artifacts of the jobs
before it), and ``atp_proxy_fleet.json`` files (paths or glob patterns).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import tempfile

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _line as lines
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _render as render
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _rows
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _status as st
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _totals as totals
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _view as report

HTML_FILE = "atp_proxy_report.html"
MARKDOWN_FILE = "atp_proxy_report.md"
JSON_FILE = "atp_proxy_fleet.json"
JSON_KIND = "atp.sensor_proxy fleet"
JSON_VERSION = 1
ROWS_ARTIFACT = "atp_proxy_rows_"
FILE_MODE = 0o644


def atomic_write(path: str, text: str, mode: int = FILE_MODE) -> str:
    """Write ``text`` to ``path`` through a temporary file and a rename; returns ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def fleet_json(rows: list, title: str, generated: str) -> str:
    return json.dumps({"kind": JSON_KIND, "version": JSON_VERSION, "title": title, "generated": generated,
                       "rows": rows, "stats": totals.stats(rows)}, sort_keys=True, separators=(",", ":")) + "\n"


def read_fleet_json(path: str) -> list:
    """The rows of an ``atp_proxy_fleet.json`` (or of a plain JSON list of host summaries)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise UsageError("files: cannot read %s: %s" % (path, exc)) from exc
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise UsageError("files: %s is not an %s file (no list of rows)" % (path, JSON_FILE))
    return rows


def expand(patterns) -> list:
    """Paths, folders and glob patterns -> the files, in order (a pattern's matches sorted; a folder means its
    atp_proxy_fleet.json); a pattern matching nothing is an error, so a missing slice is never left out."""
    out = []
    for pattern in patterns or []:
        pattern = os.path.expanduser(str(pattern))
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise UsageError("files: no file matches %s" % pattern)
        # A folder stands for the atp_proxy_fleet.json in it.
        out += [os.path.join(m, JSON_FILE) if os.path.isdir(m) else m for m in matches]
    return list(dict.fromkeys(out))


def _artifact_order(name: str):
    match = re.search(r"(\d+)$", name)
    return (0, int(match.group(1)), name) if match else (1, 0, name)


def slice_sources(slices) -> list:
    """Row lists from ``slices``: a mapping name -> rows (ordered by the job id at the end of the name), or a
    list of row lists."""
    if not slices:
        return []
    if isinstance(slices, dict):
        sources = []
        for name in sorted(slices, key=_artifact_order):
            if not isinstance(slices[name], list):
                raise UsageError("slices: %s is not a list of host summaries" % name)
            sources.append(slices[name])
        return sources
    if isinstance(slices, list) and all(isinstance(s, list) for s in slices):
        return list(slices)
    raise UsageError("slices: expected a mapping of atp_proxy_rows_<job id> to rows, or a list of row lists")


def gather(rows=None, slices=None, files=None) -> dict:
    """Every source merged: ``{rows, sources, files, duplicates}``."""
    paths = expand(files)
    sources = ([rows] if rows else []) + slice_sources(slices) + [read_fleet_json(p) for p in paths]
    merged, duplicates = _rows.merge(sources)
    return {"rows": merged, "sources": len(sources), "files": paths, "duplicates": duplicates}


def publish(rows: list, dest: str = "", title: str = report.TITLE, generated: str = "", sources: int = 1) -> dict:
    """Render the report of ``rows``; write the three files into ``dest`` when it is given.

    Returns what a task reports: ``files`` written, ``totals``, ``stats`` (the set_stats data), ``lines``
    (one per host) and ``failing`` (the hosts whose run ends failed: ``_status.outcome``).
    """
    rows = _rows.rows_of(rows)  # the gathered rows as they are; others made ready (masked) once
    result = {
        "hosts": len(rows),
        "totals": totals.totals(rows),
        "stats": totals.stats(rows),
        "lines": lines.lines_of(rows),
        "failing": [r["host"] for r in rows if st.outcome(r)],
        "files": {},
    }
    if not dest:
        return result
    view = report.build(rows, title=title, generated=generated, sources=sources)
    files = {"json": os.path.join(dest, JSON_FILE), "markdown": os.path.join(dest, MARKDOWN_FILE),
             "html": os.path.join(dest, HTML_FILE)}
    try:
        # Everything is rendered before the first file is replaced.
        texts = {"json": fleet_json(rows, title, generated), "markdown": render.render_view(view, "markdown"),
                 "html": render.render_view(view, "html")}
        os.makedirs(dest, mode=0o755, exist_ok=True)
        for kind in ("json", "markdown", "html"):
            atomic_write(files[kind], texts[kind])
    except OSError as exc:
        raise UsageError("dest: cannot write the fleet report into %s: %s" % (dest, exc)) from exc
    result["files"] = files
    return result

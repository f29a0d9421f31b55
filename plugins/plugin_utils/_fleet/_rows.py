# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rows a fleet report shows: host summaries made ready for the report, and merged from several sources.

Pure Python, no Ansible imports. :func:`rows_of` takes host summaries (``atp_proxy_summary``, schema in
``docs/dev/contracts.md``) as the role recorded them, or as a fleet JSON file or another job's set_stats
artifact holds them, and masks every secret in them (:mod:`_common._redaction`); :func:`merge` joins the rows of
several jobs (AWX job slices) or runs over parts of a fleet, the newest row of a host winning.
"""

from __future__ import annotations

from collections import OrderedDict

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _status as st
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _summary as summary


class Rows(list):
    """Host summaries :func:`rows_of` made ready (a dict each, a host name, secrets masked): passed on as they are."""


def rows_of(items) -> list:
    """Host summaries as the report takes them: a dict each, with a host name, secrets masked.

    A mapping without a status (``{"host": "dc05"}``: no summary was recorded) becomes the summary
    :func:`_fleet._summary.row_for` builds for a host that registered nothing: unreachable. Rows this function
    made are returned as they are (the report, its files and the task's result all read the same rows).
    """
    if isinstance(items, Rows):
        return items  # made by this function already: nothing to rebuild or mask again
    rows = Rows()
    for item in st.as_list(items):
        item = dict(item) if isinstance(item, dict) else {}
        host = st.as_text(item.get("host")) or "(unknown host)"
        if not item.get("status"):
            item = summary.row_for(host, {"atp_proxy_result": item.get("atp_proxy_result")})
        item["host"] = host
        rows.append(redaction.scrub(item))
    return rows


def merge(sources) -> tuple:
    """One list of rows from several (job slices, or runs over parts of a fleet): ``(rows, duplicates)``.

    A host that appears in more than one source keeps its last row (a later run is newer); its name is
    listed in ``duplicates``.
    """
    by_host: OrderedDict = OrderedDict()
    duplicates = []
    for source in sources:
        for row in rows_of(source):
            if row["host"] in by_host:
                duplicates.append(row["host"])
                del by_host[row["host"]]
            by_host[row["host"]] = row
    return Rows(by_host.values()), sorted(set(duplicates))

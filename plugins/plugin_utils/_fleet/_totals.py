# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's numbers: the totals of a run's host summaries, the ``atp_proxy_fleet`` data the playbooks publish
with set_stats (AWX shows it on the job), and the cloud's verdict put into each host's summary.

Pure Python, no Ansible imports. Counts the fields of the summaries (:mod:`_fleet._summary`); never re-derives a
status.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _verdict as cloud_verdict
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _line as lines
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _status as st
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _connected as connected


def with_cloud(rows: list, reading, fail: bool = False) -> list:
    """The rows with the cloud's verdict (``cloud``, from one mdi_sensor_health reading for the fleet) in each
    host's summary and line; with ``fail`` (atp_proxy_fail_on_cloud) a host Graph shows not connected, or every
    host when the reading failed, ends failed."""
    out = []
    for row in rows:
        row = dict(row)
        cloud = cloud_verdict.entry(reading, str(row.get("host")))
        if cloud is not None:
            row["cloud"] = cloud
            said = row.get("connected") or {}
            if said.get("connected") not in (None, connected.NA) and isinstance(cloud.get("connected"), bool):
                # the cloud's verdict fills "sensor connected?"'s cloud slot (_connected.cloud_evidence)
                evidence = dict(said.get("evidence") or {})
                evidence["cloud"] = connected.cloud_evidence(dict(cloud, source="Microsoft Graph"))
                row["connected"] = connected.verdict(True, (row.get("sensor") or {}).get("generation"), **evidence)
            row["fail"] = list(row.get("fail") or []) + ([cloud_verdict.fails(cloud)] if fail else [])
            row["fail"] = [f for f in row["fail"] if f]
            ended = bool(row.get("outcome")) and not row.get("end")  # its job task failed already (bad input)
            row["line"] = lines.line(row)
            row["outcome"] = st.outcome(row)
            row["end"] = {} if ended else row["outcome"]
        out.append(row)
    return out


def totals(rows: list) -> dict:
    out = {"hosts": len(rows)}
    for status in st.STATUSES:
        out[status] = sum(1 for r in rows if r.get("status") == status)
    probed = [res for r in rows for p in r.get("probe") or [] for res in st.url_results(p.get("results"))]
    out["probe_failed"] = sum(1 for r in rows if any(not p.get("all_reachable") and p.get("probed") is not False
                                                     for p in r.get("probe") or []))
    out["not_probed"] = sum(1 for r in rows if any(p.get("probed") is False for p in r.get("probe") or []))
    out["endpoints_probed"] = len(probed)
    out["endpoints_reachable"] = sum(1 for res in probed if res.get("outcome") == st.REACHABLE)
    out["backups_written"] = sum(1 for r in rows if r.get("backup_file"))
    for answer in (connected.YES, connected.LIKELY, connected.NO, connected.UNKNOWN):
        out["sensor_connected_" + answer] = sum(1 for r in rows if (r.get("connected") or {}).get("connected") == answer)
    out["partial"] = sum(1 for r in rows
                         if r.get("status") == st.UNREACHABLE and not r.get("job_status")
                         and (r.get("written") or r.get("maybe_written")))
    out.update(cloud_verdict.totals(rows))
    return out


def fleet_summary(rows: list) -> dict:
    """Everything the playbooks read from the fleet's rows after they are built, computed in one pass:
    ``rows`` as given, ``index`` (host -> position in ``rows``), ``end_hosts`` (the hosts whose summary says they end
    failed or unreachable: ``end`` is set, by :func:`_fleet._summary.host_summary` or :func:`with_cloud`), ``lines``
    (each row's one-line text) and ``stats`` (:func:`stats`, for set_stats).

    One fact holds them (``atp_proxy_fleet_summary``, ``playbooks/tasks/finish.yml``): with ansible-core 2.19's lazy
    templating each later task that read the rows again (to index them, print their lines, publish their numbers)
    templated every value of every row again, a cost that grows with the fleet (``bench/fleet.py``)."""
    rows = list(rows)
    return {
        "rows": rows,
        "index": {str(row["host"]): i for i, row in enumerate(rows)},
        "end_hosts": [str(row["host"]) for row in rows if row.get("end")],
        "lines": lines.lines_of(rows),
        "stats": stats(rows),
    }


def stats(rows: list) -> dict:
    """The ``atp_proxy_fleet`` data the playbooks publish with set_stats (AWX shows it on the job)."""
    out = {status: [r["host"] for r in rows if r.get("status") == status] for status in st.STATUSES}
    out["probe_failed"] = {}
    for r in rows:
        bad = [{"account": p["account"], "url": res.get("url"), "outcome": res.get("outcome")}
               for p in r.get("probe") or [] for res in st.url_results(p.get("results"))
               if res.get("outcome") != st.REACHABLE]
        if bad:
            out["probe_failed"][r["host"]] = bad
    out["not_probed"] = {r["host"]: [{"account": p["account"], "why": p.get("why_not_probed")} for p in r["probe"]
                                     if p.get("probed") is False] for r in rows
                         if any(p.get("probed") is False for p in r.get("probe") or [])}
    out["backups"] = {r["host"]: r["backup_file"] for r in rows if r.get("backup_file")}
    out.update(cloud_verdict.stats(rows))
    # "sensor connected?" per host with a sensor: the answer and the evidence that decided it (_connected)
    out["sensor_connected"] = {r["host"]: {"connected": r["connected"]["connected"], "why": r["connected"]["why"]}
                               for r in rows if (r.get("connected") or {}).get("connected") not in (None, connected.NA)}
    out["totals"] = totals(rows)
    return out

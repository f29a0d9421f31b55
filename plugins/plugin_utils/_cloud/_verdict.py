# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloud's verdict in the playbooks: one ``cloud`` field per host summary, from one reading of
``atp.sensor_proxy.mdi_sensor_health`` for the whole fleet (``playbooks/tasks/cloud.yml``), and its text in the
host's line, in set_stats and in the fleet report. Pure Python, no Ansible imports.

The ``cloud`` field of a summary (docs/dev/contracts.md): ``status`` (the module's verdict, ``connected``,
``not_connected``, ``unknown``, ``no_sensor``, ``ambiguous``, or ``not_read`` when the reading failed),
``connected`` (true, false or null), ``evidence`` (one sentence), ``health_status``, ``deployment_status``,
``version``, ``issues`` (the open connectivity issues: ``name``, ``severity``, ``recommendations``), ``waited``
(whether this host's sensor was waited for, and ``settled``), ``error`` and ``missing_permissions`` (a failed
reading).

The role's variables (``atp_proxy_cloud_verdict``, ``atp_proxy_graph_*``) are checked with the job's other
variables, before anything is read (:func:`problems`).
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_identity as graph_identity
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _proxy_auth as proxy_auth

NOT_READ = "not_read"
ON = "atp_proxy_cloud_verdict"
# mdi_sensor_health's credential options and the role variables that give them.
ROLE_NAMES = {
    "tenant_id": "atp_proxy_graph_tenant_id",
    "client_id": "atp_proxy_graph_client_id",
    "client_secret": "atp_proxy_graph_client_secret",
    "certificate_path": "atp_proxy_graph_certificate_path",
    "certificate_password": "atp_proxy_graph_certificate_password",
}
LABELS = {"connected": "connected", "not_connected": "NOT CONNECTED", "unknown": "unknown",
          "no_sensor": "no sensor in Graph", "ambiguous": "ambiguous", NOT_READ: "not read"}


def problems(v: dict, environ) -> list:
    """What stops the cloud's verdict from being read, each naming its role variable: with
    ``atp_proxy_cloud_verdict`` on, a tenant, a client id and one credential, from the role variables or the
    environment (the AWX credential type's ``ATP_GRAPH_*``)."""
    if not v.get(ON):
        return []
    args = {option: v.get(name) for option, name in ROLE_NAMES.items()}
    args["cloud"] = v.get("atp_proxy_cloud") or "commercial"
    try:
        graph_identity.identity(args, environ)
    except ValueError as exc:
        text = str(exc)
        for option, name in sorted(ROLE_NAMES.items(), key=lambda item: -len(item[0])):
            text = _rename(text, option, name)
        return ["%s is true, but %s" % (ON, text)]
    return _where_problems(v)


def _where_problems(v: dict) -> list:
    """The Graph URLs and proxy, checked with the other variables (they were only read at the end of the run, after
    every host: "cloud not read: 'notaurl' is not an https:// URL", "Port out of range 0-65535")."""
    out = []
    for name, option in (("atp_proxy_graph_endpoint", "graph_endpoint"), ("atp_proxy_graph_authority", "authority")):
        if v.get(name):
            try:
                graph_identity.endpoints("commercial", **{option: v[name]})
            except ValueError as exc:
                out.append("%s: %s" % (name, exc))
    if v.get("atp_proxy_graph_proxy"):
        try:
            proxy_auth.split_proxy(v["atp_proxy_graph_proxy"], "atp_proxy_graph_proxy", None)
        except proxy_auth.ProbeError as exc:
            out.append(str(exc))
    return out


def _rename(text: str, option: str, name: str) -> str:
    """``option`` as a whole lower-case word becomes ``name`` (``ATP_GRAPH_TENANT_ID`` is left as it is)."""
    out, start = [], 0
    while True:
        found = text.find(option, start)
        if found < 0:
            return "".join(out) + text[start:]
        before = text[found - 1] if found else " "
        after = text[found + len(option)] if found + len(option) < len(text) else " "
        whole = not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_")
        out.append(text[start:found] + (name if whole else option))
        start = found + len(option)


def _issue(issue: dict) -> dict:
    return {"name": str(issue.get("display_name") or ""), "severity": issue.get("severity"),
            "recommendations": [str(r) for r in issue.get("recommendations") or []]}


def entry(reading, host: str) -> dict | None:
    """The ``cloud`` field of ``host`` from the registered reading; None when the playbook did not read Graph."""
    if not isinstance(reading, dict) or reading.get("skipped") or not reading:
        return None
    if reading.get("failed") or not isinstance(reading.get("hosts"), dict):
        error = str(reading.get("msg") or "the reading returned nothing")
        return {"status": NOT_READ, "connected": None, "evidence": error, "error": error,
                "missing_permissions": [str(p) for p in reading.get("missing_permissions") or []],
                "health_status": None, "deployment_status": None, "version": None, "issues": [], "waited": None}
    mine = reading["hosts"].get(host)
    if not isinstance(mine, dict):
        return None
    several = (reading.get("readings") or 0) > 1 or bool(reading.get("waited"))
    waited = host in (reading.get("waited_for") or []) and several
    return {"status": mine.get("verdict"), "connected": mine.get("connected"), "evidence": mine.get("evidence"),
            "error": "", "missing_permissions": [], "health_status": mine.get("health_status"),
            "deployment_status": mine.get("deployment_status"), "version": mine.get("version"),
            "issues": [_issue(i) for i in mine.get("connectivity_issues") or [] if isinstance(i, dict)],
            "waited": {"seconds": reading.get("waited"), "readings": reading.get("readings"),
                       "settled": bool(reading.get("settled"))} if waited else None}


def text(cloud) -> str:
    """The host line's part: ``cloud connected (Graph: healthy, upToDate)``,
    ``cloud NOT CONNECTED (Graph: disconnected, notHealthyMedium; Sensor stopped communicating: <advice>)``."""
    if not isinstance(cloud, dict) or not cloud.get("status"):
        return ""
    status = str(cloud["status"])
    label = LABELS.get(status, status)
    if status == NOT_READ:
        return "cloud not read: %s" % cloud.get("error")
    if status in ("no_sensor", "ambiguous"):
        return "cloud: %s (%s)" % (label, cloud.get("evidence"))
    facts = ", ".join(str(cloud[k]) for k in ("health_status", "deployment_status") if cloud.get(k))
    details = ["Graph: " + (facts or "no status")]
    for issue in cloud.get("issues") or []:
        advice = " ".join(issue["recommendations"])
        details.append("%s%s" % (issue["name"], ": " + advice if advice else ""))
    waited = cloud.get("waited")
    if waited and not waited.get("settled") and cloud.get("connected") is not True:
        details.append("still so after waiting %.0fs (atp_proxy_cloud_wait_timeout)" % float(waited.get("seconds") or 0))
    return "cloud %s (%s)" % (label, "; ".join(details))


def fails(cloud) -> str:
    """Why ``atp_proxy_fail_on_cloud`` fails the host, or ''."""
    if not isinstance(cloud, dict):
        return ""
    if cloud.get("status") == NOT_READ:
        return "the cloud's verdict could not be read (atp_proxy_fail_on_cloud)"
    if cloud.get("connected") is False:
        return "Microsoft Graph shows the sensor not connected (atp_proxy_fail_on_cloud)"
    return ""


def stats(rows: list) -> dict:
    """set_stats' ``{"cloud": ...}``: hosts per verdict, and the reading's error when it failed; {} without a
    reading."""
    clouds = {r["host"]: r["cloud"] for r in rows if isinstance(r.get("cloud"), dict)}
    if not clouds:
        return {}
    out = {status: [h for h, c in clouds.items() if c.get("status") == status] for status in LABELS}
    errors = sorted({str(c.get("error")) for c in clouds.values() if c.get("status") == NOT_READ})
    if errors:
        out["error"] = errors[0]
    return {"cloud": out}


def totals(rows: list) -> dict:
    """The fleet totals' ``cloud_read``, ``cloud_connected`` and ``cloud_not_connected``."""
    clouds = [r["cloud"] for r in rows if isinstance(r.get("cloud"), dict)]
    return {"cloud_read": len(clouds), "cloud_connected": sum(1 for c in clouds if c.get("connected") is True),
            "cloud_not_connected": sum(1 for c in clouds if c.get("connected") is False)}


def report_cell(row: dict) -> dict:
    """The fleet report's cell: ``label``, ``css``, ``detail`` lines and the ``cause`` text to number ('' if none)."""
    cloud = row.get("cloud")
    if not isinstance(cloud, dict) or not cloud.get("status"):
        return {}
    status = str(cloud["status"])
    css = {"connected": "ok", "not_connected": "bad", NOT_READ: "bad"}.get(status, "warn")
    detail = [", ".join(str(cloud[k]) for k in ("health_status", "deployment_status") if cloud.get(k))]
    detail += ["%s (%s)" % (i["name"], i.get("severity") or "?") for i in cloud.get("issues") or []]
    cause = ""
    if status != "connected":
        cause = text(cloud)
    return {"label": LABELS.get(status, status), "css": css, "detail": [d for d in detail if d], "cause": cause}

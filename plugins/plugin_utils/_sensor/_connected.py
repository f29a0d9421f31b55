# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
""""Sensor connected?": one answer per host, from the evidence a run has, each piece named.

Pure Python, no Ansible imports. The evidence (docs/dev/contracts.md "Sensor connected?"):

* ``service``: the sensor's services after the run: the watch after a restart (:mod:`_sensor._watch`: ``running``,
  ``stopped again``, ``not started``), else their status in the state query;
* ``log``: the sensor's error logs (:mod:`_sensor._logs`): a documented failure logged since the restart (or, in a
  check run, among the recent entries);
* ``probe``: the probe of the sensor's service endpoint as the sensor's account (v2: the workspace's sensor API as
  LocalService; v3: Defender for Endpoint's URLs);
* ``cloud``: **a slot**, filled by the caller when it has the cloud's own view of the sensor (Microsoft Graph's
  ``security/identities/sensors`` health status and open health issues; the module that reads them is separate).
  Its shape: ``{source, health_status, issues: [{title, recommendation}], checked}``; ``None`` when nobody asked.

Only the cloud can say the sensor *is* connected; without it the best answer is ``likely`` (every local piece
agrees). The answers:

===========  ======================================================================================
``yes``      the cloud reports the sensor healthy with no open issue
``likely``   no cloud evidence; the service runs, the probe reached the sensor's endpoint and no
             documented failure was logged
``no``       any piece says it cannot connect (the first one is named in ``why``)
``unknown``  not enough evidence (probe off, nothing read, the run failed before)
``n/a``      no sensor on the host
===========  ======================================================================================
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _report as probe_report

YES, LIKELY, NO, UNKNOWN, NA = "yes", "likely", "no", "unknown", "n/a"
HEALTHY = "healthy"  # Graph security.sensor healthStatus for a sensor without issues


def service_evidence(watch: dict | None, states: dict | None, generation: str | None) -> dict | None:
    """``{ok, text, verdicts}`` from the watch's verdicts (after a restart), else the services' states."""
    if generation == "v3":
        return None  # a v3 sensor is a Defender for Endpoint process; its presence is the discovery's marker
    verdicts = (watch or {}).get("verdicts") or {}
    if verdicts:
        bad = {n: v for n, v in verdicts.items() if v != "running"}
        text = ", ".join("%s %s" % (n, v) for n, v in sorted(verdicts.items()))
        return {"ok": not bad, "text": text, "verdicts": dict(verdicts), "watched": (watch or {}).get("seconds", 0)}
    if states:
        bad = {n: s for n, s in states.items() if s != "started"}
        text = ", ".join("%s %s" % (n, "running" if s == "started" else s) for n, s in sorted(states.items()))
        return {"ok": not bad, "text": text, "verdicts": {}, "watched": 0}
    return None


def log_evidence(logs: dict | None) -> dict | None:
    """``{ok, text, known}`` from :func:`_sensor._logs.classify`'s result; None when no log was read."""
    if not logs or not logs.get("read"):
        return None
    known = logs.get("known") or []
    when = "since the restart" if logs.get("since_restart") else "recently"
    if known:
        return {"ok": False, "text": "logged %s: %s" % (when, known[0]["says"]), "known": [k["outcome"] for k in known]}
    return {"ok": True, "text": "no documented failure logged %s" % when, "known": []}


def _same_account(one, other) -> bool:
    """``LocalSystem`` (the sensor's account as the state query names it) is ``SYSTEM`` (the probe's become name)."""
    first, second = accounts.lookup(one), accounts.lookup(other)
    if first and second:
        return first.sid == second.sid
    return str(one or "").lower() == str(other or "").lower()


def probe_evidence(probes: list, account: str | None, generation: str | None) -> dict | None:
    """``{ok, text}`` from the summary's probe entries: the sensor's endpoint as the sensor's account.

    Each URL is read as the probe reads it (:func:`_probe._outcomes.summarize`): reached when any of its modes reached
    it; otherwise it fails with the outcome of its first mode, the way the sensor connects (the ``direct`` results of a
    sensor that uses a proxy are information: a host without direct egress fails them, as it should). A URL only a
    direct connection reached (``works_only_direct``, Defender for Endpoint's fallback while its proxy fails) is
    connected for now, and said so."""
    probed = [p for p in probes or [] if p.get("probed") is not False and p.get("results")]
    if not probed:
        return None
    mine = [p for p in probed if account and _same_account(p.get("account"), account)] or probed
    results = []
    for entry in mine:
        for result in probe_report.url_results(entry.get("results")):
            if generation == "v3" or result.get("endpoint") in ("mdi_workspace", "mdi_sensor_api"):
                results.append((str(entry.get("account")), result))
    if not results:
        return None
    bad = [(acct, r) for acct, r in results if r.get("outcome") not in (outcomes.REACHABLE, outcomes.WORKS_ONLY_DIRECT)]
    if bad:
        acct, r = bad[0]
        return {"ok": False, "text": "%s: %s as %s" % (r.get("url"), r.get("outcome"), acct)}
    direct_only = [(acct, r) for acct, r in results if r.get("outcome") == outcomes.WORKS_ONLY_DIRECT]
    if direct_only:
        acct, r = direct_only[0]
        text = ("sensor endpoint reached only directly as %s (%s: through the proxy %s; Defender for Endpoint falls "
                "back to a direct connection)" % (acct, r.get("url"), r.get("proxy_outcome")))
        return {"ok": True, "text": text}
    return {"ok": True, "text": "sensor endpoint reachable as %s" % ", ".join(sorted({acct for acct, r in results}))}


def cloud_evidence(cloud: dict | None) -> dict | None:
    """``{ok, text}`` from the cloud slot (see the module docstring), None when it is empty."""
    if isinstance(cloud, dict) and isinstance(cloud.get("connected"), bool):
        # the cloud verdict of atp.sensor_proxy.mdi_sensor_health (:mod:`_cloud._verdict`): its own connected
        # answer, so that a low-severity issue unrelated to connectivity does not read as "not connected"
        source = cloud.get("source") or "the cloud"
        if cloud["connected"]:
            return {"ok": True, "text": "%s reports the sensor connected (%s)" % (source, cloud.get("health_status")
                                                                                  or "no status")}
        names = [str(i.get("name") or i.get("title")) for i in cloud.get("issues") or [] if isinstance(i, dict)]
        return {"ok": False, "text": "%s reports the sensor not connected (%s)%s" % (
            source, cloud.get("health_status") or "no status", ": " + names[0] if names else "")}
    if not isinstance(cloud, dict) or not cloud.get("health_status"):
        return None
    issues = [i for i in cloud.get("issues") or [] if isinstance(i, dict)]
    status = str(cloud["health_status"])
    if status == HEALTHY and not issues:
        return {"ok": True, "text": "%s reports the sensor healthy" % (cloud.get("source") or "the cloud")}
    first = issues[0] if issues else {}
    return {"ok": False, "text": "%s reports %s%s" % (cloud.get("source") or "the cloud", status,
                                                      ": " + str(first.get("title")) if first.get("title") else "")}


def verdict(installed: bool, generation: str | None = None, service: dict | None = None, log: dict | None = None,
            probe: dict | None = None, cloud: dict | None = None) -> dict:
    """``{connected, why, evidence: {service, log, probe, cloud}}`` from the pieces above (each may be None)."""
    evidence = {"service": service, "log": log, "probe": probe, "cloud": cloud}
    if not installed:
        return {"connected": NA, "why": "no sensor", "evidence": evidence}
    for name in ("cloud", "service", "log", "probe"):
        piece = evidence[name]
        if piece is not None and not piece["ok"]:
            return {"connected": NO, "why": "%s: %s" % (name, piece["text"]), "evidence": evidence}
    if cloud is not None:
        return {"connected": YES, "why": "cloud: " + cloud["text"], "evidence": evidence}
    # v3: no service or log to read here; the probe through Defender for Endpoint is the local evidence.
    needed = ("probe",) if generation == "v3" else ("service", "probe")
    if all(evidence[n] is not None for n in needed):
        return {"connected": LIKELY, "why": "; ".join(evidence[n]["text"] for n in ("service", "log", "probe")
                                                      if evidence[n] is not None), "evidence": evidence}
    missing = [n for n in needed if evidence[n] is None]
    return {"connected": UNKNOWN, "why": "no %s evidence" % " or ".join(missing), "evidence": evidence}


def text(result: dict) -> str:
    """``sensor connected? no (service: AATPSensor stopped again)`` for the host line ('' without a sensor)."""
    if not result or result.get("connected") in (None, NA):
        return ""
    return "sensor connected? %s (%s)" % (result["connected"], result.get("why") or "")

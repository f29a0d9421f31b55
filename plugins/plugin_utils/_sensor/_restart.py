# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restarts of the v2 sensor's services: which to restart so that a running sensor takes a WinINet change
(:func:`restart_plan`), the restart itself with its check that they run again and the optional watch
(:func:`restart`), and the sentences that say so.

Pure logic with injected remote access (``execute(module_name, module_args) -> dict``, :mod:`_host._remote`).
A running service keeps the proxy it read at start (docs/dev/sensor_sources.md); Microsoft's
Set-MDISensorProxyConfiguration restarts AATPSensorUpdater (``Stop-Service -Force``, then ``Start-Service``),
which stops and starts the services that depend on it. The sensor_config write path (:mod:`_sensor._file_change`)
uses the same pieces to start the updater again after its write.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import (
    ChangeError,
    ConnectionDropped,
    Disconnected,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _services as sensor_services
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _watch as sensor_watch


def restart_sentence(name: str, dependents, check_mode: bool) -> str:
    text = "%s %s" % ("would restart" if check_mode else "restarted", name)
    if dependents:
        text += " with the services that depend on it (%s)" % ", ".join(dependents)
    return text


def _restart_args(name: str) -> dict:
    return dict(sensor_services.RESTART_ARGS, name=name)


def _running_dependents(services: dict, name: str) -> list:
    entry = services.get(name) or {}
    return [d for d in entry.get("dependency_of") or [] if (services.get(d) or {}).get("running")]


def restart_plan(discovery: dict, changed_wininet: bool, check_mode: bool, already=()) -> dict:
    """Which sensor services must restart so that a running sensor takes a WinINet change, in order.

    A running service keeps the proxy it read at start (sensor_sources.md). For a v2 sensor both of its
    services read WinINet (the sensor as LocalService, the updater as LocalSystem, or the machine value under
    ProxySettingsPerUser=0): the updater is restarted first, as Microsoft's cmdlet does (with the services
    that depend on it), then the sensor, unless it depends on the updater (then it restarted with it) or was
    restarted already in this run (``already``: what :func:`_sensor._change.run` restarted). Stopped services are left alone:
    they read the proxy when they start. A v3 sensor takes Defender for Endpoint's proxy, so nothing.

    Returns ``{services: [names], actions: [sentences], reasons: [why]}``; call :func:`restart` with
    ``services`` once per host per run (the role's job calls it after every write of the run).
    """
    out = {"services": [], "actions": [], "reasons": []}
    info = discovery.get("sensor") or {}
    if not changed_wininet:
        return out
    if info.get("generation") != "v2":
        if info.get("generation") == "v3":
            out["reasons"].append("sensor v3 takes Defender for Endpoint's proxy; a WinINet change restarts nothing")
        return out
    services = info.get("services") or {}
    done = {n.lower() for n in already}
    for name, entry in services.items():  # what restarted with a service restarted already
        if name.lower() in done:
            done |= {d.lower() for d in entry.get("dependency_of") or []}
    for name in (sensor_services.UPDATER_SERVICE, sensor_services.SENSOR_SERVICE):
        entry = services.get(name)
        if entry is None:
            continue
        if name.lower() in done:
            out["reasons"].append("%s was restarted already in this run" % name)
            continue
        if not entry.get("running"):
            out["reasons"].append("%s is %s; it reads the proxy when it starts" % (name, entry.get("state")))
            continue
        out["services"].append(name)
        out["reasons"].append("%s runs as %s and keeps the WinINet proxy it read at start" % (name, entry.get("account")))
        dependents = _running_dependents(services, name)
        out["actions"].append(restart_sentence(name, dependents, check_mode))
        done |= {name.lower()} | {d.lower() for d in dependents}
    return out


def _restart_services(execute, names: list, start=()) -> dict:
    """Restart each of ``names`` (``win_service`` restarted, force_dependent_services), start each of ``start``
    (``state: started``, nothing when it runs), then one state query of every sensor service.
    Returns ``{restarted, failures: {name: msg}, states: {name: state}}``; raises Disconnected."""
    restarted, failures = [], {}
    for name, args in [(n, _restart_args(n)) for n in names] + [(n, {"name": n, "state": "started"}) for n in start]:
        result = execute(sensor_services.SERVICE_MODULE, args)
        if result.get("failed"):
            failures[name] = str(result.get("msg") or "no message")
        elif args["state"] == "restarted":
            restarted.append(name)
    snapshot = remote.read_state(execute, services=list(dict.fromkeys(list(sensor_services.SERVICES) + list(names))))
    states = {str(s.get("name")): str(s.get("status")) for s in snapshot.services.values()}
    return {"restarted": restarted, "failures": failures, "states": states}


def _not_running(states: dict, expected) -> list:
    lower = {k.lower(): v for k, v in states.items()}
    return [n for n in expected if lower.get(n.lower()) != "Running"]


def _states_text(states: dict) -> str:
    return ", ".join("%s %s" % (n, s) for n, s in sorted(states.items())) or "no sensor service found"


def _watch_failure(watched: dict) -> str:
    """``AATPSensor stopped again (after 15 s)`` for the services the watch did not see running at its end."""
    bad = {n: v for n, v in (watched or {}).get("verdicts", {}).items() if v != sensor_watch.RUNNING}
    return ", ".join("%s %s%s" % (n, v, " (after %s s)" % watched["stopped_at"][n]
                                  if n in (watched.get("stopped_at") or {}) else "") for n, v in sorted(bad.items()))


def _logged(watched: dict) -> str:
    """``; its log says: <documented failure> (<cause>): <fix>`` when the watch's log lines name one."""
    logs = (watched or {}).get("logs") or {}
    known = logs.get("known") or []
    if known:
        return "; its log says: %s (%s): %s" % (known[0]["says"], known[0]["cause"], known[0]["fix"].rstrip("."))
    if logs.get("unknown_count"):
        return "; its log says: %s" % logs["unknown"][-1]["text"]
    return ""


def restart(execute, names, check_mode: bool, expect=(), watch: int | None = None, logs=(), secrets=()) -> dict:
    """Restart ``names`` (from :func:`restart_plan`) and check that they, and ``expect``, run again (1 round trip
    per service + 1 state query). Check mode restarts nothing and says "would restart".

    ``watch``: seconds to keep watching them afterwards (:mod:`_sensor._watch`, 1 round trip, which also reads the
    error ``logs``); a service that stops again, or never runs, fails the step as one that did not come back does.

    Returns ``{changed, restarted, actions, services: {name: status}, verified}``; raises ChangeError, saying
    what runs now, when a service does not come back (nothing else is changed: the WinINet values stay written).
    """
    names = list(names)
    if not names:
        return {"changed": False, "restarted": [], "actions": [], "services": {}, "verified": False}
    if check_mode:
        return {"changed": True, "restarted": [], "actions": ["would restart %s" % n for n in names],
                "services": {}, "verified": False}
    try:
        done = _restart_services(execute, names)
    except Disconnected as exc:
        raise ConnectionDropped("The connection to the host dropped while %s was being restarted (%s). The proxy "
                                "itself is written; check that the services run (Get-Service AATPSensor*)."
                                % (", ".join(names), exc), restarted=[], dropped_at="restart", changed=True) from None
    actions = ["restarted %s" % n for n in done["restarted"]]
    down = _not_running(done["states"], list(names) + list(expect))
    if down or done["failures"]:
        why = "; ".join("%s: %s" % kv for kv in done["failures"].items())
        raise ChangeError("%s did not come back to running after the restart%s. Now: %s. The proxy itself is written; "
                          "start the service (Start-Service %s) and check its event log."
                          % (", ".join(down or list(done["failures"])), " (%s)" % why if why else "",
                             _states_text(done["states"]), (down or list(done["failures"]))[0]),
                          changed=True, restarted=done["restarted"], actions=actions, services=done["states"],
                          verified=False)
    watched = {}
    if watch is not None:
        try:
            watched = sensor_watch.read(execute, list(names) + [n for n in expect if n not in names], logs, watch,
                                        secrets)
        except Disconnected as exc:
            raise ConnectionDropped("The connection to the host dropped while the restarted %s were watched (%s). The "
                                    "proxy itself is written and they were restarted; check that they still run "
                                    "(Get-Service AATPSensor*)." % (", ".join(names), exc),
                                    restarted=done["restarted"], dropped_at="watch", changed=True) from None
        failed = _watch_failure(watched)
        if failed:
            raise ChangeError("%s after the restart (watched %d s)%s. The proxy itself is written; start the service "
                              "again (Start-Service AATPSensor) once the cause is fixed." % (failed, watch,
                                                                                             _logged(watched)),
                              changed=True, restarted=done["restarted"],
                              actions=actions, services=done["states"], verified=False, watch=watched)
    return {"changed": True, "restarted": done["restarted"], "actions": actions, "services": done["states"],
            "verified": True, "watch": watched}

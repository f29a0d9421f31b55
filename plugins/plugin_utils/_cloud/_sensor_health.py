# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloud's verdict per host: which Defender for Identity sensor in Microsoft Graph is the host's, and whether
Graph says it is connected. Pure Python, no Ansible imports, no I/O (the reads come in through ``get_all``).

The shapes are Microsoft Graph v1.0's (microsoft-graph-docs-contrib ``api-reference/v1.0``):

* ``GET /security/identities/sensors`` (``api/security-identitycontainer-list-sensors.md``, application permission
  **SecurityIdentitiesSensors.Read.All**) returns ``sensor`` objects (``resources/security-sensor.md``): ``id``,
  ``displayName``, ``domainName`` ("the fully qualified domain name of the sensor"; the example has the host's
  name in ``displayName``, ``DC1``, and its domain in ``domainName``, ``domain1.test.local``), ``sensorType``
  (``adConnectIntegrated``, ``adcsIntegrated``, ``adfsIntegrated``, ``domainControllerIntegrated``,
  ``domainControllerStandalone``), ``version``, ``deploymentStatus`` (``upToDate``, ``outdated``, ``updating``,
  ``updateFailed``, ``notConfigured``, ``unreachable``, ``disconnected``, ``startFailure``, ``syncing``),
  ``healthStatus`` (``healthy``, ``notHealthyLow``, ``notHealthyMedium``, ``notHealthyHigh``),
  ``openHealthIssuesCount``, ``createdDateTime`` and ``settings`` (``resources/security-sensorsettings.md``:
  ``domainControllerDnsNames``, "DNS names for the domain controller").
* ``GET /security/identities/healthIssues?$filter=Status eq 'open'`` (``api/security-identitycontainer-list-
  healthissues.md``, the filter exactly as its first example; application permission
  **SecurityIdentitiesHealth.Read.All**) returns ``healthIssue`` objects (``resources/security-healthissue.md``):
  ``id``, ``displayName``, ``description``, ``healthIssueType`` (``sensor``, ``global``; the example writes
  ``Global``), ``issueTypeId``, ``severity`` (``low``, ``medium``, ``high``), ``status`` (``open``, ``closed``,
  ``suppressed``), ``sensorDNSNames``, ``domainNames``, ``recommendations``, ``recommendedActionCommands``,
  ``additionalInformation``, ``createdDateTime``, ``lastModifiedDateTime``.

Matching a host to its sensor (case-insensitive, a trailing dot ignored):

1. ``sensor_names`` (the override) maps an inventory host to a sensor's DNS name, display name or id;
2. else the host's names (the inventory name, then ``ansible_host`` and ``ansible_fqdn`` when they are names, not
   addresses) are looked up among each sensor's DNS names: ``displayName`` when it is a full name, else
   ``displayName.domainName``; ``domainName`` itself when it already starts with ``displayName.``; and, for a
   ``domainControllerIntegrated`` sensor only, ``settings.domainControllerDnsNames``. (For the other types that
   list names the domain controllers the sensor talks to, not the sensor's own host: a standalone sensor's DCs must
   not inherit its verdict.)
3. else a host name without a dot (``dc01``) matches the one sensor whose first label it is; two such sensors in
   different domains make the host ``ambiguous``, never a guess.

A health issue belongs to a sensor when one of its ``sensorDNSNames`` is one of the sensor's names. Only open
issues count; of them, the *connectivity* ones (by display name, Defender for Identity's health issue list,
MicrosoftDocs/defender-docs ``ATPDocs/health-alerts.md``) decide the verdict:

* "Sensor stopped communicating": no communication from the sensor (5 minutes by default);
* "Sensor service failed to start": the service did not start for at least 30 minutes;
* "Sensor outdated": the version "can't communicate with the Defender for Identity cloud infrastructure".

The verdict: ``not_connected`` when ``deploymentStatus`` is ``disconnected`` ("hasn't seen any communication from
this sensor in 10 minutes"), ``startFailure`` ("didn't pull configuration for more than 30 minutes") or
``unreachable`` (a deleted DC's leftover entry), or a connectivity issue is open; ``connected`` when
``deploymentStatus`` is any other documented value and no connectivity issue is open; ``unknown`` for a status Graph
does not document (``unknownFutureValue`` included); ``no_sensor`` and ``ambiguous`` as above. ``connected`` is
``true``, ``false`` or ``null`` accordingly, and ``evidence`` says why in one sentence.
"""

from __future__ import annotations

import ipaddress

SENSORS_PATH = "security/identities/sensors"
ISSUES_PATH = "security/identities/healthIssues"
OPEN_ISSUES_QUERY = {"$filter": "Status eq 'open'"}
PERMISSIONS = {
    SENSORS_PATH: "SecurityIdentitiesSensors.Read.All",
    ISSUES_PATH: "SecurityIdentitiesHealth.Read.All",
}

CONNECTED, NOT_CONNECTED, UNKNOWN, NO_SENSOR, AMBIGUOUS = (
    "connected", "not_connected", "unknown", "no_sensor", "ambiguous")
VERDICTS = (CONNECTED, NOT_CONNECTED, UNKNOWN, NO_SENSOR, AMBIGUOUS)

# deploymentStatus values (resources/security-sensor.md) and what each says about the sensor's link to its cloud.
DEPLOYMENT_NOT_CONNECTED = {
    "disconnected": "the service hasn't seen any communication from this sensor in 10 minutes",
    "startFailure": "the sensor didn't pull its configuration for more than 30 minutes",
    "unreachable": "the domain controller was deleted from Active Directory but its sensor entry remains",
}
DEPLOYMENT_CONNECTED = ("upToDate", "outdated", "updating", "updateFailed", "notConfigured", "syncing")

# Health issues that mean the sensor does not reach its cloud (ATPDocs/health-alerts.md).
CONNECTIVITY_ISSUES = ("Sensor stopped communicating", "Sensor service failed to start", "Sensor outdated")


class HealthError(Exception):
    """The reading failed; ``missing_permissions`` names the application permissions Graph refused."""

    def __init__(self, message: str, missing_permissions=()):
        super().__init__(message)
        self.missing_permissions = list(missing_permissions)


def _name(text) -> str:
    return str(text or "").strip().rstrip(".").lower()


def is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(str(text).strip().strip("[]"))
        return True
    except ValueError:
        return False


def host_names(inventory_hostname: str, *others) -> list:
    """The names a host is known by, in order, without addresses, empty values or repeats."""
    names = []
    for text in (inventory_hostname, *others):
        name = _name(text)
        if name and not is_address(name) and name not in names:
            names.append(name)
    return names


def sensor_names(sensor: dict) -> list:
    """The DNS names of the sensor's own host (see the module docstring), lower case."""
    display, domain = _name(sensor.get("displayName")), _name(sensor.get("domainName"))
    names = []
    if display:
        names.append(display if "." in display else ("%s.%s" % (display, domain) if domain else display))
        if domain.startswith(display + "."):
            names.append(domain)
    if sensor.get("sensorType") == "domainControllerIntegrated":
        settings = sensor.get("settings") if isinstance(sensor.get("settings"), dict) else {}
        names.extend(_name(n) for n in settings.get("domainControllerDnsNames") or [] if _name(n))
    return list(dict.fromkeys(n for n in names if n))


def _short(name: str) -> str:
    return name.split(".", 1)[0]


def _strings(value) -> list:
    return [str(v) for v in value] if isinstance(value, list) else ([] if value in (None, "") else [str(value)])


def issue_view(issue: dict, connectivity_names) -> dict:
    """A health issue as the result shows it (snake case), with ``connectivity`` set."""
    name = str(issue.get("displayName") or "")
    return {
        "id": issue.get("id"),
        "display_name": name,
        "connectivity": name.strip().lower() in connectivity_names,
        "severity": issue.get("severity"),
        "status": issue.get("status"),
        "health_issue_type": issue.get("healthIssueType"),
        "issue_type_id": issue.get("issueTypeId"),
        "description": issue.get("description"),
        "recommendations": _strings(issue.get("recommendations")),
        "recommended_action_commands": _strings(issue.get("recommendedActionCommands")),
        "additional_information": _strings(issue.get("additionalInformation")),
        "sensor_dns_names": _strings(issue.get("sensorDNSNames")),
        "created": issue.get("createdDateTime"),
        "last_modified": issue.get("lastModifiedDateTime"),
    }


def sensor_view(sensor: dict) -> dict:
    return {
        "id": sensor.get("id"),
        "display_name": sensor.get("displayName"),
        "domain_name": sensor.get("domainName"),
        "dns_names": sensor_names(sensor),
        "sensor_type": sensor.get("sensorType"),
        "version": sensor.get("version"),
        "health_status": sensor.get("healthStatus"),
        "deployment_status": sensor.get("deploymentStatus"),
        "open_health_issues_count": sensor.get("openHealthIssuesCount"),
        "created": sensor.get("createdDateTime"),
    }


class Index:
    """Sensors by DNS name, first label, display name and id; open issues by sensor DNS name."""

    def __init__(self, sensors: list, issues: list):
        self.sensors = [s for s in sensors if isinstance(s, dict)]
        self.by_name: dict = {}
        self.by_short: dict = {}
        self.by_key: dict = {}
        for number, sensor in enumerate(self.sensors):
            for name in sensor_names(sensor):
                self.by_name.setdefault(name, []).append(number)
            display = _name(sensor.get("displayName"))
            if display:
                self.by_short.setdefault(_short(display), []).append(number)
                self.by_key.setdefault(display, []).append(number)
            if sensor.get("id"):
                self.by_key.setdefault(_name(sensor["id"]), []).append(number)
        self.issues = [i for i in issues if isinstance(i, dict) and _name(i.get("status")) in ("open", "")]
        self.issues_by_name: dict = {}
        for number, issue in enumerate(self.issues):
            for name in _strings(issue.get("sensorDNSNames")):
                self.issues_by_name.setdefault(_name(name), []).append(number)

    @staticmethod
    def _unique(numbers: list) -> list:
        return list(dict.fromkeys(numbers))

    def match(self, names: list, override: str | None = None) -> tuple:
        """``(sensor numbers, matched_by, the name that matched)``; several numbers mean ambiguous."""
        if override:
            key = _name(override)
            found = self._unique(self.by_name.get(key, []) + self.by_key.get(key, []))
            return found, "override", override
        for name in names:
            if name in self.by_name:
                return self._unique(self.by_name[name]), "dns_name", name
        for name in names:
            if "." not in name and name in self.by_short:
                return self._unique(self.by_short[name]), "short_name", name
        return [], None, None

    def issues_of(self, sensor: dict) -> list:
        names = sensor_names(sensor)
        numbers = []
        for name in names + [_short(n) for n in names]:
            numbers.extend(self.issues_by_name.get(name, []))
        return [self.issues[n] for n in self._unique(numbers)]


def _sensor_label(sensor: dict) -> str:
    name = sensor.get("displayName") or sensor.get("id") or "?"
    extra = ", ".join(str(v) for v in (sensor.get("sensorType"), sensor.get("version")) if v)
    return "%s (%s)" % (name, extra) if extra else str(name)


def judge(sensor: dict, issues: list, connectivity_names) -> tuple:
    """``(verdict, evidence)`` of one matched sensor and its open issues."""
    status = sensor.get("deploymentStatus")
    health = sensor.get("healthStatus")
    blocking = [i for i in issues if i["connectivity"]]
    opened = "; open: " + ", ".join("%s (%s)" % (i["display_name"], i["severity"] or "?") for i in blocking) \
        if blocking else ""
    head = "Graph: sensor %s deploymentStatus %s, healthStatus %s" % (
        _sensor_label(sensor), status or "(none)", health or "(none)")
    if status in DEPLOYMENT_NOT_CONNECTED:
        return NOT_CONNECTED, "%s (%s)%s" % (head, DEPLOYMENT_NOT_CONNECTED[status], opened)
    if blocking:
        return NOT_CONNECTED, head + opened
    if status in DEPLOYMENT_CONNECTED:
        others = len(issues)
        return CONNECTED, "%s, no open connectivity issue%s" % (
            head, " (%d other open issue(s))" % others if others else "")
    return UNKNOWN, "%s: a deployment status Graph does not document, and no open connectivity issue" % head


def verdicts(hosts: dict, sensors: list, issues: list, overrides: dict | None = None,
             connectivity_issues=CONNECTIVITY_ISSUES) -> dict:
    """The result for ``hosts`` (inventory name -> its names, from :func:`host_names`): ``hosts`` (one verdict each,
    in the given order, none dropped), ``summary`` (hosts per verdict), ``lines`` and the sensors no host took."""
    index = Index(sensors, issues)
    wanted = {str(n).strip().lower() for n in connectivity_issues}
    overrides = {str(k): v for k, v in (overrides or {}).items()}
    out = {}
    used = set()
    for host, names in hosts.items():
        found, how, matched = index.match(names, overrides.get(host))
        entry = {"verdict": NO_SENSOR, "connected": None, "evidence": "", "matched_by": how, "match_name": matched,
                 "sensor": None, "health_status": None, "deployment_status": None, "version": None,
                 "connectivity_issues": [], "other_issues": [], "candidates": []}
        if not found:
            if how == "override":
                entry["evidence"] = ("sensor_names maps %s to '%s', which no sensor in Graph has (%d sensor(s) listed)"
                                     % (host, matched, len(index.sensors)))
            else:
                entry["evidence"] = "no sensor in Graph is named %s (%d sensor(s) listed)" % (
                    " or ".join(names) or host, len(index.sensors))
        elif len(found) > 1:
            entry["verdict"] = AMBIGUOUS
            entry["candidates"] = [sensor_view(index.sensors[n]) for n in found]
            entry["evidence"] = ("%s matches %d sensors in Graph (%s); map it with sensor_names" % (
                matched, len(found), ", ".join(" ".join(sensor_names(index.sensors[n])[:1]) or "?" for n in found)))
        else:
            sensor = index.sensors[found[0]]
            used.add(found[0])
            views = [issue_view(i, wanted) for i in index.issues_of(sensor)]
            verdict, evidence = judge(sensor, views, wanted)
            entry.update(verdict=verdict, evidence=evidence, sensor=sensor_view(sensor),
                         health_status=sensor.get("healthStatus"), deployment_status=sensor.get("deploymentStatus"),
                         version=sensor.get("version"),
                         connectivity_issues=[v for v in views if v["connectivity"]],
                         other_issues=[v for v in views if not v["connectivity"]])
        entry["connected"] = {CONNECTED: True, NOT_CONNECTED: False}.get(entry["verdict"])
        out[host] = entry
    summary = {v: [h for h, e in out.items() if e["verdict"] == v] for v in VERDICTS}
    lines = ["%s: %s; %s" % (h, e["verdict"].replace("_", " "), e["evidence"]) for h, e in out.items()]
    others = [index.sensors[n] for n in range(len(index.sensors)) if n not in used]
    return {"hosts": out, "summary": summary, "lines": lines, "sensors_total": len(index.sensors),
            "open_issues_total": len(index.issues),
            "sensors_not_in_hosts": [(sensor_names(s) or [s.get("displayName") or s.get("id")])[0] for s in others]}


def read(get_all) -> tuple:
    """``(sensors, open issues)`` through ``get_all(path, what, query)``. Both are read even when the first is
    refused, so one error names every missing permission; raises :class:`HealthError` for those, and lets any other
    error of ``get_all`` through."""
    answers, refused = {}, []
    for path, query in ((SENSORS_PATH, None), (ISSUES_PATH, OPEN_ISSUES_QUERY)):
        try:
            answers[path] = get_all(path, "GET %s" % path, query)
        except Exception as exc:  # the client's GraphError; this module does not import the client
            if getattr(exc, "kind", None) != "forbidden":
                raise
            refused.append((path, str(exc)))
    if refused:
        needed = [PERMISSIONS[p] for p, dummy in refused]
        raise HealthError("%s. The application needs the Microsoft Graph application permission%s %s, granted with "
                          "admin consent (Microsoft Entra admin center, App registrations, API permissions)"
                          % ("; ".join(text for dummy, text in refused), "s" if len(needed) > 1 else "",
                             " and ".join(needed)), needed)
    return answers[SENSORS_PATH], answers[ISSUES_PATH]


def settled(result: dict, wait_for=None) -> bool:
    """True when every host of ``wait_for`` (default: all) that has a sensor is connected (what a bounded wait
    waits for)."""
    hosts = result["hosts"]
    wanted = list(hosts) if wait_for is None else [str(h) for h in wait_for if str(h) in hosts]
    return all(hosts[h]["verdict"] in (CONNECTED, NO_SENSOR, AMBIGUOUS) for h in wanted)


def watch(read_once, wait_timeout: float, wait_interval: float, clock, sleep, wait_for=None) -> dict:
    """Read once, then again every ``wait_interval`` seconds until :func:`settled` (for the hosts of ``wait_for``)
    or ``wait_timeout`` has passed; the last reading, with ``readings``, ``waited``, ``settled`` and
    ``waited_for``."""
    start = clock()
    readings, waited = 0, 0.0
    while True:
        result = read_once()
        readings += 1
        done = settled(result, wait_for)
        left = float(wait_timeout) - (clock() - start)
        if done or left <= 0:
            break
        pause = min(float(wait_interval), left)
        sleep(pause)
        waited += pause
    result.update(readings=readings, waited=round(waited, 3), settled=done,
                  waited_for=list(result["hosts"]) if wait_for is None else [str(h) for h in wait_for])
    return result


def message(result: dict) -> str:
    """``3 host(s): 1 connected, 1 not connected, 1 no sensor``."""
    counts = ["%d %s" % (len(result["summary"][v]), v.replace("_", " ")) for v in VERDICTS if result["summary"][v]]
    return "%d host(s): %s" % (len(result["hosts"]), ", ".join(counts) or "none")

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery of the Defender for Identity sensor on a host, and where each of its parts takes its proxy.

Pure Python, no Ansible imports: every remote read goes through the injected ``execute`` (see
:mod:`_host._remote`). Sources: docs/dev/sensor_sources.md.

Round trips of :func:`discover` (one module execution each):

===  ==============================  ===============================================================
 1   ``win_powershell`` state query   the collection's one read-only query (:mod:`_host._state_query`):
                                      the services AATPSensor and AATPSensorUpdater, the SenseIdentity
                                      process (the v3 marker), the ProxySettingsPerUser policy key, the
                                      machine Connections key (machine WinINet and WinHTTP), the
                                      Connections keys of LocalService and LocalSystem (with whether
                                      their hives are loaded), the three MDE policy keys, and for
                                      readiness the .NET TLS keys and the documented root CAs
 v2  ``slurp``                        SensorConfiguration.json
===  ==============================  ===============================================================

So a host without a sensor or with a v3 sensor costs 1, a v2 sensor 2, with or without readiness;
0 and 1 when the caller passes a ``snapshot`` that already holds :func:`discovery_reads` (the role's
job reads them in the same query as its WinINet keys and the backup manifest). A v2 service that
runs as an account other than LocalService or LocalSystem costs one more query (that account's key).

The certificates in ``LocalMachine\\My`` are not read here: only the write path needs one, to
encrypt a password, and reads it then (:func:`read_certificate`, one ``win_certificate_info``).

Generation: **v3** when SenseIdentity runs (the DefenderForIdentity module tests this first, so
a host where both run counts as v3, with a warning); **v2** when the AATPSensor service exists;
otherwise no sensor. v3 is also confirmed by MDE's onboarding blob (``OnboardingInfo``, which that
module reads for a v3 sensor); Microsoft documents that v3 cannot be activated where v2 is installed.
"""

from __future__ import annotations

import base64
import json
import ntpath
import re

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import RemoteError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sensor_config
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _readiness as checks
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet

SERVICE_MODULE = "ansible.windows.win_service"
SLURP_MODULE = "ansible.windows.slurp"
CERTIFICATE_MODULE = "ansible.windows.win_certificate_info"

SENSOR_SERVICE = "AATPSensor"  # runs Microsoft.Tri.Sensor.exe as LocalService
UPDATER_SERVICE = "AATPSensorUpdater"  # runs as LocalSystem
SERVICES = (SENSOR_SERVICE, UPDATER_SERVICE)
SENSOR_EXE = "Microsoft.Tri.Sensor.exe"
V3_PROCESS = "SenseIdentity"
# The accounts whose WinINet values the query reads up front (the documented accounts of the v2 services).
SENSOR_SIDS = (accounts.LOCAL_SERVICE.sid, accounts.SYSTEM.sid)

POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
POLICY_VALUE = "ProxySettingsPerUser"
MACHINE_CONNECTIONS = "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections"
WINHTTP_VALUE = "WinHttpSettings"
ATP_POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection"
DEFENDER_POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Defender"
DATACOLLECTION_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection"

SOURCES = ("sensor_config", "wininet_per_account", "wininet_machine", "mde")

# How the write path restarts the v2 sensor, as Set-MDISensorProxyConfiguration does (Stop-Service
# AATPSensorUpdater -Force, then Start-Service AATPSensorUpdater): win_service state=restarted runs
# Restart-Service -Force, which stops the running dependents too and starts them again
# (win_service.ps1 lines 850-852; PowerShell's RestartServiceCommand).
RESTART_ARGS = {"name": UPDATER_SERVICE, "state": "restarted", "force_dependent_services": True}

# The state query's service status (ServiceControllerStatus.ToString()) and Start value (the service key's
# REG_DWORD), as win_service_info.ps1 names them (lines 111-128; "delayed" needs DelayedAutostart, not read).
STATUS = {"Running": "started", "Stopped": "stopped", "StartPending": "start_pending", "StopPending": "stop_pending",
          "ContinuePending": "continue_pending", "PausePending": "pause_pending", "Paused": "paused"}
START_MODES = {0: "boot", 1: "system", 2: "auto", 3: "manual", 4: "disabled"}


class Discovery(dict):
    """The result of :func:`discover`: a plain dict (what a task returns), which also carries, as attributes and
    never as keys, what the write path needs and no result may show:

    * ``config_file``: the parsed ``SensorConfiguration.json`` (:class:`_sensor._config_file.SensorConfigFile`, its
      exact bytes included, the encrypted password among them), or None;
    * ``snapshot``: the state query it read (:class:`_host._remote.Snapshot`: the caller's rights, the manifest
      when the caller asked for it).

    ``dict(discovery)``, ``result.update(discovery)`` and JSON copy the keys only.
    """

    config_file = None
    snapshot = None


# ---------------------------------------------------------------------------
# Remote reads
# ---------------------------------------------------------------------------
def discovery_reads(readiness: bool = True, dotnet_versions=checks.DOTNET_VERSIONS) -> dict:
    """Everything :func:`discover` needs from the state query, as :func:`_host._remote.read_state` keyword arguments.

    The caller may merge these into its own query (keys, processes, services and root certificates are
    lists to concatenate) and pass the snapshot to :func:`discover`, which then reads nothing more
    than SensorConfiguration.json.
    """
    keys = [POLICY_KEY, MACHINE_CONNECTIONS] + [accounts.connections_path(sid) for sid in SENSOR_SIDS] + [
        ATP_POLICY_KEY, DEFENDER_POLICY_KEY, DATACOLLECTION_KEY]
    if readiness:
        keys += checks.tls_key_paths(dotnet_versions)
    return {"keys": keys, "processes": [V3_PROCESS], "services": list(SERVICES),
            "root_certificates": [r["thumbprint"] for r in checks.ROOT_CERTIFICATES] if readiness else [],
            "tcp_ports": [checks.SENSOR_PORT] if readiness else []}


def complete(execute, snapshot: remote.Snapshot | None, reads: dict) -> remote.Snapshot:
    """``snapshot`` with everything in ``reads``: what it lacks is read in one more state query (all of it when
    there is no snapshot)."""
    if snapshot is None:
        return remote.read_state(execute, **reads)
    missing = snapshot.missing(**reads)
    if any(missing.values()):
        snapshot.merge(remote.read_state(execute, **missing))
    return snapshot


def read_file(execute, path: str) -> bytes | None:
    """One ``slurp``: the file's bytes, or None when it does not exist (slurp.ps1: "Path <src> is not found")."""
    result = execute(SLURP_MODULE, {"src": path})
    if result.get("failed"):
        if "is not found" in str(result.get("msg", "")):
            return None
        raise RemoteError(SLURP_MODULE, {"src": path}, result)
    return base64.b64decode(result.get("content") or "")


def read_certificate(execute, thumbprint: str) -> dict | None:
    """One ``win_certificate_info`` of LocalMachine\\My by thumbprint: the entry (with ``public_key``), or None.

    win_certificate_info.ps1 (3.3.0) lines 92-113: ``certificates``, each with ``public_key`` (line 39) and
    ``raw`` (line 38). The write path reads it only when a password must be encrypted
    (:func:`_sensor._secret.encrypt_password`).
    """
    args = {"store_name": "My", "store_location": "LocalMachine", "thumbprint": thumbprint}
    found = list(remote.call(execute, CERTIFICATE_MODULE, args).get("certificates") or [])
    return found[0] if found else None


def service_states(snapshot: remote.Snapshot) -> dict:
    """``{AATPSensor: 'started', AATPSensorUpdater: 'stopped'}`` from a state query (missing services absent)."""
    found = {str(k).lower(): v for k, v in snapshot.services.items()}
    return {name: STATUS.get(str(found[name.lower()].get("status")), str(found[name.lower()].get("status")).lower())
            for name in SERVICES if name.lower() in found}


# ---------------------------------------------------------------------------
# Pure pieces
# ---------------------------------------------------------------------------
def install_folder(binary_path: str | None) -> str | None:
    """The folder of Microsoft.Tri.Sensor.exe from the AATPSensor service's binary path.

    As the DefenderForIdentity module's Get-MDISensorBinPath: ``PathName -replace
    '"|Microsoft\\.Tri\\.Sensor\\.exe', ''`` (case-insensitive), which leaves the folder with its
    trailing backslash. Arguments after the executable, if any, are dropped.
    """
    if not binary_path:
        return None
    text = binary_path.strip()
    match = re.search(r"^\"?(.*?)" + re.escape(SENSOR_EXE) + r"\"?", text, re.IGNORECASE)
    if match:
        folder = match.group(1)
    else:
        folder = ntpath.dirname(text.strip('"'))
    folder = folder.strip('"')
    return folder if folder.endswith("\\") else folder + "\\"


def version_from_folder(folder: str | None) -> str | None:
    """The sensor version: its install folder's name (``...\\Azure Advanced Threat Protection Sensor\\<version>\\``,
    configure-proxy.md: "By default, this location is C:\\Program Files\\Azure Advanced Threat Protection
    Sensor\\version number\\")."""
    if not folder:
        return None
    name = ntpath.basename(folder.rstrip("\\"))
    return name if re.match(r"^\d+(\.\d+){1,3}$", name) else None


def _service_entry(service: dict | None) -> dict | None:
    """A service as the state query returns it (``Get-Service`` and the service's registry key)."""
    if service is None:
        return None
    status = str(service.get("status") or "")
    account = accounts.lookup(service.get("account"))
    return {
        "name": service.get("name"),
        "state": STATUS.get(status, status.lower()),
        "status": status,
        "running": status == "Running",
        "start_mode": START_MODES.get(service.get("start")),
        "username": service.get("account"),  # the key's ObjectName: LocalSystem, NT AUTHORITY\\LocalService, ...
        "account": account.name if account else service.get("account"),
        "sid": account.sid if account else None,
        "path": service.get("path"),  # ImagePath, environment variables not expanded
        "dependencies": list(service.get("dependencies") or []),
        "dependency_of": list(service.get("dependents") or []),
    }


def sensor_info(services: dict, processes: list) -> dict:
    """What is installed, from the state query's services (any key case) and SenseIdentity processes, and which
    markers said so."""
    services = {str(k).lower(): v for k, v in (services or {}).items()}
    processes = [p for p in processes or [] if str(p.get("name", "")).lower() == V3_PROCESS.lower()]
    sensor = _service_entry(services.get(SENSOR_SERVICE.lower()))
    updater = _service_entry(services.get(UPDATER_SERVICE.lower()))
    markers = []
    if processes:
        markers.append("process %s running" % V3_PROCESS)
    if sensor:
        markers.append("service %s" % SENSOR_SERVICE)
    if updater:
        markers.append("service %s" % UPDATER_SERVICE)
    generation = "v3" if processes else ("v2" if sensor else None)
    folder = install_folder(sensor["path"]) if sensor else None
    return {
        "installed": generation is not None,
        "generation": generation,
        "markers": markers,
        "version": version_from_folder(folder) if generation == "v2" else None,
        "install_folder": folder,
        "config_path": folder + sensor_config.FILE_NAME if folder else None,
        "services": {name: entry for name, entry in ((SENSOR_SERVICE, sensor), (UPDATER_SERVICE, updater)) if entry},
        "processes": [{"name": p.get("name"), "pid": p.get("id")} for p in processes],
    }


def decode_value(value: remote.RegValue | None, path: str, state_if_absent: str = "missing") -> dict:
    """A WinINet value as the result shows it; ``uses_proxy`` when it sends anything through a proxy or PAC."""
    entry = {"path": path, "state": state_if_absent, "summary": "(%s)" % state_if_absent.replace("_", " "),
             "proxy_server": "", "bypass": [], "auto_config_url": "", "auto_detect": False, "uses_proxy": False}
    if value is None:
        return entry
    if value.data is None:
        entry.update(state="malformed", summary="(%s, not REG_BINARY)" % value.type)
        return entry
    try:
        settings = wininet.decode(value.data)
    except wininet.WinInetCodecError as exc:
        entry.update(state="malformed", summary="(malformed: %s)" % exc)
        return entry
    flags = settings.flags
    entry.update(
        state="ok", summary=wininet.describe(settings), hex=value.data.hex(),
        proxy_server=settings.proxy_server if flags["proxy"] else "",
        bypass=settings.bypass if flags["proxy"] else [],
        auto_config_url=settings.auto_config_url if flags["auto_config_url"] else "",
        auto_detect=flags["auto_detect"],
        uses_proxy=flags["proxy"] or flags["auto_config_url"] or flags["auto_detect"],
    )
    return entry


def per_machine(policy: remote.KeyRead) -> dict:
    """``ProxySettingsPerUser`` = 0 under the policy key: WinINet uses the machine's Connections key for everyone."""
    value = policy.get(POLICY_VALUE) if policy.exists else None
    data = value.value if value is not None else None
    try:
        number = int(data) if data is not None and value.type in ("REG_DWORD", "REG_QWORD", "REG_SZ") else None
    except (TypeError, ValueError):
        number = None
    return {"path": POLICY_KEY, "name": POLICY_VALUE, "value": number, "per_machine": number == 0}


def winhttp(machine: remote.KeyRead) -> dict:
    """The WinHTTP proxy (``netsh winhttp``), from ``WinHttpSettings`` in the machine Connections key."""
    value = machine.get(WINHTTP_VALUE) if machine.exists else None
    entry = {"path": MACHINE_CONNECTIONS, "name": WINHTTP_VALUE, "state": "missing", "proxy_server": "",
             "bypass": [], "summary": "direct (no proxy)"}
    if value is None or value.data is None:
        return entry
    try:
        decoded = wininet.decode_winhttp(value.data)
    except wininet.WinInetCodecError as exc:
        entry.update(state="malformed", summary="(malformed: %s)" % exc)
        return entry
    uses = bool(decoded["flags"] & wininet.FLAG_PROXY) and bool(decoded["proxy_server"])
    entry.update(state="ok", proxy_server=decoded["proxy_server"] if uses else "",
                 bypass=decoded["bypass"] if uses else [],
                 summary="proxy %s" % decoded["proxy_server"] if uses else "direct (no proxy)")
    return entry


def _string_value(key: remote.KeyRead, name: str):
    value = key.get(name) if key.exists else None
    return value.value if value is not None and isinstance(value.value, str) and value.value.strip() else None


def mde_settings(atp: remote.KeyRead, defender: remote.KeyRead, datacollection: remote.KeyRead) -> dict:
    """The Defender for Endpoint settings a v3 sensor connects with (what Set-MDISensorProxyConfiguration sets)."""
    onboarding = _string_value(atp, "OnboardingInfo")
    body = {}
    if onboarding:
        try:  # Get-MDISensorConfiguration: (OnboardingInfo | ConvertFrom-Json).body | ConvertFrom-Json
            body = json.loads(json.loads(onboarding).get("body") or "{}")
        except (ValueError, AttributeError, TypeError):
            body = {}
    body = body if isinstance(body, dict) else {}
    geo = body.get("geoLocationUrl")
    return {
        "onboarded": onboarding is not None,
        "org_id": body.get("orgId"),
        # Test-MDISensorApiConnection probes <geoLocationUrl>cnc/identity/api on a v3 host (_endpoints.v3_identity).
        "geo_location_url": geo if isinstance(geo, str) and geo.strip() else None,
        "proxy_server": _string_value(defender, "ProxyServer"),
        "proxy_server_path": DEFENDER_POLICY_KEY,
        "telemetry_proxy_server": _string_value(datacollection, "TelemetryProxyServer"),
        "telemetry_proxy_server_path": DATACOLLECTION_KEY,
    }


def endpoint(text: str | None) -> str | None:
    """``host:port`` (lower case, port 80 when none) of a proxy URL or WinINet/WinHTTP proxy string, for HTTPS.

    A per-protocol list (``http=a:1;https=b:2``) gives its ``https=`` entry, else an entry without a
    protocol. Used only to tell whether two sources name the same proxy.
    """
    if not text or not text.strip():
        return None
    entries = [e.strip() for e in text.split(";") if e.strip()]
    chosen = None
    for entry in entries:
        if entry.lower().startswith("https="):
            chosen = entry.split("=", 1)[1]
            break
    if chosen is None:
        plain = [e for e in entries if "=" not in e.split("://", 1)[0]]
        chosen = plain[0] if plain else None
    if chosen is None:
        return None
    chosen = re.sub(r"^[a-z][a-z0-9+.-]*://", "", chosen.strip(), flags=re.IGNORECASE).rstrip("/").lower()
    if not re.search(r":\d+$", chosen):
        chosen += ":80"
    return chosen


def _wininet_identity(entry: dict):
    """What a WinINet value does for HTTPS: ('proxy', host:port), ('pac', url), ('auto_detect',) or None (direct)."""
    if entry.get("state") != "ok" or not entry.get("uses_proxy"):
        return None
    if entry.get("proxy_server"):
        return ("proxy", endpoint(entry["proxy_server"]))
    if entry.get("auto_config_url"):
        return ("pac", entry["auto_config_url"].strip().lower())
    return ("auto_detect",)


def _candidate(source: str, proxy, summary: str, where: str, identity) -> dict:
    return {"source": source, "proxy": proxy, "summary": summary, "where": where, "configured": identity is not None,
            "_identity": identity}


def effective_proxy(sensor: dict, config: dict | None, wininet_info: dict, winhttp_info: dict,
                    mde: dict | None) -> tuple:
    """``(effective_proxy, warnings)``: per sensor component, the proxy it will use and its source.

    v2 (components ``sensor`` = AATPSensor as LocalService, ``updater`` = AATPSensorUpdater as
    LocalSystem): the candidates are the sensor's own setting (``sensor_config``) and WinINet of the
    component's account, which is the machine value under ProxySettingsPerUser=0
    (``wininet_machine``), else the account's own value (``wininet_per_account``). No public source
    says which of the two a v2 sensor prefers: when both are set and differ, the result names the
    sensor's own setting (the method Microsoft recommends) with ``ambiguous: true`` and a warning
    names both. Without a sensor_config proxy, WinINet decides (``direct`` included).

    v3 (component ``sensor`` = SenseIdentity inside Defender for Endpoint, LocalSystem): source
    ``mde``: ``TelemetryProxyServer``, else the Windows Defender ``ProxyServer`` policy, else WinHTTP;
    a warning when two of them are set and differ.
    """
    warnings = []
    components = {}
    if sensor.get("generation") == "v2":
        json_proxy = (config or {}).get("proxy") or {}
        json_url = json_proxy.get("url") if json_proxy.get("configured") else None
        for component, service_name in (("sensor", SENSOR_SERVICE), ("updater", UPDATER_SERVICE)):
            service = sensor["services"].get(service_name)
            if service is None:
                continue
            sid = service.get("sid")
            if wininet_info["per_user_policy"]["per_machine"]:
                value, source = wininet_info["machine"], "wininet_machine"
            else:
                value = wininet_info["accounts"].get(sid) if sid else None
                source = "wininet_per_account"
                if value is None:
                    value = {"path": "", "state": "not_read", "summary": "(account %s not read)" % service.get("username"),
                             "uses_proxy": False}
            candidates = []
            if config is not None and config.get("exists"):
                candidates.append(_candidate("sensor_config", json_url,
                                             "proxy %s" % json_url if json_url else "not set",
                                             (config or {}).get("path") or "", ("proxy", endpoint(json_url)) if json_url else None))
            wi = _wininet_identity(value)
            candidates.append(_candidate(source, value.get("proxy_server") or value.get("auto_config_url") or None,
                                         value.get("summary", ""), value.get("path", ""), wi))
            chosen = candidates[0] if json_url else candidates[-1]
            configured = [c for c in candidates if c["configured"]]
            ambiguous = len(configured) == 2 and configured[0]["_identity"] != configured[1]["_identity"]
            label = "%s (%s)" % (service_name, service.get("account"))
            if ambiguous:
                warnings.append(
                    "%s: the sensor's own proxy %s (sensor_config, %s) and its WinINet proxy %s (%s, %s) differ; no "
                    "public source says which one a v2 sensor uses, so make them agree or clear one"
                    % (label, configured[0]["summary"], configured[0]["where"], configured[1]["summary"],
                       configured[1]["source"], configured[1]["where"]))
            components[component] = {
                "component": component, "service": service_name, "account": service.get("account"), "sid": sid,
                "source": chosen["source"], "proxy": chosen["proxy"], "summary": chosen["summary"],
                "ambiguous": ambiguous,
                "candidates": [{k: v for k, v in c.items() if not k.startswith("_")} for c in candidates],
                "_identity": chosen["_identity"],
            }
        pair = [components.get("sensor"), components.get("updater")]
        if all(pair) and not json_url and pair[0]["_identity"] != pair[1]["_identity"]:
            warnings.append("the sensor %s uses %s (%s) but its updater %s uses %s (%s); both need the proxy"
                            % (pair[0]["account"], pair[0]["summary"], pair[0]["source"], pair[1]["account"],
                               pair[1]["summary"], pair[1]["source"]))
    elif sensor.get("generation") == "v3":
        mde = mde or {}
        options = [
            ("TelemetryProxyServer", mde.get("telemetry_proxy_server"), mde.get("telemetry_proxy_server_path")),
            ("Windows Defender ProxyServer", mde.get("proxy_server"), mde.get("proxy_server_path")),
            ("WinHTTP", winhttp_info.get("proxy_server") or None, winhttp_info.get("path")),
        ]
        candidates = [{"source": "mde", "setting": name, "proxy": value, "where": where,
                       "summary": "proxy %s" % value if value else "not set", "configured": bool(value)}
                      for name, value, where in options]
        configured = [c for c in candidates if c["configured"]]
        for i, first in enumerate(configured):
            for second in configured[i + 1:]:
                if endpoint(first["proxy"]) != endpoint(second["proxy"]):
                    warnings.append("sensor v3 (Defender for Endpoint): %s is %s (%s) but %s is %s (%s); make them agree"
                                    % (first["setting"], first["proxy"], first["where"], second["setting"],
                                       second["proxy"], second["where"]))
        chosen = configured[0] if configured else None
        components["sensor"] = {
            "component": "sensor", "service": None, "process": V3_PROCESS, "account": accounts.SYSTEM.name,
            "sid": accounts.SYSTEM.sid, "source": "mde", "proxy": chosen["proxy"] if chosen else None,
            "summary": "%s %s" % (chosen["setting"], chosen["proxy"]) if chosen else "direct (no proxy)",
            "ambiguous": False, "candidates": candidates,
        }
    for entry in components.values():
        entry.pop("_identity", None)
    return components, warnings


def method_in_use(info: dict) -> str:
    """How the host's sensor gets its proxy today: ``sensor_config``, ``wininet``, ``mde`` or ``none``."""
    generation = info["sensor"]["generation"]
    if generation == "v3":
        return "mde"
    if generation != "v2":
        return "none"
    proxy = (info.get("sensor_config") or {}).get("proxy") or {}
    if proxy.get("configured"):
        return "sensor_config"
    for component in info["effective_proxy"].values():
        if any(c["configured"] for c in component["candidates"] if c["source"].startswith("wininet")):
            return "wininet"
    return "none"


def auto_method(info: dict) -> str:
    """``atp_proxy_method: auto``: keep the method the host uses, as Microsoft asks ("use the same method
    you used originally", configure-proxy.md); a v2 sensor without any gets ``sensor_config``; a v3
    sensor ``mde``; a host without a sensor ``wininet`` (the classic per-account copy)."""
    in_use = method_in_use(info)
    if in_use != "none":
        return in_use
    return "sensor_config" if info["sensor"]["generation"] == "v2" else "wininet"


# ---------------------------------------------------------------------------
# The whole discovery
# ---------------------------------------------------------------------------
def _account_value(snapshot: remote.Snapshot, sid: str) -> dict:
    """An account's DefaultConnectionSettings from the query; an absent key under an unloaded hive says so."""
    path = accounts.connections_path(sid)
    key = snapshot.key(path)
    if not key.exists and key.hive_loaded is False:
        return decode_value(None, path, "hive_not_loaded")
    return decode_value(key.get("DefaultConnectionSettings") if key.exists else None, path)


def _config(execute, sensor: dict, ansi_codec: str, warnings: list) -> tuple:
    """(sensor_config result, parsed file or None): one ``slurp`` of SensorConfiguration.json."""
    path = sensor["config_path"]
    config = {"path": path, "exists": False}
    data = read_file(execute, path) if path else None
    if data is None:
        warnings.append("%s does not exist, so the sensor has no proxy of its own" % path)
        return config, None
    try:
        parsed = sensor_config.parse(data, path, ansi_codec)
    except sensor_config.SensorConfigError as exc:
        config.update(exists=True, error=str(exc))
        warnings.append("%s cannot be read: %s" % (path, exc))
        return config, None
    config.update(parsed.summary(), exists=True)
    if not parsed.secret_manager_thumbprint:
        warnings.append("%s has no %s, so a proxy password cannot be encrypted for this sensor"
                        % (path, sensor_config.SECRET_MANAGER_KEY))
    return config, parsed


def _wininet_info(snapshot: remote.Snapshot, sids=()) -> dict:
    """The WinINet part of a discovery: the ProxySettingsPerUser policy, which key is effective, the machine
    value, and each of ``sids``' own value (the caller adds the sensor's accounts)."""
    policy = per_machine(snapshot.key(POLICY_KEY))
    machine_key = snapshot.key(MACHINE_CONNECTIONS)
    return {
        "per_user_policy": policy,
        "effective_key": MACHINE_CONNECTIONS if policy["per_machine"] else "per account (HKU\\<SID>)",
        "machine": decode_value(machine_key.get("DefaultConnectionSettings") if machine_key.exists else None,
                                MACHINE_CONNECTIONS),
        "accounts": {sid: _account_value(snapshot, sid) for sid in sids},
    }


def effective_from(discovery: dict, snapshot: remote.Snapshot, sensor_proxy: dict | None = None) -> tuple:
    """``(effective_proxy, warnings)`` of a discovered host as ``snapshot`` holds it: the caller's snapshot after
    its own writes (every key of :func:`discovery_reads` it read, with the values it wrote and verified), and
    ``sensor_proxy`` (a ``ProxySetting.to_dict()``) when it rewrote SensorConfiguration.json. Nothing is read."""
    sensor = discovery["sensor"]
    wininet_info = _wininet_info(snapshot, [sid for sid in (discovery.get("wininet") or {}).get("accounts") or {}
                                            if snapshot.has(accounts.connections_path(sid))])
    config = discovery.get("sensor_config")
    if sensor_proxy is not None and config is not None:
        config = dict(config, proxy=dict(sensor_proxy))
    mde = None
    if sensor.get("generation") == "v3":
        mde = dict(discovery.get("mde") or {}, **{k: v for k, v in mde_settings(
            snapshot.key(ATP_POLICY_KEY), snapshot.key(DEFENDER_POLICY_KEY), snapshot.key(DATACOLLECTION_KEY)).items()
            if k != "onboarded"})
    return effective_proxy(sensor, config, wininet_info, winhttp(snapshot.key(MACHINE_CONNECTIONS)), mde)


def readiness_from(snapshot: remote.Snapshot, dotnet_versions=checks.DOTNET_VERSIONS, v2: bool = False) -> dict:
    """The readiness checks (root CAs, .NET TLS values; localhost TCP 444 on a ``v2`` sensor host) of a state query
    that read them (:func:`discovery_reads`)."""
    root = checks.check_root_certificates(snapshot.root_certificates)
    keys = {}
    for path in checks.tls_key_paths(dotnet_versions):
        key = snapshot.key(path)
        keys[path] = (key.exists, {n: (v.type, v.value) for n, v in key.values.items()})
    port = None
    if v2 and str(checks.SENSOR_PORT) in (snapshot.asked.get("tcp_ports") or []):
        port = checks.check_localhost_port(snapshot.tcp_listeners, snapshot.firewall)
    return checks.summarize(root, checks.check_tls(keys), port)


def discover(execute, snapshot: remote.Snapshot | None = None, readiness: bool = True,
             dotnet_versions=checks.DOTNET_VERSIONS, ansi_codec: str = "cp1252") -> Discovery:
    """Read-only discovery: the result of ``win_mdi_sensor_info`` (see the module docstring for round trips).

    ``snapshot``: a state query that holds :func:`discovery_reads` (anything it lacks is read in one more
    query; None reads it all in one). The only other read is the ``slurp`` of a v2 sensor's file.
    """
    warnings = []
    reads = discovery_reads(readiness, dotnet_versions)
    snapshot = complete(execute, snapshot, reads)
    sensor = sensor_info(snapshot.services, snapshot.processes)
    wininet_info = _wininet_info(snapshot)
    policy = wininet_info["per_user_policy"]
    winhttp_info = winhttp(snapshot.key(MACHINE_CONNECTIONS))
    config, parsed, mde = None, None, None
    if sensor["generation"] == "v3" and "service %s" % SENSOR_SERVICE in sensor["markers"]:
        warnings.append("both the v3 sensor (SenseIdentity running) and the v2 service %s are present; treated as v3, "
                        "as the DefenderForIdentity module does (a migration in progress?)" % SENSOR_SERVICE)
    for entry in sensor["services"].values():
        if sensor["generation"] == "v2" and not entry["running"]:
            warnings.append("the service %s is %s" % (entry["name"], entry["state"]))
    if sensor["generation"] == "v2":
        config, parsed = _config(execute, sensor, ansi_codec, warnings)
        if not policy["per_machine"]:
            sids = [e["sid"] for e in sensor["services"].values() if e["sid"]]
            other = [accounts.connections_path(sid) for sid in sids if not snapshot.has(accounts.connections_path(sid))]
            if other:  # a service moved to another well-known account: one more query for its key
                snapshot.merge(remote.read_state(execute, other))
            for sid in sids:
                wininet_info["accounts"].setdefault(sid, _account_value(snapshot, sid))
    elif sensor["generation"] == "v3":
        mde = mde_settings(snapshot.key(ATP_POLICY_KEY), snapshot.key(DEFENDER_POLICY_KEY),
                           snapshot.key(DATACOLLECTION_KEY))
        if not mde["onboarded"]:
            warnings.append("SenseIdentity runs but %s has no OnboardingInfo (Defender for Endpoint onboarding)"
                            % ATP_POLICY_KEY)
    effective, proxy_warnings = effective_proxy(sensor, config, wininet_info, winhttp_info, mde)
    warnings += proxy_warnings
    result = Discovery(
        sensor=sensor,
        sensor_config=config,
        wininet=wininet_info,
        winhttp=winhttp_info,
        mde=mde,
        effective_proxy=effective,
    )
    if sensor["generation"] == "v3":
        result["message"] = ("sensor v3: connects through Defender for Endpoint; its proxy is the MDE proxy "
                             "(TelemetryProxyServer, Windows Defender ProxyServer, WinHTTP)")
    result["readiness"] = readiness_from(snapshot, dotnet_versions, v2=sensor["generation"] == "v2") \
        if readiness else None
    result["method_in_use"] = method_in_use(result)
    result["auto_method"] = auto_method(result)
    result["sensor_warnings"] = warnings
    result.config_file = parsed
    result.snapshot = snapshot
    return result

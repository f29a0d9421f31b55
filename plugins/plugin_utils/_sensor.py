# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery of the Defender for Identity sensor on a host, and where each of its parts takes its proxy.

Pure Python, no Ansible imports: every remote read goes through the injected ``execute`` (see
:mod:`._remote`), one documented ``ansible.windows`` module call each. Sources:
docs/dev/sensor_sources.md.

Round trips of :func:`discover` (one module execution each):

===  ================================  ============================================================
 1   ``win_service_info`` AATPSensor*   the v2 services AATPSensor and AATPSensorUpdater (wildcard)
 2   ``win_powershell``                 is SenseIdentity running (the v3 marker; _sensor_scripts.py)
 3   ``win_reg_stat``                   the ProxySettingsPerUser policy key
 4   ``win_reg_stat``                   the machine Connections key (machine WinINet and WinHTTP)
 v2  ``slurp``                          SensorConfiguration.json
 v2  ``win_certificate_info`` My        the SecretManager certificate and the password's certificate
 v2  ``win_reg_stat`` x2                the sensor's and the updater's Connections keys (only when
                                        per-user proxy settings apply; +1 each when a key is absent,
                                        to tell a missing value from an unloaded hive)
 v3  ``win_reg_stat`` x3                MDE onboarding, Windows Defender and DataCollection policies
 r   ``win_certificate_info`` Root      readiness: the documented root CAs
 r   ``win_reg_stat`` x2 per version    readiness: .NET TLS values, native and WOW6432Node
===  ================================  ============================================================

So a v2 host with per-user settings costs 8 (11 with readiness), under the machine policy 6 (9),
a v3 host 7 (10), a host without a sensor 4 (7).

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

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _readiness as readiness
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _sensor_config as sensor_config
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _wininet as wininet
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._errors import RemoteError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor_scripts import SENSE_IDENTITY_PROCESS

SERVICE_INFO_MODULE = "ansible.windows.win_service_info"
SERVICE_MODULE = "ansible.windows.win_service"
SLURP_MODULE = "ansible.windows.slurp"
CERTIFICATE_MODULE = "ansible.windows.win_certificate_info"
POWERSHELL_MODULE = "ansible.windows.win_powershell"

SENSOR_SERVICE = "AATPSensor"  # runs Microsoft.Tri.Sensor.exe as LocalService
UPDATER_SERVICE = "AATPSensorUpdater"  # runs as LocalSystem
SERVICE_PATTERN = "AATPSensor*"  # win_service_info.ps1 line 25: Get-Service -Name takes wildcards
SENSOR_EXE = "Microsoft.Tri.Sensor.exe"
V3_PROCESS = "SenseIdentity"

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


# ---------------------------------------------------------------------------
# Remote reads, one round trip each
# ---------------------------------------------------------------------------
def read_services(execute, pattern: str = SERVICE_PATTERN) -> dict:
    """One ``win_service_info``: lower-case service name -> the module's service entry.

    ``win_service_info.ps1`` (3.3.0) lines 23-26 match the name exactly, else with
    ``Get-Service -Name`` (wildcards); lines 188-220 build each entry (``state`` is ``started``,
    ``stopped``, ...; ``path`` the binary path; ``username`` the account; ``dependencies`` and
    ``dependency_of``).
    """
    result = remote.call(execute, SERVICE_INFO_MODULE, {"name": pattern})
    return {str(s.get("name", "")).lower(): s for s in result.get("services") or []}


def sense_identity(execute) -> list:
    """One ``win_powershell``: the running SenseIdentity processes, ``[{name, pid, path}]`` (empty when none)."""
    result = remote.call(execute, POWERSHELL_MODULE, {"script": SENSE_IDENTITY_PROCESS})
    return [p for p in result.get("output") or [] if isinstance(p, dict)]


def read_file(execute, path: str) -> bytes | None:
    """One ``slurp``: the file's bytes, or None when it does not exist (slurp.ps1: "Path <src> is not found")."""
    result = execute(SLURP_MODULE, {"src": path})
    if result.get("failed"):
        if "is not found" in str(result.get("msg", "")):
            return None
        raise RemoteError(SLURP_MODULE, {"src": path}, result)
    return base64.b64decode(result.get("content") or "")


def read_certificates(execute, store_name: str = "My", thumbprint: str | None = None) -> list:
    """One ``win_certificate_info`` of a LocalMachine store: its ``certificates`` (win_certificate_info.ps1 lines 92-113)."""
    args = {"store_name": store_name, "store_location": "LocalMachine"}
    if thumbprint:
        args["thumbprint"] = thumbprint
    return list(remote.call(execute, CERTIFICATE_MODULE, args).get("certificates") or [])


def read_certificate(execute, thumbprint: str) -> dict | None:
    """One ``win_certificate_info`` of LocalMachine\\My by thumbprint: the entry (with ``public_key``), or None.

    The write path uses it for :func:`._sensor_config.encrypt_password` when discovery's
    ``certificates.secret_manager`` is not at hand.
    """
    found = read_certificates(execute, "My", thumbprint)
    return found[0] if found else None


def service_states(execute) -> dict:
    """One ``win_service_info``: ``{AATPSensor: 'started', AATPSensorUpdater: 'started'}`` (missing ones absent).

    For the write path's check after :data:`RESTART_ARGS`: both must be ``started``.
    """
    return {s.get("name"): s.get("state") for s in read_services(execute).values()}


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
    if service is None:
        return None
    account = accounts.lookup(service.get("username"))
    return {
        "name": service.get("name"),
        "display_name": service.get("display_name"),
        "state": service.get("state"),
        "running": service.get("state") == "started",
        "start_mode": service.get("start_mode"),
        "username": service.get("username"),
        "account": account.name if account else service.get("username"),
        "sid": account.sid if account else None,
        "path": service.get("path"),
        "dependencies": list(service.get("dependencies") or []),
        "dependency_of": list(service.get("dependency_of") or []),
    }


def sensor_info(services: dict, processes: list) -> dict:
    """What is installed, from the services and the SenseIdentity processes, and which markers said so."""
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
        "processes": [{"name": p.get("name"), "pid": p.get("pid"), "path": p.get("path")} for p in processes],
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
    org_id = None
    if onboarding:
        try:  # Get-MDISensorConfiguration: (OnboardingInfo | ConvertFrom-Json).body | ConvertFrom-Json
            org_id = json.loads(json.loads(onboarding).get("body") or "{}").get("orgId")
        except (ValueError, AttributeError, TypeError):
            org_id = None
    return {
        "onboarded": onboarding is not None,
        "org_id": org_id,
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
def _certificate_entry(cert: dict | None, thumbprint: str | None) -> dict | None:
    if not thumbprint:
        return None
    entry = {"thumbprint": thumbprint.upper(), "present": cert is not None}
    if cert is not None:
        entry.update(subject=cert.get("subject"), has_private_key=cert.get("has_private_key"),
                     valid_to=cert.get("valid_to_iso8601"), public_key=cert.get("public_key"))
    return entry


def _account_value(execute, sid: str) -> dict:
    path = accounts.connections_path(sid)
    key = remote.read_key(execute, path)
    if not key.exists and not remote.hive_loaded(execute, sid):
        return decode_value(None, path, "hive_not_loaded")
    return decode_value(key.get("DefaultConnectionSettings"), path)


def discover(execute, check_readiness: bool = True, dotnet_versions=readiness.DOTNET_VERSIONS,
             ansi_codec: str = "cp1252") -> dict:
    """Read-only discovery (module docs list the round trips): the result of ``win_mdi_sensor_info``."""
    warnings = []
    sensor = sensor_info(read_services(execute), sense_identity(execute))
    policy = per_machine(remote.read_key(execute, POLICY_KEY))
    machine_key = remote.read_key(execute, MACHINE_CONNECTIONS)
    wininet_info = {
        "per_user_policy": policy,
        "effective_key": MACHINE_CONNECTIONS if policy["per_machine"] else "per account (HKU\\<SID>)",
        "machine": decode_value(machine_key.get("DefaultConnectionSettings") if machine_key.exists else None,
                                MACHINE_CONNECTIONS),
        "accounts": {},
    }
    winhttp_info = winhttp(machine_key)
    config, certificates, mde = None, None, None
    if sensor["generation"] == "v3" and "service %s" % SENSOR_SERVICE in sensor["markers"]:
        warnings.append("both the v3 sensor (SenseIdentity running) and the v2 service %s are present; treated as v3, "
                        "as the DefenderForIdentity module does (a migration in progress?)" % SENSOR_SERVICE)
    for entry in sensor["services"].values():
        if sensor["generation"] == "v2" and not entry["running"]:
            warnings.append("the service %s is %s" % (entry["name"], entry["state"]))
    if sensor["generation"] == "v2":
        config = {"path": sensor["config_path"], "exists": False}
        data = read_file(execute, sensor["config_path"]) if sensor["config_path"] else None
        parsed = None
        if data is None:
            warnings.append("%s does not exist, so the sensor has no proxy of its own" % sensor["config_path"])
        else:
            try:
                parsed = sensor_config.parse(data, sensor["config_path"], ansi_codec)
                config.update(parsed.summary(), exists=True)
            except sensor_config.SensorConfigError as exc:
                config.update(exists=True, error=str(exc))
                warnings.append("%s cannot be read: %s" % (sensor["config_path"], exc))
        if parsed is not None:
            wanted = {t.upper() for t in (parsed.secret_manager_thumbprint, parsed.proxy.certificate_thumbprint) if t}
            found = {str(c.get("thumbprint", "")).upper(): c for c in read_certificates(execute, "My")} if wanted else {}
            certificates = {
                "secret_manager": _certificate_entry(found.get((parsed.secret_manager_thumbprint or "").upper()),
                                                     parsed.secret_manager_thumbprint),
                "proxy_password": _certificate_entry(found.get((parsed.proxy.certificate_thumbprint or "").upper()),
                                                     parsed.proxy.certificate_thumbprint),
            }
            if certificates["secret_manager"] and not certificates["secret_manager"]["present"]:
                warnings.append("the certificate %s (%s) is not in LocalMachine\\My, so a proxy password cannot be "
                                "encrypted for this sensor" % (parsed.secret_manager_thumbprint,
                                                               sensor_config.SECRET_MANAGER_KEY))
            if parsed.proxy.password_set and certificates["proxy_password"] and \
                    not certificates["proxy_password"]["present"]:
                warnings.append("the stored proxy password was encrypted with the certificate %s, which is not in "
                                "LocalMachine\\My; it cannot be decrypted on this host"
                                % parsed.proxy.certificate_thumbprint)
        if not policy["per_machine"]:
            for entry in sensor["services"].values():
                if entry["sid"] and entry["sid"] not in wininet_info["accounts"]:
                    wininet_info["accounts"][entry["sid"]] = _account_value(execute, entry["sid"])
    elif sensor["generation"] == "v3":
        mde = mde_settings(remote.read_key(execute, ATP_POLICY_KEY), remote.read_key(execute, DEFENDER_POLICY_KEY),
                           remote.read_key(execute, DATACOLLECTION_KEY))
        if not mde["onboarded"]:
            warnings.append("SenseIdentity runs but %s has no OnboardingInfo (Defender for Endpoint onboarding)"
                            % ATP_POLICY_KEY)
    effective, proxy_warnings = effective_proxy(sensor, config, wininet_info, winhttp_info, mde)
    warnings += proxy_warnings
    result = {
        "sensor": sensor,
        "sensor_config": config,
        "certificates": certificates,
        "wininet": wininet_info,
        "winhttp": winhttp_info,
        "mde": mde,
        "effective_proxy": effective,
    }
    if sensor["generation"] == "v3":
        result["message"] = ("sensor v3: connects through Defender for Endpoint; its proxy is the MDE proxy "
                             "(TelemetryProxyServer, Windows Defender ProxyServer, WinHTTP)")
    if check_readiness:
        root = readiness.check_root_certificates(read_certificates(execute, "Root"))
        keys = {}
        for path in readiness.tls_key_paths(dotnet_versions):
            key = remote.read_key(execute, path)
            keys[path] = (key.exists, {n: (v.type, v.value) for n, v in key.values.items()})
        result["readiness"] = readiness.summarize(root, readiness.check_tls(keys))
    else:
        result["readiness"] = None
    result["method_in_use"] = method_in_use(result)
    result["auto_method"] = auto_method(result)
    result["sensor_warnings"] = warnings
    return result

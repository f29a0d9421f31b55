# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery of the Defender for Identity sensor on a host: the reads, the decoded proxy values, and the whole result.

Pure Python, no Ansible imports: every remote read goes through the injected ``execute`` (see
:mod:`_host._remote`). Sources: docs/dev/sensor_sources.md. What is installed (services, process, generation,
folder) is :mod:`_sensor._services`; which proxy each part uses, from those values, is :mod:`_sensor._effective`.

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
from collections.abc import Mapping
from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import RemoteError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _catalogue as mde_catalogue
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sensor_config
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _effective as eff
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _readiness as checks
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _services as services
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet

SLURP_MODULE = "ansible.windows.slurp"
CERTIFICATE_MODULE = "ansible.windows.win_certificate_info"

# The accounts whose WinINet values the query reads up front (the documented accounts of the v2 services).
SENSOR_SIDS = (accounts.LOCAL_SERVICE.sid, accounts.SYSTEM.sid)

POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
POLICY_VALUE = "ProxySettingsPerUser"
MACHINE_CONNECTIONS = accounts.MACHINE_CONNECTIONS
WINHTTP_VALUE = mde_catalogue.WINHTTP.value_name
ATP_POLICY_KEY = mde_catalogue.ATP_POLICY_PATH
DEFENDER_POLICY_KEY = mde_catalogue.DEFENDER_POLICY_PATH
DATACOLLECTION_KEY = mde_catalogue.DATA_COLLECTION_PATH


@dataclass(frozen=True, eq=False)
class Discovery(Mapping):
    """The result of :func:`discover`: three explicit parts.

    * ``result``: the documented fields, what ``win_mdi_sensor_info`` returns (``sensor``, ``sensor_config``,
      ``wininet``, ``winhttp``, ``mde``, ``effective_proxy``, ``message`` on a v3 host, ``readiness``,
      ``method_in_use``, ``auto_method``, ``sensor_warnings``). The discovery reads as this mapping
      (``discovery["sensor"]``, ``dict(discovery)``, ``result.update(discovery)``), so only these keys are ever copied
      into a task result;
    * ``config_file``: the parsed ``SensorConfiguration.json`` (:class:`_sensor._config_file.SensorConfigFile`, its
      exact bytes included, the encrypted password among them), or None: what the write path needs and no result
      may show;
    * ``snapshot``: the state query it read (:class:`_host._remote.Snapshot`: the caller's rights, the manifest
      when the caller asked for it).
    """

    result: dict
    config_file: sensor_config.SensorConfigFile | None = field(default=None, repr=False)
    snapshot: remote.Snapshot | None = field(default=None, repr=False)

    def __getitem__(self, key):
        return self.result[key]

    def __iter__(self):
        return iter(self.result)

    def __len__(self):
        return len(self.result)


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
    return {"keys": keys, "processes": [services.V3_PROCESS], "services": list(services.SERVICES),
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


# ---------------------------------------------------------------------------
# Pure pieces
# ---------------------------------------------------------------------------


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
    return eff.effective_proxy(sensor, config, wininet_info, winhttp(snapshot.key(MACHINE_CONNECTIONS)), mde)


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
    sensor = services.sensor_info(snapshot.services, snapshot.processes)
    wininet_info = _wininet_info(snapshot)
    policy = wininet_info["per_user_policy"]
    winhttp_info = winhttp(snapshot.key(MACHINE_CONNECTIONS))
    config, parsed, mde = None, None, None
    if sensor["generation"] == "v3" and "service %s" % services.SENSOR_SERVICE in sensor["markers"]:
        warnings.append("both the v3 sensor (SenseIdentity running) and the v2 service %s are present; treated as v3, "
                        "as the DefenderForIdentity module does (a migration in progress?)" % services.SENSOR_SERVICE)
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
    effective, proxy_warnings = eff.effective_proxy(sensor, config, wininet_info, winhttp_info, mde)
    warnings += proxy_warnings
    result = dict(
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
    result["method_in_use"] = eff.method_in_use(result)
    result["auto_method"] = eff.auto_method(result)
    result["sensor_warnings"] = warnings
    return Discovery(result, config_file=parsed, snapshot=snapshot)

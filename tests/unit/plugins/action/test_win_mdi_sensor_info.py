# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_mdi_sensor_info driven with recorded ansible.windows answers.

Every answer has the shape of the real module's return (ansible.windows 3.3.0):

* ``win_powershell.ps1`` lines 55-63 and 891-942 running the collection's state query
  (plugins/plugin_utils/_host/_state_query.py): ``result`` is the script's ``$Ansible.Result``: ``keys`` (path ->
  ``{exists, values: {name: {type, value}}, sub_keys}``, .NET RegistryValueKind names, binary values base64,
  ``hive_loaded`` for an absent HKU key), ``processes`` (``Get-Process``: ``{name, id}``), ``services`` (asked
  name -> ``{name, status, dependents, path, account, start, dependencies}``: ``Get-Service`` and the service's
  key, ``ImagePath``, ``ObjectName`` such as ``LocalSystem`` or ``NT AUTHORITY\\LocalService``, ``Start``,
  ``DependOnService``), ``root_certificates`` (thumbprint -> ``Test-Path``) and ``user``.
* ``slurp.ps1``: ``content`` (base64) and ``encoding``; ``Path <src> is not found`` when missing.
"""

from __future__ import annotations

import base64
import json

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.atp.sensor_proxy.plugins.action.win_mdi_sensor_info import ActionModule
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _state_query as query
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as sensor
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w

from .harness import build_action

CONN = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
FOLDER = "C:\\Program Files\\Azure Advanced Threat Protection Sensor\\2.250.18972.54612\\"
CONFIG = FOLDER + "SensorConfiguration.json"
SECRET_MANAGER = "E44826515D2778493F7F1B44A4F0A435832C657B"
G2 = "DF3C24F9BFD666761B268073FE06D1CC8D4F82A4"
ENCRYPTED = "bvzMONrdkD+/3T3cGzi5+vQp0ksjLrk2MQPv5IFKKTVMgdK6QEbpNTXyf"
READS = {"ansible.windows.win_powershell", "ansible.windows.slurp"}
NET_KIND = {"REG_BINARY": "Binary", "REG_SZ": "String", "REG_DWORD": "DWord", "REG_MULTI_SZ": "MultiString"}


def service(name, path, account, status="Running", dependencies=(), start=2):
    """One entry as the state query builds it (Get-Service, and ImagePath/ObjectName/Start/DependOnService)."""
    return {"name": name, "status": status, "dependents": [], "path": path, "account": account, "start": start,
            "dependencies": list(dependencies)}


V2_SERVICES = [
    service("AATPSensor", '"%sMicrosoft.Tri.Sensor.exe"' % FOLDER, "NT AUTHORITY\\LocalService"),
    service("AATPSensorUpdater", '"%sMicrosoft.Tri.Sensor.Updater.exe"' % FOLDER, "LocalSystem"),
]


def config_json(proxy="null"):
    return ("{\r\n  \"$type\": \"SensorMandatoryConfiguration\",\r\n"
            "  \"SecretManagerConfigurationCertificateThumbprint\": \"%s\",\r\n"
            "  \"SensorProxyConfiguration\": %s,\r\n"
            "  \"WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint\": {\r\n"
            "    \"$type\": \"EndpointData\",\r\n    \"Address\": \"contoso-corpsensorapi.atp.azure.com\",\r\n"
            "    \"Port\": 443\r\n  }\r\n}" % (SECRET_MANAGER, proxy)).encode()


JSON_PROXY = ('{"$type": "SensorProxyConfiguration", "Url": "http://proxy.corp:8080", "UserName": "CORP\\\\svc", '
              '"EncryptedUserPasswordData": {"$type": "EncryptedData", "EncryptedBytes": "%s", '
              '"SecretVersion": null, "CertificateThumbprint": "%s"}}' % (ENCRYPTED, SECRET_MANAGER))


class FakeSensorHost:
    """Answers the state query and slurp the way ansible.windows 3.3.0 does (see the module docstring)."""

    def __init__(self):
        self.services = []
        self.processes = []
        self.files = {}
        self.registry = {}  # upper-case PS path -> {name: (type, value)}
        self.unloaded = set()
        self.roots = {G2}
        self.calls = []
        for path in ("HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319",
                     "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319"):
            self.set(path, "SchUseStrongCrypto", "REG_DWORD", 1)
            self.set(path, "SystemDefaultTlsVersions", "REG_DWORD", 1)

    def set(self, path, name, kind, value):
        self.registry.setdefault(path.upper(), {})[name] = (kind, value)

    def set_proxy(self, sid_or_hklm, spec):
        path = "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections" \
            if sid_or_hklm == "HKLM" else "HKU:\\%s\\%s" % (sid_or_hklm, CONN)
        self.set(path, "DefaultConnectionSettings", "REG_BINARY", w.encode(spec))

    def __call__(self, module, args):
        assert module.startswith("ansible.windows."), "always call remote modules by FQCN"
        self.calls.append((module, dict(args)))
        return getattr(self, module.rsplit(".", 1)[1])(args)

    def _key(self, path):
        if path.upper().startswith("HKU:\\"):
            sid = path.split("\\")[1].upper()
            if sid in self.unloaded:
                return {"exists": False, "values": {}, "sub_keys": [], "hive_loaded": False}
        values = self.registry.get(path.upper())
        if values is None:
            entry = {"exists": False, "values": {}, "sub_keys": []}
            if path.upper().startswith("HKU:\\"):
                entry["hive_loaded"] = True
            return entry
        out = {}
        for name, (kind, value) in values.items():
            out[name] = {"type": NET_KIND[kind], "value": base64.b64encode(value).decode() if kind == "REG_BINARY"
                         else value}
        return {"exists": True, "values": out, "sub_keys": []}

    def win_powershell(self, args):
        assert args["script"] == query.SCRIPT and args["depth"] >= 6, "only the collection's state query"
        params = args["parameters"]
        names = {p.lower() for p in params["Process"]}
        services = {}
        for name in params["Service"]:
            found = [dict(s) for s in self.services if s["name"].lower() == name.lower()]
            if found:
                found[0]["dependents"] = sorted(o["name"] for o in self.services
                                                if name.lower() in [d.lower() for d in o["dependencies"]])
                services[name] = found[0]
        return {"changed": False, "host_out": "", "host_err": "", "output": [], "error": [], "warning": [],
                "verbose": [], "debug": [], "information": [], "result": {
                    "keys": {path: self._key(path) for path in params["Key"]},
                    "processes": [p for p in self.processes if p["name"].lower() in names],
                    "services": services,
                    "root_certificates": {t: t.upper() in self.roots for t in params["RootCertificate"]},
                    # TcpPort (readiness): a running AATPSensor listens on localhost TCP 444, no firewall block rule
                    "tcp_listeners": [{"address": "127.0.0.1", "port": 444} for s in self.services
                                      if s["name"] == "AATPSensor" and s.get("status") == "Running"
                                      and 444 in params.get("TcpPort", [])],
                    "firewall": {"current_profiles": 1, "enabled": {}, "block_rules": []}
                    if params.get("TcpPort") else None,
                    "user": {"name": "CORP\\ansible", "sid": "S-1-5-21-1-2-3-500", "administrator": True}}}

    def slurp(self, args):
        data = self.files.get(args["src"].lower())
        if data is None:
            return {"changed": False, "failed": True, "msg": "Path %s is not found" % args["src"]}
        return {"changed": False, "content": base64.b64encode(data).decode(), "encoding": "base64"}


def run(host, args=None, check_mode=False):
    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        module_args = dict(module_args or {})
        return host(module_name, module_args)

    return build_action(ActionModule, dict(args or {}), execute_module, check_mode=check_mode).run(task_vars={})


@pytest.fixture
def v2():
    host = FakeSensorHost()
    host.services = [dict(s) for s in V2_SERVICES]
    host.files[CONFIG.lower()] = config_json()
    host.set_proxy("S-1-5-19", {})  # the direct-access value Windows keeps for an account that never had a proxy
    host.set_proxy("S-1-5-18", {})
    return host


def modules(host):
    return [call[0].rsplit(".", 1)[1] for call in host.calls]


def test_v2_with_a_json_proxy(v2):
    v2.files[CONFIG.lower()] = config_json(JSON_PROXY)
    result = run(v2)
    assert not result.get("failed"), result
    assert result["changed"] is False
    s = result["sensor"]
    assert (s["installed"], s["generation"], s["version"]) == (True, "v2", "2.250.18972.54612")
    assert s["install_folder"] == FOLDER and s["config_path"] == CONFIG
    assert s["markers"] == ["service AATPSensor", "service AATPSensorUpdater"]
    assert s["services"]["AATPSensor"]["sid"] == "S-1-5-19" and s["services"]["AATPSensorUpdater"]["sid"] == "S-1-5-18"
    assert result["sensor_config"]["proxy"] == {"state": "set", "configured": True, "url": "http://proxy.corp:8080",
                                                "username": "CORP\\svc", "password_set": True,
                                                "certificate_thumbprint": SECRET_MANAGER}
    assert "certificates" not in result  # LocalMachine\\My is read by the write path, only to encrypt a password
    for component in ("sensor", "updater"):
        eff = result["effective_proxy"][component]
        assert (eff["source"], eff["proxy"], eff["ambiguous"]) == ("sensor_config", "http://proxy.corp:8080", False)
    assert result["method_in_use"] == "sensor_config" and result["auto_method"] == "sensor_config"
    assert result["sensor_warnings"] == [] and "warnings" not in result
    assert ENCRYPTED not in json.dumps(result)  # never the encrypted bytes, let alone a password
    # one state query (services, SenseIdentity, every key, the root CAs) and the file
    assert modules(v2) == ["win_powershell", "slurp"] and result["round_trips"] == 2
    [(module, args)] = [c for c in v2.calls if c[0] == "ansible.windows.win_powershell"]
    params = args["parameters"]
    assert params["Service"] == ["AATPSensor", "AATPSensorUpdater"] and params["Process"] == ["SenseIdentity"]
    assert params["RootCertificate"] == [G2, "A8985D3A65E5E5C4B2D7D66D40C6DD2FB19C5436"]
    assert sensor.POLICY_KEY in params["Key"] and "HKU:\\S-1-5-19\\%s" % CONN in params["Key"]


def test_v2_with_wininet_only(v2):
    spec = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
    v2.set_proxy("S-1-5-19", spec)
    v2.set_proxy("S-1-5-18", spec)
    result = run(v2, {"readiness": False})
    for component, sid in (("sensor", "S-1-5-19"), ("updater", "S-1-5-18")):
        eff = result["effective_proxy"][component]
        assert (eff["source"], eff["proxy"], eff["sid"]) == ("wininet_per_account", "proxy.corp:8080", sid)
        assert eff["summary"] == "proxy proxy.corp:8080, bypass <local>"
    assert result["sensor_config"]["proxy"]["state"] == "null"
    assert result["method_in_use"] == "wininet" and result["auto_method"] == "wininet"
    assert result["sensor_warnings"] == [] and result["round_trips"] == 2 and result["readiness"] is None


def test_v2_with_neither_goes_direct_and_auto_picks_sensor_config(v2):
    result = run(v2, {"readiness": False})
    eff = result["effective_proxy"]["sensor"]
    assert (eff["source"], eff["proxy"], eff["summary"]) == ("wininet_per_account", None, "direct (no proxy)")
    assert result["method_in_use"] == "none" and result["auto_method"] == "sensor_config"
    assert result["round_trips"] == 2


def test_absent_account_keys_cost_nothing_more(v2):
    for sid in ("S-1-5-18", "S-1-5-19"):
        v2.registry.pop(("HKU:\\%s\\%s" % (sid, CONN)).upper())
    result = run(v2, {"readiness": False})
    assert result["effective_proxy"]["sensor"]["summary"] == "(missing)"
    assert result["wininet"]["accounts"]["S-1-5-18"]["state"] == "missing"
    assert result["round_trips"] == 2  # the query says whether the hive is loaded


def test_json_and_wininet_disagreeing_is_ambiguous_and_warned(v2):
    v2.files[CONFIG.lower()] = config_json('{"$type": "SensorProxyConfiguration", "Url": "http://proxy.corp:8080"}')
    v2.set_proxy("S-1-5-19", {"proxy_server": "old.corp:3128"})
    v2.set_proxy("S-1-5-18", {"proxy_server": "proxy.corp:8080"})
    result = run(v2, {"readiness": False})
    sensor_eff, updater_eff = result["effective_proxy"]["sensor"], result["effective_proxy"]["updater"]
    assert sensor_eff["ambiguous"] is True and sensor_eff["source"] == "sensor_config"
    assert updater_eff["ambiguous"] is False  # the same proxy in both places
    assert [c["source"] for c in sensor_eff["candidates"]] == ["sensor_config", "wininet_per_account"]
    [warning] = result["sensor_warnings"]
    assert "AATPSensor (LocalService)" in warning and "sensor_config" in warning and "wininet_per_account" in warning
    assert "old.corp:3128" in warning and CONFIG in warning
    assert result["warnings"] == result["sensor_warnings"]


def test_sensor_and_updater_on_different_wininet_proxies_is_warned(v2):
    v2.set_proxy("S-1-5-19", {"proxy_server": "proxy.corp:8080"})
    result = run(v2, {"readiness": False})
    assert any("LocalService" in x and "LocalSystem" in x for x in result["sensor_warnings"])


def test_v2_under_the_machine_policy_reads_the_machine_value_only(v2):
    v2.set(sensor.POLICY_KEY, "ProxySettingsPerUser", "REG_DWORD", 0)
    v2.set_proxy("HKLM", {"proxy_server": "machine.corp:8080"})
    v2.set_proxy("S-1-5-19", {"proxy_server": "ignored.corp:1"})
    result = run(v2)
    assert result["wininet"]["per_user_policy"] == {"path": sensor.POLICY_KEY, "name": "ProxySettingsPerUser",
                                                    "value": 0, "per_machine": True}
    assert result["wininet"]["effective_key"] == sensor.MACHINE_CONNECTIONS
    for component in ("sensor", "updater"):
        eff = result["effective_proxy"][component]
        assert (eff["source"], eff["proxy"]) == ("wininet_machine", "machine.corp:8080")
    assert result["wininet"]["accounts"] == {}  # read with everything else, but not effective, so not reported
    assert result["round_trips"] == 2


def test_v3_uses_defender_for_endpoint_settings():
    host = FakeSensorHost()
    host.processes = [{"name": "SenseIdentity", "id": 3344}]
    host.set(sensor.ATP_POLICY_KEY, "OnboardingInfo", "REG_SZ",
             json.dumps({"body": json.dumps({"orgId": "0b7e-org", "geoLocationUrl": "https://x/", "datacenter": "EUS"})}))
    host.set(sensor.DATACOLLECTION_KEY, "TelemetryProxyServer", "REG_SZ", "proxy.corp:8080")
    host.set(sensor.DEFENDER_POLICY_KEY, "ProxyServer", "REG_SZ", "http://other.corp:3128")
    result = run(host)
    assert result["sensor"]["generation"] == "v3" and result["sensor"]["markers"] == ["process SenseIdentity running"]
    assert result["mde"]["onboarded"] is True and result["mde"]["org_id"] == "0b7e-org"
    eff = result["effective_proxy"]["sensor"]
    assert (eff["source"], eff["proxy"], eff["account"]) == ("mde", "proxy.corp:8080", "LocalSystem")
    assert "updater" not in result["effective_proxy"]
    [warning] = result["sensor_warnings"]
    assert "TelemetryProxyServer" in warning and "Windows Defender ProxyServer" in warning
    assert result["message"].startswith("sensor v3: connects through Defender for Endpoint")
    assert result["sensor_config"] is None and result["method_in_use"] == "mde"
    assert result["sensor"]["processes"] == [{"name": "SenseIdentity", "pid": 3344}]
    assert result["round_trips"] == 1 and modules(host) == ["win_powershell"]


def test_v3_agreeing_settings_are_quiet_and_v2_services_beside_it_are_warned():
    host = FakeSensorHost()
    host.processes = [{"name": "SenseIdentity", "id": 1}]
    host.services = [dict(s) for s in V2_SERVICES]
    host.set(sensor.ATP_POLICY_KEY, "OnboardingInfo", "REG_SZ", json.dumps({"body": "{}"}))
    host.set(sensor.DATACOLLECTION_KEY, "TelemetryProxyServer", "REG_SZ", "proxy.corp:8080")
    host.set(sensor.DEFENDER_POLICY_KEY, "ProxyServer", "REG_SZ", "http://PROXY.corp:8080")
    result = run(host, {"readiness": False})
    assert result["sensor"]["generation"] == "v3"
    assert len(result["sensor_warnings"]) == 1 and "migration" in result["sensor_warnings"][0]


def test_no_sensor():
    host = FakeSensorHost()
    result = run(host)
    assert result["sensor"] == {"installed": False, "generation": None, "markers": [], "version": None,
                                "install_folder": None, "config_path": None, "services": {}, "processes": []}
    assert result["effective_proxy"] == {} and result["auto_method"] == "wininet"
    assert result["round_trips"] == 1


def test_missing_root_ca_and_tls_values_give_one_line_fixes(v2):
    v2.roots = set()
    v2.registry.pop("HKLM:\\SOFTWARE\\WOW6432NODE\\MICROSOFT\\.NETFRAMEWORK\\V4.0.30319")
    v2.set("HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319", "SchUseStrongCrypto", "REG_DWORD", 0)
    r = run(v2)["readiness"]
    assert r["ok"] is False and r["root_certificates"]["ok"] is False
    assert [x["present"] for x in r["root_certificates"]["roots"]] == [False, False]
    states = {(v["path"].split("\\")[2], v["name"]): v["state"] for v in r["tls"]["values"]}
    assert states == {("Microsoft", "SchUseStrongCrypto"): "wrong", ("Microsoft", "SystemDefaultTlsVersions"): "ok",
                      ("WOW6432Node", "SchUseStrongCrypto"): "not_set",
                      ("WOW6432Node", "SystemDefaultTlsVersions"): "not_set"}
    assert "Import-Certificate -FilePath DigiCertGlobalRootG2.crt -CertStoreLocation Cert:\\LocalMachine\\Root" \
        in r["fixes"][0]
    assert 'reg add "HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319" /v SchUseStrongCrypto /t REG_DWORD /d 1 /f' \
        in r["fixes"]
    assert len(r["fixes"]) == 2 + 3


def test_one_documented_root_is_enough_as_test_mdireadiness_decides(v2):
    r = run(v2)["readiness"]
    assert r["ok"] is True and r["root_certificates"]["roots"][0]["present"] is True and r["fixes"] == []


def test_dotnet2_values_are_checked_when_asked(v2):
    result = run(v2, {"dotnet_versions": ["v4.0.30319", "v2.0.50727"]})
    paths = {v["path"] for v in result["readiness"]["tls"]["values"]}
    assert "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v2.0.50727" in paths
    assert result["round_trips"] == 2  # the same query, two keys more


def test_check_mode_reads_the_same_and_only_reads(v2):
    v2.files[CONFIG.lower()] = config_json(JSON_PROXY)
    normal = run(v2)
    v2.calls.clear()
    checked = run(v2, check_mode=True)
    assert checked["check_mode"] is True
    assert {k: v for k, v in checked.items() if k != "check_mode"} == {k: v for k, v in normal.items()
                                                                       if k != "check_mode"}
    assert {call[0] for call in v2.calls} <= READS


def test_missing_and_unreadable_configuration_files_are_warned(v2):
    v2.files.clear()
    result = run(v2, {"readiness": False})
    assert result["sensor_config"] == {"path": CONFIG, "exists": False}
    assert any("does not exist" in x for x in result["sensor_warnings"])
    v2.files[CONFIG.lower()] = b"{broken"
    result = run(v2, {"readiness": False})
    assert result["sensor_config"]["exists"] is True and "not valid JSON" in result["sensor_config"]["error"]


def test_both_thumbprints_are_reported_and_no_certificate_is_read(v2):
    other = "B6DED748E000B5A62D3F4C45058E1DCF64BB55B9"
    v2.files[CONFIG.lower()] = config_json(JSON_PROXY.replace('"CertificateThumbprint": "%s"' % SECRET_MANAGER,
                                                              '"CertificateThumbprint": "%s"' % other))
    result = run(v2, {"readiness": False})
    config = result["sensor_config"]
    assert config["password_certificate_is_secret_manager"] is False
    assert (config["secret_manager_thumbprint"], config["proxy"]["certificate_thumbprint"]) == (SECRET_MANAGER, other)
    assert modules(v2) == ["win_powershell", "slurp"]


def test_a_stopped_sensor_is_warned(v2):
    v2.services[0]["status"] = "Stopped"
    result = run(v2, {"readiness": False})
    assert "the service AATPSensor is stopped" in result["sensor_warnings"]
    assert result["sensor"]["services"]["AATPSensor"]["running"] is False


def test_an_unloaded_hive_is_a_state_not_a_failure(v2):
    v2.unloaded.add("S-1-5-19")
    result = run(v2, {"readiness": False})
    assert result["wininet"]["accounts"]["S-1-5-19"]["state"] == "hive_not_loaded"
    assert not result.get("failed")


def test_a_failing_module_fails_the_task_with_its_message(v2):
    def broken(args):
        return {"failed": True, "msg": "Access is denied"}

    v2.win_powershell = broken
    result = run(v2)
    assert result["failed"] is True and "Access is denied" in result["msg"] and result["changed"] is False


def test_bad_options_are_refused():
    with pytest.raises(AnsibleActionFail, match="dotnet_versions"):
        run(FakeSensorHost(), {"dotnet_versions": ["v9"]})
    result = run(FakeSensorHost(), {"ansi_encoding": "no-such-codec"})
    assert result["failed"] and "ansi_encoding" in result["msg"]


def test_a_callers_snapshot_leaves_only_the_file_to_read(v2):
    """The role's job merges discovery_reads() into its own state query and passes the snapshot."""
    from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote

    reads = sensor.discovery_reads(True, ("v4.0.30319",))
    own = ["HKCU:\\" + CONN, "HKLM:\\SOFTWARE\\atp.sensor_proxy\\Backups"]
    snapshot = remote.read_state(v2, own + reads["keys"], reads["processes"], reads["services"],
                                 reads["root_certificates"], reads["tcp_ports"])
    v2.calls.clear()
    result = sensor.discover(v2, snapshot, readiness=True)
    assert modules(v2) == ["slurp"] and result["readiness"]["ok"] is True
    assert result.snapshot is snapshot and result.config_file.path == CONFIG  # attributes, never result keys
    assert set(dict(result)) == set(run(v2)) - {"changed", "check_mode", "round_trips"}
    v3 = FakeSensorHost()
    v3.processes = [{"name": "SenseIdentity", "id": 1}]
    v3.set(sensor.ATP_POLICY_KEY, "OnboardingInfo", "REG_SZ", json.dumps({"body": "{}"}))
    snapshot = remote.read_state(v3, **reads)
    v3.calls.clear()
    assert sensor.discover(v3, snapshot)["sensor"]["generation"] == "v3" and v3.calls == []


def test_a_snapshot_that_did_not_ask_for_something_is_completed_in_one_query(v2):
    from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote

    snapshot = remote.read_state(v2, [sensor.POLICY_KEY])  # no services asked: "not installed" would be a lie
    v2.calls.clear()
    result = sensor.discover(v2, snapshot, readiness=False)
    assert result["sensor"]["generation"] == "v2" and modules(v2) == ["win_powershell", "slurp"]
    [params] = [c[1]["parameters"] for c in v2.calls if c[0] == "ansible.windows.win_powershell"]
    assert sensor.POLICY_KEY not in params["Key"] and params["Service"] == ["AATPSensor", "AATPSensorUpdater"]


def test_a_service_moved_to_another_account_costs_one_query_for_its_key(v2):
    v2.services[0]["account"] = "NT AUTHORITY\\NetworkService"
    v2.set_proxy("S-1-5-20", {"proxy_server": "ns.corp:3128"})
    result = run(v2, {"readiness": False})
    eff = result["effective_proxy"]["sensor"]
    assert (eff["account"], eff["sid"], eff["proxy"]) == ("NetworkService", "S-1-5-20", "ns.corp:3128")
    assert modules(v2) == ["win_powershell", "slurp", "win_powershell"] and result["round_trips"] == 3

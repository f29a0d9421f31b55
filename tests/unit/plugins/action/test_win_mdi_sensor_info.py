# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_mdi_sensor_info driven with recorded ansible.windows answers.

Every answer has the shape of the real module's return (ansible.windows 3.3.0):

* ``win_service_info.ps1`` lines 20, 28 and 188-220: ``exists``, ``services`` with ``name``, ``display_name``,
  ``path``, ``state`` (``started``/``stopped``, lines 120-128), ``start_mode`` (lines 111-118), ``username``
  (``$service.Account.Value``: ``NT AUTHORITY\\SYSTEM`` for LocalSystem, SCManager.cs ``Account``),
  ``dependencies``, ``dependency_of`` and the other keys.
* ``win_powershell.ps1`` lines 55-63 and 891-942: ``result``, ``host_out``, ``host_err``, ``output`` (the
  script's objects, ordered dictionaries become dicts), ``error``, ``warning``, ``verbose``, ``debug``,
  ``information``; ``changed`` from ``$Ansible.Changed`` (line 894).
* ``slurp.ps1``: ``content`` (base64) and ``encoding``; ``Path <src> is not found`` when missing.
* ``win_certificate_info.ps1`` lines 21-39 and 95-109: ``exists``, ``certificates`` sorted by thumbprint, each with
  ``thumbprint`` (upper case), ``subject``, ``has_private_key``, ``public_key`` (Base64 of GetPublicKey()), ``raw``.
* ``win_reg_stat.ps1``: a key gives ``exists``, ``properties`` (name -> ``{type, value, raw_value}``) and
  ``sub_keys``; REG_BINARY ``raw_value`` is ``["0x46", ...]``; a key under an unloaded hive is ``exists: false``.
"""

from __future__ import annotations

import base64
import json

import pytest
from ansible.errors import AnsibleActionFail
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.atp.sensor_proxy.plugins.action.win_mdi_sensor_info import ActionModule
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _sensor as sensor
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _wininet as w
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor_scripts import SENSE_IDENTITY_PROCESS

from .harness import build_action

CONN = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
FOLDER = "C:\\Program Files\\Azure Advanced Threat Protection Sensor\\2.250.18972.54612\\"
CONFIG = FOLDER + "SensorConfiguration.json"
SECRET_MANAGER = "E44826515D2778493F7F1B44A4F0A435832C657B"
G2 = "DF3C24F9BFD666761B268073FE06D1CC8D4F82A4"
ENCRYPTED = "bvzMONrdkD+/3T3cGzi5+vQp0ksjLrk2MQPv5IFKKTVMgdK6QEbpNTXyf"
READS = {"ansible.windows.win_service_info", "ansible.windows.win_powershell", "ansible.windows.win_reg_stat",
         "ansible.windows.slurp", "ansible.windows.win_certificate_info"}


def service(name, display, path, username, state="started", dependencies=(), dependency_of=()):
    """One entry as win_service_info.ps1 lines 188-220 build it."""
    return {
        "checkpoint": 0, "controls_accepted": ["stop", "shutdown"] if state == "started" else [],
        "dependencies": list(dependencies), "dependency_of": list(dependency_of), "description": display,
        "desktop_interact": False, "display_name": display, "error_control": "normal", "failure_actions": [],
        "failure_actions_on_non_crash_failure": False, "failure_command": None, "failure_reboot_msg": None,
        "failure_reset_period_sec": 86400, "launch_protection": "none", "load_order_group": "", "name": name,
        "path": path, "pre_shutdown_timeout_ms": 180000, "preferred_node": None,
        "process_id": 4242 if state == "started" else 0, "required_privileges": [], "service_exit_code": 0,
        "service_flags": [], "service_type": "win32_own_process", "sid_info": "unrestricted", "start_mode": "auto",
        "state": state, "triggers": [], "username": username, "wait_hint_ms": 0, "win32_exit_code": 0,
    }


V2_SERVICES = [
    service("AATPSensor", "Azure Advanced Threat Protection Sensor", '"%sMicrosoft.Tri.Sensor.exe"' % FOLDER,
            "NT AUTHORITY\\LocalService"),
    service("AATPSensorUpdater", "Azure Advanced Threat Protection Sensor Updater",
            '"%sMicrosoft.Tri.Sensor.Updater.exe"' % FOLDER, "NT AUTHORITY\\SYSTEM"),
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


@pytest.fixture(scope="module")
def sensor_cert():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1 = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return {"archived": False, "dns_names": ["Azure ATP Sensor"], "extensions": [], "friendly_name": "",
            "has_private_key": True, "issued_by": "Azure ATP Sensor", "issued_to": "Azure ATP Sensor",
            "issuer": "CN=Azure ATP Sensor", "public_key": base64.b64encode(pkcs1).decode(), "raw": "",
            "serial_number": "07", "signature_algorithm": "sha256RSA", "subject": "CN=Azure ATP Sensor",
            "thumbprint": SECRET_MANAGER, "valid_from": 1.7e9, "valid_from_iso8601": "2026-01-01T00:00:00Z",
            "valid_to": 1.8e9, "valid_to_iso8601": "2028-01-01T00:00:00Z", "version": 3}


def root(thumbprint):
    return {"thumbprint": thumbprint, "subject": "CN=DigiCert Global Root G2", "has_private_key": False,
            "valid_to_iso8601": "2038-01-15T12:00:00Z", "public_key": "", "raw": ""}


class FakeSensorHost:
    """Answers the five read modules the way ansible.windows 3.3.0 does (see the module docstring)."""

    def __init__(self):
        self.services = []
        self.processes = []
        self.files = {}
        self.registry = {}  # upper-case PS path -> {name: (type, value)}
        self.unloaded = set()
        self.stores = {"My": [], "Root": [root(G2)]}
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

    def win_service_info(self, args):
        pattern = args["name"].lower()
        found = [s for s in self.services if s["name"].lower() == pattern or
                 (pattern.endswith("*") and s["name"].lower().startswith(pattern[:-1]))]
        return {"changed": False, "exists": bool(found), "services": found}

    def win_powershell(self, args):
        assert args["script"] == SENSE_IDENTITY_PROCESS
        return {"changed": False, "result": {}, "host_out": "", "host_err": "", "output": list(self.processes),
                "error": [], "warning": [], "verbose": [], "debug": [], "information": []}

    def slurp(self, args):
        data = self.files.get(args["src"].lower())
        if data is None:
            return {"changed": False, "failed": True, "msg": "Path %s is not found" % args["src"]}
        return {"changed": False, "content": base64.b64encode(data).decode(), "encoding": "base64"}

    def win_certificate_info(self, args):
        certs = self.stores.get(args["store_name"], [])
        if args.get("thumbprint"):
            certs = [c for c in certs if c["thumbprint"] == args["thumbprint"].upper()]
        return {"changed": False, "exists": bool(certs), "certificates": sorted(certs, key=lambda c: c["thumbprint"])}

    def win_reg_stat(self, args):
        path = args["path"]
        if path.upper().startswith("HKU:\\"):
            sid = path.split("\\")[1].upper()
            if sid in self.unloaded:
                return {"changed": False, "exists": False}
            if path.upper() == "HKU:\\" + sid:
                return {"changed": False, "exists": True, "properties": {}, "sub_keys": ["Software"]}
        values = self.registry.get(path.upper())
        if values is None:
            return {"changed": False, "exists": False}
        props = {}
        for name, (kind, value) in values.items():
            if kind == "REG_BINARY":
                props[name] = {"type": kind, "value": list(value), "raw_value": ["0x%02x" % b for b in value]}
            else:
                props[name] = {"type": kind, "value": value, "raw_value": value}
        return {"changed": False, "exists": True, "properties": props, "sub_keys": []}


def run(host, args=None, check_mode=False):
    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        module_args = dict(module_args or {})
        return host(module_name, module_args)

    return build_action(ActionModule, dict(args or {}), execute_module, check_mode=check_mode).run(task_vars={})


@pytest.fixture
def v2(sensor_cert):
    host = FakeSensorHost()
    host.services = [dict(s) for s in V2_SERVICES]
    host.files[CONFIG.lower()] = config_json()
    host.stores["My"] = [sensor_cert]
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
    assert result["certificates"]["secret_manager"]["present"] is True
    assert result["certificates"]["secret_manager"]["public_key"]
    for component in ("sensor", "updater"):
        eff = result["effective_proxy"][component]
        assert (eff["source"], eff["proxy"], eff["ambiguous"]) == ("sensor_config", "http://proxy.corp:8080", False)
    assert result["method_in_use"] == "sensor_config" and result["auto_method"] == "sensor_config"
    assert result["sensor_warnings"] == [] and "warnings" not in result
    assert ENCRYPTED not in json.dumps(result)  # never the encrypted bytes, let alone a password
    assert modules(v2) == ["win_service_info", "win_powershell", "win_reg_stat", "win_reg_stat", "slurp",
                           "win_certificate_info", "win_reg_stat", "win_reg_stat", "win_certificate_info",
                           "win_reg_stat", "win_reg_stat"]
    assert result["round_trips"] == 11


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
    assert result["sensor_warnings"] == [] and result["round_trips"] == 8 and result["readiness"] is None


def test_v2_with_neither_goes_direct_and_auto_picks_sensor_config(v2):
    result = run(v2, {"readiness": False})
    eff = result["effective_proxy"]["sensor"]
    assert (eff["source"], eff["proxy"], eff["summary"]) == ("wininet_per_account", None, "direct (no proxy)")
    assert result["method_in_use"] == "none" and result["auto_method"] == "sensor_config"
    assert result["round_trips"] == 8


def test_absent_account_keys_cost_one_read_more_each(v2):
    for sid in ("S-1-5-18", "S-1-5-19"):
        v2.registry.pop(("HKU:\\%s\\%s" % (sid, CONN)).upper())
    result = run(v2, {"readiness": False})
    assert result["effective_proxy"]["sensor"]["summary"] == "(missing)"
    assert result["wininet"]["accounts"]["S-1-5-18"]["state"] == "missing"
    assert result["round_trips"] == 10


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
    assert result["wininet"]["accounts"] == {}
    assert result["round_trips"] == 9
    assert not any(call[1].get("path", "").startswith("HKU:") for call in v2.calls)


def test_v3_uses_defender_for_endpoint_settings():
    host = FakeSensorHost()
    host.processes = [{"name": "SenseIdentity", "pid": 3344,
                       "path": "C:\\Program Files\\Windows Defender Advanced Threat Protection\\SenseIdentity.exe"}]
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
    assert result["round_trips"] == 10
    assert "slurp" not in modules(host)


def test_v3_agreeing_settings_are_quiet_and_v2_services_beside_it_are_warned():
    host = FakeSensorHost()
    host.processes = [{"name": "SenseIdentity", "pid": 1, "path": None}]
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
    assert result["round_trips"] == 7


def test_missing_root_ca_and_tls_values_give_one_line_fixes(v2):
    v2.stores["Root"] = []
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
    assert result["round_trips"] == 11 + 2


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


def test_certificates_the_file_names_but_the_host_lacks_are_warned(v2):
    other = "B6DED748E000B5A62D3F4C45058E1DCF64BB55B9"
    v2.files[CONFIG.lower()] = config_json(JSON_PROXY.replace('"CertificateThumbprint": "%s"' % SECRET_MANAGER,
                                                              '"CertificateThumbprint": "%s"' % other))
    v2.stores["My"] = []
    result = run(v2, {"readiness": False})
    assert result["sensor_config"]["password_certificate_is_secret_manager"] is False
    assert result["certificates"]["proxy_password"] == {"thumbprint": other, "present": False}
    assert sum("not in LocalMachine\\My" in x for x in result["sensor_warnings"]) == 2


def test_a_stopped_sensor_is_warned(v2):
    v2.services[0]["state"] = "stopped"
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

    v2.win_service_info = broken
    result = run(v2)
    assert result["failed"] is True and "Access is denied" in result["msg"] and result["changed"] is False


def test_bad_options_are_refused():
    with pytest.raises(AnsibleActionFail, match="dotnet_versions"):
        run(FakeSensorHost(), {"dotnet_versions": ["v9"]})
    result = run(FakeSensorHost(), {"ansi_encoding": "no-such-codec"})
    assert result["failed"] and "ansi_encoding" in result["msg"]

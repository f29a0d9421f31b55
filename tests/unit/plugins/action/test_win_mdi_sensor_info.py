# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_mdi_sensor_info driven with recorded ansible.windows answers: the fake sensor host of tests/unit/fakes/sensor.py
(the state query and slurp, in the shapes of ansible.windows 3.3.0 that its docstring cites).
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.atp.sensor_proxy.plugins.action.win_mdi_sensor_info import ActionModule
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as sensor
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.sensor import (
    CONFIG,
    CONN,
    ENCRYPTED,
    FOLDER,
    G2,
    JSON_PROXY,
    SECRET_MANAGER,
    V2_SERVICES,
    FakeSensorHost,
    config_json,
)

from .harness import build_action

READS = {"ansible.windows.win_powershell", "ansible.windows.slurp"}


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
        v2.registry.delete_key(("HKU:\\%s\\%s" % (sid, CONN)).upper())
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
    v2.registry.delete_key("HKLM:\\SOFTWARE\\WOW6432NODE\\MICROSOFT\\.NETFRAMEWORK\\V4.0.30319")
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
    result = run(FakeSensorHost(), {"dotnet_versions": ["v9"]})
    assert result["failed"] is True and "dotnet_versions" in result["msg"]
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

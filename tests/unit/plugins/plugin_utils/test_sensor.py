# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of sensor discovery and the readiness checks (the orchestration is tested through the action)."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as s
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _effective as eff
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _readiness as readiness
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _services as services
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w

FOLDER = "C:\\Program Files\\Azure Advanced Threat Protection Sensor\\2.250.18972.54612\\"


@pytest.mark.parametrize("path, folder", [
    ('"%sMicrosoft.Tri.Sensor.exe"' % FOLDER, FOLDER),
    ("%sMicrosoft.Tri.Sensor.exe" % FOLDER, FOLDER),
    ('"%smicrosoft.tri.sensor.EXE" --service' % FOLDER, FOLDER),  # -replace is case-insensitive
    ("D:\\MDI\\Sensor\\Microsoft.Tri.Sensor.exe", "D:\\MDI\\Sensor\\"),
    ('"C:\\Other\\svc.exe"', "C:\\Other\\"),
    ("", None),
    (None, None),
])
def test_install_folder_as_get_mdisensorbinpath(path, folder):
    assert services.install_folder(path) == folder


def test_version_is_the_install_folder_name():
    assert services.version_from_folder(FOLDER) == "2.250.18972.54612"
    assert services.version_from_folder("D:\\MDI\\Sensor\\") is None


@pytest.mark.parametrize("text, expected", [
    ("http://Proxy.Corp:8080", "proxy.corp:8080"),
    ("https://proxy.corp:8443/", "proxy.corp:8443"),
    ("proxy.corp:8080", "proxy.corp:8080"),
    ("proxy.corp", "proxy.corp:80"),
    ("http=a.corp:1;https=b.corp:2", "b.corp:2"),
    ("http=a.corp:1", None),  # no entry for HTTPS
    ("", None),
    (None, None),
])
def test_endpoint_of_each_proxy_syntax(text, expected):
    assert eff.endpoint(text) == expected


def key(values: dict) -> remote.KeyRead:
    return remote.KeyRead("HKLM:\\X", True, {n.lower(): remote.RegValue(n, t, d if t == "REG_BINARY" else None,
                                                                        None if t == "REG_BINARY" else d)
                                             for n, (t, d) in values.items()})


@pytest.mark.parametrize("values, number, per_machine", [
    ({"ProxySettingsPerUser": ("REG_DWORD", 0)}, 0, True),
    ({"ProxySettingsPerUser": ("REG_DWORD", 1)}, 1, False),
    ({"ProxySettingsPerUser": ("REG_SZ", "0")}, 0, True),
    ({}, None, False),
])
def test_proxy_settings_per_user(values, number, per_machine):
    got = s.per_machine(key(values))
    assert (got["value"], got["per_machine"]) == (number, per_machine)
    assert s.per_machine(remote.KeyRead("x", False))["per_machine"] is False


def test_decode_value_states():
    pac = remote.RegValue("DefaultConnectionSettings", "REG_BINARY",
                          w.encode({"auto_config_url": "http://wpad.corp/proxy.pac"}))
    got = s.decode_value(pac, "p")
    assert (got["state"], got["uses_proxy"], got["auto_config_url"]) == ("ok", True, "http://wpad.corp/proxy.pac")
    assert s.decode_value(remote.RegValue("x", "REG_SZ", None, "x"), "p")["state"] == "malformed"
    assert s.decode_value(remote.RegValue("x", "REG_BINARY", b"\x46\x00"), "p")["state"] == "malformed"
    assert s.decode_value(None, "p", "hive_not_loaded")["summary"] == "(hive not loaded)"


def test_winhttp_decodes_netsh_values():
    value = bytes.fromhex("2800000000000000030000000f00000070726f78792e636f72703a38303830070000003c6c6f63616c3e")
    got = s.winhttp(key({"WinHttpSettings": ("REG_BINARY", value)}))
    assert (got["proxy_server"], got["bypass"], got["summary"]) == ("proxy.corp:8080", ["<local>"],
                                                                    "proxy proxy.corp:8080")
    assert s.winhttp(remote.KeyRead("x", False))["summary"] == "direct (no proxy)"


def v2_sensor():
    """From the state query's services (keyed by the name asked for, in any case)."""
    return services.sensor_info({"AATPSensor": {"name": "AATPSensor", "status": "Running", "start": 2, "dependents": [],
                                                "path": FOLDER + "Microsoft.Tri.Sensor.exe",
                                                "account": "NT AUTHORITY\\LocalService", "dependencies": []},
                                 "aatpsensorupdater": {"name": "AATPSensorUpdater", "status": "Running", "start": 2,
                                                       "dependents": ["AATPSensor"],
                                                       "path": FOLDER + "Microsoft.Tri.Sensor.Updater.exe",
                                                       "account": "LocalSystem", "dependencies": []}}, [])


def test_services_from_the_state_query():
    sensor = v2_sensor()
    updater = sensor["services"]["AATPSensorUpdater"]
    assert (updater["state"], updater["running"], updater["start_mode"]) == ("started", True, "auto")
    assert (updater["account"], updater["sid"], updater["dependency_of"]) == ("LocalSystem", "S-1-5-18", ["AATPSensor"])
    assert sensor["services"]["AATPSensor"]["sid"] == "S-1-5-19" and sensor["install_folder"] == FOLDER
    stopped = services.sensor_info({"AATPSensor": {"name": "AATPSensor", "status": "StopPending", "start": 4}}, [])
    entry = stopped["services"]["AATPSensor"]
    assert (entry["state"], entry["running"], entry["start_mode"], entry["sid"]) == (
        "stop_pending", False, "disabled", None)
    # Get-Process -Name matches any case; other processes in the snapshot (the caller asked for more) are ignored.
    v3 = services.sensor_info({}, [{"name": "senseidentity", "id": 7}, {"name": "lsass", "id": 600}])
    assert v3["generation"] == "v3" and v3["processes"] == [{"name": "senseidentity", "pid": 7}]


def wininet_info(per_machine=False, machine=None, accounts=None):
    return {"per_user_policy": {"per_machine": per_machine}, "machine": machine or s.decode_value(None, "HKLM"),
            "accounts": accounts or {}}


def value(spec):
    return s.decode_value(remote.RegValue("DefaultConnectionSettings", "REG_BINARY", w.encode(spec)), "path")


def test_same_proxy_in_json_and_wininet_is_not_ambiguous():
    config = {"exists": True, "path": "f", "proxy": {"configured": True, "url": "http://PROXY.corp:8080/"}}
    info = wininet_info(accounts={"S-1-5-19": value({"proxy_server": "proxy.corp:8080"}),
                                  "S-1-5-18": value({"proxy_server": "proxy.corp:8080"})})
    effective, warnings = eff.effective_proxy(v2_sensor(), config, info, {}, None)
    assert warnings == [] and effective["sensor"]["ambiguous"] is False
    assert effective["sensor"]["source"] == "sensor_config"
    assert [c["configured"] for c in effective["sensor"]["candidates"]] == [True, True]


def test_pac_against_a_json_proxy_is_ambiguous():
    config = {"exists": True, "path": "f", "proxy": {"configured": True, "url": "http://proxy.corp:8080"}}
    info = wininet_info(accounts={"S-1-5-19": value({"auto_config_url": "http://wpad/p.pac"}),
                                  "S-1-5-18": value({})})
    effective, warnings = eff.effective_proxy(v2_sensor(), config, info, {}, None)
    assert effective["sensor"]["ambiguous"] is True and effective["updater"]["ambiguous"] is False
    assert len(warnings) == 1 and "PAC http://wpad/p.pac" in warnings[0]


def test_machine_policy_applies_to_both_components():
    info = wininet_info(True, value({"proxy_server": "m.corp:1"}))
    effective, warnings = eff.effective_proxy(v2_sensor(), None, info, {}, None)
    assert {c["source"] for c in effective.values()} == {"wininet_machine"} and warnings == []


def test_v3_falls_back_to_winhttp_then_direct():
    sensor = services.sensor_info({}, [{"name": "SenseIdentity", "id": 1}])
    winhttp = {"proxy_server": "w.corp:8080", "path": "HKLM"}
    effective, warnings = eff.effective_proxy(sensor, None, wininet_info(), winhttp,
                                              {"telemetry_proxy_server": None, "proxy_server": None})
    assert (effective["sensor"]["proxy"], effective["sensor"]["summary"]) == ("w.corp:8080", "WinHTTP w.corp:8080")
    effective, warnings = eff.effective_proxy(sensor, None, wininet_info(), {}, {})
    assert (effective["sensor"]["proxy"], effective["sensor"]["summary"]) == (None, "direct (no proxy)")


def test_auto_method_rule():
    base = {"sensor": {"generation": None}, "effective_proxy": {}, "sensor_config": None}
    assert eff.auto_method(base) == "wininet"
    assert eff.auto_method(dict(base, sensor={"generation": "v3"})) == "mde"
    v2 = dict(base, sensor={"generation": "v2"}, sensor_config={"proxy": {"configured": False}},
              effective_proxy={"sensor": {"candidates": [{"source": "wininet_per_account", "configured": False}]}})
    assert (eff.method_in_use(v2), eff.auto_method(v2)) == ("none", "sensor_config")
    v2["effective_proxy"]["sensor"]["candidates"][0]["configured"] = True
    assert eff.auto_method(v2) == "wininet"
    v2["sensor_config"]["proxy"]["configured"] = True
    assert eff.auto_method(v2) == "sensor_config"


def test_readiness_root_thumbprints_are_the_documented_ones():
    assert [r["thumbprint"] for r in readiness.ROOT_CERTIFICATES] == [
        "DF3C24F9BFD666761B268073FE06D1CC8D4F82A4", "A8985D3A65E5E5C4B2D7D66D40C6DD2FB19C5436"]
    only_gcc = readiness.check_root_certificates({"DF3C24F9BFD666761B268073FE06D1CC8D4F82A4": False,
                                                  "a8985d3a65e5e5c4b2d7d66d40c6dd2fb19c5436": True})
    assert only_gcc["ok"] is True and [r["present"] for r in only_gcc["roots"]] == [False, True]
    assert only_gcc["roots"][0]["fix"].startswith("Download https://cacerts.digicert.com/DigiCertGlobalRootG2.crt")
    assert readiness.check_root_certificates({})["ok"] is False


def test_tls_fix_values_for_the_opt_in_writer():
    keys = {p: (False, {}) for p in readiness.tls_key_paths(("v4.0.30319",))}
    result = readiness.summarize(None, readiness.check_tls(keys))
    assert result["ok"] is False and "root_certificates" not in result
    assert readiness.tls_fix_values(result) == [
        ("HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319", "SchUseStrongCrypto", 1),
        ("HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319", "SystemDefaultTlsVersions", 1),
        ("HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319", "SchUseStrongCrypto", 1),
        ("HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319", "SystemDefaultTlsVersions", 1)]
    assert readiness.check_tls({"k": (True, {"schusestrongcrypto": ("REG_SZ", "1")})})["values"][0]["state"] == "wrong"


class Recorder:
    """An executor answering with recorded results (win_certificate_info.ps1 shapes)."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, module, args):
        self.calls.append((module, dict(args)))
        return self.answers[module]


def test_write_path_helpers():
    execute = Recorder({
        "ansible.windows.win_certificate_info": {"changed": False, "exists": True, "certificates": [
            {"thumbprint": "AB" * 20, "public_key": "MIIB"}]},
    })
    assert s.read_certificate(execute, "ab" * 20)["public_key"] == "MIIB"
    assert execute.calls == [
        ("ansible.windows.win_certificate_info", {"store_name": "My", "store_location": "LocalMachine",
                                                  "thumbprint": "ab" * 20})]
    assert services.RESTART_ARGS == {"name": "AATPSensorUpdater", "state": "restarted", "force_dependent_services": True}
    execute.answers["ansible.windows.win_certificate_info"] = {"changed": False, "exists": False, "certificates": []}
    assert s.read_certificate(execute, "cd" * 20) is None
    snapshot = remote.Snapshot(services={"aatpsensor": {"name": "AATPSensor", "status": "Running"},
                                         "AATPSensorUpdater": {"name": "AATPSensorUpdater", "status": "Stopped"}})
    assert services.service_states(snapshot) == {"AATPSensor": "started", "AATPSensorUpdater": "stopped"}


def test_discovery_reads_cover_every_key_discover_looks_at():
    reads = s.discovery_reads(True, ("v4.0.30319", "v2.0.50727"))
    assert reads["services"] == ["AATPSensor", "AATPSensorUpdater"] and reads["processes"] == ["SenseIdentity"]
    assert len(reads["root_certificates"]) == 2
    assert {s.POLICY_KEY, s.MACHINE_CONNECTIONS, s.ATP_POLICY_KEY, s.DEFENDER_POLICY_KEY, s.DATACOLLECTION_KEY,
            "HKU:\\S-1-5-19\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections",
            "HKU:\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections"} \
        <= set(reads["keys"])
    assert set(readiness.tls_key_paths(("v4.0.30319", "v2.0.50727"))) <= set(reads["keys"])
    plain = s.discovery_reads(False, ())
    assert plain["root_certificates"] == [] and not any("NETFramework" in k for k in plain["keys"])

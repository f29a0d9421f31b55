# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_wininet_proxy_compare driven with recorded ansible.windows answers (tests/unit/fakes/windows.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.atp.sensor_proxy.plugins.action.win_wininet_proxy_compare import ActionModule
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.windows import CONN, FakeWindows

from .harness import build_action

ADMIN = w.encode({"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]})


def make_plugin(args, windows, check_mode=False):
    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        assert module_name and module_name.startswith("ansible.windows."), "always call remote modules by FQCN"
        module_args = dict(module_args or {})
        module_args["_ansible_check_mode"] = check_mode
        return windows(module_name, module_args)

    return build_action(ActionModule, args, execute_module, check_mode=check_mode)


@pytest.fixture
def windows():
    host = FakeWindows()
    host.set_value(None, "DefaultConnectionSettings", ADMIN)
    return host


def run(args, windows, check_mode=False):
    return make_plugin(args, windows, check_mode).run(task_vars={})


def test_three_states_and_round_trips(windows):
    # S-1-5-18 has the admin's settings with another counter: equivalent, not "different"
    windows.set_value("S-1-5-18", "DefaultConnectionSettings", w.encode({"proxy_server": "proxy.corp:8080",
                                                                         "bypass": ["<local>"]}, ADMIN))
    # S-1-5-19 has nothing: missing
    result = run({}, windows)
    assert result["changed"] is False and not result.get("failed")
    states = {t["sid"]: t["state"] for t in result["targets"]}
    assert states == {"S-1-5-18": "equivalent", "S-1-5-19": "missing"}
    assert result["in_sync"] is False and result["needs_write"] == ["S-1-5-19"]
    assert result["source"]["kind"] == "current_user" and result["source"]["decoded"]["proxy_server"] == "proxy.corp:8080"
    # the source, both targets and the hive of the absent key: all in ONE read-only state query
    assert result["round_trips"] == 1
    assert [c[0] for c in windows.calls] == ["ansible.windows.win_powershell"]
    assert windows.calls[0][1]["parameters"]["Key"] == [
        "HKCU:\\" + CONN, "HKU:\\S-1-5-18\\" + CONN, "HKU:\\S-1-5-19\\" + CONN]
    assert result["targets"][1]["values"]["DefaultConnectionSettings"]["wanted_hex"] == ADMIN.hex()


def test_identical_and_different(windows):
    windows.set_value("S-1-5-18", "DefaultConnectionSettings", ADMIN)
    windows.set_value("S-1-5-19", "DefaultConnectionSettings", w.encode({"proxy_server": "old.corp:3128"}))
    result = run({"targets": ["LocalSystem", "LocalService"]}, windows)
    first, second = result["targets"]
    assert (first["state"], first["account"]) == ("identical", "LocalSystem")
    assert second["state"] == "different" and second["differences"] == ["bypass", "proxy_server"]
    assert second["decoded"]["proxy_server"] == "old.corp:3128"
    assert result["round_trips"] == 1


def test_hive_not_loaded_is_a_state(windows):
    windows.loaded.discard("S-1-5-19")
    windows.set_value("S-1-5-18", "DefaultConnectionSettings", ADMIN)
    result = run({}, windows)
    assert not result.get("failed")
    assert result["targets"][1]["state"] == "hive_not_loaded" and result["hive_not_loaded"] == ["S-1-5-19"]
    assert result["in_sync"] is False


def test_malformed_target_is_different(windows):
    windows.set_value("S-1-5-18", "DefaultConnectionSettings", bytes.fromhex("46000000010000000300000099"))
    windows.set_value("S-1-5-19", "DefaultConnectionSettings", "text", kind="REG_SZ")
    result = run({}, windows)
    t18, t19 = result["targets"]
    assert t18["state"] == "different" and t18["differences"] == ["malformed"] and "offset" in t18["values"][
        "DefaultConnectionSettings"]["error"]
    assert t19["state"] == "different" and t19["differences"] == ["type"]


def test_saved_legacy_settings_and_networkservice(windows):
    for sid in ("S-1-5-18", "S-1-5-19", "S-1-5-20"):
        windows.set_value(sid, "DefaultConnectionSettings", ADMIN)
    windows.set_value("S-1-5-19", "SavedLegacySettings", ADMIN)
    result = run({"targets": ["S-1-5-18", "LocalService", "NetworkService"],
                  "value_names": ["DefaultConnectionSettings", "SavedLegacySettings"]}, windows)
    states = {t["sid"]: (t["state"], {n: v["state"] for n, v in t["values"].items()}) for t in result["targets"]}
    assert states["S-1-5-19"] == ("identical", {"DefaultConnectionSettings": "identical",
                                                "SavedLegacySettings": "identical"})
    assert states["S-1-5-18"][0] == "missing" and states["S-1-5-20"][1]["SavedLegacySettings"] == "missing"
    assert result["round_trips"] == 1  # one query, whatever the number of keys and value names


def test_settings_source_encodes_on_top_of_each_target(windows):
    old = w.encode({"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]})
    windows.set_value("S-1-5-18", "DefaultConnectionSettings", old)
    result = run({"settings": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}}, windows)
    assert result["source"]["kind"] == "settings"
    assert result["round_trips"] == 1 and "HKCU:\\" + CONN not in windows.calls[0][1]["parameters"]["Key"]
    t18 = result["targets"][0]
    assert t18["state"] == "equivalent"
    wanted = w.decode(t18["values"]["DefaultConnectionSettings"]["wanted_hex"])
    assert wanted.counter == w.decode(old).counter + 1


def test_value_source(windows):
    windows.set_value("S-1-5-18", "DefaultConnectionSettings", ADMIN)
    windows.set_value("S-1-5-19", "DefaultConnectionSettings", ADMIN)
    result = run({"source_value": "hex:" + ",".join("%02x" % b for b in ADMIN)}, windows)
    assert result["in_sync"] is True and result["round_trips"] == 1
    assert len(windows.calls[0][1]["parameters"]["Key"]) == 2  # the targets only: the source is the given value


def test_sid_source(windows):
    windows.set_value("S-1-5-20", "DefaultConnectionSettings", ADMIN)
    result = run({"source_sid": "NetworkService", "targets": ["S-1-5-19"]}, windows)
    assert result["source"]["sid"] == "S-1-5-20" and result["targets"][0]["state"] == "missing"


def test_check_mode_runs_and_writes_nothing(windows):
    result = run({}, windows, check_mode=True)
    assert not result.get("failed") and result["changed"] is False
    assert [c[0] for c in windows.calls] == ["ansible.windows.win_powershell"]  # the read-only query only
    assert windows.calls[0][1]["_ansible_check_mode"] is True


@pytest.mark.parametrize("args,needle", [
    ({"targets": ["S-1-5-1x"]}, "targets: 'S-1-5-1x' is neither a SID"),
    ({"targets": ["Administrator"]}, "LocalSystem, LocalService, NetworkService"),
    ({"source_sid": "S-1-5-20", "source_value": "00"}, "mutually exclusive"),
    ({"source": "sid"}, "source=sid needs the option source_sid"),
    ({"source": "current_user", "settings": {"proxy_server": "p:1"}}, "settings is given but source=current_user"),
    ({"source_value": "4600"}, "source_value: not a valid WinINet settings value: at byte offset 0"),
    ({"settings": {"proxy_server": "proxy.corp"}}, "settings.proxy_server: 'proxy.corp' has no port"),
    ({"settings": {"proxy_server": "proxy.corp:99999"}}, "between 1 and 65535"),
])
def test_bad_input_fails_clearly(windows, args, needle):
    result = run(args, windows)
    assert result["failed"] is True and needle in result["msg"], result["msg"]
    assert "Traceback" not in result["msg"]


def test_bad_option_type_is_rejected(windows):
    result = run({"value_names": ["Nope"]}, windows)
    assert result["failed"] is True and "value_names" in result["msg"]


def test_unreadable_source_fails_with_hint(windows):
    windows.registry.clear()
    result = run({}, windows)
    assert result["failed"] and "has no DefaultConnectionSettings" in result["msg"] and "source=settings" in result["msg"]
    windows.loaded.discard("S-1-5-20")
    result = run({"source_sid": "S-1-5-20"}, windows)
    assert "hive HKU\\S-1-5-20 is not loaded" in result["msg"]
    windows.set_value(None, "DefaultConnectionSettings", b"\x46\x00")
    result = run({}, windows)
    assert result["failed"] and "is malformed: at byte offset 0" in result["msg"]


def test_remote_failure_is_reported_not_raised(windows):
    def denied(module, args):
        return {"failed": True, "msg": "Requested registry access is not allowed."}

    plugin = make_plugin({}, denied)
    result = plugin.run(task_vars={})
    assert result["failed"] and "reading HKCU:\\" + CONN in result["msg"] and "not allowed" in result["msg"]


def test_connection_failure_makes_the_host_unreachable(windows):
    def dropped(module, args):
        raise AnsibleConnectionFailure("connection dropped")

    # The host becomes unreachable (Ansible treats an "unreachable" result like the raised failure), with the
    # connection's message, and nothing is reported as compared.
    result = make_plugin({}, dropped).run(task_vars={})
    assert result["unreachable"] is True and "connection dropped" in result["msg"]
    assert "targets" not in result and not result.get("changed")

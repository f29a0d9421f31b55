# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_wininet_proxy (apply): backup before write, exact bytes, verify, roll back, check mode, diff."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.action.win_wininet_proxy import ActionModule
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _wininet as w

from .fake_windows import FakeWindows
from .harness import build_action

ADMIN = w.encode({"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}, bytes.fromhex(
    "460000000f00000009000000000000000000000000000000040000001f000000687474703a2f2f736b79687161617630332e742e6973"
    "2f777061642e6461747090a22e1615ca010000000000000000000000000100000002000000c0a80b81" + "00" * 120))


class Host(FakeWindows):
    def __init__(self):
        super().__init__()
        self.files = {}
        self.set_value(None, "DefaultConnectionSettings", ADMIN)


def make(args, host, check_mode=False, write_fails=False):
    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        module_args = dict(module_args or {}, _ansible_check_mode=check_mode)
        return host(module_name, module_args)

    def write_file(dest, content, task_vars):
        assert not check_mode, "check mode must not write a backup"
        if write_fails:
            return {"failed": True, "msg": "Destination directory 'Z:\\' does not exist"}
        host.files[dest] = content
        return {"changed": True}

    plugin = build_action(ActionModule, args, execute_module, check_mode=check_mode, diff=True)
    plugin._write_file = write_file
    return plugin.run(task_vars={"inventory_hostname": "dc01"})


def writes(host):
    return [c for c in host.calls if c[0] == "ansible.windows.win_regedit"]


def test_copies_exact_bytes_backs_up_first_and_verifies():
    host = Host()
    old18 = w.encode({"proxy_server": "old:3128"})
    host.set_value("S-1-5-18", "DefaultConnectionSettings", old18)
    result = make({}, host)
    assert result["changed"] and result["verified"] and not result.get("failed")
    assert result["changed_sids"] == ["S-1-5-18", "S-1-5-19"]
    for sid in ("S-1-5-18", "S-1-5-19"):
        assert host.get_value(sid, "DefaultConnectionSettings") == ("REG_BINARY", ADMIN)  # byte for byte
    # the backup holds the old value and a deletion for the missing one, and was written before any write
    assert len(host.files) == 1
    path, content = next(iter(host.files.items()))
    assert path.startswith("C:\\ProgramData\\atp.sensor_proxy\\backups\\atp_proxy_") and path.endswith(".reg")
    assert result["backup_file"] == path
    parsed = regfile.parse(content)
    key18 = "HKEY_USERS\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections"
    assert parsed[key18]["DefaultConnectionSettings"] == old18
    assert parsed[key18.replace("S-1-5-18", "S-1-5-19")]["DefaultConnectionSettings"] is None
    assert {b["sid"]: b["old_hex"] for b in result["backups"]} == {"S-1-5-18": old18.hex(), "S-1-5-19": None}
    modules = [c[0].rsplit(".", 1)[1] for c in host.calls]
    assert modules.index("win_file") < modules.index("win_regedit")
    # decoded diff, not raw hex
    after = result["diff"][0]["after"]
    assert "proxy_server: proxy.corp:8080" in after and "bypass: <local>" in after
    assert "proxy_server: old:3128" in result["diff"][0]["before"] and "(absent)" in result["diff"][1]["before"]
    # compare 4 (HKCU, 2 targets, 1 hive check) + mkdir 1 + 2 writes + 2 read-backs; win_copy counted as 2
    assert result["round_trips"] == 4 + 1 + 2 + 2 + 2


def test_second_run_changes_nothing():
    host = Host()
    make({}, host)
    host.calls.clear()
    result = make({}, host)
    assert result["changed"] is False and writes(host) == [] and result["in_sync"]
    assert result["round_trips"] == 3


def test_equivalent_is_not_rewritten():
    host = Host()
    for sid in ("S-1-5-18", "S-1-5-19"):
        host.set_value(sid, "DefaultConnectionSettings", w.encode({"proxy_server": "proxy.corp:8080",
                                                                   "bypass": ["<local>"]}, ADMIN))
    result = make({}, host)
    assert result["changed"] is False and writes(host) == [] and not host.files


def test_check_mode_writes_nothing_and_lists_sids():
    host = Host()
    host.set_value("S-1-5-18", "DefaultConnectionSettings", ADMIN)
    result = make({}, host, check_mode=True)
    assert result["changed"] is True and result["changed_sids"] == ["S-1-5-19"]
    assert writes(host) == [] and not host.files and host.get_value("S-1-5-19", "DefaultConnectionSettings") is None
    assert "proxy.corp:8080" in result["diff"][0]["after"]


def test_hive_not_loaded_fails_before_anything_is_written():
    host = Host()
    host.loaded.discard("S-1-5-19")
    result = make({}, host)
    assert result["failed"] and "HKU\\S-1-5-19 (LocalService) is not loaded" in result["msg"]
    assert "nothing was written" in result["msg"] and writes(host) == [] and not host.files


def test_access_denied_rolls_back_and_says_so():
    host = Host()
    old18 = w.encode({"proxy_server": "old:3128"})
    host.set_value("S-1-5-18", "DefaultConnectionSettings", old18)

    real = host.win_regedit
    count = {"n": 0}

    def second_write_denied(args):
        count["n"] += 1
        if count["n"] == 2:
            return {"failed": True, "msg": "failed to change registry property 'DefaultConnectionSettings' at "
                                           "HKU:\\S-1-5-19\\...: Requested registry access is not allowed."}
        return real(args)

    host.win_regedit = second_write_denied
    result = make({}, host)
    assert result["failed"] and "Requested registry access is not allowed" in result["msg"]
    assert "restored to their previous bytes" in result["msg"] and result["backup_file"] in result["msg"]
    assert host.get_value("S-1-5-18", "DefaultConnectionSettings") == ("REG_BINARY", old18)
    assert host.get_value("S-1-5-19", "DefaultConnectionSettings") is None


def test_write_that_does_not_stick_fails_verification_and_restores():
    host = Host()
    host.drop_writes = True
    result = make({}, host)
    assert result["failed"] and "verify after write failed" in result["msg"]
    assert "LocalService (S-1-5-19) DefaultConnectionSettings reads back nothing" in result["msg"]
    assert result["mismatched"] == ["S-1-5-18", "S-1-5-19"]
    assert host.get_value("S-1-5-19", "DefaultConnectionSettings") is None


def test_backup_failure_writes_nothing():
    host = Host()
    result = make({}, host, write_fails=True)
    assert result["failed"] and "writing the backup" in result["msg"] and "Nothing was written" in result["msg"]
    assert writes(host) == []


@pytest.mark.parametrize("spec", [{"proxy_server": "proxy.corp:8080"}])
def test_settings_source_keeps_each_targets_cache(spec):
    host = Host()
    old = w.encode({"proxy_server": "old:1"}, ADMIN)  # has the WPAD cache of ADMIN
    host.set_value("S-1-5-18", "DefaultConnectionSettings", old)
    make({"settings": spec, "targets": ["S-1-5-18"]}, host)
    new = w.decode(host.get_value("S-1-5-18", "DefaultConnectionSettings")[1])
    assert new.cache == w.decode(old).cache and new.counter == w.decode(old).counter + 1
    assert new.proxy_server == "proxy.corp:8080"


def test_exact_rewrites_equivalent_values_byte_for_byte():
    host = Host()
    equivalent = w.encode({"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}, ADMIN)
    host.set_value("S-1-5-18", "DefaultConnectionSettings", equivalent)
    result = make({"source_value": ADMIN.hex(), "targets": ["S-1-5-18"], "exact": True}, host)
    assert result["changed"] and host.get_value("S-1-5-18", "DefaultConnectionSettings") == ("REG_BINARY", ADMIN)
    assert make({"source_value": ADMIN.hex(), "targets": ["S-1-5-18"], "exact": True}, host)["changed"] is False

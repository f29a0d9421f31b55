# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_wininet_proxy (the write path): admin check, backup first, one reg import, verify, roll back, check mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.atp.sensor_proxy.plugins.action.win_wininet_proxy import ActionModule
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.windows import WinInetHost

from .harness import build_action

REPO = Path(__file__).resolve().parents[4]
# A real DefaultConnectionSettings with a WPAD detection cache (tests/fixtures/wininet_values.json, v07).
REAL = bytes.fromhex(next(v["hex"] for v in json.loads((REPO / "tests/fixtures/wininet_values.json").read_text())
                          if v["id"] == "v07"))
ADMIN = bytes.fromhex("4600000002000000030000000f00000070726f78792e636f72703a38303830070000003c6c6f63616c3e"
                      "00000000" + "00" * 32)  # proxy.corp:8080, bypass <local>, written by hand from the format
# old:3128, counter 5, no bypass, no PAC, 32 zero bytes of detection cache
OLD = bytes.fromhex("46000000" "05000000" "03000000" "08000000" "6f6c643a33313238" "00000000" "00000000" + "00" * 32)
CONN = r"HKEY_USERS\%s\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"


class Host(WinInetHost):
    """The write path's fake host, starting with an administrator's proxy in the connecting account's HKCU."""

    def __init__(self):
        super().__init__()
        self.set_value(None, "DefaultConnectionSettings", ADMIN)


def make(args, host, check_mode=False, upload_fails=False):
    def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
        module_args = dict(module_args or {}, _ansible_check_mode=check_mode)
        return host(module_name, module_args)

    if upload_fails:
        host.write_error = "Access to the path 'C:\\ProgramData\\atp.sensor_proxy\\backups' is denied."

    plugin = build_action(ActionModule, args, execute_module, check_mode=check_mode, diff=True)
    return plugin.run(task_vars={"inventory_hostname": "dc01"})


def modules(host):
    return [c[0].rsplit(".", 1)[1] for c in host.calls]


def imports(host):
    return [c for c in host.calls if c[0] == "ansible.windows.win_command"]


def test_copies_exact_bytes_backs_up_first_and_verifies():
    host = Host()
    host.set_value("S-1-5-18", "DefaultConnectionSettings", OLD)
    result = make({}, host)
    assert result["changed"] and result["verified"] and not result.get("failed")
    assert result["changed_sids"] == ["S-1-5-18", "S-1-5-19"] and result["written"] == ["S-1-5-18", "S-1-5-19"]
    for sid in ("S-1-5-18", "S-1-5-19"):
        assert host.get_value(sid, "DefaultConnectionSettings") == ("REG_BINARY", ADMIN)  # byte for byte
    # before.reg holds the old value and a deletion for the missing one, and is in the manifest with its hash
    folder = result["backup_file"].rsplit("\\", 1)[0]
    assert folder.startswith("C:\\ProgramData\\atp.sensor_proxy\\backups\\atp_proxy_")
    before = host.files[result["backup_file"]]
    parsed = regfile.parse(before)
    assert parsed[CONN % "S-1-5-18"]["DefaultConnectionSettings"] == OLD
    assert parsed[CONN % "S-1-5-19"]["DefaultConnectionSettings"] is None
    assert host.hklm[result["backup_file"]] == backup.sha256(before)
    assert {b["sid"]: b["old_hex"] for b in result["backups"]} == {"S-1-5-18": OLD.hex(), "S-1-5-19": None}
    # order: one state query (values, manifest, admin rights), backup folder secured, backup uploaded, then ONE import
    # that writes both accounts, then one state query reads them back
    order = modules(host)
    assert order == ["win_powershell", "win_file", "win_owner", "win_acl", "win_acl", "win_acl_inheritance",
                     "win_powershell", "win_command", "win_powershell"], order
    written = [c[1] for c in host.calls if c[0] == "ansible.windows.win_powershell"][1]
    assert sorted(written["parameters"]["File"]) == ["after.reg", "before.reg"]  # both files in one command
    assert len(imports(host)) == 1 and imports(host)[0][1]["argv"][2].endswith("\\after.reg")
    assert ("inheritance", backup.DEFAULT_BACKUP_DIR, "absent", False) in host.secured
    assert {s[2] for s in host.secured if s[0] == "acl"} == {"S-1-5-18", "S-1-5-32-544"}
    # decoded diff, not raw hex
    after = result["diff"][0]["after"]
    assert "proxy_server: proxy.corp:8080" in after and "bypass: <local>" in after
    assert "proxy_server: old:3128" in result["diff"][0]["before"] and "(absent)" in result["diff"][1]["before"]
    assert "wrote DefaultConnectionSettings of LocalService (S-1-5-19): (absent) -> proxy proxy.corp:8080" in \
        " ".join(result["actions"])
    # read 1 (every value, the manifest, the hive and rights) + secure 5 + backup write 1 + import 1 + read back 1
    assert result["round_trips"] == 1 + 5 + 1 + 1 + 1


def test_second_run_changes_nothing_and_a_secured_folder_is_not_secured_again():
    host = Host()
    make({}, host)
    host.calls.clear()
    assert make({}, host)["changed"] is False and imports(host) == []
    assert make({}, host)["round_trips"] == 1
    host.set_value(None, "DefaultConnectionSettings", OLD)  # the admin changes the proxy
    host.calls.clear()
    result = make({}, host)
    assert result["changed"] and "win_owner" not in modules(host)  # the manifest says the folder is secured
    assert result["round_trips"] == 1 + 1 + 1 + 1  # read, backup write, import, read back: 4


def test_equivalent_is_not_rewritten():
    host = Host()
    for sid in ("S-1-5-18", "S-1-5-19"):
        host.set_value(sid, "DefaultConnectionSettings", w.encode({"proxy_server": "proxy.corp:8080",
                                                                   "bypass": ["<local>"]}, ADMIN))
    result = make({}, host)
    assert result["changed"] is False and imports(host) == [] and not host.files


def test_one_account_in_sync_and_one_drifted_writes_only_the_drifted_one():
    host = Host()
    host.set_value("S-1-5-18", "DefaultConnectionSettings", ADMIN)
    host.set_value("S-1-5-19", "DefaultConnectionSettings", OLD)
    result = make({}, host)
    assert result["changed_sids"] == ["S-1-5-19"]
    after = regfile.parse(host.files[result["applied_file"]])
    assert CONN % "S-1-5-18" not in after  # the account in sync is not rewritten, not even with the same bytes
    assert after[CONN % "S-1-5-19"]["DefaultConnectionSettings"] == ADMIN


def test_check_mode_writes_nothing_and_lists_sids():
    host = Host()
    host.set_value("S-1-5-18", "DefaultConnectionSettings", ADMIN)
    result = make({}, host, check_mode=True)
    assert result["changed"] is True and result["changed_sids"] == ["S-1-5-19"]
    assert imports(host) == [] and not host.files and host.get_value("S-1-5-19", "DefaultConnectionSettings") is None
    assert "proxy.corp:8080" in result["diff"][0]["after"]
    assert result["actions"][0].startswith("would write DefaultConnectionSettings of LocalService (S-1-5-19)")


def test_read_only_reports_without_writing_or_checking_rights():
    host = Host()
    host.admin = False
    result = make({"read_only": True}, host)
    assert result["changed"] is False and result["changed_sids"] == ["S-1-5-18", "S-1-5-19"]
    assert modules(host) == ["win_powershell"] and imports(host) == [] and not host.files


def test_hive_not_loaded_fails_before_anything_is_written_and_names_the_fix():
    host = Host()
    host.loaded.discard("S-1-5-19")
    result = make({}, host)
    assert result["failed"] and "LocalService (S-1-5-19) is not loaded on dc01" in result["msg"]
    assert "Nothing was changed" in result["msg"] and "load_hive=true" in result["msg"]
    assert imports(host) == [] and not host.files
    # the role's variable, when the role calls it
    result = make({"name_prefix": "atp_proxy_"}, host)
    assert "atp_proxy_load_hive=true" in result["msg"]


def test_check_mode_with_load_hive_says_it_would_load_and_write():
    host = Host()
    host.loaded.discard("S-1-5-19")
    result = make({"load_hive": True}, host, check_mode=True)
    assert not result.get("failed") and result["changed"] and "S-1-5-19" in result["changed_sids"]
    assert any(a.startswith("would load the hive HKU\\S-1-5-19 from C:\\Windows\\ServiceProfiles\\LocalService"
                            "\\NTUSER.DAT and write") for a in result["actions"])
    assert "win_command" not in modules(host)  # reg load is not run in check mode


def test_not_an_administrator_changes_nothing():
    host = Host()
    host.admin = False
    result = make({}, host)
    assert result["failed"] and "is not an enabled member of BUILTIN\\Administrators" in result["msg"]
    assert modules(host) == ["win_powershell"] and not host.files  # read, then refused: nothing written


def test_import_failing_part_way_rolls_back_what_was_written():
    host = Host()
    host.set_value("S-1-5-18", "DefaultConnectionSettings", OLD)
    host.deny_sid = "S-1-5-19"  # S-1-5-18 is written, then the import stops
    result = make({}, host)
    assert result["failed"] and "reg import of the new values failed" in result["msg"]
    assert "restored to their previous bytes" in result["msg"] and result["backup_file"] in result["msg"]
    assert host.get_value("S-1-5-18", "DefaultConnectionSettings") == ("REG_BINARY", OLD)
    assert host.get_value("S-1-5-19", "DefaultConnectionSettings") is None
    assert result["rolled_back"] == ["S-1-5-18"] and result["written"] == []


def test_a_write_that_sticks_with_other_bytes_is_rolled_back_even_for_a_value_that_did_not_exist():
    host = Host()
    host.set_value("S-1-5-18", "DefaultConnectionSettings", OLD)
    host.mangle = True  # the first import writes other bytes; the rollback import is faithful
    result = make({}, host)
    assert result["failed"] and "verify after write failed" in result["msg"]
    assert "restored to their previous bytes" in result["msg"]
    assert host.get_value("S-1-5-18", "DefaultConnectionSettings") == ("REG_BINARY", OLD)
    assert host.get_value("S-1-5-19", "DefaultConnectionSettings") is None  # created, then deleted again
    assert sorted(result["rolled_back"]) == ["S-1-5-18", "S-1-5-19"]


def test_write_that_does_not_stick_fails_verification_and_says_nothing_was_written():
    host = Host()
    host.drop_writes = True
    result = make({}, host)
    assert result["failed"] and "verify after write failed" in result["msg"]
    assert "LocalService (S-1-5-19) DefaultConnectionSettings reads back nothing" in result["msg"]
    assert "Nothing was written to the accounts' keys" in result["msg"]
    assert result["mismatched"] == ["S-1-5-18", "S-1-5-19"] and result["written"] == []
    assert len(imports(host)) == 1  # nothing to roll back


def test_backup_failure_writes_nothing():
    host = Host()
    result = make({}, host, upload_fails=True)
    assert result["failed"] and "Writing the backup" in result["msg"] and "Nothing was written" in result["msg"]
    assert "Access to the path 'C:\\ProgramData\\atp.sensor_proxy\\backups' is denied." in result["msg"]
    assert imports(host) == []


def test_settings_source_keeps_each_targets_cache():
    host = Host()
    host.set_value("S-1-5-18", "DefaultConnectionSettings", REAL)  # a real value with a WPAD detection cache
    make({"settings": {"proxy_server": "proxy.corp:8080"}, "targets": ["S-1-5-18"]}, host)
    written = host.get_value("S-1-5-18", "DefaultConnectionSettings")[1]
    # The detection cache is what follows the three length-prefixed strings; found here by hand, not by the codec.
    offset = 12
    for _string in range(3):
        offset += 4 + int.from_bytes(REAL[offset:offset + 4], "little")
    cache = REAL[offset:]
    assert len(cache) > 32 and written.endswith(cache) and written != REAL
    assert int.from_bytes(written[4:8], "little") == int.from_bytes(REAL[4:8], "little") + 1
    assert b"proxy.corp:8080" in written


def test_exact_rewrites_equivalent_values_byte_for_byte():
    host = Host()
    equivalent = w.encode({"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}, ADMIN)
    host.set_value("S-1-5-18", "DefaultConnectionSettings", equivalent)
    result = make({"source_value": ADMIN.hex(), "targets": ["S-1-5-18"], "exact": True}, host)
    assert result["changed"] and host.get_value("S-1-5-18", "DefaultConnectionSettings") == ("REG_BINARY", ADMIN)
    assert make({"source_value": ADMIN.hex(), "targets": ["S-1-5-18"], "exact": True}, host)["changed"] is False


def test_retention_prunes_the_oldest_backup_folders():
    host = Host()
    for i in range(4):
        host.set_value(None, "DefaultConnectionSettings", w.encode({"proxy_server": "p%d.corp:8080" % i}))
        result = make({"backup_keep": 2}, host)
        assert result["changed"]
    listed = sorted(host.hklm)
    assert len([n for n in listed if n.endswith("before.reg")]) == 2
    assert len({n.rsplit("\\", 1)[0] for n in host.files}) == 2  # two folders left, each with before and after
    assert result["pruned"] and all(p not in {n.rsplit("\\", 1)[0] for n in host.files} for p in result["pruned"])


@pytest.mark.parametrize("planted_owner,trusted", [("CORP\\mallory", False), ("BUILTIN\\Administrators", True)])
def test_restore_trusts_only_the_collections_backups_or_admin_owned_files(planted_owner, trusted):
    host = Host()
    host.set_value("S-1-5-19", "DefaultConnectionSettings", OLD)
    planted = "C:\\Temp\\planted.reg"
    host.files[planted] = regfile.render([{"key": CONN % "S-1-5-19", "name": "DefaultConnectionSettings",
                                           "data": ADMIN}])
    host.win_stat = lambda args: {"changed": False, "stat": {"exists": True, "owner": planted_owner}}
    host.slurp = lambda args: {"changed": False, "encoding": "base64",
                               "content": __import__("base64").b64encode(host.files[args["src"]]).decode()}
    result = make({"source": "backup", "backup_file": planted}, host)
    if trusted:
        assert not result.get("failed") and result["trusted_because"] == "owned by BUILTIN\\Administrators"
        assert host.get_value("S-1-5-19", "DefaultConnectionSettings") == ("REG_BINARY", ADMIN)
    else:
        assert result["failed"] and "refusing to restore" in result["msg"] and "CORP\\mallory" in result["msg"]
        assert host.get_value("S-1-5-19", "DefaultConnectionSettings") == ("REG_BINARY", OLD)


def test_an_empty_proxy_server_is_refused_rather_than_written_as_direct():
    host = Host()
    host.set_value("S-1-5-18", "DefaultConnectionSettings", REAL)
    result = make({"settings": {"proxy_server": ""}, "targets": ["S-1-5-18"]}, host)
    assert result["failed"] is True and result["msg"].startswith("settings.proxy_server: empty, and no auto_config_url")
    assert result["msg"].endswith("or settings {auto_detect: false} to remove the proxy")
    assert host.get_value("S-1-5-18", "DefaultConnectionSettings")[1] == REAL and imports(host) == []
    # With an auto-config URL in its place, an empty proxy_server is what the admin meant.
    result = make({"settings": {"proxy_server": "", "auto_config_url": "http://wpad.corp/proxy.pac"},
                   "targets": ["S-1-5-18"]}, host)
    assert not result.get("failed") and result["changed"] is True

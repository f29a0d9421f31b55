# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinINet write path (_wininet/_write.py) with its compare (_compare.py), registry change (_registry_change.py)
and restore (_restore.py), in-process against the lab's emulated host: the registry values written, the backup file,
the rollback of a write that did not stick, and a restore that puts the backup back."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import ChangeError, UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _compare as compare
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _write as write
from tests.lab import state
from tests.unit.plugins.action.lab_executor import LabExecutor

SYS, LS = "S-1-5-18", "S-1-5-19"
BACKUP_DIR = "C:\\ProgramData\\atp.sensor_proxy\\backups"
ARGS = {"source": "settings", "settings": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]},
        "targets": [SYS, LS], "value_names": ["DefaultConnectionSettings"], "load_hive": False,
        "backup_dir": BACKUP_DIR, "backup_keep": 10}


@pytest.fixture
def host(tmp_path):
    lab = state.Lab.create(tmp_path / "lab", hosts=1)
    found = lab.host("dc01")
    found.seed({"SYSTEM": {"proxy_server": "old.corp:3128"}})
    return found, LabExecutor(lab, "dc01")


def test_settings_are_written_after_a_backup_of_what_was_there_and_compare_then_says_in_sync(host):
    found, execute = host
    old = found.proxy_value(SYS)
    result = write.run(execute, execute.upload, dict(ARGS), False, host="dc01")
    for sid in (SYS, LS):
        assert w.decode(found.proxy_value(sid)).proxy_server == "proxy.corp:8080"
    assert result["changed"] is True and sorted(result["written"]) == [SYS, LS]
    parsed = regfile.parse(found.read_file(result["backup_file"]).decode("ascii"))
    assert sorted(v["DefaultConnectionSettings"] for v in parsed.values() if v["DefaultConnectionSettings"]) == [old]
    dummy, compared = compare.compare_all(execute, dict(ARGS))
    assert compared["in_sync"] is True and compared["needs_write"] == []


def test_a_restore_puts_the_backup_back_and_says_which_file_it_used(host):
    found, execute = host
    old = found.proxy_value(SYS)
    first = write.run(execute, execute.upload, dict(ARGS), False, host="dc01")
    restored = write.run(execute, execute.upload, dict(ARGS, source="backup", settings=None), False, host="dc01")
    assert restored["restored_from"] == first["backup_file"] and restored["changed"] is True
    assert found.proxy_value(SYS) == old and found.proxy_value(LS) is None  # deleted again: it did not exist


def test_a_write_that_sticks_with_other_bytes_is_rolled_back(host):
    found, execute = host
    old = found.proxy_value(SYS)
    found.set_fault("mangle_write")
    with pytest.raises(ChangeError) as caught:
        write.run(execute, execute.upload, dict(ARGS), False, host="dc01")
    assert found.proxy_value(SYS) == old and found.proxy_value(LS) is None
    assert caught.value.details["backup_file"] in found.find_files(BACKUP_DIR, "before.reg")


def test_read_only_plans_without_writing_and_a_bad_option_names_the_role_variable(host):
    found, execute = host
    old = found.proxy_value(SYS)
    result = write.run(execute, execute.upload, dict(ARGS, read_only=True), False, host="dc01")
    assert result["changed"] is False and sorted(result["changed_sids"]) == [SYS, LS]
    assert found.proxy_value(SYS) == old and found.find_files(BACKUP_DIR) == []
    with pytest.raises(UsageError, match="^atp_proxy_targets: "):
        write.run(execute, execute.upload, dict(ARGS, targets=["nobody"], name_prefix="atp_proxy_"), False)

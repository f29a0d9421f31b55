# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``reg export`` files an administrator made, given to restore_atp_proxy.yml as ``atp_proxy_backup_file``: read as
regedit reads them (comments after values), ``HKEY_USERS\\.DEFAULT`` as LocalSystem's hive, and an export of
``HKEY_CURRENT_USER`` refused with what it holds, never a silent in_sync."""

from __future__ import annotations

import pytest

from .conftest import CONFIGURE, NO_PROBE, PROXY, RESTORE, WRITE_TASK, snapshot, summary_lines, task_result

pytestmark = [pytest.mark.lab]

LS, SYS = "S-1-5-19", "S-1-5-18"
OLD = {"proxy_server": "old.corp:3128"}
INTERNET_SETTINGS = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
CONNECTIONS = INTERNET_SETTINGS + "\\Connections"


def reg_export(lab, key: str, dest: str) -> bytes:
    """``reg.exe export KEY DEST /y`` on dc01, as an administrator would run it; the file's bytes."""
    made = lab.run_playbook("""
- hosts: dc01
  gather_facts: false
  tasks:
    - ansible.windows.win_command:
        argv: [reg.exe, export, '%s', '%s', /y]
""" % (key, dest))
    assert made.rc == 0, made.stdout[-2000:]
    raw = lab.host("dc01").read_file(dest)
    assert raw[:2] == b"\xff\xfe"  # UTF-16LE with a BOM, as reg export writes
    return raw


def configured(lab):
    """dc01: both accounts had old.corp:3128; a configure run gave them the admin's proxy."""
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    host.seed({"SYSTEM": OLD, "LocalService": OLD})
    return host


def test_an_export_of_hkcu_is_refused_naming_what_it_holds(lab):
    host = configured(lab)
    export = "C:\\Temp\\hkcu-connections.reg"
    raw = reg_export(lab, "HKCU\\" + CONNECTIONS, export)
    assert "[HKEY_CURRENT_USER\\%s]" % CONNECTIONS in raw.decode("utf-16")
    assert lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01")).rc == 0
    before = snapshot(host)

    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01", "atp_proxy_backup_file": export})
    assert run.rc == 2 and run.stats["dc01"]["failures"] == 1, run.stdout[-3000:]
    msg = task_result(run, "dc01", WRITE_TASK)["msg"]
    assert "atp_proxy_backup_file: %s holds nothing to restore for LocalSystem (S-1-5-18), LocalService " \
           "(S-1-5-19)" % export in msg, msg
    assert "[HKEY_CURRENT_USER\\%s] DefaultConnectionSettings (the account that exported it" % CONNECTIONS in msg
    assert "Nothing was changed" in msg and "in_sync" not in run.stdout
    assert snapshot(host) == before


def test_an_export_of_the_default_hive_restores_localsystem(lab):
    host = configured(lab)
    old = host.proxy_value(SYS)
    export = "C:\\Temp\\default-connections.reg"
    raw = reg_export(lab, "HKU\\.DEFAULT\\" + CONNECTIONS, export)
    assert "[HKEY_USERS\\.DEFAULT\\%s]" % CONNECTIONS in raw.decode("utf-16")  # no SID in the file
    assert lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01")).rc == 0
    admin = host.proxy_value("user")
    assert host.proxy_value(SYS) == admin

    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01", "atp_proxy_backup_file": export})
    assert run.rc == 0 and run.stats["dc01"]["changed"] == 1, run.stdout[-3000:]
    assert host.proxy_value(SYS) == old and host.proxy_value(LS) == admin
    text = next(t for t in summary_lines(run) if t.startswith("dc01:"))
    assert "restored from %s" % export in text
    assert "%s holds nothing for LocalService (S-1-5-19), left as is" % export in text, text


def test_comments_after_values_are_read_as_regedit_reads_them(lab):
    host = configured(lab)
    host.set_value("HKU:\\%s\\%s" % (LS, INTERNET_SETTINGS), "ProxyEnable", "REG_DWORD", 1)
    old = host.proxy_value(LS)
    export = "C:\\Temp\\ls-internet-settings.reg"
    text = reg_export(lab, "HKU\\%s\\%s" % (LS, INTERNET_SETTINGS), export).decode("utf-16")
    assert '"ProxyEnable"=dword:00000001' in text and '"DefaultConnectionSettings"=hex:' in text
    # What an administrator adds before keeping the file: notes after values and after a continued hex line.
    text = text.replace('"ProxyEnable"=dword:00000001', '"ProxyEnable"=dword:00000001 ; was on before the change')
    lines = text.split("\r\n")
    at = next(i for i, t in enumerate(lines) if t.startswith('"DefaultConnectionSettings"=hex:'))
    assert lines[at].endswith("\\"), lines[at]  # reg export wraps long hex data
    lines[at] += "   ; old.corp:3128"
    lines.insert(at + 1, "; (the value goes on)")
    host.write_file(export, "\ufeff".encode("utf-16-le") + "\r\n".join(lines).encode("utf-16-le"))
    assert lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01")).rc == 0
    assert host.proxy_value(LS) != old

    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01", "atp_proxy_backup_file": export,
                                                "atp_proxy_targets": ["LocalService"]})
    assert run.rc == 0 and run.stats["dc01"]["changed"] == 1, run.stdout[-3000:]
    assert host.proxy_value(LS) == old


def test_a_backup_of_an_account_the_run_does_not_target_says_which_to_add(lab):
    # The collection's own backup of NetworkService alone: "holds nothing to restore ... restore a backup this
    # collection wrote" read as if the file were someone else's.
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    host.seed({"NetworkService": OLD})
    old = host.proxy_value("S-1-5-20")
    given = dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_targets=["S-1-5-20"])
    assert lab.run_playbook(CONFIGURE, extra_vars=given).rc == 0
    before = snapshot(host)
    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"})
    assert run.rc == 2, run.stdout[-3000:]
    msg = task_result(run, "dc01", WRITE_TASK)["msg"]
    assert "holds values of NetworkService (S-1-5-20), and atp_proxy_targets names LocalSystem (S-1-5-18), " \
           "LocalService (S-1-5-19). Nothing was changed. Add S-1-5-20 to atp_proxy_targets to restore it." in msg, msg
    assert snapshot(host) == before
    again = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01", "atp_proxy_targets": ["S-1-5-20"]})
    assert again.rc == 0 and host.proxy_value("S-1-5-20") == old, again.stdout[-3000:]

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""restore_atp_proxy.yml against the lab: account aliases, reg export files, trust, retries, check mode."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w

from .conftest import CONFIGURE, NO_PROBE, PROXY, RESTORE, WRITE_TASK, backups, snapshot, summary_lines, task_result

LS, SYS = "S-1-5-19", "S-1-5-18"
OLD = {"proxy_server": "old.corp:3128"}
CONN = r"HKEY_USERS\%s\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"


def drifted_then_configured(lab, host="dc01"):
    """Both accounts had old.corp:3128; a configure run wrote the admin's proxy and left one backup."""
    h = lab.host(host)
    h.set_proxy("user", PROXY)
    h.seed({"SYSTEM": OLD, "LocalService": OLD})
    old = {sid: h.proxy_value(sid) for sid in (SYS, LS)}
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts=host))
    assert run.rc == 0, run.stdout[-3000:]
    assert h.proxy_value(LS) == h.proxy_value("user")
    return old


@pytest.mark.parametrize("names", [["NT AUTHORITY\\SYSTEM"], ["Local Service"], ["LocalSystem", "NT AUTHORITY\\LocalService"]])
def test_restore_targets_given_by_any_windows_name(lab, names):
    old = drifted_then_configured(lab)
    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01", "atp_proxy_restore_targets": names})
    assert run.rc == 0, run.stdout[-3000:]
    wanted = {"nt authority\\system": SYS, "local service": LS, "localsystem": SYS, "nt authority\\localservice": LS}
    restored = {wanted[n.lower()] for n in names}
    host = lab.host("dc01")
    for sid in (SYS, LS):
        expected = old[sid] if sid in restored else host.proxy_value("user")
        assert host.proxy_value(sid) == expected, (names, sid)
    result = task_result(run, "dc01", WRITE_TASK)
    assert sorted(result["changed_sids"]) == sorted(restored) and result["restored_from"] == backups(host)[0]


def test_a_second_restore_changes_nothing(lab):
    old = drifted_then_configured(lab)
    first = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"})
    assert first.rc == 0 and first.stats["dc01"]["changed"] == 1
    assert {sid: lab.host("dc01").proxy_value(sid) for sid in (SYS, LS)} == old
    count = len(backups(lab.host("dc01")))
    # The newest backup is now the restore's own (the configured values): restoring it again would undo the restore.
    # Restoring the same file again is what a retry does, and it must change nothing.
    again = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01",
                                                  "atp_proxy_restore_file": backups(lab.host("dc01"))[0]})
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0, again.stdout[-3000:]
    assert len(backups(lab.host("dc01"))) == count
    assert summary_lines(again)[0].startswith("dc01: in_sync")


def test_restore_from_a_utf16_reg_export_an_administrator_made(lab):
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    host.seed({"SYSTEM": OLD, "LocalService": OLD})
    export = "C:\\Temp\\connections-19.reg"
    made = lab.run_playbook("""
- hosts: dc01
  gather_facts: false
  tasks:
    - ansible.windows.win_command:
        argv: [reg.exe, export, 'HKU\\S-1-5-19\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections',
               'C:\\Temp\\connections-19.reg', /y]
""")
    assert made.rc == 0, made.stdout[-2000:]
    raw = host.read_file(export)
    assert raw[:2] == b"\xff\xfe"  # what reg export writes: UTF-16LE with a BOM
    old = host.proxy_value(LS)
    assert lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01")).rc == 0
    assert host.proxy_value(LS) != old

    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01", "atp_proxy_backup_file": export,
                                                "atp_proxy_targets": ["LocalService"]})
    assert run.rc == 0, run.stdout[-3000:]
    assert host.proxy_value(LS) == old and host.proxy_value(SYS) == host.proxy_value("user")
    result = task_result(run, "dc01", WRITE_TASK)
    assert result["trusted_because"] == "owned by BUILTIN\\Administrators"


def test_a_planted_backup_is_refused_and_nothing_changes(lab):
    drifted_then_configured(lab)
    host = lab.host("dc01")
    evil = w.encode({"proxy_server": "evil.example:8080"})
    planted = "C:\\ProgramData\\atp.sensor_proxy\\backups\\atp_proxy_20991231T235959999999Z\\before.reg"
    content = regfile.render([{"key": CONN % sid, "name": "DefaultConnectionSettings", "data": evil} for sid in (SYS, LS)])
    host.plant_file(planted, content, owner="CORP\\mallory")
    before = snapshot(host)

    # The newest backup by name is the planted one: restore ignores it (it is not in the manifest) and uses ours.
    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"}, check=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert task_result(run, "dc01", WRITE_TASK)["restored_from"] != planted
    assert snapshot(host) == before

    # Named explicitly, it is refused, naming the owner; nothing is written.
    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01", "atp_proxy_backup_file": planted})
    assert run.rc != 0 and run.stats["dc01"]["failures"] == 1
    assert "refusing to restore" in run.stdout and "CORP\\mallory" in run.stdout
    assert snapshot(host) == before
    assert all(host.proxy_value(sid) != evil for sid in (SYS, LS))


def test_a_changed_backup_is_refused(lab):
    drifted_then_configured(lab)
    host = lab.host("dc01")
    (ours,) = backups(host)
    tampered = host.read_file(ours).replace(b"6f,6c,64", b"62,61,64")  # "old" -> "bad" in the hex of the value
    assert tampered != host.read_file(ours)
    host.write_file(ours, tampered)  # same owner, other bytes
    before = snapshot(host)
    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"})
    assert run.rc != 0 and "was changed after atp.sensor_proxy wrote it" in run.stdout
    assert snapshot(host) == before


def test_nothing_to_restore_is_ok_unless_a_file_was_asked_for(lab):
    lab.host("dc01").set_proxy("user", PROXY)
    before = snapshot(lab.host("dc01"))
    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"})
    assert run.rc == 0 and run.stats["dc01"]["changed"] == 0, run.stdout[-3000:]
    assert "nothing to restore" in task_result(run, "dc01", WRITE_TASK)["msg"]
    assert snapshot(lab.host("dc01")) == before

    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01",
                                                "atp_proxy_backup_file": "C:\\Temp\\missing.reg"})
    assert run.rc != 0 and "atp_proxy_backup_file: cannot read C:\\Temp\\missing.reg" in run.stdout


def test_check_mode_says_what_it_would_restore_and_writes_nothing(lab):
    old = drifted_then_configured(lab)
    host = lab.host("dc01")
    before = snapshot(host)
    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"}, check=True, diff=True)
    assert run.rc == 0 and snapshot(host) == before
    line = summary_lines(run)[0]
    assert line.startswith("dc01: would_change") and "would write LocalService (S-1-5-19)" in line
    assert "-> proxy old.corp:3128" in line
    result = task_result(run, "dc01", WRITE_TASK)
    assert all(a.startswith("would ") for a in result["actions"]) and result["backup_file"] == ""
    assert "+proxy_server: old.corp:3128" in run.stdout  # the decoded diff of what it would put back
    assert old[LS] != host.proxy_value(LS)


def test_restore_backs_up_what_it_replaces_deletions_included(lab):
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)  # both accounts have no value: the configure run creates them
    assert lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01")).rc == 0
    written = host.proxy_value(LS)
    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"})
    assert run.rc == 0
    assert host.proxy_value(LS) is None and host.proxy_value(SYS) is None  # deleted again, as before the configure
    # ... and the deletion itself was backed up first: the restore's before.reg holds the values it deleted.
    undo = regfile.parse(host.read_file(backups(host)[-1]))
    assert undo[CONN % LS]["DefaultConnectionSettings"] == written


def test_a_restore_says_which_accounts_of_the_backup_it_left_out(lab):
    """A review found a restore silent about an account the backup holds but the run does not target: NetworkService
    kept the change's value, and a second restore said "in_sync"."""
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    three = ["S-1-5-18", "S-1-5-19", "S-1-5-20"]
    before = {sid: host.proxy_value(sid) for sid in three}
    configure = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_targets=three))
    assert configure.rc == 0, configure.stdout[-3000:]
    note = ("the backup also holds NetworkService (S-1-5-20), not restored (not in atp_proxy_targets): add S-1-5-20 to "
            "restore it")
    report = lab.dir / "report"
    for attempt in ("first", "again"):
        run = lab.run_playbook(RESTORE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01",
                                                        atp_proxy_report_dir=str(report)))
        assert run.rc == 0, run.stdout[-3000:]
        text = next(line for line in summary_lines(run) if line.startswith("dc01:"))
        assert note in text, (attempt, text)
        for name in ("atp_proxy_report.md", "atp_proxy_report.html"):  # the report's readers are told too
            assert "the backup also holds NetworkService (S-1-5-20), not restored" in (report / name).read_text()
    assert host.proxy_value("S-1-5-18") == before["S-1-5-18"] and host.proxy_value("S-1-5-20") != before["S-1-5-20"]

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A restore is safe to repeat: without a backup named, it takes the newest backup a configure run wrote before its
change, never one a restore wrote; so a second restore finds the first one's work in place and changes nothing. The
result and the line name the backup used. WinINet accounts, the sensor's own file, and the module alone."""

from __future__ import annotations

import json

import pytest

from tests.lab import system_state as ss

from .conftest import BACKUP_DIR, CONFIGURE, NO_PROBE, PROXY, RESTORE, WRITE_TASK, backups, summary_lines, task_result

pytestmark = [pytest.mark.lab]

LS, SYS = "S-1-5-19", "S-1-5-18"
OLD = {"proxy_server": "old.corp:3128"}


def line(run, host="dc01") -> str:
    return next(text for text in summary_lines(run) if text.startswith(host + ":"))


def test_a_second_restore_of_the_newest_backup_changes_nothing(lab):
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    host.seed({"SYSTEM": OLD, "LocalService": OLD})
    old = {sid: host.proxy_value(sid) for sid in (SYS, LS)}
    assert lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01")).rc == 0
    (configured,) = backups(host)

    first = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"})
    assert first.rc == 0 and first.stats["dc01"]["changed"] == 1, first.stdout[-3000:]
    assert {sid: host.proxy_value(sid) for sid in (SYS, LS)} == old
    assert task_result(first, "dc01", WRITE_TASK)["restored_from"] == configured
    assert "restored from %s" % configured in line(first)
    # The restore backed up what it replaced, in a folder that says so (and can itself be restored by name).
    (undo,) = [b for b in backups(host) if b != configured]
    assert undo.split("\\")[-2].endswith("_restore"), undo

    second = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"})
    assert second.rc == 0 and second.stats["dc01"]["changed"] == 0, second.stdout[-3000:]
    assert {sid: host.proxy_value(sid) for sid in (SYS, LS)} == old
    assert task_result(second, "dc01", WRITE_TASK)["restored_from"] == configured
    assert line(second).startswith("dc01: in_sync") and "already as in %s" % configured in line(second)
    assert len(backups(host)) == 2

    # Undoing the restore is asking for its backup by name.
    undone = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01", "atp_proxy_backup_file": undo})
    assert undone.rc == 0 and host.proxy_value(LS) == host.proxy_value("user")


def test_a_second_restore_of_the_sensor_file_changes_nothing(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host, proxy={"url": "http://old.corp:3128"})
    original = host.read_file(seed.config_path)
    run = dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_source="settings",
               atp_proxy_settings={"proxy_server": "proxy.corp:8080"})
    assert lab.run_playbook(CONFIGURE, extra_vars=run).rc == 0
    assert host.read_file(seed.config_path) != original
    (configured,) = host.find_files(BACKUP_DIR, "SensorConfiguration.json")

    first = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"})
    assert first.rc == 0 and first.stats["dc01"]["changed"] == 1, first.stdout[-3000:]
    assert host.read_file(seed.config_path) == original
    assert task_result(first, "dc01", WRITE_TASK)["restored_from"] == configured
    assert "restored from %s" % configured in line(first)

    second = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"})
    assert second.rc == 0 and second.stats["dc01"]["changed"] == 0, second.stdout[-3000:]
    assert host.read_file(seed.config_path) == original
    assert "already as in %s" % configured in line(second)


MODULE_TWICE = """
- hosts: dc01
  gather_facts: false
  tasks:
    - name: Restore
      atp.sensor_proxy.win_wininet_proxy:
        source: backup
      register: first
    - name: Restore again
      atp.sensor_proxy.win_wininet_proxy:
        source: backup
      register: second
    - name: Both
      ansible.builtin.debug:
        msg: "{{ {'first': first, 'second': second} | to_json }}"
"""


def test_two_module_restores_in_a_row(lab):
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    host.seed({"SYSTEM": OLD, "LocalService": OLD})
    old = host.proxy_value(LS)
    assert lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01")).rc == 0
    (configured,) = backups(host)
    run = lab.run_playbook(MODULE_TWICE)
    assert run.rc == 0, run.stdout[-3000:]
    both = json.loads(next(r["result"]["msg"] for r in run.results if r["task"] == "Both"))
    assert both["first"]["changed"] is True and both["second"]["changed"] is False, both
    assert both["first"]["restored_from"] == both["second"]["restored_from"] == configured
    assert host.proxy_value(LS) == old


def documented_restore_arguments() -> list:
    """The ``-e`` arguments of the restore command the playbook's header documents, as a shell would pass them."""
    import shlex

    from tests.lab.state import REPO_ROOT

    header = [line[1:].strip() for line in (REPO_ROOT / RESTORE).read_text().splitlines() if line.startswith("#")]
    start = next(i for i, line in enumerate(header) if "atp_proxy_backup_file" in line)
    words = []
    for line in header[start - 1:]:  # the command's first line, then its continuation lines
        words += shlex.split(line.rstrip("\\"))
        if not line.endswith("\\"):
            break
    return words[words.index("-e"):]


def test_the_documented_restore_command_line_works(lab):
    """The header's ``-e atp_proxy_backup_file=...`` form, through a real ansible-playbook command line (key=value
    parsing included), restores the named backup; the backslash form an admin might still type is refused, naming the
    variable and the forms that work, and changes nothing."""
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    host.seed({"SYSTEM": OLD, "LocalService": OLD})
    old = host.proxy_value(LS)
    assert lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01")).rc == 0
    (backup,) = backups(host)
    folder = backup.split("\\")[-2]
    documented = [a.replace("atp_proxy_20261201T081500123456Z", folder) for a in documented_restore_arguments()]
    assert any(a.startswith("atp_proxy_backup_file=") and folder in a for a in documented), documented

    typed = "atp_proxy_backup_file=" + backup  # what the old header showed: backslashes in key=value
    refused = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"}, extra_args=["-e", typed])
    assert refused.rc == 2 and refused.stats["dc01"]["failures"] == 1
    assert "atp_proxy_backup_file holds control characters" in refused.stdout
    assert "-e atp_proxy_backup_file=%s" % backup.replace("\\", "/") in refused.stdout
    assert host.proxy_value(LS) != old

    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01"}, extra_args=documented)
    assert run.rc == 0 and run.stats["dc01"]["changed"] == 1, run.stdout[-3000:]
    assert host.proxy_value(LS) == old and host.proxy_value(SYS) == host.proxy_value("user")  # targets: LocalService
    assert task_result(run, "dc01", WRITE_TASK)["restored_from"] == backup

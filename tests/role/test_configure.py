# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""configure_atp_proxy.yml / check_atp_proxy.yml / restore_atp_proxy.yml against the lab."""

from __future__ import annotations

import re

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w

from .conftest import (
    CHECK,
    CONFIGURE,
    NO_PROBE,
    PROXY,
    RESTORE,
    WRITE_TASK,
    backups,
    snapshot,
    summary_lines,
    task_result,
)

LS, SYS = "S-1-5-19", "S-1-5-18"


def seed_states(lab):
    """dc01: targets missing; dc02: targets different; dc03: targets equivalent (only the counter differs)."""
    admin = lab.host("dc01").set_proxy("user", PROXY)
    lab.host("dc02").set_proxy("user", PROXY)
    lab.host("dc02").seed({"SYSTEM": {"proxy_server": "old.corp:3128"}, "LocalService": {"proxy_server": "x:1"}})
    lab.host("dc03").set_proxy("user", PROXY)
    equivalent = w.encode(PROXY, w.encode(PROXY, admin))  # same settings, counter + 2
    for sid in (SYS, LS):
        lab.host("dc03").set_raw(sid, equivalent.hex())
    return admin, equivalent


def test_converge_from_each_state_then_idempotent(lab):
    admin, equivalent = seed_states(lab)
    run = lab.run_playbook(CONFIGURE, extra_vars=NO_PROBE)
    assert run.rc == 0, run.stdout[-3000:]
    assert run.stats["dc01"]["changed"] == 1 and run.stats["dc02"]["changed"] == 1
    assert run.stats["dc03"]["changed"] == 0  # equivalent is in sync: never rewritten
    for name in ("dc01", "dc02"):
        host = lab.host(name)
        for sid in (SYS, LS):
            assert host.proxy_value(sid) == host.proxy_value("user")  # the admin's bytes, exactly
        (backup,) = backups(host)
        parsed = regfile.parse(host.read_file(backup).decode("ascii"))
        assert len(parsed) == 2
    assert lab.host("dc03").proxy_value(LS) == equivalent and backups(lab.host("dc03")) == []
    # dc01's backup records the values as absent, so a restore deletes them again
    parsed = regfile.parse(lab.host("dc01").read_file(backups(lab.host("dc01"))[0]).decode("ascii"))
    assert all(values == {"DefaultConnectionSettings": None} for values in parsed.values())
    summary = summary_lines(run)
    (dc01,) = [line for line in summary if line.startswith("dc01: changed; ")]
    # each account, what it had and what it got, and the backup
    assert "wrote LocalSystem (S-1-5-18): (absent) -> proxy proxy.corp:8080, bypass <local>" in dc01
    assert "wrote LocalService (S-1-5-19): (absent) -> proxy proxy.corp:8080, bypass <local>" in dc01
    assert "; backup %s" % backups(lab.host("dc01"))[0] in dc01
    assert "dc03: in_sync" in summary

    again = lab.run_playbook(CONFIGURE, extra_vars=NO_PROBE)
    assert again.rc == 0 and all(again.stats[h]["changed"] == 0 for h in ("dc01", "dc02", "dc03"))


def test_round_trips_converged_and_drifted(lab, record_property):
    seed_states(lab)
    lab.reset_ledgers()
    lab.run_playbook(CONFIGURE, extra_vars=NO_PROBE)
    drifted = lab.round_trips()["dc02"]
    drifted_sequence = lab.host("dc02").ledger()["sequence"]
    lab.reset_ledgers()
    lab.run_playbook(CONFIGURE, extra_vars=NO_PROBE)
    converged = lab.round_trips()["dc02"]
    record_property("round_trips_drifted", drifted)
    record_property("round_trips_converged", converged)
    # converged: ONE read-only state query (HKCU, both targets, the backup manifest, the rights), nothing else
    assert converged == 1, lab.host("dc02").ledger()
    # drifted (both targets different), the first change on the host: read 1, create and secure the backup folder 5
    # (win_file, win_owner, win_acl x2, win_acl_inheritance), write before.reg + after.reg 1 (one win_powershell run
    # of _host/_file_write.py), ONE reg import 1, read back 1
    assert drifted == 9, lab.host("dc02").ledger()
    assert drifted_sequence == ["win_powershell", "win_file", "win_owner", "win_acl", "win_acl",
                                "win_acl_inheritance", "win_powershell", "win_command", "win_powershell"]
    # a later change needs no folder securing: 4
    lab.host("dc02").seed({"LocalService": {"proxy_server": "old.corp:3128"}})
    lab.reset_ledgers()
    lab.run_playbook(CONFIGURE, extra_vars=NO_PROBE)
    assert lab.round_trips()["dc02"] == 4, lab.host("dc02").ledger()


def test_check_mode_writes_nothing_and_names_the_sids(lab):
    seed_states(lab)
    before = {h: snapshot(lab.host(h)) for h in ("dc01", "dc02", "dc03")}
    run = lab.run_playbook(CONFIGURE, extra_vars=NO_PROBE, check=True, diff=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert {h: snapshot(lab.host(h)) for h in before} == before  # byte for byte, backups included
    apply = task_result(run, "dc02", WRITE_TASK)
    assert apply["changed"] is True and apply["changed_sids"] == [SYS, LS] and apply["backup_file"] == ""
    # --diff shows decoded values, not hex
    assert "+proxy_server: proxy.corp:8080" in run.stdout and "-proxy_server: old.corp:3128" in run.stdout
    assert "would_change" in summary_lines(run)[1]


def test_check_playbook_reports_drift_read_only(lab):
    seed_states(lab)
    before = snapshot(lab.host("dc02"))
    run = lab.run_playbook(CHECK, extra_vars=NO_PROBE)
    assert run.rc == 0 and snapshot(lab.host("dc02")) == before
    lines = summary_lines(run)
    assert [line.split(":")[1].split(";")[0].strip() for line in lines] == ["drifted", "drifted", "in_sync"]


def test_configure_then_restore_is_byte_identical(lab):
    seed_states(lab)
    originals = {h: {sid: lab.host(h).proxy_value(sid) for sid in (SYS, LS)} for h in ("dc01", "dc02")}
    assert lab.run_playbook(CONFIGURE, extra_vars=NO_PROBE).rc == 0
    assert lab.host("dc02").proxy_value(LS) != originals["dc02"][LS]
    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc01,dc02"})
    assert run.rc == 0, run.stdout[-3000:]
    for h, values in originals.items():
        for sid, value in values.items():
            assert lab.host(h).proxy_value(sid) == value, (h, sid)  # None for dc01: deleted again
    # the restore backed up the values it replaced (one backup for the restore), so it can be undone
    assert len(backups(lab.host("dc02"))) == 1 + 1
    undo = regfile.parse(lab.host("dc02").read_file(backups(lab.host("dc02"))[-1]))
    assert {k.split("\\")[1]: v["DefaultConnectionSettings"] for k, v in undo.items()} == {
        SYS: lab.host("dc02").proxy_value("user"), LS: lab.host("dc02").proxy_value("user")}


def test_restore_a_named_backup_for_one_sid(lab):
    seed_states(lab)
    original = lab.host("dc02").proxy_value(LS)
    lab.run_playbook(CONFIGURE, extra_vars=NO_PROBE)
    (backup,) = backups(lab.host("dc02"))
    run = lab.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "dc02", "atp_proxy_restore_file": backup,
                                                "atp_proxy_restore_targets": ["LocalService"]})
    assert run.rc == 0, run.stdout[-3000:]
    assert lab.host("dc02").proxy_value(LS) == original
    assert lab.host("dc02").proxy_value(SYS) == lab.host("dc02").proxy_value("user")  # untouched


def test_hive_not_loaded_fails_clearly_or_is_loaded_on_request(lab):
    lab.host("dc01").set_proxy("user", PROXY)
    lab.host("dc01").set_hive_loaded(LS, False)
    before = snapshot(lab.host("dc01"))
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01"))
    assert run.rc != 0 and run.stats["dc01"]["failures"] == 1
    assert "LocalService (S-1-5-19) is not loaded on dc01" in run.stdout and "atp_proxy_load_hive" in run.stdout
    assert snapshot(lab.host("dc01")) == before

    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_load_hive=True))
    assert run.rc == 0, run.stdout[-3000:]
    assert lab.host("dc01").hive_loaded(LS) and lab.host("dc01").proxy_value(LS) == lab.host("dc01").proxy_value("user")


@pytest.mark.parametrize("fault,needle", [
    ("deny_hku_write", "ERROR: Error accessing the registry"),
    ("lost_write", "verify after write failed"),
    ("not_admin", "is not an enabled member of BUILTIN\\Administrators"),
])
def test_write_faults_fail_clearly_and_change_nothing(lab, fault, needle):
    lab.host("dc01").set_proxy("user", PROXY)
    lab.host("dc01").seed({"SYSTEM": {"proxy_server": "old.corp:3128"}})
    values_before = {sid: lab.host("dc01").proxy_value(sid) for sid in (SYS, LS)}
    lab.host("dc01").set_fault(fault, True)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01"))
    assert run.rc != 0 and run.stats["dc01"]["failures"] == 1
    assert needle in run.stdout and "Traceback" not in run.stdout
    assert {sid: lab.host("dc01").proxy_value(sid) for sid in (SYS, LS)} == values_before
    if fault != "not_admin":
        assert "restored" in run.stdout or "Nothing was written" in run.stdout
    line = summary_lines(run)[0]
    assert line.startswith("dc01: failed")


def test_connection_drop_after_every_module_call_then_rerun_converges(make_lab):
    # One drifted host per possible drop point: host N loses its connection after N module calls.
    probe = make_lab(1)
    probe.host("dc01").set_proxy("user", PROXY)
    probe.host("dc01").seed({"SYSTEM": {"proxy_server": "old.corp:3128"}})
    probe.run_playbook(CONFIGURE, extra_vars=NO_PROBE)
    calls = probe.round_trips()["dc01"]
    assert calls >= 8

    lab = make_lab(calls)
    names = lab.host_names
    for n, name in enumerate(names, start=1):
        lab.host(name).set_proxy("user", PROXY)
        lab.host(name).seed({"SYSTEM": {"proxy_server": "old.corp:3128"}})
        lab.host(name).set_fault("drop_after", n)
    admin = lab.host(names[0]).proxy_value("user")
    old = lab.host(names[0]).proxy_value(SYS)
    first = lab.run_playbook(CONFIGURE, extra_vars=NO_PROBE, forks=10)
    assert all(first.stats[name]["unreachable"] == 1 for name in names[:-1]), first.stats
    written_backups = {}
    for name in names:
        host = lab.host(name)
        assert host.proxy_value(SYS) in (old, admin)  # never half-written
        assert host.proxy_value(LS) in (None, admin)
        written_backups[name] = {b: host.read_file(b) for b in backups(host)}
        for content in written_backups[name].values():
            parsed = regfile.parse(content.decode("ascii"))
            assert any(v.get("DefaultConnectionSettings") == old for v in parsed.values())
        host.set_fault("drop_after", None)
    second = lab.run_playbook(CONFIGURE, extra_vars=NO_PROBE, forks=10)
    assert second.rc == 0, second.stdout[-3000:]
    for name in names:
        host = lab.host(name)
        assert host.proxy_value(SYS) == admin and host.proxy_value(LS) == admin
        for path, content in written_backups[name].items():
            assert host.read_file(path) == content  # earlier backups intact


@pytest.mark.parametrize("extra,variable,needle", [
    ({"atp_proxy_targets": ["S-1-5-1x"]}, "atp_proxy_targets", "neither a SID"),
    ({"atp_proxy_source": "settings", "atp_proxy_settings": {"proxy_server": "proxy.corp"}},
     "atp_proxy_settings.proxy_server", "no port"),
    ({"atp_proxy_source": "settings", "atp_proxy_settings": {"proxy_server": "proxy.corp:70000"}},
     "atp_proxy_settings.proxy_server", "between 1 and 65535"),
    ({"atp_proxy_source": "settings", "atp_proxy_settings": {"proxy_server": "http://proxy.corp:8080"}},
     "atp_proxy_settings.proxy_server", "scheme"),
    ({"atp_proxy_source": "settings", "atp_proxy_settings": {"proxy_server": "proxy corp:8080"}},
     "atp_proxy_settings.proxy_server", "white space"),
    ({"atp_proxy_products": ["mdi", "xdr"]}, "atp_proxy_products", "xdr"),
    ({"atp_proxy_source": "sid"}, "atp_proxy_source_sid", "required"),
    ({"atp_proxy_source": "value", "atp_proxy_source_value": "4600"}, "atp_proxy_source_value", "offset"),
    ({"atp_proxy_source": "settings"}, "atp_proxy_settings", "required"),
    ({"atp_proxy_products": ["mde"]}, "atp_proxy_mde_proxy_server", "required"),
    ({"atp_proxy_products": ["mde"], "atp_proxy_mde_proxy_server": "mde.corp"}, "atp_proxy_mde_proxy_server",
     "no port"),
    ({"atp_proxy_backup_keep": 0}, "atp_proxy_backup_keep", "at least 1"),
    ({"atp_proxy_mode": "yolo"}, "atp_proxy_mode", "yolo"),
    ({"atp_proxy_probe_timeout": "soon"}, "atp_proxy_probe_timeout", "int"),
])
def test_bad_variables_stop_before_anything_is_written(lab, extra, variable, needle):
    lab.host("dc01").set_proxy("user", PROXY)
    before = snapshot(lab.host("dc01"))
    lab.reset_ledgers()
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01", **extra))
    assert run.rc != 0
    message = next(r["result"].get("msg", "") for r in run.results if r["host"] == "dc01" and r["status"] == "failed")
    assert variable in message and needle in message, message
    assert snapshot(lab.host("dc01")) == before
    assert lab.round_trips()["dc01"] == 0  # nothing even read the host


def test_mde_converges_and_is_idempotent(lab):
    lab.host("dc01").set_proxy("user", PROXY)
    extra = dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_products=["mdi", "mde"],
                 atp_proxy_mde_proxy_server="proxy.corp:8080", atp_proxy_mde_bypass=["<local>", "*.corp"])
    run = lab.run_playbook(CONFIGURE, extra_vars=extra)
    assert run.rc == 0, run.stdout[-3000:]
    host = lab.host("dc01")
    winhttp = host.winhttp()
    assert winhttp["proxy_server"] == "proxy.corp:8080" and winhttp["bypass"] == ["<local>", "*.corp"]
    policy = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection"
    assert host.get_value(policy, "TelemetryProxyServer")["data"] == "proxy.corp:8080"
    assert host.get_value(policy, "DisableEnterpriseAuthProxy")["data"] == 1
    # Both backups in the host's line: WinINet's, and Defender for Endpoint's, which docs/mde.md restores by hand.
    text = next(line for line in summary_lines(run) if line.startswith("dc01:"))
    mde_backup = task_result(run, "dc01", WRITE_TASK)["mde"]["backup_file"]
    assert mde_backup and "MDE backup %s" % mde_backup in text and "; backup " in text, text
    again = lab.run_playbook(CONFIGURE, extra_vars=extra)
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0
    check = lab.run_playbook(CONFIGURE, extra_vars=dict(extra, atp_proxy_mde_proxy_server="proxy2.corp:3128"),
                             check=True)
    assert check.stats["dc01"]["changed"] >= 1 and host.winhttp()["proxy_server"] == "proxy.corp:8080"


def test_settings_source_needs_no_admin_profile(lab):
    # An AWX job: nobody clicked through Internet Options; the HKCU source is empty.
    extra = dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_source="settings",
                 atp_proxy_settings={"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]},
                 atp_proxy_value_names=["DefaultConnectionSettings", "SavedLegacySettings"])
    run = lab.run_playbook(CONFIGURE, extra_vars=extra)
    assert run.rc == 0, run.stdout[-3000:]
    for sid in (SYS, LS):
        for name in ("DefaultConnectionSettings", "SavedLegacySettings"):
            decoded = w.decode(lab.host("dc01").proxy_value(sid, name))
            assert decoded.proxy_server == "proxy.corp:8080" and decoded.flags["proxy"]
    assert lab.run_playbook(CONFIGURE, extra_vars=extra).stats["dc01"]["changed"] == 0


def test_backup_retention_keeps_the_newest(lab):
    host = lab.host("dc01")
    for i in range(4):
        host.set_proxy("user", {"proxy_server": "proxy%d.corp:8080" % i})
        run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_backup_keep=2))
        assert run.rc == 0
    kept = backups(host)
    assert len(kept) == 2
    stamps = sorted(re.search(r"atp_proxy_(\w+)\\before\.reg", k).group(1) for k in kept)
    newest = regfile.parse(host.read_file(max(kept)).decode("ascii"))
    assert all(w.decode(v["DefaultConnectionSettings"]).proxy_server == "proxy2.corp:8080" for v in newest.values())
    assert stamps == sorted(stamps)


def test_task_level_check_mode_writes_nothing(lab):
    # check_mode on include_role's apply (not --check): ansible_check_mode stays false there.
    seed_states(lab)
    before = snapshot(lab.host("dc02"))
    playbook = """
- hosts: dc02
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: atp.sensor_proxy.atp_proxy
        apply:
          check_mode: true
      vars:
        atp_proxy_probe: false
"""
    run = lab.run_playbook(playbook)
    assert run.rc == 0, run.stdout[-3000:]
    assert snapshot(lab.host("dc02")) == before
    apply = task_result(run, "dc02", WRITE_TASK)
    assert apply["check_mode"] is True and apply["changed_sids"] == [SYS, LS]


def test_only_the_host_whose_run_failed_gets_a_task_after_the_summary(lab):
    """atp_proxy_job.yml's second play ends the hosts whose run failed, and only them: a healthy host has no task
    after the fleet summary (each would cost the controller a worker process per host)."""
    for name in ("dc01", "dc02"):
        lab.host(name).set_proxy("user", PROXY)
    lab.host("dc01").set_fault("lost_write", True)  # the write does not stick: the run fails after the job task
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01,dc02"))
    assert run.rc != 0
    assert run.stats["dc01"]["failures"] == 1 and run.stats["dc02"]["failures"] == 0, run.stats
    ended = [(row["host"], row["status"]) for row in run.results if row["task"] == "End this host as its run went"]
    assert ended == [("dc01", "failed")], ended
    lines = summary_lines(run)
    assert lines[0].startswith("dc01: failed") and lines[1].startswith("dc02: changed"), lines

    healthy = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc02"))
    assert healthy.rc == 0, healthy.stdout[-3000:]
    assert not [row for row in healthy.results if row["task"] == "End this host as its run went"]
    assert "skipping: no hosts matched" in healthy.stdout


def test_a_hive_loaded_on_request_is_said_and_check_mode_does_not_claim_a_write(lab):
    # LocalService's NTUSER.DAT already holds the wanted value: loading it is the run's only change on the host.
    host = lab.host("dc01")
    for account in ("user", "SYSTEM", "LocalService"):
        host.set_proxy(account, PROXY)
    host.set_hive_loaded(LS, False)
    given = dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_load_hive=True)
    check = lab.run_playbook(CONFIGURE, extra_vars=given, check=True)
    assert check.rc == 0, check.stdout[-3000:]
    text = next(t for t in summary_lines(check) if t.startswith("dc01:"))
    # Check mode does not load the hive, so it cannot know the value: it says what it would do, not "would write".
    assert "would load the hive and write, if it differs, LocalService (S-1-5-19): (hive not loaded) ->" in text, text
    assert not host.hive_loaded(LS)

    run = lab.run_playbook(CONFIGURE, extra_vars=given)
    assert run.rc == 0 and run.stats["dc01"]["changed"] == 1, run.stdout[-3000:]
    text = next(t for t in summary_lines(run) if t.startswith("dc01:"))
    assert text.startswith("dc01: in_sync") and "loaded the hive of LocalService (S-1-5-19)" in text, text
    assert host.hive_loaded(LS) and host.proxy_value(LS) == host.proxy_value("user")

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A connection that drops at any point of a drifted two-account write leaves an honest record.

One lab host per drop point: host N loses its connection after N remote commands (the lab counts every
WinRM command: module runs, temporary folders, file transfers). Each host's result, summary line and the
fleet's set_stats say what was written before the drop and where the backup is; a rerun converges and
leaves the backups as they were.
"""

from __future__ import annotations

import json

from .conftest import CONFIGURE, NO_PROBE, PROXY, WRITE_TASK, backups, summary_lines, task_result

LS, SYS = "S-1-5-19", "S-1-5-18"
OLD = {"proxy_server": "old.corp:3128"}


def seed(host):
    host.set_proxy("user", PROXY)
    host.seed({"SYSTEM": OLD, "LocalService": OLD})


def fleet_stats(run) -> dict:
    found = [r for r in run.results if r["task"].endswith("Publish the summary to AWX (set_stats)")]
    assert found, "set_stats did not run"
    return found[-1]["result"]["ansible_stats"]["data"]["atp_proxy_fleet"]


def command_sequence(make_lab) -> list:
    """The remote commands of a clean drifted write, in order (from a lab run without faults)."""
    probe = make_lab(1)
    seed(probe.host("dc01"))
    run = probe.run_playbook(CONFIGURE, extra_vars=NO_PROBE)
    assert run.rc == 0, run.stdout[-3000:]
    return probe.host("dc01").ledger()["sequence"]


def test_a_drop_after_each_remote_command_is_reported_and_a_rerun_converges(make_lab):
    sequence = command_sequence(make_lab)
    imports = [i for i, what in enumerate(sequence, start=1) if what == "win_command"]
    assert len(imports) == 1, sequence  # every account is written by one reg import
    import_at = imports[0]
    drops = list(range(1, len(sequence)))
    lab = make_lab(len(drops), prefix="dc")
    names = lab.host_names
    for n, name in zip(drops, names, strict=True):
        seed(lab.host(name))
        lab.host(name).set_fault("drop_after", n)
    old = lab.host(names[0]).proxy_value(SYS)
    admin = lab.host(names[0]).proxy_value("user")

    first = lab.run_playbook(CONFIGURE, extra_vars=NO_PROBE, forks=10)
    lines = {line.split(":", 1)[0]: line for line in summary_lines(first)}
    stats = fleet_stats(first)
    kept = {}
    for n, name in zip(drops, names, strict=True):
        host = lab.host(name)
        assert first.stats[name]["unreachable"] == 1, (n, first.stats[name])
        line = lines[name]
        assert line.startswith("%s: unreachable" % name), line
        assert name in stats["unreachable"]
        values = (host.proxy_value(SYS), host.proxy_value(LS))
        assert values in ((old, old), (admin, admin)), (n, values)  # never one account new and the other old
        result = task_result(first, name, WRITE_TASK)
        assert result["unreachable"] is True, (n, result)
        files = backups(host)
        if n < import_at - 1:  # before the import: nothing written
            assert values == (old, old), n
            assert result.get("maybe_written", []) == [] and result.get("written", []) == []
            assert "Nothing was written to the registry" in result["msg"], (n, result["msg"])
        else:  # the import may have run (on the lab: it had not when the drop came at it)
            assert result["maybe_written"] == [SYS, LS], (n, result)
            assert values == ((old, old) if n == import_at - 1 else (admin, admin)), n
            assert "Possibly written (the import may have run): LocalSystem (S-1-5-18), LocalService (S-1-5-19)" \
                in result["msg"]
        if result["backup_file"]:
            assert files == [result["backup_file"]], (n, files)
            assert "Backup of the previous values: %s" % result["backup_file"] in line
            assert stats["backups"][name] == result["backup_file"]
        elif files:  # the upload had begun: the message says where the backup may be
            assert "may be there" in result["msg"] and files[0] in result["msg"], (n, result["msg"])
        assert "A rerun compares first" in line
        kept[name] = {path: host.read_file(path) for path in files}
        host.set_fault("drop_after", None)
    assert stats["totals"]["partial"] == sum(1 for n in drops if n >= import_at - 1)

    second = lab.run_playbook(CONFIGURE, extra_vars=NO_PROBE, forks=10)
    assert second.rc == 0, second.stdout[-3000:]
    for name in names:
        host = lab.host(name)
        assert host.proxy_value(SYS) == admin and host.proxy_value(LS) == admin
        for path, content in kept.get(name, {}).items():
            assert host.read_file(path) == content  # earlier backups intact
    assert json.dumps(second.stats)  # every host ok
    assert all(second.stats[n]["failures"] == 0 and second.stats[n]["unreachable"] == 0 for n in names)


PROBING = {"atp_proxy_hosts": "all", "atp_proxy_probe": True, "atp_proxy_workspace": "contoso",
           "atp_proxy_probe_include_crl": False}


def test_a_drop_while_probing_is_no_success_and_the_line_keeps_what_the_job_did(make_lab):
    """A review found a connection that dropped during the probe reported in sync (set_stats, report, the drift alert)
    while Ansible's recap said unreachable: results missing are no success."""
    clean = make_lab(1)
    seed(clean.host("dc01"))
    job_commands = len(clean.run_playbook(CONFIGURE, extra_vars=NO_PROBE).stdout and
                       clean.host("dc01").ledger()["sequence"])
    lab = make_lab(2)
    seed(lab.host("dc01"))  # drifted: the job writes, then the probe's first command drops
    lab.host("dc01").set_fault("drop_after", job_commands)
    lab.host("dc02").set_proxy("user", PROXY)
    lab.host("dc02").seed({"SYSTEM": PROXY, "LocalService": PROXY})  # in sync: the state query, then the drop
    lab.host("dc02").set_fault("drop_after", 1)
    run = lab.run_playbook(CONFIGURE, extra_vars=PROBING)
    lines = {text.split(":", 1)[0]: text for text in summary_lines(run)}
    stats = fleet_stats(run)
    assert run.rc == 4 and stats["unreachable"] == ["dc01", "dc02"], (run.rc, stats)
    assert all(run.stats[name]["unreachable"] == 1 for name in ("dc01", "dc02")), run.stats
    assert stats["totals"]["unreachable"] == 2 and stats["totals"]["partial"] == 0, stats["totals"]
    assert stats["changed"] == [] and stats["in_sync"] == []
    first, second = lines["dc01"], lines["dc02"]
    assert first.startswith("dc01: unreachable; wrote LocalSystem (S-1-5-18): proxy old.corp:3128 -> proxy "
                            "proxy.corp:8080"), first
    assert "error: the connection dropped while probing as LocalService" in first, first
    assert first.endswith("the job had finished before (changed)"), first
    assert "SYSTEM not probed (the connection dropped while probing LocalService)" in first, first
    assert lab.host("dc01").proxy_value(SYS) == lab.host("dc01").proxy_value("user")  # the write itself completed
    assert second.startswith("dc02: unreachable;") and second.endswith("the job had finished before (in sync)"), second

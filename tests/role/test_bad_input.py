# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input, as an admin meets it on the command line: one failure, on the job task, saying what to change; and the
public ``atp_proxy_problems`` filter refusing exactly what the job refuses (one validation model)."""

from __future__ import annotations

import json

import pytest

from .conftest import CHECK, CONFIGURE, NO_PROBE, PROXY, RESTORE, WRITE_TASK, snapshot, summary_lines

pytestmark = [pytest.mark.lab]

REFUSED = "Invalid role variables, nothing was changed: "


def failed_tasks(run, host="dc01") -> list:
    return [r["task"].split(" : ")[-1] for r in run.results if r["host"] == host and r["status"] == "failed"]


def test_a_bad_variable_fails_once_on_the_job_task_and_changes_nothing(lab):
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    before = snapshot(host)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01",
                                                      atp_proxy_sensor_proxy_url="javascript:alert(1)"))
    assert run.rc == 2 and run.stats["dc01"]["failures"] == 1
    # The task that refused the input is the one that fails; nothing else ends the host.
    assert failed_tasks(run) == [WRITE_TASK], failed_tasks(run)
    message = "atp_proxy_sensor_proxy_url: 'javascript:alert(1)' has the scheme 'javascript'; a proxy URL starts " \
              "with http:// or https://"
    assert message in run.stdout and "http://javascript" not in run.stdout
    # Ansible prints a failure's message twice (its [ERROR] line, then the result), the fleet summary once more in the
    # host's line; nothing repeats it beyond that, and the printed result is the message, not kilobytes of summary.
    assert run.stdout.count(message) == 3, run.stdout
    line = next(text for text in summary_lines(run) if text.startswith("dc01:"))
    assert line.startswith("dc01: failed; error: " + REFUSED) and message in line
    fatal = next(line for line in run.stdout.splitlines() if line.startswith("fatal: [dc01]"))
    assert len(fatal) < 2 * len(message) + 200, fatal
    assert snapshot(host) == before


def test_a_failure_after_the_read_ends_the_host_with_its_line_only(lab):
    """A failure that is not bad input (here the connection user is no administrator) is reported once by the fleet
    summary, then ends the host: the task that ends it prints the line, not the whole summary again."""
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    host.seed({"SYSTEM": {"proxy_server": "old.corp:3128"}})
    host.set_fault("not_admin", True)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01"))
    assert run.rc == 2 and failed_tasks(run) == ["End this host as its run went"]
    fatal = next(line for line in run.stdout.splitlines() if line.startswith("fatal: [dc01]"))
    assert "ansible_facts" not in fatal and '"summary"' not in fatal
    assert fatal.count("is not an enabled member of BUILTIN") == 1, fatal


def test_a_workspace_with_a_slash_is_refused_with_the_probe_off(lab):
    lab.host("dc01").set_proxy("user", PROXY)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01",
                                                      atp_proxy_workspace="contoso/corp"))
    assert run.rc == 2 and failed_tasks(run) == [WRITE_TASK]
    assert "atp_proxy_workspace" in run.stdout
    assert lab.host("dc01").proxy_value("S-1-5-18") is None


FILTER_PLAY = """
- hosts: dc01
  gather_facts: false
  vars:
    names: "{{ query('ansible.builtin.varnames', '^atp_proxy_') }}"
  tasks:
    - name: What the filter says
      ansible.builtin.debug:
        msg: "{{ dict(names | zip(query('ansible.builtin.vars', *names))) | atp.sensor_proxy.atp_proxy_problems }}"
"""


@pytest.mark.parametrize("bad,count", [
    ({"atp_proxy_state": "absent", "atp_proxy_source": "backup", "atp_proxy_sensor_proxy_url": "proxy.corp:8080",
      "atp_proxy_sensor_proxy_password": "Canary-Pr0xy-9f3b"}, 3),
    ({"atp_proxy_products": ["mdi", "mde"], "atp_proxy_source": "settings",
      "atp_proxy_settings": {"proxy_server": "proxy.corp:8080"}, "atp_proxy_mde_winhttp_source": "ie",
      "atp_proxy_mde_winhttp_ie_account": "NoSuchAccount"}, 1),
])
def test_the_filter_returns_what_the_job_refuses(lab, bad, count):
    lab.host("dc01").set_proxy("user", PROXY)
    given = dict(NO_PROBE, atp_proxy_hosts="dc01", **bad)
    job = lab.run_playbook(CONFIGURE, extra_vars=given)
    assert job.rc == 2 and failed_tasks(job) == [WRITE_TASK]
    refused = next(r["result"]["msg"] for r in job.results if r["task"].endswith(WRITE_TASK))

    # The filter, given the same variables (the role's defaults come from its argument specs).
    checked = lab.run_playbook(FILTER_PLAY, extra_vars=bad)
    assert checked.rc == 0, checked.stdout[-2000:]
    found = next(r["result"]["msg"] for r in checked.results if r["task"] == "What the filter says")
    assert len(found) == count and refused == REFUSED + "; ".join(found), (found, refused)
    assert "Canary-Pr0xy-9f3b" not in json.dumps(found) + job.stdout + checked.stdout


def test_a_user_name_in_a_message_is_shown_as_typed(make_lab):
    from tests.lab import system_state as ss

    lab = make_lab(1)
    ss.seed_v2_sensor(lab.host("dc01"), proxy={"url": "http://proxy.corp:8080"})
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01",
                                                      atp_proxy_sensor_proxy_url="http://proxy.corp:8080",
                                                      atp_proxy_sensor_proxy_username="CORP\\svc-mdi"))
    assert run.rc == 2 and failed_tasks(run) == [WRITE_TASK]
    msg = next(r["result"]["msg"] for r in run.results if r["task"].endswith(WRITE_TASK))
    # One backslash, as the admin typed it (the old message quoted repr(): 'CORP\\\\svc-mdi').
    assert "holds no password for 'CORP\\svc-mdi'; give the password" in msg, msg


GRAPH = {"atp_proxy_cloud_verdict": True, "atp_proxy_graph_tenant_id": "t", "atp_proxy_graph_client_id": "c",
         "atp_proxy_graph_client_secret": "Cp-SECRET-5150"}


# What a review of bad input found: each was accepted, and each is now refused by the job task before it reads the
# host, naming the variable (the command-line form: -e with JSON, as an admin types a dictionary or a list).
@pytest.mark.parametrize("playbook, bad, message", [
    # -e wins over a playbook's own variables: the read-only check became a configure run and wrote.
    (CHECK, {"atp_proxy_mode": "configure"}, "atp_proxy_mode: 'configure', but check_atp_proxy.yml writes nothing"),
    (RESTORE, {"atp_proxy_source": "settings", "atp_proxy_settings": {"proxy_server": "proxy.corp:8080"}},
     "atp_proxy_source: 'settings', but restore_atp_proxy.yml restores a backup"),
    # An empty proxy_server set both accounts to direct (no proxy), exit 0.
    (CONFIGURE, {"atp_proxy_source": "settings", "atp_proxy_settings": {"proxy_server": ""}},
     "atp_proxy_settings.proxy_server: empty, and no auto_config_url or auto_detect: the accounts would go direct"),
    # Ansible's validator turns a dictionary into its Python text, which was written to the sensor's file.
    (CONFIGURE, {"atp_proxy_sensor_proxy_url": "http://proxy.corp:8080",
                 "atp_proxy_sensor_proxy_username": {"name": "CORP\\u"}, "atp_proxy_sensor_proxy_password": "x"},
     "atp_proxy_sensor_proxy_username: must be a string, got a dictionary"),
    (CONFIGURE, {"atp_proxy_backup_keep": True}, "atp_proxy_backup_keep: must be a number, got true or false"),
    # An empty backup folder fell back to the default on one host and failed late on another; a relative one failed
    # after the read with "no message".
    (CONFIGURE, {"atp_proxy_backup_dir": ""}, "atp_proxy_backup_dir: empty; give an absolute path on the host"),
    (CONFIGURE, {"atp_proxy_backup_dir": "rel/dir"}, "atp_proxy_backup_dir: 'rel\\\\dir' is not an absolute path"),
    (RESTORE, {"atp_proxy_backup_file": "relative.reg"}, "atp_proxy_backup_file: 'relative.reg' is not an absolute"),
    # The cloud's verdict is read after every host ran: its URLs and proxy were only checked then.
    (CONFIGURE, dict(GRAPH, atp_proxy_graph_endpoint="notaurl"), "atp_proxy_graph_endpoint: 'notaurl' is not an https"),
    (CONFIGURE, dict(GRAPH, atp_proxy_graph_proxy="proxy.corp:99999"),
     "atp_proxy_graph_proxy: 'proxy.corp:99999' is not a proxy URL"),
    # An empty issuer fragment matched every issuer: an inspecting proxy's certificate was reported genuine.
    (CHECK, {"atp_proxy_expected_issuers": ["DigiCert", ""]}, "atp_proxy_expected_issuers: entry 2 is empty"),
])
def test_what_the_review_found_is_refused_before_the_host_is_read(lab, playbook, bad, message):
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    host.seed({"LocalService": {"proxy_server": "old.corp:3128"}})  # drifted: a run that went on would write
    before = snapshot(host)
    variables = lab.dir / "bad.json"
    variables.write_text(json.dumps(dict(NO_PROBE, atp_proxy_hosts="dc01", **bad)))
    run = lab.run_playbook(playbook, extra_args=["--extra-vars", "@%s" % variables])
    assert run.rc == 2 and failed_tasks(run) == [WRITE_TASK], (failed_tasks(run), run.stdout[-3000:])
    refused = next(r["result"]["msg"] for r in run.results if r["task"].endswith(WRITE_TASK))
    assert refused.startswith(REFUSED) and message in refused, refused
    assert snapshot(host) == before and lab.round_trips().get("dc01", 0) == 0
    assert "SECRET" not in run.stdout


def test_a_misspelt_variable_stops_a_run_that_writes_and_is_a_warning_in_a_check(lab):
    # -e atp_proxy_tragets=... was ignored with a warning, and the run wrote the default accounts: the one left out too.
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    before = snapshot(host)
    given = dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_tragets=["S-1-5-18"])
    run = lab.run_playbook(CONFIGURE, extra_vars=given)
    assert run.rc == 2 and failed_tasks(run) == [WRITE_TASK], run.stdout[-3000:]
    refused = next(r["result"]["msg"] for r in run.results if r["task"].endswith(WRITE_TASK))
    assert "atp_proxy_tragets is not a variable of the atp.sensor_proxy.atp_proxy role; did you mean " \
           "atp_proxy_targets?" in refused, refused
    assert snapshot(host) == before and lab.round_trips().get("dc01", 0) == 0
    check = lab.run_playbook(CHECK, extra_vars=given)
    assert check.rc == 0 and "did you mean atp_proxy_targets?" in check.stdout + check.stderr
    # A name of its own, not close to any of the role's, is still only warned about.
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_my_custom="x"))
    assert run.rc == 0 and "atp_proxy_my_custom is not a variable" in run.stdout + run.stderr


@pytest.mark.parametrize("where", ["a file", "under a file", "a pseudo file system"])
def test_a_report_folder_the_controller_cannot_write_stops_the_run_before_the_hosts(lab, where):
    """The fleet report is written after every host ran: a folder it could not be written into used to fail the run
    at its end, the hosts changed already."""
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    host.seed({"LocalService": {"proxy_server": "old.corp:3128"}})  # drifted: a run that went on would write
    before = snapshot(host)
    blocker = lab.dir / "not-a-folder"
    blocker.write_text("x")
    report_dir = {"a file": blocker, "under a file": blocker / "reports",
                  "a pseudo file system": "/proc/atp-report"}[where]  # writable for access(2) as root; not really
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01",
                                                      atp_proxy_report_dir=str(report_dir)))
    assert run.rc == 2 and failed_tasks(run) == [WRITE_TASK], (failed_tasks(run), run.stdout[-3000:])
    refused = next(r["result"]["msg"] for r in run.results if r["task"].endswith(WRITE_TASK))
    expected = {"a file": "atp_proxy_report_dir: %s is a file on the controller" % blocker,
                "under a file": "atp_proxy_report_dir: %s cannot be created on the controller: %s is a file"
                                % (report_dir, blocker),
                "a pseudo file system": "atp_proxy_report_dir: the controller cannot write into /proc/atp-report "
                                        "(/proc: "}[where]
    assert refused.startswith(REFUSED) and expected in refused, refused
    assert snapshot(host) == before and lab.round_trips().get("dc01", 0) == 0


def test_a_report_folder_that_does_not_exist_yet_is_created(lab):
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    report_dir = lab.dir / "reports" / "today"
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01",
                                                      atp_proxy_report_dir=str(report_dir)))
    assert run.rc == 0, run.stdout[-3000:]
    assert "dc01" in (report_dir / "atp_proxy_report.md").read_text()


def test_a_refusal_of_a_part_says_nothing_was_changed_once(lab):
    host = lab.host("dc01")
    host.set_proxy("user", PROXY)
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_products=["mdi", "mde"],
                                                      atp_proxy_mde_proxy_server="proxy.corp:8080",
                                                      atp_proxy_mde_av_proxy_server="proxy.corp:8080"))
    assert run.rc == 2 and failed_tasks(run) == [WRITE_TASK], failed_tasks(run)
    refused = next(r["result"]["msg"] for r in run.results if r["task"].endswith(WRITE_TASK))
    assert refused.startswith(REFUSED) and "atp_proxy_mde_av_proxy_server" in refused, refused
    assert refused.lower().count("nothing was changed") == 1, refused

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's probe step: as LocalService and SYSTEM, through their own WinINet proxy, over real sockets.

The sensor API and CRL names resolve only through the real proxy (proxy.py on 127.0.0.1), as Internet
names do on a DC without direct egress. So an account without a proxy cannot reach them, and an account
with the admin's proxy can: exactly the question the role answers.
"""

from __future__ import annotations

from tests.lab.conftest import SENSOR_HOST, WORKSPACE_NAME

from .conftest import CHECK, CONFIGURE, PROXY, summary_lines, task_result

PROBE = {"atp_proxy_hosts": "dc01", "atp_proxy_workspace": WORKSPACE_NAME, "atp_proxy_probe": True,
         "atp_proxy_fail_on_unreachable": False}


def probes(run, host="dc01") -> dict:
    results = [r for r in run.results if r["host"] == host and r["task"].endswith("Probe the Defender endpoints as "
                                                                                  "each service account")]
    assert results, "the probe did not run"
    return {item["account"]: item for item in results[-1]["result"]["accounts"]}


def test_localservice_reaches_the_sensor_api_only_after_configure(lab, sensor_api, proxy, crl_server):
    lab.host("dc01").set_proxy("user", PROXY)

    before = lab.run_playbook(CHECK, extra_vars=PROBE)
    assert before.rc == 0, before.stdout[-3000:]
    by_account = probes(before)
    assert by_account["LocalService"]["all_reachable"] is False
    outcomes = {r["url"]: r["outcome"] for r in by_account["LocalService"]["results"]}
    ping = "https://%s/tri/sensor/api/ping" % SENSOR_HOST
    assert outcomes[ping] == "dns_failure"  # no proxy: the DC cannot resolve Internet names
    assert sensor_api.requests == []
    line = summary_lines(before)[0]
    assert "dc01: drifted" in line and "LocalService UNREACHABLE" in line
    # the line names the outcome, the URL and the one-sentence fix
    assert "LocalService UNREACHABLE (dns_failure https://%s/tri/sensor/api/ping: " % SENSOR_HOST in line

    after = lab.run_playbook(CONFIGURE, extra_vars=PROBE)
    assert after.rc == 0, after.stdout[-3000:]
    by_account = probes(after)
    for account in ("LocalService", "SYSTEM"):
        probe = by_account[account]
        assert probe["all_reachable"] is True, probe["results"]
        ping_result = next(r for r in probe["results"] if r["url"] == ping)
        assert ping_result["status"] == 200 and ping_result["outcome"] == "reachable"
        assert ping_result["proxy"] == "proxy.corp:8080"  # the proxy the role wrote for this account
    assert any(r["method"] == "CONNECT" and r["host"] == SENSOR_HOST for r in proxy.log())
    assert sensor_api.requests[-1]["path"] == "/tri/sensor/api/ping"
    assert "probe LocalService reachable, SYSTEM reachable" in summary_lines(after)[0]


def test_fail_on_unreachable_names_the_url_outcome_and_fix(lab, sensor_api, proxy, crl_server):
    lab.host("dc01").set_proxy("user", PROXY)
    run = lab.run_playbook(CHECK, extra_vars=dict(PROBE, atp_proxy_fail_on_unreachable=True,
                                                  atp_proxy_probe_accounts=["LocalService"]))
    assert run.rc != 0 and run.stats["dc01"]["failures"] == 1
    assert "Not reachable from dc01" in run.stdout and "dns_failure" in run.stdout


def test_nothing_to_probe_is_skipped_with_a_warning_naming_the_variables(lab):
    """Probing on (the default) without a workspace: the CRL hosts alone would not say whether the sensor reaches
    its service, so the probe is skipped, the run says why, and the summary shows no probe."""
    lab.host("dc01").set_proxy("user", PROXY)
    run = lab.run_playbook(CHECK, extra_vars={"atp_proxy_hosts": "dc01"})
    assert run.rc == 0, run.stdout[-3000:]
    assert not [r for r in run.results if r["task"].endswith("Probe the Defender endpoints as each service account")
                and r["status"] != "skipped"]
    warning = "atp_proxy_probe: nothing to probe, so the probe is skipped: set atp_proxy_workspace"
    assert warning in " ".join((run.stdout + run.stderr).split())
    assert "probe" not in summary_lines(run)[0]


def test_probe_variables_are_checked_before_the_host_is_read(lab):
    lab.host("dc01").set_proxy("user", PROXY)
    run = lab.run_playbook(CHECK, extra_vars=dict(PROBE, atp_proxy_regions=["mars"], atp_proxy_cloud="gcc_high"))
    assert run.rc != 0
    text = " ".join(run.stdout.split())
    assert "atp_proxy_regions: unknown region 'mars' for the gcc_high cloud" in text
    assert run.agent_calls == 0  # nothing was read from the host


def test_the_cloud_and_crl_choice_reach_the_probe(lab, sensor_api, proxy, crl_server):
    lab.host("dc01").set_proxy("user", PROXY)
    lab.host("dc01").set_proxy("S-1-5-19", PROXY)
    run = lab.run_playbook(CHECK, extra_vars=dict(PROBE, atp_proxy_probe_include_crl=False,
                                                  atp_proxy_probe_accounts=["LocalService"]))
    assert run.rc == 0, run.stdout[-3000:]
    urls = [r["url"] for r in probes(run)["LocalService"]["results"]]
    assert urls == ["https://%s/tri/sensor/api/ping" % SENSOR_HOST]  # no CRL host

    gov = lab.run_playbook(CHECK, extra_vars=dict(PROBE, atp_proxy_cloud="gcc_high", atp_proxy_probe_include_crl=False,
                                                  atp_proxy_probe_accounts=["LocalService"]))
    urls = [r["url"] for r in probes(gov)["LocalService"]["results"]]
    assert urls == ["https://%ssensorapi.atp.azure.us/tri/sensor/api/ping" % WORKSPACE_NAME]


def test_probe_modes_say_which_way_works_in_the_line(lab, sensor_api, proxy):
    """atp_proxy_probe_modes: the line says, per account, how many URLs each way reached (the Client Analyzer's
    question), and a URL that any way reached is not reported UNREACHABLE."""
    lab.host("dc01").set_proxy("user", PROXY)
    lab.host("dc01").set_proxy("S-1-5-18", PROXY)
    run = lab.run_playbook(CHECK, extra_vars=dict(PROBE, atp_proxy_probe_include_crl=False,
                                                  atp_proxy_probe_accounts=["SYSTEM"],
                                                  atp_proxy_probe_modes=["default", "direct", "winhttp"]))
    assert run.rc == 0, run.stdout[-3000:]
    line = summary_lines(run)[0]
    # the sensor API resolves only through the proxy: the account's proxy works, direct does not
    assert "probe SYSTEM reachable [modes: default 1/1, direct 0/1, winhttp not tested]" in line, line


def test_the_win_uri_engine_probes_each_account_in_the_one_task_as_the_script_does(lab, sensor_api, proxy,
                                                                                   crl_server):
    """For sites that allow no script of their own (atp_proxy_probe_engine: win_uri): the same one task becomes each
    account in turn, one win_uri call per URL each, with the same outcomes as the probe script."""
    lab.host("dc01").set_proxy("user", PROXY)
    lab.host("dc01").set_proxy("S-1-5-19", PROXY)  # LocalService has the proxy, SYSTEM has none
    outcomes = {}
    for engine in ("win_uri", "script"):
        lab.reset_ledgers()
        run = lab.run_playbook(CHECK, extra_vars=dict(PROBE, atp_proxy_probe_engine=engine))
        assert run.rc == 0, run.stdout[-3000:]
        by_account = probes(run)
        outcomes[engine] = {(a, r["url"]): r["outcome"] for a, p in by_account.items() for r in p["results"]}
        urls = len(by_account["LocalService"]["results"])
        calls = {task.split(" : ")[-1]: n for task, n in lab.ledger()["dc01"]["by_task"].items()}
        assert calls["Probe the Defender endpoints as each service account"] == (2 * urls if engine == "win_uri" else 2)
        assert [p["round_trips"] for p in by_account.values()] == ([urls, urls] if engine == "win_uri" else [1, 1])
    assert outcomes["win_uri"] == outcomes["script"]
    assert {o for (a, dummy), o in outcomes["script"].items() if a == "LocalService"} == {"reachable"}
    assert {o for (a, dummy), o in outcomes["script"].items() if a == "SYSTEM"} == {"dns_failure"}


def test_the_role_on_its_own_summarizes_each_accounts_probe(lab, sensor_api, proxy, crl_server):
    """A playbook of the admin's own that includes the role: its last step (tasks/summary.yml) summarizes the host
    from the job and the probe task's result, one entry per account, and prints the line."""
    lab.host("dc01").set_proxy("user", PROXY)
    lab.host("dc01").set_proxy("S-1-5-19", PROXY)  # LocalService has the proxy, SYSTEM has none
    playbook = """
- hosts: dc01
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: atp.sensor_proxy.atp_proxy
      vars:
        atp_proxy_mode: check
        atp_proxy_workspace: %s
        atp_proxy_fail_on_unreachable: false
""" % WORKSPACE_NAME
    run = lab.run_playbook(playbook)
    assert run.rc == 0, run.stdout[-3000:]
    summary = task_result(run, "dc01", "Summarize this host")["summary"]
    assert [(p["account"], p["probed"], p["all_reachable"]) for p in summary["probe"]] == [
        ("LocalService", True, True), ("SYSTEM", True, False)]
    assert "probe LocalService reachable, SYSTEM UNREACHABLE (dns_failure" in summary["line"], summary["line"]

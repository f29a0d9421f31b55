# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version matrix's end-to-end smoke run (``hack/matrix.py`` runs this file on every ansible-core version the
collection claims; ``make test`` runs it on the main toolchain too).

Real ``ansible-playbook`` of the ansible-core under test, against the emulated lab (tests/lab: the stand-in
ansible.windows with the REAL ``win_copy`` action of the ansible.windows under test, the lab's connection, become
and callback plugins), a real proxy, the HTTPS sensor API and the CRL hosts on 127.0.0.1. Two hosts of the two
kinds the role handles differently: dc01 has no sensor (the service accounts' WinINet values), dc02 runs a Defender
for Identity sensor v2 (its own ``SensorConfiguration.json``). In one lab, in order, as an admin would:

configure (converge, with one probe) -> configure again (nothing changes) -> check (read-only, in sync) ->
restore (each host back to what it had) -> check again (drifted, as before the configure run).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from tests.lab import system_state as ss
from tests.lab.fixtures import LabEnv, real_windows_collection
from tests.lab.network import SENSOR_HOST, WORKSPACE_NAME, CrlServer, ProxyPy, SensorApi

pytestmark = [pytest.mark.lab, pytest.mark.network]

REPO = Path(__file__).resolve().parents[2]

LS, SYS = "S-1-5-19", "S-1-5-18"
ADMIN = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
URL = "http://proxy.corp:8080"
CONFIGURE, CHECK, RESTORE = ("playbooks/%s_atp_proxy.yml" % name for name in ("configure", "check", "restore"))
PING = "https://%s/tri/sensor/api/ping" % SENSOR_HOST
# The probe once, on dc01 as LocalService and SYSTEM (the sensor's and its updater's accounts, in one task: the
# action sets the become user for each, which each ansible-core builds its exec wrapper from), through the proxy the
# run wrote.
PROBE = {"atp_proxy_workspace": WORKSPACE_NAME, "atp_proxy_probe": True,
         "atp_proxy_probe_accounts": ["LocalService", "SYSTEM"]}
QUIET = {"atp_proxy_probe": False}


def _lines(run) -> dict:
    found = [r for r in run.results if r["task"].split(" : ")[-1] == "One line per host" and r["status"] == "ok"]
    assert found, "the one-line summary did not run:\n%s" % run
    return {line.split(":", 1)[0]: line for line in found[-1]["result"]["msg"]}


def _sensor_proxy(host, seed) -> dict | None:
    return json.loads(host.read_file(seed.config_path).decode("utf-8-sig")).get("SensorProxyConfiguration")


def _probe(run, host="dc01") -> dict:
    found = [r for r in run.results if r["host"] == host and r["task"].endswith(
        "Probe the Defender endpoints as each service account")]
    assert found, "the probe did not run:\n%s" % run
    return {item["account"]: item for item in found[-1]["result"]["accounts"]}


def test_the_ansible_windows_under_test_is_the_one_the_matrix_asked_for():
    """The matrix names the ansible.windows of each row (ATP_MATRIX_WINDOWS); the lab must really use it."""
    manifest = json.loads((real_windows_collection() / "MANIFEST.json").read_text())
    wanted = os.environ.get("ATP_MATRIX_WINDOWS")
    if wanted:
        assert manifest["collection_info"]["version"] == wanted


def test_every_ansible_windows_module_the_collection_calls_is_in_this_ansible_windows():
    """The modules our plugins, role and playbooks call by FQCN exist in the ansible.windows under test, as modules
    of its own (a PowerShell module there), not removed or redirected elsewhere (its meta/runtime.yml)."""
    real = real_windows_collection()
    called = set()
    for folder in ("plugins", "roles", "playbooks"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".yml", ".yaml", ".j2"):
                called |= set(re.findall(r"\bansible\.windows\.(\w+)", path.read_text(errors="replace")))
    assert {"win_powershell", "win_http_proxy", "win_uri", "win_certificate_info"} <= called
    routing = (yaml.safe_load((real / "meta" / "runtime.yml").read_text()) or {}).get("plugin_routing") or {}
    moved = {name for name, route in (routing.get("modules") or {}).items() if route.get("redirect") or
             route.get("tombstone")}
    missing = sorted(m for m in called if not (real / "plugins" / "modules" / (m + ".ps1")).exists() or m in moved)
    assert missing == [], "not modules of ansible.windows %s: %s" % (_version(real), missing)


def _version(real) -> str:
    return json.loads((real / "MANIFEST.json").read_text())["collection_info"]["version"]


def test_configure_rerun_check_restore_and_probe(tmp_path):
    env = LabEnv(tmp_path / "lab", hosts=2)
    dc01, dc02 = env.host("dc01"), env.host("dc02")
    for host in (dc01, dc02):
        host.set_proxy("user", ADMIN)  # the admin's own HKCU proxy: the source of the default atp_proxy_source
    seed = ss.seed_v2_sensor(dc02)
    before = {"dc01": (dc01.proxy_value(SYS), dc01.proxy_value(LS)), "dc02": _sensor_proxy(dc02, seed)}
    assert before["dc01"] == (None, None) and before["dc02"] is None

    api = SensorApi(tmp_path / "api").start()
    real_proxy = ProxyPy(tmp_path / "proxy", env.lab.dir).start()
    crl = CrlServer().start()
    try:
        env.lab.update_config(ca_file=str(api.ca_file))
        env.lab.add_dns("%s:443" % SENSOR_HOST, "127.0.0.1:%d" % api.port, proxy_only=True)
        env.lab.add_dns("proxy.corp:8080", "127.0.0.1:%d" % real_proxy.port)
        crl.register(env.lab)

        # 1. converge, and probe once
        first = env.run_playbook(CONFIGURE, extra_vars=dict(PROBE, atp_proxy_hosts="dc01"))
        assert first.rc == 0, first
        first_v2 = env.run_playbook(CONFIGURE, extra_vars=dict(QUIET, atp_proxy_hosts="dc02"))
        assert first_v2.rc == 0, first_v2
        assert first.stats["dc01"]["changed"] >= 1 and first_v2.stats["dc02"]["changed"] >= 1
        if env.agent:  # the lab's warm module runner works with this ansible-core's AnsiballZ payloads
            assert first.agent_calls and first.agent_calls > 0, first
        assert dc01.proxy_value(SYS) == dc01.proxy_value(LS) == dc01.proxy_value("user")
        assert _sensor_proxy(dc02, seed) == {"$type": "SensorProxyConfiguration", "Url": URL}
        assert _lines(first)["dc01"].startswith("dc01: changed")
        assert _lines(first_v2)["dc02"].startswith("dc02: changed; method sensor_config")
        probes = _probe(first)
        for account, sid in (("LocalService", LS), ("SYSTEM", SYS)):
            probe = probes[account]
            assert probe["ran_as"]["sid"] == sid, probe  # this run's script ran as this account on this core
            ping = next(r for r in probe["results"] if r["url"] == PING)
            assert (ping["outcome"], ping["status"], ping["proxy"]) == ("reachable", 200, "proxy.corp:8080"), probe
        assert any(r["method"] == "CONNECT" and r["host"] == SENSOR_HOST for r in real_proxy.log())
        assert api.requests and api.requests[-1]["path"] == "/tri/sensor/api/ping"
        assert "probe LocalService reachable" in _lines(first)["dc01"]

        # 2. the same run again: nothing changes
        converged = {h: h.proxy_value(LS) for h in (dc01,)}, _sensor_proxy(dc02, seed)
        again = env.run_playbook(CONFIGURE, extra_vars=dict(QUIET, atp_proxy_hosts="all"))
        assert again.rc == 0, again
        assert {h: s["changed"] for h, s in again.stats.items()} == {"dc01": 0, "dc02": 0}, again
        assert all(line.split(": ")[1].startswith("in_sync") for line in _lines(again).values()), _lines(again)
        assert ({h: h.proxy_value(LS) for h in (dc01,)}, _sensor_proxy(dc02, seed)) == converged

        # 3. the read-only check: in sync, nothing written
        check = env.run_playbook(CHECK, extra_vars=dict(QUIET, atp_proxy_hosts="all"))
        assert check.rc == 0, check
        assert {h: s["changed"] for h, s in check.stats.items()} == {"dc01": 0, "dc02": 0}
        assert all(line.split(": ")[1].startswith("in_sync") for line in _lines(check).values()), _lines(check)

        # 4. restore: each host gets back what it had before the configure run
        restore = env.run_playbook(RESTORE, extra_vars={"atp_proxy_hosts": "all"})
        assert restore.rc == 0, restore
        assert (dc01.proxy_value(SYS), dc01.proxy_value(LS)) == before["dc01"]
        assert _sensor_proxy(dc02, seed) == before["dc02"]

        # 5. and the check says so
        drift = env.run_playbook(CHECK, extra_vars=dict(QUIET, atp_proxy_hosts="all"))
        assert drift.rc == 0, drift
        assert all(line.split(": ")[1].startswith("drifted") for line in _lines(drift).values()), _lines(drift)

        # 6. a run that fails on one host: the second play ends that host, and only it, with its line (the fleet
        # summary's end_hosts and its index, on this ansible-core); the other host is configured
        dc01.set_fault("lost_write", True)  # the write does not stick: dc01's run fails after its job task
        failed = env.run_playbook(CONFIGURE, extra_vars=dict(QUIET, atp_proxy_hosts="all"))
        assert failed.rc != 0, failed
        assert failed.stats["dc01"]["failures"] == 1 and failed.stats["dc02"]["failures"] == 0, failed.stats
        ended = [r for r in failed.results if r["task"].split(" : ")[-1] == "End this host as its run went"]
        assert [(r["host"], r["status"]) for r in ended] == [("dc01", "failed")], ended
        assert ended[0]["result"]["msg"].startswith("dc01: failed"), ended[0]["result"]
        assert _lines(failed)["dc01"].startswith("dc01: failed") and _lines(failed)["dc02"].startswith("dc02: changed")
    finally:
        crl.stop()
        real_proxy.stop()
        api.stop()

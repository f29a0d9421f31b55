# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_mdi_sensor_info end to end: real ansible-playbook against each kind of emulated domain controller."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sc
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_plan as cp
from tests.lab import system_state as ss

pytestmark = [pytest.mark.lab]

CANARY = "Canary-Pr0xy-9d41"
PROXY = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
INFO_PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: info
      atp.sensor_proxy.win_mdi_sensor_info: {}
"""
KINDS = ("v2_json", "v2_wininet", "v2_neither", "v3", "policy", "no_root_ca", "v2_conflict", "none")


@pytest.fixture
def fleet(make_lab):
    lab = make_lab(len(KINDS))
    hosts = dict(zip(KINDS, lab.host_names, strict=True))
    seeds = {}
    for kind, name in hosts.items():
        host = lab.host(name)
        ss.seed_tls(host)
        if kind in ("v2_json", "no_root_ca"):
            seeds[kind] = ss.seed_v2_sensor(host, proxy={"url": "http://proxy.corp:8080", "username": "CORP\\svc-mdi",
                                                         "password": CANARY})
        elif kind == "v2_wininet":
            seeds[kind] = ss.seed_v2_sensor(host)
            host.seed({"LocalService": PROXY, "SYSTEM": PROXY})
        elif kind == "v2_neither":
            seeds[kind] = ss.seed_v2_sensor(host)
        elif kind == "v3":
            ss.seed_v3_sensor(host, telemetry_proxy="proxy.corp:8080", defender_proxy="http://proxy.corp:8080")
        elif kind == "policy":
            seeds[kind] = ss.seed_v2_sensor(host)
            ss.seed_per_machine_policy(host, {"proxy_server": "machine.corp:3128"})
            host.seed({"LocalService": PROXY})  # no effect under the policy
        elif kind == "v2_conflict":
            seeds[kind] = ss.seed_v2_sensor(host, proxy={"url": "http://proxy.corp:8080"})
            host.seed({"LocalService": {"proxy_server": "old.corp:3128"}, "SYSTEM": PROXY})
        if kind == "no_root_ca":
            ss.seed_missing_root_ca(host)
    return lab, hosts, seeds


def test_each_host_kind(fleet):
    lab, hosts, seeds = fleet
    lab.reset_ledgers()
    run = lab.run_playbook(INFO_PLAY)
    assert run.rc == 0, run
    got = {kind: run.result(name, "info") for kind, name in hosts.items()}
    calls = lab.round_trips()
    for kind, name in hosts.items():
        assert got[kind]["changed"] is False and not got[kind].get("failed"), (kind, got[kind])
        assert got[kind]["round_trips"] == calls[name], kind  # the lab's own count of remote module runs

    def eff(kind, component="sensor"):
        e = got[kind]["effective_proxy"][component]
        return e["source"], e["proxy"]

    # v2 with its own proxy: both components use it; the password is stored, never shown.
    r = got["v2_json"]
    assert (r["sensor"]["generation"], r["sensor"]["version"]) == ("v2", ss.SENSOR_VERSION)
    assert eff("v2_json") == eff("v2_json", "updater") == ("sensor_config", "http://proxy.corp:8080")
    assert r["sensor_config"]["proxy"]["password_set"] is True and r["sensor_config"]["proxy"]["username"] == \
        "CORP\\svc-mdi"
    assert r["sensor_config"]["secret_manager_thumbprint"] == seeds["v2_json"].thumbprint
    assert r["sensor_warnings"] == [] and r["method_in_use"] == "sensor_config" and r["readiness"]["ok"] is True
    assert r["round_trips"] == 2  # the state query and the file
    assert lab.ledger()[hosts["v2_json"]]["by_module"] == {"win_powershell": 1, "slurp": 1}

    assert eff("v2_wininet") == eff("v2_wininet", "updater") == ("wininet_per_account", "proxy.corp:8080")
    assert got["v2_wininet"]["method_in_use"] == "wininet" and got["v2_wininet"]["sensor_warnings"] == []

    assert eff("v2_neither") == ("wininet_per_account", None)
    assert (got["v2_neither"]["method_in_use"], got["v2_neither"]["auto_method"]) == ("none", "sensor_config")

    r = got["v3"]
    assert r["sensor"]["generation"] == "v3" and r["sensor"]["markers"] == ["process SenseIdentity running"]
    assert eff("v3") == ("mde", "proxy.corp:8080") and r["mde"]["onboarded"] is True
    assert r["message"].startswith("sensor v3: connects through Defender for Endpoint")
    assert r["sensor_warnings"] == [] and r["sensor_config"] is None and r["round_trips"] == 1

    r = got["policy"]
    assert r["wininet"]["per_user_policy"]["per_machine"] is True
    assert eff("policy") == eff("policy", "updater") == ("wininet_machine", "machine.corp:3128")
    assert r["wininet"]["accounts"] == {} and r["round_trips"] == 2

    r = got["none"]
    assert r["sensor"]["installed"] is False and r["auto_method"] == "wininet" and r["round_trips"] == 1

    r = got["no_root_ca"]
    assert r["readiness"]["ok"] is False and r["readiness"]["root_certificates"]["ok"] is False
    assert any("Import-Certificate -FilePath DigiCertGlobalRootG2.crt" in fix for fix in r["readiness"]["fixes"])
    assert r["readiness"]["tls"]["ok"] is True

    r = got["v2_conflict"]
    assert r["effective_proxy"]["sensor"]["ambiguous"] is True
    assert r["effective_proxy"]["updater"]["ambiguous"] is False
    [warning] = r["sensor_warnings"]
    assert "sensor_config" in warning and "wininet_per_account" in warning and "old.corp:3128" in warning
    assert "[WARNING]" in run.stdout + run.stderr and "old.corp:3128" in run.stdout + run.stderr


def test_check_mode_reads_the_same_and_writes_nothing(fleet):
    lab, hosts, seeds = fleet
    normal = lab.run_playbook(INFO_PLAY)
    snapshot = {n: (lab.host(n).state(), ss.read(lab.host(n)), lab.host(n).read_file(seeds[k].config_path)
                    if k in seeds else None) for k, n in hosts.items()}
    checked = lab.run_playbook(INFO_PLAY, check=True)
    assert checked.rc == 0, checked
    for kind, name in hosts.items():
        a, b = normal.result(name, "info"), checked.result(name, "info")
        assert b["check_mode"] is True
        assert a["effective_proxy"] == b["effective_proxy"] and a["sensor"] == b["sensor"], kind
        host = lab.host(name)
        config = host.read_file(seeds[kind].config_path) if kind in seeds else None
        assert (host.state(), ss.read(host), config) == snapshot[name], kind


def test_no_secret_in_any_output_even_at_vvvv(fleet):
    lab, hosts, seeds = fleet
    raw = lab.host(hosts["v2_json"]).read_file(seeds["v2_json"].config_path)
    encrypted = json.loads(raw)["SensorProxyConfiguration"]["EncryptedUserPasswordData"]["EncryptedBytes"]
    run = lab.run_playbook(INFO_PLAY, limit=hosts["v2_json"], verbosity=4)
    assert run.rc == 0, run
    everything = run.stdout + run.stderr + json.dumps(run.results)
    assert "effective_proxy" in run.stdout and "svc-mdi" in run.stdout  # the result is printed
    # Not the password, not its ciphertext, and not the file (slurp's base64) that holds the ciphertext.
    assert CANARY not in everything and encrypted not in everything
    assert base64.b64encode(raw).decode()[:200] not in everything


def test_a_password_encrypted_with_another_certificate_is_kept_and_reported(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host, proxy={"url": "http://proxy.corp:8080", "username": "CORP\\svc-mdi",
                                          "password": CANARY}, password_certificate="other", encoding="utf-8-bom")
    info = lab.run_playbook(INFO_PLAY).result("dc01", "info")
    config = info["sensor_config"]
    assert config["encoding"] == "utf-8-bom" and config["password_certificate_is_secret_manager"] is False
    assert config["proxy"]["certificate_thumbprint"] == seed.password_thumbprint
    assert config["secret_manager_thumbprint"] == seed.thumbprint and info["sensor_warnings"] == []
    cfg = sc.parse(host.read_file(seed.config_path))
    kept = cp.plan(cfg, cp.ProxyRequest(url="http://new.corp:3128", username="CORP\\svc-mdi", password=CANARY))
    stored = json.loads(kept.data.decode("utf-8-sig"))["SensorProxyConfiguration"]["EncryptedUserPasswordData"]
    assert kept.kept_password and stored["CertificateThumbprint"] == seed.password_thumbprint
    assert ss.decrypt(host, seed.password_thumbprint, stored["EncryptedBytes"]) == CANARY
    assert kept.data.startswith(b"\xef\xbb\xbf")

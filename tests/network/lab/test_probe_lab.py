# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""via: target end to end in the emulated Windows lab (tests/lab): real ansible-playbook runs, the
lab's win_uri stand-in making real requests as the become account through that account's WinINet
proxy (a real proxy.py) to a real HTTPS sensor API."""

from __future__ import annotations

import json

import pytest

from tests.lab.conftest import SENSOR_HOST, WORKSPACE_NAME

pytestmark = [pytest.mark.lab, pytest.mark.network]

PING = "https://%s/tri/sensor/api/ping" % SENSOR_HOST

PROBE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: probe as the service account
      atp.sensor_proxy.atp_endpoint_probe:
        workspace: "{{ workspace }}"
        include_crl: false
        expected_proxy: "{{ expected_proxy | default(omit) }}"
        fail_on_unreachable: "{{ strict | default(false) }}"
      become: true
      become_method: ansible.builtin.runas
      become_user: "{{ account | default('LocalService') }}"
      ignore_errors: true
"""
TASK = "probe as the service account"


def probe(lab, check=False, **extra):
    run = lab.run_playbook(PROBE, extra_vars=dict({"workspace": WORKSPACE_NAME}, **extra), limit="dc01", check=check)
    return run, run.result("dc01", TASK)


def test_localservice_fails_before_the_proxy_is_copied_and_is_reachable_after(lab, sensor_api, proxy):
    # The admin has a proxy; LocalService (S-1-5-19) has none: the sensor's account goes direct.
    lab.host("dc01").seed({"user": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}})
    run, before = probe(lab)
    assert before["changed"] is False and not before.get("failed"), run
    assert before["account"] == "LocalService" and before["via"] == "target"
    assert before["all_reachable"] is False
    [result] = before["results"]
    assert (result["url"], result["endpoint"], result["outcome"]) == (PING, "mdi_workspace", "dns_failure")
    assert result["proxy"] == "direct"
    assert "LocalService (S-1-5-19)" in result["hint"]
    assert proxy.log() == []

    # Copy the proxy to LocalService: the same probe now tunnels through the real proxy.
    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}})
    run, after = probe(lab, expected_proxy="proxy.corp:8080")
    assert after["all_reachable"] is True, run
    [result] = after["results"]
    assert (result["outcome"], result["status"], result["proxy"]) == ("reachable", 200, "proxy.corp:8080")
    assert after["round_trips"] == 1
    assert [(r["method"], r["host"]) for r in proxy.log()] == [("CONNECT", SENSOR_HOST)]
    assert sensor_api.requests[-1]["path"] == "/tri/sensor/api/ping"

    # SYSTEM (S-1-5-18) still has no proxy.
    dummy, system = probe(lab, account="SYSTEM")
    assert system["account"] == "SYSTEM"
    assert system["results"][0]["outcome"] == "dns_failure"
    assert "SYSTEM (S-1-5-18)" in system["results"][0]["hint"]


def test_check_mode_probes_too(lab, sensor_api, proxy):
    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080"}})
    run, result = probe(lab, check=True, strict=True)
    assert result["all_reachable"] is True and result["changed"] is False, run
    assert not result.get("failed")


def test_authenticating_proxy_is_proxy_auth_required(lab, sensor_api, auth_proxy):
    lab.host("dc01").seed({"LocalService": {"proxy_server": "authproxy.corp:8080"}})
    run, result = probe(lab, expected_proxy="authproxy.corp:8080")
    [entry] = result["results"]
    assert (entry["outcome"], entry["status"]) == ("proxy_auth_required", 407), run
    assert "anonymous" in entry["hint"]
    assert sensor_api.requests == []


def test_unreachable_proxy_with_expected_proxy(lab, sensor_api):
    # proxy.corp:8080 is configured but nothing listens behind it in this test.
    lab.host("dc01").seed({"LocalService": {"proxy_server": "noproxy.corp:8080"}})
    run, result = probe(lab, expected_proxy="noproxy.corp:8080")
    [entry] = result["results"]
    assert entry["outcome"] == "proxy_unreachable", (entry, run)


# --------------------------------------------------------------------------------------------
# Probe truth: each outcome against the lab's real proxies and TLS servers
# --------------------------------------------------------------------------------------------

GENERIC = """
- hosts: all
  gather_facts: false
  tasks:
    - name: probe
      atp.sensor_proxy.atp_endpoint_probe: "{{ probe_args }}"
      become: true
      become_method: ansible.builtin.runas
      become_user: "{{ account | default('LocalService') }}"
      ignore_errors: true
"""


def run_probe(lab, probe_args, account="LocalService", limit="dc01", forks=5, verbosity=0):
    # The variables go in a file: on the command line -vvvv would echo them (that is ansible-playbook's own
    # output of its arguments, not the probe's).
    variables = lab.dir / ("probe_vars_%d.json" % len(list(lab.dir.glob("probe_vars_*.json"))))
    variables.write_text(json.dumps({"probe_args": probe_args, "account": account}))
    run = lab.run_playbook(GENERIC, limit=limit, forks=forks, verbosity=verbosity,
                           extra_args=["--extra-vars", "@%s" % variables])
    return run, {h: run.result(h, "probe") for h in lab.host_names if run.task("probe", h)}


def _only(results: dict) -> dict:
    [result] = results["dc01"]["results"]
    return result


def test_older_workspace_answering_503_is_reachable(lab, sensor_api, proxy):
    from tests.lab.network import OLD_SENSOR_HOST, OLD_WORKSPACE_NAME

    lab.lab.add_dns("%s:443" % OLD_SENSOR_HOST, "127.0.0.1:%d" % sensor_api.port, proxy_only=True)
    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080"}})
    run, results = run_probe(lab, {"workspace": OLD_WORKSPACE_NAME, "include_crl": False,
                                   "expected_proxy": "proxy.corp:8080"})
    entry = _only(results)
    assert (entry["status"], entry["outcome"], entry["hint"]) == (503, "reachable", ""), run
    assert results["dc01"]["all_reachable"] is True


def test_trusted_ssl_inspection_is_seen_by_the_host_itself(lab, sensor_api, tmp_path):
    # The DCs trust the inspection CA (pushed by GPO), so the request gets a 200 through the intercepting proxy.
    # The probe script's validation callback sees the chain the DC received: nobody has to tell the probe which
    # proxy the account uses, and the controller never looks.
    import trustme

    from tests.lab.network import MitmProxy

    inspection = trustme.CA(organization_name="Contoso SSL Inspection")
    bundle = tmp_path / "machine-store.pem"
    bundle.write_bytes(sensor_api.ca.cert_pem.bytes() + inspection.cert_pem.bytes())
    lab.lab.update_config(ca_file=str(bundle))
    with MitmProxy(inspection, lab_dir=lab.lab.dir) as mitm:
        lab.host("dc01").seed({"LocalService": {"proxy_server": mitm.address}})
        run, results = run_probe(lab, {"workspace": WORKSPACE_NAME, "include_crl": False})
        entry = _only(results)
        got = (entry["status"], entry["outcome"], entry["tls_inspection"])
        assert got == (200, "tls_intercepted", "intercepted"), (entry, run)
        assert "Contoso SSL Inspection" in entry["tls_issuer"] and "seen by the host" in entry["tls_inspection_detail"]
        assert "'Microsoft', 'DigiCert'" in entry["hint"] and "Exclude *.atp.azure.com" in entry["hint"]
        # the chain as the DC built it: trusted (the CA is in its store), ending at the inspection CA
        assert entry["tls_policy_errors"] == "None" and entry["tls_chain_status"] == []
        assert "Contoso SSL Inspection" in entry["tls_chain"][-1]["subject"]
        assert len(entry["tls_chain"][0]["thumbprint"]) == 40
        assert mitm.controller_checks() == [] and len(mitm.seen) == 1
        assert results["dc01"]["round_trips"] == 1


def test_untrusted_ssl_inspection_is_intercepted_with_the_chain_the_host_rejected(lab, sensor_api):
    # The DC does not trust the inspection CA: the sensor would fail the handshake. The probe still sees why.
    import trustme

    from tests.lab.network import MitmProxy

    inspection = trustme.CA(organization_name="Contoso SSL Inspection")
    with MitmProxy(inspection, lab_dir=lab.lab.dir) as mitm:
        lab.host("dc01").seed({"LocalService": {"proxy_server": mitm.address}})
        run, results = run_probe(lab, {"workspace": WORKSPACE_NAME, "include_crl": False})
    entry = _only(results)
    assert (entry["status"], entry["outcome"], entry["cause"]) == (None, "tls_intercepted", "trust"), (entry, run)
    assert entry["tls_policy_errors"] == "RemoteCertificateChainErrors"
    assert [s["status"] for s in entry["tls_chain_status"]] == ["PartialChain"]
    assert "did not validate on the host" in entry["error"]


def test_genuine_certificate_seen_by_the_host_is_not_intercepted(lab, sensor_api, proxy):
    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080"}})
    run, results = run_probe(lab, {"workspace": WORKSPACE_NAME, "include_crl": False})
    entry = _only(results)
    assert (entry["outcome"], entry["tls_inspection"], entry["tls_issuer"]) == (
        "reachable", "not intercepted", sensor_api.issuer), run
    assert entry["tls_chain"][-1]["subject"].endswith("O=Microsoft Corporation")


def test_trusted_ssl_inspection_is_seen_in_target_mode_once_per_run(lab, sensor_api, tmp_path):
    # Engine win_uri (no certificate): the DCs trust the inspection CA (pushed by GPO), so win_uri gets a 200
    # through the intercepting proxy. The controller looks through the same proxy, once for all three hosts and
    # forks, and sees the issuer.
    import trustme

    from tests.lab.network import MitmProxy

    inspection = trustme.CA(organization_name="Contoso SSL Inspection")
    bundle = tmp_path / "machine-store.pem"
    bundle.write_bytes(sensor_api.ca.cert_pem.bytes() + inspection.cert_pem.bytes())
    lab.lab.update_config(ca_file=str(bundle))
    with MitmProxy(inspection, lab_dir=lab.lab.dir) as mitm:
        for name in lab.host_names:
            lab.host(name).seed({"LocalService": {"proxy_server": mitm.address}})
        args = {"workspace": WORKSPACE_NAME, "include_crl": False, "expected_proxy": mitm.address,
                "expected_issuers": [sensor_api.issuer], "engine": "win_uri"}
        run, results = run_probe(lab, args, limit="all", forks=3)
        assert sorted(results) == ["dc01", "dc02", "dc03"], run
        for name, result in results.items():
            [entry] = result["results"]
            got = (entry["status"], entry["outcome"], entry["tls_inspection"])
            assert got == (200, "tls_intercepted", "intercepted"), (name, entry)
            assert "Contoso SSL Inspection" in entry["tls_issuer"]
            assert sensor_api.issuer in entry["hint"]
        assert len(mitm.controller_checks()) == 1, mitm.seen
        assert len([s for s in mitm.seen if s not in mitm.controller_checks()]) == 3


def test_genuine_certificate_through_the_proxy_is_not_intercepted(lab, sensor_api, proxy):
    address = "127.0.0.1:%d" % proxy.port
    lab.host("dc01").seed({"LocalService": {"proxy_server": address}})
    run, results = run_probe(lab, {"workspace": WORKSPACE_NAME, "include_crl": False, "expected_proxy": address,
                                   "expected_issuers": [sensor_api.issuer]})
    entry = _only(results)
    assert (entry["outcome"], entry["tls_inspection"], entry["tls_issuer"]) == (
        "reachable", "not intercepted", sensor_api.issuer), run


def test_failed_become_is_become_failed(lab, sensor_api, proxy):
    from tests.lab.network import set_win_uri_fault

    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080"}})
    set_win_uri_fault(lab.lab, "dc01", "become", "seclogon_disabled")
    run, results = run_probe(lab, {"workspace": WORKSPACE_NAME, "include_crl": False,
                                   "expected_proxy": "proxy.corp:8080"})
    entry = _only(results)
    assert (entry["outcome"], entry["cause"]) == ("become_failed", "secondary_logon"), run
    assert "Win32ErrorCode 1058" in entry["error"] and "Secondary Logon" in entry["hint"]
    assert proxy.log() == []


@pytest.mark.parametrize("account", ["S-1-5-19", "LocalSystem"])
def test_become_user_runas_cannot_use_is_refused_before_anything_runs(lab, sensor_api, account):
    run, results = run_probe(lab, {"workspace": WORKSPACE_NAME, "include_crl": False}, account=account)
    result = results["dc01"]
    assert result["failed"] is True and "become_user" in result["msg"], run
    assert "cannot be a become_user" in result["msg"]
    assert lab.ledger()["dc01"]["module_calls"] == 0 and "win_uri" not in lab.ledger()["dc01"]["by_module"]


def test_tls_handshake_failure_is_tls_error_with_the_strong_crypto_hint(lab, sensor_api, proxy):
    from tests.lab.network import set_win_uri_fault

    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080"}})
    set_win_uri_fault(lab.lab, "dc01", "tls_max", "TLSv1")
    run, results = run_probe(lab, {"workspace": WORKSPACE_NAME, "include_crl": False,
                                   "expected_proxy": "proxy.corp:8080"})
    entry = _only(results)
    assert (entry["outcome"], entry["cause"]) == ("tls_error", "handshake"), run
    assert "Could not create SSL/TLS secure channel" in entry["error"]
    assert "SchUseStrongCrypto" in entry["hint"]


def test_localized_dotnet_messages_are_recognised_on_structure(lab, sensor_api, proxy, blackhole):
    from tests.lab.network import set_win_uri_fault

    for name in lab.host_names:
        set_win_uri_fault(lab.lab, name, "language", "de-DE")
    lab.host("dc01").seed({"LocalService": None})  # no proxy: the account resolves the name itself
    lab.host("dc02").seed({"LocalService": {"proxy_server": "nosuch.corp:8080"}})
    lab.host("dc03").seed({"LocalService": {"proxy_server": "127.0.0.1:%d" % blackhole}})
    run, results = run_probe(lab, {"workspace": WORKSPACE_NAME, "include_crl": False, "timeout": 2}, limit="all")
    got = {h: (r["results"][0]["outcome"], r["results"][0]["proxy"]) for h, r in results.items()}
    assert got == {"dc01": ("dns_failure", "direct"), "dc02": ("proxy_unreachable", "nosuch.corp"),
                   "dc03": ("timeout", None)}, run
    assert "Der Remotename konnte nicht aufgel" in results["dc01"]["results"][0]["error"]


def test_plain_403_to_connect_is_blocked_by_proxy(lab, sensor_api, proxy):
    from tests.lab.network import deny_through_proxy

    deny_through_proxy(lab.lab, "winatp-gw-weu.microsoft.com")
    lab.host("dc01").seed({"LocalService": {"proxy_server": "proxy.corp:8080"}})
    run, results = run_probe(lab, {"products": ["mde"], "mde_urls": ["https://winatp-gw-weu.microsoft.com/test"],
                                   "include_crl": False, "expected_proxy": "proxy.corp:8080"})
    entry = _only(results)
    assert (entry["status"], entry["outcome"]) == (403, "blocked_by_proxy"), run
    [logged] = proxy.log()
    assert (logged["method"], logged["denied"]) == ("CONNECT", True)


def test_wpad_or_pac_is_not_pretended_direct(lab, sensor_api):
    lab.host("dc01").seed({"LocalService": {"auto_detect": True}})
    run, results = run_probe(lab, {"workspace": WORKSPACE_NAME, "include_crl": False})
    entry = _only(results)
    assert entry["outcome"] == "unknown" and "does not emulate" in entry["error"], run
    assert "automatic detection (WPAD)" in entry["error"]


# --------------------------------------------------------------------------------------------
# Probe modes as SYSTEM: which way works (default, direct, the named proxy), as the Client Analyzer asks
# --------------------------------------------------------------------------------------------


def test_modes_say_which_way_works(lab, sensor_api, proxy, auth_proxy):
    # SYSTEM's own WinINet proxy wants authentication it cannot give; direct cannot resolve Internet names;
    # only the named proxy gets through.
    lab.host("dc01").seed({"SYSTEM": {"proxy_server": "authproxy.corp:8080"}})
    run, results = run_probe(lab, {"workspace": WORKSPACE_NAME, "include_crl": False,
                                   "expected_proxy": "authproxy.corp:8080",
                                   "modes": ["default", "direct", "named", "winhttp", "wpad"],
                                   "proxy": "http://proxy.corp:8080"}, account="SYSTEM")
    result = results["dc01"]
    assert [(r["mode"], r["outcome"]) for r in result["results"]] == [
        ("default", "proxy_auth_required"), ("direct", "dns_failure"), ("named", "reachable")], run
    assert result["working_modes"] == {PING: ["named"]}
    assert result["all_reachable"] is True
    assert [n["mode"] for n in result["not_tested"]] == ["winhttp", "wpad"]
    assert result["round_trips"] == 1  # one probe script for the three tested modes (engine win_uri: one each)
    # proxy.py answers 407 before its plugins run, so only the named proxy logged a tunnel
    assert auth_proxy.log() == [] and sensor_api.requests[-1]["path"] == "/tri/sensor/api/ping"
    assert [(r["method"], r["host"]) for r in proxy.log()] == [("CONNECT", SENSOR_HOST)]


def test_named_mode_sends_its_credentials_after_the_challenge(lab, sensor_api, auth_proxy):
    run, results = run_probe(lab, {"workspace": WORKSPACE_NAME, "include_crl": False, "modes": ["named"],
                                   "proxy": "http://authproxy.corp:8080", "proxy_username": "lab",
                                   "proxy_password": "secret"}, account="SYSTEM", verbosity=4)
    entry = _only(results)
    assert (entry["mode"], entry["outcome"], entry["proxy"]) == ("named", "reachable", "http://authproxy.corp:8080"), run
    # .NET answers the 407 challenge with the credentials (proxy.py logs only the CONNECT it let through)
    assert [(r["method"], r["proxy_authorization"]) for r in auth_proxy.log()] == [("CONNECT", True)]
    assert "secret" not in json.dumps(results) and "secret" not in run.stdout + run.stderr

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""atp_endpoint_probe, via: target, engine script (the default): one ansible.windows.win_powershell run, driven with
recorded results of the probe script (plugins/plugin_utils/_probe/_script.py).

Shapes: ``win_powershell.ps1`` of ansible.windows 3.3.0 (``result`` is ``$Ansible.Result``; a terminating error sets
``failed`` and adds an ``error`` record; a failed ``become`` never starts the module and leaves only ``msg`` and
``exception``), and the facts the script puts in ``result.facts`` (the lab runs the script itself:
tests/network/lab, tests/lab/test_lab_probe_script.py).
"""

from __future__ import annotations

import base64
import json

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ansible_collections.atp.sensor_proxy.plugins.action.atp_endpoint_probe import ActionModule
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _facts as facts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _script as script
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._urls import CRL_URLS
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.probe import ProbeScriptHost as FakeHost

from .harness import build_action

PING = "https://contososensorapi.atp.azure.com/tri/sensor/api/ping"
CRL = "http://crl.microsoft.com/pki/crl/products/MicRooCerAut2011_2011_03_22.crl"
SECRET = "Pr0xy:P@ss/%"
NAME_FAILURE = {"type": "System.Net.WebException", "status": "NameResolutionFailure",
                "message": "The remote name could not be resolved: 'contososensorapi.atp.azure.com'"}


def certificate(organization: str) -> tuple:
    """(DER of a server certificate for the sensor API issued by a CA of ``organization``, that CA's RFC 4514 name)."""
    ca = trustme.CA(organization_name=organization)
    leaf = x509.load_pem_x509_certificate(ca.issue_cert("contososensorapi.atp.azure.com").cert_chain_pems[0].bytes())
    return base64.b64encode(leaf.public_bytes(Encoding.DER)).decode(), leaf.issuer.rfc4514_string()


GENUINE, GENUINE_ISSUER = certificate("Microsoft Corporation")
INSPECTED, INSPECTION_ISSUER = certificate("Contoso SSL Inspection")


def fact(url, mode="default", **values):
    out = {"url": url, "mode": mode, "finished": True, "status": None, "method": None, "headers": {},
           "exception": None, "elapsed": 0.2, "policy_errors": None, "certificate": None, "chain": [],
           "chain_status": []}
    out.update(values)
    return out


def answered(url, status=200, mode="default", cert=GENUINE, errors="None", **values):
    tls = {"certificate": cert, "policy_errors": errors,
           "chain": [{"subject": "CN=leaf", "issuer": "CN=ca", "thumbprint": "AB" * 20}]} \
        if url.startswith("https") and cert else {}
    return fact(url, mode, status=status, method=values.pop("method", "GET"), **dict(tls, **values))


def run(args, host, **kwargs):
    kwargs.setdefault("remote_user", "CORP\\ansible")
    plugin = build_action(ActionModule, args, host, **kwargs)
    return plugin.run(task_vars={"inventory_hostname": "dc01"})


def test_one_win_powershell_run_for_every_url_with_the_contract_arguments():
    crls = {(url, "default"): answered(url, 404) for dummy, url in CRL_URLS}
    crls[(PING, "default")] = answered(PING)
    host = FakeHost(crls)
    result = run({"workspace": "contoso", "include_crl": True, "timeout": 7}, host, become_user="LocalService")
    assert not result.get("failed") and result["changed"] is False and result["round_trips"] == 1
    [(dummy, args)] = host.calls
    assert args["script"] == script.SCRIPT and args["error_action"] == "stop" and args["depth"] == script.DEPTH
    params = args["parameters"]
    assert [p["url"] for p in params["Probe"]][:2] == [PING, CRL] and len(params["Probe"]) == 5
    assert {p["mode"] for p in params["Probe"]} == {"default"}
    assert (params["TimeoutSeconds"], params["Parallel"], params["RunSeconds"]) == (7, 5, 7 + script.RUN_GRACE)
    assert params["Header"] == ["X-Squid-Error", "Proxy-Authenticate", "Proxy-Agent", "Proxy-Connection", "Via",
                                "Server"]
    assert params["NamedProxy"] == "" and "sensitive_parameters" not in args
    assert [r["outcome"] for r in result["results"]] == ["reachable"] * 5 and result["all_reachable"] is True


@pytest.fixture
def two_urls():
    return {"workspace": "contoso", "include_crl": False}


def test_genuine_chain_is_reachable_and_not_intercepted(two_urls):
    result = run(two_urls, FakeHost({(PING, "default"): answered(PING)}), become_user="LocalService")
    [entry] = result["results"]
    assert (entry["outcome"], entry["status"], entry["tls_inspection"]) == ("reachable", 200, "not intercepted")
    assert entry["tls_issuer"] == GENUINE_ISSUER and "seen by the host" in entry["tls_inspection_detail"]
    assert entry["tls_chain"][0]["thumbprint"] == "AB" * 20 and entry["tls_policy_errors"] == "None"


def test_a_trusted_inspecting_proxy_is_tls_intercepted(two_urls):
    # The host trusts the inspection CA (GPO): its callback saw no policy error, but the issuer is not Microsoft's.
    result = run(two_urls, FakeHost({(PING, "default"): answered(PING, cert=INSPECTED)}), become_user="LocalService")
    [entry] = result["results"]
    assert (entry["outcome"], entry["status"], entry["tls_inspection"]) == ("tls_intercepted", 200, "intercepted")
    assert entry["tls_issuer"] == INSPECTION_ISSUER and "Exclude *.atp.azure.com" in entry["hint"]


def test_an_untrusted_chain_is_a_trust_error_unless_validation_is_off(two_urls):
    untrusted = answered(PING, errors="RemoteCertificateChainErrors",
                         chain_status=[{"status": "PartialChain", "information": "A certificate chain could not be "
                                                                                 "built to a trusted root authority."}])
    [entry] = run(two_urls, FakeHost({(PING, "default"): untrusted}))["results"]
    assert (entry["outcome"], entry["cause"], entry["status"]) == ("tls_error", "trust", None)
    assert "PartialChain" in entry["error"] and "does not trust the certificate" in entry["hint"]
    [entry] = run(dict(two_urls, validate_certs=False), FakeHost({(PING, "default"): untrusted}))["results"]
    assert (entry["outcome"], entry["status"]) == ("reachable", 200)
    inspected = answered(PING, cert=INSPECTED, errors="RemoteCertificateChainErrors")
    [entry] = run(two_urls, FakeHost({(PING, "default"): inspected}))["results"]
    assert (entry["outcome"], entry["cause"]) == ("tls_intercepted", "trust")


@pytest.mark.parametrize("the_fact, outcome, cause, proxy", [
    (fact(PING, exception=NAME_FAILURE), "dns_failure", None, "direct"),
    (fact(PING, exception={"type": "System.Net.WebException", "status": "ProxyNameResolutionFailure",
                           "message": "Der Proxyname konnte nicht aufgelöst werden: 'proxy.corp'"}),
     "proxy_unreachable", None, "proxy.corp:8080"),
    (fact(PING, exception={"type": "System.Net.WebException", "status": "ConnectFailure", "message": "x"}),
     "proxy_unreachable", None, "proxy.corp:8080"),
    (fact(PING, exception={"type": "System.Net.WebException", "status": "Timeout", "message": "x"}), "timeout", None,
     "proxy.corp:8080"),
    (fact(PING, finished=False, elapsed=15.2), "timeout", None, "proxy.corp:8080"),
    (fact(PING, exception={"type": "System.Net.WebException", "status": "SecureChannelFailure", "message": "x"}),
     "tls_error", "handshake", "proxy.corp:8080"),
    (fact(PING, exception={"type": "System.Net.WebException", "status": "ConnectionClosed", "message": "x"}),
     "connection_refused", "reset", "proxy.corp:8080"),
    (answered(PING, 407, cert=None, method="CONNECT", headers={"Proxy-Authenticate": "Basic"}),
     "proxy_auth_required", None, "proxy.corp:8080"),
    (answered(PING, 403, cert=None, method="CONNECT"), "blocked_by_proxy", None, "proxy.corp:8080"),
    (fact(PING, exception={"type": "System.Net.WebException", "status": "ReceiveFailure", "message": "x"}), "unknown",
     None, "proxy.corp:8080"),
    (None, "unknown", None, "proxy.corp:8080"),
])
def test_each_fact_gets_the_outcome_win_uri_would_get(two_urls, the_fact, outcome, cause, proxy):
    answers = {(PING, "default"): the_fact}
    [entry] = run(dict(two_urls, expected_proxy="proxy.corp:8080"), FakeHost(answers))["results"]
    assert (entry["outcome"], entry["cause"], entry["proxy"]) == (outcome, cause, proxy), entry
    assert entry["hint"] if outcome != "reachable" else entry["hint"] == ""


def test_modes_in_one_run_and_credentials_only_as_a_sensitive_parameter():
    answers = {(PING, "default"): answered(PING, 407, cert=None, method="CONNECT"),
               (PING, "direct"): fact(PING, "direct", exception=NAME_FAILURE),
               (PING, "named"): answered(PING, mode="named")}
    host = FakeHost(answers)
    result = run({"workspace": "contoso", "include_crl": False, "modes": ["default", "direct", "named", "winhttp"],
                  "proxy": "http://named.corp:3128", "proxy_username": "svc", "proxy_password": SECRET}, host,
                 become_user="SYSTEM")
    [(dummy, args)] = host.calls
    assert [p["mode"] for p in args["parameters"]["Probe"]] == ["default", "direct", "named"]
    assert args["parameters"]["NamedProxy"] == "http://named.corp:3128"
    assert args["sensitive_parameters"] == [{"name": "ProxyCredential", "username": "svc", "password": SECRET}]
    assert SECRET not in json.dumps(args["parameters"]) and SECRET not in args["script"]
    assert [(r["mode"], r["outcome"]) for r in result["results"]] == [
        ("default", "proxy_auth_required"), ("direct", "dns_failure"), ("named", "reachable")]
    assert result["working_modes"] == {PING: ["named"]} and result["round_trips"] == 1
    assert [n["mode"] for n in result["not_tested"]] == ["winhttp"]
    assert SECRET not in json.dumps(result, default=str)


def test_nothing_testable_runs_nothing(two_urls):
    host = FakeHost({})
    result = run(dict(two_urls, modes=["winhttp", "wpad"]), host)
    assert host.calls == [] and result["round_trips"] == 0 and result["results"] == []


def test_a_failed_become_is_become_failed_for_every_url():
    record = ('Exception calling "CreateProcessAsUser" with "9" argument(s): "CreateProcessWithTokenW() failed (The '
              'service cannot be started, either because it is disabled or because it has no enabled devices '
              'associated with it, Win32ErrorCode 1058)"')
    host = FakeHost({}, raw={"failed": True, "msg": "failure during exec_wrapper: " + record})
    result = run({"workspace": "contoso"}, host, become_user="LocalService")
    assert {(r["outcome"], r["cause"]) for r in result["results"]} == {("become_failed", "secondary_logon")}
    assert len(result["results"]) == 5 and "Secondary Logon" in result["results"][0]["hint"]


def test_a_script_that_stops_is_unknown_naming_where_it_stopped(two_urls):
    raw = {"failed": True, "changed": False, "result": {"reading": "the runspace pool"}, "output": [],
           "error": [{"exception": {"message": "Exception calling \"Open\" with \"0\" argument(s): \"denied\""},
                      "output": "..."}]}
    [entry] = run(two_urls, FakeHost({}, raw=raw), become_user="LocalService")["results"]
    assert entry["outcome"] == "unknown"
    assert entry["error"] == ("the probe script failed while reading the runspace pool: Exception calling \"Open\" "
                              "with \"0\" argument(s): \"denied\"")


def test_check_mode_runs_the_read_only_script(two_urls):
    host = FakeHost({(PING, "default"): answered(PING)})
    result = run(two_urls, host, check_mode=True)
    assert result["check_mode"] is True and result["all_reachable"] is True and len(host.calls) == 1
    assert "[CmdletBinding(SupportsShouldProcess)]" in host.calls[0][1]["script"]  # win_powershell runs it then


def test_the_run_bound_grows_with_the_waves():
    assert facts.script.run_seconds(10, 20, 20) == 10 + script.RUN_GRACE
    assert facts.script.run_seconds(10, 40, 32) == 20 + script.RUN_GRACE


@pytest.mark.parametrize("cloud", ["gcc", "gcc_high", "dod"])
def test_the_chain_is_judged_against_the_issuers_of_the_cloud(cloud):
    domain = "gcc.atp.azure.com" if cloud == "gcc" else "atp.azure.us"
    url = "https://contososensorapi.%s/tri/sensor/api/ping" % domain
    args = {"workspace": "contoso", "cloud": cloud, "include_crl": False}
    [entry] = run(args, FakeHost({(url, "default"): answered(url)}))["results"]
    assert (entry["outcome"], entry["tls_inspection"]) == ("reachable", "not intercepted")
    [entry] = run(args, FakeHost({(url, "default"): answered(url, cert=INSPECTED)}))["results"]
    assert entry["outcome"] == "tls_intercepted" and "'Microsoft', 'DigiCert'" in entry["hint"]


LOCAL_SERVICE = {"name": "NT AUTHORITY\\LOCAL SERVICE", "sid": "S-1-5-19"}  # what ProbeScriptHost's script ran as


@pytest.mark.parametrize("become_user", ["LocalService", "NT AUTHORITY\\Local Service", "local service"])
def test_the_result_says_whom_the_script_ran_as(two_urls, become_user):
    result = run(two_urls, FakeHost({(PING, "default"): answered(PING)}), become_user=become_user)
    assert result["ran_as"] == LOCAL_SERVICE
    assert not result.get("failed") and result["all_reachable"] is True


@pytest.mark.parametrize("become_user, asked", [("SYSTEM", "SYSTEM (S-1-5-18)"),
                                                ("NetworkService", "NetworkService (S-1-5-20)")])
def test_a_script_that_ran_as_another_account_than_the_become_user_fails(two_urls, become_user, asked):
    # Become did not take effect for this run: what it reached is LocalService's path, not the become user's.
    result = run(two_urls, FakeHost({(PING, "default"): answered(PING)}), become_user=become_user)
    assert result["failed"] is True and result["all_reachable"] is False
    assert result["msg"].startswith("the probe script ran as NT AUTHORITY\\LOCAL SERVICE (S-1-5-19), not as %s"
                                    % asked), result["msg"]
    assert result["ran_as"] == LOCAL_SERVICE
    assert [r["outcome"] for r in result["results"]] == ["reachable"]  # kept, and said to be someone else's


def test_the_identity_is_judged_against_the_accounts_option_each_in_turn(two_urls):
    # With accounts, each run's become user is that account's: LocalService's run is its own, SYSTEM's is not.
    plugin = build_action(ActionModule, dict(two_urls, accounts=["LocalService", "SYSTEM"]),
                          FakeHost({(PING, "default"): answered(PING)}), become_user="LocalService")
    result = plugin.run(task_vars={"inventory_hostname": "dc01"})
    first, second = result["accounts"]
    assert not first.get("failed") and first["ran_as"] == LOCAL_SERVICE
    assert second["failed"] is True and "not as SYSTEM (S-1-5-18)" in second["msg"]
    assert result["failed"] is True and result["msg"].startswith("SYSTEM: the probe script ran as")


@pytest.mark.parametrize("kwargs", [{}, {"become_user": "CORP\\svc-probe"}])
def test_an_account_whose_sid_only_the_host_knows_is_reported_not_judged(two_urls, kwargs):
    # No become (the connection user), or a domain account: whom it ran as is reported; there is nothing to compare.
    result = run(two_urls, FakeHost({(PING, "default"): answered(PING)}), **kwargs)
    assert not result.get("failed") and result["ran_as"] == LOCAL_SERVICE


def test_a_script_that_said_nothing_of_its_identity_is_not_judged(two_urls):
    raw = {"failed": True, "changed": False, "result": {"reading": "the runspace pool"}, "output": [],
           "error": [{"exception": {"message": "denied"}, "output": "..."}]}
    result = run(two_urls, FakeHost({}, raw=raw), become_user="SYSTEM")
    assert result["ran_as"] is None and "ran as" not in result.get("msg", "")
    assert result["results"][0]["outcome"] == "unknown"

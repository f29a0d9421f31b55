# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe classification (target mode from recorded win_uri results), hints, summary and reports.

The recorded win_uri results follow ansible.windows 3.3.0:
* success / IgnoreBadResponse path: ``plugins/modules/win_uri.ps1`` lines 46-47 (``elapsed``, ``url``),
  102-121 (every HttpWebResponse property and header, snake case: ``status_code``, ``status_description``,
  ``server``, ``proxy_authenticate``, ``via``, ``x_squid_error``...), ``module_utils/WebRequest.psm1``
  lines 469-500 (a WebException with a Response, e.g. a proxy's 407 to CONNECT, continues as a response;
  ``msg`` is the StatusDescription, ``elapsed`` is set in ``finally``);
* failure: ``win_uri.ps1`` line 204: ``FailJson("Unhandled exception occurred when sending web request.
  Exception: $($_.Exception.Message)", $_)`` with the .NET WebException messages.
"""

from __future__ import annotations

import json
import multiprocessing
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _probe as p
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._endpoints import Endpoint

PING = Endpoint("mdi_workspace", "https://contososensorapi.atp.azure.com/tri/sensor/api/ping", "sensor_ping", "mdi")
ROOT = Endpoint("mdi_eu_2", "https://triprd1wceuw1sensorapi.atp.azure.com/", "sensor_root", "mdi")
CRL = Endpoint("crl_microsoft", "http://crl.microsoft.com/pki/crl/products/x.crl", "crl", "mdi")
MDE = Endpoint("mde_1", "https://winatp-gw-weu.microsoft.com/test", "service", "mde")
PREFIX = "Unhandled exception occurred when sending web request. Exception: "


def answered(status, description, **headers):
    result = {
        "changed": False,
        "elapsed": 0.25,
        "url": PING.url,
        "status_code": status,
        "msg": description,
        "status_description": description,
        "content_length": 0,
        "is_from_cache": False,
        "method": "GET",
    }
    result.update(headers)
    return result


def failed(message, elapsed=0.05):
    return {"changed": False, "failed": True, "elapsed": elapsed, "url": PING.url, "msg": PREFIX + message}


SQUID_407 = answered(
    407,
    "Proxy Authentication Required",
    proxy_authenticate='Basic realm="corp"',
    server="squid/5.7",
    x_squid_error="ERR_CACHE_ACCESS_DENIED 0",
    via="1.1 proxy.corp (squid/5.7)",
)
SQUID_403 = answered(403, "Forbidden", server="squid/5.7", x_squid_error="ERR_ACCESS_DENIED 0")
SQUID_503 = answered(503, "Service Unavailable", server="squid/5.7", x_squid_error="ERR_DNS_FAIL 0")


@pytest.mark.parametrize(
    "endpoint, raw, outcome, status",
    [
        (PING, answered(200, "OK", server="Microsoft-HTTPAPI/2.0"), "reachable", 200),
        (ROOT, answered(503, "Service Unavailable", server="Microsoft-HTTPAPI/2.0"), "reachable", 503),
        (ROOT, SQUID_503, "blocked_by_proxy", 503),
        (ROOT, answered(200, "OK"), "blocked_by_proxy", 200),
        (PING, answered(503, "Service Unavailable"), "blocked_by_proxy", 503),
        (PING, SQUID_407, "proxy_auth_required", 407),
        (PING, SQUID_403, "blocked_by_proxy", 403),
        (CRL, answered(404, "Not Found", via="1.1 proxy.corp"), "reachable", 404),
        (CRL, answered(301, "Moved Permanently"), "reachable", 301),
        (CRL, SQUID_403, "blocked_by_proxy", 403),
        (MDE, answered(403, "Forbidden", server="Microsoft-IIS/10.0"), "reachable", 403),
        (MDE, answered(400, "Bad Request"), "reachable", 400),
        (MDE, SQUID_403, "blocked_by_proxy", 403),
        (MDE, answered(502, "Bad Gateway", proxy_agent="proxy.py v2.4.10"), "blocked_by_proxy", 502),
    ],
)
def test_answers(endpoint, raw, outcome, status):
    result = p.classify_win_uri(endpoint, raw, account="LocalService")
    assert (result["outcome"], result["status"]) == (outcome, status)
    assert result["elapsed"] == 0.25 and result["tls_issuer"] is None
    assert (result["hint"] == "") == (outcome == "reachable")


@pytest.mark.parametrize(
    "message, expected_proxy, outcome, proxy",
    [
        ("The remote name could not be resolved: 'contososensorapi.atp.azure.com'", None, "dns_failure", "direct"),
        ("The proxy name could not be resolved: 'proxy.corp'", None, "proxy_unreachable", "proxy.corp"),
        ("Unable to connect to the remote server", None, "connection_refused", None),
        ("Unable to connect to the remote server", "proxy.corp:8080", "proxy_unreachable", "proxy.corp:8080"),
        ("Unable to connect to the remote server", "direct", "connection_refused", "direct"),
        ("The operation has timed out.", "proxy.corp:8080", "timeout", "proxy.corp:8080"),
        (
            "The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel.",
            None,
            "tls_error",
            None,
        ),
        ("The underlying connection was closed: An unexpected error occurred on a send.", None, "tls_error", None),
        ("The underlying connection was closed: The connection was closed unexpectedly.", None, "connection_refused", None),
    ],
)
def test_dotnet_failures(message, expected_proxy, outcome, proxy):
    raw = failed(message)
    result = p.classify_win_uri(PING, raw, expected_proxy=expected_proxy, account="LocalService")
    assert (result["outcome"], result["proxy"], result["status"]) == (outcome, proxy, None)
    assert result["error"] == raw["msg"]
    assert result["hint"]


def test_hint_tells_localservice_to_copy_the_proxy_to_its_sid():
    result = p.classify_win_uri(PING, failed("The remote name could not be resolved: 'x'"), account="LocalService")
    assert "S-1-5-19 (LocalService)" in result["hint"]
    assert "atp.sensor_proxy.win_wininet_proxy" in result["hint"]
    result = p.classify_win_uri(PING, failed("The operation has timed out."), account="SYSTEM")
    assert "S-1-5-18 (SYSTEM)" in result["hint"]


def test_every_outcome_has_a_one_sentence_hint():
    for outcome in p.OUTCOMES:
        hint = p.hint_for(outcome, PING, status=403, issuer="CN=Corp Inspection", proxy="proxy.corp:8080")
        if outcome == "reachable":
            assert hint == ""
            continue
        assert hint.endswith(".") and hint.count(". ") == 0, (outcome, hint)
    assert "Exclude *.atp.azure.com from SSL/TLS inspection" in p.hint_for("tls_intercepted", PING, issuer="CN=x")
    assert "anonymous" in p.hint_for("proxy_auth_required", PING)
    with pytest.raises(ValueError):
        p.hint_for("bogus", PING)


def test_win_uri_args_follow_the_contract():
    args = p.win_uri_args(PING, timeout=7, validate_certs=False)
    assert args == {
        "url": PING.url,
        "method": "GET",
        "status_code": list(range(100, 600)),
        "follow_redirects": "none",
        "validate_certs": False,
        "timeout": 7,
        "return_content": False,
    }


def test_issuer_expectation():
    assert p.issuer_expected("CN=Microsoft Azure RSA TLS Issuing CA 03,O=Microsoft Corporation,C=US", p.DEFAULT_EXPECTED_ISSUERS)
    assert p.issuer_expected("CN=DigiCert SHA2 Secure Server CA,O=DigiCert Inc,C=US", p.DEFAULT_EXPECTED_ISSUERS)
    assert not p.issuer_expected("CN=Contoso Inspection CA,O=Contoso", p.DEFAULT_EXPECTED_ISSUERS)


def test_redact_and_proxy_display():
    assert p.proxy_display("http://u:p%40ss@proxy.corp:8080") == "http://proxy.corp:8080"
    assert p.proxy_display("proxy.corp:3128") == "http://proxy.corp:3128"
    assert p.proxy_display(None) == "direct"
    assert p.redact("http://u:p%40ss@proxy and p@ss", ["p@ss"]) == "http://u:********@proxy and ********"


def results_for(host_tag):
    return [
        p.classify_win_uri(PING, answered(200, "OK"), account=host_tag),
        p.classify_win_uri(MDE, failed("The operation has timed out."), account=host_tag),
    ]


def test_summary_and_failure_message():
    summary = p.summarize(results_for("x"), via="target", account="LocalService", elapsed_total=1.23456, round_trips=2)
    assert summary["all_reachable"] is False and summary["changed"] is False
    assert summary["failing"] == [
        {"url": MDE.url, "endpoint": "mde_1", "outcome": "timeout", "hint": summary["results"][1]["hint"]}
    ]
    assert summary["elapsed_total"] == 1.235 and summary["round_trips"] == 2
    assert p.failure_message(summary) == "1 of 2 endpoint(s) not reachable: %s (timeout)" % MDE.url


def _write_both(args):
    path_json, path_xml, host = args
    summary = p.summarize(results_for(host), via="target", account="LocalService", elapsed_total=1.0, round_trips=2)
    p.write_json_report(path_json, host, summary)
    p.write_junit_report(path_xml, host, summary)


def test_reports_merge_safely_from_parallel_processes(tmp_path):
    path_json, path_xml = str(tmp_path / "r" / "probe.json"), str(tmp_path / "r" / "probe.xml")
    hosts = ["dc%02d" % i for i in range(12)]
    with multiprocessing.get_context("fork").Pool(6) as pool:
        pool.map(_write_both, [(path_json, path_xml, h) for h in hosts])
    data = json.loads(open(path_json).read())
    assert sorted(data["hosts"]) == hosts and data["all_reachable"] is False
    root = ET.parse(path_xml).getroot()
    assert sorted(s.get("name") for s in root.findall("testsuite")) == hosts
    assert root.get("tests") == "24" and root.get("failures") == "12"
    case = root.find("testsuite/testcase[failure]")
    assert case.get("name") == "mde_1 %s" % MDE.url
    assert case.find("failure").get("type") == "timeout"
    # Running again for one host replaces its suite instead of adding one.
    _write_both((path_json, path_xml, "dc03"))
    assert len(ET.parse(path_xml).getroot().findall("testsuite")) == 12


def test_report_directory_gets_one_file_per_host(tmp_path):
    summary = p.summarize(results_for("x"), via="target", account="a", elapsed_total=1.0)
    written = p.write_json_report(str(tmp_path / "out") + "/", "dc01.corp.example", summary)
    assert written == str(tmp_path / "out" / "dc01.corp.example.json")
    written = p.write_junit_report(str(tmp_path / "out"), "dc/02", summary)
    assert written == str(tmp_path / "out" / "dc_02.xml")
    assert ET.parse(written).getroot().find("testsuite").get("name") == "dc/02"

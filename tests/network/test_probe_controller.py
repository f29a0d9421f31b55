# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""via=controller against real servers and proxies on 127.0.0.1 (see conftest.py)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _controller as probe
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._endpoints import Endpoint

from .conftest import OLD_WORKSPACE_HOST, PROXY_PASSWORD, PROXY_USER

pytestmark = pytest.mark.network


def sensor_endpoints(sensor_api, crl_origin):
    port = sensor_api.server_port
    return [
        Endpoint("mdi_workspace", "https://contososensorapi.atp.azure.com:%d/tri/sensor/api/ping" % port, "sensor_ping", "mdi"),
        Endpoint("mdi_eu_2", "https://triprd1wceuw1sensorapi.atp.azure.com:%d/" % port, "sensor_root", "mdi"),
        Endpoint("crl_microsoft", "http://crl.microsoft.com:%d/pki/crl/x.crl" % crl_origin.server_port, "crl", "mdi"),
    ]


@pytest.fixture
def trust(test_ca):
    return {"ca_path": test_ca.pem, "expected_issuers": [test_ca.issuer], "timeout": 5}


def outcomes(results):
    return {r["endpoint"]: r["outcome"] for r in results}


def test_direct_reachable(sensor_api, crl_origin, dns_map, trust, test_ca):
    results = probe.probe_controller(sensor_endpoints(sensor_api, crl_origin), resolve=dns_map, **trust)
    assert outcomes(results) == {"mdi_workspace": "reachable", "mdi_eu_2": "reachable", "crl_microsoft": "reachable"}
    by_id = {r["endpoint"]: r for r in results}
    assert by_id["mdi_workspace"]["status"] == 200
    assert by_id["mdi_eu_2"]["status"] == 503
    assert by_id["mdi_workspace"]["tls_issuer"] == test_ca.issuer
    assert by_id["mdi_workspace"]["tls_inspection"] == "not intercepted"
    assert by_id["crl_microsoft"]["tls_issuer"] is None
    assert by_id["crl_microsoft"]["tls_inspection"] == "unknown"
    assert by_id["crl_microsoft"]["tls_inspection_detail"] == "plain HTTP: no TLS"
    assert {r["proxy"] for r in results} == {"direct"}
    assert all(r["hint"] == "" and r["error"] is None for r in results)


def test_older_workspace_answering_503_on_the_ping_is_reachable(sensor_api, dns_map, trust):
    # ATADocs test-connectivity.md: "For some older workspaces, the message returned could be Error 503 The
    # service is unavailable. This is a temporary state that still indicates success."
    endpoint = Endpoint("mdi_workspace", "https://%s:%d/tri/sensor/api/ping" % (OLD_WORKSPACE_HOST, sensor_api.server_port),
                        "sensor_ping", "mdi")
    [result] = probe.probe_controller([endpoint], resolve=dns_map, **trust)
    assert (result["status"], result["outcome"], result["hint"]) == (503, "reachable", "")


def test_sensor_root_answering_200_is_not_the_service(sensor_api, dns_map, trust):
    # The regional hosts answer 503 on "/": a 200 there came from something else.
    endpoint = Endpoint("x", "https://contososensorapi.atp.azure.com:%d/tri/sensor/api/ping" % sensor_api.server_port, "sensor_root", "mdi")
    [result] = probe.probe_controller([endpoint], resolve=dns_map, **trust)
    assert result["outcome"] == "blocked_by_proxy"
    assert result["status"] == 200


def test_through_connect_proxy_reachable(sensor_api, crl_origin, start_proxy, trust):
    proxy = start_proxy()
    # No resolve seam: the fake Microsoft names resolve only inside the proxy, so "reachable"
    # proves the request went through the CONNECT tunnel.
    results = probe.probe_controller(sensor_endpoints(sensor_api, crl_origin), proxy=proxy.url, **trust)
    assert set(outcomes(results).values()) == {"reachable"}
    assert {r["proxy"] for r in results} == {proxy.url}
    direct = probe.probe_controller(sensor_endpoints(sensor_api, crl_origin)[:1], **trust)
    assert direct[0]["outcome"] == "dns_failure"


def test_proxy_basic_auth(sensor_api, crl_origin, start_proxy, trust):
    proxy = start_proxy(basic_auth="%s:%s" % (PROXY_USER, PROXY_PASSWORD))
    endpoints = sensor_endpoints(sensor_api, crl_origin)
    anonymous = probe.probe_controller(endpoints, proxy=proxy.url, **trust)
    assert set(outcomes(anonymous).values()) == {"proxy_auth_required"}
    assert {r["status"] for r in anonymous} == {407}
    assert "anonymous" in anonymous[0]["hint"] and "*.atp.azure.com" in anonymous[0]["hint"]
    wrong = probe.probe_controller(endpoints, proxy=proxy.url, proxy_username=PROXY_USER, proxy_password="nope", **trust)
    assert set(outcomes(wrong).values()) == {"proxy_auth_required"}
    # The operator's own credentials were wrong: say so, not "allow anonymous access".
    assert "rejected the credentials given to this probe" in wrong[0]["hint"]
    authed = probe.probe_controller(
        endpoints, proxy=proxy.url, proxy_username=PROXY_USER, proxy_password=PROXY_PASSWORD, **trust
    )
    assert set(outcomes(authed).values()) == {"reachable"}
    credentials = "%s:%s" % (quote(PROXY_USER, safe=""), quote(PROXY_PASSWORD, safe=""))
    in_url = probe.probe_controller(endpoints, proxy="http://%s@127.0.0.1:%d" % (credentials, proxy.port), **trust)
    assert set(outcomes(in_url).values()) == {"reachable"}
    text = repr(anonymous + wrong + authed + in_url)
    assert PROXY_PASSWORD not in text and quote(PROXY_PASSWORD, safe="") not in text
    assert proxy.url in text  # the proxy is reported, without credentials


def test_proxy_acl_denies_host(sensor_api, start_proxy, trust):
    proxy = start_proxy(deny=("blockedsensorapi.atp.azure.com",))
    port = sensor_api.server_port
    endpoints = [
        Endpoint("mdi_workspace", "https://blockedsensorapi.atp.azure.com:%d/tri/sensor/api/ping" % port, "sensor_ping", "mdi"),
        Endpoint("mdi_eu_2", "https://triprd1wceuw1sensorapi.atp.azure.com:%d/" % port, "sensor_root", "mdi"),
        Endpoint("url_1", "https://blockedsensorapi.atp.azure.com:%d/anything" % port, "service", "extra"),
    ]
    results = probe.probe_controller(endpoints, proxy=proxy.url, **trust)
    # A refused CONNECT is the proxy's answer whatever the endpoint's rule (a "service" URL included).
    assert outcomes(results) == {"mdi_workspace": "blocked_by_proxy", "mdi_eu_2": "reachable", "url_1": "blocked_by_proxy"}
    assert results[0]["status"] == 403
    assert "Allow *.atp.azure.com on the proxy" in results[0]["hint"]


@pytest.mark.parametrize("trusted", [True, False])
def test_tls_intercepting_proxy(sensor_api, crl_origin, mitm_proxy, intercept_ca, both_cas, test_ca, trusted):
    endpoint = sensor_endpoints(sensor_api, crl_origin)[0]
    ca_path = both_cas if trusted else test_ca.pem
    [result] = probe.probe_controller(
        [endpoint], proxy=mitm_proxy.url, ca_path=ca_path, expected_issuers=[test_ca.issuer], timeout=5
    )
    # the request and the issuer handshake both went through the intercepting proxy
    assert [s["host"] for s in mitm_proxy.seen] == ["contososensorapi.atp.azure.com"] * 2, result
    assert result["outcome"] == "tls_intercepted"
    assert result["tls_inspection"] == "intercepted"
    assert result["tls_issuer"] == intercept_ca.issuer
    assert result["status"] == (200 if trusted else None)
    assert "SSL/TLS inspection" in result["hint"]
    # The hint names the issuers that were expected, not a hard-coded list.
    assert test_ca.issuer in result["hint"] and "DigiCert" not in result["hint"]


def test_validate_certs_off_still_sees_interception(sensor_api, crl_origin, mitm_proxy, test_ca):
    endpoint = sensor_endpoints(sensor_api, crl_origin)[0]
    [result] = probe.probe_controller(
        [endpoint], proxy=mitm_proxy.url, validate_certs=False, expected_issuers=[test_ca.issuer], timeout=5
    )
    assert result["outcome"] == "tls_intercepted"


@pytest.mark.parametrize("how", ["url", "options"])
def test_credentials_reach_the_issuer_check_however_given(sensor_api, crl_origin, auth_mitm_proxy, both_cas,
                                                          test_ca, intercept_ca, how):
    # An authenticating SSL-inspection proxy. The issuer check must send the same credentials as the probe,
    # or it gets a 407 and the inspection goes unseen (a false "reachable").
    endpoint = sensor_endpoints(sensor_api, crl_origin)[0]
    if how == "url":
        kwargs = {"proxy": "http://%s:%s@127.0.0.1:%d" % (PROXY_USER, quote(PROXY_PASSWORD, safe=""),
                                                          auth_mitm_proxy.port)}
    else:
        kwargs = {"proxy": auth_mitm_proxy.url, "proxy_username": PROXY_USER, "proxy_password": PROXY_PASSWORD}
    [result] = probe.probe_controller([endpoint], ca_path=both_cas, expected_issuers=[test_ca.issuer], timeout=5,
                                      **kwargs)
    assert [s["authorized"] for s in auth_mitm_proxy.seen] == [True, True], auth_mitm_proxy.seen
    assert (result["status"], result["outcome"]) == (200, "tls_intercepted")
    assert result["tls_issuer"] == intercept_ca.issuer
    assert result["proxy"] == auth_mitm_proxy.url
    text = repr(result)
    assert PROXY_PASSWORD not in text and quote(PROXY_PASSWORD, safe="") not in text


def test_issuer_not_seen_is_unknown_with_why(sensor_api, crl_origin, auth_mitm_proxy, both_cas, test_ca):
    # Without credentials the proxy refuses both CONNECTs: no handshake, so inspection is unknown, and why.
    endpoint = sensor_endpoints(sensor_api, crl_origin)[0]
    [result] = probe.probe_controller([endpoint], proxy=auth_mitm_proxy.url, ca_path=both_cas,
                                      expected_issuers=[test_ca.issuer], timeout=5)
    assert (result["status"], result["outcome"]) == (407, "proxy_auth_required")
    assert result["tls_inspection"] == "unknown"
    assert result["tls_inspection_detail"] == "no TLS handshake happened: proxy_auth_required"


def test_credentials_given_twice_are_refused():
    with pytest.raises(probe.ProbeError) as info:
        probe.probe_controller([], proxy="http://u:%s@127.0.0.1:1" % quote(PROXY_PASSWORD, safe=""),
                               proxy_username="u", proxy_password=PROXY_PASSWORD)
    assert "proxy_username" in str(info.value) and PROXY_PASSWORD not in str(info.value)


def test_untrusted_genuine_issuer_is_tls_error(sensor_api, crl_origin, dns_map, test_ca):
    # Not trusting the (expected) issuer is a trust problem, not interception.
    endpoint = sensor_endpoints(sensor_api, crl_origin)[0]
    [result] = probe.probe_controller([endpoint], resolve=dns_map, expected_issuers=[test_ca.issuer], timeout=5)
    assert result["outcome"] == "tls_error"
    assert result["tls_issuer"] == test_ca.issuer
    assert result["tls_inspection"] == "not intercepted"
    assert "CERTIFICATE_VERIFY_FAILED" in result["error"]


def test_default_expected_issuers_flag_a_foreign_ca(sensor_api, crl_origin, dns_map, test_ca):
    endpoint = sensor_endpoints(sensor_api, crl_origin)[0]
    [result] = probe.probe_controller([endpoint], resolve=dns_map, ca_path=test_ca.pem, timeout=5)
    assert result["outcome"] == "tls_intercepted"
    assert "'Microsoft', 'DigiCert'" in result["hint"]


def test_dns_failure():
    endpoint = Endpoint("url_1", "https://contososensorapi.invalid/tri/sensor/api/ping", "sensor_ping", "extra")
    [result] = probe.probe_controller([endpoint], timeout=5)
    assert result["outcome"] == "dns_failure"
    assert result["status"] is None


def test_connection_refused(closed_port):
    endpoint = Endpoint("url_1", "https://127.0.0.1:%d/" % closed_port, "service", "extra")
    [result] = probe.probe_controller([endpoint], timeout=5)
    assert result["outcome"] == "connection_refused"


def test_proxy_unreachable(closed_port, sensor_api, crl_origin, trust):
    results = probe.probe_controller(
        sensor_endpoints(sensor_api, crl_origin), proxy="http://127.0.0.1:%d" % closed_port, **trust
    )
    assert set(outcomes(results).values()) == {"proxy_unreachable"}


def test_timeout_within_timeout_plus_one(blackhole):
    import time

    endpoints = [
        Endpoint("url_1", "https://127.0.0.1:%d/" % blackhole, "service", "extra"),
        Endpoint("url_2", "http://127.0.0.1:%d/" % blackhole, "service", "extra"),
    ]
    start = time.monotonic()
    results = probe.probe_controller(endpoints, timeout=2)
    took = time.monotonic() - start
    assert set(outcomes(results).values()) == {"timeout"}
    assert took < 3.0, took


def test_concurrent_total_bounded_by_slowest(blackhole, sensor_api, crl_origin, dns_map, trust):
    import time

    endpoints = [Endpoint("slow_%d" % i, "https://127.0.0.1:%d/x%d" % (blackhole, i), "service", "extra") for i in range(6)]
    endpoints += sensor_endpoints(sensor_api, crl_origin)
    start = time.monotonic()
    results = probe.probe_controller(endpoints, resolve=dns_map, **dict(trust, timeout=2))
    took = time.monotonic() - start
    assert took < 3.0, "6 x 2 s timeouts took %.1f s: not concurrent" % took
    assert [r["endpoint"] for r in results] == [e.id for e in endpoints]
    assert outcomes(results)["mdi_workspace"] == "reachable"

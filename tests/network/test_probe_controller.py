# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""via=controller against real servers and proxies on 127.0.0.1 (see conftest.py)."""

from __future__ import annotations

import time

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _probe as probe
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._endpoints import Endpoint

from .conftest import PROXY_PASSWORD, PROXY_USER

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
    assert by_id["crl_microsoft"]["tls_issuer"] is None
    assert {r["proxy"] for r in results} == {"direct"}
    assert all(r["hint"] == "" and r["error"] is None for r in results)


def test_sensor_root_answering_200_is_not_the_service(sensor_api, dns_map, trust):
    # The sensor API answers 503 on "/": a 200 there came from something else.
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
    authed = probe.probe_controller(
        endpoints, proxy=proxy.url, proxy_username=PROXY_USER, proxy_password=PROXY_PASSWORD, **trust
    )
    assert set(outcomes(authed).values()) == {"reachable"}
    text = repr(anonymous + wrong + authed)
    assert PROXY_PASSWORD not in text
    assert proxy.url in text  # the proxy is reported, without credentials


def test_proxy_acl_denies_host(sensor_api, start_proxy, trust):
    proxy = start_proxy(deny=("blockedsensorapi.atp.azure.com",))
    port = sensor_api.server_port
    endpoints = [
        Endpoint("mdi_workspace", "https://blockedsensorapi.atp.azure.com:%d/tri/sensor/api/ping" % port, "sensor_ping", "mdi"),
        Endpoint("mdi_eu_2", "https://triprd1wceuw1sensorapi.atp.azure.com:%d/" % port, "sensor_root", "mdi"),
    ]
    results = probe.probe_controller(endpoints, proxy=proxy.url, **trust)
    assert outcomes(results) == {"mdi_workspace": "blocked_by_proxy", "mdi_eu_2": "reachable"}
    assert results[0]["status"] == 403
    assert "Allow *.atp.azure.com on the proxy" in results[0]["hint"]


@pytest.mark.parametrize("trusted", [True, False])
def test_tls_intercepting_proxy(sensor_api, crl_origin, mitm_proxy, intercept_ca, both_cas, test_ca, trusted):
    endpoint = sensor_endpoints(sensor_api, crl_origin)[0]
    ca_path = both_cas if trusted else test_ca.pem
    [result] = probe.probe_controller(
        [endpoint], proxy=mitm_proxy.url, ca_path=ca_path, expected_issuers=[test_ca.issuer], timeout=20
    )  # generous: these tests are about TLS, not timing, and a busy 2-core CI machine can stall a handshake
    # the request and the issuer handshake both went through the intercepting proxy; the proxy's thread
    # may record the second CONNECT a moment after the probe returned
    deadline = time.monotonic() + 3
    while len(mitm_proxy.seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mitm_proxy.seen == ["contososensorapi.atp.azure.com", "contososensorapi.atp.azure.com"], result
    assert result["outcome"] == "tls_intercepted"
    assert result["tls_issuer"] == intercept_ca.issuer
    assert result["status"] == (200 if trusted else None)
    assert "SSL/TLS inspection" in result["hint"]


def test_validate_certs_off_still_sees_interception(sensor_api, crl_origin, mitm_proxy, test_ca):
    endpoint = sensor_endpoints(sensor_api, crl_origin)[0]
    [result] = probe.probe_controller(
        [endpoint], proxy=mitm_proxy.url, validate_certs=False, expected_issuers=[test_ca.issuer], timeout=20
    )
    assert result["outcome"] == "tls_intercepted"


def test_untrusted_genuine_issuer_is_tls_error(sensor_api, crl_origin, dns_map, test_ca):
    # Not trusting the (expected) issuer is a trust problem, not interception.
    endpoint = sensor_endpoints(sensor_api, crl_origin)[0]
    [result] = probe.probe_controller([endpoint], resolve=dns_map, expected_issuers=[test_ca.issuer], timeout=20)
    assert result["outcome"] == "tls_error"
    assert result["tls_issuer"] == test_ca.issuer
    assert "CERTIFICATE_VERIFY_FAILED" in result["error"]


def test_default_expected_issuers_flag_a_foreign_ca(sensor_api, crl_origin, dns_map, test_ca):
    endpoint = sensor_endpoints(sensor_api, crl_origin)[0]
    [result] = probe.probe_controller([endpoint], resolve=dns_map, ca_path=test_ca.pem, timeout=5)
    assert result["outcome"] == "tls_intercepted"


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
    endpoints = [Endpoint("slow_%d" % i, "https://127.0.0.1:%d/x%d" % (blackhole, i), "service", "extra") for i in range(6)]
    endpoints += sensor_endpoints(sensor_api, crl_origin)
    start = time.monotonic()
    results = probe.probe_controller(endpoints, resolve=dns_map, **dict(trust, timeout=2))
    took = time.monotonic() - start
    assert took < 3.0, "6 x 2 s timeouts took %.1f s: not concurrent" % took
    assert [r["endpoint"] for r in results] == [e.id for e in endpoints]
    assert outcomes(results)["mdi_workspace"] == "reachable"

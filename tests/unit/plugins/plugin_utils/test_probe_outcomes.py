# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Outcomes, the HTTP rules of each endpoint kind, the TLS-inspection verdict, hints and redaction."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as o
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._endpoints import Endpoint

PING = Endpoint("mdi_workspace", "https://contososensorapi.atp.azure.com/tri/sensor/api/ping", "sensor_ping", "mdi")
ROOT = Endpoint("mdi_eu_1", "https://triprd1wceun2sensorapi.atp.azure.com/", "sensor_root", "mdi")
CRL = Endpoint("crl_microsoft", "http://crl.microsoft.com/pki/crl/products/x.crl", "crl", "mdi")
OCSP = Endpoint("pki_oneocsp", "http://oneocsp.microsoft.com/ocsp", "ocsp", "mdi")
MDE_TEST = Endpoint("mde_sl_1", "https://mdav.eu.endpoint.security.microsoft.com/mdav/test", "mde", "mde", (404,))
MDE_USER = Endpoint("mde_1", "https://winatp-gw-weu.microsoft.com/test", "service", "mde")
SQUID = {"server": "squid/5.7", "x_squid_error": "ERR_ACCESS_DENIED 0"}


@pytest.mark.parametrize("endpoint, status, headers, expected", [
    # test-connectivity.md: 200, or 503 from an older workspace, both mean success
    (PING, 200, {"server": "Microsoft-HTTPAPI/2.0"}, "reachable"),
    (PING, 503, {"server": "Microsoft-HTTPAPI/2.0"}, "reachable"),
    (PING, 503, {"server": "squid/5.7", "x_squid_error": "ERR_DNS_FAIL 0"}, "blocked_by_proxy"),
    (PING, 404, {}, "blocked_by_proxy"),
    (PING, 407, {"proxy_authenticate": "Basic"}, "proxy_auth_required"),
    (ROOT, 503, {}, "reachable"),
    (ROOT, 200, {}, "blocked_by_proxy"),
    # plain HTTP: a proxy adds Via to what it forwards, only its error markers count
    (CRL, 404, {"via": "1.1 proxy.corp"}, "reachable"),
    (CRL, 301, {}, "reachable"),
    (CRL, 403, SQUID, "blocked_by_proxy"),
    (CRL, 500, {}, "blocked_by_proxy"),
    (OCSP, 405, {}, "reachable"),
    (OCSP, 502, {"proxy_agent": "proxy.py v2.4"}, "blocked_by_proxy"),
    # the catalogue's MDE URLs: the status Microsoft's test expects
    (MDE_TEST, 404, {}, "reachable"),
    (MDE_TEST, 200, {}, "blocked_by_proxy"),
    # a URL the user listed: any answer of the service itself
    (MDE_USER, 403, {"server": "Microsoft-IIS/10.0"}, "reachable"),
    (MDE_USER, 400, {}, "reachable"),
    (MDE_USER, 403, SQUID, "blocked_by_proxy"),
    (MDE_USER, 200, {"via": "1.1 proxy"}, "blocked_by_proxy"),  # nothing tunnelled carries the proxy's Via
])
def test_rules(endpoint, status, headers, expected):
    assert o.classify_http(endpoint, status, headers) == expected


def test_a_refused_connect_is_the_proxys_answer_whatever_it_says():
    assert o.classify_http(MDE_USER, 403, {}, connect_refused=True) == "blocked_by_proxy"
    assert o.classify_http(PING, 503, {}, connect_refused=True) == "blocked_by_proxy"
    assert o.classify_http(PING, 401, {}, connect_refused=True) == "proxy_auth_required"


def test_every_outcome_has_a_one_sentence_hint():
    for outcome in o.OUTCOMES:
        for cause in (None, "handshake", "account", "secondary_logon", "admin_rights"):
            for via in ("target", "controller"):
                hint = o.hint_for(outcome, PING, via=via, status=403, issuer="CN=Corp Inspection",
                                  proxy="proxy.corp:8080", cause=cause, account="LocalService")
                if outcome == "reachable":
                    assert hint == ""
                    continue
                assert hint.endswith(".") and hint.count(". ") == 0, (outcome, cause, hint)
    with pytest.raises(ValueError):
        o.hint_for("bogus", PING)


def test_hints_name_the_configured_issuers():
    hint = o.hint_for("tls_intercepted", PING, issuer="CN=Contoso Inspection", expected_issuers=["ATP Root"])
    assert "'ATP Root'" in hint and "DigiCert" not in hint and "Exclude *.atp.azure.com" in hint
    default = o.hint_for("tls_intercepted", PING, issuer="CN=x")
    assert "'Microsoft', 'DigiCert'" in default


def test_handshake_failure_hint_names_schusestrongcrypto():
    hint = o.hint_for("tls_error", PING, cause="handshake")
    assert "SchUseStrongCrypto" in hint and "SystemDefaultTlsVersions" in hint


@pytest.mark.parametrize("cause, needle", [
    ("account", "LookupAccountName"),
    ("secondary_logon", "Secondary Logon service (seclogon)"),
    ("admin_rights", "Administrators"),
    ("other", "local administrator"),
])
def test_become_hints(cause, needle):
    hint = o.hint_for("become_failed", PING, cause=cause, account="LocalService")
    assert needle in hint and "LocalService" in hint


def test_operator_credentials_get_an_operator_hint():
    operator = o.hint_for("proxy_auth_required", PING, via="controller", status=407, operator_credentials=True)
    service = o.hint_for("proxy_auth_required", PING, via="controller", status=407)
    assert "rejected the credentials given to this probe" in operator
    assert "anonymous" in service and "rejected" not in service


def test_inspection_verdict_is_one_of_three():
    assert o.inspection_verdict("CN=DigiCert G2", ["DigiCert"], None, "seen here")[0] == "not intercepted"
    state, detail = o.inspection_verdict("CN=Corp", ["DigiCert"], None, "seen here")
    assert state == "intercepted" and "'CN=Corp'" in detail and "'DigiCert'" in detail
    assert o.inspection_verdict(None, ["DigiCert"], "the proxy said 407", "x") == ("unknown", "the proxy said 407")
    with pytest.raises(ValueError):
        o.make_result(PING, "reachable", via="target", tls_inspection="maybe")


def test_redact_every_form():
    secret = "p@ss:w/rd%!"
    text = "a %s b %s c %s" % (secret, quote(secret, safe=""), quote(secret))
    assert redaction.redact(text, [secret]) == "a ******** b ******** c ********"
    # a secret given URL-quoted (as in a proxy URL) is found plain too
    assert redaction.redact("x %s" % secret, [quote(secret, safe="")]) == "x ********"
    assert redaction.scrub_secrets({"a": [secret, {"b": secret}], "n": 1}, [secret]) == {"a": ["********", {"b": "********"}], "n": 1}


def test_the_expected_issuers_are_those_of_each_cloud_unless_given():
    # azure-CA-details.md: the CAs Azure services use, government clouds included, are Microsoft's and DigiCert's.
    for cloud in ("commercial", "gcc", "gcc_high", "dod"):
        assert o.expected_issuers_for(cloud) == ["Microsoft", "DigiCert"]
    assert o.expected_issuers_for("gcc_high", ["Contoso Root"]) == ["Contoso Root"]
    assert o.expected_issuers_for(None) == list(o.DEFAULT_EXPECTED_ISSUERS)
    # Nothing but blanks (an AWX survey field left empty, -e atp_proxy_expected_issuers=) is no list: the cloud's own.
    assert o.expected_issuers_for("commercial", ["", " "]) == ["Microsoft", "DigiCert"]
    assert o.issuer_problems(["", " "]) == [] and o.issuer_problems(["Microsoft", ""]) != []

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Graph client of mdi_sensor_health against a real HTTPS token service and Graph on 127.0.0.1
(tests/network/graph_server.py): tokens by secret and by certificate, paging, throttling, 401/403, TLS, proxies."""

from __future__ import annotations

import time

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_assertion as assertion
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_client as graph
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_transport as transport
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _sensor_health as health

from .conftest import PROXY_PASSWORD, PROXY_USER
from .graph_server import FakeGraph, health_issue, sensor

pytestmark = pytest.mark.network

SECRET = "Gr4ph~Secr3t.with+plus&amp=%20"


@pytest.fixture
def fake(tmp_path):
    with FakeGraph(tmp_path / "graph", client_secret=SECRET) as server:
        yield server


def client(fake, *, credential=None, opener=None, **kwargs):
    return graph.GraphClient(
        tenant_id=fake.tenant, client_id=fake.client_id, login_root=fake.url, graph_root=fake.url,
        credential=credential or (lambda url: {"client_secret": SECRET}),
        opener=opener or transport.build_opener(use_proxy=False, ca_path=str(fake.ca_file)), secrets=[SECRET], **kwargs)


def test_every_page_is_read_and_the_token_is_asked_once(fake):
    fake.sensors = [sensor("DC%03d" % n) for n in range(250)]
    fake.issues = [health_issue("Sensor stopped communicating", ["DC%03d.corp.example" % n]) for n in range(7)]
    fake.issues += [health_issue("Sensor outdated", ["DC001.corp.example"], status="closed")]
    fake.page_size = 100
    graph_client = client(fake)
    sensors, issues = health.read(graph_client.get_all)
    assert [s["displayName"] for s in sensors] == ["DC%03d" % n for n in range(250)]
    assert len(issues) == 7  # the server applied Status eq 'open'
    assert fake.routes() == ["token", "sensors", "sensors", "sensors", "healthIssues"]
    assert [r["query"] for r in fake.requests if r["route"] == "sensors"] == ["", "%24skiptoken=100",
                                                                              "%24skiptoken=200"]
    assert fake.requests[-1]["query"] == "$filter=Status%20eq%20'open'"  # as the list page writes it
    assert graph_client.stats.as_dict() == {"requests": 5, "retries": 0, "waited": 0.0, "pages": 4, "throttled": []}


def test_throttling_waits_what_retry_after_says(fake):
    fake.sensors = [sensor("DC01"), sensor("DC02")]
    fake.page_size = 1
    fake.fault("sensors", (429, {"Retry-After": "1"}), (503, {"Retry-After": "1"}))
    graph_client = client(fake)
    items = graph_client.get_all(health.SENSORS_PATH, "GET sensors")
    assert [s["displayName"] for s in items] == ["DC01", "DC02"]
    times = [r["at"] for r in fake.requests if r["route"] == "sensors"]
    assert len(times) == 4 and times[1] - times[0] >= 0.95 and times[2] - times[1] >= 0.95
    stats = graph_client.stats.as_dict()
    assert stats["retries"] == 2 and stats["waited"] == 2.0
    assert [t["status"] for t in stats["throttled"]] == [429, 503]


def test_without_retry_after_it_backs_off_exponentially(fake):
    fake.fault("healthIssues", (503, {}), (504, {}))
    slept = []
    graph_client = client(fake, sleep=slept.append)
    assert graph_client.get_all(health.ISSUES_PATH, "GET issues") == []
    assert slept == [1.0, 2.0]


def test_a_wait_longer_than_the_time_left_stops_at_once(fake):
    fake.fault("sensors", (429, {"Retry-After": "3600"}))
    graph_client = client(fake, total_timeout=20)
    start = time.monotonic()
    with pytest.raises(graph.GraphError) as caught:
        graph_client.get_all(health.SENSORS_PATH, "GET security/identities/sensors")
    assert time.monotonic() - start < 5
    assert caught.value.kind == "throttled"
    assert "Graph asks to wait 3600s (Retry-After: 3600), more than the" in str(caught.value)
    assert "total_timeout (20s)" in str(caught.value)


def test_retries_are_bounded(fake):
    fake.fault("sensors", *[(429, {"Retry-After": "0"})] * 4)
    with pytest.raises(graph.GraphError, match=r"still HTTP 429 after 2 retries \(max_retries\)"):
        client(fake, max_retries=2).get_all(health.SENSORS_PATH, "GET sensors")
    assert fake.routes().count("sensors") == 3


def test_403_names_the_permission_each_read_needs(fake):
    fake.roles = {"SecurityIdentitiesSensors.Read.All"}
    with pytest.raises(health.HealthError) as caught:
        health.read(client(fake).get_all)
    assert caught.value.missing_permissions == ["SecurityIdentitiesHealth.Read.All"]
    text = str(caught.value)
    assert "GET security/identities/healthIssues: HTTP 403 Forbidden: Missing application roles" in text
    assert "request-id " in text and "application permission SecurityIdentitiesHealth.Read.All" in text
    fake.roles = set()
    with pytest.raises(health.HealthError) as both:
        health.read(client(fake).get_all)
    assert both.value.missing_permissions == ["SecurityIdentitiesSensors.Read.All", "SecurityIdentitiesHealth.Read.All"]


def test_401_says_the_token_belongs_to_another_cloud(fake):
    fake.fault("sensors", (401, {}, {"error": {"code": "InvalidAuthenticationToken",
                                               "message": "Access token validation failure. Invalid audience.",
                                               "innerError": fake.inner()}}))
    with pytest.raises(graph.GraphError) as caught:
        client(fake).get_all(health.SENSORS_PATH, "GET security/identities/sensors")
    assert caught.value.kind == "unauthorized" and caught.value.status == 401
    assert "InvalidAuthenticationToken: Access token validation failure" in str(caught.value)
    assert "a token of one cloud is not valid in another" in str(caught.value)


@pytest.mark.parametrize("change, expected", [
    ({"secret": "wrong-" + SECRET}, ["invalid_client: AADSTS7000215: Invalid client secret provided",
                                     "Check the client secret (its Value, not its Secret ID)"]),
    ({"tenant": "fabrikam.onmicrosoft.com"}, ["invalid_request: AADSTS90002: Tenant 'fabrikam.onmicrosoft.com' "
                                              "not found", "Check tenant_id and client_id"]),
    ({"client_id": "00000000-0000-0000-0000-000000000000"}, ["unauthorized_client: AADSTS700016"]),
])
def test_token_errors_quote_entra_and_never_the_secret(fake, change, expected):
    graph_client = graph.GraphClient(
        tenant_id=change.get("tenant", fake.tenant), client_id=change.get("client_id", fake.client_id),
        login_root=fake.url, graph_root=fake.url, credential=lambda url: {"client_secret": change.get("secret",
                                                                                                      SECRET)},
        opener=transport.build_opener(use_proxy=False, ca_path=str(fake.ca_file)), secrets=[SECRET])
    with pytest.raises(graph.GraphError) as caught:
        graph_client.get_all(health.SENSORS_PATH, "GET sensors")
    text = str(caught.value)
    assert caught.value.kind == "token"
    for part in expected:
        assert part in text
    assert "Trace ID" not in text  # the first line of error_description only
    assert SECRET not in text and "Secr3t" not in text


def _app_certificate(tmp_path, password: bytes | None = None, key_type=trustme.KeyType.RSA):
    ca = trustme.CA(key_type=key_type)
    leaf = ca.issue_cert("mdi-health-app.corp.example", key_type=key_type)
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    pem = tmp_path / "app.pem"
    pem.write_bytes(leaf.cert_chain_pems[0].bytes() + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    return leaf, key, pem


def test_a_certificate_signs_a_ps256_assertion_entra_accepts(tmp_path, fake):
    leaf, key, pem = _app_certificate(tmp_path, b"Pfx-Pw 1")
    fake.certificate = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    cert = assertion.load(str(pem), "Pfx-Pw 1")
    graph_client = client(fake, credential=lambda url: {
        "client_assertion_type": graph.ASSERTION_TYPE,
        "client_assertion": assertion.assertion(cert, fake.client_id, url)})
    assert graph_client.get_all(health.SENSORS_PATH, "GET sensors") == []
    assert cert.describe()["thumbprint_sha256"] == leaf_thumbprint(leaf)

    # The same key as a PKCS#12 file (as Windows exports it, AES-256), with its password.
    pfx = tmp_path / "app.pfx"
    pfx.write_bytes(pkcs12.serialize_key_and_certificates(
        b"app", key, fake.certificate, None, serialization.BestAvailableEncryption(b"Pfx-Pw 1")))
    assert assertion.load(str(pfx), "Pfx-Pw 1").thumbprint_sha256 == cert.thumbprint_sha256

    # Another certificate is refused by the token service; the hint names the certificate.
    (tmp_path / "other").mkdir()
    dummy, dummy_key, other_pem = _app_certificate(tmp_path / "other")
    wrong = assertion.load(str(other_pem))
    refused = client(fake, credential=lambda url: {"client_assertion_type": graph.ASSERTION_TYPE,
                                                   "client_assertion": assertion.assertion(wrong, fake.client_id, url)})
    with pytest.raises(graph.GraphError) as caught:
        refused.token()
    assert "invalid_client: AADSTS700027" in str(caught.value)
    assert "Check the certificate (its public part must be uploaded to the application)" in str(caught.value)


def leaf_thumbprint(leaf) -> str:
    return x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).fingerprint(hashes.SHA256()).hex().upper()


def test_certificate_problems_name_the_option_and_never_the_password(tmp_path):
    dummy, dummy_key, pem = _app_certificate(tmp_path, b"Right-Pw")
    with pytest.raises(assertion.CertificateError) as caught:
        assertion.load(str(pem), "Wr0ng-Pw")
    assert "certificate_path" in str(caught.value) and "Wr0ng-Pw" not in str(caught.value)
    with pytest.raises(assertion.CertificateError, match="give certificate_password"):
        assertion.load(str(pem))
    ec_dir = tmp_path / "ec"
    ec_dir.mkdir()
    dummy, dummy_key, ec_pem = _app_certificate(ec_dir, key_type=trustme.KeyType.ECDSA)
    with pytest.raises(assertion.CertificateError, match="not an RSA key"):
        assertion.load(str(ec_pem))
    only_cert = tmp_path / "cert.pem"
    only_cert.write_bytes(pem.read_bytes().split(b"-----BEGIN ENCRYPTED")[0])
    with pytest.raises(assertion.CertificateError, match="holds no private key"):
        assertion.load(str(only_cert))
    with pytest.raises(assertion.CertificateError, match="cannot read"):
        assertion.load(str(tmp_path / "missing.pem"))


def test_tls_is_verified_by_default(fake):
    with pytest.raises(graph.GraphError) as caught:
        client(fake, opener=transport.build_opener(use_proxy=False)).token()
    assert caught.value.kind == "tls" and "ca_path" in str(caught.value)
    assert fake.requests == []  # nothing was sent to a server it could not verify
    assert client(fake, opener=transport.build_opener(use_proxy=False, validate_certs=False)).token()


def test_the_token_never_leaves_the_graph_endpoint(fake):
    fake.sensors = [sensor("DC01"), sensor("DC02")]
    fake.page_size = 1
    fake.next_link_host = "https://graph.attacker.example"
    with pytest.raises(graph.GraphError) as caught:
        client(fake).get_all(health.SENSORS_PATH, "GET sensors")
    assert caught.value.kind == "paging"
    assert "refusing to send the access token to https://graph.attacker.example" in str(caught.value)


def test_redirects_are_not_followed(fake):
    fake.fault("sensors", (302, {"Location": "https://login.attacker.example/"}, {}))
    with pytest.raises(graph.GraphError, match="HTTP 302"):
        client(fake).get_all(health.SENSORS_PATH, "GET sensors")


def test_through_an_authenticating_proxy(fake, start_proxy):
    proxy = start_proxy(basic_auth="%s:%s" % (PROXY_USER, PROXY_PASSWORD))
    fake.sensors = [sensor("DC01")]
    opener = transport.build_opener(proxy=proxy.url, proxy_username=PROXY_USER, proxy_password=PROXY_PASSWORD,
                                    ca_path=str(fake.ca_file))
    assert [s["displayName"] for s in client(fake, opener=opener).get_all(health.SENSORS_PATH, "GET")] == ["DC01"]
    anonymous = transport.build_opener(proxy=proxy.url, ca_path=str(fake.ca_file))
    with pytest.raises(graph.GraphError) as caught:
        client(fake, opener=anonymous).token()
    assert caught.value.kind == "network" and "407" in str(caught.value)


def test_an_inspecting_proxy_needs_its_ca(fake, mitm_proxy, intercept_ca):
    fake.sensors = [sensor("DC01")]
    blind = transport.build_opener(proxy=mitm_proxy.url, ca_path=str(fake.ca_file))
    with pytest.raises(graph.GraphError) as caught:
        client(fake, opener=blind).token()
    assert caught.value.kind == "tls" and "give its CA in ca_path" in str(caught.value)
    trusting = transport.build_opener(proxy=mitm_proxy.url, ca_path=intercept_ca.pem)
    assert len(client(fake, opener=trusting).get_all(health.SENSORS_PATH, "GET")) == 1
    assert {s["host"] for s in mitm_proxy.seen} == {"127.0.0.1"}

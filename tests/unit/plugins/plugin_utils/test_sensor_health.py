# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloud's verdict without the network: matching hosts to Graph's sensors, the issues, the verdicts, the wait,
where the credential comes from, and Retry-After."""

from __future__ import annotations

import email.utils
import io
import json
from urllib.parse import parse_qs

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_client as graph
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_identity as graph_identity
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _sensor_health as health
from tests.network.graph_server import health_issue, sensor

STOPPED = "Sensor stopped communicating"


def names(*hosts):
    return {h: health.host_names(h) for h in hosts}


def test_sensor_dns_names_follow_the_documented_fields():
    # The list page's example: displayName DC1, domainName domain1.test.local, the DC's name in the settings.
    assert health.sensor_names(sensor("DC1", "domain1.test.local")) == ["dc1.domain1.test.local"]
    full = sensor("dc7.corp.example.", "corp.example", dc_names=[])
    assert health.sensor_names(full) == ["dc7.corp.example"]
    # domainName read as "the fully qualified domain name of the sensor" (the property's description) also works.
    assert health.sensor_names(sensor("DC8", "DC8.corp.example", dc_names=[])) == ["dc8.dc8.corp.example",
                                                                                   "dc8.corp.example"]
    # A standalone sensor lists the DCs it watches: they are not its own names.
    standalone = sensor("MDI-SA1", sensor_type="domainControllerStandalone", dc_names=["DC05.corp.example"])
    assert health.sensor_names(standalone) == ["mdi-sa1.corp.example"]
    # A DC sensor's settings name its own host, possibly in another form.
    alias = sensor("DC09", dc_names=["dc09.ad.corp.example"])
    assert health.sensor_names(alias) == ["dc09.corp.example", "dc09.ad.corp.example"]


def test_host_names_drop_addresses_and_repeats():
    assert health.host_names("DC01", "10.0.0.1", "dc01.corp.example.", "dc01", None, "", "::1") == [
        "dc01", "dc01.corp.example"]
    assert health.host_names("[fe80::1]") == []


def test_each_host_is_matched_by_name_case_insensitively_and_none_is_dropped():
    sensors = [sensor("DC01"), sensor("DC02", "emea.corp.example"), sensor("DC03")]
    result = health.verdicts(
        {"DC01.CORP.EXAMPLE": ["dc01.corp.example"], "dc02": ["dc02"], "dc03.other.example": ["dc03.other.example"],
         "dc04": ["dc04"], "web": ["web", "dc03.corp.example"]},
        sensors, [])
    hosts = result["hosts"]
    assert list(hosts) == ["DC01.CORP.EXAMPLE", "dc02", "dc03.other.example", "dc04", "web"]
    assert hosts["DC01.CORP.EXAMPLE"]["matched_by"] == "dns_name"
    assert hosts["dc02"]["matched_by"] == "short_name" and hosts["dc02"]["sensor"]["display_name"] == "DC02"
    # A full name in another domain is not shortened into a match.
    assert hosts["dc03.other.example"]["verdict"] == "no_sensor"
    assert hosts["dc03.other.example"]["evidence"] == "no sensor in Graph is named dc03.other.example (3 sensor(s) " \
                                                      "listed)"
    assert hosts["dc04"]["verdict"] == "no_sensor" and hosts["dc04"]["connected"] is None
    # ansible_host (the second name) finds it when the inventory name does not.
    assert hosts["web"]["match_name"] == "dc03.corp.example" and hosts["web"]["verdict"] == "connected"
    assert result["summary"]["no_sensor"] == ["dc03.other.example", "dc04"]
    assert result["sensors_not_in_hosts"] == []
    assert health.message(result) == "5 host(s): 3 connected, 2 no sensor"


def test_a_short_name_in_two_domains_is_ambiguous_until_mapped():
    sensors = [sensor("DC01", "emea.corp.example"), sensor("DC01", "amer.corp.example")]
    result = health.verdicts(names("dc01"), sensors, [])
    entry = result["hosts"]["dc01"]
    assert entry["verdict"] == "ambiguous" and entry["connected"] is None
    assert [c["domain_name"] for c in entry["candidates"]] == ["emea.corp.example", "amer.corp.example"]
    assert "sensor_names" in entry["evidence"]
    mapped = health.verdicts(names("dc01"), sensors, [], {"dc01": "DC01.AMER.corp.example"})["hosts"]["dc01"]
    assert mapped["matched_by"] == "override" and mapped["sensor"]["domain_name"] == "amer.corp.example"
    by_id = health.verdicts(names("dc01"), sensors, [], {"dc01": sensors[0]["id"]})["hosts"]["dc01"]
    assert by_id["sensor"]["domain_name"] == "emea.corp.example"
    missing = health.verdicts(names("dc01"), sensors, [], {"dc01": "dc99.corp.example"})["hosts"]["dc01"]
    assert missing["verdict"] == "no_sensor"
    assert missing["evidence"].startswith("sensor_names maps dc01 to 'dc99.corp.example', which no sensor")


def test_a_dc_watched_by_a_standalone_sensor_does_not_inherit_its_verdict():
    standalone = sensor("MDI-SA1", sensor_type="domainControllerStandalone", dc_names=["DC05.corp.example"])
    result = health.verdicts(names("dc05.corp.example"), [standalone], [])
    assert result["hosts"]["dc05.corp.example"]["verdict"] == "no_sensor"


@pytest.mark.parametrize("status, verdict", [
    ("upToDate", "connected"), ("outdated", "connected"), ("updating", "connected"), ("updateFailed", "connected"),
    ("notConfigured", "connected"), ("syncing", "connected"),
    ("disconnected", "not_connected"), ("startFailure", "not_connected"), ("unreachable", "not_connected"),
    ("unknownFutureValue", "unknown"), (None, "unknown"),
])
def test_the_deployment_status_decides_without_issues(status, verdict):
    entry = health.verdicts(names("dc01"), [sensor("DC01", status=status)], [])["hosts"]["dc01"]
    assert entry["verdict"] == verdict
    assert entry["connected"] is {"connected": True, "not_connected": False}.get(verdict)
    assert entry["deployment_status"] == status and entry["version"] == "2.239.18124.58593"
    if status in health.DEPLOYMENT_NOT_CONNECTED:
        assert health.DEPLOYMENT_NOT_CONNECTED[status] in entry["evidence"]


def test_an_open_connectivity_issue_makes_it_not_connected_with_its_recommendations():
    issues = [
        health_issue(STOPPED, ["dc01.CORP.example"], recommendation="Check the communication with the cloud."),
        health_issue("NTLM Auditing is not enabled", ["DC01.corp.example"], severity="medium"),
        health_issue(STOPPED, ["DC01.corp.example"], status="closed"),
        health_issue("Sensor outdated", ["DC02.corp.example"], issue_type="Global", severity="medium"),
        health_issue(STOPPED, ["DC03.corp.example"], status="suppressed"),
    ]
    sensors = [sensor("DC01", health="notHealthyMedium", issues=2), sensor("DC02"), sensor("DC03")]
    result = health.verdicts(names("dc01", "dc02", "dc03"), sensors, issues)
    dc01 = result["hosts"]["dc01"]
    assert dc01["verdict"] == "not_connected" and dc01["health_status"] == "notHealthyMedium"
    assert [i["display_name"] for i in dc01["connectivity_issues"]] == [STOPPED]
    assert dc01["connectivity_issues"][0]["recommendations"] == ["Check the communication with the cloud."]
    assert [i["display_name"] for i in dc01["other_issues"]] == ["NTLM Auditing is not enabled"]
    assert "open: Sensor stopped communicating (medium)" in dc01["evidence"]
    # A global issue naming the sensor counts too; the suppressed one does not.
    assert result["hosts"]["dc02"]["verdict"] == "not_connected"
    assert result["hosts"]["dc03"]["verdict"] == "connected"
    assert result["open_issues_total"] == 3
    # The list of connectivity issues is the admin's to extend.
    custom = health.verdicts(names("dc01"), sensors[:1], issues, connectivity_issues=["ntlm auditing is not enabled"])
    assert [i["display_name"] for i in custom["hosts"]["dc01"]["connectivity_issues"]] == [
        "NTLM Auditing is not enabled"]


class _Forbidden(Exception):
    kind = "forbidden"


def test_read_names_every_missing_permission_at_once():
    asked = []

    def get_all(path, what, query):
        asked.append((path, query))
        raise _Forbidden("%s: HTTP 403 Forbidden" % what)

    with pytest.raises(health.HealthError) as caught:
        health.read(get_all)
    assert caught.value.missing_permissions == ["SecurityIdentitiesSensors.Read.All",
                                                "SecurityIdentitiesHealth.Read.All"]
    assert "permissions SecurityIdentitiesSensors.Read.All and SecurityIdentitiesHealth.Read.All" in str(caught.value)
    assert asked == [(health.SENSORS_PATH, None), (health.ISSUES_PATH, {"$filter": "Status eq 'open'"})]

    def other(path, what, query):
        raise RuntimeError("network down")

    with pytest.raises(RuntimeError):
        health.read(other)


class _Clock:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_watch_reads_until_every_sensor_is_connected_or_the_time_is_up():
    clock = _Clock()
    answers = iter(["disconnected", "disconnected", "upToDate"])

    def read_once():
        return health.verdicts(names("dc01", "dc02"), [sensor("DC01", status=next(answers))], [])

    result = health.watch(read_once, 100, 30, clock, clock.sleep)
    assert (result["readings"], result["waited"], result["settled"]) == (3, 60.0, True)
    assert result["hosts"]["dc01"]["verdict"] == "connected"  # dc02 has no sensor: it does not hold the wait

    clock = _Clock()
    stuck = health.watch(lambda: health.verdicts(names("dc01"), [sensor("DC01", status="disconnected")], []), 50, 30,
                         clock, clock.sleep)
    assert (stuck["readings"], clock.slept, stuck["settled"]) == (3, [30.0, 20.0], False)
    once = health.watch(lambda: health.verdicts(names("dc01"), [sensor("DC01", status="disconnected")], []), 0, 30,
                        clock, clock.sleep)
    assert once["readings"] == 1 and once["waited"] == 0


def test_the_wait_waits_only_for_the_hosts_of_wait_for():
    clock = _Clock()
    reading = [sensor("DC01"), sensor("DC02", status="disconnected")]
    mine = health.watch(lambda: health.verdicts(names("dc01", "dc02"), reading, []), 100, 30, clock, clock.sleep,
                        wait_for=["dc01"])
    assert (mine["readings"], mine["settled"], mine["waited_for"]) == (1, True, ["dc01"])
    assert mine["hosts"]["dc02"]["verdict"] == "not_connected"  # still reported, it just does not hold the wait
    held = health.watch(lambda: health.verdicts(names("dc01", "dc02"), reading, []), 40, 30, clock, clock.sleep,
                        wait_for=["dc02"])
    assert (held["readings"], held["settled"]) == (3, False)
    none = health.watch(lambda: health.verdicts(names("dc01", "dc02"), reading, []), 40, 30, clock, clock.sleep,
                        wait_for=[])
    assert (none["readings"], none["settled"], none["waited_for"]) == (1, True, [])


def test_the_credential_comes_whole_from_the_task_or_from_the_environment():
    env = {"ATP_GRAPH_TENANT_ID": "t-env", "ATP_GRAPH_CLIENT_ID": "c-env", "ATP_GRAPH_CLIENT_SECRET": "s-env",
           "ATP_GRAPH_CLOUD": "gcc_high"}
    got = graph_identity.identity({}, env)
    assert (got["tenant_id"], got["client_id"], got["client_secret"], got["cloud"], got["source"]) == (
        "t-env", "c-env", "s-env", "gcc_high", "environment")
    task = graph_identity.identity({"tenant_id": "t", "certificate_path": "/k.pem", "cloud": "dod"}, env)
    assert (task["tenant_id"], task["client_id"], task["certificate_path"], task["client_secret"], task["cloud"],
            task["source"]) == ("t", "c-env", "/k.pem", None, "dod", "task")
    with pytest.raises(ValueError, match="client_secret and certificate_path are mutually exclusive"):
        graph_identity.identity({"client_secret": "x", "certificate_path": "/k"}, env)
    with pytest.raises(ValueError, match="ATP_GRAPH_CLIENT_SECRET and ATP_GRAPH_CERTIFICATE_PATH are mutually"):
        graph_identity.identity({}, dict(env, ATP_GRAPH_CERTIFICATE_PATH="/k"))
    with pytest.raises(ValueError) as caught:
        graph_identity.identity({"certificate_password": "pw"}, {"ATP_GRAPH_CLOUD": "china"})
    text = str(caught.value)
    for part in ("tenant_id is required (or set ATP_GRAPH_TENANT_ID)", "client_id is required",
                 "ATP_GRAPH_CLOUD: 'china' is not a cloud", "no credential", "certificate_password needs "
                 "certificate_path"):
        assert part in text
    assert "pw" not in text.replace("password", "")


def test_clouds_and_overrides():
    assert graph_identity.endpoints("commercial") == ("https://login.microsoftonline.com", "https://graph.microsoft.com")
    assert graph_identity.endpoints("gcc") == graph_identity.endpoints("commercial")
    assert graph_identity.endpoints("gcc_high") == ("https://login.microsoftonline.us", "https://graph.microsoft.us")
    assert graph_identity.endpoints("dod") == ("https://login.microsoftonline.us", "https://dod-graph.microsoft.us")
    assert graph_identity.endpoints("dod", "https://127.0.0.1:8443/", "https://127.0.0.1:8443") == (
        "https://127.0.0.1:8443", "https://127.0.0.1:8443")
    with pytest.raises(ValueError, match="not an https:// URL"):
        graph_identity.endpoints("commercial", "http://graph.example")


def test_retry_after_is_seconds_or_a_date_else_exponential_backoff():
    assert graph.retry_after("7", 0) == 7.0
    assert graph.retry_after(email.utils.formatdate(1000.0 + 12, usegmt=True), 0, now=1000.0) == 12.0
    assert graph.retry_after(email.utils.formatdate(900.0, usegmt=True), 0, now=1000.0) == 0.0
    assert [graph.retry_after(None, n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert graph.retry_after("soon", 2) == 4


class _Recorder:
    """An opener that answers as the token service and Graph would, and records where each request went."""

    def __init__(self):
        self.sent = []

    def open(self, request, timeout=None):
        body = parse_qs(request.data.decode()) if request.data else {}
        self.sent.append((request.get_method(), request.full_url, body.get("scope", [""])[0]))
        if request.full_url.endswith("/token"):
            data = {"token_type": "Bearer", "expires_in": 3599, "access_token": "t0ken"}
        else:
            data = {"value": [sensor("DC01")] if "sensors" in request.full_url else []}
        answer = io.BytesIO(json.dumps(data).encode())
        answer.status, answer.headers = 200, {}
        return answer


@pytest.mark.parametrize("cloud, login, root", [
    ("gcc_high", "https://login.microsoftonline.us", "https://graph.microsoft.us"),
    ("dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    ("gcc", "https://login.microsoftonline.com", "https://graph.microsoft.com"),
])
def test_a_government_cloud_asks_its_own_token_service_for_its_own_graph(cloud, login, root):
    opener = _Recorder()
    client = graph.GraphClient(tenant_id="contoso.onmicrosoft.us", client_id="c1",
                               credential=lambda url: {"client_secret": "s"}, login_root=graph_identity.endpoints(cloud)[0],
                               graph_root=graph_identity.endpoints(cloud)[1], opener=opener)
    sensors, issues = health.read(client.get_all)
    assert [s["displayName"] for s in sensors] == ["DC01"] and issues == []
    assert opener.sent == [
        ("POST", login + "/contoso.onmicrosoft.us/oauth2/v2.0/token", root + "/.default"),
        ("GET", root + "/v1.0/security/identities/sensors", ""),
        ("GET", root + "/v1.0/security/identities/healthIssues?$filter=Status%20eq%20'open'", ""),
    ]

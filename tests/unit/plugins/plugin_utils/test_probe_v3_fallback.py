# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sensor v3's identity channel (<geoLocationUrl>cnc/identity/api, 500 counted as reachable, as the
DefenderForIdentity module's Test-MDISensorApiConnection does) and Defender for Endpoint's fallback to a direct
connection (works_only_direct: a warning with the fix, never reachable), in the catalogue, the outcomes, the task
result and the host's line."""

from __future__ import annotations

import json

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _line as lines
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _summary as s
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _endpoints as e
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as o
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _report as r
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as sensor

GEO = "https://winatp-gw-eus.microsoft.com/"
IDENTITY = GEO + "cnc/identity/api"
PROXY = "http://mdeproxy.corp:8080"


@pytest.mark.parametrize("geo", [GEO, GEO.rstrip("/")])
def test_the_identity_channel_is_the_geo_url_and_cnc_identity_api_first_in_the_catalogue(geo):
    endpoints = e.build_catalogue(workspace="contoso", include_crl=False, v3_geo_url=geo)
    assert [(x.id, x.url, x.rule) for x in endpoints][0] == ("mdi_v3_identity", IDENTITY, "v3_identity")
    assert endpoints[1].id == "mdi_workspace"
    # alone: a v3 host needs no workspace name
    assert [x.url for x in e.build_catalogue(products=[], include_crl=False, v3_geo_url=geo)] == [IDENTITY]


def test_a_bad_geo_url_is_a_problem_naming_the_option():
    with pytest.raises(e.CatalogueError) as info:
        e.build_catalogue(products=[], include_crl=False, v3_geo_url="winatp-gw-eus")
    assert info.value.problems == ["v3_geo_url: 'winatp-gw-eus' is not an http(s) URL"]


@pytest.mark.parametrize("status, expected", [(500, "reachable"), (200, "blocked_by_proxy"), (403, "blocked_by_proxy"),
                                              (404, "blocked_by_proxy")])
def test_only_500_from_the_identity_channel_is_reachable(status, expected):
    # Test-MDISensorApiConnection: a 200 on cnc/identity/api is `throw` then $false; only InternalServerError is $true
    endpoint = e.v3_identity(GEO)
    assert o.classify_http(endpoint, status, {}) == expected


def test_a_blocked_identity_channel_says_which_channel_and_what_to_allow():
    result = o.make_result(e.v3_identity(GEO), "blocked_by_proxy", via="target", mode="named", status=403)
    assert result["hint"].startswith("Allow winatp-gw-eus.microsoft.com on the proxy: it refused the request")
    assert "the sensor v3's identity channel (%s" % IDENTITY in result["hint"]


def test_the_onboarding_info_gives_the_geo_url():
    body = json.dumps({"orgId": "org-1", "geoLocationUrl": GEO, "datacenter": "EUS"})
    atp = remote.KeyRead(sensor.ATP_POLICY_KEY, True, {"onboardinginfo": remote.RegValue(
        "OnboardingInfo", "REG_SZ", None, json.dumps({"body": body}))})
    absent = remote.KeyRead("HKLM:\\X", False)
    settings = sensor.mde_settings(atp, absent, absent)
    assert (settings["org_id"], settings["geo_location_url"]) == ("org-1", GEO)
    broken = remote.KeyRead(sensor.ATP_POLICY_KEY, True, {"onboardinginfo": remote.RegValue(
        "OnboardingInfo", "REG_SZ", None, "not json")})
    assert sensor.mde_settings(broken, absent, absent)["geo_location_url"] is None


def results(named_outcome, direct_outcome, endpoint=None):
    endpoint = endpoint or e.v3_identity(GEO)
    return endpoint, [
        o.make_result(endpoint, named_outcome, via="target", mode="named", proxy=PROXY),
        o.make_result(endpoint, direct_outcome, via="target", mode="direct", status=500 if direct_outcome ==
                      "reachable" else None),
    ]


def test_a_failing_proxy_hidden_by_the_direct_fallback_works_only_direct():
    endpoint, found = results("proxy_unreachable", "reachable")
    o.direct_fallback(found, [endpoint], PROXY)
    named, direct = found
    assert named["outcome"] == "proxy_unreachable"
    assert (direct["outcome"], direct["proxy_outcome"], direct["status"]) == \
        ("works_only_direct", "proxy_unreachable", 500)
    assert direct["hint"].startswith("Fix the proxy %s for winatp-gw-eus.microsoft.com (through it: proxy_unreachable)"
                                     % PROXY)
    assert "falls back to a direct connection" in direct["hint"] and "TelemetryProxyServer" in direct["hint"]
    summary = r.summarize(found, via="target", account="SYSTEM", elapsed_total=1.0, modes=["named", "direct"])
    assert summary["all_reachable"] is False and summary["failing"] == []
    assert summary["working_modes"] == {IDENTITY: []}
    assert summary["works_only_direct"] == [{"url": IDENTITY, "endpoint": "mdi_v3_identity",
                                             "proxy_outcome": "proxy_unreachable", "hint": direct["hint"]}]
    assert r.failure_message(summary) == "1 of 1 endpoint(s) not reachable: %s (works_only_direct)" % IDENTITY
    line = lines._probe_text(s.probe_entry(dict(summary, account="SYSTEM"), set()))
    assert line == "SYSTEM WORKS ONLY DIRECT (%s: %s) [modes: named 0/1, direct 1/1]" % (IDENTITY, direct["hint"])


@pytest.mark.parametrize("named, direct, outcomes, all_reachable", [
    ("reachable", "reachable", ["reachable", "reachable"], True),      # the proxy works: nothing to say
    ("reachable", "dns_failure", ["reachable", "dns_failure"], True),  # no direct egress: the proxy is what counts
    ("timeout", "dns_failure", ["timeout", "dns_failure"], False),     # neither: unreachable, as before
])
def test_the_fallback_changes_nothing_else(named, direct, outcomes, all_reachable):
    endpoint, found = results(named, direct)
    o.direct_fallback(found, [endpoint], PROXY)
    assert [x["outcome"] for x in found] == outcomes
    summary = r.summarize(found, via="target", account="SYSTEM", elapsed_total=1.0, modes=["named", "direct"])
    assert summary["all_reachable"] is all_reachable and summary["works_only_direct"] == []


def test_without_the_fallback_the_client_analyzer_reading_stays():
    # direct_fallback off (a v2 sensor's own proxy does not fall back): any tested mode reaching the URL counts
    endpoint, found = results("proxy_unreachable", "reachable")
    summary = r.summarize(found, via="target", account="SYSTEM", elapsed_total=1.0, modes=["named", "direct"])
    assert summary["all_reachable"] is True and summary["working_modes"] == {IDENTITY: ["direct"]}


@pytest.mark.parametrize("outcome", [x for x in o.OUTCOMES if x != "reachable"])
def test_the_identity_channel_hints_are_one_sentence(outcome):
    hint = o.hint_for(outcome, e.v3_identity(GEO), status=403, proxy=PROXY, cause="timeout", account="SYSTEM")
    assert hint.endswith(".") and hint.count(". ") == 0 and IDENTITY in hint, hint

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloud's verdict in the host summaries: the ``cloud`` field from a reading, its text in the line, the gate,
set_stats, the report's cell, and the check of the role's Graph variables."""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _sensor_health as health
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _verdict as cv
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _summary as summary
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _totals as totals
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _view as report
from tests.network.graph_server import health_issue, sensor

STOPPED = "Sensor stopped communicating"
ADVICE = "Check the communication between the sensor and the cloud service isn't blocked."


def reading(**extra) -> dict:
    names = {h: health.host_names(h) for h in ("dc01", "dc02", "dc03")}
    out = health.verdicts(names, [sensor("DC01"), sensor("DC02", status="disconnected", health="notHealthyHigh")],
                          [health_issue(STOPPED, ["DC02.corp.example"], severity="high", recommendation=ADVICE)])
    out.update(dict(readings=1, waited=0.0, settled=False, waited_for=[], changed=False), **extra)
    return out


def rows() -> list:
    return [summary.host_summary(h, mode="check", proxy={"in_sync": True, "targets": []}) for h in
            ("dc01", "dc02", "dc03")]


def test_each_row_gets_its_verdict_in_its_summary_and_line():
    out = {r["host"]: r for r in totals.with_cloud(rows(), reading())}
    assert out["dc01"]["cloud"]["connected"] is True
    assert out["dc01"]["line"] == "dc01: in_sync; cloud connected (Graph: healthy, upToDate)"
    assert out["dc02"]["line"] == ("dc02: in_sync; cloud NOT CONNECTED (Graph: notHealthyHigh, disconnected; "
                                   "%s: %s)" % (STOPPED, ADVICE))
    assert out["dc02"]["cloud"]["issues"] == [{"name": STOPPED, "severity": "high", "recommendations": [ADVICE]}]
    assert out["dc03"]["line"].startswith("dc03: in_sync; cloud: no sensor in Graph (no sensor in Graph is named dc03")
    assert all(not r["outcome"] for r in out.values())  # the verdict alone fails nobody


def test_the_gate_fails_only_the_hosts_graph_shows_not_connected():
    out = {r["host"]: r for r in totals.with_cloud(rows(), reading(), fail=True)}
    assert out["dc02"]["outcome"]["failed"] is True
    assert "Microsoft Graph shows the sensor not connected (atp_proxy_fail_on_cloud)" in out["dc02"]["outcome"]["msg"]
    assert out["dc02"]["end"] == out["dc02"]["outcome"]  # the playbooks end it after the summary
    assert not out["dc01"]["outcome"] and not out["dc03"]["outcome"] and not out["dc01"]["end"]


def test_a_failed_reading_is_on_every_line_and_in_set_stats():
    failed = {"failed": True, "msg": "GET security/identities/healthIssues: HTTP 403 Forbidden",
              "missing_permissions": ["SecurityIdentitiesHealth.Read.All"]}
    out = totals.with_cloud(rows(), failed)
    assert all(r["line"].endswith("; cloud not read: GET security/identities/healthIssues: HTTP 403 Forbidden")
               for r in out)
    assert out[0]["cloud"]["missing_permissions"] == ["SecurityIdentitiesHealth.Read.All"]
    stats = totals.stats(out)
    assert stats["cloud"]["not_read"] == ["dc01", "dc02", "dc03"] and "HTTP 403" in stats["cloud"]["error"]
    assert all(r["outcome"]["failed"] for r in totals.with_cloud(rows(), failed, fail=True))


def test_a_skipped_reading_changes_nothing():
    plain = rows()
    for skipped in ({"skipped": True, "changed": False}, None, {}):
        assert totals.with_cloud(plain, skipped) == plain
    assert "cloud" not in totals.stats(plain) and totals.totals(plain)["cloud_read"] == 0


def test_a_host_still_disconnected_after_the_wait_says_so():
    out = {r["host"]: r for r in totals.with_cloud(rows(), reading(readings=5, waited=4.2, waited_for=["dc02"]))}
    assert out["dc02"]["line"].endswith("; still so after waiting 4s (atp_proxy_cloud_wait_timeout))")
    assert out["dc01"]["cloud"]["waited"] is None  # not waited for


def test_stats_totals_and_report():
    out = totals.with_cloud(rows(), reading())
    assert totals.stats(out)["cloud"]["connected"] == ["dc01"]
    assert totals.stats(out)["cloud"]["not_connected"] == ["dc02"]
    assert {k: v for k, v in totals.totals(out).items() if k.startswith("cloud")} == {
        "cloud_read": 3, "cloud_connected": 1, "cloud_not_connected": 1}
    view = report.build(out)
    assert view["has_cloud"] is True
    cells = {h["host"]: h["cloud"] for h in view["hosts"]}
    assert (cells["dc01"]["label"], cells["dc01"]["css"], cells["dc01"]["causes"]) == ("connected", "ok", [])
    assert (cells["dc02"]["label"], cells["dc02"]["css"]) == ("NOT CONNECTED", "bad")
    assert cells["dc02"]["detail"] == ["notHealthyHigh, disconnected", STOPPED + " (high)"]
    cloud_causes = [c for c in view["causes"] if c.title == "the cloud's verdict"]
    not_connected = "cloud NOT CONNECTED (Graph: notHealthyHigh, disconnected; %s: %s)" % (STOPPED, ADVICE)
    no_sensor = "cloud: no sensor in Graph (no sensor in Graph is named <host> (2 sensor(s) listed))"
    assert [(c.hosts, c.lines) for c in cloud_causes] == [
        (["dc02"], [([], not_connected)]), (["dc03"], [([], no_sensor)])]
    assert report.build(rows())["has_cloud"] is False


def test_the_role_variables_name_what_is_missing():
    assert cv.problems({"atp_proxy_cloud_verdict": False}, {}) == []
    given = {"atp_proxy_cloud_verdict": True, "atp_proxy_graph_tenant_id": "t", "atp_proxy_graph_client_id": "c",
             "atp_proxy_graph_client_secret": "s"}
    assert cv.problems(given, {}) == []
    from_awx = {"ATP_GRAPH_TENANT_ID": "t", "ATP_GRAPH_CLIENT_ID": "c", "ATP_GRAPH_CERTIFICATE_PATH": "/k.pem"}
    assert cv.problems({"atp_proxy_cloud_verdict": True}, from_awx) == []
    both = dict(given, atp_proxy_graph_certificate_path="/k.pem", atp_proxy_graph_client_id="")
    assert cv.problems(both, {}) == [
        "atp_proxy_cloud_verdict is true, but atp_proxy_graph_client_id is required (or set ATP_GRAPH_CLIENT_ID); "
        "atp_proxy_graph_client_secret and atp_proxy_graph_certificate_path are mutually exclusive: give one"]
    assert "'s'" not in "".join(cv.problems(both, {}))  # the secret is never quoted


def test_the_fleet_summary_is_what_the_playbooks_read_in_one_pass():
    """finish.yml's one fact: the second play targets end_hosts and finds each one's row by the index; the lines and
    set_stats data equal what fleet_lines and fleet_stats give."""
    ended = totals.with_cloud(rows(), reading(), fail=True)
    fleet = totals.fleet_summary(ended)
    assert fleet["rows"] == ended
    assert fleet["end_hosts"] == ["dc02"]
    assert fleet["rows"][fleet["index"]["dc02"]]["host"] == "dc02"
    assert fleet["index"] == {"dc01": 0, "dc02": 1, "dc03": 2}
    assert fleet["lines"] == [r["line"] for r in ended]
    assert fleet["stats"] == totals.stats(ended)
    assert totals.fleet_summary(rows())["end_hosts"] == []
    # a host whose job task failed already (bad input) has an outcome but no end: the second play does not end it again
    bad_input = dict(ended[0], outcome={"failed": True, "msg": "bad input"}, end={})
    assert totals.fleet_summary([bad_input] + ended[1:])["end_hosts"] == ["dc02"]
    # each row's line as the row has it (fleet_lines' rule), not rebuilt
    recorded = [dict(r, line="%s: as recorded" % r["host"]) for r in ended]
    assert totals.fleet_summary(recorded)["lines"] == ["dc01: as recorded", "dc02: as recorded", "dc03: as recorded"]
    assert totals.fleet_summary([]) == {"rows": [], "index": {}, "end_hosts": [], "lines": [], "stats": totals.stats([])}

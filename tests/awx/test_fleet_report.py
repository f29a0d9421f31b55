# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's content: what an admin reads in it, from rows the role really builds.

Tests named ``test_why_*`` are what the old report got wrong, one each, stated as what an admin now reads; each
fails on the old report (Python string concatenation, one hint per cell, red zeros, full URLs as headers).
Chromium (screenshots, sorting, filtering, the Content-Security-Policy) is in test_fleet_report_browser.py;
the action, the task file and merging in test_fleet_report_action.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from ansible_collections.atp.sensor_proxy.plugins.filter.fleet_report import fleet_report
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _endpoint_cells as endpoint_cells
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _render as render
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _rows as rows_mod
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _status as st
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _summary as summary
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _totals as totals_mod
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _view as report
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _endpoints as endpoints
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes

from . import _report_fixtures as fx
from ._report_page import Page

GENERATED = "2026-11-22 10:15:00 UTC"


def html(rows, **kwargs) -> str:
    return render.render(rows, "html", generated=GENERATED, **kwargs)


def markdown(rows, **kwargs) -> str:
    return render.render(rows, "markdown", generated=GENERATED, **kwargs)


@pytest.fixture(scope="module")
def kinds():
    return fx.kinds()


@pytest.fixture(scope="module")
def page(kinds):
    return Page(html(kinds))


# ---------------------------------------------------------------------------
# What the old report got wrong, one test each
# ---------------------------------------------------------------------------
def test_why_account_cells_show_current_against_wanted(page):
    """Was: "drifted, before: different". Now the decoded current value, then the wanted one."""
    css, text = page.cell("dc03", data_sid="S-1-5-18")
    assert css.split()[-1] == "warn" and text.startswith("would change")
    assert text.index("proxy old.corp:3128") < text.index("proxy proxy.corp:8080, bypass <local>;*.corp.example")
    css, text = page.cell("<dc04 & co>", data_sid="S-1-5-18")
    assert text.startswith("drifted") and "old.corp:3128" in text and "proxy.corp:8080" in text
    # Written: the old value is what it was, the wanted one is what it is now.
    assert page.cell("dc02", data_sid="S-1-5-19") == (
        "acct change", "changed proxy old.corp:3128 proxy proxy.corp:8080, bypass <local>;*.corp.example")
    assert "(absent)" in page.cell("dc03", data_sid="S-1-5-19")[1]
    # In sync: no arrow, the value on hover.
    assert page.cell("dc01", data_sid="S-1-5-18") == ("acct ok", "in sync")


def test_why_endpoint_columns_have_short_names_and_the_url_on_hover(page):
    """Was: full URLs as column headers."""
    ends = [(text, attrs) for text, attrs in page.headers if "data-url" in attrs]
    assert [t for t, _a in ends] == ["mdi_workspace", "crl_microsoft", "crl_ctldl", "crl_pkiops", "crl_pki"]
    assert all(a["title"] == a["data-url"] and a["data-url"].startswith("http") for _t, a in ends)
    assert not any("://" in text for text, _a in page.headers)
    assert dict((t, a["title"]) for t, a in ends)["mdi_workspace"] == fx.PING.url


def test_why_each_cause_is_explained_once_with_the_hosts_it_affects():
    """Was: the same hint in every cell. Now once, with its hosts; the cells refer to it by number."""
    rows = fx.fleet(60)
    blocked = [r["host"] for r in rows if any(res["outcome"] == "blocked_by_proxy" for p in r["probe"]
                                              for res in p["results"])]
    assert len(blocked) >= 5
    text = html(rows)
    hint = outcomes.hint_for("blocked_by_proxy", fx.CRL[0], status=403)
    assert text.count(hint.replace("'", "&#x27;")) == 1, "a hint is explained once"
    parsed = Page(text)
    cause = parsed.cause_of(hint)
    assert "%d hosts" % len(blocked) in cause["text"]
    for host in blocked:
        css, cell = parsed.cell(host, data_ep="crl_microsoft")
        assert css == "ep bad" and cell.endswith(cause["number"]) and hint not in cell
        assert cause["number"] in parsed.rows[host]["attrs"]["data-causes"].split()
    # The four CRL hosts the proxy blocks for the same hosts are one problem, each with its own hint.
    for endpoint in fx.CRL:
        assert outcomes.hint_for("blocked_by_proxy", endpoint, status=403) in cause["text"]


def test_why_zero_tiles_are_neutral(page):
    """Was: "0 FAILED" and "0 HIVE NOT LOADED" red at zero."""
    rows = [fx.host("dc01", proxy=fx.proxy_result([fx.target(fx.SYSTEM, "identical")], write=True),
                    probes=[fx.healthy("LocalService")])]
    tiles = Page(html(rows)).tiles
    for key in ("failed", "hive_not_loaded", "unreachable", "drifted", "partial", "probe_failed"):
        assert tiles[key] == ("tile zero", "0"), key
    assert tiles["in_sync"] == ("tile ok", "1")
    # Not zero: coloured.
    assert page.tiles["failed"] == ("tile bad", "1") and page.tiles["hive_not_loaded"] == ("tile bad", "1")


def test_why_endpoints_tile_when_the_probe_was_off():
    """Was: "0/0 endpoints reachable", green."""
    rows = [fx.host("dc01", proxy=fx.proxy_result([fx.target(fx.SYSTEM, "identical")], write=True))]
    assert Page(html(rows)).tiles["endpoints"] == ("tile zero", "probe off")
    some_fail = Page(html(fx.kinds())).tiles["endpoints"]
    assert some_fail == ("tile bad", "20/23")


def test_why_partial_writes_and_backups_are_counted():
    """Was: "0 BACKUPS WRITTEN" in a run where hosts whose connection dropped wrote one. Hosts without a recorded
    summary come from hostvars as _summary.row_for builds them: unreachable, with what they registered."""
    hostvars = {
        "dc%02d" % i: {"atp_proxy_result": {"unreachable": True, "msg": "connection dropped during reg import",
                                            "written": [fx.SYSTEM], "maybe_written": [fx.LOCAL_SERVICE],
                                            "dropped_at": "during reg import",
                                            "backup_file": fx.BACKUP % ("20261122", i)}}
        for i in range(1, 7)
    }
    hostvars["dc07"] = {}
    text = fleet_report(hostvars, ["dc%02d" % i for i in range(1, 8)], generated=GENERATED)
    parsed = Page(text)
    assert parsed.tiles["backups_written"] == ("tile neutral", "6")
    assert parsed.tiles["partial"] == ("tile bad", "6")
    assert parsed.tiles["unreachable"] == ("tile bad", "7")
    assert parsed.rows["dc07"]["attrs"]["data-status"] == "unreachable"
    css, text = parsed.cell("dc03", data_sid="S-1-5-18")
    assert (css, text) == ("acct change", "written")
    assert parsed.cell("dc03", data_sid="S-1-5-19") == ("acct bad", "maybe written")
    assert "partial write: written LocalSystem; maybe written LocalService" in parsed.cell(
        "dc03", data_status="unreachable")[1]
    assert parsed.cause_of("The connection dropped during reg import, part way")["text"].count("6 hosts") == 1
    totals = totals_mod.totals(rows_mod.rows_of([summary.row_for(h, v) for h, v in hostvars.items()]))
    assert (totals["partial"], totals["backups_written"]) == (6, 6)


def test_why_hints_are_the_probes_own_words(kinds, page):
    """Was: an invented hint ("bypass auth <for> *.atp.azure.com"). Every hint on the page is the one the probe
    gave, word for word, escaped."""
    given = {r["hint"] for row in kinds for p in row["probe"] for r in p["results"] if r["hint"]}
    assert given, "the fixtures carry real hints"
    auth = outcomes.hint_for("proxy_auth_required", fx.PING, status=407, account="LocalService")
    assert auth in given and "<for>" not in " ".join(given)
    for hint in given:
        assert any(hint in c["text"] for c in page.causes), hint


def test_why_the_page_comes_from_autoescaped_jinja2_templates():
    """Was: Python string concatenation. Now Jinja2 templates next to _fleet/_view.py, HTML autoescaped: markup or
    template syntax in the data stays text."""
    env = render.environment("html")
    assert env.autoescape is True and render.environment("markdown").autoescape is False
    assert {"_report.html.j2", "_report.md.j2"} <= set(env.list_templates())
    evil = "{{ 7 * 7 }}</td></tr></table><script>alert(1)</script><img src=x onerror=alert(2)>"
    rows = [fx.host(evil, proxy={"failed": True, "error": evil})]
    text = html(rows)
    parsed = Page(text)
    assert [t for t, _a in parsed.tags].count("script") == 1 and "img" not in [t for t, _a in parsed.tags]
    assert list(parsed.rows) == [evil] and "{{ 7 * 7 }}" in text and ">49<" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    md = markdown(rows)
    assert "<script>" not in md and "&lt;script&gt;" in md


# ---------------------------------------------------------------------------
# The rest of the page
# ---------------------------------------------------------------------------
def test_tiles_are_the_status_models_totals(kinds, page):
    totals = totals_mod.totals(kinds)
    for status in st.STATUSES:
        assert page.tiles[status][1] == str(totals[status]), status
    assert page.tiles["hosts"] == ("tile neutral", "8")
    assert (page.tiles["partial"][1], page.tiles["backups_written"][1]) == ("1", "2")
    assert page.tiles["probe_failed"] == ("tile bad", str(totals["probe_failed"]))
    assert page.tiles["unreachable"] == ("tile bad", "2")


def test_every_kind_of_host_reads_as_what_happened(page):
    status = {host: row["attrs"]["data-status"] for host, row in page.rows.items()}
    assert status == {"dc01": "in_sync", "dc02": "changed", "dc03": "would_change", "<dc04 & co>": "drifted",
                      "dc05": "hive_not_loaded", "dc06": "failed", "dc07": "unreachable", "dc08": "unreachable"}
    assert page.cell("dc05", data_sid="S-1-5-19")[1].startswith("hive not loaded")
    assert "atp_proxy_load_hive" in page.cause_of("registry hive of LocalService")["text"]
    assert page.cause_of("Access is denied")["text"].endswith("dc06")
    assert "before the role ran" in page.cause_of("no result")["text"]
    assert page.cell("dc02", data_ep="mdi_workspace")[0] == "ep bad"
    assert page.cell("dc01", data_ep="mdi_workspace") == ("ep ok", "✓ 200")
    assert page.cell("dc05", data_ep="mdi_workspace") == ("ep off", "-")
    # The backup: the time it was taken, the full path on hover.
    backup = [a for c, a, t in page.rows["dc02"]["cells"] if "backup" in c][0]
    assert backup["title"] == fx.BACKUP % ("20261122", 2) and "2026-11-22 08:15" in page.cell("dc02", class_="backup")[1]


def test_a_probe_before_a_pending_change_says_so(page):
    """Check mode: LocalService of dc03 is about to be written; its failing probe is amber and says why."""
    css, text = page.cell("dc03", data_ep="mdi_workspace")
    assert css == "ep warn" and "DNS" in text
    assert page.cause_of("dns failure, before the pending change")["class"] == "cause warn"
    assert page.cause_of("tls intercepted, while the account is drifted")


def test_no_secret_reaches_the_page_or_its_files():
    row = fx.host("dc01", proxy={"failed": True, "error": "proxy http://svc-probe:S3cr3t!@proxy.corp:8080 said 407"},
                  probes=[fx.healthy("LocalService")])
    row["probe"][0]["results"][0]["proxy"] = "http://svc-probe:S3cr3t!@proxy.corp:8080"
    row["sensor"] = {"installed": True, "proxy_password": "S3cr3t!", "warnings": ["user:S3cr3t!@proxy.corp:8080"]}
    for text in (html([row]), markdown([row]).replace("\\*", "*"), json.dumps(rows_mod.rows_of([row]))):
        assert "S3cr3t" not in text
        assert "svc-probe:********@proxy.corp:8080" in text


def test_sensor_method_effective_proxy_and_mde_settings_when_present():
    row = fx.host("dc01", proxy=fx.proxy_result([fx.target(fx.SYSTEM, "identical")], write=True))
    row.update(method="sensor_config", sensor={"installed": True, "generation": "v2", "version": "2.240",
                                               "warnings": ["the sensor's own proxy and WinINet differ"]},
               effective_proxy={"sensor": {"proxy": "proxy.corp:8080", "source": "sensor_config", "ambiguous": True},
                                "updater": {"proxy": "proxy.corp:8080", "source": "wininet_per_account"}},
               readiness={"ok": False, "fixes": ["import the DigiCert Global Root G2 certificate"]},
               mde={"configured": True, "changed": True,
                    "settings": [{"name": "winhttp", "current": "direct", "wanted": "proxy.corp:8080", "changed": True}]})
    bare = fx.host("dc02", proxy=fx.proxy_result([fx.target(fx.SYSTEM, "identical")], write=True))
    broken = fx.host("dc03", proxy=fx.proxy_result([fx.target(fx.SYSTEM, "identical")], write=True))
    broken["mde"] = {"configured": True, "changed": False, "failed": True, "settings": [], "actions": [],
                     "error": "win_regedit failed on the host: Access is denied", "backup_file": ""}
    parsed = Page(html([row, bare, broken]))
    assert parsed.cell("dc03", class_="mde bad")[1].startswith("failed")
    assert parsed.cause_of("win_regedit failed on the host")["text"].endswith("dc03")
    headers = [t for t, _a in parsed.headers]
    assert {"Sensor", "Effective proxy", "Defender for Endpoint"} <= set(headers)
    cells = dict(zip(headers, (t for _c, _a, t in parsed.rows["dc01"]["cells"]), strict=True))
    assert cells["Sensor"].startswith("SensorConfiguration.json v2 2.240 not ready")
    assert "sensor proxy.corp:8080 sensor config, ambiguous" in cells["Effective proxy"]
    assert "updater proxy.corp:8080 wininet per account" in cells["Effective proxy"]
    assert cells["Defender for Endpoint"] == "changed winhttp direct → proxy.corp:8080"
    assert parsed.cause_of("DigiCert Global Root G2")["text"].endswith("dc01")
    assert parsed.cause_of("own proxy and WinINet differ")
    bare_cells = dict(zip(headers, (t for _c, _a, t in parsed.rows["dc02"]["cells"]), strict=True))
    assert (bare_cells["Sensor"], bare_cells["Effective proxy"], bare_cells["Defender for Endpoint"]) == (
        "-", "-", "not configured")
    # Absent from every row: no such columns at all.
    assert not {"Sensor", "Effective proxy", "Defender for Endpoint"} & {t for t, _a in Page(html([bare])).headers}


def test_the_markdown_twin(kinds):
    text = markdown(kinds)
    assert text.startswith("# atp.sensor\\_proxy fleet report\n") or text.startswith("# atp.sensor_proxy fleet report\n")
    assert "- **Hosts**: 8" in text and "- **Partial writes**: 1" in text and "- **Backups written**: 2" in text
    assert "- **Endpoints reachable**: 20/23" in text
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split(" | ")]
    assert header[:5] == ["Host", "Status", "LocalSystem", "LocalService", "Backup"]
    assert "mdi\\_workspace" in header or "mdi_workspace" in header
    rows = {r.split(" | ")[0][2:]: r for r in lines[1:]}
    assert set(rows) == {"dc01", "dc02", "dc03", "&lt;dc04 &amp; co&gt;", "dc05", "dc06", "dc07", "dc08"}
    assert "✅ in sync" in rows["dc01"]
    assert "🔄 changed: proxy old.corp:3128 → proxy proxy.corp:8080" in rows["dc02"]
    assert "⚠️ would change: (absent) → proxy proxy.corp:8080" in rows["dc03"]
    assert "❌ unreachable" in rows["dc07"] and "maybe written LocalService" in rows["dc07"]
    # Every row has as many cells as the header (pipes in data are escaped).
    widths = {len(re.split(r"(?<!\\)\|", r)) for r in lines}
    assert len(widths) == 1
    # The causes, each once, and the endpoints with their URLs.
    assert text.count("Allow anonymous (unauthenticated) access") == 1
    assert "- **crl\\_microsoft**: http://crl.microsoft.com" in text or "- **crl_microsoft**: http://crl.microsoft.com" in text


def test_filter_takes_hostvars_summaries_and_lists(kinds):
    by_host = {r["host"]: r for r in kinds}
    hostvars = {h: {"atp_proxy_summary": r} for h, r in by_host.items()}
    names = list(by_host) + ["dc99"]
    from_hostvars = Page(fleet_report(hostvars, names, generated=GENERATED))
    from_list = Page(fleet_report(kinds, names, generated=GENERATED))
    assert list(from_hostvars.rows) == list(from_list.rows) == names
    assert from_hostvars.rows["dc99"]["attrs"]["data-status"] == "unreachable"
    assert from_hostvars.tiles == from_list.tiles
    with pytest.raises(Exception, match="html' or 'markdown"):
        fleet_report(kinds, format="pdf")


def test_csp_allows_exactly_the_inline_style_and_script(page):
    csp = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1
    policy = dict(d.strip().split(" ", 1) for d in csp[0].split(";"))

    def digest(text):
        return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == digest(page.scripts[0]) and len(page.scripts) == 1
    assert policy["style-src"] == digest(page.styles[0]) and len(page.styles) == 1
    assert policy["img-src"] == "'none'" and policy["base-uri"] == "'none'"
    # Nothing is loaded from anywhere, and no inline handler or style attribute exists.
    for tag, attrs in page.tags:
        assert not {"src", "srcset"} & set(attrs), tag
        assert not any(name.startswith("on") or name == "style" for name in attrs), (tag, attrs)
        assert tag not in ("link", "img", "iframe", "object", "embed", "base")
        if tag == "a":
            assert attrs["href"].startswith("#cause-")
    assert "url(" not in page.styles[0] and "@import" not in page.styles[0]


def test_short_endpoint_labels_stay_unique_when_an_id_names_several_urls():
    other = endpoints.build_catalogue(workspace="fabrikam", products=["mdi"], include_crl=False)[0]
    rows = [fx.host("dc01", probes=[fx.probe("LocalService", [(fx.PING, "reachable", 200)])],
                    proxy=fx.proxy_result([fx.target(fx.SYSTEM, "identical")], write=True)),
            fx.host("dc02", probes=[fx.probe("LocalService", [(other, "reachable", 200)])],
                    proxy=fx.proxy_result([fx.target(fx.SYSTEM, "identical")], write=True))]
    labels = [c["label"] for c in endpoint_cells.endpoint_columns(rows)]
    assert labels == ["contososensorapi.atp.azure.com", "fabrikamsensorapi.atp.azure.com"]


def test_outcome_short_names_cover_exactly_the_probes_outcomes():
    assert set(endpoint_cells.OUTCOME_SHORT) == set(outcomes.OUTCOMES) - {outcomes.REACHABLE}
    assert set(report.STATUS_CLASS) == set(st.STATUSES)


def test_a_cell_names_each_cause_once_when_two_accounts_fail_alike():
    """Both accounts fail DNS with their own hint (copy the proxy to *that* account): one cause entry with both
    hints, referred to once per cell."""
    row = fx.host("dc01", proxy=fx.proxy_result([fx.target(fx.SYSTEM, "identical")], write=True),
                  probes=[fx.probe("LocalService", [(fx.PING, "dns_failure", None)]),
                          fx.probe("SYSTEM", [(fx.PING, "dns_failure", None)])])
    parsed = Page(html([row]))
    (cause,) = parsed.causes
    assert "LocalService (S-1-5-19)" in cause["text"] and "SYSTEM (S-1-5-18)" in cause["text"]
    assert parsed.cell("dc01", data_ep="mdi_workspace") == ("ep bad", "✗ DNS 1")


def test_defender_settings_that_differ_in_a_read_only_run_are_drift_not_in_sync():
    """A review found a drift check's report calling every drifted Defender for Endpoint setting "✅ in sync": a
    read-only run changes nothing, so its mde part is never "changed"; its settings say what differs."""
    mde = {"configured": True, "changed": False, "actions": [], "backup_file": "",
           "settings": [{"name": "telemetry_proxy_server", "current": "old.corp:3128", "wanted": "proxy.corp:8080",
                         "changed": True}]}
    drift = fx.host("dc01", mode="check", proxy=fx.proxy_result([fx.target(fx.SYSTEM, "identical")], write=False))
    dry = fx.host("dc02", check_mode=True, proxy=fx.proxy_result([fx.target(fx.SYSTEM, "identical")], write=False))
    same = fx.host("dc03", mode="check", proxy=fx.proxy_result([fx.target(fx.SYSTEM, "identical")], write=False))
    drift["mde"] = dict(mde)
    dry["mde"] = dict(mde)
    same["mde"] = dict(mde, settings=[dict(mde["settings"][0], current="proxy.corp:8080", changed=False)])
    parsed = Page(html([drift, dry, same]))
    assert parsed.cell("dc01", class_="mde warn")[1].startswith("drifted telemetry_proxy_server old.corp:3128 →")
    assert parsed.cell("dc02", class_="mde warn")[1].startswith("would change")
    assert parsed.cell("dc03", class_="mde ok")[1].startswith("in sync")

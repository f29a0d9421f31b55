# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's and the Graph read's entry points called directly, without an action plugin or Ansible's runtime:
what the actions map their arguments to (``_probe._run.probe_endpoints``, ``_cloud._health_check.sensor_health``)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from ansible_collections.atp.sensor_proxy.plugins.action.atp_endpoint_probe import ActionModule as ProbeAction
from ansible_collections.atp.sensor_proxy.plugins.action.mdi_sensor_health import ActionModule as HealthAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _health_check as health_check
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host._remote import CountingExecutor
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _run as run

PING = "https://contososensorapi.atp.azure.com/tri/sensor/api/ping"
SECRET = "Pr0xy:P@ss/%"


def options(action, **given):
    """Every option with its documented default, then ``given``: what the action's validation hands over."""
    args = {name: spec.get("default") for name, spec in action.argument_spec().items()}
    args.update(given)
    return args


def host(answers):
    """A recorded ansible.windows.win_uri per URL, behind the executor the action builds."""
    seen = []

    def execute_module(module_name=None, module_args=None, task_vars=None):
        seen.append((module_name, dict(module_args)))
        return dict(answers[module_args["url"]])

    return CountingExecutor(execute_module, {}), seen


def probe(args, execute, tmp_path):
    return run.probe_endpoints(args, execute, account="LocalService", become=True, become_user="LocalService",
                               host="dc01", issuer_cache=str(tmp_path / "issuers")).to_result()


def test_the_probe_runs_from_its_entry_point(tmp_path):
    execute, seen = host({PING: {"changed": False, "url": PING, "status_code": 200, "msg": "OK"}})
    args = options(ProbeAction, workspace="contoso", include_crl=False, engine="win_uri", timeout=7)
    result = probe(args, execute, tmp_path)
    assert [(r["endpoint"], r["outcome"]) for r in result["results"]] == [("mdi_workspace", "reachable")]
    assert result["all_reachable"] is True and result["account"] == "LocalService" and result["round_trips"] == 1
    assert seen == [("ansible.windows.win_uri", {"url": PING, "method": "GET", "status_code": list(range(100, 600)),
                                                 "follow_redirects": "none", "validate_certs": True, "timeout": 7,
                                                 "return_content": False})]


def test_a_wrong_option_is_a_usage_error_without_the_password(tmp_path):
    execute, seen = host({})
    args = options(ProbeAction, workspace="contoso", proxy="http://ops:%s@proxy.corp:8080" % quote(SECRET, safe=""),
                   proxy_username="ops", modes=["named"])
    with pytest.raises(UsageError) as caught:
        probe(args, execute, tmp_path)
    assert str(caught.value) == ("proxy: credentials are given both in the proxy URL and in proxy_username; give "
                                 "them once")
    assert SECRET not in str(caught.value) and "P@ss" not in str(caught.value)
    assert seen == [] and execute.calls == []


@pytest.mark.parametrize("password", ["Gs-SECRET/9090", "Gs-SECRET#9090", "Gs-SECRET?9090", "Pr0xy:P@ss/%25"])
def test_a_password_that_breaks_the_proxy_url_is_refused_without_quoting_it(tmp_path, password):
    # Unencoded, '/', '?' or '#' ends the URL's authority: a URL parser then reads the password as the port and says
    # so, quoting it ("Port could not be cast to integer value as 'Gs-SECRET'").
    execute, seen = host({})
    args = options(ProbeAction, workspace="contoso", proxy="http://probeuser:%s@proxy.corp:8080" % password,
                   modes=["named"])
    with pytest.raises(UsageError) as caught:
        probe(args, execute, tmp_path)
    assert str(caught.value).startswith("proxy: the user or password in the proxy URL holds '/', '?' or '#'")
    assert "SECRET" not in str(caught.value) and "P@ss" not in str(caught.value)
    assert seen == [] and execute.calls == []


@pytest.mark.parametrize("proxy, message", [
    ("http://probeuser:Gs-SECRET@proxy.corp:80x", "proxy: 'http://***@proxy.corp:80x' is not a proxy URL (http://host:port)"),
    # Windows cannot build a PSCredential without a user name: the probe script failed on the host instead.
    ("http://:Gs-SECRET@proxy.corp:8080",
     "proxy: the proxy URL has a password but no user name (http://user:password@host:port)"),
])
def test_a_proxy_url_the_host_cannot_use_is_refused_masked(tmp_path, proxy, message):
    execute, seen = host({})
    with pytest.raises(UsageError) as caught:
        probe(options(ProbeAction, workspace="contoso", proxy=proxy, modes=["named"]), execute, tmp_path)
    assert str(caught.value) == message
    assert seen == [] and execute.calls == []


def test_a_runas_name_windows_refuses_fails_before_the_host_is_asked(tmp_path):
    execute, seen = host({})
    with pytest.raises(UsageError, match="become_user"):
        run.probe_endpoints(options(ProbeAction, workspace="contoso"), execute, account="S-1-5-19", become=True,
                            become_user="S-1-5-19", host="dc01", issuer_cache=str(tmp_path / "issuers"))
    assert seen == []


def test_the_graph_read_checks_its_numbers_before_any_request():
    args = options(HealthAction, client_secret="s", tenant_id="t", client_id="c", timeout=0, max_retries=-1)
    with pytest.raises(UsageError, match="^timeout, max_retries: must be positive$"):
        health_check.sensor_health(args, {}, {"dc01": ["dc01"]})


def test_the_graph_read_names_a_missing_identity_from_the_environment():
    with pytest.raises(UsageError, match="tenant_id is required \\(or set ATP_GRAPH_TENANT_ID\\)"):
        health_check.sensor_health(options(HealthAction, client_secret="s"), {}, {"dc01": ["dc01"]})


def test_an_ipv6_proxy_keeps_its_brackets_wherever_it_is_written():
    # urlsplit drops them from hostname: "http://::1:8080" is no URL, and the probe's messages quoted it so.
    from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_transport as graph_transport
    from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _proxy_auth as proxy_auth

    assert proxy_auth.proxy_display("http://[::1]:8080") == "http://[::1]:8080"
    assert proxy_auth.proxy_credentials("http://ops:pw@[fe80::1]:3128", None, None) == \
        ("http://[fe80::1]:3128", "ops", "pw")
    assert proxy_auth.proxy_with_auth("http://[::1]:8080", "ops", "p w") == "http://ops:p%20w@[::1]:8080"
    assert graph_transport.proxy_url("[::1]:8080", None, None) == "http://[::1]:8080"
    assert proxy_auth.proxy_display("proxy.corp:8080") == "http://proxy.corp:8080"

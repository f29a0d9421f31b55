# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mdi_sensor_health's action: bad options fail naming the option, before anything is sent, and never quote a
secret; it needs no connection and never runs a module on a host. (The reads themselves: tests/network.)"""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.action.mdi_sensor_health import ActionModule

from .harness import build_action

SECRET = "Unit!Cnry s3cret"
BASE = {"tenant_id": "contoso.onmicrosoft.com", "client_id": "00000000-0000-0000-0000-000000000001",
        "graph_endpoint": "https://127.0.0.1:9", "authority": "https://127.0.0.1:9", "use_proxy": False,
        "timeout": 1, "total_timeout": 2, "max_retries": 0}


def no_module(**kwargs):
    raise AssertionError("mdi_sensor_health must never run a module on a host: %s" % kwargs)


def run(args, monkeypatch, env=None):
    for name in ("ATP_GRAPH_TENANT_ID", "ATP_GRAPH_CLIENT_ID", "ATP_GRAPH_CLIENT_SECRET", "ATP_GRAPH_CERTIFICATE_PATH",
                 "ATP_GRAPH_CERTIFICATE_PASSWORD", "ATP_GRAPH_CLOUD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    plugin = build_action(ActionModule, args, no_module)
    return plugin.run(task_vars={"inventory_hostname": "dc01", "ansible_play_batch": ["dc01"]})


def test_it_needs_no_connection():
    assert ActionModule._requires_connection is False


@pytest.mark.parametrize("args, env, expected", [
    ({"client_secret": SECRET, "certificate_path": "/etc/app.pem"}, {},
     "client_secret and certificate_path are mutually exclusive"),
    ({}, {}, "no credential: give client_secret or certificate_path"),
    ({"certificate_password": SECRET}, {}, "certificate_password needs certificate_path"),
    ({"client_secret": SECRET, "timeout": 0, "max_retries": -1}, {}, "timeout, max_retries: must be"),
    ({"client_secret": SECRET, "proxy": "http://proxy.corp:8080"}, {}, "proxy: given while use_proxy is false"),
    ({"client_secret": SECRET, "use_proxy": True, "proxy": "http://u:%s@proxy.corp:8080" % SECRET,
      "proxy_username": "u"}, {}, "credentials are given both in the proxy URL and in proxy_username"),
    ({"client_secret": SECRET, "graph_endpoint": "http://graph.example"}, {}, "is not an https:// URL"),
    ({"certificate_path": "/nonexistent/app.pem"}, {}, "certificate_path: cannot read '/nonexistent/app.pem'"),
    ({"client_secret": SECRET, "ca_path": "/nonexistent/ca.pem"}, {}, "ca_path: cannot load '/nonexistent/ca.pem'"),
    ({"tenant_id": None}, {"ATP_GRAPH_CLIENT_SECRET": SECRET, "ATP_GRAPH_CLOUD": "china"},
     "tenant_id is required (or set ATP_GRAPH_TENANT_ID); ATP_GRAPH_CLOUD: 'china' is not a cloud"),
])
def test_bad_options_fail_naming_them(monkeypatch, args, env, expected):
    result = run(dict(BASE, **args), monkeypatch, env)
    assert result["failed"] is True and expected in result["msg"], result["msg"]
    assert SECRET not in str(result)
    assert result["round_trips"] == 0


def test_the_argument_spec_refuses_an_unknown_cloud(monkeypatch):
    result = run(dict(BASE, client_secret=SECRET, cloud="china"), monkeypatch)
    assert result["failed"] is True and "cloud" in result["msg"] and SECRET not in str(result)


def test_an_unreachable_graph_is_a_failure_that_names_where(monkeypatch):
    result = run(dict(BASE, client_secret=SECRET), monkeypatch)
    assert result["failed"] is True
    assert result["msg"].startswith("token request to https://127.0.0.1:9/contoso.onmicrosoft.com/oauth2/v2.0/token "
                                    "for client 00000000-0000-0000-0000-000000000001: cannot connect")
    assert result["client"]["requests"] == 1 and result["endpoints"]["graph"] == "https://127.0.0.1:9"
    assert result["credential"] == {"type": "client_secret", "source": "task"}
    assert SECRET not in str(result)

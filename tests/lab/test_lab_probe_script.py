# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe script (_probe/_script.py) run for real by the lab's executor and read by the collection's own Python
(_probe._facts.run), on the lab's real proxies and TLS servers: what the script does besides what the end-to-end
probe tests show (tests/network/lab): the bound on the whole run, an error of its own, FIPS, check mode, and the
proxy password that reaches it only as a sensitive parameter."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _endpoints as endpoints
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _facts as facts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _script as script
from tests.lab import system_state
from tests.lab.conftest import SENSOR_HOST, WORKSPACE_NAME
from tests.lab.pwsh import runner
from tests.lab.pwsh.surface import web as web_surface

pytestmark = [pytest.mark.lab, pytest.mark.network]
PING = "https://%s/tri/sensor/api/ping" % SENSOR_HOST
SECRET = "s3cr3t-Pr0be"


def executor(host, become="LocalService", check_mode=False):
    calls = []

    def execute(module, args):
        assert module == "ansible.windows.win_powershell"
        calls.append(args)
        return runner.run(args["script"], host, runner.lab_account(host, become), args.get("parameters") or {},
                          args.get("depth", 2), args.get("error_action", "continue"), check_mode, 0,
                          args.get("sensitive_parameters"))

    execute.calls = calls
    return execute


def plan(modes=("default",), **options):
    return facts.plan(endpoints.build_catalogue(workspace=WORKSPACE_NAME, include_crl=False, **options), list(modes))


@pytest.fixture
def silent():
    """A proxy that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield "127.0.0.1:%d" % listener.getsockname()[1]
    listener.close()
    for conn in held:
        conn.close()


def test_a_request_still_running_at_the_run_bound_is_reported_and_not_waited_for(lab, silent):
    host = lab.host("dc01")
    host.seed({"LocalService": {"proxy_server": silent}})
    args = script.module_args([(PING, "default"), (PING, "direct")], timeout=5, headers=facts.header_names())
    args["parameters"]["RunSeconds"] = 1  # shorter than the request's own timeout
    start = time.monotonic()
    raw = executor(host)("ansible.windows.win_powershell", args)
    took = time.monotonic() - start
    assert took < 4, took  # the silent request's own 5 s were not waited for
    assert raw["result"]["unfinished"] == 1 and "failed" not in raw
    by_mode = {f["mode"]: f for f in raw["result"]["facts"]}
    assert by_mode["default"]["finished"] is False
    assert by_mode["direct"]["exception"]["status"] == "NameResolutionFailure"
    endpoint = endpoints.build_catalogue(workspace=WORKSPACE_NAME, include_crl=False)[0]
    result = facts.classify_fact(endpoint, by_mode["default"], timeout=5)
    assert result["outcome"] == "timeout" and "still running" in result["error"]


def test_an_error_of_its_own_stops_the_script_and_says_where(lab, sensor_api, proxy):
    host = lab.host("dc01")
    host.seed({"LocalService": {"proxy_server": "proxy.corp:8080"}})
    host.set_value(web_surface.NDP_KEY, "Release", "REG_DWORD", 30319)  # .NET 4.0: no per-request callback
    execute = executor(host)
    [result], dummy = facts.run(execute, plan(), timeout=5, account="LocalService")
    assert result["outcome"] == "unknown" and len(execute.calls) == 1
    assert result["error"].startswith("the probe script failed while reading the answer for %s (default)" % PING)
    assert "'ServerCertificateValidationCallback' cannot be found" in result["error"]


def test_it_runs_under_fips_and_in_check_mode(lab, sensor_api, proxy):
    host = lab.host("dc01")
    host.seed({"LocalService": {"proxy_server": "proxy.corp:8080"}})
    system_state.seed_fips(host, enabled=True, dotnet_release=461814)
    [result], dummy = facts.run(executor(host, check_mode=True), plan(), timeout=5, account="LocalService")
    assert (result["outcome"], result["status"], result["tls_inspection"]) == ("reachable", 200, "not intercepted")


def test_the_proxy_password_is_a_sensitive_parameter_only(lab, sensor_api, auth_proxy):
    host = lab.host("dc01")
    execute = executor(host, become="SYSTEM")
    results, dummy = facts.run(execute, plan(["named"]), timeout=5, named_proxy="http://authproxy.corp:8080",
                               proxy_username="lab", proxy_password="secret", account="SYSTEM")
    assert [(r["mode"], r["outcome"]) for r in results] == [("named", "reachable")]
    [args] = execute.calls
    assert args["sensitive_parameters"] == [{"name": "ProxyCredential", "username": "lab", "password": "secret"}]
    assert "secret" not in json.dumps(args["parameters"]) + args["script"]
    # and a wrong one is the proxy's 407 (the password never comes back)
    execute = executor(host, become="SYSTEM")
    [wrong], dummy = facts.run(execute, plan(["named"]), timeout=5, named_proxy="http://authproxy.corp:8080",
                               proxy_username="lab", proxy_password=SECRET, account="SYSTEM")
    assert (wrong["outcome"], wrong["status"]) == ("proxy_auth_required", 407)
    assert SECRET not in json.dumps(wrong)

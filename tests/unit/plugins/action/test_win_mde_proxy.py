# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The win_mde_proxy action: its options (from the doc stub), check mode, the upload binding, errors and RETURN.

The host (tests/unit/fakes/mde.py) answers in the real modules' shapes: the state query's ``win_powershell`` result
(``_state_query.SCRIPT``'s ``$Ansible.Result``: .NET value kinds, binary values base64) and ``win_command``'s
``rc``/``stdout``/``stderr`` for ``reg import``.
"""

from __future__ import annotations

import ast
import base64
from pathlib import Path

import yaml
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.atp.sensor_proxy.plugins.action.win_mde_proxy import ActionModule
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.mde import MdeHost

from .harness import build_action

REPO = Path(__file__).resolve().parents[4]
DATA = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\DataCollection"
WINHTTP = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
ATP = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
# netsh winhttp set proxy proxy.corp:8080 (no bypass): 0x28, counter 3, flags 3, 15 bytes, empty bypass.
WINHTTP_PROXY = bytes.fromhex("28000000 03000000 03000000 0f000000" + b"proxy.corp:8080".hex() + "00000000")
WRITERS = {"ansible.windows.win_command", "ansible.windows.win_http_proxy", "ansible.windows.win_file",
           "ansible.windows.win_owner", "ansible.windows.win_acl", "ansible.windows.win_acl_inheritance"}


class Host(MdeHost):
    """The shared MDE host as the action meets it: become SYSTEM by default, modules named in full."""

    def __init__(self, values=None, user="NT AUTHORITY\\SYSTEM", admin=True):
        super().__init__(values, user, admin)

    def modules(self):
        return {m for m, dummy in self.calls}


def run(args, host, check_mode=False, become_user=None):
    plugin = build_action(ActionModule, args, host, check_mode=check_mode, diff=True, become_user=become_user)
    return plugin.run(task_vars={"inventory_hostname": "dc01"})


def test_check_mode_calls_no_writer_and_costs_one_round_trip():
    host = Host()
    result = run({"proxy_server": "proxy.corp:8080"}, host, check_mode=True)
    assert result["changed"] is True and result["check_mode"] is True and not result.get("failed")
    assert result["actions"][0] == "would set WinHTTP proxy: (absent) -> proxy.corp:8080"
    assert host.modules() == {"ansible.windows.win_powershell"} and host.uploads == []
    assert result["round_trips"] == 1 and result["backup_file"] == ""


def test_a_change_writes_the_backup_in_one_file_write():
    host = Host({DATA: {"TelemetryProxyServer": ("String", "old.corp:3128")}})
    result = run({"proxy_server": "proxy.corp:8080"}, host)
    assert result["changed"] is True and result["verified"] is True, result
    dest, names = host.uploads[0]
    assert dest.startswith("C:\\ProgramData\\atp.sensor_proxy\\mde_backups\\atp_proxy_") and names == [
        "after.reg", "before.reg"]
    assert result["backup_file"] == dest + "\\before.reg"
    # query 1 + secure 5 + backup write 1 + import 1 + win_http_proxy 1 + read back 1
    assert result["round_trips"] == 10
    assert ("ansible.windows.win_http_proxy", {"proxy": "proxy.corp:8080", "bypass": []}) in host.calls
    assert host.values[DATA]["TelemetryProxyServer"] == ("String", "proxy.corp:8080")
    assert host.values[ATP]["PreferStaticProxyForHttpRequest"] == ("DWord", 1)
    assert run({"proxy_server": "proxy.corp:8080"}, host)["changed"] is False  # the second run


def test_a_value_that_does_not_stick_is_rolled_back_and_reported():
    host = Host({DATA: {"TelemetryProxyServer": ("String", "old.corp:3128")}})

    def agent():  # something on the host (a policy agent) puts its own TelemetryProxyServer back after the import
        host.set(DATA, "TelemetryProxyServer", "REG_SZ", "gpo.corp:9090")

    host.after_import = agent
    result = run({"proxy_server": "proxy.corp:8080"}, host)
    assert result["failed"] is True and result["msg"].startswith("verify after write failed: telemetry_proxy_server "
                                                                 "TelemetryProxyServer reads back 'gpo.corp:9090'")
    assert result["mismatched"] == ["telemetry_proxy_server"]
    assert result["rolled_back"] == ["winhttp", "telemetry_proxy_server", "disable_enterprise_auth_proxy",
                                     "prefer_static_proxy"]
    assert host.values[DATA] == {"TelemetryProxyServer": ("String", "old.corp:3128")}  # before.reg put back
    assert host.values.get(ATP, {}) == {}
    assert result["changed_settings"][0] == "winhttp" and result["backup_file"].endswith("\\before.reg")


def test_bad_input_fails_naming_the_role_variable_with_no_remote_call():
    host = Host()
    result = run({"proxy_server": "proxy.corp:8080", "av_proxy_server": "proxy.corp:8080",
                  "name_prefix": "atp_proxy_mde_"}, host)
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith("atp_proxy_mde_av_proxy_server: 'proxy.corp:8080' has no http:// or https://")
    assert result["error"] == result["msg"] and host.calls == [] and result["round_trips"] == 0


def test_options_come_from_the_documentation():
    for args, option in (({"proxy_server": "proxy.corp:8080", "winhttp_source": "netsh"}, "winhttp_source"),
                         ({"proxy_servers": "proxy.corp:8080"}, "proxy_servers")):
        host = Host()
        result = run(args, host)
        assert result["failed"] is True and option in result["msg"] and host.calls == [], result
    spec = ActionModule.argument_spec()
    assert spec["winhttp_source"]["choices"] == ["proxy_server", "ie", "unmanaged"]
    assert spec["backup_dir"]["default"] == "C:\\ProgramData\\atp.sensor_proxy\\mde_backups"
    assert spec["telemetry"]["default"] is True and spec["av_disable_crl_check"]["default"] is False


def test_source_ie_reports_the_account_the_state_query_ran_as():
    wininet = bytes.fromhex("46000000 02000000 03000000 0d000000" + b"sys.corp:8080".hex() + "00000000"
                            + "00000000" + "00" * 32)
    host = Host({r"HKCU:\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections": {
        "DefaultConnectionSettings": ("Binary", base64.b64encode(wininet).decode())}})
    result = run({"winhttp_source": "ie", "telemetry": False}, host, check_mode=True, become_user="SYSTEM")
    assert result["winhttp_copied_from"] == "NT AUTHORITY\\SYSTEM"
    assert result["actions"] == ["would set WinHTTP proxy: (absent) -> sys.corp:8080 (win_http_proxy source=ie: the "
                                 "WinINet setting of NT AUTHORITY\\SYSTEM)"]


def test_a_dropped_connection_before_the_change_says_nothing_was_written():
    def dropped(module_name=None, module_args=None, task_vars=None, **kwargs):
        raise AnsibleConnectionFailure("winrm: connection reset")

    result = run({"proxy_server": "proxy.corp:8080"}, dropped)
    assert result["unreachable"] is True and "Nothing was written to the registry" in result["msg"]
    assert result["written"] == [] and result["backup_file"] == ""


def test_not_an_administrator_fails_without_writing():
    host = Host(user="CORP\\helpdesk", admin=False)
    result = run({"proxy_server": "proxy.corp:8080"}, host)
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith("CORP\\helpdesk is not an enabled member of BUILTIN\\Administrators")
    assert not WRITERS & host.modules() and host.uploads == []


def _return_doc() -> dict:
    source = (REPO / "plugins" / "modules" / "win_mde_proxy.py").read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "RETURN":
            return yaml.safe_load(node.value.value)
    raise AssertionError("no RETURN")


def test_every_returned_key_is_documented():
    doc = _return_doc()
    common = {"changed", "failed", "msg", "error", "warnings", "diff", "exception", "unreachable"}
    host = Host({DATA: {"TelemetryProxyServer": ("String", "old.corp:3128")}})
    for result in (run({"proxy_server": "proxy.corp:8080"}, host, check_mode=True),
                   run({"proxy_server": "proxy.corp:8080"}, host)):
        assert set(result) - common - set(doc) == set(), set(result) - common - set(doc)
        for setting in result["settings"]:
            assert set(setting) == set(doc["settings"]["contains"])
        for entry in result["backups"]:
            assert set(entry) == set(doc["backups"]["contains"])

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's win_http_proxy against the real ansible.windows 3.3.0 ``win_http_proxy.ps1`` (and ansible-core's
``Ansible.Basic.cs`` / ``module_wrapper.ps1``), and the stand-ins win_mde_proxy calls against the real RETURN docs.

Each test quotes the lines of the installed source it holds the stand-in to (so the test fails if the real source
says otherwise), then runs the stand-in for real through ansible-playbook in the lab and checks what a user would:
the registry value, the returned fields, the message.
"""

from __future__ import annotations

import re
from pathlib import Path

import ansible
import pytest

from tests.lab.fixtures import real_windows_collection
from tests.lab.test_lab_contract import check, real_return_doc

pytestmark = pytest.mark.lab

PS1 = (real_windows_collection() / "plugins" / "modules" / "win_http_proxy.ps1").read_text()
ANSIBLE = Path(ansible.__file__).parent
BASIC_CS = (ANSIBLE / "module_utils" / "csharp" / "Ansible.Basic.cs").read_text()
WRAPPER = (ANSIBLE / "executor" / "powershell" / "module_wrapper.ps1").read_text()
WINHTTP = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"

TASK = """
- hosts: dc01
  gather_facts: false
  tasks:
    - name: proxy
      ansible.windows.win_http_proxy: "{{ proxy_args }}"
      become: "{{ account is defined }}"
      become_method: ansible.builtin.runas
      become_user: "{{ account | default(omit) }}"
      ignore_errors: true
"""


def http_proxy(lab, args, account=None, check=False, diff=True):
    extra = {"proxy_args": args}
    if account:
        extra["account"] = account
    run = lab.run_playbook(TASK, extra_vars=extra, check=check, diff=diff, limit="dc01")
    return run.result("dc01", "proxy")


def winhttp(lab):
    found = lab.host("dc01").winhttp()
    return None if found is None or not found["flags"] & 2 else (found["proxy_server"], found["bypass_string"])


def test_spec_conflicts_fail_with_ansible_basic_wording(lab):
    # win_http_proxy.ps1 lines 15-21, checked by Ansible.Basic on the keys given (param.Contains).
    assert re.search(r'mutually_exclusive = @\(\s+@\("proxy", "source"\),\s+@\("bypass", "source"\)\s+\)', PS1)
    assert re.search(r'required_by = @\{\s+bypass = @\("proxy"\)\s+\}', PS1)
    assert 'String.Format("parameters are mutually exclusive: {0}", String.Join(", ", mutualCheck))' in BASIC_CS
    assert 'String.Format("missing parameter(s) required by \'{0}\': {1}", key, String.Join(", ", missing))' in BASIC_CS
    res = http_proxy(lab, {"source": "ie", "bypass": ["<local>"]})
    assert res["failed"] and res["msg"] == "parameters are mutually exclusive: bypass, source", res
    res = http_proxy(lab, {"source": "ie", "proxy": "proxy.corp:8080"})
    assert res["msg"] == "parameters are mutually exclusive: proxy, source", res
    res = http_proxy(lab, {"bypass": ["<local>"]})
    assert res["msg"] == "missing parameter(s) required by 'bypass': proxy", res
    # lines 60-63: a bypass list with an empty proxy fails inside the script, quotes doubled.
    assert "$module.FailJson(\"missing parameter(s) required by ''bypass'': proxy\")" in PS1
    res = http_proxy(lab, {"proxy": "", "bypass": ["<local>"]})
    assert res["msg"] == "missing parameter(s) required by ''bypass'': proxy", res
    assert lab.host("dc01").winhttp() is None  # nothing was written by any of them


def test_set_compare_and_return_match_the_real_module(lab):
    # lines 47-54 (dict order http, https, ftp, socks) and 64 (bypass joined with ';').
    assert 'foreach ($k in $valid_keys)' in PS1 and "$bypass = $bypass -join ';'" in PS1
    res = http_proxy(lab, {"proxy": {"https": "s.corp:8443", "http": "h.corp:8080"}, "bypass": ["<local>", "*.corp"]})
    assert res["changed"] is True and not res.get("failed"), res
    assert winhttp(lab) == ("http=h.corp:8080;https=s.corp:8443", "<local>;*.corp")
    # lines 217-220 / 262-265: diff before is the current setting (null when unset), after what was asked for.
    assert res["diff"] == {"before": {"proxy": None, "bypass": None},
                           "after": {"proxy": "http=h.corp:8080;https=s.corp:8443", "bypass": "<local>;*.corp"}}
    # RETURN is '#': nothing but the common keys (changed, diff, ...).
    assert real_return_doc("win_http_proxy") == {}
    assert check("win_http_proxy", res, {}) == []
    # line 240: PowerShell's -ne ignores case, so another spelling of the same proxy is no change.
    assert "if ($previous_proxy -ne $proxy -or $previous_bypass -ne $bypass) {" in PS1
    res = http_proxy(lab, {"proxy": "HTTP=H.CORP:8080;HTTPS=S.CORP:8443", "bypass": ["<LOCAL>", "*.CORP"]})
    assert res["changed"] is False, res
    assert winhttp(lab) == ("http=h.corp:8080;https=s.corp:8443", "<local>;*.corp")
    # lines 232-238: an empty proxy is $null, i.e. no proxy (WINHTTP_ACCESS_TYPE_NO_PROXY, lines 166-167).
    res = http_proxy(lab, {"proxy": ""})
    assert res["changed"] is True and winhttp(lab) is None
    assert lab.host("dc01").winhttp()["flags"] == 1


def test_check_mode_predicts_and_writes_nothing(lab):
    # lines 244-259: Set() only when not in check mode; changed is reported either way.
    assert re.search(r"if \(-not \$module\.CheckMode\) \{\s+\$actual_proxy\.Set\(\)", PS1)
    res = http_proxy(lab, {"proxy": "proxy.corp:8080"}, check=True)
    assert res["changed"] is True and res["diff"]["after"] == {"proxy": "proxy.corp:8080", "bypass": None}
    assert lab.host("dc01").winhttp() is None


def test_source_ie_copies_the_account_the_module_runs_as(lab):
    # lines 222-227: source=ie takes WinHttpGetIEProxyConfigForCurrentUser's proxy and bypass (lines 194-209).
    assert "$ie_proxy = [Ansible.WinHttpProxy.WinHttpProxy]::GetIEProxyConfig()" in PS1
    assert "WinHttpGetIEProxyConfigForCurrentUser(ieProxy)" in PS1
    host = lab.host("dc01")
    host.seed({"user": {"proxy_server": "admin.corp:3128", "bypass": ["<local>"]},
               "SYSTEM": {"proxy_server": "system.corp:8080", "bypass": ["*.corp"]}})
    assert http_proxy(lab, {"source": "ie"})["changed"] is True
    assert winhttp(lab) == ("admin.corp:3128", "<local>")  # the connection user's HKCU
    res = http_proxy(lab, {"source": "ie"}, account="SYSTEM")
    assert res["changed"] is True and res["diff"]["after"] == {"proxy": "system.corp:8080", "bypass": "*.corp"}
    assert winhttp(lab) == ("system.corp:8080", "*.corp")  # become_user SYSTEM: HKU\S-1-5-18
    # Only the proxy and bypass list are imported (the module's documentation): a PAC-only account gives no proxy.
    host.set_proxy("SYSTEM", {"auto_config_url": "http://wpad.corp/proxy.pac"})
    assert http_proxy(lab, {"source": "ie"}, account="SYSTEM")["changed"] is True
    assert winhttp(lab) is None


def test_source_ie_without_a_wininet_setting_fails_like_the_real_module(lab):
    # The Win32Exception of lines 130-142 escapes the script; module_wrapper.ps1 reports it (line 86).
    assert 'throw new Win32Exception("WinHttpGetIEProxyConfigForCurrentUser() failed");' in PS1
    assert 'msg = "Unhandled exception while executing module: $ErrorRecord"' in WRAPPER
    assert '_msg = String.Format("{0} ({1}, Win32ErrorCode {2})", message, base.Message, errorCode);' in PS1
    res = http_proxy(lab, {"source": "ie"}, account="LocalService")  # LocalService has no WinINet value
    assert res["failed"] is True
    assert res["msg"] == ('Unhandled exception while executing module: Exception calling "GetIEProxyConfig" with "0" '
                          'argument(s): "WinHttpGetIEProxyConfigForCurrentUser() failed (The system cannot find the '
                          'file specified, Win32ErrorCode 2)"'), res
    assert lab.host("dc01").winhttp() is None


def test_only_an_administrator_can_set_winhttp(lab):
    # lines 177-178: WinHttpSetDefaultProxyConfiguration fails for a user who is not an administrator.
    assert 'throw new Win32Exception("WinHttpSetDefaultProxyConfiguration() failed");' in PS1
    lab.host("dc01").set_fault("not_admin")
    res = http_proxy(lab, {"proxy": "proxy.corp:8080"})
    assert res["failed"] is True and res["msg"].endswith(
        'Exception calling "Set" with "0" argument(s): "WinHttpSetDefaultProxyConfiguration() failed (Access is '
        'denied, Win32ErrorCode 5)"'), res
    assert lab.host("dc01").winhttp() is None
    assert http_proxy(lab, {"proxy": "proxy.corp:8080"}, check=True)["changed"] is True  # check mode sets nothing


QUERY = """
- hosts: dc01
  gather_facts: false
  tasks:
    - name: state_query
      ansible.windows.win_powershell: "{{ query }}"
      become: "{{ account is defined }}"
      become_method: ansible.builtin.runas
      become_user: "{{ account | default(omit) }}"
"""
DATA = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\DataCollection"
ATP = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
HKCU = r"HKCU:\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
# win_powershell's RETURN documents ``result`` as set by the script (contains: {}): its members are checked by value.
SCRIPT_DEFINED = "win_powershell: undocumented key result."


def test_the_state_query_reads_the_mde_values_in_the_real_return_shape(lab):
    """win_mde_proxy reads every key in one ansible.windows.win_powershell run of _state_query.SCRIPT."""
    from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _state_query
    from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _plan as mde

    host = lab.host("dc01")
    host.set_value(DATA, "TelemetryProxyServer", "REG_SZ", "proxy.corp:8080")
    host.set_value(DATA, "DisableEnterpriseAuthProxy", "REG_DWORD", 1)
    host.seed({"SYSTEM": {"proxy_server": "sys.corp:8080"}})
    assert http_proxy(lab, {"proxy": "proxy.corp:8080"})["changed"] is True
    keys = mde.reads({"proxy_server": "proxy.corp:8080", "winhttp_source": "ie"})
    assert keys == [WINHTTP, DATA, ATP, HKCU]
    run = lab.run_playbook(QUERY, extra_vars={"query": _state_query.module_args(keys), "account": "SYSTEM"})
    assert run.rc == 0, run
    result = run.result("dc01", "state_query")
    found = [p for p in check("win_powershell", result, real_return_doc("win_powershell"))
             if not p.startswith(SCRIPT_DEFINED)]
    assert found == [] and result["changed"] is False
    read = result["result"]["keys"]
    assert read[DATA] == {"exists": True, "sub_keys": [], "values": {
        "TelemetryProxyServer": {"type": "String", "value": "proxy.corp:8080"},
        "DisableEnterpriseAuthProxy": {"type": "DWord", "value": 1}}}
    assert read[ATP] == {"exists": False, "values": {}, "sub_keys": []}  # a policy key nobody created
    assert read[WINHTTP]["values"]["WinHttpSettings"]["type"] == "Binary"  # base64 of the 0x28 value
    # as SYSTEM, HKCU is HKU\S-1-5-18, which has the seeded WinINet value (the connection user's has none)
    assert read[HKCU]["values"]["DefaultConnectionSettings"]["type"] == "Binary"
    assert result["result"]["user"] == {"name": "NT AUTHORITY\\SYSTEM", "sid": "S-1-5-18", "administrator": True}

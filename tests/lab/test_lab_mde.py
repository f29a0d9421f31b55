# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End-to-end: real ansible-playbook runs of atp.sensor_proxy.win_mde_proxy against the emulated DCs.

What a user judges: each setting ends on the host as Microsoft documents it, a second run reports changed=0,
``--check`` writes nothing, ``--diff`` shows decoded values, bad input names the role variable and touches
nothing, and ``reg import`` of the backup puts the previous values back. Round trips come from the lab ledger.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.lab

WINHTTP = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
DATA = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\DataCollection"
ATP = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
DEFENDER = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender"
SPYNET = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender\Spynet"
BACKUPS = "C:\\ProgramData\\atp.sensor_proxy\\mde_backups"

PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: mde
      atp.sensor_proxy.win_mde_proxy: "{{ mde }}"
      register: mde_result
      ignore_errors: "{{ tolerate | default(false) }}"
"""

EVERYTHING = {
    "proxy_server": "proxy.corp:8080",
    "bypass": ["<local>", "*.corp"],
    "av_proxy_server": "http://proxy.corp:8080",
    "av_proxy_pac_url": "http://wpad.corp/proxy.pac",
    "av_proxy_bypass": ["*.corp", "10.0.0.0"],
    "av_disable_crl_check": True,
    "name_prefix": "atp_proxy_mde_",
}


def value(host, path, name):
    found = host.get_value(path, name)
    return None if found is None else (found["type"], found["data"])


def registry(host) -> str:
    """The whole HKLM hive of a host, to compare before and after."""
    return json.dumps(host.state()["hives"]["HKLM"], sort_keys=True)


def mde(lab, options, host="dc01", **kwargs):
    run = lab.run_playbook(PLAY, extra_vars={"mde": options, "tolerate": kwargs.pop("tolerate", False)},
                           limit=host, **kwargs)
    return run, run.result(host, "mde")


def test_every_setting_converges_and_a_second_run_changes_nothing(lab):
    host = lab.host("dc01")
    run, result = mde(lab, EVERYTHING)
    assert run.rc == 0 and result["changed"] is True, run
    assert result["changed_settings"] == ["winhttp", "telemetry_proxy_server", "disable_enterprise_auth_proxy",
                                          "prefer_static_proxy", "av_proxy_server", "av_proxy_pac_url",
                                          "av_proxy_bypass", "av_ssl_options"]
    winhttp = host.winhttp()
    assert (winhttp["flags"], winhttp["proxy_server"], winhttp["bypass_string"]) == (3, "proxy.corp:8080",
                                                                                     "<local>;*.corp")
    assert value(host, DATA, "TelemetryProxyServer") == ("REG_SZ", "proxy.corp:8080")
    assert value(host, DATA, "DisableEnterpriseAuthProxy") == ("REG_DWORD", 1)
    assert value(host, ATP, "PreferStaticProxyForHttpRequest") == ("REG_DWORD", 1)
    assert value(host, DEFENDER, "ProxyServer") == ("REG_SZ", "http://proxy.corp:8080")
    assert value(host, DEFENDER, "ProxyPacUrl") == ("REG_SZ", "http://wpad.corp/proxy.pac")
    assert value(host, DEFENDER, "ProxyBypass") == ("REG_SZ", "*.corp;10.0.0.0")
    assert value(host, SPYNET, "SSLOptions") == ("REG_DWORD", 2)
    assert result["verified"] is True and result["backup_file"].startswith(BACKUPS + "\\atp_proxy_")
    assert host.read_file(result["backup_file"]) is not None

    lab.reset_ledgers()
    again, second = mde(lab, EVERYTHING)
    assert again.rc == 0 and again.stats["dc01"]["changed"] == 0, again
    assert second["changed_settings"] == [] and second["actions"] == []
    assert lab.ledger()["dc01"]["by_task"]["mde"] == 1  # one state query, nothing else
    assert lab.ledger()["dc01"]["sequence"] == ["win_powershell"]


def test_round_trips_of_a_drifted_and_a_converged_run(lab):
    host = lab.host("dc01")
    options = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
    run, first = mde(lab, options)
    assert run.rc == 0 and first["changed"] is True, run
    ledger = lab.ledger()["dc01"]
    # state query 1, secure the new backup folder 5, backup write 1 (win_powershell), reg import 1, win_http_proxy 1,
    # read back 1
    assert ledger["by_task"]["mde"] == first["round_trips"] == 10, ledger
    sequence = ledger["sequence"]
    assert sequence[0] == "win_powershell" and sequence.count("win_command") == 1
    assert sequence.index("win_http_proxy") == sequence.index("win_command") + 1  # after the import
    # Drift: someone resets WinHTTP and TelemetryProxyServer; the folder is secured already.
    host.set_value(DATA, "TelemetryProxyServer", "REG_SZ", "old.corp:3128")
    host.delete_value(WINHTTP, "WinHttpSettings")
    lab.reset_ledgers()
    run, later = mde(lab, options)
    assert later["changed_settings"] == ["winhttp", "telemetry_proxy_server"], later
    assert lab.ledger()["dc01"]["by_task"]["mde"] == later["round_trips"] == 5  # 1 + 1 + 1 + 1 + 1
    lab.reset_ledgers()
    run, converged = mde(lab, options)
    assert converged["changed"] is False and lab.ledger()["dc01"]["by_task"]["mde"] == 1


def test_check_mode_writes_nothing(lab):
    host = lab.host("dc01")
    host.set_value(DATA, "TelemetryProxyServer", "REG_SZ", "old.corp:3128")
    before = registry(host)
    run, result = mde(lab, EVERYTHING, check=True)
    assert run.rc == 0 and run.stats["dc01"]["changed"] == 1, run
    assert result["changed"] is True and result["check_mode"] is True and result["backup_file"] == ""
    assert "would set TelemetryProxyServer: old.corp:3128 -> proxy.corp:8080" in result["actions"]
    assert "would set Defender Antivirus SSLOptions: (absent) -> 2" in result["actions"]
    assert registry(host) == before and host.winhttp() is None
    assert host.list_files(BACKUPS) == []
    assert set(lab.ledger()["dc01"]["by_module"]) == {"win_powershell"}


def test_diff_shows_decoded_before_and_after(lab):
    host = lab.host("dc01")
    host.set_value(DATA, "TelemetryProxyServer", "REG_SZ", "old.corp:3128")
    run, result = mde(lab, {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}, diff=True, check=True)
    assert run.rc == 0, run
    out = run.stdout
    assert "--- before: %s\\WinHttpSettings" % WINHTTP in out
    assert "+proxy: proxy.corp:8080" in out and "+bypass: <local>" in out
    assert "-old.corp:3128\n+proxy.corp:8080" in out
    assert "# PreferStaticProxyForHttpRequest (REG_DWORD)\n-(absent)\n+1" in out
    assert "2800000" not in out  # decoded, not hex
    mde(lab, {"proxy_server": "proxy2.corp:3128", "bypass": ["<local>"]})
    run, result = mde(lab, {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}, diff=True)
    assert "-proxy: proxy2.corp:3128\n+proxy: proxy.corp:8080" in run.stdout
    assert "-proxy2.corp:3128\n+proxy.corp:8080" in run.stdout  # TelemetryProxyServer


@pytest.mark.parametrize("options, variable, words", [
    ({"proxy_server": "proxy.corp:8080", "av_proxy_server": "proxy.corp:8080"}, "atp_proxy_mde_av_proxy_server",
     "has no http:// or https:// scheme"),
    ({"proxy_server": "proxy.corp:8080", "av_proxy_pac_url": "file://C:/pac/proxy.pac"},
     "atp_proxy_mde_av_proxy_pac_url", "is not an http:// or https:// URL"),
    ({"proxy_server": "proxy.corp:8080", "bypass": ["<local>", ""]}, "atp_proxy_mde_bypass", "is empty or blank"),
])
def test_bad_input_names_the_variable_and_changes_nothing(lab, options, variable, words):
    host = lab.host("dc01")
    host.set_value(DATA, "TelemetryProxyServer", "REG_SZ", "old.corp:3128")
    before = registry(host)
    run, result = mde(lab, dict(options, name_prefix="atp_proxy_mde_"), tolerate=True)
    assert result["failed"] is True and result["changed"] is False, result
    assert result["msg"].startswith(variable + ": ") and words in result["msg"], result["msg"]
    assert "Nothing was changed." in result["msg"] and result["round_trips"] == 0
    assert registry(host) == before and host.list_files(BACKUPS) == []
    assert lab.ledger()["dc01"]["module_calls"] == 0  # not one remote command


def test_credentials_in_a_proxy_are_refused_and_never_shown(lab):
    run, result = mde(lab, {"proxy_server": "proxy.corp:8080", "av_proxy_server": "http://svc:S3cr3tPw@proxy.corp:8080",
                            "name_prefix": "atp_proxy_mde_"}, tolerate=True)
    assert result["failed"] is True and "credentials" in result["msg"]
    assert "S3cr3tPw" not in result["msg"] and "S3cr3tPw" not in run.stdout, run.stdout
    assert "'***@proxy.corp:8080'" in result["msg"] and "svc" not in result["msg"] and result["round_trips"] == 0


def test_reg_import_of_the_backup_restores_the_previous_values(lab):
    host = lab.host("dc01")
    # The previous state: an old WinHTTP proxy (written by win_http_proxy itself), an old telemetry proxy, a
    # DisableEnterpriseAuthProxy of 0, nothing under Windows Advanced Threat Protection or Windows Defender.
    run = lab.run_playbook("""
- hosts: dc01
  gather_facts: false
  tasks:
    - ansible.windows.win_http_proxy: {proxy: 'old.corp:3128', bypass: ['<local>']}
""")
    assert run.rc == 0, run
    host.set_value(DATA, "TelemetryProxyServer", "REG_SZ", "old.corp:3128")
    host.set_value(DATA, "DisableEnterpriseAuthProxy", "REG_DWORD", 0)
    old_winhttp = value(host, WINHTTP, "WinHttpSettings")
    before = registry(host)
    run, result = mde(lab, {"proxy_server": "proxy.corp:8080", "av_proxy_server": "https://proxy.corp:8443"})
    assert run.rc == 0 and result["changed"] is True, run
    assert value(host, DEFENDER, "ProxyServer") == ("REG_SZ", "https://proxy.corp:8443")
    restore = lab.run_playbook("""
- hosts: dc01
  gather_facts: false
  tasks:
    - name: restore
      ansible.windows.win_command:
        argv: [reg.exe, import, '%s', /reg:64]
""" % result["backup_file"])
    assert restore.rc == 0, restore
    assert value(host, WINHTTP, "WinHttpSettings") == old_winhttp  # the exact bytes
    assert value(host, DATA, "TelemetryProxyServer") == ("REG_SZ", "old.corp:3128")
    assert value(host, DATA, "DisableEnterpriseAuthProxy") == ("REG_DWORD", 0)
    assert value(host, ATP, "PreferStaticProxyForHttpRequest") is None  # absent before: deleted again
    assert value(host, DEFENDER, "ProxyServer") is None
    # Everything but the backup manifest (which records the new backup) is as it was.
    state = json.loads(registry(host))
    manifest = "software\\atp.sensor_proxy\\backups"
    state["keys"].pop(manifest, None)
    old = json.loads(before)
    old["keys"].pop(manifest, None)
    drop_empty = {k: v for k, v in state["keys"].items() if v["values"] or k in old["keys"]}
    assert drop_empty == old["keys"]
    # and the module now sees the drift again
    run, again = mde(lab, {"proxy_server": "proxy.corp:8080", "av_proxy_server": "https://proxy.corp:8443"},
                     check=True)
    assert again["changed_settings"] == ["winhttp", "telemetry_proxy_server", "disable_enterprise_auth_proxy",
                                         "prefer_static_proxy", "av_proxy_server"]


COPY_AS_SYSTEM = """
- hosts: dc01
  gather_facts: false
  tasks:
    - name: mde
      atp.sensor_proxy.win_mde_proxy:
        winhttp_source: ie
        proxy_server: proxy.corp:8080
      become: true
      become_method: ansible.builtin.runas
      become_user: SYSTEM
"""


def test_source_ie_as_system_copies_localsystems_wininet_setting(lab):
    host = lab.host("dc01")
    host.seed({"user": {"proxy_server": "admin.corp:3128", "bypass": ["<local>"]},
               "SYSTEM": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>", "*.corp"]}})
    run = lab.run_playbook(COPY_AS_SYSTEM)
    assert run.rc == 0, run
    result = run.result("dc01", "mde")
    assert result["winhttp_copied_from"] == "NT AUTHORITY\\SYSTEM"
    winhttp = host.winhttp()
    assert (winhttp["proxy_server"], winhttp["bypass_string"]) == ("proxy.corp:8080", "<local>;*.corp")
    assert value(host, DATA, "TelemetryProxyServer") == ("REG_SZ", "proxy.corp:8080")
    again = lab.run_playbook(COPY_AS_SYSTEM)
    assert again.stats["dc01"]["changed"] == 0, again
    # SYSTEM's WinINet proxy changes: the next run copies the new one.
    host.set_proxy("SYSTEM", {"proxy_server": "proxy2.corp:8080"})
    third = lab.run_playbook(COPY_AS_SYSTEM)
    assert third.result("dc01", "mde")["changed_settings"] == ["winhttp"]
    assert host.winhttp()["proxy_server"] == "proxy2.corp:8080" and host.winhttp()["bypass_string"] == ""


def test_not_an_administrator_changes_nothing(lab):
    host = lab.host("dc01")
    host.set_fault("not_admin")
    before = registry(host)
    run, result = mde(lab, {"proxy_server": "proxy.corp:8080"}, tolerate=True)
    assert result["failed"] is True and "is not an enabled member of BUILTIN\\Administrators" in result["msg"]
    assert registry(host) == before and host.list_files(BACKUPS) == []

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_mde: the Defender for Endpoint / Defender Antivirus proxy settings, validated, planned and written.

Every host answer here is written by hand in the shape the real modules return (the state query's
``win_powershell`` result as ``_state_query.SCRIPT`` builds it: .NET value kinds, binary values base64), and the
WinHTTP / WinINet values are hand-assembled hex, not produced by the code under test. The host is
tests/unit/fakes/mde.py: ``reg import`` is applied with the lab's own .reg reader, not the collection's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import ChangeError, UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host._remote import KeyRead, RegValue, read_state
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _desired as desired_mod
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _plan as plans
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _run as runs
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _summary as summaries
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet._winhttp import WinHttp
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.mde import MdeHost as Host
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.regfile import parse_reg_file as PARSE

REPO = Path(__file__).resolve().parents[4]
WINHTTP = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
DATA = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\DataCollection"
ATP = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
DEFENDER = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender"
SPYNET = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender\Spynet"
HKCU = r"HKCU:\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
MANIFEST = r"HKLM:\SOFTWARE\atp.sensor_proxy\Backups"
PREFIX = "atp_proxy_mde_"

# WinHttpSettings as netsh winhttp set proxy proxy.corp:8080 "<local>" stores it: 0x28, counter 5, flags 3, strings.
WINHTTP_PROXY = bytes.fromhex("28000000 05000000 03000000 0f000000" + b"proxy.corp:8080".hex()
                              + "07000000" + b"<local>".hex())
# The same, upper case (what another admin typed): the real module compares with -ne, case-insensitively.
WINHTTP_UPPER = bytes.fromhex("28000000 06000000 03000000 0f000000" + b"PROXY.CORP:8080".hex()
                              + "07000000" + b"<LOCAL>".hex())
# netsh winhttp reset proxy: flags 1 (direct), empty strings.
WINHTTP_DIRECT = bytes.fromhex("28000000 07000000 01000000 00000000 00000000")
# An old proxy left in the strings of a direct value: still direct.
WINHTTP_DIRECT_OLD = bytes.fromhex("28000000 08000000 01000000 08000000" + b"old:3128".hex() + "00000000")
# DefaultConnectionSettings (0x46): counter 2, flags 3, proxy sys.corp:8080, bypass *.corp, no PAC, 32 zero bytes.
WININET_SYSTEM = bytes.fromhex("46000000 02000000 03000000 0d000000" + b"sys.corp:8080".hex()
                               + "06000000" + b"*.corp".hex() + "00000000" + "00" * 32)
# PAC only: flags 5 (direct + auto-config URL), no proxy.
WININET_PAC = bytes.fromhex("46000000 02000000 05000000 00000000 00000000 19000000"
                            + b"http://wpad.corp/wpad.dat".hex() + "00" * 32)
# Direct: flags 1, nothing else.
WININET_DIRECT = bytes.fromhex("46000000 02000000 01000000 00000000 00000000 00000000" + "00" * 32)


def run(*args, **kwargs) -> dict:
    """What win_mde_proxy returns: :func:`_mde._run.run`'s result as its flat fields."""
    return runs.run(*args, **kwargs).to_result()


def lm(path):
    """``HKLM:\\X`` as a .reg file names it (written out here, not taken from the code under test)."""
    return "HKEY_LOCAL_MACHINE\\" + path[len("HKLM:\\"):]


def name(option):
    return PREFIX + option


BASE = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}


def converged(host):
    host.set(WINHTTP, "WinHttpSettings", "REG_BINARY", WINHTTP_PROXY)
    host.set(DATA, "TelemetryProxyServer", "REG_SZ", "proxy.corp:8080")
    host.set(DATA, "DisableEnterpriseAuthProxy", "REG_DWORD", 1)
    host.set(ATP, "PreferStaticProxyForHttpRequest", "REG_DWORD", 1)


# ---------------------------------------------------------------------------
# Validation: each error names the role variable, writes nothing, reads nothing, quotes no password
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("options, variable, words", [
    ({}, "atp_proxy_mde_proxy_server", "required"),
    ({"proxy_server": "http://proxy.corp:8080"}, "atp_proxy_mde_proxy_server", "scheme"),
    ({"proxy_server": "http=a.corp:1;https=b.corp:2"}, "atp_proxy_mde_proxy_server", "TelemetryProxyServer takes one"),
    (dict(BASE, bypass=["<local>", ""]), "atp_proxy_mde_bypass", "empty"),
    (dict(BASE, bypass=["<local>", "  "]), "atp_proxy_mde_bypass", "empty"),
    (dict(BASE, winhttp_source="ie"), "atp_proxy_mde_bypass", "only used with atp_proxy_mde_winhttp_source=proxy_server"),
    (dict(BASE, winhttp_source="netsh"), "atp_proxy_mde_winhttp_source", "is not one of"),
    (dict(BASE, av_proxy_server="proxy.corp:8080"), "atp_proxy_mde_av_proxy_server", "no http:// or https:// scheme"),
    (dict(BASE, av_proxy_server="socks://proxy.corp:1080"), "atp_proxy_mde_av_proxy_server", "http:// or https:// only"),
    (dict(BASE, av_proxy_server="http://proxy.corp"), "atp_proxy_mde_av_proxy_server", "<port>"),
    (dict(BASE, av_proxy_server="http://proxy.corp:99999"), "atp_proxy_mde_av_proxy_server", "<port>"),
    (dict(BASE, av_proxy_server="http://proxy.corp:8080/path"), "atp_proxy_mde_av_proxy_server", "<port>"),
    (dict(BASE, av_proxy_pac_url="file://C:/proxy.pac"), "atp_proxy_mde_av_proxy_pac_url", "http:// or https:// URL"),
    (dict(BASE, av_proxy_pac_url="wpad.corp/proxy.pac"), "atp_proxy_mde_av_proxy_pac_url", "http:// or https:// URL"),
    (dict(BASE, av_proxy_pac_url="ftp://wpad.corp/p.pac"), "atp_proxy_mde_av_proxy_pac_url", "http:// or https:// URL"),
    (dict(BASE, av_proxy_server="http://p.corp:8080", av_proxy_bypass=["*.corp", ""]),
     "atp_proxy_mde_av_proxy_bypass", "empty"),
    (dict(BASE, av_proxy_bypass=["*.corp"]), "atp_proxy_mde_av_proxy_bypass", "a bypass list only applies to a proxy"),
    (dict(BASE, telemetry="yes"), "atp_proxy_mde_telemetry", "true or false"),
])
def test_bad_input_names_the_role_variable_and_reads_nothing(options, variable, words):
    host = Host()
    with pytest.raises(UsageError) as err:
        plans.plan(host, options, name=name)
    message = str(err.value)
    assert message.startswith(variable + ": ") or message.startswith(variable + " "), message
    assert words in message and "Nothing was changed." in message
    assert host.calls == []  # validated before anything is read
    with pytest.raises(UsageError):
        run(host, host.upload, dict(options, name_prefix=PREFIX), check_mode=False)
    assert host.calls == [] and host.reg == {}


def test_without_a_prefix_the_option_is_named():
    with pytest.raises(UsageError, match=r"^av_proxy_server: 'proxy.corp:8080' has no http://"):
        desired_mod.desired(dict(BASE, av_proxy_server="proxy.corp:8080"))


@pytest.mark.parametrize("options", [
    {"proxy_server": "alice:Secr3t!@proxy.corp:8080"},
    dict(BASE, av_proxy_server="http://alice:Secr3t!@proxy.corp:8080"),
    dict(BASE, av_proxy_pac_url="https://alice:Secr3t!@wpad.corp/proxy.pac"),
])
def test_credentials_are_refused_and_never_quoted(options):
    with pytest.raises(UsageError) as err:
        desired_mod.desired(options, name)
    message = str(err.value)
    assert "Secr3t" not in message and "alice" not in message, message
    assert "***@" in message and "credentials" in message


def test_a_per_protocol_list_is_fine_for_winhttp_alone():
    wanted = desired_mod.desired({"proxy_server": "http=a.corp:1;https=b.corp:2", "telemetry": False})
    expected = WinHttp("http=a.corp:1;https=b.corp:2", None)
    assert [(w.setting.name, w.value) for w in wanted] == [("winhttp", expected)]


def test_what_is_managed_by_default_and_what_is_opt_in():
    names = [w.setting.name for w in desired_mod.desired(BASE)]
    assert names == ["winhttp", "telemetry_proxy_server", "disable_enterprise_auth_proxy", "prefer_static_proxy"]
    assert "prefer_static_proxy" not in [w.setting.name for w in desired_mod.desired(dict(BASE, prefer_static_proxy=False))]
    # PreferStaticProxyForHttpRequest goes with the static proxy: without TelemetryProxyServer it is not set.
    assert [w.setting.name for w in desired_mod.desired(dict(BASE, telemetry=False))] == ["winhttp"]
    everything = desired_mod.desired(dict(BASE, av_proxy_server="https://proxy.corp:8443", av_proxy_pac_url="http://w/p.pac",
                                          av_proxy_bypass=["*.corp", "10.0.0.1"], av_disable_crl_check=True))
    assert {w.setting.name: w.value for w in everything if w.setting.name.startswith("av_")} == {
        "av_proxy_server": "https://proxy.corp:8443", "av_proxy_pac_url": "http://w/p.pac",
        "av_proxy_bypass": "*.corp;10.0.0.1", "av_ssl_options": 2}
    only_av = desired_mod.desired({"winhttp_source": "unmanaged", "telemetry": False, "av_proxy_pac_url": "http://w/p.pac"})
    assert [w.setting.name for w in only_av] == ["av_proxy_pac_url"]


# ---------------------------------------------------------------------------
# The plan: only what differs, decoded
# ---------------------------------------------------------------------------
def test_a_bare_host_gets_the_four_default_settings_in_one_read():
    host = Host()
    plan = plans.plan(host, BASE, name=name)
    assert host.modules() == ["win_powershell"]  # one state query
    assert host.calls[0][1]["parameters"]["Key"] == [WINHTTP, DATA, ATP]
    assert plan.changed_settings == ["winhttp", "telemetry_proxy_server", "disable_enterprise_auth_proxy",
                                     "prefer_static_proxy"]
    assert plan.actions(True) == [
        "would set WinHTTP proxy: (absent) -> proxy.corp:8080, bypass <local>",
        "would set TelemetryProxyServer: (absent) -> proxy.corp:8080",
        "would set DisableEnterpriseAuthProxy: (absent) -> 1",
        "would set PreferStaticProxyForHttpRequest: (absent) -> 1",
    ]
    assert plan.actions(False)[1] == "set TelemetryProxyServer: (absent) -> proxy.corp:8080"
    items = {i.label: i for i in plan.items}
    tele = items["telemetry_proxy_server"]
    assert (tele.key, tele.name, tele.old, tele.wanted, tele.old_state) == (
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\DataCollection", "TelemetryProxyServer", None,
        "proxy.corp:8080", "missing")
    assert items["prefer_static_proxy"].key == \
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
    assert items["disable_enterprise_auth_proxy"].wanted == 1
    winhttp = items["winhttp"]
    assert winhttp.write_with == ("ansible.windows.win_http_proxy", {"proxy": "proxy.corp:8080", "bypass": ["<local>"]})
    assert winhttp.verified(WINHTTP_PROXY) and winhttp.verified(WINHTTP_UPPER)
    assert not winhttp.verified(WINHTTP_DIRECT) and not winhttp.verified(None) and not winhttp.verified(b"\x28")
    diff = {d["after_header"].rsplit("\\", 1)[1]: d for d in plan.diff()}
    assert diff["WinHttpSettings"]["before"] == "# WinHTTP proxy (win_http_proxy)\n(absent)\n"
    assert diff["WinHttpSettings"]["after"] == "# WinHTTP proxy (win_http_proxy)\nproxy: proxy.corp:8080\nbypass: <local>\n"
    assert diff["TelemetryProxyServer"]["after"] == "# TelemetryProxyServer (REG_SZ)\nproxy.corp:8080\n"


def test_a_converged_host_has_nothing_to_do_even_in_other_letter_case():
    host = Host()
    converged(host)
    assert plans.plan(host, BASE).items == []
    host.set(WINHTTP, "WinHttpSettings", "REG_BINARY", WINHTTP_UPPER)
    plan = plans.plan(host, BASE)
    assert plan.items == [] and plan.settings[0].current_text == "PROXY.CORP:8080, bypass <LOCAL>"


def test_only_what_differs_is_planned():
    host = Host()
    converged(host)
    host.set(WINHTTP, "WinHttpSettings", "REG_BINARY", WINHTTP_DIRECT_OLD)  # direct, old strings kept
    host.set(DATA, "DisableEnterpriseAuthProxy", "REG_SZ", "1")  # right text, wrong type
    plan = plans.plan(host, BASE)
    assert plan.changed_settings == ["winhttp", "disable_enterprise_auth_proxy"]
    assert plan.actions(True) == ["would set WinHTTP proxy: direct (no proxy) -> proxy.corp:8080, bypass <local>",
                                  "would set DisableEnterpriseAuthProxy: 1 (REG_SZ) -> 1"]
    items = {i.label: i for i in plan.items}
    assert items["winhttp"].old == WINHTTP_DIRECT_OLD and items["winhttp"].old_state == "different"
    assert items["disable_enterprise_auth_proxy"].old == "1"
    assert "proxy: (none: direct)" in plan.diff()[0]["before"]


def test_values_the_caller_read_are_not_read_again():
    host = Host()
    values = {WINHTTP: KeyRead(WINHTTP, True, {"winhttpsettings": RegValue("WinHttpSettings", "REG_BINARY",
                                                                           WINHTTP_PROXY)}),
              DATA.upper(): KeyRead(DATA, True, {
                  "telemetryproxyserver": RegValue("TelemetryProxyServer", "REG_SZ", None, "old.corp:3128"),
                  "disableenterpriseauthproxy": RegValue("DisableEnterpriseAuthProxy", "REG_DWORD", None, 1)})}
    plan = plans.plan(host, BASE, values=values)
    assert host.calls[0][1]["parameters"]["Key"] == [ATP]  # only the key it lacked
    assert plan.changed_settings == ["telemetry_proxy_server", "prefer_static_proxy"]
    assert plan.reads == [ATP]
    values[ATP] = KeyRead(ATP, False)
    host.calls.clear()
    assert plans.plan(host, BASE, values=values).changed_settings == ["telemetry_proxy_server", "prefer_static_proxy"]
    assert host.calls == []
    assert plans.reads(BASE) == [WINHTTP, DATA, ATP]
    assert plans.reads(dict(BASE, winhttp_source="ie", bypass=[])) == [WINHTTP, DATA, ATP, HKCU]


def test_defender_antivirus_settings():
    host = Host()
    converged(host)
    host.set(DEFENDER, "ProxyServer", "REG_SZ", "http://old.corp:3128")
    options = dict(BASE, av_proxy_server="http://proxy.corp:8080", av_proxy_pac_url="https://wpad.corp/proxy.pac",
                   av_proxy_bypass=["*.corp", "<local>"], av_disable_crl_check=True)
    plan = plans.plan(host, options)
    assert host.calls[0][1]["parameters"]["Key"] == [WINHTTP, DATA, ATP, DEFENDER, SPYNET]
    assert plan.actions(True) == [
        "would set Defender Antivirus ProxyServer: http://old.corp:3128 -> http://proxy.corp:8080",
        "would set Defender Antivirus ProxyPacUrl: (absent) -> https://wpad.corp/proxy.pac",
        "would set Defender Antivirus ProxyBypass: (absent) -> *.corp;<local>",
        "would set Defender Antivirus SSLOptions: (absent) -> 2",
    ]
    assert {(i.key.rsplit("\\", 1)[1], i.name, i.wanted) for i in plan.items} == {
        ("Windows Defender", "ProxyServer", "http://proxy.corp:8080"),
        ("Windows Defender", "ProxyPacUrl", "https://wpad.corp/proxy.pac"),
        ("Windows Defender", "ProxyBypass", "*.corp;<local>"),
        ("Spynet", "SSLOptions", 2)}


def test_a_value_a_reg_file_cannot_restore_exactly_stops_the_change():
    host = Host()
    host.set(DATA, "TelemetryProxyServer", "REG_MULTI_SZ", ["proxy.corp:8080"])
    with pytest.raises(ChangeError, match="REG_MULTI_SZ, which a .reg backup cannot give back exactly"):
        plans.plan(host, BASE)


# ---------------------------------------------------------------------------
# source=ie: the WinINet setting of the account the task runs as
# ---------------------------------------------------------------------------
IE = {"proxy_server": "proxy.corp:8080", "winhttp_source": "ie"}


def test_source_ie_predicts_what_win_http_proxy_copies():
    host = Host(user="NT AUTHORITY\\SYSTEM")
    converged(host)
    host.set(HKCU, "DefaultConnectionSettings", "REG_BINARY", WININET_SYSTEM)
    plan = plans.plan(host, IE, name=name)
    assert HKCU in host.calls[0][1]["parameters"]["Key"]
    assert plan.changed_settings == ["winhttp"]
    (item,) = plan.items
    assert item.write_with == ("ansible.windows.win_http_proxy", {"source": "ie"})
    assert plan.actions(True) == ["would set WinHTTP proxy: proxy.corp:8080, bypass <local> -> sys.corp:8080, bypass "
                                  "*.corp (win_http_proxy source=ie: the WinINet setting of NT AUTHORITY\\SYSTEM)"]
    copied = bytes.fromhex("28000000 01000000 03000000 0d000000" + b"sys.corp:8080".hex() + "06000000"
                           + b"*.corp".hex())
    assert item.verified(copied) and not item.verified(WINHTTP_PROXY)
    host.set(WINHTTP, "WinHttpSettings", "REG_BINARY", copied)
    assert plans.plan(host, IE).items == []


def test_source_ie_refuses_what_win_http_proxy_would_fail_or_lose():
    host = Host(user="NT AUTHORITY\\LOCAL SERVICE")
    converged(host)
    with pytest.raises(UsageError, match=r"^atp_proxy_mde_winhttp_source: ie copies the WinINet proxy of NT AUTHORITY"
                                         r"\\LOCAL SERVICE, but that account has no DefaultConnectionSettings"):
        plans.plan(host, IE, name=name)
    host.set(HKCU, "DefaultConnectionSettings", "REG_BINARY", WININET_PAC)
    with pytest.raises(UsageError, match=r"a PAC URL \(http://wpad.corp/wpad.dat\) without a proxy server"):
        plans.plan(host, IE, name=name)
    host.set(HKCU, "DefaultConnectionSettings", "REG_BINARY", bytes.fromhex("46000000 02000000"))
    with pytest.raises(UsageError, match="is not a valid WinINet value"):
        plans.plan(host, IE, name=name)
    host.set(HKCU, "DefaultConnectionSettings", "REG_BINARY", WININET_DIRECT)
    plan = plans.plan(host, IE, name=name)
    assert plan.changed_settings == ["winhttp"] and plan.settings[0].wanted_text == "direct (no proxy)"
    assert plan.warnings == ["NT AUTHORITY\\LOCAL SERVICE's WinINet setting is direct (no proxy): "
                             "atp_proxy_mde_winhttp_source=ie sets WinHTTP to direct"]


# ---------------------------------------------------------------------------
# run(): check mode, read-only, rights, the change itself
# ---------------------------------------------------------------------------
WRITERS = {"win_command", "win_http_proxy", "upload", "win_file", "win_owner", "win_acl", "win_acl_inheritance"}


def test_check_mode_and_read_only_write_nothing():
    host = Host()
    result = run(host, host.upload, dict(BASE), check_mode=True)
    assert result["changed"] is True and result["changed_settings"][0] == "winhttp"
    assert result["actions"][1] == "would set TelemetryProxyServer: (absent) -> proxy.corp:8080"
    assert result["backup_file"] == "" and host.files == {} and host.reg == {}
    assert set(host.modules()) == {"win_powershell"} and len(host.calls) == 1
    result = run(host, host.upload, dict(BASE, read_only=True), check_mode=False)
    assert result["changed"] is False and len(result["actions"]) == 4
    assert not WRITERS & set(host.modules()) and host.reg == {}


def test_a_converged_host_costs_one_state_query():
    host = Host()
    converged(host)
    result = run(host, host.upload, dict(BASE), check_mode=False)
    assert result["changed"] is False and result["changed_settings"] == [] and host.modules() == ["win_powershell"]
    assert [s["current"] for s in result["settings"]] == ["proxy.corp:8080, bypass <local>", "proxy.corp:8080", "1", "1"]


def test_not_an_administrator_changes_nothing():
    host = Host(admin=False, user="CORP\\helpdesk")
    with pytest.raises(ChangeError, match=r"^CORP\\helpdesk is not an enabled member of BUILTIN\\Administrators"):
        run(host, host.upload, dict(BASE), check_mode=False)
    assert host.modules() == ["win_powershell"] and host.reg == {}


def test_a_change_is_backed_up_then_imported_once_then_winhttp_then_read_back():
    host = Host()
    host.set(DATA, "TelemetryProxyServer", "REG_SZ", "old.corp:3128")
    host.set(WINHTTP, "WinHttpSettings", "REG_BINARY", WINHTTP_DIRECT)
    result = run(host, host.upload, dict(BASE), check_mode=False, host="dc01")
    assert result["changed"] is True and result["verified"] is True
    assert result["written"] == ["winhttp", "telemetry_proxy_server", "disable_enterprise_auth_proxy",
                                 "prefer_static_proxy"]
    assert host.get(DATA, "TelemetryProxyServer") == ("REG_SZ", "proxy.corp:8080")
    assert host.get(DATA, "DisableEnterpriseAuthProxy") == ("REG_DWORD", 1)
    assert host.get(ATP, "PreferStaticProxyForHttpRequest") == ("REG_DWORD", 1)
    assert host.get(WINHTTP, "WinHttpSettings")[1][16:31] == b"proxy.corp:8080"
    order = [m for m in host.modules() if m != "win_acl"]
    assert order == ["win_powershell", "win_file", "win_owner", "win_acl_inheritance", "upload", "win_command",
                     "win_http_proxy", "win_powershell"], order
    # before.reg: the old values (absent ones as deletions), in the Defender for Endpoint backup folder
    assert result["backup_file"].startswith("C:\\ProgramData\\atp.sensor_proxy\\mde_backups\\atp_proxy_")
    before = {(k, n): (t, d) for k, n, t, d in PARSE(regfile.decode(host.files[result["backup_file"]])) if n}
    assert before[(lm(DATA), "TelemetryProxyServer")] == ("REG_SZ", "old.corp:3128")
    assert before[(lm(DATA), "DisableEnterpriseAuthProxy")] == ("DELETE", None)
    assert before[(lm(WINHTTP), "WinHttpSettings")] == ("REG_BINARY", WINHTTP_DIRECT.hex())
    # after.reg writes the registry values; WinHTTP is win_http_proxy's (with the real module's arguments)
    after = {n for k, n, t, d in PARSE(regfile.decode(host.files[result["applied_file"]])) if n}
    assert "WinHttpSettings" not in after and "TelemetryProxyServer" in after
    assert ("ansible.windows.win_http_proxy", {"proxy": "proxy.corp:8080", "bypass": ["<local>"]}) in host.calls
    # reg import of before.reg puts everything back
    host.calls.clear()
    host.win_command({"argv": ["reg.exe", "import", result["backup_file"], "/reg:64"]})
    assert host.get(DATA, "TelemetryProxyServer") == ("REG_SZ", "old.corp:3128")
    assert host.get(DATA, "DisableEnterpriseAuthProxy") is None and host.get(ATP, "PreferStaticProxyForHttpRequest") is None
    assert host.get(WINHTTP, "WinHttpSettings") == ("REG_BINARY", WINHTTP_DIRECT)


def test_a_failed_win_http_proxy_rolls_the_registry_values_back():
    host = Host()
    host.set(DATA, "TelemetryProxyServer", "REG_SZ", "old.corp:3128")
    host.http_proxy_fails = True
    with pytest.raises(ChangeError) as err:
        run(host, host.upload, dict(BASE), check_mode=False)
    assert "win_http_proxy failed" in str(err.value) and "restored to their previous" in str(err.value)
    assert host.get(DATA, "TelemetryProxyServer") == ("REG_SZ", "old.corp:3128")
    assert host.get(ATP, "PreferStaticProxyForHttpRequest") is None
    assert err.value.details["written"] == [] and err.value.details["changed_settings"][0] == "winhttp"
    assert [m for m in host.modules() if m == "win_command"] == ["win_command", "win_command"]  # the change, the undo


# ---------------------------------------------------------------------------
# The host summary and the one-line text
# ---------------------------------------------------------------------------
def test_summary_and_line_say_what_the_mde_step_did():
    assert summaries.summary(None)["configured"] is False and summaries.line(None) == ""
    host = Host()
    host.set(DATA, "TelemetryProxyServer", "REG_SZ", "old.corp:3128")
    checked = run(host, host.upload, dict(BASE, prefer_static_proxy=False), check_mode=True)
    found = summaries.summary(checked)
    assert found["configured"] and found["changed"] and not found["failed"]
    assert found["settings"][1] == {"name": "telemetry_proxy_server", "current": "old.corp:3128",
                                    "wanted": "proxy.corp:8080", "changed": True}
    assert summaries.line(checked) == ("MDE: would set WinHTTP proxy: (absent) -> proxy.corp:8080, bypass <local>; "
                                       "would set TelemetryProxyServer: old.corp:3128 -> proxy.corp:8080; "
                                       "would set DisableEnterpriseAuthProxy: (absent) -> 1")
    converged(host)
    assert summaries.line(run(host, host.upload, dict(BASE), check_mode=False)) == "MDE in sync (4 settings)"
    failed = {"failed": True, "changed": False, "msg": "atp_proxy_mde_bypass: entry 2 is empty",
              "error": "atp_proxy_mde_bypass: entry 2 is empty"}
    assert summaries.line(failed) == "MDE failed: atp_proxy_mde_bypass: entry 2 is empty"
    assert summaries.summary(failed)["settings"] == [] and summaries.summary(failed)["failed"] is True


# ---------------------------------------------------------------------------
# One plan per run: the role's job plans (with the account WinHTTP copies) and run() writes that plan
# ---------------------------------------------------------------------------
def test_a_given_plan_is_written_without_planning_or_reading_again(monkeypatch):
    host = Host()
    host.set(DATA, "TelemetryProxyServer", "REG_SZ", "old.corp:3128")
    snapshot = read_state(host, [WINHTTP, DATA, ATP, MANIFEST])  # the caller's one state query
    the_plan = plans.plan(host, BASE, snapshot.keys)
    assert host.modules() == ["win_powershell"]  # planned from the caller's query: nothing more was read

    def planned_again(*args, **kwargs):
        raise AssertionError("run() planned again")

    monkeypatch.setattr(runs, "plan", planned_again)
    monkeypatch.setattr(plans, "plan", planned_again)
    result = run(host, host.upload, dict(BASE), check_mode=False, snapshot=snapshot, the_plan=the_plan)
    assert result["written"] == ["winhttp", "telemetry_proxy_server", "disable_enterprise_auth_proxy",
                                 "prefer_static_proxy"]
    assert host.get(DATA, "TelemetryProxyServer") == ("REG_SZ", "proxy.corp:8080")
    # the second state query is the write path's read back, after the write: none before it
    assert host.modules()[1] == "win_file" and host.modules().count("win_powershell") == 2


def test_winhttp_from_another_account_is_planned_once_with_its_values():
    host = Host(user="CORP\\ansible-admin")
    converged(host)
    host.set(HKCU, "DefaultConnectionSettings", "REG_BINARY", WININET_DIRECT)  # the connection user's: not used
    snapshot = read_state(host, [WINHTTP, DATA, ATP, MANIFEST])
    system = KeyRead(r"HKU:\S-1-5-18\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections", True,
                     {"defaultconnectionsettings": RegValue("DefaultConnectionSettings", "REG_BINARY", WININET_SYSTEM)})
    ie_from = plans.copy_of(system, "LocalSystem (S-1-5-18)")
    the_plan = plans.plan(host, IE, snapshot.keys, name, "CORP\\ansible-admin", ie_from=ie_from)
    assert host.modules() == ["win_powershell"]  # the account's value came with ie_from: no read of HKCU
    assert the_plan.runs_as == "LocalSystem (S-1-5-18)" and the_plan.changed_settings == ["winhttp"]
    (item,) = the_plan.items
    # win_http_proxy source=ie would copy the connection user's setting, so the account's values are explicit
    assert item.write_with == ("ansible.windows.win_http_proxy", {"proxy": "sys.corp:8080", "bypass": ["*.corp"]})
    result = run(host, host.upload, dict(IE, name_prefix=PREFIX), check_mode=True, snapshot=snapshot,
                 ie_from=ie_from, the_plan=the_plan)
    assert result["winhttp_copied_from"] == "LocalSystem (S-1-5-18)" and result["changed_settings"] == ["winhttp"]
    assert host.modules() == ["win_powershell"]

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_sensor_v3 and what it adds to _mde and _summary: a sensor v3's proxy, where Set-MDISensorProxyConfiguration puts
it (TelemetryProxyServer as host:port, Defender Antivirus' ProxyServer as the URL), one owner per setting, and the
line of a v3 host. The host's values are written by hand in the shape the state query returns; nothing is read."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _argspec as argspec
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _status as st
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _summary as summary
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host._remote import KeyRead, RegValue
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _desired as desired_mod
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _plan as plans
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _v3 as v3
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet._winhttp import WinHttp

DATA = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\DataCollection"
DEFENDER = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender"
NAME = argspec.namer("atp_proxy_mde_")
OWNER = "the sensor v3's proxy (atp_proxy_settings.proxy_server)"
SENSOR_ONLY = {"winhttp_source": "unmanaged", "telemetry": False}


def values(telemetry=None, defender=None) -> dict:
    """The two keys as the state query gives them (absent values: not in the key; absent key: exists False)."""
    def key(path, name, data):
        if data is None:
            return KeyRead(path, False)
        return KeyRead(path, True, {name.lower(): RegValue(name, "REG_SZ", None, data)})
    return {DATA.lower(): key(DATA, "TelemetryProxyServer", telemetry),
            DEFENDER.lower(): key(DEFENDER, "ProxyServer", defender)}


def no_reads(*args, **kwargs):
    raise AssertionError("nothing may be read: %r" % (args,))


@pytest.mark.parametrize("url, telemetry, defender", [
    ("http://proxy.corp:8080", "proxy.corp:8080", "http://proxy.corp:8080"),
    ("http://proxy.corp:8080/", "proxy.corp:8080", "http://proxy.corp:8080"),
    # the cmdlet's Replace('http://', '') would leave https:// in TelemetryProxyServer, which takes host:port
    ("https://proxy.corp:8443", "proxy.corp:8443", "https://proxy.corp:8443"),
    # No port: both values name the scheme's default one. Defender Antivirus' ProxyServer takes <server>:<port>; a
    # review found "http://proxy.corp" written there beside TelemetryProxyServer "proxy.corp:80".
    ("http://proxy.corp", "proxy.corp:80", "http://proxy.corp:80"),
    ("https://10.0.0.6", "10.0.0.6:443", "https://10.0.0.6:443"),
    ("http://[fd00::6]", "[fd00::6]:80", "http://[fd00::6]:80"),
    ("http://[fd00::6]:3128", "[fd00::6]:3128", "http://[fd00::6]:3128"),
])
def test_the_two_values_of_a_proxy_url(url, telemetry, defender):
    wanted = v3.wanted(url, OWNER)
    assert [(w.setting.value_name, w.value, w.owner) for w in wanted] == [
        ("TelemetryProxyServer", telemetry, OWNER), ("ProxyServer", defender, OWNER)]
    assert desired_mod._validate_av_proxy(defender, lambda option: option) == defender  # the collection's own check


def test_a_direct_v3_host_gets_both_values_and_absent_removes_both():
    plan = plans.plan(no_reads, dict(SENSOR_ONLY, also=v3.wanted("http://proxy.corp:8080", OWNER)), values(), NAME)
    assert plan.changed_settings == ["telemetry_proxy_server", "av_proxy_server"]
    assert plan.actions(False) == [
        "set TelemetryProxyServer: (absent) -> proxy.corp:8080 (the sensor v3's proxy)",
        "set Defender Antivirus ProxyServer: (absent) -> http://proxy.corp:8080 (the sensor v3's proxy)"]
    assert [(i.path, i.name, i.old, i.wanted) for i in plan.items] == [
        (DATA, "TelemetryProxyServer", None, "proxy.corp:8080"), (DEFENDER, "ProxyServer", None, "http://proxy.corp:8080")]
    assert plan.diff()[0]["before"] == "# TelemetryProxyServer (REG_SZ)\n(absent)\n"
    assert plan.diff()[0]["after"] == "# TelemetryProxyServer (REG_SZ)\nproxy.corp:8080\n"

    converged = values("proxy.corp:8080", "http://proxy.corp:8080")
    assert plans.plan(no_reads, dict(SENSOR_ONLY, also=v3.wanted("http://proxy.corp:8080", OWNER)), converged,
                      NAME).changed_settings == []

    clear = dict(SENSOR_ONLY, also=v3.wanted(None, "atp_proxy_state=absent"))
    plan = plans.plan(no_reads, clear, converged, NAME)
    assert plan.actions(True) == ["would remove TelemetryProxyServer: proxy.corp:8080 -> (absent) (the sensor v3's proxy)",
                                  "would remove Defender Antivirus ProxyServer: http://proxy.corp:8080 -> (absent) "
                                  "(the sensor v3's proxy)"]
    assert [(i.old, i.wanted) for i in plan.items] == [("proxy.corp:8080", None), ("http://proxy.corp:8080", None)]
    # each removed on its own: the one value left is removed, nothing to do when both are gone
    assert plans.plan(no_reads, clear, values(defender="http://proxy.corp:8080"), NAME).changed_settings == \
        ["av_proxy_server"]
    assert plans.plan(no_reads, clear, values(), NAME).changed_settings == []


def test_another_proxy_or_half_of_the_values_is_a_change():
    wanted = dict(SENSOR_ONLY, also=v3.wanted("http://proxy.corp:8080", OWNER))
    assert plans.plan(no_reads, wanted, values("old.corp:3128", "http://old.corp:3128"), NAME).changed_settings == [
        "telemetry_proxy_server", "av_proxy_server"]
    assert plans.plan(no_reads, wanted, values("proxy.corp:8080"), NAME).changed_settings == ["av_proxy_server"]


def test_agreeing_mde_options_own_the_value_and_it_is_written_once():
    options = {"proxy_server": "PROXY.corp:8080", "av_proxy_server": "http://proxy.corp:8080/",
               "also": v3.wanted("http://proxy.corp:8080", OWNER)}
    got = [(w.setting.name, w.value, w.owner) for w in desired_mod.desired(options, NAME)]
    assert got == [("winhttp", WinHttp("PROXY.corp:8080", None), ""),
                   ("telemetry_proxy_server", "PROXY.corp:8080", ""),
                   ("disable_enterprise_auth_proxy", 1, ""), ("prefer_static_proxy", 1, ""),
                   ("av_proxy_server", "http://proxy.corp:8080/", "")]
    # a URL without a port names the scheme's default port
    assert len(desired_mod.desired({"proxy_server": "proxy.corp:80", "also": v3.wanted("http://proxy.corp", OWNER)}, NAME)) == 5


@pytest.mark.parametrize("options, url, owner, words", [
    ({"proxy_server": "other.corp:3128"}, "http://proxy.corp:8080", OWNER,
     ["atp_proxy_mde_proxy_server: sets TelemetryProxyServer to 'other.corp:3128'", "atp_proxy_settings.proxy_server",
      "wants 'proxy.corp:8080'", "set atp_proxy_mde_telemetry: false"]),
    ({"proxy_server": "proxy.corp:8080", "av_proxy_server": "https://proxy.corp:8080"}, "http://proxy.corp:8080",
     "the sensor v3's proxy (atp_proxy_sensor_proxy_url)",
     ["atp_proxy_mde_av_proxy_server: sets Defender Antivirus ProxyServer", "atp_proxy_sensor_proxy_url",
      "leave atp_proxy_mde_av_proxy_server empty"]),
    ({"proxy_server": "proxy.corp:8080"}, None, "atp_proxy_state=absent on this sensor v3 host",
     ["atp_proxy_mde_telemetry: sets TelemetryProxyServer", "atp_proxy_state=absent",
      "removes it (as Clear-MDISensorProxyConfiguration does)"]),
], ids=["telemetry", "antivirus_scheme", "absent"])
def test_a_conflict_names_both_variables(options, url, owner, words):
    with pytest.raises(UsageError) as caught:
        desired_mod.desired(dict(options, also=v3.wanted(url, owner)), NAME)
    text = str(caught.value)
    for word in words + ["one setting has one owner", "Nothing was changed"]:
        assert word in text, (word, text)


def test_credentials_warn_naming_only_the_variables_given():
    assert v3.credentials_warning({}, "dc01") == ""
    assert v3.credentials_warning({"atp_proxy_sensor_proxy_password": "S3cret!", "atp_proxy_state": "absent"},
                                  "dc01") == ""
    text = v3.credentials_warning({"atp_proxy_sensor_proxy_username": "CORP\\svc",
                                   "atp_proxy_sensor_proxy_password": "S3cret!"}, "dc01")
    assert text.startswith("atp_proxy_sensor_proxy_username and atp_proxy_sensor_proxy_password are not used on dc01")
    assert "learn.microsoft.com/defender-endpoint/configure-device-connectivity" in text
    assert "S3cret!" not in text and "CORP\\svc" not in text
    assert v3.credentials_warning({"atp_proxy_sensor_proxy_username": "u"}, "dc02").startswith(
        "atp_proxy_sensor_proxy_username is not used on dc02")


def test_owner_names_where_the_proxy_comes_from():
    assert v3.owner({"atp_proxy_source": "settings"}) == OWNER
    assert v3.owner({"atp_proxy_sensor_proxy_url": "http://p:1"}) == "the sensor v3's proxy (atp_proxy_sensor_proxy_url)"
    assert "atp_proxy_source=current_user" in v3.owner({})
    assert v3.owner({"atp_proxy_state": "absent"}).startswith("atp_proxy_state=absent")


def job_result(pending, check_mode=False, mode="check", in_sync=None):
    changed = ["telemetry_proxy_server", "av_proxy_server"] if pending else []
    mde_result = {"changed": bool(pending) and mode == "configure" and not check_mode, "changed_settings": changed,
                  "actions": ["would set TelemetryProxyServer: (absent) -> proxy.corp:8080 (the sensor v3's proxy)"]
                  if pending else [], "settings": []}
    return {"method": "mde", "in_sync": not pending if in_sync is None else in_sync, "changed_sids": [], "targets": [],
            "pending_changes": changed, "written": [], "changed": mde_result["changed"], "mde": mde_result,
            "sensor_v3": v3.record("http://proxy.corp:8080", changed),
            "sensor_info": {"sensor": {"installed": True, "generation": "v3"}},
            "effective_proxy": {"sensor": {"proxy": None, "source": "mde", "summary": "direct (no proxy)"}}}


def test_the_line_of_a_drifted_v3_host_has_the_fix_and_never_says_in_sync():
    drifted = summary.host_summary("dc01", mode="check", proxy=job_result(True))
    assert drifted["status"] == st.DRIFTED
    assert "fix: run the configure playbook, or Set-MDISensorProxyConfiguration -ProxyUrl 'http://proxy.corp:8080' " \
           "on the host" in drifted["line"], drifted["line"]
    assert drifted["sensor_v3"]["pending"] == ["telemetry_proxy_server", "av_proxy_server"]
    would = summary.host_summary("dc01", mode="configure", check_mode=True, proxy=job_result(True, check_mode=True))
    assert would["status"] == st.WOULD_CHANGE and "fix: " in would["line"]
    changed = summary.host_summary("dc01", mode="configure", proxy=job_result(True, mode="configure"))
    assert changed["status"] == st.CHANGED and "fix: " not in changed["line"]
    assert "sensor v3: %s" % v3.NEXT_READ in changed["line"]
    synced = summary.host_summary("dc01", mode="check", proxy=job_result(False))
    assert synced["status"] == st.IN_SYNC and "fix" not in synced["line"] and "sensor v3:" not in synced["line"]


def test_a_proxy_written_in_other_letter_case_is_in_sync():
    """A GPO that writes PROXY.corp (or HTTP://) must not have the value rewritten, and backed up, on every run: a
    proxy's scheme and host name ignore letter case. A review found TelemetryProxyServer rewritten for it."""
    wanted = v3.wanted("http://proxy.corp:8080", OWNER)
    plan = plans.plan(no_reads, dict(SENSOR_ONLY, also=wanted), values("PROXY.corp:8080", "HTTP://Proxy.Corp:8080"),
                      NAME)
    assert plan.changed_settings == []
    moved = plans.plan(no_reads, dict(SENSOR_ONLY, also=wanted), values("PROXY.corp:3128", "http://proxy.corp:8080"),
                       NAME)
    assert moved.changed_settings == ["telemetry_proxy_server"]  # another port is another proxy

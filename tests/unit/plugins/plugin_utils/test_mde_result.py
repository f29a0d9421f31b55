# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Defender for Endpoint part's typed result (_mde/_result.MdeResult): its values stay Pending items until the
edge, and its flat fields are what win_mde_proxy and the job's ``mde`` return, with or without a plan."""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host._remote import KeyRead, RegValue
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _plan as plans
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde._result import MdeResult
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _registry_change as apply

TLS = r"HKLM:\SOFTWARE\Microsoft\.NETFramework\v4.0.30319"
DATA = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\DataCollection"


def tls_item(old=None):
    return apply.Pending(None, TLS, "SchUseStrongCrypto", old, "missing" if old is None else "different", 1,
                         key=r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\.NETFramework\v4.0.30319",
                         label=r"SchUseStrongCrypto (SOFTWARE\Microsoft\.NETFramework\v4.0.30319)")


def test_the_tls_values_alone_predicted_say_would_and_keep_every_documented_field():
    result = MdeResult(extra=[tls_item()], predicted=True, changed=True)
    flat = result.to_result()
    assert flat["changed"] is True and flat["settings"] == [] and flat["written"] == [] and flat["pruned"] == []
    assert flat["backup_file"] == flat["applied_file"] == ""
    assert flat["changed_settings"] == [r"SchUseStrongCrypto (SOFTWARE\Microsoft\.NETFramework\v4.0.30319)"]
    assert flat["actions"] == [r"would write SchUseStrongCrypto of SchUseStrongCrypto "
                               r"(SOFTWARE\Microsoft\.NETFramework\v4.0.30319): (absent) -> 1"]
    assert flat["backups"] == [tls_item().to_result()] and flat["backups"][0]["state"] == "missing"
    assert len(flat["diff"]) == 1 and flat["warnings"] == []
    # Not a Defender for Endpoint run: no WinHTTP copy field; not written: no verified, no secured folder.
    assert "winhttp_copied_from" not in flat and "verified" not in flat and "backup_dir_secured" not in flat


def test_a_plan_and_the_joining_values_make_one_list_each_and_the_change_adds_what_it_did():
    options = {"proxy_server": "proxy.corp:8080", "settings": ["telemetry_proxy_server"], "winhttp_source": "unmanaged"}
    known = {path: KeyRead(path, False) for path in plans.reads(options)}
    known[DATA] = KeyRead(DATA, True, {"telemetryproxyserver": RegValue("TelemetryProxyServer", "REG_SZ", None,
                                                                        "old.corp:3128")})
    the_plan = plans.plan(lambda *a: {}, options, known)
    planned = [i.name for i in the_plan.items]
    assert "TelemetryProxyServer" in planned and the_plan.changed_settings[0] == "telemetry_proxy_server"
    result = MdeResult(plan=the_plan, extra=[tls_item(0)], winhttp_copied_from="")
    assert [i.name for i in result.items] == planned + ["SchUseStrongCrypto"]
    assert result.items[0].wanted == "proxy.corp:8080" and result.items[-1].wanted == 1  # values, not text
    result.done({"changed": True, "backup_file": r"C:\b\before.reg", "applied_file": r"C:\b\after.reg",
                 "written": planned + ["SchUseStrongCrypto"], "pruned": [], "backups": ["ignored"],
                 "backup_dir_secured": True, "verified": True})
    flat = result.to_result()
    assert flat["changed"] is True and flat["written"] == planned + ["SchUseStrongCrypto"]
    assert flat["changed_settings"] == the_plan.changed_settings + [tls_item().label]
    assert len(flat["actions"]) == len(planned) + 1 and "would" not in " ".join(flat["actions"]), flat["actions"]
    assert "SchUseStrongCrypto" in flat["actions"][-1]
    assert [b["name"] for b in flat["backups"]] == planned + ["SchUseStrongCrypto"]  # made from the items
    assert flat["backups"][0]["old"] == "old.corp:3128"
    assert flat["verified"] is True and flat["backup_dir_secured"] is True and flat["winhttp_copied_from"] == ""
    assert flat["settings"] and all(s["name"] for s in flat["settings"])

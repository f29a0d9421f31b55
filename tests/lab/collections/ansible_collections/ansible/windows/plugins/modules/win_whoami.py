# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_whoami (TEST ONLY).

Returns the RETURN shape of plugins/modules/win_whoami.py (keys and types; values are built from
the emulated account). The connection user is in BUILTIN\\Administrators (S-1-5-32-544, enabled)
unless the host has the ``not_admin`` fault. Become accounts get their well-known SIDs.
Approximate: privileges and rights lists are short fixed samples; logon ids and times are synthetic.
"""

DOCUMENTATION = r"""
---
module: win_whoami
short_description: Lab stand-in for ansible.windows.win_whoami (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context


def group(name, domain, sid, attributes, account_type="Alias"):
    return {"account_name": name, "domain_name": domain, "sid": sid, "type": account_type,
            "attributes": attributes}


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    st, host, account = context(module)
    faults = host.faults()
    service = account["sid"] in st.SERVICE_ACCOUNTS
    groups = [group("Everyone", "", "S-1-1-0", ["Mandatory", "Enabled by default", "Enabled"], "WellKnownGroup")]
    is_admin = not faults.get("not_admin") and (account["sid"] != st.SID_LOCAL_SERVICE
                                                and account["sid"] != st.SID_NETWORK_SERVICE)
    if is_admin:
        groups.append(group("Administrators", "BUILTIN", st.SID_ADMINISTRATORS,
                            ["Mandatory", "Enabled by default", "Enabled", "Owner"]))
    groups.append(group("Users", "BUILTIN", "S-1-5-32-545", ["Mandatory", "Enabled by default", "Enabled"]))
    privileges = {"SeChangeNotifyPrivilege": "enabled-by-default"}
    if is_admin:
        privileges.update({"SeBackupPrivilege": "disabled", "SeRestorePrivilege": "disabled",
                           "SeDebugPrivilege": "disabled"})
    result = {
        "changed": False,
        "authentication_package": "Negotiate" if not service else "NTLM",
        "user_flags": "Winlogon" if not service else "",
        "upn": "" if service else "%s@%s.local" % (account["name"], account["domain"].lower()),
        "logon_type": "Network" if not service else "Service",
        "privileges": privileges,
        "label": {"account_name": "High Mandatory Level" if is_admin else "Medium Mandatory Level",
                  "domain_name": "Mandatory Label", "sid": "S-1-16-12288" if is_admin else "S-1-16-8192",
                  "type": "Label"},
        "impersonation_level": "SecurityAnonymous",
        "login_time": "2026-11-22T08:00:00.0000000+00:00",
        "groups": groups,
        "account": {"account_name": account["name"], "domain_name": account["domain"], "sid": account["sid"],
                    "type": "User" if not service else "WellKnownGroup"},
        "login_domain": account["domain"],
        "logon_server": "" if service else host.name.upper(),
        "logon_id": 1000 + sum(map(ord, host.name)),
        "dns_domain_name": "" if service else account["domain"].upper() + ".LOCAL",
        "token_type": "TokenPrimary",
    }
    if is_admin:
        result["rights"] = ["SeNetworkLogonRight", "SeInteractiveLogonRight", "SeBatchLogonRight"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()

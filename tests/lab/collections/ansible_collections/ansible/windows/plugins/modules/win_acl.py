# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_acl (TEST ONLY), file system paths only.

Mirrors plugins/modules/win_acl.ps1 of ansible.windows 3.3.0: options and their checks (lines 87-96); a missing
path fails "<path> file or directory does not exist on the host" (line 127); the user must resolve (line 133);
``inherit`` defaults to "ContainerInherit, ObjectInherit" on a folder and None on a file (lines 136-141); a rule
that already exists with the same rights, type, identity, inheritance and propagation is left alone
(lines 193-238), otherwise it is added (``changed``, lines 240-256) or removed (``state: absent``). Changing the
DACL of a folder someone else owns needs rights the lab's ``not_admin`` user lacks: .NET's "Attempted to perform
an unauthorized operation." comes back as "an exception occurred when adding the specified rule - <message>".
RETURN is empty.
"""

DOCUMENTATION = r"""
---
module: win_acl
short_description: Lab stand-in for ansible.windows.win_acl (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import account_sid, context


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="str", required=True), user=dict(type="str", required=True),
            rights=dict(type="str", required=True), type=dict(type="str", required=True, choices=["allow", "deny"]),
            state=dict(type="str", default="present", choices=["absent", "present"]),
            inherit=dict(type="str"), propagation=dict(type="str", default="None",
                                                       choices=["InheritOnly", "None", "NoPropagateInherit"]),
            follow=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    st, host, account = context(module)
    result = {"changed": False}
    local = host.path(p["path"])
    if not local.exists():
        module.fail_json(msg="%s file or directory does not exist on the host" % p["path"], **result)
    sid = account_sid(p["user"])
    if sid is None:
        module.fail_json(msg="%s is not a valid user or group on the host machine or domain" % p["user"], **result)
    inherit = "None" if local.is_file() else (p["inherit"] or "ContainerInherit, ObjectInherit")
    rule = {"sid": sid, "rights": p["rights"], "type": p["type"], "inherit": inherit, "propagation": p["propagation"]}
    with host.transaction() as state:
        meta = host.security(p["path"], state)
        if state["faults"].get("not_admin") and meta["owner"] != host.connection_owner(state):
            verb = "adding" if p["state"] == "present" else "removing"
            module.fail_json(msg="an exception occurred when %s the specified rule - Attempted to perform an "
                                 "unauthorized operation." % verb, **result)
        aces = list(meta["aces"])
        present = rule in aces
        if p["state"] == "present" and not present:
            aces.append(rule)
        elif p["state"] == "absent" and present:
            aces.remove(rule)
        else:
            module.exit_json(**result)
        result["changed"] = True
        if not module.check_mode:
            host.set_security(p["path"], state, aces=aces)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_acl_inheritance (TEST ONLY), file system paths only.

Mirrors plugins/modules/win_acl_inheritance.ps1 of ansible.windows 3.3.0: a missing path fails "<path> does not
exist" (line 112); ``state: absent`` on a folder that inherits calls ``SetAccessRuleProtection($true,
$reorganize)``: with ``reorganize: false`` the inherited entries are dropped, with true they are copied as explicit
ones (lines 140-148); ``state: present`` turns inheritance back on (lines 127-138); ``changed`` only when the
protection changes; in diff mode ``diff.before``/``diff.after`` are ``{state: present|absent}``, the latter read
back after the change (lines 122-123 and 150-160). The lab models inherited entries implicitly (what C:\\ProgramData
grants), so "copied as explicit" is recorded as ``inherited_copied``. Without the rights to change the DACL (the
lab's ``not_admin`` user on a folder it does not own) the change fails "Failed to disable inheritance of '<path>':
Attempted to perform an unauthorized operation.". RETURN is empty.
"""

DOCUMENTATION = r"""
---
module: win_acl_inheritance
short_description: Lab stand-in for ansible.windows.win_acl_inheritance (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="str", required=True),
                                              reorganize=dict(type="bool", default=False),
                                              state=dict(type="str", default="absent", choices=["absent", "present"])),
                           supports_check_mode=True)
    p = module.params
    st, host, account = context(module)
    result = {"changed": False}
    if not host.path(p["path"]).exists():
        module.fail_json(msg="%s does not exist" % p["path"], **result)
    with host.transaction() as state:
        meta = host.security(p["path"], state)
        before = "absent" if meta["protected"] else "present"
        after = before
        if before != p["state"]:
            if state["faults"].get("not_admin") and meta["owner"] != host.connection_owner(state):
                verb = "disable" if p["state"] == "absent" else "enable"
                module.fail_json(msg="Failed to %s inheritance of '%s': Attempted to perform an unauthorized "
                                     "operation." % (verb, p["path"]), **result)
            result["changed"] = True
            if not module.check_mode:
                host.set_security(p["path"], state, protected=p["state"] == "absent",
                                  inherited_copied=bool(p["reorganize"]) and p["state"] == "absent")
                after = p["state"]
    if module._diff:
        result["diff"] = {"before": {"state": before}, "after": {"state": after}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

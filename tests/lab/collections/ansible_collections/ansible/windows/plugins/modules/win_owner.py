# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_owner (TEST ONLY). Mirrors plugins/modules/win_owner.ps1 of 3.3.0:
a missing path fails "<path> file or directory does not exist on the host" (line 34); ``user`` must resolve
(a SID or a known account, lines 38-43); the owner is changed only when it differs (``changed``, lines 54-58);
``recurse`` applies it below a folder (lines 60-71). Setting an owner needs SeTakeOwnershipPrivilege /
SeRestorePrivilege (line 46): without them (the lab's ``not_admin`` fault) .NET throws "Attempted to perform an
unauthorized operation.", reported as "an error occurred when attempting to change owner on <path> for <user>:
<message>" (line 74). RETURN is empty. The owner is stored by name: BUILTIN\\Administrators for S-1-5-32-544,
NT AUTHORITY\\SYSTEM for S-1-5-18.
"""

DOCUMENTATION = r"""
---
module: win_owner
short_description: Lab stand-in for ansible.windows.win_owner (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import account_name, context


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True),
                                              recurse=dict(type="bool", default=False),
                                              user=dict(type="str", required=True)),
                           supports_check_mode=True)
    p = module.params
    st, host, account = context(module)
    result = {"changed": False}
    local = host.path(p["path"])
    if not local.exists():
        module.fail_json(msg="%s file or directory does not exist on the host" % p["path"], **result)
    owner = account_name(p["user"])
    if owner is None:
        module.fail_json(msg="failed to lookup the SID for '%s'" % p["user"], **result)
    if host.faults().get("not_admin"):
        module.fail_json(msg="an error occurred when attempting to change owner on %s for %s: Attempted to perform an "
                             "unauthorized operation." % (p["path"], p["user"]), **result)
    paths = [p["path"]]
    if p["recurse"] and local.is_dir():
        paths += [st.local_to_win(host.fs_root, c) for c in sorted(local.rglob("*"))]
    with host.transaction() as state:
        for path in paths:
            if host.security(path, state)["owner"] != owner:
                result["changed"] = True
                if not module.check_mode:
                    host.set_security(path, state, owner=owner)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_file (TEST ONLY). Mirrors plugins/modules/win_file.ps1:
``state: absent`` removes a file or directory tree (changed only if it existed, lines 90-103),
``directory`` creates it with parents (lines 120-153), ``file`` fails unless it exists ("path <p> will
not be created", line 155), ``touch`` creates an empty file. Check mode changes nothing. RETURN is empty.
What the connection user may not write (lab ``not_admin`` fault: a protected folder, another user's file)
fails with .NET's "Access to the path '<path>' is denied.".
"""

DOCUMENTATION = r"""
---
module: win_file
short_description: Lab stand-in for ansible.windows.win_file (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="str", required=True, aliases=["dest", "name"]),
                                              state=dict(type="str", choices=["absent", "directory", "file",
                                                                              "touch"])),
                           supports_check_mode=True)
    path, state = module.params["path"], module.params["state"]
    st, host, account = context(module)
    local = host.path(path)
    result = {"changed": False}
    if not host.can_write(path):
        # Remove-Item and New-Item throw UnauthorizedAccessException: win_file.ps1 lines 80-81
        # ("Failed to delete <path>: <message>") and 138-148 (the exception's message).
        if state == "absent" and local.exists():
            module.fail_json(msg="Failed to delete %s: Access to the path '%s' is denied." % (path, path), **result)
        if state in ("directory", "touch") and not local.exists():
            module.fail_json(msg="Access to the path '%s' is denied." % path, **result)
    if state == "absent":
        if local.exists():
            if not module.check_mode:
                shutil.rmtree(local) if local.is_dir() else local.unlink()
                with host.transaction() as st:
                    host.forget_security(path, st)
            result["changed"] = True
    elif state == "directory":
        if local.is_file():
            module.fail_json(msg="path %s is not a directory" % path, **result)
        if not local.exists():
            if not module.check_mode:
                local.mkdir(parents=True)
                host.set_security(path, owner=host.connection_owner())
            result["changed"] = True
    elif state == "touch":
        if not module.check_mode:
            local.parent.mkdir(parents=True, exist_ok=True)
            local.touch()
        result["changed"] = True
    else:
        if local.is_dir():
            module.fail_json(msg="path %s is not a file" % path, **result)
        if not local.exists():
            module.fail_json(msg="path %s will not be created" % path, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

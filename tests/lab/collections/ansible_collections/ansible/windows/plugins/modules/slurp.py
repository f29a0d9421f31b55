# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.slurp (TEST ONLY). Mirrors plugins/modules/slurp.ps1 lines 10-25:
``content`` (base64) and ``encoding: base64``; "Path <src> is a directory" / "Path <src> is not found".
Paths are emulated Windows paths (tests/lab/state.py, case-insensitive)."""

DOCUMENTATION = r"""
---
module: slurp
short_description: Lab stand-in for ansible.windows.slurp (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

import base64

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context


def main():
    module = AnsibleModule(argument_spec=dict(src=dict(type="str", required=True, aliases=["path"])),
                           supports_check_mode=True)
    src = module.params["src"]
    st, host, account = context(module)
    local = host.path(src)
    result = {"changed": False}
    if local.is_file():
        module.exit_json(content=base64.b64encode(local.read_bytes()).decode(), encoding="base64", **result)
    if local.is_dir():
        module.fail_json(msg="Path %s is a directory" % src, **result)
    module.fail_json(msg="Path %s is not found" % src, **result)


if __name__ == "__main__":
    main()

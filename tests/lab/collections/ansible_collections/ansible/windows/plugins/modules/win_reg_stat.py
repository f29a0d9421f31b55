# Copyright: (c) 2026, atp.sensor_proxy contributors
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab stand-in for ansible.windows.win_reg_stat (TEST ONLY).

Mirrors plugins/modules/win_reg_stat.ps1 of ansible.windows 3.3.0:
* path check and message: lines 76-78;
* ``OpenSubKey`` returning null (missing key, or any key under an unloaded HKU hive) gives
  ``exists: false``: lines 89-123;
* value formats (Get-PropertyValue, lines 18-73): binary ``value`` is a list of ints and
  ``raw_value`` a list of ``"0x%02x"`` strings; DWORD/QWORD are unsigned ints; types are
  ``REG_*`` names.
Approximate: HKCR and HKCC are not emulated; REG_EXPAND_SZ ``value`` is not expanded.
"""

DOCUMENTATION = r"""
---
module: win_reg_stat
short_description: Lab stand-in for ansible.windows.win_reg_stat (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
options:
  path: {type: str, required: true, aliases: [key]}
  name: {type: str, aliases: [entry, value]}
author: atp.sensor_proxy contributors
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context


def property_value(value):
    kind = value["type"]
    data = value["data"]
    if kind in ("REG_BINARY", "REG_NONE"):
        raw = bytes.fromhex(data)
        return {"type": kind, "value": list(raw), "raw_value": ["0x%02x" % b for b in raw]}
    return {"type": kind, "value": data, "raw_value": data}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="str", required=True, aliases=["key"]),
            name=dict(type="str", aliases=["entry", "value"]),
        ),
        supports_check_mode=True,
    )
    path, name = module.params["path"], module.params["name"]
    result = {"changed": False}
    if not re.match(r"^HK(CC|CR|CU|LM|U):\\", path):
        module.fail_json(msg="path: %s is not a valid registry path, see module documentation for examples." % path,
                         **result)
    st, host, account = context(module)
    from tests.lab import system_state  # importable once context() has put the checkout on sys.path

    state = system_state.with_service_keys(host.state(), system_state.read(host))  # the SCM's keys too
    reg = st.Registry(state, account["sid"])
    try:
        values = reg.get_values(path)
    except st.LabError as exc:
        module.fail_json(msg=str(exc), **result)
    if values is not None and reg.read_denied(path):  # OpenSubKey throws, outside the script's try/finally
        module.fail_json(msg='Unhandled exception while executing module: Exception calling "OpenSubKey" with "2" '
                             'argument(s): "Requested registry access is not allowed."', **result)
    if values is None:
        result["exists"] = False
    elif name is None:
        props = {}
        for value in values.values():
            props[value["name"]] = property_value(value)
        result.update(exists=True, properties=props, sub_keys=reg.sub_keys(path))
    else:
        value = values.get(name.lower())
        if value is None:
            result["exists"] = False
        else:
            result["exists"] = True
            result.update(property_value(value))
    module.exit_json(**result)


if __name__ == "__main__":
    main()

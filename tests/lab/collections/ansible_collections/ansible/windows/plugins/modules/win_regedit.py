# Copyright: (c) 2026, atp.sensor_proxy contributors
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab stand-in for ansible.windows.win_regedit (TEST ONLY).

Mirrors plugins/modules/win_regedit.ps1 of ansible.windows 3.3.0:
* results ``data_changed``/``data_type_changed`` start false (lines 39-40) and the diff
  ``before``/``after`` start as "" (lines 42-43), returned only in diff mode (Ansible.Basic);
* hex string conversion: Convert-RegExportHexStringToByteArray, lines 135-163;
* comparison: Compare-RegistryProperty, lines 165-173 (arrays element-wise, strings case-sensitive);
* diff values: Get-DiffValue, lines 175-198 (binary "0x%02x" list, dword "0x%08x", qword "0x%016x",
  type = .NET RegistryValueKind name);
* present/absent logic and failure messages: Set-StatePresent lines 266-368, Set-StateAbsent 200-264;
* check mode: nothing is written, ``changed`` is still predicted.
Lab faults: ``deny_hku_write`` (HKU writes fail with .NET's "Requested registry access is not allowed."),
``lost_write`` (reports success, writes nothing).
Approximate: writing under an unloaded HKU hive fails with "failed to create registry key at <path>:
Access to the registry key 'HKEY_USERS\\<sub key>' is denied." (the .NET message for HKEY_USERS);
``hive`` (offline hive file) is not supported; REG_EXPAND_SZ is stored unexpanded.
"""

DOCUMENTATION = r"""
---
module: win_regedit
short_description: Lab stand-in for ansible.windows.win_regedit (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
options:
  path: {type: str, required: true, aliases: [key]}
author: atp.sensor_proxy contributors
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import DOTNET_KIND, MODULE_TYPE, context

DENIED = "Requested registry access is not allowed."


def hex_to_bytes(text):
    """Convert-RegExportHexStringToByteArray (win_regedit.ps1 lines 135-163)."""
    text = re.sub(r"^hex:", "", text.lower())
    text = re.sub(r"[^a-f0-9\\,x\-:]", "", text)
    text = text.replace(",", ":")
    if not text:
        return b""
    if len(text) == 1:
        return bytes([int(text, 16)])
    if len(text) % 2 == 0 and ":" not in text:
        return bytes(int(text[i:i + 2], 16) for i in range(0, len(text), 2))
    if ":" in text:
        return bytes(int(part, 16) for part in re.split(r":+", text) if part != "")
    return b""


def convert_data(module, kind, data):
    """win_regedit.ps1 lines 376-464: data -> the stored representation."""
    if kind in ("REG_BINARY", "REG_NONE"):
        if data is None:
            data = ""
        if isinstance(data, str):
            return hex_to_bytes(data).hex()
        if isinstance(data, bool):
            data = int(data)
        if isinstance(data, int):
            if data > 255:
                module.fail_json(msg="cannot convert binary data '%s' to byte array, please specify this value as a "
                                     "yaml byte array or a comma separated hex value string" % data)
            return bytes([data]).hex()
        if isinstance(data, list):
            return bytes(int(x, 0) if isinstance(x, str) else int(x) for x in data).hex()
        return bytes(data).hex()
    if kind in ("REG_DWORD", "REG_QWORD"):
        if data is None:
            data = 0
        if isinstance(data, str):
            data = int(data, 0)
        elif isinstance(data, float):
            if data % 1:
                module.fail_json(msg="data '%s' cannot be a decimal or float value with a remainder when type is "
                                     "dword or qword" % data)
            data = int(data)
        limit, name = (0xFFFFFFFF, "dword") if kind == "REG_DWORD" else (0xFFFFFFFFFFFFFFFF, "qword")
        if data > limit:
            module.fail_json(msg="data cannot be larger than 0x%x when type is %s" % (limit, name))
        return int(data)
    if kind == "REG_MULTI_SZ":
        if data is None:
            return []
        return [str(x) for x in data] if isinstance(data, list) else [str(data)]
    return "" if data is None else str(data)


def diff_value(kind, data):
    """Get-DiffValue (win_regedit.ps1 lines 175-198)."""
    out = {"type": DOTNET_KIND[kind], "value": data}
    if kind in ("REG_BINARY", "REG_NONE"):
        out["value"] = ["0x%02x" % b for b in bytes.fromhex(data)]
    elif kind == "REG_DWORD":
        out["value"] = "0x%08x" % data
    elif kind == "REG_QWORD":
        out["value"] = "0x%016x" % data
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="str", required=True, aliases=["key"]),
            name=dict(type="str", aliases=["entry", "value"]),
            data=dict(type="raw"),
            type=dict(type="str", default="string", aliases=["datatype"],
                      choices=["none", "binary", "dword", "expandstring", "multistring", "string", "qword"]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            delete_key=dict(type="bool", default=True),
            hive=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    path, name, state_param = p["path"], p["name"], p["state"]
    result = {"changed": False, "data_changed": False, "data_type_changed": False}
    diff = {"before": "", "after": ""}
    warnings = []
    if name is None and p["type"] != "string":
        warnings.append("the data type when name is not specified can only be 'string', the type has "
                        "automatically been converted")
        p["type"] = "string"
    if not re.match(r"^HK(CC|CR|CU|LM|U):\\", path):
        module.fail_json(msg="path: %s is not a valid powershell path, see module documentation for examples." % path)
    if p["hive"]:
        module.fail_json(msg="the lab stand-in does not support 'hive'")
    if name == "":
        name = None
    kind = MODULE_TYPE[p["type"]]
    data = None
    if state_param == "present" and not (p["data"] is None and name is None and kind in ("REG_SZ", "REG_EXPAND_SZ")):
        data = convert_data(module, kind, p["data"])  # $Data stays $null only for the (Default) string

    st, host, account = context(module)
    faults = host.faults()
    hive_id = st.split_reg_path(path, account["sid"])[0]
    deny = faults.get("deny_hku_write")
    # deny_hku_write (optionally one SID), and not_admin: a user who is not an administrator writes only its own hive.
    hku = (hive_id.startswith("HKU\\") and bool(deny) and (deny is True or hive_id.split("\\", 1)[1] == str(deny).upper())
           ) or (bool(faults.get("not_admin")) and hive_id.upper() != "HKU\\" + account["sid"].upper())
    sub_path = path.split(":", 1)[1].lstrip("\\")

    def finish(**extra):
        out = dict(result, **extra)
        if module._diff:
            out["diff"] = diff
        for w in warnings:
            module.warn(w)
        module.exit_json(**out)

    def fail(msg):
        module.fail_json(msg=msg, **result)

    def apply(state):
        reg = st.Registry(state, account["sid"])
        hive, dummy, key = reg.open_key(path)
        writable = not module.check_mode and not faults.get("lost_write")
        if state_param == "absent":
            if key is None:
                return
            if p["delete_key"] and not name:
                if not module.check_mode:
                    if hku and faults.get("deny_hku_write"):
                        fail("failed to delete registry key at %s: %s" % (path, DENIED))
                    if writable:
                        reg.delete_key(path)
                result["changed"] = True
                diff.update(before={path: {}}, after={})
                return
            current = key["values"].get((name or "").lower())
            if current is None:
                return
            if not module.check_mode:
                if hku and faults.get("deny_hku_write"):
                    fail("failed to delete registry property '%s' at %s: %s" % (name, path, DENIED))
                if writable:
                    reg.delete_value(path, name)
            result["changed"] = True
            diff.update(before={path: {name: diff_value(current["type"], current["data"])}}, after={path: {}})
            return

        # state == present (Set-StatePresent)
        if key is None:
            if not module.check_mode:
                if hive is None:
                    fail("failed to create registry key at %s: Access to the registry key 'HKEY_USERS\\%s' is denied."
                         % (path, sub_path))
                if hku and faults.get("deny_hku_write"):
                    fail("failed to create registry key at %s: %s" % (path, DENIED))
                if writable:
                    reg.create_key(path)
            result["changed"] = True
            diff.update(before={}, after={path: {}})
            if module.check_mode or data is None:
                return
        else:
            diff.update(before={path: {}}, after={path: {}})
            if data is None:
                return
        value_name = name or ""
        current = reg.get_value(path, value_name) if key is not None else None
        if current is not None:
            change = False
            if current["type"] != kind:
                change = True
                result["data_type_changed"] = True
                if current["data"] != data:
                    result["data_changed"] = True
            elif current["data"] != data:
                change = True
                result["data_changed"] = True
            if change:
                if not module.check_mode:
                    if hku and faults.get("deny_hku_write"):
                        fail("failed to change registry property '%s' at %s: %s" % (value_name, path, DENIED))
                    if writable:
                        reg.set_value(path, value_name, kind, data)
                result["changed"] = True
                diff["before"][path][value_name] = diff_value(current["type"], current["data"])
                diff["after"][path][value_name] = diff_value(kind, data)
            else:
                same = diff_value(current["type"], current["data"])
                diff["before"][path][value_name] = same
                diff["after"][path][value_name] = same
        else:
            if not module.check_mode:
                if hku and faults.get("deny_hku_write"):
                    fail("failed to create registry property '%s' at %s: %s" % (value_name, path, DENIED))
                if writable:
                    reg.set_value(path, value_name, kind, data)
            result["changed"] = True
            diff["after"].setdefault(path, {})[value_name] = diff_value(kind, data)

    with host.transaction() as state:
        apply(state)
    finish()


if __name__ == "__main__":
    main()

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_command (TEST ONLY): only ``reg.exe load|unload|import|export|query``.

Result keys follow plugins/modules/win_command.ps1 lines 80-144 (``cmd``, ``rc``, ``stdout``, ``stderr``,
``stdout_lines``, ``stderr_lines``, ``start``/``end`` as ``yyyy-MM-dd HH:mm:ss.ffffff``, ``delta`` as
``h:mm:ss.ffffff``, ``changed: true``; a non-zero rc fails with "non-zero return code"). No check mode
support (line 27), so Ansible skips it in check mode. reg.exe's messages and return codes are the real
ones (CRLF line ends; ``reg import`` reports success on stderr, as reg.exe does).
Approximate: only the subcommands above; ``reg query`` prints values of one key (no /s); hive files
are markers, the hive contents live in the lab state (``reg load`` just marks the hive loaded).
"""

DOCUMENTATION = r"""
---
module: win_command
short_description: Lab stand-in for ansible.windows.win_command (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

import datetime
import re
import shlex

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context
from ansible_collections.ansible.windows.plugins.module_utils._lab_regfile import parse_reg_file

OK = "The operation completed successfully.\r\n"
SYNTAX = 'ERROR: Invalid syntax.\r\nType "REG %s /?" for usage.\r\n'
NOT_FOUND = "ERROR: The system was unable to find the specified registry key or value.\r\n"
FILE_NOT_FOUND = "ERROR: The system cannot find the file specified.\r\n"
IN_USE = "ERROR: The process cannot access the file because it is being used by another process.\r\n"
PRIVILEGE = "ERROR: A required privilege is not held by the client.\r\n"
PARAMETER = "ERROR: The parameter is incorrect.\r\n"
ACCESS = "ERROR: Access is denied.\r\n"
REG_TYPES_OUT = {"REG_BINARY": "REG_BINARY", "REG_SZ": "REG_SZ", "REG_DWORD": "REG_DWORD",
                 "REG_EXPAND_SZ": "REG_EXPAND_SZ", "REG_MULTI_SZ": "REG_MULTI_SZ", "REG_QWORD": "REG_QWORD",
                 "REG_NONE": "REG_NONE"}
LONG_ROOT = {"HKLM": "HKEY_LOCAL_MACHINE", "HKU": "HKEY_USERS"}
GIVEN_ROOT = dict(LONG_ROOT, HKCU="HKEY_CURRENT_USER", HKEY_LOCAL_MACHINE="HKEY_LOCAL_MACHINE",
                  HKEY_USERS="HKEY_USERS", HKEY_CURRENT_USER="HKEY_CURRENT_USER")


def long_name(hive_id, sub):
    root, dummy, rest = hive_id.partition("\\")
    parts = [LONG_ROOT.get(root, root)] + ([rest] if rest else []) + ([sub] if sub else [])
    return "\\".join(parts)


def reg_line(value):
    name = '"%s"' % value["name"].replace("\\", "\\\\").replace('"', '\\"') if value["name"] else "@"
    kind, data = value["type"], value["data"]
    if kind == "REG_SZ":
        return '%s="%s"' % (name, data.replace("\\", "\\\\").replace('"', '\\"'))
    if kind == "REG_DWORD":
        return "%s=dword:%08x" % (name, data)
    codes = {"REG_BINARY": "hex", "REG_NONE": "hex(0)", "REG_EXPAND_SZ": "hex(2)", "REG_MULTI_SZ": "hex(7)",
             "REG_QWORD": "hex(b)"}
    if kind == "REG_QWORD":
        raw = int(data).to_bytes(8, "little")
    elif kind == "REG_EXPAND_SZ":
        raw = (data + "\0").encode("utf-16-le")
    elif kind == "REG_MULTI_SZ":
        raw = ("\0".join(data) + "\0\0").encode("utf-16-le")
    else:
        raw = bytes.fromhex(data)
    text = "%s=%s:" % (name, codes[kind])
    out, line = [], text
    for i, b in enumerate(raw):
        piece = "%02x" % b + ("," if i < len(raw) - 1 else "")
        if len(line) + len(piece) > 77:
            out.append(line + "\\")
            line = "  "
        line += piece
    out.append(line)
    return "\r\n".join(out)


def denied(faults, hive_id, account):
    """Whether the connection user may not write under ``hive_id`` (lab faults not_admin, deny_hku_write)."""
    hku = hive_id.startswith("HKU\\")
    deny = faults.get("deny_hku_write")
    if hku and deny and (deny is True or hive_id.split("\\", 1)[1].upper() == str(deny).upper()):
        return True
    # A user who is not an administrator may write only its own hive.
    return bool(faults.get("not_admin")) and hive_id.upper() != ("HKU\\" + account["sid"]).upper()


def reg(st, host, account, args):
    """Run one emulated reg.exe command: (rc, stdout, stderr)."""
    if not args:
        return 1, "", SYNTAX % ""
    op = args[0].lower()
    faults = host.faults()
    if op in ("load", "unload"):
        if len(args) != (3 if op == "load" else 2):
            return 1, "", SYNTAX % op.upper()
        if faults.get("not_admin"):
            return 1, "", PRIVILEGE
        hive_id, sub = st.split_reg_path(args[1], account["sid"])
        if sub or hive_id == "HKU" or not hive_id.startswith("HKU\\"):
            return 1, "", PARAMETER
        sid = hive_id.split("\\", 1)[1]
        loaded = host.hive_loaded(sid)
        if op == "load":
            if loaded:
                return 1, "", IN_USE
            if not host.path(args[2]).is_file():
                return 1, "", FILE_NOT_FOUND
            host.set_hive_loaded(sid, True)
        else:
            if not loaded:
                return 1, "", PARAMETER
            host.set_hive_loaded(sid, False)
        return 0, OK, ""
    if op == "query":
        if len(args) < 2:
            return 1, "", SYNTAX % "QUERY"
        want = args[args.index("/v") + 1].lower() if "/v" in [a.lower() for a in args] else None
        state = host.state()
        r = st.Registry(state, account["sid"])
        values = r.get_values(args[1])
        if values is None or (want is not None and want not in values):
            return 1, "", NOT_FOUND
        hive_id, sub = st.split_reg_path(args[1], account["sid"])
        lines = ["", long_name(hive_id, sub)]
        for v in values.values():
            if want is not None and v["name"].lower() != want:
                continue
            data = v["data"]
            shown = data.upper() if v["type"] == "REG_BINARY" else (
                "0x%x" % data if v["type"] in ("REG_DWORD", "REG_QWORD") else
                "\\0".join(data) if v["type"] == "REG_MULTI_SZ" else data)
            lines.append("    %s    %s    %s" % (v["name"] or "(Default)", REG_TYPES_OUT[v["type"]], shown))
        if want is None:
            lines.append("")
            lines += [long_name(hive_id, (sub + "\\" if sub else "") + k) for k in r.sub_keys(args[1])]
        return 0, "\r\n".join(lines) + "\r\n\r\n", ""
    if op == "export":
        if len(args) < 3:
            return 1, "", SYNTAX % "EXPORT"
        r = st.Registry(host.state(), account["sid"])
        tree = r.export_tree(args[1])
        if not r.key_exists(args[1]):
            return 1, "", NOT_FOUND
        target = host.path(args[2])
        if not host.can_write(args[2]):
            return 1, "", ACCESS
        if target.exists() and "/y" not in [a.lower() for a in args[3:]]:
            return 1, "", "ERROR: The file exists; reg.exe would prompt (the lab refuses without /y).\r\n"
        # reg.exe names the keys from the path it was given, its root spelled out: an export of HKCU\X says
        # [HKEY_CURRENT_USER\X], one of HKU\.DEFAULT\X says [HKEY_USERS\.DEFAULT\X] (both name no SID).
        given = [p for p in re.split(r"[\\]+", args[1].strip()) if p]
        root = given[0].rstrip(":").upper()
        top = "\\".join([GIVEN_ROOT.get(root, root)] + given[1:])
        hive_id, sub = st.split_reg_path(args[1], account["sid"])
        base = len(hive_id) + (len(sub) + 1 if sub else 0)  # the canonical path of the exported key
        parts = ["Windows Registry Editor Version 5.00", ""]
        for full, values in tree:
            parts.append("[%s]" % (top + full[base:]))
            parts += [reg_line(v) for v in values.values()]
            parts.append("")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes("\ufeff".encode("utf-16-le") + ("\r\n".join(parts) + "\r\n").encode("utf-16-le"))
        return 0, OK, ""
    if op == "import":
        # REG IMPORT FileName [/reg:32 | /reg:64]: the view switch is accepted; the lab has one view.
        if len(args) not in (2, 3) or (len(args) == 3 and args[2].lower() not in ("/reg:32", "/reg:64")):
            return 1, "", SYNTAX % "IMPORT"
        source = host.path(args[1])
        if not source.is_file():
            return 1, "", "ERROR: Error opening the file. There may be a disk or file system error.\r\n"
        raw = source.read_bytes()
        text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig")
        try:
            entries = parse_reg_file(text)
        except ValueError:
            return 1, "", "ERROR: Error accessing the registry.\r\n"
        mangle = bool(faults.get("mangle_write"))
        with host.transaction() as state:
            if mangle:
                state["faults"].pop("mangle_write", None)  # fires once
            r = st.Registry(state, account["sid"])
            # reg.exe applies the file in order and stops at the first key it cannot write: what came
            # before stays written (no transaction), so a failure part way leaves a partial import.
            for key, name, kind, data in entries:
                hive_id, dummy = st.split_reg_path(key, account["sid"])
                if not r.hive_loaded(hive_id) or denied(faults, hive_id, account):
                    return 1, "", "ERROR: Error accessing the registry.\r\n"
                hku = hive_id.startswith("HKU\\")
                if hku and faults.get("lost_write") and kind not in (None, "DELETE_KEY"):
                    continue  # a registry filter reverts it: reg.exe still reports success
                if kind == "DELETE_KEY":
                    r.delete_key(key)
                elif kind == "DELETE":
                    r.delete_value(key, name)
                elif name is None:
                    r.create_key(key)
                else:
                    if mangle and hku and kind == "REG_BINARY" and data:
                        data = data[:-2] + "%02x" % (int(data[-2:], 16) ^ 0xFF)
                    r.set_value(key, name, kind, data)
        return 0, "", OK  # reg.exe import writes its success message to stderr
    return 1, "", SYNTAX % op.upper()


def main():
    module = AnsibleModule(
        argument_spec=dict(_raw_params=dict(type="str"), cmd=dict(type="str"), argv=dict(type="list", elements="str"),
                           chdir=dict(type="path"), creates=dict(type="path"), removes=dict(type="path"),
                           stdin=dict(type="str"), output_encoding_override=dict(type="str")),
        required_one_of=[["_raw_params", "argv", "cmd"]],
        mutually_exclusive=[["_raw_params", "argv", "cmd"]],
        supports_check_mode=False,
    )
    p = module.params
    if p["argv"]:
        argv = p["argv"]
        raw = " ".join('"%s"' % a if " " in a else a for a in argv)
    else:
        raw = p["cmd"] or p["_raw_params"]
        argv = [a[1:-1] if len(a) > 1 and a[0] == a[-1] == '"' else a for a in shlex.split(raw, posix=False)]
    result = {"changed": False, "cmd": raw, "rc": 0}
    st, host, account = context(module)
    if p["creates"] and host.path(p["creates"]).exists():
        module.exit_json(msg="skipped, since %s exists" % p["creates"], skipped=True, **result)
    if p["removes"] and not host.path(p["removes"]).exists():
        module.exit_json(msg="skipped, since %s does not exist" % p["removes"], skipped=True, **result)
    exe = re.split(r"[\\/]", argv[0])[-1].lower()
    if exe not in ("reg", "reg.exe"):
        result["rc"] = 2
        module.fail_json(msg="Failed to run: '%s': the lab only emulates reg.exe" % raw, **result)
    start = datetime.datetime.now()
    rc, stdout, stderr = reg(st, host, account, argv[1:])
    end = datetime.datetime.now()
    delta = end - start
    secs = delta.total_seconds()
    result.update(changed=True, rc=rc, stdout=stdout, stderr=stderr, stdout_lines=stdout.splitlines(),
                  stderr_lines=stderr.splitlines(), start=start.strftime("%Y-%m-%d %H:%M:%S.%f"),
                  end=end.strftime("%Y-%m-%d %H:%M:%S.%f"),
                  delta="%d:%02d:%09.6f" % (secs // 3600, secs % 3600 // 60, secs % 60))
    if rc != 0:
        module.fail_json(msg="non-zero return code", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

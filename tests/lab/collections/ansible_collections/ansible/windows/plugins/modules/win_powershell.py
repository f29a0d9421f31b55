# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_powershell (TEST ONLY). The lab runs no PowerShell: this answers exactly
the two scripts the collection sends (``SCRIPT`` of ``plugins/plugin_utils/_state_query.py`` and of
``_file_write.py``, loaded from the checkout, compared character for character) and refuses any other script.

Mirrors plugins/modules/win_powershell.ps1 (ansible.windows 3.3.0):
* the result keys set at lines 55-63 (``result``, ``host_out``, ``host_err``, ``output``, ``error``,
  ``warning``, ``verbose``, ``debug``, ``information``) and ``changed`` from ``$Ansible.Changed`` (line 894;
  it defaults to true, line 667; our scripts set it to false);
* check mode: a script whose param block has ``[CmdletBinding(SupportsShouldProcess)]`` runs (lines
  568-587, 835); any other returns ``changed: true`` and ``msg: skipped, running in check mode`` without
  running (lines 589-592);
* ``output`` holds the script's objects; an ``[Ordered]@{}`` becomes a dict (Convert-OutputObject).
The state query answers as the script would: registry keys as ``win_reg_stat`` reads them (the lab's registry,
as the connection or become account; an absent key under HKU says whether the hive is loaded), values as
``{type: <RegistryValueKind name>, value}`` with binary values base64-encoded; ``Get-Process -Name`` from the
host's processes in ``system.json`` (any case); services from ``system.json`` (status ``Running``/``Stopped``,
``Start`` 2/3/4, dependents computed from the others' dependencies); root certificates by thumbprint from the
``LocalMachine\\Root`` store; ``administrator`` false under the lab's ``not_admin`` fault and for the service
accounts a become switches to (they are not members of BUILTIN\\Administrators), true for SYSTEM and the
connection user. ``$Ansible.Result`` comes back as ``result``; the script sets ``$Ansible.Changed = $false``.
The file write answers as its script would: the folder created when missing (its parents too), each file
created only when it does not exist ("The file '<path>' already exists.", ``FileMode.CreateNew``), a write the
connection user may not make refused with the .NET message ("Access to the path '<path>' is denied.", the lab's
``can_write``: the same rule as the ``win_copy`` stand-in), a new file owned as any file the connection user
creates; it stops at the first error with ``failed`` ($Ansible.Failed) and ``result.error``, and returns the
SHA-256 of each file it read back. A ``parameters`` key the script does not declare fails as PowerShell does ("A
parameter cannot be found that matches parameter name").
"""

DOCUMENTATION = r"""
---
module: win_powershell
short_description: Lab stand-in for ansible.windows.win_powershell (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

import base64
import hashlib
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context


def scripts(st):
    utils = os.path.join(os.environ["ATP_LAB_REPO"], "plugins", "plugin_utils")
    return {"state_query": st.load_by_path("atp_lab_state_query", os.path.join(utils, "_state_query.py")).SCRIPT,
            "file_write": st.load_by_path("atp_lab_file_write", os.path.join(utils, "_file_write.py")).SCRIPT}


KIND = {"REG_NONE": "None", "REG_SZ": "String", "REG_EXPAND_SZ": "ExpandString", "REG_BINARY": "Binary",
        "REG_DWORD": "DWord", "REG_MULTI_SZ": "MultiString", "REG_QWORD": "QWord"}
START = {"auto": 2, "delayed": 2, "manual": 3, "disabled": 4}
PARAMETERS = ("Key", "Process", "Service", "RootCertificate")
FILE_WRITE_PARAMETERS = ("Folder", "File")
PLAIN_NAME = re.compile(r"(?!\.+\Z)[A-Za-z0-9._-]+")  # the script's '^(?!\.+\z)[A-Za-z0-9._-]+\z'


def registry_entry(st, reg, path):
    """What the script returns for one key (win_reg_stat.ps1 lines 80-123 semantics)."""
    entry = {"exists": False, "values": {}, "sub_keys": []}
    try:
        values = reg.get_values(path)
    except st.LabError:
        values = None
    if values is not None:
        entry["exists"] = True
        for value in values.values():
            data = value["data"]
            if value["type"] in ("REG_BINARY", "REG_NONE"):
                data = base64.b64encode(bytes.fromhex(data)).decode()
            entry["values"][value["name"]] = {"type": KIND[value["type"]], "value": data}
        entry["sub_keys"] = reg.sub_keys(path)
    elif path.upper().startswith("HKU:\\"):
        sid = path[5:].split("\\", 1)[0]
        entry["hive_loaded"] = reg.hive_loaded("HKU\\" + sid)
    return entry


def serialize(value, depth):
    """Convert-OutputObject (win_powershell.ps1 lines 286-420): below ``depth`` a list or dictionary becomes its
    type name, as the real module returns it; strings and value types keep their value at any depth."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if depth < 0:
        return "System.Object[]" if isinstance(value, list) else "System.Collections.Specialized.OrderedDictionary"
    if isinstance(value, list):
        return [serialize(v, depth - 1) for v in value]
    return {k: serialize(v, depth - 1) for k, v in value.items()}


def state_query(module, st, host, account, params):
    from tests.lab import system_state  # importable once context() has put the checkout on sys.path

    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        module.fail_json(msg="A parameter cannot be found that matches parameter name '%s'." % unknown[0])
    state = host.state()
    reg = st.Registry(state, account["sid"])
    system = system_state.read(host)
    keys = {path: registry_entry(st, reg, path) for path in params.get("Key") or []}
    wanted = {str(n).lower() for n in params.get("Process") or []}
    processes = [{"name": p["name"], "id": p["pid"]} for p in system["processes"] if p["name"].lower() in wanted]
    services = {}
    for name in params.get("Service") or []:
        svc = system["services"].get(str(name).lower())
        if svc is None:
            continue
        dependents = sorted(o["name"] for o in system["services"].values()
                            if svc["name"].lower() in [d.lower() for d in o.get("dependencies") or []])
        services[name] = {"name": svc["name"], "status": "Running" if svc["state"] == "started" else "Stopped",
                          "dependents": dependents, "path": svc["path"], "account": svc["username"],
                          "start": START.get(svc.get("start_mode"), 3), "dependencies": list(svc.get("dependencies") or [])}
    roots = {system_state.thumbprint(c["pem"]).upper() for c in system["stores"].get("LocalMachine\\Root", [])}
    certificates = {t: str(t).upper() in roots for t in params.get("RootCertificate") or []}
    admin = not state["faults"].get("not_admin") if account["sid"] == state["user"]["sid"] else \
        account["sid"] == st.SID_SYSTEM
    user = {"name": "%s\\%s" % (account["domain"], account["name"]), "sid": account["sid"], "administrator": admin}
    return {"keys": keys, "processes": processes, "services": services, "root_certificates": certificates,
            "user": user}


class ScriptError(Exception):
    """A terminating error inside the script (its catch block stores the message)."""


def file_write(module, host, params):
    """The file-write script (_file_write.py): ([IO.Directory]::CreateDirectory, File.Open CreateNew, SHA-256 read
    back), stopping at the first error as its try/catch does. Returns (changed, failed, $Ansible.Result)."""
    unknown = sorted(set(params) - set(FILE_WRITE_PARAMETERS))
    if unknown:
        module.fail_json(msg="A parameter cannot be found that matches parameter name '%s'." % unknown[0])
    missing = [p for p in FILE_WRITE_PARAMETERS if params.get(p) is None]
    if missing:  # Mandatory, and win_powershell's host cannot prompt
        module.fail_json(msg="Cannot process command because of one or more missing mandatory parameters: %s."
                             % " ".join(missing))
    folder = str(params["Folder"])
    files = params["File"]
    if not isinstance(files, dict):
        module.fail_json(msg="Cannot process argument transformation on parameter 'File'. Cannot convert the "
                             "value to type \"System.Collections.IDictionary\".")
    out = {"folder": folder, "created_folder": False, "written": {}, "error": None}
    changed = False
    try:
        local = host.path(folder)
        if not local.is_dir():
            if local.exists():
                raise ScriptError("Cannot create '%s' because a file or directory with the same name already exists."
                                  % folder)
            if not host.can_write(folder):
                raise ScriptError("Access to the path '%s' is denied." % folder)
            local.mkdir(parents=True)
            out["created_folder"] = changed = True
        for name in sorted(files, key=str.lower):
            if not PLAIN_NAME.fullmatch(name):  # -cnotmatch
                raise ScriptError("refusing the file name '%s': only a plain name is written" % name)
            path = folder.rstrip("\\") + "\\" + name
            try:
                data = base64.b64decode(str(files[name]), validate=True)
            except ValueError:
                raise ScriptError("The input is not a valid Base-64 string as it contains a non-base 64 character, "
                                  "more than two padding characters, or an illegal character among the padding "
                                  "characters.") from None
            target = host.path(path)
            if target.exists():  # FileMode.CreateNew
                raise ScriptError("The file '%s' already exists." % path)
            if not host.can_write(path):
                raise ScriptError("Access to the path '%s' is denied." % path)
            target.write_bytes(data)
            host.set_security(path, owner=host.connection_owner())
            changed = True
            out["written"][name] = hashlib.sha256(target.read_bytes()).hexdigest()
    except ScriptError as exc:
        out["error"] = str(exc)
        return changed, True, out
    return changed, False, out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            arguments=dict(type="list", elements="str"), chdir=dict(type="str"), creates=dict(type="str"),
            depth=dict(type="int", default=2), error_action=dict(type="str", default="continue",
                                                                 choices=["silently_continue", "continue", "stop"]),
            executable=dict(type="str"), parameters=dict(type="dict"), path=dict(type="str"),
            remote_src=dict(type="bool", default=False), removes=dict(type="str"), script=dict(type="str"),
            sensitive_parameters=dict(type="list", elements="dict", no_log=False),
        ),
        required_one_of=[["path", "script"]],
        mutually_exclusive=[["path", "script"]],
        supports_check_mode=True,
    )
    script = module.params["script"] or ""
    result = {"changed": True, "result": {}, "host_out": "", "host_err": "", "output": [], "error": [],
              "warning": [], "verbose": [], "debug": [], "information": []}
    st, host, user = context(module)
    known = {text: name for name, text in scripts(st).items()}
    if script not in known:
        module.fail_json(msg="the lab's win_powershell stand-in runs no PowerShell: it answers only the scripts of "
                             "plugins/plugin_utils/_state_query.py and _file_write.py, and this one is neither", **result)
    if module.check_mode and not re.search(r"\[CmdletBinding\(\s*SupportsShouldProcess(\s*=\s*\$true)?\s*\)\]", script):
        module.exit_json(**dict(result, msg="skipped, running in check mode"))
    if known[script] == "state_query":
        result["result"] = serialize(state_query(module, st, host, user, module.params["parameters"] or {}),
                                     module.params["depth"])
        result["changed"] = False
    elif known[script] == "file_write":
        changed, failed, out = file_write(module, host, module.params["parameters"] or {})
        result.update(changed=changed, result=serialize(out, module.params["depth"]))
        if failed:
            result["failed"] = True  # $Ansible.Failed (win_powershell.ps1 line 895)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

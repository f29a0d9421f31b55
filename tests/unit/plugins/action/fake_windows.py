# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recorded-shape answers of ansible.windows modules, for unit tests of the action plugins.

The shapes follow the real modules bundled in the ``ansible`` package
(ansible.windows 3.3.0):

* ``win_reg_stat.ps1``: ``{"changed": false, "exists": bool}``; for a key without
  ``name`` also ``properties`` (name -> ``{"type", "value", "raw_value"}``) and
  ``sub_keys``. REG_BINARY ``raw_value`` is ``["0x46", ...]`` ("0x{0:x2}"),
  ``value`` the list of ints (Get-PropertyValue). ``OpenSubKey`` returns null
  for a key under an unloaded hive, so ``exists`` is false.
* ``win_regedit.ps1``: ``changed``, ``data_changed``, ``data_type_changed`` and
  ``diff`` ``{before, after}``; a failed write is
  ``failed to change registry property '<name>' at <path>: <exception message>``.
* ``win_powershell.ps1`` running the collection's state query (plugins/plugin_utils/_host/_state_query.py):
  ``result`` is the script's ``$Ansible.Result``: ``keys`` (path -> ``{exists, values: {name: {type, value}},
  sub_keys, hive_loaded}`` with .NET kind names and base64 binary values), ``processes``, ``services``,
  ``root_certificates``, ``user`` ``{name, sid, administrator}``.
* ``win_powershell.ps1`` running the collection's file write (plugins/plugin_utils/_host/_file_write.py):
  :func:`file_write` (new files only, a SHA-256 read back each, ``failed`` with ``result.error``).
"""

from __future__ import annotations

import base64
import hashlib

CONN = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
NET_KIND = {"REG_BINARY": "Binary", "REG_SZ": "String", "REG_DWORD": "DWord", "REG_MULTI_SZ": "MultiString"}


def reg_stat_binary(data: bytes) -> dict:
    return {"type": "REG_BINARY", "value": list(data), "raw_value": ["0x%02x" % b for b in data]}


def file_write(args: dict, files: dict, key=lambda path: path, error: str | None = None) -> dict | None:
    """Answer the collection's file-write script as win_powershell would, writing into ``files`` (``key(path)`` ->
    bytes); None when ``args`` are not that script. ``error`` makes the first file fail with that .NET message. In
    check mode win_powershell skips a script without SupportsShouldProcess (win_powershell.ps1 lines 589-592)."""
    from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _file_write

    if args.get("script") != _file_write.SCRIPT:
        return None
    if args.get("_ansible_check_mode"):
        return {"changed": True, "msg": "skipped, running in check mode", "result": {}}
    folder, out = args["parameters"]["Folder"], {}
    for name in sorted(args["parameters"]["File"], key=str.lower):
        path = "%s\\%s" % (folder, name)
        if error or key(path) in files:
            message = error or "The file '%s' already exists." % path
            answer = {"folder": folder, "written": out, "error": message}
            return {"changed": bool(out), "failed": True, "result": answer}
        files[key(path)] = base64.b64decode(args["parameters"]["File"][name])
        out[name] = hashlib.sha256(files[key(path)]).hexdigest()
    return {"changed": True, "result": {"folder": folder, "created_folder": True, "written": out, "error": None}}


class FakeWindows:
    """A registry keyed by PS-drive paths, answering win_reg_stat / win_regedit like the real modules."""

    def __init__(self, hkcu_sid="S-1-5-21-1-2-3-500", loaded=("S-1-5-18", "S-1-5-19", "S-1-5-20")):
        self.hkcu_sid = hkcu_sid
        self.loaded = set(loaded) | {hkcu_sid}
        self.keys: dict = {}  # "S-1-5-19\\Software\\..." (upper-cased) -> {name: (type, value)}
        self.calls: list = []
        self.deny_writes = False
        self.drop_writes = False

    def _norm(self, path: str) -> str:
        if path.upper().startswith("HKCU:\\"):
            path = "HKU:\\" + self.hkcu_sid + path[5:]
        if path.upper().startswith("HKLM:\\"):
            return "HKLM\\" + path[6:].upper()
        assert path.upper().startswith("HKU:\\"), path
        return path[5:].upper()

    def set_value(self, sid: str | None, name: str, data, kind="REG_BINARY"):
        key = ((sid or self.hkcu_sid) + "\\" + CONN).upper()
        self.keys.setdefault(key, {})[name] = (kind, data)

    def get_value(self, sid: str | None, name: str):
        key = ((sid or self.hkcu_sid) + "\\" + CONN).upper()
        return self.keys.get(key, {}).get(name)

    def __call__(self, module: str, args: dict) -> dict:
        self.calls.append((module, dict(args)))
        return getattr(self, module.rsplit(".", 1)[1])(args)

    def win_reg_stat(self, args):
        key = self._norm(args["path"])
        hive = key.split("\\", 1)[0]
        if hive not in self.loaded and hive != "HKLM":
            return {"changed": False, "exists": False}
        if "\\" not in key:
            return {"changed": False, "exists": True, "properties": {}, "sub_keys": ["Software"]}
        values = self.keys.get(key)
        if values is None:
            return {"changed": False, "exists": False}
        props = {}
        for name, (kind, data) in values.items():
            if kind == "REG_BINARY":
                props[name] = reg_stat_binary(data)
            else:
                props[name] = {"type": kind, "value": data, "raw_value": data}
        return {"changed": False, "exists": True, "properties": props, "sub_keys": []}

    def win_powershell(self, args):
        """The state query (the fake checks it is sent the collection's script, with depth enough)."""
        from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _state_query

        assert args["script"] == _state_query.SCRIPT and args["depth"] >= 6, "not the collection's state query"
        keys = {}
        for path in args["parameters"]["Key"]:
            stat = self.win_reg_stat({"path": path})
            if stat.get("failed"):
                return dict(stat, msg="Exception calling OpenSubKey: %s" % stat.get("msg"))
            entry = {"exists": bool(stat.get("exists")), "values": {}, "sub_keys": stat.get("sub_keys") or []}
            for name, prop in (stat.get("properties") or {}).items():
                value = prop["value"]
                if prop["type"] == "REG_BINARY":
                    value = base64.b64encode(bytes(value)).decode()
                entry["values"][name] = {"type": NET_KIND.get(prop["type"], "String"), "value": value}
            if not entry["exists"] and path.upper().startswith(("HKU:\\", "HKCU:\\")):
                entry["hive_loaded"] = self._norm(path).split("\\", 1)[0] in self.loaded
            keys[path] = entry
        user = {"name": "CORP\\ansible-admin", "sid": self.hkcu_sid,
                "administrator": getattr(self, "admin", True)}
        return {"changed": False, "result": {"keys": keys, "processes": [], "services": {}, "root_certificates": {},
                                             "user": user}}

    def win_regedit(self, args):
        path, name = args["path"], args["name"]
        key = self._norm(path)
        if key.split("\\", 1)[0] not in self.loaded or self.deny_writes:
            return {"failed": True, "changed": False, "data_changed": False, "data_type_changed": False,
                    "msg": "failed to change registry property '%s' at %s: Requested registry access is not "
                           "allowed." % (name, path)}
        values = self.keys.setdefault(key, {})
        before = values.get(name)
        if args.get("state", "present") == "absent":
            changed = name in values
            if not args.get("_ansible_check_mode"):
                values.pop(name, None)
            return {"changed": changed, "data_changed": False, "data_type_changed": False}
        data = args["data"]
        if isinstance(data, str):
            data = bytes.fromhex(data.lower().replace("hex:", "").replace(",", ""))
        changed = before != ("REG_BINARY", data)
        if changed and not args.get("_ansible_check_mode") and not self.drop_writes:
            values[name] = ("REG_BINARY", data)
        return {"changed": changed, "data_changed": changed, "data_type_changed": False}

    def win_file(self, args):
        self.files_dirs = getattr(self, "files_dirs", set())
        changed = args["path"].lower() not in self.files_dirs
        self.files_dirs.add(args["path"].lower())
        return {"changed": changed}

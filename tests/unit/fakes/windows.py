# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake host for the WinINet actions: per-account ``DefaultConnectionSettings`` answered in the real modules' shapes.

The shapes follow the real modules bundled in the ``ansible`` package (ansible.windows 3.3.0):

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
  :func:`.host.file_write` (new files only, a SHA-256 read back each, ``failed`` with ``result.error``).
* ``win_command`` ``reg.exe import <file> /reg:64`` (:class:`WinInetHost`): rc 0 and "The operation completed
  successfully." on stderr; ``ERROR: Error accessing the registry.`` with rc 1 for a key it may not write.
"""

from __future__ import annotations

import base64

from .host import IMPORTED, FakeHost
from .registry import NET_KIND, ps_path

CONN = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"


def reg_stat_binary(data: bytes) -> dict:
    return {"type": "REG_BINARY", "value": list(data), "raw_value": ["0x%02x" % b for b in data]}


class FakeWindows(FakeHost):
    """The host's registry (:class:`.registry.Registry`) answering win_reg_stat / win_regedit like the real modules,
    with the hives of ``loaded`` (and the connection user's, HKCU) loaded."""

    def __init__(self, hkcu_sid="S-1-5-21-1-2-3-500", loaded=("S-1-5-18", "S-1-5-19", "S-1-5-20")):
        super().__init__()
        self.hkcu_sid = hkcu_sid
        self.loaded = set(loaded) | {hkcu_sid}
        self.deny_writes = False
        self.drop_writes = False
        self.user, self.sid = "CORP\\ansible-admin", hkcu_sid

    def _norm(self, path: str) -> str:
        """The PS drive path of ``path`` (HKCU is the connection user's HKU:\\<SID>)."""
        if path.upper().startswith("HKCU:\\"):
            path = "HKU:\\" + self.hkcu_sid + path[5:]
        assert path.upper().startswith(("HKU:\\", "HKLM:\\")), path
        return path

    def _hive(self, path: str) -> str:
        """The SID of an HKU path, ``HKLM`` for the machine."""
        return "HKLM" if path.upper().startswith("HKLM:") else path.split("\\")[1].upper()

    def _connections(self, sid: str | None) -> str:
        return "HKU:\\%s\\%s" % (sid or self.hkcu_sid, CONN)

    def set_value(self, sid: str | None, name: str, data, kind="REG_BINARY"):
        self.registry.set(self._connections(sid), name, kind, data)

    def get_value(self, sid: str | None, name: str):
        return self.registry.get(self._connections(sid), name)

    def win_reg_stat(self, args):
        path = self._norm(args["path"])
        hive = self._hive(path)
        if hive not in self.loaded and hive != "HKLM":
            return {"changed": False, "exists": False}
        if path.rstrip("\\").count("\\") < (1 if hive == "HKLM" else 2):
            return {"changed": False, "exists": True, "properties": {}, "sub_keys": ["Software"]}
        values = self.registry.values(path)
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
        return self.state_query(args)

    def key_entry(self, path):
        stat = self.win_reg_stat({"path": path})
        entry = {"exists": bool(stat.get("exists")), "values": {}, "sub_keys": stat.get("sub_keys") or []}
        for name, prop in (stat.get("properties") or {}).items():
            value = prop["value"]
            if prop["type"] == "REG_BINARY":
                value = base64.b64encode(bytes(value)).decode()
            entry["values"][name] = {"type": NET_KIND.get(prop["type"], "String"), "value": value}
        if not entry["exists"] and path.upper().startswith(("HKU:\\", "HKCU:\\")):
            entry["hive_loaded"] = self._hive(self._norm(path)) in self.loaded
        return entry

    def win_regedit(self, args):
        path, name = args["path"], args["name"]
        key = self._norm(path)
        if self._hive(key) not in self.loaded or self.deny_writes:
            return {"failed": True, "changed": False, "data_changed": False, "data_type_changed": False,
                    "msg": "failed to change registry property '%s' at %s: Requested registry access is not "
                           "allowed." % (name, path)}
        before = self.registry.get(key, name)
        if args.get("state", "present") == "absent":
            changed = before is not None
            if not args.get("_ansible_check_mode"):
                self.registry.delete(key, name)
            return {"changed": changed, "data_changed": False, "data_type_changed": False}
        data = args["data"]
        if isinstance(data, str):
            data = bytes.fromhex(data.lower().replace("hex:", "").replace(",", ""))
        changed = before != ("REG_BINARY", data)
        if changed and not args.get("_ansible_check_mode") and not self.drop_writes:
            self.registry.set(key, name, "REG_BINARY", data)
        return {"changed": changed, "data_changed": changed, "data_type_changed": False}

    def win_file(self, args):
        self.files_dirs = getattr(self, "files_dirs", set())
        changed = args["path"].lower() not in self.files_dirs
        self.files_dirs.add(args["path"].lower())
        return {"changed": changed}


class WinInetHost(FakeWindows):
    """FakeWindows plus what the write path needs: win_whoami, the HKLM manifest, the backup folder, reg import."""

    def __init__(self):
        super().__init__()
        self.deny_sid = None  # reg import stops at this SID's key
        self.mangle = False
        self.secured: list = []
        self.write_error = None  # the file write fails with this message

    def win_powershell(self, args):
        return self.written(args, error=self.write_error) or super().win_powershell(args)

    def win_whoami(self, args):
        groups = [{"sid": "S-1-5-32-544", "attributes": ["Mandatory", "Enabled by default", "Enabled", "Owner"]}]
        return {"changed": False, "account": {"account_name": "ansible-admin"}, "groups": groups if self.admin else []}

    def win_owner(self, args):
        self.secured.append(("owner", args["path"], args["user"]))
        return {"changed": True}

    def win_acl(self, args):
        self.secured.append(("acl", args["path"], args["user"], args["rights"]))
        return {"changed": True}

    def win_acl_inheritance(self, args):
        self.secured.append(("inheritance", args["path"], args["state"], args["reorganize"]))
        return {"changed": True}

    def win_file(self, args):
        if args.get("state") == "absent":
            for name in [n for n in self.files if n.lower().startswith(args["path"].lower() + "\\")]:
                del self.files[name]
            return {"changed": True}
        return super().win_file(args)

    def win_command(self, args):
        for key, name, kind, data in self.imported(args):
            path = ps_path(key)
            if not path.upper().startswith("HKLM:") and self._hive(path) == (self.deny_sid or "").upper():
                return {"failed": True, "rc": 1, "stdout": "", "stderr": "ERROR: Error accessing the registry.\r\n",
                        "msg": "non-zero return code"}
            if name is None:
                continue
            if kind == "DELETE":
                self.registry.delete(path, name)
            elif path.upper().startswith("HKLM:"):
                self.registry.set(path, name, kind, data)
            elif not self.drop_writes:
                raw = bytes.fromhex(data)
                if self.mangle:
                    raw = raw[:-1] + bytes([raw[-1] ^ 0xFF])
                self.registry.set(path, name, "REG_BINARY", raw)
        self.mangle = False
        return dict(IMPORTED)

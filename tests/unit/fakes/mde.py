# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake host for the Defender for Endpoint settings: the HKLM policy keys, WinHTTP and the write path's modules.

Every answer has the shape the real module returns (ansible.windows 3.3.0):

* ``win_powershell`` running the collection's state query (``_host/_state_query.py``'s ``$Ansible.Result``: .NET
  value kinds, binary values base64, ``user`` ``{name, sid, administrator}``), or its file write
  (:func:`.host.file_write`);
* ``win_command`` ``reg.exe import <file> /reg:64`` applied with the lab's .reg reader: rc 0 and "The operation
  completed successfully." on stderr;
* ``win_http_proxy.ps1``: it stores ``WinHttpSettings`` as ``netsh winhttp set proxy`` does (0x28, a counter, flags 3
  with a proxy or 1 for direct, then the proxy and bypass strings); ``source: ie`` copies the connecting account's
  WinINet proxy; a failure is "Unknown error when trying to set proxy ...";
* ``win_file``, ``win_owner``, ``win_acl``, ``win_acl_inheritance``: ``changed``.
"""

from __future__ import annotations

import base64

from .host import IMPORTED, FakeHost
from .registry import NET_KIND, REG_KIND, ps_path

WINHTTP = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
HKCU = r"HKCU:\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
SIDS = {"NT AUTHORITY\\SYSTEM": "S-1-5-18", "NT AUTHORITY\\LOCAL SERVICE": "S-1-5-19"}


class MdeHost(FakeHost):
    """The host's registry (:class:`.registry.Registry`) answering the modules the MDE path calls. ``values`` seeds
    it in the state query's form: path -> {name: (.NET kind, value)}."""

    def __init__(self, values=None, user="CORP\\ansible-admin", admin=True):
        super().__init__()
        self.user, self.sid, self.admin = user, SIDS.get(user, "S-1-5-21-1-2-3-500"), admin
        self.http_proxy_fails = False
        self.after_import = None  # called after after.reg is imported (something on the host acting then)
        for path, found in (values or {}).items():
            for name, (kind, value) in found.items():
                self.set(path, name, REG_KIND[kind], base64.b64decode(value) if kind == "Binary" else value)

    def set(self, path, name, kind, data):
        self.registry.set(path, name, kind, data)

    def get(self, path, name):
        return self.registry.get(path, name)

    @property
    def reg(self) -> dict:
        """Every key: path -> {name: (REG_* type, data)}."""
        return self.registry.as_dict()

    @property
    def values(self) -> dict:
        """The registry as the state query reports it: path -> {name: (.NET kind, value)}, binary values base64."""
        return {path: {name: (NET_KIND[k], base64.b64encode(d).decode() if k in ("REG_BINARY", "REG_NONE") else d)
                       for name, (k, d) in found.items()} for path, found in self.reg.items()}

    def win_powershell(self, args):
        return self.written(args) or self.state_query(args)

    # -- the write path ---------------------------------------------------------------------------------------
    def win_file(self, args):
        return {"changed": True}

    def win_command(self, args):
        for key, name, kind, data in self.imported(args):
            assert key.startswith("HKEY_LOCAL_MACHINE\\"), key
            path = ps_path(key)
            if name is None:
                continue
            if kind == "DELETE":
                self.registry.delete(path, name)
            else:
                self.set(path, name, kind, bytes.fromhex(data) if kind == "REG_BINARY" else data)
        if self.after_import and args["argv"][2].endswith("after.reg"):
            self.after_import()
        return dict(IMPORTED)

    def win_http_proxy(self, args):
        if self.http_proxy_fails:
            return {"failed": True, "msg": "Unknown error when trying to set proxy 'x' or bypass ''"}
        if args.get("source") == "ie":
            found = self.get(HKCU, "DefaultConnectionSettings")
            raw = found[1]
            flags = int.from_bytes(raw[8:12], "little")
            length = int.from_bytes(raw[12:16], "little")
            proxy = raw[16:16 + length].decode() if flags & 2 else ""
            blen = int.from_bytes(raw[16 + length:20 + length], "little")
            bypass = raw[20 + length:20 + length + blen].decode() if flags & 2 else ""
        else:
            proxy, bypass = args.get("proxy") or "", ";".join(args.get("bypass") or [])
        blob = (bytes.fromhex("28000000 09000000") + (3 if proxy else 1).to_bytes(4, "little")
                + len(proxy).to_bytes(4, "little") + proxy.encode() + len(bypass).to_bytes(4, "little")
                + bypass.encode())
        self.set(WINHTTP, "WinHttpSettings", "REG_BINARY", blob)
        return {"changed": True}

    def upload(self, files, dest):
        """The upload the action injects into the MDE path (its one file write), applied without a module call."""
        for name, data in files.items():
            self.files["%s\\%s" % (dest, name)] = data
        self.calls.append(("upload", {"dest": dest}))
        return {"changed": True}

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one registry every fake host of the unit tests keeps.

Keys are named by their PowerShell drive path (``HKLM:\\SOFTWARE\\...``, ``HKU:\\<SID>\\...``), the form the state
query and ``win_reg_stat`` take; ``reg.exe import``'s ``HKEY_LOCAL_MACHINE\\...`` / ``HKEY_USERS\\...`` names map to
it (:func:`ps_path`). As in Windows, key paths and value names are case-insensitive and keep the spelling they were
first written with. A value is ``(REG_* type, data)``: bytes for REG_BINARY and REG_NONE, str, int or a list of str
otherwise. A key stays when its last value is deleted (as ``reg delete /v`` leaves it).
"""

from __future__ import annotations

import base64

# RegistryValueKind names, as the state query reports a value's type ($Ansible.Result of _host/_state_query.py).
NET_KIND = {"REG_SZ": "String", "REG_EXPAND_SZ": "ExpandString", "REG_DWORD": "DWord", "REG_BINARY": "Binary",
            "REG_MULTI_SZ": "MultiString", "REG_QWORD": "QWord", "REG_NONE": "None"}
REG_KIND = {net: reg for reg, net in NET_KIND.items()}
_ROOTS = {"HKEY_LOCAL_MACHINE": "HKLM:", "HKEY_USERS": "HKU:", "HKEY_CURRENT_USER": "HKCU:"}


def ps_path(reg_key: str) -> str:
    """``HKEY_LOCAL_MACHINE\\X`` (a .reg file's key) as ``HKLM:\\X``; a PS drive path is returned as it is."""
    root, dummy, rest = reg_key.partition("\\")
    drive = _ROOTS.get(root.upper())
    return reg_key if drive is None else drive + ("\\" + rest if rest else "\\")


class Registry:
    """Keys by PS drive path, case-insensitive; each value ``(type, data)`` under its name as first written."""

    def __init__(self):
        self._keys: dict = {}  # lower-case path -> (path as first written, {lower-case name: (name, type, data)})

    # -- values ------------------------------------------------------------------------------------------------
    def set(self, path: str, name: str, kind: str, data) -> None:
        values = self._keys.setdefault(path.lower(), (path, {}))[1]
        found = values.get(name.lower())
        values[name.lower()] = (found[0] if found else name, kind, data)

    def get(self, path: str, name: str):
        """``(type, data)``, or None when the value (or its key) does not exist."""
        found = self._keys.get(path.lower(), (None, {}))[1].get(name.lower())
        return None if found is None else (found[1], found[2])

    def delete(self, path: str, name: str) -> bool:
        """Delete one value; whether it existed."""
        return self._keys.get(path.lower(), (None, {}))[1].pop(name.lower(), None) is not None

    # -- keys --------------------------------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        return path.lower() in self._keys

    def values(self, path: str) -> dict | None:
        """``{name: (type, data)}`` of one key, None when the key does not exist."""
        found = self._keys.get(path.lower())
        return None if found is None else {n: (k, d) for n, k, d in found[1].values()}

    def as_dict(self) -> dict:
        """Every key: ``{path: {name: (type, data)}}`` (paths and names as first written)."""
        return {path: self.values(path) for path, dummy in self._keys.values()}

    def delete_key(self, path: str) -> None:
        """Delete one key (with its values); a key that does not exist is fine."""
        self._keys.pop(path.lower(), None)

    def clear(self) -> None:
        self._keys.clear()

    def entry(self, path: str) -> dict:
        """One key as the state query reports it: ``{exists, values: {name: {type, value}}, sub_keys}``, .NET kind
        names, binary values base64."""
        values = self.values(path)
        out = {"exists": values is not None, "values": {}, "sub_keys": []}
        for name, (kind, data) in (values or {}).items():
            shown = base64.b64encode(data).decode() if kind in ("REG_BINARY", "REG_NONE") else data
            out["values"][name] = {"type": NET_KIND[kind], "value": shown}
        return out

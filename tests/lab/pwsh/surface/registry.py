# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``[Microsoft.Win32.Registry]`` and ``Microsoft.Win32.RegistryKey`` over the lab's hives (TEST ONLY).

What .NET Framework 4.x does, and the lab with it
(https://learn.microsoft.com/dotnet/api/microsoft.win32.registrykey?view=netframework-4.8):

* ``OpenSubKey(name[, writable])`` returns ``$null`` for a key that does not exist, and for any key under a
  ``HKEY_USERS\\<SID>`` hive that is not loaded; it throws ``SecurityException`` ("Requested registry access is
  not allowed.") when the key's ACL denies the caller reading it (``Host.deny_registry_read``); a key opened
  for writing is refused here (our scripts only read);
* ``GetValue(name[, default[, options]])`` returns a REG_DWORD as a **signed** ``Int32`` and a REG_QWORD as a
  signed ``Int64`` (0x80000000 reads as -2147483648; win_reg_stat.ps1 lines 47-51 convert them back), REG_SZ
  and REG_EXPAND_SZ as ``String`` (the lab stores no environment variables, so both options read the same
  text), REG_MULTI_SZ as ``String[]``, REG_BINARY and REG_NONE as ``Byte[]``; a missing value returns
  ``default`` (``$null`` without one);
* ``GetValueKind(name)`` returns a ``RegistryValueKind``; a missing value throws ``IOException``;
* a disposed key throws ``ObjectDisposedException`` ("Cannot access a closed registry key.").
"""

from __future__ import annotations

from tests.lab.pwsh import values as v
from tests.lab.pwsh.errors import Unsupported, dotnet_error
from tests.lab.pwsh.surface import types

ROOTS = {"HKLM": "HKEY_LOCAL_MACHINE", "HKU": "HKEY_USERS", "HKCU": "HKEY_CURRENT_USER"}
KINDS = {"REG_NONE": "None", "REG_SZ": "String", "REG_EXPAND_SZ": "ExpandString", "REG_BINARY": "Binary",
         "REG_DWORD": "DWord", "REG_MULTI_SZ": "MultiString", "REG_QWORD": "QWord"}

VALUE_KIND = types.register("Microsoft.Win32.RegistryValueKind", enum={
    "Unknown": 0, "String": 1, "ExpandString": 2, "Binary": 3, "DWord": 4, "MultiString": 7, "QWord": 11,
    "None": -1})
VALUE_OPTIONS = types.register("Microsoft.Win32.RegistryValueOptions", enum={"None": 0,
                                                                             "DoNotExpandEnvironmentNames": 1})


class RegistryKey(v.DotNetObject):
    TYPE = "Microsoft.Win32.RegistryKey"
    BASES = ("System.MarshalByRefObject", "System.IDisposable")

    def __init__(self, ctx, root: str, sub: str = ""):
        self.ctx, self.root, self.sub = ctx, root, sub
        self.closed = False

    @property
    def path(self) -> str:
        """The lab path: ``HKLM:\\SOFTWARE\\X`` (``HKU:\\S-1-5-19\\...``)."""
        return "%s:\\%s" % (self.root, self.sub)

    def _live(self):
        if self.closed:
            raise dotnet_error("System.ObjectDisposedException", "Cannot access a closed registry key.\r\n"
                                                                 "Object name: '%s'." % self.p_Name())

    def _values(self) -> dict:
        return self.ctx.registry().get_values(self.path) or {}

    def p_Name(self):
        return ROOTS[self.root] + ("\\" + self.sub if self.sub else "")

    def p_ValueCount(self):
        self._live()
        return v.Int32(len(self._values()))

    def p_SubKeyCount(self):
        self._live()
        return v.Int32(len(self.ctx.registry().sub_keys(self.path)))

    def m_ToString(self, *args):
        return self.p_Name()

    def m_OpenSubKey(self, name, writable=False, *rest):
        self._live()
        if rest or not isinstance(writable, bool) or writable:
            raise Unsupported("RegistryKey.OpenSubKey for writing or with rights", 0)
        name = v.to_string(name).strip("\\")
        sub = "\\".join(p for p in (self.sub, name) if p)
        reg = self.ctx.registry()
        path = "%s:\\%s" % (self.root, sub)
        if reg.open_key(path)[2] is None:
            return None
        if reg.read_denied(path):
            raise dotnet_error("System.Security.SecurityException", "Requested registry access is not allowed.")
        return RegistryKey(self.ctx, self.root, sub)

    def m_GetValueNames(self):
        self._live()
        return v.string_array(value["name"] for value in self._values().values())

    def m_GetSubKeyNames(self):
        self._live()
        return v.string_array(self.ctx.registry().sub_keys(self.path))

    def _value(self, name):
        return self._values().get(v.to_string(name).lower())

    def m_GetValueKind(self, name):
        self._live()
        value = self._value(name)
        if value is None:
            raise dotnet_error("System.IO.IOException", "The system cannot find the file specified.\r\n")
        return types.enum_value(VALUE_KIND, KINDS[value["type"]])

    def m_GetValue(self, name, default=None, options=None):
        self._live()
        if options is not None:
            VALUE_OPTIONS.convert(options)
        value = self._value(name)
        if value is None:
            return default
        data, kind = value["data"], value["type"]
        if kind in ("REG_BINARY", "REG_NONE"):
            return v.byte_array(bytes.fromhex(data))
        if kind == "REG_DWORD":
            return v.Int32.wrap(int(data))
        if kind == "REG_QWORD":
            return v.Int64.wrap(int(data))
        if kind == "REG_MULTI_SZ":
            return v.string_array(data or [])
        return v.to_string(data)

    def m_Dispose(self):
        self.closed = True

    def m_Close(self):
        self.closed = True


def _root(name: str):
    return lambda ctx: RegistryKey(ctx, name)


types.register("Microsoft.Win32.Registry", static_properties={
    "LocalMachine": _root("HKLM"), "Users": _root("HKU"), "CurrentUser": _root("HKCU")})
types.register("Microsoft.Win32.RegistryKey")

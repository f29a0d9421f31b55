# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The table of .NET types a script may name: ``[T]`` casts, ``[T]::Member``, ``-is [T]``, ``catch [T]``.

TEST ONLY. A type the table does not hold is refused ("unsupported in the lab: type [X]"): the lab never
guesses what a .NET class does. To add one (a later script's ``[System.Net.HttpWebRequest]``, say), write a
module under ``tests/lab/pwsh/surface/`` that calls :func:`register` and import it in ``surface/__init__.py``;
the interpreter needs no change.

``register(full_name, ...)`` takes:

* ``statics``: ``{name: function(ctx, *args)}``, the static methods (``[IO.File]::Open``); the function raises
  :class:`..errors.DotNetError` for a .NET exception (the interpreter wraps it as PowerShell does);
* ``static_properties``: ``{name: function(ctx)}`` (``[Microsoft.Win32.Registry]::LocalMachine``);
* ``convert``: ``function(ctx, value)`` for ``[T]$value`` and typed variables (default: the value must already
  be a T);
* ``new``: ``function(ctx, *args)`` for ``New-Object -TypeName T`` and ``[T]::new()``;
* ``static_setters``: ``{name: function(ctx, value)}`` for ``[T]::Name = value``;
* ``enum``: ``{name: number}`` makes it an enum (``flags=True``: a [Flags] enum, whose combined values print as
  ``'A, B'``) (``[System.IO.FileMode]::CreateNew``, and ``'CreateNew'``
  converts to it case-insensitively, as about_Enum says for Windows PowerShell 5.1);
* ``bases``: base classes and interfaces, for ``-is`` and ``catch``;
* ``aliases``: the short names PowerShell's type accelerators give (``[string]``, ``[ordered]``).

Type names resolve as PowerShell resolves them: case-insensitively, with ``System.`` tried as a prefix
(``[Convert]`` is ``[System.Convert]``), and array types ``[T[]]`` from ``T``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.lab.pwsh import values as v
from tests.lab.pwsh.errors import DotNetError, Unsupported


@dataclass
class TypeInfo:
    full_name: str
    statics: dict = field(default_factory=dict)
    static_properties: dict = field(default_factory=dict)
    converter: object = None
    new: object = None
    enum: dict | None = None
    bases: tuple = ()
    element: TypeInfo | None = None  # for T[]
    static_setters: dict = field(default_factory=dict)
    flags: bool = False  # a [Flags] enum: a number that is a sum of members is named by them ("Tls11, Tls12")

    ctx = None  # the running session's host context, set by the interpreter for converters

    def convert(self, value):
        if self.element is not None:
            return v.to_array(value, self.element.full_name, self.element.convert)
        if self.enum is not None:
            return enum_value(self, value)
        if self.converter is not None:
            return self.converter(TypeInfo.ctx, value)
        if value is None:
            return None
        if self.full_name.lower() in {n.lower() for n in v.type_names(value)}:
            return value
        raise v._cast_error(value, self.full_name)

    def static(self, name: str):
        for key, fn in self.statics.items():
            if key.lower() == name.lower():
                return fn
        return None

    def static_setter(self, name: str):
        for key, fn in self.static_setters.items():
            if key.lower() == name.lower():
                return fn
        return None

    def static_property(self, name: str):
        if self.enum is not None:
            for key in self.enum:
                if key.lower() == name.lower():
                    return lambda ctx, key=key: v.EnumValue(self.full_name, key, self.enum[key])
        for key, fn in self.static_properties.items():
            if key.lower() == name.lower():
                return fn
        return None


TYPES: dict = {}
ALIASES: dict = {}


def register(full_name: str, statics=None, static_properties=None, convert=None, new=None, enum=None, bases=(),
             aliases=(), static_setters=None, flags=False) -> TypeInfo:
    info = TypeInfo(full_name, dict(statics or {}), dict(static_properties or {}), convert, new, enum, tuple(bases),
                    static_setters=dict(static_setters or {}), flags=flags)
    TYPES[full_name.lower()] = info
    for alias in aliases:
        ALIASES[alias.lower()] = full_name
    return info


def lookup(name: str, line: int = 0) -> TypeInfo:
    """The type named ``name`` (``string[]``, ``IO.File``, ``System.Convert``), or Unsupported."""
    clean = name.strip().replace(" ", "")
    if clean.endswith("[]"):
        element = lookup(clean[:-2], line)
        new = None
        if element.full_name == "System.Byte":  # New-Object byte[] <n>: n zero bytes (a read buffer)
            def new(ctx, count):
                return v.byte_array(bytes(int(v.to_integer(count, v.Int64))))
        return TypeInfo(element.full_name + "[]", new=new, element=element, bases=("System.Array",))
    low = clean.lower()
    low = ALIASES.get(low, clean).lower()
    for candidate in (low, "system." + low):
        if candidate in TYPES:
            return TYPES[candidate]
    raise Unsupported("type [%s]" % name, line)


def type_object(full_name: str):
    """What ``$x.GetType()`` returns: a ``System.RuntimeType`` with ``FullName`` and ``Name``."""
    return RuntimeType(full_name)


class RuntimeType(v.DotNetObject):
    TYPE = "System.RuntimeType"
    BASES = ("System.Type",)

    def __init__(self, full_name: str):
        self.full_name = full_name

    def p_FullName(self):
        return self.full_name

    def p_Name(self):
        return self.full_name.rsplit(".", 1)[-1]

    def m_ToString(self, *args):
        return self.full_name


def enum_value(info: TypeInfo, value) -> v.EnumValue:
    """A value converted to an enum: by name (case-insensitive; ``'A, B'`` for flags) or by number."""
    if isinstance(value, v.EnumValue) and value.type_name == info.full_name:
        return value
    if isinstance(value, str):
        total, names = 0, []
        for part in [p.strip() for p in value.split(",")]:
            found = next((k for k in info.enum if k.lower() == part.lower()), None)
            if found is None:
                raise v.ConversionError(
                    'Cannot convert value "%s" to type "%s". Error: "Unable to match the identifier name %s to a '
                    'valid enumerator name. Specify one of the following enumerator names and try again:\n%s"'
                    % (value, info.full_name, part, ", ".join(info.enum)))
            total |= info.enum[found]
            names.append(found)
        if len(names) == 1:
            return v.EnumValue(info.full_name, names[0], total)
        if info.flags:
            return enum_value(info, total)
        return v.EnumValue(info.full_name, ", ".join(names), total)
    if isinstance(value, (int, v.EnumValue)) and not isinstance(value, bool):
        number = value.value if isinstance(value, v.EnumValue) else int(value)
        name = next((k for k, n in info.enum.items() if n == number), None)
        if name is None and info.flags and number:
            left, names = number, []
            for key, bits in sorted(info.enum.items(), key=lambda kv: -kv[1]):
                if bits and left & bits == bits:
                    names.append(key)
                    left &= ~bits
            name = ", ".join(reversed(names)) if not left else None
        return v.EnumValue(info.full_name, name if name is not None else str(number), number)
    raise v._cast_error(value, info.full_name)


def _object(ctx, value):
    return value


def _string(ctx, value):
    return v.to_string(value)


def _bool(ctx, value):
    return v.to_bool(value)


def _int(cls):
    return lambda ctx, value: v.to_integer(value, cls)


def _dictionary(ctx, value):
    if value is None or isinstance(value, v.PSDict):
        return value
    raise v._cast_error(value, "System.Collections.IDictionary")


def _hashtable(ctx, value):
    if value is None:
        return None
    if isinstance(value, v.PSDict):
        return value if value.kind == "hashtable" else v.PSDict("hashtable", value.items())
    raise v._cast_error(value, "System.Collections.Hashtable")


def _array(ctx, value):
    return v.to_array(value, "System.Object", lambda x: x)


def _double(ctx, value):
    return v.to_double(value)


register("System.Object", convert=_object, aliases=("object", "psobject"))
register("System.String", convert=_string, aliases=("string",))
register("System.Boolean", convert=_bool, aliases=("bool",))
register("System.Management.Automation.SwitchParameter", convert=_bool, aliases=("switch",))
register("System.Int32", convert=_int(v.Int32), aliases=("int", "int32"))
register("System.Int64", convert=_int(v.Int64), aliases=("long", "int64"))
register("System.UInt32", convert=_int(v.UInt32), aliases=("uint32",))
register("System.UInt64", convert=_int(v.UInt64), aliases=("uint64",))
register("System.Byte", convert=_int(v.Byte), aliases=("byte",))
register("System.Double", convert=_double, aliases=("double",))
register("System.Array", convert=_array, aliases=("array",))
register("System.Collections.IDictionary", convert=_dictionary)
register("System.Collections.Hashtable", convert=_hashtable, aliases=("hashtable",),
         bases=("System.Collections.IDictionary",))
register("System.Collections.IList")
register("System.Collections.ICollection")
register("System.Collections.IEnumerable")
register("System.Enum")
register("System.ValueType")
register("System.Type")
register("System.Management.Automation.ErrorRecord")
register("System.Management.Automation.PSCustomObject", aliases=("pscustomobject",))

# Exceptions, for catch [T] and -is [T] (their objects come from errors.DotNetError).
for _name in ("System.Exception", "System.SystemException", "System.IO.IOException", "System.IO.FileNotFoundException",
              "System.IO.DirectoryNotFoundException", "System.UnauthorizedAccessException",
              "System.Security.SecurityException", "System.InvalidOperationException", "System.FormatException",
              "System.ArgumentException", "System.InvalidCastException",
              "System.Management.Automation.RuntimeException", "System.Management.Automation.MethodException",
              "System.Management.Automation.MethodInvocationException",
              "System.Management.Automation.ActionPreferenceStopException",
              "System.Management.Automation.ItemNotFoundException",
              "System.Management.Automation.PSInvalidCastException",
              "Microsoft.PowerShell.Commands.ServiceCommandException",
              "System.Reflection.TargetInvocationException"):
    register(_name)

ACTION_PREFERENCE = register("System.Management.Automation.ActionPreference", enum={
    "SilentlyContinue": 0, "Stop": 1, "Continue": 2, "Inquire": 3, "Ignore": 4, "Suspend": 5})


class ExceptionObject(v.DotNetObject):
    """A .NET exception as a script sees it (``$_.Exception``): ``Message``, ``InnerException``, ``HResult``."""

    def __init__(self, error: DotNetError):
        self.error = error

    @property
    def type_name(self) -> str:
        return self.error.TYPE

    def type_names(self) -> list:
        return self.error.type_names()

    def _extra(self) -> dict:
        """Properties of a particular exception class (``WebException.Status``, ``.Response``), set by the surface
        that raised it as ``error.properties``."""
        return {k.lower(): (k, val) for k, val in (getattr(self.error, "properties", None) or {}).items()}

    def property_names(self) -> list:
        return super().property_names() + [k for k, dummy in self._extra().values()]

    def has_property(self, name: str) -> bool:
        return name.lower() in self._extra() or super().has_property(name)

    def get_property(self, name: str):
        extra = self._extra()
        if name.lower() in extra:
            return extra[name.lower()][1]
        return super().get_property(name)

    def p_Message(self):
        return self.error.message

    def p_InnerException(self):
        return ExceptionObject(self.error.inner) if self.error.inner is not None else None

    def p_HResult(self):
        return v.Int32(self.error.HRESULT)

    def m_ToString(self, *args):
        return "%s: %s" % (self.error.TYPE, self.error.message)

    def m_GetType(self):
        return RuntimeType(self.error.TYPE)

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The values a Windows PowerShell 5.1 script handles, and the conversions between them.

TEST ONLY. Python stands in for the .NET objects as follows:

=================================  ===========================================================================
.NET                               here
=================================  ===========================================================================
``$null``                          ``None``
``System.Boolean``, ``String``     ``bool``, ``str``
``Int32``/``Int64``/``UInt32``/    :class:`Int32` ... :class:`Byte` (``int`` subclasses that keep their .NET
``UInt64``/``Byte``                type, because ``"{0:x}" -f`` and conversions depend on the width)
``System.Double``                  ``float``
``Object[]``, ``String[]``,        :class:`PSArray` (a ``list`` with its element type)
``Byte[]``
``Hashtable``,                     :class:`PSDict` (case-insensitive keys, as PowerShell creates them; the
``OrderedDictionary``,             ``Dictionary[string,object]`` Ansible.Basic builds from the module's JSON
``Dictionary[string,object]``      keeps its keys case-sensitive)
an enum value                      :class:`EnumValue`
any other .NET object              a :class:`DotNetObject` subclass from the type table (``surface``)
=================================  ===========================================================================

Conversions follow PowerShell's rules (``LanguagePrimitives.ConvertTo``), as about_Type_Conversion describes
(https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_type_conversion?view=powershell-5.1)
and the PowerShell Language Specification 3.0 chapter 6 ("Conversions"): a string converts to a number with
the .NET ``TypeConverter`` (``"0x80000000"`` is hexadecimal, unsigned for ``[UInt32]``), anything converts to
a string with ``ToString()`` (an array joins its elements with ``$OFS``, a space), ``$null`` to ``[string]`` is
the empty string, and a conversion that cannot be made is a ``PSInvalidCastException``.
"""

from __future__ import annotations

import math

from tests.lab.pwsh.errors import DotNetError


# ---------------------------------------------------------------------------
# Integers that keep their .NET type
# ---------------------------------------------------------------------------
class _TypedInt(int):
    TYPE = "System.Int32"
    BITS = 32
    SIGNED = True

    def __new__(cls, value):
        value = int(value)
        low, high = cls.range()
        if not low <= value <= high:
            raise OverflowError("Value was either too large or too small for %s." % _article(cls.TYPE))
        return super().__new__(cls, value)

    @classmethod
    def range(cls) -> tuple:
        if cls.SIGNED:
            return -(1 << (cls.BITS - 1)), (1 << (cls.BITS - 1)) - 1
        return 0, (1 << cls.BITS) - 1

    @classmethod
    def wrap(cls, value: int):
        """Reinterpret the low ``BITS`` bits of ``value`` (what .NET does to a stored registry DWORD)."""
        value &= (1 << cls.BITS) - 1
        if cls.SIGNED and value >= 1 << (cls.BITS - 1):
            value -= 1 << cls.BITS
        return cls(value)

    def __repr__(self):
        return "%s(%d)" % (type(self).__name__, int(self))


def _article(type_name: str) -> str:
    short = type_name.split(".")[-1]
    return ("an " if short[0] in "AEIOU" else "a ") + short


class Int32(_TypedInt):
    TYPE, BITS, SIGNED = "System.Int32", 32, True


class Int64(_TypedInt):
    TYPE, BITS, SIGNED = "System.Int64", 64, True


class UInt32(_TypedInt):
    TYPE, BITS, SIGNED = "System.UInt32", 32, False


class UInt64(_TypedInt):
    TYPE, BITS, SIGNED = "System.UInt64", 64, False


class Byte(_TypedInt):
    TYPE, BITS, SIGNED = "System.Byte", 8, False


INT_TYPES = {cls.TYPE: cls for cls in (Int32, Int64, UInt32, UInt64, Byte)}


def integer(value: int):
    """An integer literal or arithmetic result: Int32 when it fits, else Int64, else Double (spec 2.3.5.1.1)."""
    for cls in (Int32, Int64):
        low, high = cls.range()
        if low <= value <= high:
            return cls(value)
    return float(value)


# ---------------------------------------------------------------------------
# Arrays, dictionaries, enums, objects
# ---------------------------------------------------------------------------
class PSArray(list):
    """A .NET array: ``Object[]`` unless an element type is given (``String[]``, ``Byte[]``)."""

    def __init__(self, items=(), element_type: str = "System.Object"):
        super().__init__(items)
        self.element_type = element_type

    @property
    def type_name(self) -> str:
        return self.element_type + "[]"


class PSDict:
    """``Hashtable`` / ``OrderedDictionary`` (keys case-insensitive, about_Hash_Tables) or the case-sensitive
    ``Dictionary[string,object]`` of the module's JSON parameters. Insertion order is kept for all three (a
    ``Hashtable``'s real order is its hash order, which no consumer of ours relies on)."""

    KINDS = {"hashtable": "System.Collections.Hashtable",
             "ordered": "System.Collections.Specialized.OrderedDictionary",
             "dictionary": "System.Collections.Generic.Dictionary`2[[System.String],[System.Object]]"}

    def __init__(self, kind: str = "hashtable", items=()):
        self.kind = kind
        self._data: dict = {}
        for key, value in items:
            self[key] = value

    @property
    def type_name(self) -> str:
        return self.KINDS[self.kind]

    @property
    def case_insensitive(self) -> bool:
        return self.kind != "dictionary"

    def _norm(self, key):
        return key.lower() if self.case_insensitive and isinstance(key, str) else key

    def __setitem__(self, key, value):
        norm = self._norm(key)
        if norm in self._data:
            self._data[norm] = (self._data[norm][0], value)  # the first spelling of the key stays
        else:
            self._data[norm] = (key, value)

    def __getitem__(self, key):
        found = self._data.get(self._norm(key))
        return None if found is None else found[1]

    def __contains__(self, key):
        return self._norm(key) in self._data

    def __len__(self):
        return len(self._data)

    def keys(self) -> list:
        return [pair[0] for pair in self._data.values()]

    def values(self) -> list:
        return [pair[1] for pair in self._data.values()]

    def items(self) -> list:
        return list(self._data.values())


class EnumValue:
    """A value of a .NET enum: ``ToString()`` is its name, ``[int]`` its number."""

    def __init__(self, type_name: str, name: str, value: int):
        self.type_name, self.name, self.value = type_name, name, value

    def __eq__(self, other):
        return isinstance(other, EnumValue) and (self.type_name, self.value) == (other.type_name, other.value)

    def __hash__(self):
        return hash((self.type_name, self.value))

    def __repr__(self):
        return "[%s]::%s" % (self.type_name, self.name)


class DotNetObject:
    """Base of every .NET object the type table makes.

    A subclass sets ``TYPE`` (its full name) and ``BASES`` (base classes and interfaces, for ``-is`` and
    ``catch [T]``), and exposes members by naming Python methods ``p_<Name>`` (a property getter) and
    ``m_<Name>`` (a method, called with the converted arguments). Member names are case-insensitive, as in
    PowerShell (about_Properties, about_Methods). A property that can be set has ``set_<Name>``.
    """

    TYPE = "System.Object"
    BASES: tuple = ()

    @property
    def type_name(self) -> str:
        return self.TYPE

    def type_names(self) -> list:
        return [self.TYPE, *self.BASES, "System.Object"]

    @classmethod
    def _members(cls, prefix: str) -> dict:
        cache = cls.__dict__.get("_member_cache_" + prefix)
        if cache is None:
            cache = {name[len(prefix):].lower(): name for name in dir(cls) if name.startswith(prefix)}
            setattr(cls, "_member_cache_" + prefix, cache)
        return cache

    def property_names(self) -> list:
        return [getattr(self, name).__name__[2:] for name in self._members("p_").values()]

    def has_property(self, name: str) -> bool:
        return name.lower() in self._members("p_")

    def get_property(self, name: str):
        return getattr(self, self._members("p_")[name.lower()])()

    def can_set(self, name: str) -> bool:
        return name.lower() in self._members("set_")

    def set_property(self, name: str, value) -> None:
        getattr(self, self._members("set_")[name.lower()])(value)

    def has_method(self, name: str) -> bool:
        return name.lower() in self._members("m_")

    def call_method(self, name: str, args: list):
        return getattr(self, self._members("m_")[name.lower()])(*args)

    def m_ToString(self, *args):
        return self.TYPE

    def m_GetType(self):
        from tests.lab.pwsh.surface import types

        return types.type_object(self.TYPE)

    def m_Equals(self, other):
        return self is other


class PSCustomObject(DotNetObject):
    """``[PSCustomObject]@{...}``: note properties only (``$Ansible`` is one, win_powershell.ps1 lines 661-670)."""

    TYPE = "System.Management.Automation.PSCustomObject"

    def __init__(self, properties: dict, type_name: str | None = None):
        self.properties = PSDict("ordered", properties.items())
        self.ps_type_name = type_name

    def property_names(self) -> list:
        return self.properties.keys()

    def has_property(self, name: str) -> bool:
        return name in self.properties

    def get_property(self, name: str):
        return self.properties[name]

    def can_set(self, name: str) -> bool:
        return name in self.properties

    def set_property(self, name: str, value) -> None:
        self.properties[name] = value

    def m_ToString(self, *args):
        return ""


# ---------------------------------------------------------------------------
# Type names and tests
# ---------------------------------------------------------------------------
def type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, _TypedInt):
        return value.TYPE
    if isinstance(value, int):
        return "System.Int32"
    if isinstance(value, float):
        return "System.Double"
    if isinstance(value, str):
        return "System.String"
    return value.type_name


def type_names(value) -> list:
    """The type and every base class / interface name, for ``-is`` and ``catch``."""
    if isinstance(value, DotNetObject) or hasattr(value, "type_names"):
        return value.type_names()
    if isinstance(value, EnumValue):
        return [value.type_name, "System.Enum", "System.ValueType", "System.Object"]
    if isinstance(value, PSArray):
        return [value.type_name, "System.Array", "System.Collections.IList", "System.Collections.ICollection",
                "System.Collections.IEnumerable", "System.Object"]
    if isinstance(value, PSDict):
        return [value.type_name, "System.Collections.IDictionary", "System.Collections.ICollection",
                "System.Collections.IEnumerable", "System.Object"]
    name = type_name(value)
    extra = ["System.ValueType"] if name != "System.String" else ["System.IComparable"]
    return [name, *extra, "System.Object"]


def is_collection(value) -> bool:
    """What a pipeline unrolls and ``foreach`` enumerates (about_Pipelines; strings and dictionaries are
    single objects)."""
    return isinstance(value, list) or (isinstance(value, DotNetObject) and getattr(value, "ENUMERABLE", False))


def enumerate_value(value) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    if isinstance(value, DotNetObject) and getattr(value, "ENUMERABLE", False):
        return list(value.enumerate())
    return [value]


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------
class ConversionError(DotNetError):
    """``System.Management.Automation.PSInvalidCastException``."""

    TYPE = "System.Management.Automation.PSInvalidCastException"
    BASES = ("System.InvalidCastException", "System.SystemException", "System.Exception")
    FQID = "InvalidCastException"  # "ConvertToFinalInvalidCastException" for some; the id our scripts never read


def to_string(value, ofs: str = " ") -> str:
    """``[string]$value`` (about_Type_Conversion; $OFS joins array elements)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return _double_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, list):
        return ofs.join(to_string(v, ofs) for v in value)
    if isinstance(value, PSDict):
        return value.type_name
    if isinstance(value, DotNetObject):
        return to_string(value.m_ToString())
    raise TypeError("no string form for %r" % (value,))


def _double_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def to_bool(value) -> bool:
    """PowerShell truthiness (about_Booleans): ``$null``, ``''``, ``0``, an empty array are false; a one-element
    array is its element's truth; any other object is true."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ""
    if isinstance(value, list):
        if not value:
            return False
        return to_bool(value[0]) if len(value) == 1 else True
    if isinstance(value, EnumValue):
        return value.value != 0
    return True


def _cast_error(value, target: str, why: str = "") -> ConversionError:
    if isinstance(value, str) or why:
        text = 'Cannot convert value "%s" to type "%s".' % (to_string(value), target)
        if why:
            text += ' Error: "%s"' % why
    else:
        text = 'Cannot convert the "%s" value of type "%s" to type "%s".' % (to_string(value), type_name(value), target)
    return ConversionError(text)


def to_integer(value, cls):
    """``[Int32]``/``[UInt32]``/... of a value (the .NET ``TypeConverter`` for strings: ``0x`` is hexadecimal)."""
    if isinstance(value, cls):
        return value
    try:
        if value is None:
            return cls(0)
        if isinstance(value, bool):
            return cls(int(value))
        if isinstance(value, int):
            return cls(int(value))
        if isinstance(value, float):
            return cls(round(value))  # .NET rounds half to even, as Python's round does
        if isinstance(value, EnumValue):
            return cls(value.value)
        if isinstance(value, str):
            text = value.strip()
            if text == "":
                return cls(0)
            if text.lower().startswith("0x") or text.lower().startswith("&h"):
                digits = int(text[2:], 16)  # Convert.ToUInt32(text, 16): the bits, read at the target's width
                if digits >= 1 << cls.BITS:
                    raise OverflowError("Value was either too large or too small for %s." % _article(cls.TYPE))
                return cls.wrap(digits)
            try:
                return cls(int(text, 10))
            except ValueError:
                return cls(round(float(text)))
    except OverflowError as exc:
        raise _cast_error(value, cls.TYPE, str(exc)) from None
    except ValueError:
        raise _cast_error(value, cls.TYPE, "Input string was not in a correct format.") from None
    if isinstance(value, list) and len(value) == 1:
        return to_integer(value[0], cls)
    raise _cast_error(value, cls.TYPE)


def to_double(value) -> float:
    if isinstance(value, float):
        return value
    if value is None:
        return 0.0
    if isinstance(value, (bool, int)):
        return float(int(value))
    if isinstance(value, str):
        try:
            return float(value.strip() or 0)
        except ValueError:
            raise _cast_error(value, "System.Double", "Input string was not in a correct format.") from None
    raise _cast_error(value, "System.Double")


def to_array(value, element_type: str, convert_element) -> PSArray | None:
    """``[T[]]$value``: ``$null`` stays ``$null``; a scalar becomes a one-element array."""
    if value is None:
        return None
    if isinstance(value, PSArray) and value.element_type == element_type:
        return value
    items = enumerate_value(value) if is_collection(value) else [value]
    return PSArray([convert_element(v) for v in items], element_type)


def to_bytes(value) -> bytes:
    """A ``byte[]`` as Python bytes (for the surface)."""
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return bytes(int(to_integer(v, Byte)) for v in enumerate_value(value))


def byte_array(data: bytes) -> PSArray:
    return PSArray([Byte(b) for b in data], "System.Byte")


def string_array(items) -> PSArray:
    return PSArray([to_string(i) for i in items], "System.String")

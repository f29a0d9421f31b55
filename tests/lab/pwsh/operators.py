# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PowerShell's operators, with Windows PowerShell 5.1's rules.

TEST ONLY. Each rule cites its topic (https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/
<topic>?view=powershell-5.1):

* about_Comparison_Operators: ``-eq``/``-ne``/``-gt``/... compare case-insensitively (``-c...`` case-sensitively);
  the right operand is converted to the left operand's type (``$kind -eq 'Binary'`` converts ``'Binary'`` to
  the enum); **when the left operand is a collection, the operator filters it** and returns the matching
  elements (so ``@($null, 1) -eq $null`` is ``@($null)`` and ``$null -eq @()`` is false: put ``$null`` on the
  left); ``-match`` sets ``$Matches`` for a scalar; ``-like`` uses wildcards; ``-contains``/``-in`` test
  membership; ``-is``/``-isnot`` test the type (about_Type_Operators);
* about_Split, about_Join, about_Operators (``-f``, the .NET composite format: ``"{0:x}" -f $int`` is the
  two's-complement hexadecimal of the value's own width), about_Regular_Expressions (.NET regular
  expressions; ``-replace`` substitutions ``$1``, ``${name}``, ``$&``);
* about_Arithmetic_Operators: ``+`` adds numbers, concatenates strings (the right side converted to a string),
  appends to arrays and merges hash tables (a duplicate key is an error);
* about_Logical_Operators: ``-and``, ``-or`` (short-circuit), ``-xor``, ``-not``/``!``.
"""

from __future__ import annotations

import re

from tests.lab.pwsh import values as v
from tests.lab.pwsh.errors import DotNetError, dotnet_error


# ---------------------------------------------------------------------------
# Equality and ordering of two scalars
# ---------------------------------------------------------------------------
def _convert_like(left, right):
    """The right operand converted to the left operand's type, or raise ConversionError."""
    if isinstance(left, bool):
        return v.to_bool(right)
    if isinstance(left, v._TypedInt) or isinstance(left, int):
        if isinstance(right, float):
            return right
        if isinstance(right, str) and re.fullmatch(r"\s*[-+]?\d+\.\d*\s*", right):
            return v.to_double(right)
        return int(v.to_integer(right, v.Int64 if not isinstance(left, v.UInt64) else v.UInt64))
    if isinstance(left, float):
        return v.to_double(right)
    if isinstance(left, v.EnumValue):
        from tests.lab.pwsh.surface import types

        return types.lookup(left.type_name).convert(right)
    return right


def equals(left, right, case_sensitive=False) -> bool:
    if left is None:
        return right is None
    if right is None:
        return False
    if isinstance(left, str):
        right_text = v.to_string(right)
        return left == right_text if case_sensitive else left.lower() == right_text.lower()
    if isinstance(left, (bool, int, float, v.EnumValue)):
        try:
            converted = _convert_like(left, right)
        except (DotNetError, OverflowError, ValueError):
            return False
        if isinstance(left, v.EnumValue):
            return converted == left
        return converted == (left if isinstance(left, bool) else (float(left) if isinstance(converted, float) else int(left)))
    if isinstance(left, v.DotNetObject) and left.has_method("Equals") and type(left).m_Equals is not v.DotNetObject.m_Equals:
        return bool(left.m_Equals(right))
    return left is right


def compare(left, right, case_sensitive=False) -> int:
    """-1/0/1 for ``-lt``/``-gt``/...; a string compares as text, a number numerically."""
    if left is None and right is None:
        return 0
    if left is None:
        return -1
    if right is None:
        return 1
    if isinstance(left, str):
        a, b = left, v.to_string(right)
        if not case_sensitive:
            a, b = a.lower(), b.lower()
        return (a > b) - (a < b)
    if isinstance(left, (int, float, v.EnumValue)):
        a = left.value if isinstance(left, v.EnumValue) else left
        b = _convert_like(left, right)
        b = b.value if isinstance(b, v.EnumValue) else b
        return (a > b) - (a < b)
    raise dotnet_error("System.ArgumentException", "Cannot compare \"%s\" because it is not IComparable."
                       % v.to_string(left))


# ---------------------------------------------------------------------------
# Regular expressions and wildcards (.NET flavour -> Python re)
# ---------------------------------------------------------------------------
def dotnet_regex(pattern: str, case_sensitive: bool):
    """Compile a .NET regular expression (the constructs our scripts use; Python's ``re`` differs on ``\\z``,
    ``\\Z`` and named groups)."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append({"z": r"\Z", "Z": r"(?=\n?\Z)"}.get(nxt, ch + nxt))
            i += 2
            continue
        if pattern.startswith("(?<", i) and i + 3 < len(pattern) and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(ch)
        i += 1
    try:
        return re.compile("".join(out), 0 if case_sensitive else re.IGNORECASE)
    except re.error as exc:
        raise dotnet_error("System.ArgumentException", "parsing \"%s\" - %s." % (pattern, exc)) from None


def wildcard(pattern: str, case_sensitive: bool):
    """about_Wildcards: ``*``, ``?``, ``[abc]``, backtick escapes."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "`" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append({"*": ".*", "?": "."}.get(ch) or (ch if ch in "[]" else re.escape(ch)))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL | (0 if case_sensitive else re.IGNORECASE))


def _replacement(text: str):
    """.NET substitutions in a ``-replace`` replacement -> a function for ``re.sub``."""

    def substitute(match):
        out, i = [], 0
        while i < len(text):
            ch = text[i]
            if ch == "$" and i + 1 < len(text):
                nxt = text[i + 1]
                if nxt == "$":
                    out.append("$")
                    i += 2
                    continue
                if nxt == "&":
                    out.append(match.group(0))
                    i += 2
                    continue
                m = re.match(r"\d+", text[i + 1:])
                if m:
                    out.append(match.group(int(m.group(0))) or "")
                    i += 1 + len(m.group(0))
                    continue
                m = re.match(r"\{(\w+)\}", text[i + 1:])
                if m:
                    name = m.group(1)
                    out.append((match.group(int(name)) if name.isdigit() else match.group(name)) or "")
                    i += 1 + len(m.group(0))
                    continue
            out.append(ch)
            i += 1
        return "".join(out)

    return substitute


# ---------------------------------------------------------------------------
# Binary operators
# ---------------------------------------------------------------------------
COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch"}


def _scalar_compare(op: str, left, right, cs: bool, session) -> bool:
    if op == "eq":
        return equals(left, right, cs)
    if op == "ne":
        return not equals(left, right, cs)
    if op in ("gt", "ge", "lt", "le"):
        c = compare(left, right, cs)
        return {"gt": c > 0, "ge": c >= 0, "lt": c < 0, "le": c <= 0}[op]
    if op in ("like", "notlike"):
        hit = bool(wildcard(v.to_string(right), cs).match(v.to_string(left)))
        return hit if op == "like" else not hit
    if op in ("match", "notmatch"):
        match = dotnet_regex(v.to_string(right), cs).search(v.to_string(left))
        if match and session is not None:
            table = v.PSDict("hashtable")
            table[v.Int32(0)] = match.group(0)
            for index, group in enumerate(match.groups(), 1):
                if group is not None:
                    table[v.Int32(index)] = group
            for name, group in match.groupdict().items():
                if group is not None:
                    table[name] = group
            session.set_variable("Matches", table)
        return bool(match) if op == "match" else not match
    raise AssertionError(op)


def binary(op: str, left, right, session=None):
    """``left -op right`` (``op`` without the dash, e.g. ``eq``, ``cnotmatch``, ``+``)."""
    if op in ("+", "-", "*", "/", "%"):
        return arithmetic(op, left, right)
    name = op.lower()
    cs = False
    base = name
    if name[0] in "ci" and name[1:] in COMPARISONS | {"replace", "split", "contains", "notcontains", "in", "notin"}:
        cs, base = name[0] == "c", name[1:]
    if base in COMPARISONS:
        if v.is_collection(left):  # about_Comparison_Operators: a collection on the left is filtered
            items = [x for x in v.enumerate_value(left) if _scalar_compare(base, x, right, cs, None)]
            return v.PSArray(items)
        return _scalar_compare(base, left, right, cs, session)
    if base in ("contains", "notcontains"):
        hit = any(equals(x, right, cs) for x in v.enumerate_value(left)) if v.is_collection(left) \
            else equals(left, right, cs)
        return hit if base == "contains" else not hit
    if base in ("in", "notin"):
        return binary(("c" if cs else "") + ("contains" if base == "in" else "notcontains"), right, left, session)
    if base == "replace":
        pattern, replacement = (list(v.enumerate_value(right)) + ["", ""])[:2] if v.is_collection(right) \
            else (right, "")
        regex = dotnet_regex(v.to_string(pattern), cs)
        sub = _replacement(v.to_string(replacement))
        if v.is_collection(left):
            return v.PSArray([regex.sub(sub, v.to_string(x)) for x in v.enumerate_value(left)])
        return regex.sub(sub, v.to_string(left))
    if base == "split":
        return split(left, right, cs)
    if base == "join":
        return v.to_string(right).join(v.to_string(x) for x in v.enumerate_value(left)) if v.is_collection(left) \
            else v.to_string(left)
    if base in ("is", "isnot"):
        hit = is_type(left, right)
        return hit if base == "is" else not hit
    if base == "as":
        try:
            return right.convert(left)
        except DotNetError:
            return None
    if base == "f":
        return format_string(v.to_string(left), v.enumerate_value(right) if v.is_collection(right) else [right])
    if base in ("and", "or", "xor"):
        a, b = v.to_bool(left), v.to_bool(right)
        return {"and": a and b, "or": a or b, "xor": a != b}[base]
    if base in ("band", "bor", "bxor"):
        a = left.value if isinstance(left, v.EnumValue) else int(v.to_integer(left, v.Int64))
        b = right.value if isinstance(right, v.EnumValue) else int(v.to_integer(right, v.Int64))
        number = {"band": a & b, "bor": a | b, "bxor": a ^ b}[base]
        if isinstance(left, v.EnumValue):  # an enum's bitwise operation stays that enum (about_Arithmetic_Operators)
            from tests.lab.pwsh.surface import types

            return types.enum_value(types.lookup(left.type_name), number)
        return v.integer(number)
    raise KeyError(op)


def is_type(value, type_info) -> bool:
    if value is None:
        return False
    names = {n.lower() for n in v.type_names(value)}
    return type_info.full_name.lower() in names


def split(left, right, cs: bool):
    """about_Split: ``<string> -split <delimiter>[,<max-substrings>]``; the delimiter is a regular expression."""
    parts = list(v.enumerate_value(right)) if v.is_collection(right) else [right]
    pattern = v.to_string(parts[0])
    limit = int(v.to_integer(parts[1], v.Int32)) if len(parts) > 1 else 0
    regex = dotnet_regex(pattern, cs)
    out = []
    for item in (v.enumerate_value(left) if v.is_collection(left) else [left]):
        out += regex.split(v.to_string(item), maxsplit=max(limit - 1, 0))
    return v.string_array([o if o is not None else "" for o in out])


def arithmetic(op: str, left, right):
    if op == "+":
        if left is None:
            return right
        if isinstance(left, str):
            return left + v.to_string(right)
        if isinstance(left, list):
            extra = v.enumerate_value(right) if v.is_collection(right) else [right]
            return v.PSArray(list(left) + extra)
        if isinstance(left, v.PSDict):
            if not isinstance(right, v.PSDict):
                raise dotnet_error("System.Management.Automation.RuntimeException",
                                   "A hash table can only be added to another hash table.")
            merged = v.PSDict(left.kind, left.items())
            for key, value in right.items():
                if key in merged:
                    raise dotnet_error("System.ArgumentException",
                                       "Item has already been added. Key in dictionary: '%s'  Key being added: '%s'"
                                       % (key, key))
                merged[key] = value
            return merged
    if left is None:
        left = v.Int32(0)
    if isinstance(left, (int, float)) and not isinstance(left, bool) or isinstance(left, bool):
        a = float(left) if isinstance(left, float) else int(left)
        b = _number(right)
        if isinstance(a, float) or isinstance(b, float) or op == "/":
            result = {"+": a + b, "-": a - b, "*": a * b, "/": (a / b) if b else None, "%": a % b if b else None}[op]
            if result is None:
                raise dotnet_error("System.DivideByZeroException", "Attempted to divide by zero.")
            if op == "/" and result == int(result) and not isinstance(a, float) and not isinstance(b, float):
                return v.integer(int(result))
            return float(result)
        if op == "%" and b == 0:
            raise dotnet_error("System.DivideByZeroException", "Attempted to divide by zero.")
        return v.integer({"+": a + b, "-": a - b, "*": a * b, "%": int(a - b * int(a / b)) if b else 0}[op])
    raise dotnet_error("System.Management.Automation.RuntimeException",
                       "Method invocation failed because [%s] does not contain a method named 'op_%s'."
                       % (v.type_name(left), {"+": "Addition", "-": "Subtraction", "*": "Multiply",
                                              "/": "Division", "%": "Modulus"}[op]))


def _number(value):
    if isinstance(value, float):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d*\.\d+\s*", value):
        return v.to_double(value)
    return int(v.to_integer(value, v.Int64))


# ---------------------------------------------------------------------------
# -f: .NET composite formatting
# ---------------------------------------------------------------------------
_ITEM = re.compile(r"\{(\d+)(?:,(-?\d+))?(?::([^}]*))?\}")


def format_string(template: str, args: list) -> str:
    """``String.Format``: ``{index[,alignment][:format]}``; ``{{`` and ``}}`` are braces. Integers take ``x``/``X``
    (hexadecimal of the value's own width), ``D``/``d`` and ``N0``; strings ignore a format."""
    out, i = [], 0
    while i < len(template):
        ch = template[i]
        if template.startswith("{{", i) or template.startswith("}}", i):
            out.append(ch)
            i += 2
            continue
        if ch == "{":
            m = _ITEM.match(template, i)
            if not m:
                raise dotnet_error("System.FormatException", "Input string was not in a correct format.")
            index = int(m.group(1))
            if index >= len(args):
                raise dotnet_error("System.FormatException", "Index (zero based) must be greater than or equal to "
                                                             "zero and less than the size of the argument list.")
            text = _format_one(args[index], m.group(3) or "")
            width = int(m.group(2) or 0)
            out.append(text.rjust(width) if width > 0 else text.ljust(-width))
            i = m.end()
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _format_one(value, spec: str) -> str:
    if not spec or not isinstance(value, (int, float, v.EnumValue)) or isinstance(value, bool):
        return v.to_string(value)
    number = value.value if isinstance(value, v.EnumValue) else value
    kind, digits = spec[0], spec[1:]
    width = int(digits) if digits.isdigit() else 0
    if kind in "xX" and isinstance(number, int):
        bits = value.BITS if isinstance(value, v._TypedInt) else 32
        text = "%x" % (int(number) & ((1 << bits) - 1))
        return (text.upper() if kind == "X" else text).rjust(width, "0")
    if kind in "dD" and isinstance(number, int):
        return ("-" if number < 0 else "") + str(abs(int(number))).rjust(width, "0")
    if kind in "nN" and width == 0:
        return f"{round(number):,}"
    from tests.lab.pwsh.errors import Unsupported

    raise Unsupported("the format string '{0:%s}'" % spec, 0)

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write and read ``.reg`` files: the collection's backups and what ``reg export`` or regedit write.

Pure Python, no Ansible imports.

The format is Microsoft's ("How to add, modify, or delete registry subkeys and values by using a
.reg file", KB 310516): a ``Windows Registry Editor Version 5.00`` header (``REGEDIT4`` for the
old ANSI form), ``[KEY]`` sections, ``"Name"=value`` lines, ``"Name"=-`` to delete a value and
``[-KEY]`` to delete a key, ``;`` comments, long ``hex:`` lines continued with a trailing ``\\``.

* ``reg export`` and regedit write UTF-16LE with a byte order mark, CRLF line ends.
* Our files are ASCII when everything in them is ASCII (they then read the same in every code
  page), else UTF-16LE with a BOM like ``reg export``'s. ``reg import`` reads both.

A value that did not exist before a change is recorded as ``"Name"=-``, which ``reg import``
deletes, so a restore gives back exactly the state before, absent values included.
"""

from __future__ import annotations

import codecs
import re

HEADER = "Windows Registry Editor Version 5.00"
HEADER_V4 = "REGEDIT4"
_WRAP = 78
# .reg type codes (hex(N)) and the registry types they stand for.
_HEX_TYPES = {"": "REG_BINARY", "0": "REG_NONE", "2": "REG_EXPAND_SZ", "7": "REG_MULTI_SZ", "b": "REG_QWORD"}


class RegFileError(ValueError):
    """Not a readable .reg file; the message names the line."""


def _quote(text: str) -> str:
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def _hex_lines(prefix: str, data: bytes) -> list:
    """``"Name"=hex:46,00,...`` wrapped with ``,\\`` the way regedit exports it."""
    pairs = ["%02x" % b for b in data]
    lines, line = [], prefix
    for index, pair in enumerate(pairs):
        piece = pair + ("," if index < len(pairs) - 1 else "")
        if len(line) + len(piece) > _WRAP:
            lines.append(line + "\\")
            line = "  "
        line += piece
    lines.append(line)
    return lines


def value_lines(name: str, data) -> list:
    """Lines of one value: bytes -> ``hex:``, None -> ``=-`` (delete), str -> REG_SZ, int -> dword."""
    head = "@=" if name == "" else _quote(name) + "="
    if data is None:
        return [head + "-"]
    if isinstance(data, bool):
        raise TypeError("a .reg value cannot be a boolean")
    if isinstance(data, int):
        return [head + "dword:%08x" % data]
    if isinstance(data, str):
        return [head + _quote(data)]
    return _hex_lines(head + "hex:", bytes(data))


def render_text(entries: list, comment: str = "") -> str:
    """The text of a .reg file.

    ``entries``: ``[{"key": "HKEY_USERS\\\\S-1-5-19\\\\...", "name": str, "data": bytes | str | int | None}]``
    (``data`` None deletes the value), grouped by key in the order given.
    """
    out = [HEADER, ""]
    for line in comment.splitlines():
        out.append(("; " + line).rstrip())
    if comment:
        out.append("")
    by_key: dict = {}
    for entry in entries:
        by_key.setdefault(entry["key"], []).append(entry)
    for key, items in by_key.items():
        out.append("[%s]" % key)
        for item in items:
            out.extend(value_lines(item["name"], item["data"]))
        out.append("")
    return "\r\n".join(out) + "\r\n"


def encode(text: str) -> bytes:
    """ASCII when possible, else UTF-16LE with a BOM (what ``reg export`` writes)."""
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def render(entries: list, comment: str = "") -> bytes:
    """The bytes of a .reg file (see :func:`render_text` and :func:`encode`)."""
    return encode(render_text(entries, comment))


def decode(data) -> str:
    """The text of a .reg file given as bytes in any encoding Windows writes (or as text already)."""
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    raw = bytes(data)
    if raw.startswith(codecs.BOM_UTF16_LE):
        return raw[2:].decode("utf-16-le", errors="strict")
    if raw.startswith(codecs.BOM_UTF16_BE):
        return raw[2:].decode("utf-16-be", errors="strict")
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8")
    if len(raw) > 1 and raw[1:2] == b"\x00":  # UTF-16LE without a BOM
        return raw.decode("utf-16-le")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # REGEDIT4 files are ANSI


_VALUE = re.compile(r'^("(?:[^"\\]|\\.)*"|@)=(.*)$', re.DOTALL)
_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"$', re.DOTALL)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _parse_data(number: int, name: str, data: str):
    low = data.lower()
    if data == "-":
        return None
    match = re.match(r"^hex(?:\(([0-9a-f]+)\))?:(.*)$", low, re.DOTALL)
    if match:
        digits = re.sub(r"[\s,]", "", match.group(2))
        try:
            raw = bytes.fromhex(digits)
        except ValueError:
            raise RegFileError("line %d: %r has bad hex data" % (number, name)) from None
        kind = _HEX_TYPES.get(match.group(1) or "")
        if kind in ("REG_BINARY", "REG_NONE"):
            return raw
        return {"type": kind or "hex(%s)" % match.group(1), "data": raw}
    if low.startswith("dword:"):
        try:
            return int(data[6:], 16)
        except ValueError:
            raise RegFileError("line %d: %r has a bad dword" % (number, name)) from None
    string = _STRING.match(data)
    if string:
        return _unquote(string.group(1))
    raise RegFileError("line %d: cannot read the value of %r" % (number, name))


def parse(data) -> dict:
    """Parse a .reg file into ``{key: {value_name: bytes | None | str | int | dict}}``.

    ``data`` is the file's bytes (UTF-16LE with BOM as ``reg export`` writes, UTF-8, ANSI) or text.
    ``hex:`` values are bytes, ``-`` is None (delete), strings are str, ``dword:`` an int, other
    ``hex(N):`` types ``{"type", "data"}``. A deleted key ``[-KEY]`` maps to None. Key names keep
    their spelling; the ``(Default)`` value is ``""``. Raises :class:`RegFileError` naming the line.
    """
    text = decode(data)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or lines[first].strip() not in (HEADER, HEADER_V4):
        raise RegFileError("line 1: not a .reg file (expected %r or %r)" % (HEADER, HEADER_V4))
    result: dict = {}
    key = None
    index = first + 1
    while index < len(lines):
        line = lines[index].strip()
        number = index + 1
        index += 1
        if not line or line.startswith(";"):
            continue
        while line.endswith("\\") and index < len(lines):
            line = line[:-1] + lines[index].strip()
            index += 1
        if line.startswith("[") and line.endswith("]"):
            key = line[1:-1]
            if key.startswith("-"):
                result[key[1:]] = None
                key = None
            else:
                if not isinstance(result.get(key), dict):
                    result[key] = {}
            continue
        match = _VALUE.match(line)
        if not match or key is None:
            raise RegFileError("line %d: cannot read %r" % (number, line[:60]))
        raw_name, value = match.group(1), match.group(2).strip()
        name = "" if raw_name == "@" else _unquote(raw_name[1:-1])
        result[key][name] = _parse_data(number, name, value)
    return result

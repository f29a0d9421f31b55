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


# How regedit reads a value line (Windows' regedit and reg import; Wine's programs/regedit/regproc.c, whose parser
# is readable, behaves the same): blanks around "=", a ";" comment after any value (string, dword, hex data, "-"),
# after the "\\" that continues hex data, and on lines between the continued hex lines. Lines it cannot read are
# skipped by regedit; here they are refused, naming the line: a restore never applies half of a file silently.
_NAME = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|@)\s*=\s*', re.DOTALL)
_ESCAPES = {"n": "\n", "r": "\r"}


def _unquote(text: str) -> str:
    """A quoted .reg string's content: ``\\\\``, ``\\"``, ``\\n`` and ``\\r`` (regedit's escapes); any other
    escaped character stands for itself."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def _rest_is_comment(rest: str) -> bool:
    """Nothing but blanks, or blanks and a ``;`` comment."""
    rest = rest.lstrip(" \t")
    return not rest or rest.startswith(";")


def _hex_bytes(number: int, name: str, lines: list, index: int, first: str) -> tuple:
    """(bytes, next line index) of ``hex:`` data starting with ``first``, continued with a trailing ``\\``."""
    out = bytearray()
    text = first
    while True:
        body = text.split(";", 1)[0].rstrip(" \t")  # hex data holds no ";": the rest is a comment
        more = body.endswith("\\")
        if more:
            body = body[:-1]
        items = [item.strip(" \t") for item in body.split(",")]
        if items and not items[-1]:
            items.pop()  # "46,00,\\": the comma before the continuation
        for item in items:
            if not re.fullmatch(r"[0-9A-Fa-f]{1,2}", item):
                raise RegFileError("line %d: %r has bad hex data (%r)" % (number, name, item[:20]))
            out.append(int(item, 16))
        if not more:
            return bytes(out), index
        # The data goes on: skip blank and comment lines, then the next line must start with a hex digit.
        while index < len(lines) and (not lines[index].strip() or lines[index].lstrip().startswith(";")):
            index += 1
        if index >= len(lines):
            return bytes(out), index
        text = lines[index].strip(" \t")
        if not re.match(r"[0-9A-Fa-f]", text):
            raise RegFileError("line %d: %r continues with %r, which is not hex data" % (index + 1, name, text[:20]))
        index += 1


def _parse_value(number: int, name: str, data: str, lines: list, index: int) -> tuple:
    """(value, next line index) of the data after ``=`` (see :func:`parse` for the value types)."""
    low = data.lower()
    if data.startswith("-"):
        if not _rest_is_comment(data[1:]):
            raise RegFileError("line %d: cannot read the value of %r" % (number, name))
        return None, index
    match = re.match(r"^hex(?:\(([0-9a-f]+)\))?:", low)
    if match:
        raw, index = _hex_bytes(number, name, lines, index, data[match.end():])
        kind = _HEX_TYPES.get(match.group(1) or "")
        if kind in ("REG_BINARY", "REG_NONE"):
            return raw, index
        return {"type": kind or "hex(%s)" % match.group(1), "data": raw}, index
    if low.startswith("dword:"):
        digits = re.match(r"^[ \t]*([0-9A-Fa-f]{1,8})(.*)$", data[6:], re.DOTALL)
        if not digits or not _rest_is_comment(digits.group(2)):
            raise RegFileError("line %d: %r has a bad dword" % (number, name))
        return int(digits.group(1), 16), index
    string = re.match(r'^"((?:[^"\\]|\\.)*)"(.*)$', data, re.DOTALL)
    if string and _rest_is_comment(string.group(2)):
        return _unquote(string.group(1)), index
    raise RegFileError("line %d: cannot read the value of %r" % (number, name))


def parse(data) -> dict:
    """Parse a .reg file into ``{key: {value_name: bytes | None | str | int | dict}}``.

    ``data`` is the file's bytes (UTF-16LE with BOM as ``reg export`` writes, UTF-8, ANSI) or text.
    ``hex:`` values are bytes, ``-`` is None (delete), strings are str, ``dword:`` an int, other
    ``hex(N):`` types ``{"type", "data"}``. A deleted key ``[-KEY]`` maps to None. Key names keep
    their spelling; the ``(Default)`` value is ``""``. Comments are read as regedit reads them (see
    ``_NAME``). Raises :class:`RegFileError` naming the line.
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
        if line.startswith("["):
            end = line.rfind("]")  # regedit takes the key up to the last "]"
            if end < 0:
                raise RegFileError("line %d: cannot read %r" % (number, line[:60]))
            key = line[1:end]
            if key.startswith("-"):
                result[key[1:]] = None
                key = None
            elif not isinstance(result.get(key), dict):
                result[key] = {}
            continue
        match = _NAME.match(line)
        if not match or key is None:
            raise RegFileError("line %d: cannot read %r" % (number, line[:60]))
        raw_name = match.group(1)
        name = "" if raw_name == "@" else _unquote(raw_name[1:-1])
        result[key][name], index = _parse_value(number, name, line[match.end():], lines, index)
    return result

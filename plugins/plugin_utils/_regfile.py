# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write and read the ``.reg`` backup files of the WinINet values.

A backup is a plain ``Windows Registry Editor Version 5.00`` file, ASCII with
CRLF line ends, that ``reg.exe import`` (or a double click) restores on the
host. A value that did not exist before the change is recorded as
``"Name"=-``, which ``reg import`` deletes, so a restore gives back exactly the
state before, absent values included.
"""

from __future__ import annotations

import re

HEADER = "Windows Registry Editor Version 5.00"
_BYTES_PER_LINE = 25


def _hex_lines(name: str, data: bytes) -> str:
    """Format like regedit's export: ``"Name"=hex:46,00,...`` wrapped with ``,\\``."""
    pairs = ["%02x" % b for b in data]
    prefix = '"%s"=hex:' % name
    if not pairs:
        return prefix
    lines, line = [], prefix
    for index, pair in enumerate(pairs):
        piece = pair + ("," if index < len(pairs) - 1 else "")
        if len(line) + len(piece) > 78:
            lines.append(line + "\\")
            line = "  "
        line += piece
    lines.append(line)
    return "\r\n".join(lines)


def render(entries: list, comment: str = "") -> str:
    """Render a backup.

    ``entries``: list of ``{"key": "HKEY_USERS\\\\S-1-5-19\\\\...", "name": str, "data": bytes | None}``;
    ``data`` None means the value did not exist.
    """
    out = [HEADER, ""]
    for line in comment.splitlines():
        out.append("; " + line)
    if comment:
        out.append("")
    by_key = {}
    for entry in entries:
        by_key.setdefault(entry["key"], []).append(entry)
    for key, items in by_key.items():
        out.append("[%s]" % key)
        for item in items:
            if item["data"] is None:
                out.append('"%s"=-' % item["name"])
            else:
                out.append(_hex_lines(item["name"], item["data"]))
        out.append("")
    return "\r\n".join(out) + "\r\n"


class RegFileError(ValueError):
    pass


_VALUE = re.compile(r'^"((?:[^"\\]|\\.)*)"=(.*)$', re.DOTALL)


def parse(text: str) -> dict:
    """Parse a ``.reg`` file into ``{key: {value_name: bytes | None | str}}``.

    Only what our backups contain is interpreted: ``hex:`` binaries, ``-``
    deletions and ``"..."`` strings; other value types are returned as the raw
    text after ``=``. Raises :class:`RegFileError` naming the line.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines or lines[0].strip() not in (HEADER, "REGEDIT4"):
        raise RegFileError("line 1: not a .reg file (expected %r)" % HEADER)
    result: dict = {}
    key = None
    index = 1
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
            result.setdefault(key, {})
            continue
        match = _VALUE.match(line)
        if not match or key is None:
            raise RegFileError("line %d: cannot read %r" % (number, line[:60]))
        name, data = match.group(1).replace('\\"', '"').replace("\\\\", "\\"), match.group(2).strip()
        if data == "-":
            result[key][name] = None
        elif data.lower().startswith("hex:"):
            digits = re.sub(r"[\s,]", "", data[4:])
            try:
                result[key][name] = bytes.fromhex(digits)
            except ValueError:
                raise RegFileError("line %d: %r has bad hex data" % (number, name)) from None
        elif data.startswith('"') and data.endswith('"'):
            result[key][name] = data[1:-1]
        else:
            result[key][name] = data
    return result

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's own reader of .reg files, as reg.exe import applies them (TEST ONLY).

Independent of the collection's ``plugins/plugin_utils/_host/_regfile.py`` on purpose: the stand-in for
``reg import`` must not share the code it is used to test. No imports, so unit tests can load it by path.
"""

import re


def parse_reg_file(text):
    """[(key path, name, type, data)] from a .reg file: the subset reg_line writes, plus the deletions
    regedit's format defines and reg.exe import honours: ``[-KEY]`` removes the key tree (type
    ``DELETE_KEY``) and ``"Name"=-`` removes the value (type ``DELETE``); deleting what is not there is no error."""
    text = re.sub(r"\\\r?\n\s*", "", text.lstrip("\ufeff"))
    entries, key = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";") or line.startswith("Windows Registry Editor"):
            continue
        if line.startswith("[-") and line.endswith("]"):
            key = None  # values after a deleted key have no key to go to
            entries.append((line[2:-1], None, "DELETE_KEY", None))
            continue
        if line.startswith("[") and line.endswith("]"):
            key = line[1:-1]
            entries.append((key, None, None, None))
            continue
        m = re.match(r'^(@|"((?:[^"\\]|\\.)*)")=(.*)$', line)
        if not m or key is None:
            raise ValueError(line)
        name = "" if m.group(1) == "@" else m.group(2).replace('\\"', '"').replace("\\\\", "\\")
        data = m.group(3)
        if data == "-":
            entries.append((key, name, "DELETE", None))
        elif data.startswith('"'):
            entries.append((key, name, "REG_SZ", data[1:-1].replace('\\"', '"').replace("\\\\", "\\")))
        elif data.startswith("dword:"):
            entries.append((key, name, "REG_DWORD", int(data[6:], 16)))
        else:
            hm = re.match(r"^hex(?:\(([0-9a-f]+)\))?:(.*)$", data, re.I)
            if not hm:
                raise ValueError(line)
            raw = bytes(int(x, 16) for x in hm.group(2).split(",") if x.strip())
            code = (hm.group(1) or "3").lower()
            if code == "b":
                entries.append((key, name, "REG_QWORD", int.from_bytes(raw, "little")))
            elif code == "2":
                entries.append((key, name, "REG_EXPAND_SZ", raw.decode("utf-16-le").rstrip("\0")))
            elif code == "7":
                entries.append((key, name, "REG_MULTI_SZ", [s for s in raw.decode("utf-16-le").split("\0") if s]))
            else:
                entries.append((key, name, "REG_NONE" if code == "0" else "REG_BINARY", raw.hex()))
    return entries

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_find (TEST ONLY). Mirrors plugins/modules/win_find.ps1:
``examined``/``matched``/``files`` (line 46-48, sorted by path at line 462), ``patterns`` as
case-insensitive wildcards on the file name (``use_regex`` for regexes), ``recurse``, ``file_type``,
``get_checksum`` (sha1). Each file dict has the keys of the RETURN ``files`` docs.
Approximate: ``age``/``size``/``hidden`` filters are not supported; ``owner`` is fixed (BUILTIN\\Administrators);
times are the host file system's.
"""

DOCUMENTATION = r"""
---
module: win_find
short_description: Lab stand-in for ansible.windows.win_find (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

import fnmatch
import hashlib
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context


def describe(st, host, local, get_checksum):
    stat = local.stat()
    is_dir = local.is_dir()
    info = {
        "attributes": "Directory" if is_dir else "Archive",
        "creationtime": stat.st_ctime, "lastaccesstime": stat.st_atime, "lastwritetime": stat.st_mtime,
        "exists": True, "filename": local.name, "hlnk_targets": [], "isarchive": not is_dir, "isdir": is_dir,
        "ishidden": False, "isjunction": False, "islnk": False, "isreadonly": False, "isreg": not is_dir,
        "isshared": False, "nlink": 1, "owner": "BUILTIN\\Administrators",
        "path": st.local_to_win(host.fs_root, local),
    }
    if not is_dir:
        info["extension"] = local.suffix
        info["size"] = stat.st_size
        if get_checksum:
            info["checksum"] = hashlib.sha1(local.read_bytes()).hexdigest()
    return info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="str", required=True),
            patterns=dict(type="list", elements="str", aliases=["regex", "regexp"]),
            use_regex=dict(type="bool", default=False),
            recurse=dict(type="bool", default=False),
            file_type=dict(type="str", default="file", choices=["directory", "file"]),
            get_checksum=dict(type="bool", default=True),
            checksum_algorithm=dict(type="str", default="sha1"),
            hidden=dict(type="bool", default=False),
            follow=dict(type="bool", default=False),
            depth=dict(type="int"),
            age=dict(type="str"), age_stamp=dict(type="str", default="mtime"),
            size=dict(type="str"), excludes=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    st, host, account = context(module)
    files, examined = [], 0
    for path in p["paths"]:
        root = host.path(path)
        if not root.is_dir():
            continue
        entries = sorted(root.rglob("*") if p["recurse"] else root.iterdir())
        for entry in entries:
            examined += 1
            if (p["file_type"] == "file") != entry.is_file():
                continue
            if p["patterns"]:
                if p["use_regex"]:
                    ok = any(re.search(pat, entry.name) for pat in p["patterns"])
                else:
                    ok = any(fnmatch.fnmatch(entry.name.lower(), pat.lower()) for pat in p["patterns"])
                if not ok:
                    continue
            files.append(describe(st, host, entry, p["get_checksum"]))
    files.sort(key=lambda f: f["path"])
    module.exit_json(changed=False, examined=examined, matched=len(files), files=files)


if __name__ == "__main__":
    main()

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_stat (TEST ONLY). Mirrors plugins/modules/win_stat.ps1:

* options ``path`` (aliases ``dest``/``name``), ``get_checksum`` (default true), ``get_size`` (default true),
  ``checksum_algorithm`` (md5, sha1 default, sha256, sha384, sha512), ``follow`` (lines 60-68);
* a missing path gives ``stat: {exists: false}`` and nothing else (line 79), never a failure;
* an existing one: the keys always set at lines 96-119 (``attributes``, ``isarchive``, ``isdir``,
  ``ishidden``, ``isjunction``, ``islnk``, ``isreadonly``, ``isreg``, ``isshared``, ``nlink``,
  ``hlnk_targets``, ``creationtime``/``lastaccesstime``/``lastwritetime`` as float seconds since the
  epoch, ``path`` = FullName, ``filename`` = Name, also for a directory) plus ``owner`` (line 121);
* a directory: ``isdir``, ``size`` = sum of the file lengths below it when ``get_size`` (lines 131-148);
* a file: ``extension``, ``isreg``, lower-case hex ``checksum`` when ``get_checksum`` (lines 150-162),
  ``size`` = length when ``get_size``.
Check mode is supported and changes nothing (``changed: false``).
Approximate: no links, shares, ACLs or attributes (``owner`` is BUILTIN\\Administrators, ``attributes``
``Archive`` or ``Directory``); times come from the lab host's file system.
"""

DOCUMENTATION = r"""
---
module: win_stat
short_description: Lab stand-in for ansible.windows.win_stat (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context


def checksum(local, algorithm):
    digest = hashlib.new(algorithm)
    with open(local, "rb") as handle:
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="str", required=True, aliases=["dest", "name"]),
            get_checksum=dict(type="bool", default=True),
            get_size=dict(type="bool", default=True),
            checksum_algorithm=dict(type="str", default="sha1", choices=["md5", "sha1", "sha256", "sha384", "sha512"]),
            follow=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    st, host, account = context(module)
    try:
        local = host.path(os.path.expandvars(p["path"]))
    except st.LabError as exc:
        module.fail_json(msg=str(exc))
    if not local.exists():
        module.exit_json(changed=False, stat={"exists": False})
    info = local.stat()
    is_dir = local.is_dir()
    stat = {
        "exists": True,
        "attributes": "Directory" if is_dir else "Archive",
        "isarchive": not is_dir,
        "isdir": is_dir,
        "ishidden": False,
        "isjunction": False,
        "islnk": False,
        "isreadonly": False,
        "isreg": False,
        "isshared": False,
        "nlink": 1,
        "hlnk_targets": [],
        "creationtime": float(info.st_ctime),
        "lastaccesstime": float(info.st_atime),
        "lastwritetime": float(info.st_mtime),
        "path": st.local_to_win(host.fs_root, local),
        "filename": local.name,
        "owner": host.security(p["path"])["owner"],
    }
    if is_dir:
        if p["get_size"]:
            stat["size"] = sum(f.stat().st_size for f in local.rglob("*") if f.is_file())
    else:
        stat["extension"] = local.suffix
        stat["isreg"] = True
        if p["get_checksum"]:
            stat["checksum"] = checksum(local, p["checksum_algorithm"])
        if p["get_size"]:
            stat["size"] = info.st_size
    module.exit_json(changed=False, stat=stat)


if __name__ == "__main__":
    main()

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for the ansible.windows.win_copy MODULE (TEST ONLY), driven by the REAL action plugin.

The lab copies the real plugins/action/win_copy.py into its stand-in collection at setup time; that
action calls this module with ``_copy_mode``:
* ``query`` (win_copy.ps1 lines 269-323): returns ``files``/``directories``/``symlinks`` that need
  copying, comparing sha1 checksums when ``force``;
* ``single`` (win_copy.ps1 lines 427-461): copies the transferred ``src`` (a path on this machine, in
  Ansible's remote tmp) to the emulated ``dest``; creates the parent only when dest names a directory,
  else fails "Destination directory '<parent>' does not exist";
* ``explode`` (win_copy.ps1 lines 183-224 and 324-349, Expand-Zip): the action zipped several files
  with base64-encoded entry names; each is extracted under ``dest`` (missing folders created,
  existing files overwritten: ``ExtractToFile(..., $true)``), ``changed`` is always true;
* ``remote`` (``remote_src: true``; the action runs only this, win_copy.py lines 387-401; win_copy.ps1 lines
  351-426 with Copy-File lines 46-103 and Copy-Folder lines 105-134): ``src`` and ``dest`` are paths on the
  emulated host. A missing ``src`` fails "Cannot copy src file: '<src>' as it does not exist". A file: ``dest``
  ending in a separator, or an existing folder, gets the file's name appended; a missing parent fails
  "Destination directory '<parent>' does not exist" when ``dest`` named the file itself (else it is created), a
  parent that is a file "object at destination parent dir '<parent>' is currently a file", a ``dest`` that is a
  folder "cannot copy file from '<src>' to '<dest>': dest is already a folder". With ``force`` (the default) the
  SHA-1 of both decides: equal means no copy and ``changed: false``; otherwise the old file is removed (a file
  another process holds open, ``system_state.hold_file``, cannot be: Remove-Item fails under the module's
  ``$ErrorActionPreference = 'Stop'`` with "Cannot remove item <dest>: The process cannot access the file
  '<dest>' because it is being used by another process." and nothing changes) and ``Copy-Item`` writes the exact
  bytes (a new file: its owner is the connection user's, as for any file it
  creates). Returns ``src``, ``dest`` (the final path), ``operation: file_copy``, ``original_basename``,
  ``checksum`` (the SHA-1 of ``src``; null without ``force``), ``size``, and with ``--diff`` ``diff.prepared``
  (``+<dir>\\``, ``-<dest>``, ``+<dest>`` lines). A folder: ``operation: folder_copy``, its contents
  (``src`` ending in a separator) or the folder itself into ``dest``, file by file as above. Check mode
  (``-WhatIf``) copies nothing but reports the same ``changed``; ``backup`` writes ``<dest>.<pid>.<timestamp>.bak``.
A write the connection user may not make (a protected folder, when the lab's ``not_admin`` fault is
on) fails as the unhandled .NET UnauthorizedAccessException does: "Unhandled exception while executing
module: Access to the path '<path>' is denied." (the PowerShell exec wrapper's wording).
Approximate: ``backup`` writes ``<dest>.<pid>.<timestamp>.bak`` like Backup-File; no links or file attributes.
"""

DOCUMENTATION = r"""
---
module: win_copy
short_description: Lab stand-in for ansible.windows.win_copy (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

import base64
import hashlib
import os
import shutil
import time
import zipfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context


def join(dest, name):
    return dest.rstrip("\\/") + "\\" + name


def denied(module, host, win_path, result):
    module.fail_json(msg="Unhandled exception while executing module: Access to the path '%s' is denied." % win_path,
                     **result)


def explode(module, host, src, dest, result):
    if not src or not os.path.isfile(src):
        module.fail_json(msg="Cannot expand src zip file: '%s' as it does not exist" % src, **result)
    with zipfile.ZipFile(src) as archive:
        for entry in archive.infolist():
            name = entry.filename.rstrip("/\\")
            relative = base64.b64decode(name).decode("utf-8").replace("/", "\\")
            target = join(dest, relative)
            if not host.can_write(target):
                denied(module, host, target, result)
            local = host.path(target)
            if entry.is_dir():
                local.mkdir(parents=True, exist_ok=True)
                continue
            if not module.check_mode:
                local.parent.mkdir(parents=True, exist_ok=True)
                new = not local.exists()
                local.write_bytes(archive.read(entry))
                if new:
                    host.set_security(target, owner=host.connection_owner())
    result["changed"] = True
    module.exit_json(**result)


def sha1(local):
    return hashlib.sha1(local.read_bytes()).hexdigest()


def copy_file(module, host, source, dest, result):
    """Copy-File (win_copy.ps1 lines 46-103): (diff text, source checksum)."""
    diff = ""
    source_checksum = sha1(host.path(source)) if module.params["force"] else None
    target = host.path(dest)
    if target.is_dir():
        module.fail_json(msg="cannot copy file from '%s' to '%s': dest is already a folder" % (source, dest), **result)
    if target.is_file():
        copy = bool(module.params["force"]) and sha1(target) != source_checksum
    else:
        copy = True
    if copy:
        file_dir = dest.rstrip("\\").rsplit("\\", 1)[0]
        if host.path(file_dir).is_file():
            module.fail_json(msg="cannot copy file from '%s' to '%s': object at dest parent dir is not a folder"
                                 % (source, dest), **result)
        if not host.path(file_dir).exists():
            if not module.check_mode:
                host.path(file_dir).mkdir(parents=True)
            diff += "+%s\\\n" % file_dir
        if not host.can_write(dest):
            denied(module, host, dest, result)
        if module.params["backup"] and target.is_file():
            backup = "%s.%d.%s.bak" % (dest, os.getpid(), time.strftime("%Y%m%d-%H%M%S"))
            if not module.check_mode:
                shutil.copy2(target, host.path(backup))
            result["backup_file"] = backup
        if target.is_file():
            from tests.lab import system_state  # importable once context() has put the checkout on sys.path

            holder = system_state.lock_holder(host, dest)
            if holder and not module.check_mode:  # Remove-Item under the module's $ErrorActionPreference Stop
                module.fail_json(msg="Unhandled exception while executing module: Cannot remove item %s: The process "
                                     "cannot access the file '%s' because it is being used by another process."
                                 % (dest, dest), **result)
            if not module.check_mode:
                target.unlink()
                with host.transaction() as state:
                    host.forget_security(dest, state)
            diff += "-%s\n" % dest
        if not module.check_mode:
            target.write_bytes(host.path(source).read_bytes())
            host.set_security(dest, owner=host.connection_owner())
        diff += "+%s\n" % dest
        result["changed"] = True
    return diff, source_checksum


def copy_folder(module, host, source, dest, result):
    """Copy-Folder (win_copy.ps1 lines 105-134)."""
    diff = ""
    if not host.path(dest).is_dir():
        parent = dest.rstrip("\\").rsplit("\\", 1)[0]
        if host.path(parent).is_file():
            module.fail_json(msg="cannot copy file from '%s' to '%s': object at dest parent dir is not a folder"
                                 % (source, dest), **result)
        if host.path(dest).is_file():
            module.fail_json(msg="cannot copy folder from '%s' to '%s': dest is already a file" % (source, dest),
                             **result)
        if not module.check_mode:
            host.path(dest).mkdir(parents=True)
        diff += "+%s\\\n" % dest
        result["changed"] = True
    for child in sorted(host.path(source).iterdir()):
        if child.name.startswith(".atp-lab-"):
            continue
        diff += copy_child(module, host, join(source, child.name), join(dest, child.name), result)
    return diff


def copy_child(module, host, source, dest, result):
    if host.path(source).is_dir():
        return copy_folder(module, host, source, dest, result)
    return copy_file(module, host, source, dest, result)[0]


def size_of(local):
    if local.is_file():
        return local.stat().st_size
    return sum(f.stat().st_size for f in local.rglob("*") if f.is_file() and not f.name.startswith(".atp-lab-"))


def remote(module, host, result):
    """``_copy_mode=remote`` (win_copy.ps1 lines 351-426)."""
    src, dest = module.params["src"], module.params["dest"]
    result.update(src=src, dest=dest)
    if not src or not host.path(src).exists():
        module.fail_json(msg="Cannot copy src file: '%s' as it does not exist" % src, **result)
    remote_dest = dest
    local = host.path(src)
    if local.is_dir():
        result["operation"] = "folder_copy"
        if src.endswith(("/", "\\")):
            diff = ""
            for child in sorted(local.iterdir()):
                if not child.name.startswith(".atp-lab-"):
                    diff += copy_child(module, host, join(src, child.name), join(dest, child.name), result)
        else:
            remote_dest = join(dest, local.name)
            result["dest"] = remote_dest
            diff = copy_folder(module, host, src, remote_dest, result)
    else:
        result["operation"] = "file_copy"
        result["original_basename"] = local.name
        if dest.endswith(("/", "\\")) or host.path(dest).is_dir():
            remote_dest = join(dest, local.name)
        result["dest"] = remote_dest
        parent = remote_dest.rstrip("\\").rsplit("\\", 1)[0]
        if host.path(parent).is_file():
            module.fail_json(msg="object at destination parent dir '%s' is currently a file" % parent, **result)
        if not host.path(parent).is_dir():
            if dest == remote_dest:
                module.fail_json(msg="Destination directory '%s' does not exist" % parent, **result)
            host.path(parent).mkdir(parents=True)
        diff, result["checksum"] = copy_file(module, host, src, remote_dest, result)
    target = host.path(remote_dest)
    result["size"] = size_of(target) if (not module.check_mode or target.is_file()) else None
    if module._diff:
        result["diff"]["prepared"] = diff
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            _copy_mode=dict(type="str", default="single", choices=["explode", "query", "remote", "single"]),
            src=dict(type="str"), dest=dict(type="str", required=True), backup=dict(type="bool", default=False),
            _original_basename=dict(type="str"), force=dict(type="bool", default=True),
            files=dict(type="list"), directories=dict(type="list"), symlinks=dict(type="list"),
            content=dict(type="str", no_log=True), decrypt=dict(type="bool", default=True),
            local_follow=dict(type="bool", default=True), remote_src=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    st, host, account = context(module)
    result = {"changed": False}
    if module._diff:
        result["diff"] = {}
    dest = p["dest"]
    mode = p["_copy_mode"]
    if mode == "query":
        changed_files, changed_dirs = [], []
        for f in p["files"] or []:
            target = host.path(join(dest, f["dest"]))
            if target.is_dir():
                module.fail_json(msg="cannot copy file to dest '%s': object at path is already a directory"
                                     % join(dest, f["dest"]), **result)
            if target.is_file():
                if p["force"] and hashlib.sha1(target.read_bytes()).hexdigest() != f.get("checksum"):
                    changed_files.append(f)
            else:
                changed_files.append(f)
        for d in p["directories"] or []:
            if not host.path(join(dest, d["dest"])).is_dir():
                changed_dirs.append(d)
        module.exit_json(files=changed_files, directories=changed_dirs, symlinks=[], **result)
    if mode == "explode":
        explode(module, host, p["src"], dest, result)
    if mode == "remote":
        remote(module, host, result)
    src = p["src"]
    if not src or not os.path.isfile(src):
        module.fail_json(msg="Cannot copy src file: '%s' as it does not exist" % src, **result)
    remote_dest = dest
    if dest.endswith(("/", "\\")) or host.path(dest).is_dir():
        remote_dest = join(dest, p["_original_basename"])
    parent = remote_dest.rstrip("\\").rsplit("\\", 1)[0]
    local_parent = host.path(parent)
    if local_parent.is_file():
        module.fail_json(msg="object at destination parent dir '%s' is currently a file" % parent, **result)
    if not local_parent.is_dir():
        if dest == remote_dest:
            module.fail_json(msg="Destination directory '%s' does not exist" % parent, **result)
        local_parent.mkdir(parents=True)
    if not host.can_write(remote_dest):
        denied(module, host, remote_dest, result)
    target = host.path(remote_dest)
    if p["backup"] and target.is_file():
        backup = "%s.%d.%s.bak" % (remote_dest, os.getpid(), time.strftime("%Y%m%d-%H%M%S"))
        shutil.copy2(target, host.path(backup))
        result["backup_file"] = backup
    shutil.copyfile(src, target)
    result["changed"] = True
    module.exit_json(**result)


if __name__ == "__main__":
    main()

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups on the host: where they go, how they are protected, and which ones a restore may trust.

Pure logic; remote calls go through an injected executor (:mod:`_host._remote`).

Layout: every change gets its own folder under the backup directory::

    C:\\ProgramData\\atp.sensor_proxy\\backups\\atp_proxy_20261201T081500123456Z\\
        before.reg   the previous value of everything the change touches ("Name"=- for absent values);
                     ``reg import before.reg`` on the host puts it all back
        after.reg    what the change wrote (it is what ``reg import`` applied)

A restore backs up what it replaces too, into a folder named ``atp_proxy_<stamp>_restore``: so it can be undone
(name that ``before.reg`` as the backup to restore), and the default choice of a restore, the newest backup,
skips it. Otherwise a second restore would take the first one's backup, the configured values, and undo it.

**Trust.** ``C:\\ProgramData`` lets ``BUILTIN\\Users`` create folders and files, so a file in a
backup folder proves nothing by itself. Two things make a backup trustworthy:

1. The backup directory is secured when the collection first writes to it: owner
   ``BUILTIN\\Administrators``, explicit full control for SYSTEM and Administrators only, and
   inheritance removed (``win_owner``, ``win_acl`` twice, ``win_acl_inheritance`` with
   ``reorganize: false``, which drops the inherited entries instead of copying them). Each module
   must succeed before anything is written. No ``ansible.windows`` module reads a DACL back, so the
   check is that each of them succeeded; the manifest then records the folder as secured.
2. A **manifest** under ``HKLM\\SOFTWARE\\atp.sensor_proxy\\Backups`` holds the SHA-256 of every
   ``before.reg`` the collection wrote. ``HKLM\\SOFTWARE`` only lets administrators and SYSTEM
   create values (Users may read), so nobody else can add an entry. The manifest is written by
   the same ``reg import`` that applies the change, so an entry exists exactly when the change ran.

A restore of "the newest backup" only considers manifest entries and checks the file's hash. A
file named explicitly (``backup_file``, for example a ``reg export`` an administrator made) is
used when it is in the manifest with the right hash, or when its owner is Administrators or
SYSTEM; anything else is refused, naming the owner.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import Disconnected, RemoteError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote

DEFAULT_BACKUP_DIR = "C:\\ProgramData\\atp.sensor_proxy\\backups"
DEFAULT_KEEP = 10
MANIFEST_PATH = "HKLM:\\SOFTWARE\\atp.sensor_proxy\\Backups"
MANIFEST_REG_KEY = "HKEY_LOCAL_MACHINE\\SOFTWARE\\atp.sensor_proxy\\Backups"
FOLDER_PREFIX = "atp_proxy_"
BEFORE = "before.reg"
AFTER = "after.reg"
HASH_PREFIX = "sha256:"
SECURED = "secured-folder"
RESTORE = "restore"  # the kind of a backup a restore wrote: its folder ends with _restore
RESTORE_SUFFIX = "_" + RESTORE
_STAMP = re.compile(r"atp_proxy_(\d{8}T\d{6}\d*Z)", re.IGNORECASE)

# Owners a restore accepts for a backup file that is not in the manifest. win_stat returns the
# owner as an account name (win_stat.ps1: $acl.Owner), in the language of the host; these are the
# English names, plus the SIDs, so that a German "VORDEFINIERT\\Administratoren" is refused, not
# guessed (the operator then adds the file to the manifest by restoring it through a trusted copy).
TRUSTED_OWNERS = ("builtin\\administrators", "nt authority\\system", accounts.ADMINISTRATORS_SID.lower(),
                  accounts.SYSTEM.sid.lower())


def stamp(now: datetime.datetime | None = None) -> str:
    now = now or datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 (python 3.10)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def folder_for(backup_dir: str, when: str, kind: str = "") -> str:
    """The folder of one backup; ``kind`` :data:`RESTORE` marks one a restore wrote (``..._restore``)."""
    return "%s\\%s%s%s" % (backup_dir.rstrip("\\"), FOLDER_PREFIX, when, RESTORE_SUFFIX if kind == RESTORE else "")


def sha256(data: bytes) -> str:
    return HASH_PREFIX + hashlib.sha256(data).hexdigest()


def _norm(path: str) -> str:
    return path.rstrip("\\").lower()


@dataclass
class Entry:
    path: str  # the before.reg
    digest: str

    @property
    def folder(self) -> str:
        return self.path.rsplit("\\", 1)[0]

    @property
    def when(self) -> str:
        match = _STAMP.search(self.path)
        return match.group(1).upper() if match else ""

    @property
    def by_restore(self) -> bool:
        """Written by a restore (what it replaced), not before a change by configure."""
        return self.folder.lower().endswith(RESTORE_SUFFIX)


@dataclass
class Manifest:
    exists: bool = False
    entries: list = field(default_factory=list)  # [Entry], oldest first
    secured: set = field(default_factory=set)  # normalized folder paths
    # Other files the collection backed up (a sensor's SensorConfiguration.json, :mod:`_sensor._change`), oldest first:
    # the same trust (name = the backup's path, data = its SHA-256), but not a .reg a WinINet restore can apply.
    files: list = field(default_factory=list)

    def in_dir(self, backup_dir: str) -> list:
        base = _norm(backup_dir) + "\\"
        return [e for e in self.entries if e.path.lower().startswith(base)]

    def newest(self, backup_dir: str | None = None, restores: bool = False) -> Entry | None:
        """The newest backup (of ``backup_dir``) written before a change; ``restores`` counts a restore's too."""
        entries = self.in_dir(backup_dir) if backup_dir else self.entries
        entries = [e for e in entries if restores or not e.by_restore]
        return entries[-1] if entries else None

    def lookup(self, path: str) -> Entry | None:
        return next((e for e in self.entries + self.files if e.path.lower() == path.lower()), None)

    def is_secured(self, backup_dir: str) -> bool:
        return _norm(backup_dir) in self.secured

    def to_result(self) -> list:
        return [{"path": e.path, "sha256": e.digest[len(HASH_PREFIX):]} for e in self.entries]


def read_manifest(execute) -> Manifest:
    """The manifest, read on its own (one state query)."""
    return manifest_from(remote.read_state(execute, [MANIFEST_PATH]).key(MANIFEST_PATH))


def manifest_from(key) -> Manifest:
    """The manifest from its registry key (a ``_remote.KeyRead``)."""
    manifest = Manifest(exists=key.exists)
    for value in key.values.values():
        data = str(value.value or "") if value.data is None else ""
        if data == SECURED:
            manifest.secured.add(_norm(value.name))
        elif data.startswith(HASH_PREFIX) and value.name.lower().endswith("\\" + BEFORE):
            manifest.entries.append(Entry(value.name, data))
        elif data.startswith(HASH_PREFIX):
            manifest.files.append(Entry(value.name, data))
    manifest.entries.sort(key=lambda e: (e.when, e.path.lower()))
    manifest.files.sort(key=lambda e: (e.when, e.path.lower()))
    return manifest


def manifest_lines(new_entry: Entry | None, secured_dir: str | None, pruned: list) -> list:
    """The .reg entries that record a new backup (and a newly secured folder) and forget pruned ones."""
    out = []
    if secured_dir:
        out.append({"key": MANIFEST_REG_KEY, "name": secured_dir.rstrip("\\"), "data": SECURED})
    if new_entry is not None:
        out.append({"key": MANIFEST_REG_KEY, "name": new_entry.path, "data": new_entry.digest})
    for entry in pruned:
        out.append({"key": MANIFEST_REG_KEY, "name": entry.path, "data": None})
    return out


def to_prune(manifest: Manifest, backup_dir: str, keep: int, kind: str = "") -> list:
    """The manifest entries of ``backup_dir`` beyond the newest ``keep - 1`` of the new backup's ``kind`` (a new one
    is about to join): a restore's backups (``RESTORE``) and a change's are kept apart, so that restores and undos
    never push out the backups of the changes a plain restore puts back."""
    entries = [e for e in manifest.in_dir(backup_dir) if e.by_restore == (kind == RESTORE)]
    excess = len(entries) + 1 - max(int(keep), 1)
    return entries[:excess] if excess > 0 else []


def secure_calls(backup_dir: str) -> list:
    """The module calls that create and secure the backup directory (see the module docstring)."""
    path = backup_dir.rstrip("\\")
    full = {"rights": "FullControl", "type": "allow", "state": "present",
            "inherit": "ContainerInherit, ObjectInherit", "propagation": "None"}
    return [
        ("ansible.windows.win_file", {"path": path, "state": "directory"}),
        ("ansible.windows.win_owner", {"path": path, "user": accounts.ADMINISTRATORS_SID}),
        ("ansible.windows.win_acl", dict(full, path=path, user=accounts.SYSTEM.sid)),
        ("ansible.windows.win_acl", dict(full, path=path, user=accounts.ADMINISTRATORS_SID)),
        ("ansible.windows.win_acl_inheritance", {"path": path, "state": "absent", "reorganize": False}),
    ]


def secure(execute, backup_dir: str) -> None:
    """Create and secure the backup directory; raises RemoteError on the first module that fails."""
    for module, args in secure_calls(backup_dir):
        remote.call(execute, module, args)


def trust(manifest: Manifest, path: str, content: bytes, owner: str | None) -> tuple:
    """(trusted, why) for a backup file a restore is about to use."""
    entry = manifest.lookup(path)
    if entry is not None:
        if entry.digest == sha256(content):
            return True, "listed in the manifest with this SHA-256"
        return False, ("%s was changed after atp.sensor_proxy wrote it: its SHA-256 is not the one in %s"
                       % (path, MANIFEST_PATH))
    if owner and owner.strip().lower() in TRUSTED_OWNERS:
        return True, "owned by %s" % owner
    return False, ("%s is not a backup atp.sensor_proxy wrote (it is not in %s) and its owner is %s, not "
                   "BUILTIN\\Administrators or SYSTEM: a local user may have planted it. Check it, then have an "
                   "administrator take ownership (icacls \"%s\" /setowner Administrators) to restore it."
                   % (path, MANIFEST_PATH, owner or "unknown", path))


def delete_old(execute, backups: list, warnings: list) -> list:
    """Delete old backups: ``backups`` is ``[(label, [paths])]``, each path deleted with one ``win_file``
    ``state: absent``. Returns the labels deleted; a failure is a warning (the change itself is done), and a
    dropped connection stops here with one."""
    deleted = []
    for label, paths in backups:
        try:
            for path in paths:
                remote.call(execute, "ansible.windows.win_file", {"path": path, "state": "absent"})
            deleted.append(label)
        except RemoteError as exc:
            warnings.append("could not delete the old backup %s: %s" % (label, exc.remote_msg))
        except Disconnected:
            warnings.append("the connection dropped while deleting old backups; the change itself is done")
            break
    return deleted

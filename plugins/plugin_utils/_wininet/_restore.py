# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore: which backup, whether to trust it, and what it puts back.

Pure logic; remote reads go through the injected executor.

* Without ``backup_file``, the newest backup of the backup directory that the manifest lists
  (:mod:`_host._backup`) and that was written before a change by configure: never one a restore wrote (its folder
  ends with ``_restore``), so a second restore finds what the first put back in place and changes nothing.
  Its SHA-256 must match. No backup at all is not an error: there is nothing to restore (a host that never
  drifted has none).
* With ``backup_file``, that file: one the collection wrote (in the manifest, hash checked), or
  any ``.reg`` file owned by Administrators or SYSTEM, such as a ``reg export`` (UTF-16LE) an
  administrator made. Anything else is refused.

What a file restores: for each ``HKEY_USERS\\<SID>\\...\\Internet Settings\\Connections`` section
of a target SID, the WinINet values it names (``DefaultConnectionSettings``,
``SavedLegacySettings``): ``hex:`` bytes are written exactly, ``"Name"=-`` deletes the value. A
value the file does not name is left alone (a ``reg export`` names only the values that existed;
our own ``before.reg`` records absent values explicitly). Other keys and values are ignored.

Round trips: 1 (``slurp``) + 1 (``win_stat``, only for a file that is not in the manifest); the
manifest read is shared with the write path.
"""

from __future__ import annotations

import base64

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import RemoteError, UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _compare as compare


def read_file(execute, path: str) -> bytes:
    """One ``ansible.windows.slurp``: the file's bytes (slurp.ps1 returns them base64-encoded)."""
    result = remote.call(execute, "ansible.windows.slurp", {"src": path})
    return base64.b64decode(result.get("content") or "")


def owner_of(execute, path: str) -> str | None:
    """One ``ansible.windows.win_stat``: the file's owner (win_stat.ps1: ``$acl.Owner``)."""
    result = remote.call(execute, "ansible.windows.win_stat", {"path": path, "get_checksum": False})
    stat = result.get("stat") or {}
    return stat.get("owner") if stat.get("exists") else None


def choose(execute, manifest: backup.Manifest, backup_dir: str, backup_file: str | None, name) -> tuple:
    """(path, bytes, why trusted) of the backup to restore, or None when there is nothing to restore.

    ``name(option)`` spells an option the way the caller calls it (a role's variable).
    """
    if backup_file:
        path = backup_file
        try:
            content = read_file(execute, path)
        except RemoteError as exc:
            raise UsageError("%s: cannot read %s on the host: %s. Nothing was changed."
                             % (name("backup_file"), path, exc.remote_msg)) from None
        owner = None if manifest.lookup(path) else owner_of(execute, path)
        trusted, why = backup.trust(manifest, path, content, owner)
        if not trusted:
            raise UsageError("%s: refusing to restore: %s Nothing was changed." % (name("backup_file"), why))
        return path, content, why
    entry = manifest.newest(backup_dir)
    if entry is None:
        return None
    try:
        content = read_file(execute, entry.path)
    except RemoteError as exc:
        raise UsageError("the newest backup %s (from %s) cannot be read on the host: %s. Nothing was changed; "
                         "set %s to another backup."
                         % (entry.path, backup.MANIFEST_PATH, exc.remote_msg, name("backup_file"))) from None
    trusted, why = backup.trust(manifest, entry.path, content, None)
    if not trusted:
        raise UsageError("refusing to restore: %s Nothing was changed." % why)
    return entry.path, content, why


def _held(parsed: dict) -> list:
    """``[(key, SID or None, [WinINet value names])]``: every Connections key of the file with a WinINet value."""
    known = {n.lower() for n in wininet.VALUE_NAMES}
    out = []
    for key, values in parsed.items():
        if values is None or not accounts.is_connections_key(key):
            continue
        names = [n for n in values if n.lower() in known]
        if names:
            out.append((key, accounts.sid_of_reg_key(key), names))
    return out


def _held_text(held: list) -> str:
    if not held:
        return "no DefaultConnectionSettings or SavedLegacySettings under any ...\\Internet Settings\\Connections key"
    parts = []
    for key, sid, names in held:
        whose = accounts.label(sid) if sid else (
            "the account that exported it, which the file does not name" if key.upper().startswith(
                ("HKEY_CURRENT_USER", "HKCU")) else "no account this collection can target")
        parts.append("[%s] %s (%s)" % (key, ", ".join(names), whose))
    return "; ".join(parts)


def source_from(path: str, content: bytes, targets: list, name) -> tuple:
    """(Source, [(sid, [value names])], [targets the file holds nothing for], [accounts it holds that are not
    targets]) of what ``content`` restores.

    A file that holds nothing for any of ``targets`` is refused, naming the keys it holds and the targets it
    lacks: an export of ``HKEY_CURRENT_USER`` (whose account the file does not say) restores nothing, and saying
    so is the point. ``HKEY_USERS\\.DEFAULT`` is LocalSystem's own hive (:data:`_host._accounts.DEFAULT_HIVE`).
    """
    try:
        parsed = regfile.parse(content)
    except regfile.RegFileError as exc:
        raise UsageError("%s: %s is not a .reg file this collection can restore: %s. Nothing was changed."
                         % (name("backup_file"), path, exc)) from None
    per_target = {}
    plan = []
    known = {n.lower(): n for n in wininet.VALUE_NAMES}
    for key, sid, value_names in _held(parsed):
        if sid is None or sid not in targets:
            continue
        names = []
        for value_name in value_names:
            data = parsed[key][value_name]
            canonical = known[value_name.lower()]
            if data is not None and not isinstance(data, bytes):
                raise UsageError("%s: %s holds %s of %s as %s, not REG_BINARY; nothing was changed."
                                 % (name("backup_file"), path, canonical, sid, type(data).__name__))
            per_target[(sid, canonical.lower())] = data
            names.append(canonical)
        if names:
            plan.append((sid, names))
    lacking = [sid for sid in targets if sid not in {s for s, dummy in plan}]
    others = [sid for key, sid, dummy in _held(parsed) if sid and sid not in targets]
    if not plan and others:
        # A backup this collection wrote, of accounts this run does not target (NetworkService, say).
        raise UsageError(
            "%s: %s holds values of %s, and %s names %s. Nothing was changed. Add %s to %s to restore it."
            % (name("backup_file"), path, ", ".join(map(accounts.label, others)), name("targets"),
               ", ".join(map(accounts.label, targets)), ", ".join(others), name("targets")))
    if not plan:
        raise UsageError(
            "%s: %s holds nothing to restore for %s: it holds %s. Nothing was changed. Restore a backup this "
            "collection wrote, or export the service accounts' own keys (reg export \"HKU\\S-1-5-19\\%s\" FILE; "
            "HKU\\.DEFAULT is LocalSystem's), or set %s to the accounts the file holds."
            % (name("backup_file"), path, ", ".join(map(accounts.label, targets)), _held_text(_held(parsed)),
               accounts.CONNECTIONS_SUBKEY, name("targets")))
    return (compare.Source("backup", per_target=per_target, exact=True, path=path), plan, lacking,
            list(dict.fromkeys(others)))

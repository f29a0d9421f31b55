# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Back up, write, verify and (on failure) roll back WinINet values: the one write path.

Pure logic with injected remote access:

* ``execute(module_name, module_args) -> dict`` runs one ``ansible.windows`` module; it raises
  :class:`_common._errors.Disconnected` when the connection breaks;
* ``upload(files, dest_dir) -> dict`` writes ``{file name: bytes}`` as new files into a folder on the host
  and reads each back (the action binds it to :func:`_host._file_write.write`: one ``ansible.windows.win_powershell``
  run, 1 WinRM command; it returns :func:`_host._file_write.outcome`).

Order of operations (:meth:`Change.run`):

1. the backup manifest (``HKLM\\SOFTWARE\\atp.sensor_proxy\\Backups``), read with everything else by the
   caller's state query (or here, 1 round trip);
2. the first time a backup directory is used: create and secure it (:mod:`_host._backup`, 5);
3. upload ``before.reg`` (the previous value of everything about to change, absent values as
   ``"Name"=-``) and ``after.reg`` (the new values plus the manifest entry of ``before.reg``) into a
   new backup folder (1);
4. **one** ``reg.exe import after.reg``: every account is written by the same process on the host,
   so a dropped connection cannot leave one account new and another old (1);
5. read every written key back (one state query); a mismatch, or an import that failed part way,
   puts ``before.reg`` back with ``reg import`` and reads again to say what the host holds now;
6. delete the backup folders beyond the newest ``keep`` (1 each; their manifest entries went with step 4).

``reg import`` is run through ``ansible.windows.win_command`` (``argv``): it prints "The operation
completed successfully." on stderr and exits 0, or prints "ERROR: ..." and exits 1 (reg.exe's own
behaviour; win_command.ps1 fails the module on a non-zero rc and returns rc, stdout, stderr).

If the connection drops, :class:`_common._errors.ConnectionDropped` carries what was certainly written, what
may have been, and where the backup is; a rerun compares first, so it converges either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import (
    ChangeError,
    ConnectionDropped,
    Disconnected,
    RemoteError,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _compare as compare

REG_EXE = "reg.exe"


def _id(item) -> str:
    return item.sid if item.wininet else item.label or item.path


def _label(ident: str) -> str:
    return accounts.label(ident) if accounts.is_target(ident) else ident


def _shown(value, wanted: bool = False) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, (bytes, bytearray)):
        return ("the %d bytes written" if wanted else "%d other bytes") % len(value)
    return repr(value)


@dataclass
class Pending:
    """One registry value to write: ``old`` None means it did not exist, ``wanted`` None means delete it.

    Values are bytes (REG_BINARY), str (REG_SZ) or int (REG_DWORD), as ``_regfile.value_lines`` writes
    them. A WinINet value of an account has ``sid`` set (``key``/``path`` are then its Connections key);
    any other value (a Defender for Endpoint policy, the WinHTTP setting) gives ``key`` (``.reg`` form,
    ``HKEY_LOCAL_MACHINE\\...``), ``path`` (``win_reg_stat`` form, ``HKLM:\\...``) and a ``label``.
    """

    sid: str | None
    path: str
    name: str
    old: object
    old_state: str
    wanted: object
    key: str = ""
    label: str = ""
    # A value a documented module writes instead of reg import (WinHTTP through win_http_proxy): (module, args).
    # It is still backed up in before.reg and read back; ``matches(got)`` then decides, as the exact bytes of
    # what the module writes are its own (a change counter).
    write_with: tuple | None = None
    matches: object = None

    def __post_init__(self):
        if not self.key:
            self.key = accounts.connections_reg_key(self.sid)

    @property
    def account(self) -> str:
        return accounts.account_name(self.sid) if self.sid else ""

    @property
    def reg_key(self) -> str:
        return self.key

    @property
    def who(self) -> str:
        """``LocalService (S-1-5-19)``, or the label of a machine-wide value."""
        return accounts.label(self.sid) if self.sid else (self.label or self.path)

    @property
    def wininet(self) -> bool:
        return self.sid is not None

    def verified(self, got) -> bool:
        return self.matches(got) if callable(self.matches) else got == self.wanted

    def to_result(self) -> dict:
        old = self.old.hex() if isinstance(self.old, (bytes, bytearray)) else self.old
        out = {"sid": self.sid, "account": self.account, "name": self.name, "state": self.old_state,
               "old_hex" if self.wininet else "old": old}
        if not self.wininet:
            out.update(path=self.path, label=self.label)
        return out


def plan(targets: list) -> list:
    """Values to write: the ones the compare found ``different`` or ``missing``."""
    out = []
    for target in targets:
        for name, value in target["values"].items():
            if value["state"] in compare.NEEDS_WRITE:
                old = bytes.fromhex(value["hex"]) if value["hex"] else None
                wanted = bytes.fromhex(value["wanted_hex"]) if value["wanted_hex"] is not None else None
                out.append(Pending(target["sid"], target["path"], name, old, value["state"], wanted))
    return out


# ---------------------------------------------------------------------------
# What a change looks like to a person: --diff and one-line descriptions
# ---------------------------------------------------------------------------
def _describe_lines(data) -> list:
    if data is None:
        return ["(absent)"]
    if not isinstance(data, (bytes, bytearray)):
        return ["%s" % (data,)]
    try:
        value = wininet.decode(data)
    except wininet.WinInetCodecError as exc:
        return ["(malformed: %s)" % exc, "hex: %s" % data.hex()]
    flags = [name for name, on in value.flags.items() if on]
    return [
        "flags: %s" % (", ".join(flags) or "none"),
        "proxy_server: %s" % (value.proxy_server or "''"),
        "bypass: %s" % (";".join(value.bypass) or "''"),
        "auto_config_url: %s" % (value.auto_config_url or "''"),
        "counter: %d" % value.counter,
    ]


def describe(data) -> str:
    """``proxy proxy.corp:8080, bypass <local>`` / ``direct (no proxy)`` / ``(absent)``; other values as they are."""
    if data is None:
        return "(absent)"
    if not isinstance(data, (bytes, bytearray)):
        return "%s" % (data,)
    try:
        return wininet.describe(wininet.decode(data))
    except wininet.WinInetCodecError:
        return "(malformed)"


def diff_for(item: Pending) -> dict:
    """A decoded before/after diff for one value (what ``--diff`` shows), not raw hex."""
    header = "%s %s" % (item.who, item.name)
    return {
        "before_header": "%s\\%s" % (item.path, item.name),
        "after_header": "%s\\%s" % (item.path, item.name),
        "before": "\n".join(["# " + header] + _describe_lines(item.old)) + "\n",
        "after": "\n".join(["# " + header] + _describe_lines(item.wanted)) + "\n",
    }


def sentence(item: Pending, check_mode: bool) -> str:
    verb = "would write" if check_mode else "wrote"
    if item.wanted is None:
        verb = "would delete" if check_mode else "deleted"
    return "%s %s of %s: %s -> %s" % (verb, item.name, item.who, describe(item.old), describe(item.wanted))


# ---------------------------------------------------------------------------
# The change itself
# ---------------------------------------------------------------------------
@dataclass
class Change:
    execute: object
    upload: object
    items: list
    backup_dir: str = backup.DEFAULT_BACKUP_DIR
    keep: int = backup.DEFAULT_KEEP
    comment: str = "atp.sensor_proxy"
    when: str = field(default_factory=backup.stamp)
    manifest: backup.Manifest | None = None  # read with everything else (else read here, one state query)
    kind: str = ""  # backup.RESTORE: a restore's backup of what it replaces (its folder ends with _restore)
    # Journal, for the result and for a connection drop.
    backup_file: str = ""
    applied_file: str = ""
    backup_pending: str = ""  # the upload started but did not confirm
    written: list = field(default_factory=list)
    pruned: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    secured: bool = False

    @property
    def sids(self) -> list:
        """What changes, as the result reports it: the SIDs of WinINet values, the labels of the others."""
        return list(dict.fromkeys(i.sid if i.wininet else i.label or i.path for i in self.items))

    def details(self, **extra) -> dict:
        out = {"backup_file": self.backup_file, "applied_file": self.applied_file,
               "written": list(self.written), "backups": [i.to_result() for i in self.items],
               "pruned": list(self.pruned), "backup_dir_secured": self.secured}
        out.update(extra)
        return out

    # -- steps ------------------------------------------------------------
    def _files(self, manifest: backup.Manifest, folder: str) -> tuple:
        before_entries = [{"key": i.reg_key, "name": i.name, "data": i.old} for i in self.items]
        before = regfile.render(before_entries, "%s: the values before the change of %s UTC.\nRestore them with: "
                                "reg import \"%s\\%s\"" % (self.comment, self.when, folder, backup.BEFORE))
        entry = backup.Entry("%s\\%s" % (folder, backup.BEFORE), backup.sha256(before))
        pruned = backup.to_prune(manifest, self.backup_dir, self.keep, self.kind)
        after_entries = backup.manifest_lines(entry, self.backup_dir if self.secured else None, pruned)
        after_entries += [{"key": i.reg_key, "name": i.name, "data": i.wanted} for i in self.items if not i.write_with]
        after = regfile.render(after_entries, "%s: the values written at %s UTC (applied with reg import; "
                               "the previous values are in %s)." % (self.comment, self.when, backup.BEFORE))
        return before, after, pruned

    def _read_back(self) -> list:
        """[(item, value now on the host or None)]: every written key in one state query."""
        snapshot = remote.read_state(self.execute, [i.path for i in self.items])
        out = []
        for item in self.items:
            found = snapshot.key(item.path).get(item.name)
            out.append((item, None if found is None else (found.data if found.data is not None else found.value)))
        return out

    def _import(self, path: str) -> dict:
        return remote.run_command(self.execute, [REG_EXE, "import", path, "/reg:64"])

    def _dropped(self, stage: str, exc: Exception, maybe: list | None = None) -> ConnectionDropped:
        maybe = [s for s in (maybe or []) if s not in self.written]
        parts = ["The connection to the host dropped %s (%s)." % (stage, exc)]
        if self.written:
            parts.append("Written and verified before the drop: %s." % ", ".join(map(_label, self.written)))
        if maybe:
            parts.append("Possibly written (the import may have run): %s." % ", ".join(map(_label, maybe)))
        if not self.written and not maybe:
            parts.append("Nothing was written to the registry.")
        if self.backup_file:
            parts.append("Backup of the previous values: %s (reg import it on the host to undo)." % self.backup_file)
        elif self.backup_pending:
            parts.append("The backup was being written to %s and may be there." % self.backup_pending)
        parts.append("A rerun compares first, so it finishes the change or reports the host in sync.")
        details = self.details(maybe_written=maybe, dropped_at=stage, backup_pending=self.backup_pending,
                               changed=bool(self.written or maybe))
        return ConnectionDropped(" ".join(parts), **details)

    def run(self) -> dict:
        try:
            manifest = self.manifest or backup.read_manifest(self.execute)
        except Disconnected as exc:
            raise self._dropped("before anything was written", exc) from None
        if not manifest.is_secured(self.backup_dir):
            try:
                backup.secure(self.execute, self.backup_dir)
            except RemoteError as exc:
                raise ChangeError("Could not create and secure the backup folder %s (%s): %s. Nothing was written."
                                  % (self.backup_dir, exc.module, exc.remote_msg), **self.details()) from None
            except Disconnected as exc:
                raise self._dropped("while the backup folder was being secured", exc) from None
            self.secured = True
        folder = backup.folder_for(self.backup_dir, self.when, self.kind)
        before, after, pruned = self._files(manifest, folder)
        self.backup_pending = "%s\\%s" % (folder, backup.BEFORE)
        try:
            copied = self.upload({backup.BEFORE: before, backup.AFTER: after}, folder)
        except Disconnected as exc:
            raise self._dropped("while the backup was being written", exc) from None
        if copied.get("failed"):
            raise ChangeError("Writing the backup to %s failed: %s. Nothing was written to the registry."
                              % (folder, copied.get("msg")), **self.details())
        self.backup_file, self.backup_pending = self.backup_pending, ""
        self.applied_file = "%s\\%s" % (folder, backup.AFTER)

        try:
            imported = self._import(self.applied_file)
            if imported.get("rc") == 0:
                imported = self._module_writes() or imported
        except Disconnected as exc:
            raise self._dropped("while reg import was writing the new values", exc, self.sids) from None
        try:
            found = self._read_back()
        except Disconnected as exc:
            raise self._dropped("after reg import, before the values were read back", exc, self.sids) from None
        mismatched = [(item, got) for item, got in found if not item.verified(got)]
        self.written = [s for s in self.sids if not any(_id(item) == s for item, dummy in mismatched)]
        if imported.get("rc") != 0 or mismatched:
            self._roll_back(imported, mismatched, found)
        self._prune(pruned)
        return self.details(verified=True, changed=True)

    def _module_writes(self) -> dict | None:
        """Run the items written by a module (after the import); a failure is returned like a failed import."""
        for item in (i for i in self.items if i.write_with):
            module, args = item.write_with
            result = self.execute(module, args)
            if result.get("failed"):
                return {"rc": 1, "stderr": "%s failed: %s" % (module, result.get("msg"))}
        return None

    def _roll_back(self, imported: dict, mismatched: list, found: list) -> None:
        """Put ``before.reg`` back, read again, and raise a ChangeError that says what the host holds now."""
        changed_on_host = [item for item, got in found if got != item.old]
        if imported.get("rc") != 0:
            what = "writing the new values failed (rc %s: %s)" % (
                imported.get("rc"), (imported.get("stderr") or imported.get("msg") or "").strip())
            if "failed:" not in what:
                what = "reg import of the new values failed" + what[len("writing the new values failed"):]
        else:
            what = "verify after write failed: " + "; ".join(
                "%s %s reads back %s instead of %s" % (item.who, item.name, _shown(got), _shown(item.wanted, True))
                for item, got in mismatched)
            what += ". Something on the host (a policy, an agent or a registry filter) may be reverting the value"
        details = {"mismatched": [_id(item) for item, dummy in mismatched], "rollback_problems": []}
        if not changed_on_host:
            self.written = []
            raise ChangeError("%s. Nothing was written to the accounts' keys: the host still holds its previous "
                              "values (backup: %s)." % (what, self.backup_file), **self.details(**details))
        try:
            undone = self._import(self.backup_file)
            now = self._read_back()
        except Disconnected as exc:
            raise self._dropped("while the previous values were being put back", exc,
                                [i.sid for i in changed_on_host]) from None
        # What counts is what the host holds now: an import that could not touch a key whose value never
        # changed (the one that failed the first import) still put everything else back.
        still = [(item, got) for item, got in now if got != item.old]
        self.written = list(dict.fromkeys(_id(item) for item, dummy in still))
        if still:
            problems = ["%s %s" % (item.who, item.name) for item, dummy in still]
            details["rollback_problems"] = problems + ([str(undone.get("stderr") or "").strip()]
                                                       if undone.get("rc") != 0 else [])
            raise ChangeError("%s. Putting the previous values back failed for %s; restore them with reg import of %s."
                              % (what, ", ".join(problems) or "the import", self.backup_file), **self.details(**details))
        raise ChangeError("%s. The %d value(s) already written were restored to their previous bytes and read "
                          "back (backup: %s)." % (what, len(changed_on_host), self.backup_file),
                          **self.details(rolled_back=list(dict.fromkeys(_id(i) for i in changed_on_host)), **details))

    def _prune(self, pruned: list) -> None:
        self.pruned += backup.delete_old(self.execute, [(e.folder, [e.folder]) for e in pruned], self.warnings)

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Back up, write, verify and (on failure) roll back WinINet values.

Pure logic with injected remote access, like :mod:`._registry`:

* ``execute(module_name, module_args) -> dict`` runs one ``ansible.windows`` module;
* ``write_file(dest, content) -> dict`` writes a text file on the host
  (the action plugin binds it to the ``ansible.windows.win_copy`` action).

Order of operations, so that no failure leaves a half-written registry:

1. compare (read every target);
2. back up every value that will change into one ``.reg`` file (absent values as
   ``"Name"=-``), before any write;
3. write each value with ``win_regedit`` (binary, the exact wanted bytes);
4. read back every written key; a mismatch, or a write that fails part way,
   puts back the previous bytes (or deletes a value that did not exist) and fails
   with a message saying what happened and where the backup is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _registry as registry
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _wininet as wininet

DEFAULT_BACKUP_DIR = "C:\\ProgramData\\atp.sensor_proxy\\backups"
BACKUP_PREFIX = "atp_proxy_"


class ApplyError(Exception):
    """A failed change; ``details`` go into the task result."""

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.details = details


@dataclass
class Pending:
    sid: str
    account: str
    path: str
    name: str
    old: bytes | None  # None: the value did not exist
    old_state: str
    wanted: bytes

    def to_result(self) -> dict:
        return {"sid": self.sid, "account": self.account, "name": self.name,
                "old_hex": self.old.hex() if self.old is not None else None, "state": self.old_state}


def pending_writes(targets: list, exact: bool = False) -> list:
    """Values to write: different or missing; with ``exact``, also equivalent ones (byte-identical restore)."""
    states = registry.NEEDS_WRITE + ((registry.EQUIVALENT,) if exact else ())
    out = []
    for target in targets:
        for name, value in target["values"].items():
            if value["state"] in states:
                old = bytes.fromhex(value["hex"]) if value["hex"] else None
                out.append(Pending(target["sid"], target["account"], target["path"], name, old, value["state"],
                                   bytes.fromhex(value["wanted_hex"])))
    return out


def _describe_lines(data: bytes | None) -> list:
    if data is None:
        return ["(absent)"]
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


def diff_for(item: Pending) -> dict:
    """A decoded before/after diff for one value (what ``--diff`` shows), not raw hex."""
    header = "%s (%s) %s" % (item.account, item.sid, item.name)
    return {
        "before_header": "%s\\%s" % (item.path, item.name),
        "after_header": "%s\\%s" % (item.path, item.name),
        "before": "\n".join(["# " + header] + _describe_lines(item.old)) + "\n",
        "after": "\n".join(["# " + header] + _describe_lines(item.wanted)) + "\n",
    }


def backup_content(items: list, comment: str) -> str:
    entries = [{"key": registry.reg_file_key(item.sid), "name": item.name, "data": item.old} for item in items]
    return regfile.render(entries, comment)


def regedit_args(path: str, name: str, data: bytes | None) -> dict:
    if data is None:
        return {"path": path, "name": name, "state": "absent"}
    return {"path": path, "name": name, "type": "binary", "state": "present",
            "data": "hex:" + ",".join("%02x" % b for b in data)}


def _rollback(execute, written: list) -> list:
    """Put back the previous bytes of every written value. Returns what could not be restored."""
    problems = []
    for item in reversed(written):
        try:
            registry.call(execute, registry.WRITE_MODULE, regedit_args(item.path, item.name, item.old))
        except registry.RemoteError as exc:
            problems.append("%s %s: %s" % (item.sid, item.name, exc.result.get("msg")))
    return problems


def write_and_verify(execute, items: list, backup_file: str) -> None:
    """Write every pending value, then read back; roll back and raise ApplyError on any failure."""
    written = []
    for item in items:
        try:
            registry.call(execute, registry.WRITE_MODULE, regedit_args(item.path, item.name, item.wanted))
        except registry.RemoteError as exc:
            problems = _rollback(execute, written)
            raise ApplyError(
                "writing %s of %s (%s) failed: %s. %s" % (
                    item.name, item.account, item.sid, exc.result.get("msg"),
                    _rollback_sentence(written, problems, backup_file)),
                failed_sid=item.sid, rolled_back=[w.sid for w in written], rollback_problems=problems,
            ) from None
        written.append(item)

    mismatches = []
    for path in dict.fromkeys(item.path for item in written):
        key = registry.read_key(execute, path)
        for item in (i for i in written if i.path == path):
            found = key.values.get(item.name.lower())
            got = found.data if found else None
            if got != item.wanted:
                mismatches.append((item, got))
    if mismatches:
        problems = _rollback(execute, written)
        described = "; ".join(
            "%s (%s) %s reads back %s instead of the %d bytes written" % (
                item.account, item.sid, item.name, "nothing" if got is None else "%d other bytes" % len(got),
                len(item.wanted))
            for item, got in mismatches)
        raise ApplyError(
            "verify after write failed: %s. %s Something on the host (a policy, an agent or a "
            "registry filter) may be reverting the value." % (described, _rollback_sentence(written, problems,
                                                                                            backup_file)),
            mismatched=[item.sid for item, dummy in mismatches], rollback_problems=problems,
        )


def _rollback_sentence(written: list, problems: list, backup_file: str) -> str:
    if not written:
        return "Nothing was written."
    if problems:
        return ("Restoring the previous values failed for %s; restore them with reg import of %s."
                % (", ".join(problems), backup_file))
    return "The %d value(s) already written were restored to their previous bytes (backup: %s)." % (
        len(written), backup_file)

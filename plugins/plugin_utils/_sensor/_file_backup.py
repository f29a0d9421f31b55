# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backups of the sensor's ``SensorConfiguration.json``: what a backup folder holds, which backups to prune,
which one to restore (and why it is trusted), and what restoring it does.

Pure logic with injected remote access (``execute(module_name, module_args) -> dict``, :mod:`_host._remote`). The
folders, their security and the manifest ``HKLM\\SOFTWARE\\atp.sensor_proxy\\Backups`` that says which backups
to trust are :mod:`_host._backup`'s; this module knows which of its entries are the sensor file's.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import RemoteError, UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sensor_config
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as sensor

BACKUP_NAME = sensor_config.FILE_NAME  # the previous bytes, exactly
NEW_NAME = "SensorConfiguration.new.json"  # the bytes written
MANIFEST_NAME = "manifest.reg"  # the manifest entries of this backup
STAT_MODULE = "ansible.windows.win_stat"


def is_sensor_backup(entry: backup.Entry) -> bool:
    return entry.path.lower().endswith("\\" + BACKUP_NAME.lower())


def sensor_backups(manifest: backup.Manifest, backup_dir: str | None = None) -> list:
    """The manifest's SensorConfiguration.json backups (of ``backup_dir``), oldest first."""
    base = backup_dir.rstrip("\\").lower() + "\\" if backup_dir else ""
    return [e for e in manifest.files if is_sensor_backup(e) and e.path.lower().startswith(base)]


def to_prune(manifest: backup.Manifest, backup_dir: str, keep: int, kind: str = "") -> list:
    """The sensor backups of ``backup_dir`` beyond the newest ``keep - 1`` of the new one's ``kind`` (a change's, or a
    restore's: :func:`_host._backup.to_prune`)."""
    entries = [e for e in sensor_backups(manifest, backup_dir) if e.by_restore == (kind == backup.RESTORE)]
    excess = len(entries) + 1 - max(int(keep), 1)
    return entries[:excess] if excess > 0 else []


def choose_backup(execute, manifest: backup.Manifest, backup_dir: str, backup_file: str | None, names: dict) -> tuple:
    """(path, bytes, why trusted) of the SensorConfiguration.json backup to restore, or None when there is none.

    The newest of ``backup_dir`` written before a change (not by a restore; its SHA-256 must match the manifest),
    or ``backup_file``: one the manifest lists
    with the right hash, or a file owned by Administrators or SYSTEM (:func:`_host._backup.trust`). One ``slurp``
    (+ one ``win_stat`` for a file the manifest does not list).
    """
    path = backup_file or None
    if path is None:
        # Never a backup a restore wrote (what it replaced): a second restore would undo the first.
        newest = [e for e in sensor_backups(manifest, backup_dir) if not e.by_restore]
        if not newest:
            return None
        path = newest[-1].path
    who = names["backup_file"] if backup_file else "the newest backup"
    try:
        content = remote.call(execute, sensor.SLURP_MODULE, {"src": path})
    except RemoteError as exc:
        raise UsageError("%s: cannot read %s on the host: %s. Nothing was changed."
                         % (who, path, exc.remote_msg)) from None
    data = base64.b64decode(content.get("content") or "")
    owner = None
    if manifest.lookup(path) is None:
        stat = remote.call(execute, STAT_MODULE, {"path": path, "get_checksum": False}).get("stat") or {}
        owner = stat.get("owner") if stat.get("exists") else None
    trusted, why = backup.trust(manifest, path, data, owner)
    if not trusted:
        raise UsageError("%s: refusing to restore: %s Nothing was changed." % (who, why))
    return path, data, why


def restored_bytes(saved: bytes, path: str, current, ansi_codec: str, who: str) -> bytes:
    """What restoring the backup ``saved`` (read from ``path``) writes over the sensor's file ``current`` (parsed, or
    None when it cannot be read); ``who`` names it in a refusal (the backup file variable, or "the newest backup").

    The backup must be a SensorConfiguration.json: any other file (a WinINet ``before.reg``, an empty one) would
    replace the sensor's file and keep it from starting. Only its proxy member goes back into the current file, the
    one member a change of this collection writes; every other byte stays, as the sensor may have rewritten its file
    since (a renewed certificate's thumbprint). A current file that cannot be read is replaced whole, by a backup that
    is a sensor's file (it names the sensor API), the repair the configure run's error asks for."""
    if saved.lstrip(b"\xef\xbb\xbf\xff\xfe\x00").replace(b"\x00", b"").startswith(b"Windows Registry Editor"):
        raise UsageError("%s: refusing to restore %s: it is not a %s but a .reg file (a WinINet backup, restored "
                         "with atp_proxy_method=wininet). Nothing was changed." % (who, path, sensor_config.FILE_NAME))
    try:
        backup_cfg = sensor_config.parse(saved, path, ansi_codec)
    except sensor_config.SensorConfigError as exc:
        raise UsageError("%s: refusing to restore %s: it is not a %s (%s). Nothing was changed."
                         % (who, path, sensor_config.FILE_NAME, exc)) from None
    if current is None:
        if not backup_cfg.sensor_api:
            raise UsageError("%s: refusing to restore %s over an unreadable %s: it names no sensor API (%s.Address), so "
                             "it is not a sensor's file. Nothing was changed." % (
                                 who, path, sensor_config.FILE_NAME, sensor_config.SENSOR_API_KEY))
        return saved
    if not backup_cfg.proxy.present and not current.proxy.present:
        return current.raw
    member = next((v for k, v in backup_cfg.data.items() if k.lower() == sensor_config.PROXY_KEY.lower()), None)
    return sensor_config.with_proxy_value(current, member)


@dataclass(frozen=True)
class RestorePlan:
    """What restoring a backup does (the same fields as :class:`_sensor._config_plan.Plan` that the change reads)."""

    changed: bool
    reason: str
    before: dict
    after: dict
    data: bytes = field(repr=False)
    encrypted: bool = False
    thumbprint: str | None = None
    kept_password: bool = False

    def to_result(self) -> dict:
        return {"changed": self.changed, "reason": self.reason, "before": self.before, "after": self.after,
                "password_encrypted": False, "password_kept": False, "certificate_thumbprint": None}


def _summary_of(data: bytes, ansi_codec: str) -> dict:
    try:
        return sensor_config.parse(data, ansi_codec=ansi_codec).proxy.to_dict()
    except sensor_config.SensorConfigError as exc:
        return {"state": "unreadable", "configured": False, "url": None, "username": None, "password_set": False,
                "certificate_thumbprint": None, "error": str(exc)}

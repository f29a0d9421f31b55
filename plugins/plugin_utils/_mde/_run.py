# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Defender for Endpoint write: one state query (unless the caller has one), the plan (:mod:`_plan`, or the
one the caller already made), then one change through :class:`_wininet._registry_change.Change`: backup in
``before.reg`` under its own folder, one ``reg import``, ``win_http_proxy`` for WinHTTP, read back, roll back,
prune. :func:`run` is the entry point of ``atp.sensor_proxy.win_mde_proxy`` and of the role's job.

Pure Python, no Ansible imports; remote work goes through the injected executor (:mod:`_host._remote`).
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._argspec import namer
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import (
    ChangeError,
    ConnectionDropped,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _preconditions as preconditions
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde._catalogue import (
    CURRENT_USER_CONNECTIONS,
    DEFAULT_BACKUP_DIR,
    DEFAULT_KEEP,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde._desired import desired
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde._plan import Plan, lookup, plan, reads
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde._result import MdeResult
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _registry_change as apply


def _admin_check(user: dict) -> None:
    """HKLM\\SOFTWARE\\Policies and WinHTTP need an enabled BUILTIN\\Administrators (the state query's answer)."""
    preconditions.require_administrator(user, "the Defender policies under HKLM\\SOFTWARE\\Policies and the WinHTTP "
                                        "proxy need local administrator rights")


def run(execute, upload, options: dict, check_mode: bool, values: dict | None = None, host: str = "host",
        runs_as: str = "", snapshot: remote.Snapshot | None = None, extra_items=(), ie_from: tuple | None = None,
        stamp: str | None = None, the_plan: Plan | None = None, wanted: list | None = None) -> MdeResult:
    """Everything ``atp.sensor_proxy.win_mde_proxy`` does: plan (unless given), back up, write, verify.

    Args:
        execute: the remote executor (:mod:`_host._remote`): ``execute(module, args)`` -> the module's result.
        upload: ``upload(files, dest_dir)`` writes the two backup files (the action binds it to
            :func:`_host._file_write.write`, one round trip).
        options: the module's options (``DOCUMENTATION`` of ``win_mde_proxy``; the role passes ``name_prefix``
            ``atp_proxy_mde_`` so that errors name its variables, and ``also``, the sensor v3's values).
        check_mode: predict only; with ``options["read_only"]`` too, and then ``changed`` stays false (a drift
            report).
        values: ``{path: _remote.KeyRead}`` already read; host: the name in the backup's comment; runs_as: the
            account the task runs as (for ``winhttp_source=ie``, when the state query does not name it).
        snapshot: the caller's state query (:class:`_host._remote.Snapshot`); read again only for what it lacks.
        extra_items: more ``Pending`` writes joining the same backup and ``reg import`` (the .NET TLS values).
        ie_from: ``(key, account)`` from :func:`_plan.copy_of`: WinHTTP from that account's WinINet value.
        stamp: the backup's time stamp (one per run of the role).
        the_plan: the :class:`_plan.Plan` the caller made with :func:`_plan.plan` for these same options, values
            and ``ie_from``; it is written as it is, not planned again.
        wanted: what :func:`_desired.desired` gave for these options, when the caller has it (computed here once
            otherwise: the reads and the plan share it).

    Returns:
        :class:`_result.MdeResult`; its ``to_result()`` is the module's result fields: ``changed``, ``settings``,
        ``changed_settings``, ``actions``, ``diff``, ``backups``, ``backup_file``, ``applied_file``, ``written``,
        ``pruned``, ``winhttp_copied_from``, ``warnings`` (and ``backup_dir_secured``, ``verified`` once written).

    Raises the errors of :mod:`_common._errors`: :class:`UsageError` (bad options, nothing read),
    :class:`ChangeError` and :class:`ConnectionDropped` (with what was written and where the backup is).
    """
    name = namer(options.get("name_prefix") or "")
    read_only = bool(options.get("read_only"))
    predicted = check_mode or read_only
    with preconditions.nothing_written_on_drop():
        if the_plan is None and wanted is None:
            wanted = desired(options, name)
        paths = [backup.MANIFEST_PATH] if the_plan is not None else reads(options, name, wanted) + [
            backup.MANIFEST_PATH]
        if snapshot is None or any(not snapshot.has(p) for p in paths if p != CURRENT_USER_CONNECTIONS or not ie_from):
            snapshot = remote.read_state(execute, [p for p in paths if lookup(values, p) is None])
        known = dict(values or {})
        known.update(snapshot.keys)
        if the_plan is None:
            the_plan = plan(execute, options, known, name, str(snapshot.user.get("name") or runs_as), ie_from=ie_from,
                            wanted=wanted)
        runs_as = the_plan.runs_as
        result = MdeResult(plan=the_plan, extra=list(extra_items), predicted=predicted,
                           winhttp_copied_from=runs_as if options.get("winhttp_source") == "ie" else "",
                           warnings=list(the_plan.warnings))
        items = result.items
        if not items or predicted:
            result.changed = bool(items) and not read_only
            return result
        _admin_check(snapshot.user)
    keep = options.get("backup_keep")
    manifest = lookup(known, backup.MANIFEST_PATH)
    change = apply.Change(execute, upload, items, backup_dir=options.get("backup_dir") or DEFAULT_BACKUP_DIR,
                          keep=DEFAULT_KEEP if keep is None else keep, manifest=backup.manifest_from(manifest),
                          comment="atp.sensor_proxy backup of %s (Defender for Endpoint proxy settings)" % host,
                          **({"when": stamp} if stamp else {}))
    try:
        done = change.run()
    except (ChangeError, ConnectionDropped) as exc:
        flat = result.to_result()
        exc.details.update({k: flat[k] for k in ("changed_settings", "diff", "settings", "actions")})
        exc.details.setdefault("changed", bool(exc.details.get("written")))
        raise
    result.done(done)
    result.warnings += change.warnings
    return result

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole WinINet write path as one function of an executor and the module's options.

Pure logic (the ``atp.sensor_proxy.win_wininet_proxy`` action binds the executor and the upload):

1. resolve the source (the connection user's HKCU, a SID, a blob, a settings spec, or a backup);
2. compare every target (one read each); nothing to do -> done;
3. check that the connection user is an enabled member of BUILTIN\\Administrators (the state query says);
4. load an unloaded LocalService/NetworkService hive from its profile when allowed
   (``reg.exe load`` through ``win_command``) and compare that target again; in check mode the
   result says "would load the hive and write" instead;
5. back up, write with one ``reg import``, read back, roll back on failure, prune (:mod:`_wininet._registry_change`).

Every message names the option the user set, spelled by ``name_prefix`` (the role passes
``atp_proxy_``, so that ``settings`` is reported as ``atp_proxy_settings``).
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._argspec import namer
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import ChangeError, UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _preconditions as preconditions
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _compare as compare
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _registry_change as apply
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _restore as restore
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet._result import WininetResult


def reads(args: dict, name=compare._same, options: compare.Options | None = None) -> list:
    """Every registry key this run reads before deciding anything: for ONE state query (with the manifest)."""
    options = options or compare.resolve_options(args, name)
    kind = options.kind
    return compare.reads(kind if kind != "backup" else "value", args.get("source_sid"), options.targets, name) + [
        backup.MANIFEST_PATH]


def _resolve(args: dict, execute, name, snapshot, options: compare.Options) -> tuple:
    """(Source, [(target SID, value names)], restore info) from the options."""
    kind, settings, targets, value_names = options.kind, options.settings, options.targets, options.value_names
    if kind != "backup":
        source = compare.load_source(execute, kind, args.get("source_sid"), args.get("source_value"), settings, name,
                                     snapshot=snapshot)
        source.exact = bool(args.get("exact"))
        return source, [(sid, value_names) for sid in targets], None
    manifest = backup.manifest_from(snapshot.key(backup.MANIFEST_PATH))
    chosen = restore.choose(execute, manifest, args["backup_dir"], args.get("backup_file"), name)
    if chosen is None:
        return None, [], {"restored_from": "", "nothing_to_restore": True,
                          "msg": "no backup of atp.sensor_proxy in %s on this host (%s lists none): nothing to "
                                 "restore" % (args["backup_dir"], backup.MANIFEST_PATH)}
    path, content, why = chosen
    source, plan, lacking, others = restore.source_from(path, content, targets, name)
    info = {"restored_from": path, "trusted_because": why, "nothing_to_restore": not plan}
    notes = []
    if lacking:  # restored for the others; these keep what they hold, and the result says so
        info["restore_skipped"] = lacking
        notes.append("%s holds nothing for %s, left as is" % (path, ", ".join(map(accounts.label, lacking))))
    if others:  # the backup also holds accounts this run does not target: they keep the value of the change
        info["restore_not_targeted"] = others
        notes.append("the backup also holds %s, not restored (not in %s): add %s to restore %s" % (
            ", ".join(map(accounts.label, others)), name("targets"), ", ".join(others),
            "it" if len(others) == 1 else "them"))
    if notes:
        info["restore_note"] = "; ".join(notes)
    return source, plan, info


def _admin_check(snapshot) -> None:
    """The connection user must be an enabled member of BUILTIN\\Administrators (the state query's answer)."""
    preconditions.require_administrator(
        snapshot.user, "writing the service accounts' HKU\\<SID> keys needs local administrator rights (on a DC: "
        "Administrators or Domain Admins)")


def _hive_problem(unloaded: list, load_hive: bool, name, host: str) -> str | None:
    cannot = [sid for sid in unloaded if accounts.hive_to_load(sid) is None]
    if cannot:
        return ("the registry hive of %s is not loaded on %s and cannot be loaded from a service profile, so its "
                "proxy cannot be set. Nothing was changed. Log that account on (or start a service that runs as it), "
                "or remove it from %s." % (", ".join(map(accounts.label, cannot)), host, name("targets")))
    if not load_hive:
        return ("the registry hive of %s is not loaded on %s, so its proxy cannot be set. Nothing was changed. It is "
                "loaded while a service runs as that account (the sensor service runs as LocalService); or set "
                "%s=true to load it from the account's profile."
                % (", ".join(map(accounts.label, unloaded)), host, name("load_hive")))
    return None


def _load_hives(execute, sids: list, name) -> list:
    """``reg.exe load HKU\\<SID> <profile>\\NTUSER.DAT`` for each; returns the loaded SIDs."""
    loaded = []
    for sid in sids:
        hive, hive_file = accounts.hive_to_load(sid)
        result = remote.run_command(execute, ["reg.exe", "load", hive, hive_file])
        if result.get("rc") != 0 or result.get("failed"):
            output = (result.get("stderr") or result.get("stdout") or result.get("msg") or "").strip()
            raise ChangeError(
                "loading the hive %s from %s failed (even with %s=true): %s. Nothing was written. The profile may be "
                "in use or missing; start the service that runs as %s once, or check the file."
                % (hive, hive_file, name("load_hive"), output, accounts.account_name(sid)),
                changed=False, hives_loaded=loaded)
        loaded.append(sid)
    return loaded


def run(execute, upload, args: dict, check_mode: bool, host: str = "host", snapshot=None, extra_items=()) -> dict:
    """Everything ``win_wininet_proxy`` does (see :func:`_run`): its result fields."""
    return run_part(execute, upload, args, check_mode, host, snapshot, extra_items).to_result()


def run_part(execute, upload, args: dict, check_mode: bool, host: str = "host", snapshot=None,
             extra_items=()) -> WininetResult:
    """:func:`run` as a part of a larger run: the :class:`_wininet._result.WininetResult`, with the planned values as
    bytes. A drop before the change says nothing was written.

    ``snapshot``: a state query that already read :func:`reads` (the role's job reads them with its other keys);
    ``extra_items``: other registry values (Defender for Endpoint) that join this change: one backup, one import.
    """
    with preconditions.nothing_written_on_drop():
        return _run(execute, upload, args, check_mode, host, snapshot, list(extra_items))


def _run(execute, upload, args: dict, check_mode: bool, host: str, snapshot, extra_items: list) -> WininetResult:
    """Everything ``win_wininet_proxy`` does; returns what it did (raises the errors of :mod:`_common._errors`).

    ``read_only`` (a drift report) plans like check mode but never checks rights or loads a hive, and
    reports ``changed: false``.
    """
    name = namer(args.get("name_prefix") or "")
    read_only = bool(args.get("read_only"))
    check_mode = check_mode or read_only
    options = compare.resolve_options(args, name)
    keys = reads(args, name, options)
    missing = [k for k in keys if snapshot is None or not snapshot.has(k)]
    if missing:
        more = remote.read_state(execute, missing)
        snapshot = more if snapshot is None else snapshot.merge(more)
    source, plan, restore_info = _resolve(args, execute, name, snapshot, options)
    result = WininetResult()
    if restore_info:
        result.set(restore_info)
        if source is None or restore_info["nothing_to_restore"]:
            result.source = {"kind": "backup"}
            if result.msg is None:
                result.msg = "%s holds nothing for %s: nothing to restore" % (
                    restore_info.get("restored_from"), ", ".join(args["targets"]))
            return result
    compared = [compare.compare_target(execute, source, sid, names, snapshot) for sid, names in plan]
    result.set(compare.summarize(source, compared))
    if not result.needs_write and not result.hive_not_loaded and not extra_items:
        return result

    if read_only:
        items = apply.plan(compared) + extra_items
        result.items, result.planned = items, True
        result.changed_sids = list(dict.fromkeys(i.sid for i in items if i.wininet))
        result.actions += [apply.sentence(i, True) for i in items]
        return result
    _admin_check(snapshot)
    unloaded = list(result.hive_not_loaded)
    if unloaded:
        problem = _hive_problem(unloaded, bool(args.get("load_hive")), name, host)
        if problem:
            raise UsageError(problem)
        if check_mode:
            for sid in unloaded:
                hive, hive_file = accounts.hive_to_load(sid)
                result.actions.append("would load the hive %s from %s and write %s" % (
                    hive, hive_file, ", ".join(args["value_names"])))
        else:
            result.hives_loaded = _load_hives(execute, unloaded, name)
            names = dict(plan)
            reread = remote.read_state(execute, [accounts.connections_path(sid) for sid in unloaded])
            compared = [compare.compare_target(execute, source, t["sid"], names[t["sid"]], reread)
                        if t["sid"] in unloaded else t for t in compared]
            result.set(compare.summarize(source, compared))
            result.hive_loaded_before = False

    items = apply.plan(compared)
    if check_mode:
        items += [apply.Pending(sid, accounts.connections_path(sid), value, None, compare.HIVE_NOT_LOADED,
                                source.wanted_for(sid, value, None))
                  for sid in unloaded for value in dict(plan)[sid]]
    items += extra_items
    result.items, result.planned = items, True
    result.changed = bool(items or result.hives_loaded)
    result.changed_sids = list(dict.fromkeys(i.sid for i in items if i.wininet))
    result.actions += [apply.sentence(i, check_mode) for i in items]
    if check_mode or not items:
        return result
    restoring = (restore_info or {}).get("restored_from")
    change = apply.Change(execute, upload, items, backup_dir=args["backup_dir"], keep=args["backup_keep"],
                          comment="atp.sensor_proxy backup of %s%s" % (host, ", before restoring %s" % restoring
                                                                       if restoring else ""),
                          manifest=backup.manifest_from(snapshot.key(backup.MANIFEST_PATH)),
                          kind=backup.RESTORE if restoring else "")
    try:
        done = change.run()
    except ChangeError as exc:
        exc.details.update(changed_sids=result.changed_sids, diff=result.diffs(), hives_loaded=result.hives_loaded,
                           targets=result.targets, actions=result.actions)
        exc.details.setdefault("changed", bool(exc.details.get("written")))
        raise
    result.set(done)
    result.warnings = change.warnings
    return result

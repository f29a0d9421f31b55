# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sensor_config method: set, clear or restore the v2 sensor's own proxy in ``SensorConfiguration.json``.

:func:`set_proxy` is what ``atp.sensor_proxy.win_mdi_sensor_proxy`` does (the options checked, one state query,
discovery, then :func:`run`); the role's job discovers in its own query and calls :func:`run`. :func:`run` plans the
change (:func:`_sensor._config_plan.plan` for ``state``, a trusted backup for ``source: backup``,
:mod:`_sensor._file_backup`), says what it does or would do (the sentences and the ``--diff`` below), checks that the
connection user may write, and hands the write to :class:`_sensor._file_change.SensorChange`, whose module lists every
step with its round trips. The restarts a WinINet change needs are :mod:`_sensor._restart`.

Pure logic with injected remote access: ``execute``, ``upload`` and ``remote_copy`` as :mod:`_sensor._file_change`
describes them.

The password is encrypted on the controller (:func:`_sensor._secret.encrypt_password`), only when a password must be
encrypted (one ``win_certificate_info`` of the SecretManager certificate; a missing one fails before anything is
written, naming the password variable and the thumbprint). It is never in a result, a message, a backup or a module
argument.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import (
    ChangeError,
    ConnectionDropped,
    UsageError,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _preconditions as preconditions
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sensor_config
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_plan as config_plan
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as sensor
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _file_backup as file_backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _file_change as file_change
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _restart as restarts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _secret as sensor_secret
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _services as sensor_services
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor._result import SensorResult

# The names messages use for the options: the role's variables by default; a module passes its own.
ROLE_NAMES = dict(config_plan.ROLE_VARIABLES, restart="atp_proxy_restart_services",
                  backup_dir="atp_proxy_backup_dir", backup_keep="atp_proxy_backup_keep",
                  backup_file="atp_proxy_backup_file")


def describe(proxy: dict) -> str:
    """``(none)`` / ``http://proxy.corp:8080`` / ``http://proxy.corp:8080 as CORP\\svc (password set)``: never more."""
    if not proxy or not proxy.get("configured"):
        return "(none)"
    text = proxy["url"]
    if proxy.get("username"):
        text += " as %s" % proxy["username"]
        if proxy.get("password_set"):
            text += " (password set)"
    return text


def write_sentence(plan, check_mode: bool) -> str:
    """``would write SensorConfiguration.json: proxy (none) -> http://proxy.corp:8080``."""
    text = "%s %s: proxy %s -> %s" % ("would write" if check_mode else "wrote", sensor_config.FILE_NAME,
                                      describe(plan.before), describe(plan.after))
    if plan.encrypted:
        text += ", encrypted with the certificate %s" % plan.thumbprint
    return text


# ---------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------
def _admin_check(snapshot, config_path: str) -> None:
    user = (snapshot.user if snapshot is not None else {}) or {}
    if user:
        preconditions.require_administrator(user, "writing %s and restarting the sensor's services needs local "
                                                  "administrator rights" % config_path)


def _encryptor(execute, password: str, host: str, variable: str):
    """``encrypt(thumbprint)`` for :func:`_sensor._config_plan.plan`: reads that certificate from LocalMachine\\My
    (one ``win_certificate_info``) only when called, i.e. only when a password must be encrypted."""

    def encrypt(thumbprint: str) -> str:
        certificate = sensor.read_certificate(execute, thumbprint)
        return sensor_secret.encryptor(password, certificate, host, variable)(thumbprint)

    return encrypt


def info_services(discovery: dict) -> dict:
    """Discovery's ``sensor.services`` (name -> entry with ``running`` and ``dependency_of``)."""
    return dict((discovery.get("sensor") or {}).get("services") or {})


def _current_file(execute, discovery: sensor.Discovery, ansi_codec: str):
    """(bytes, parsed or None, why not parsed) of the sensor's file: from the discovery, else one ``slurp``."""
    path = discovery["sensor"]["config_path"]
    cfg = discovery.config_file
    if cfg is not None:
        return cfg.raw, cfg, None
    data = sensor.read_file(execute, path)
    if data is None:
        return None, None, "%s does not exist" % path
    try:
        return data, sensor_config.parse(data, path, ansi_codec), None
    except sensor_config.SensorConfigError as exc:
        return data, None, "%s cannot be read: %s" % (path, exc)


def set_proxy(execute, upload, remote_copy, options: dict, check_mode: bool, host: str = "host",
              name: dict | None = None) -> SensorResult:
    """Set, clear or restore the v2 sensor's own proxy on one host: the whole of ``win_mdi_sensor_proxy``.

    Used by the action plugin, which maps its arguments and binds the remote access (as ansible.windows'
    ``win_reboot`` action calls ``plugin_utils._reboot.reboot_host``). Bad input fails before any remote call; then
    one state query reads what discovery needs and the backup manifest (:func:`_sensor._discovery.discovery_reads`,
    readiness left out), discovery adds the ``slurp`` of the sensor's file, and :func:`run` does the rest.

    Args:
        execute: ``execute(module_name, module_args) -> dict`` runs one ``ansible.windows`` module on the host and
            raises :class:`_common._errors.Disconnected` when the connection breaks.
        upload: ``upload({file name: bytes}, dest_dir) -> dict`` writes new files into a folder on the host and
            reads each back (:func:`_host._file_write.write`).
        remote_copy: ``remote_copy(src, dest) -> dict`` copies a file on the host (``win_copy``, ``remote_src``).
        options: the module's options: ``state``, ``url``, ``username``, ``password``, ``password_update`` (checked
            here), ``restart``, ``backup_dir``, ``backup_keep``, and what else :func:`run` reads.
        check_mode: read only, and say what would be written and restarted.
        host: the inventory name, for messages and the backup's comment.
        name: option -> the name messages use for it (the module: its ``name_prefix`` + the option;
            :data:`ROLE_NAMES` by default).

    Returns:
        :func:`run`'s result (:class:`_sensor._result.SensorResult`; its ``to_result()``: ``changed``, ``actions``,
        ``msg``, ``backup_file``, ``restarted``, ``verified``, ``diff``, ``written``, ``config_path``, ``proxy``,
        ``services`` and ``warnings``).

    Raises:
        UsageError: bad input, or a host without a v2 sensor; nothing was done.
        ChangeError: a change that failed, rolled back where it could; the message says what the host holds.
        ConnectionDropped: the connection broke; the details say what was written and where the backup is.
    """
    names = dict(ROLE_NAMES, **(name or {}))
    config_plan.validate(config_plan.ProxyRequest(options.get("state", "present"), options.get("url"),
                                                  options.get("username"), options.get("password"),
                                                  options.get("password_update", "on_create")), names)
    reads = sensor.discovery_reads(readiness=False)
    snapshot = remote.read_state(execute, reads["keys"] + [backup.MANIFEST_PATH], reads["processes"],
                                 reads["services"], reads["root_certificates"])
    discovery = sensor.discover(execute, snapshot, readiness=False)
    return run(execute, upload, remote_copy, discovery, options, check_mode, host=host, name=names)


def run(execute, upload, remote_copy, discovery: sensor.Discovery, options: dict, check_mode: bool,
        host: str = "host", manifest: backup.Manifest | None = None, name: dict | None = None) -> SensorResult:
    """Set (``state: present``), clear (``absent``) or restore (``source: backup``) the v2 sensor's own proxy.

    ``discovery``: :func:`_sensor._discovery.discover`'s result (its ``config_file`` and ``snapshot`` spare a
    read); ``options``: ``url``, ``username``, ``password``, ``password_update`` (``on_create``),
    ``keep_credentials`` (false: no user name stores none; the role keeps the stored ones), ``state``
    (``present``), ``restart`` (true), ``backup_dir``, ``backup_keep``, ``ansi_encoding`` (``cp1252``), and for a
    restore ``source: backup`` with an optional ``backup_file``; ``when``: the backup folder's stamp (to share
    the run's folder); ``manifest``: the backup manifest (else taken from the discovery's snapshot, else read);
    ``name``: option -> the variable messages name (:data:`ROLE_NAMES` by default).

    Returns :class:`_sensor._result.SensorResult`, whose ``to_result()`` is ``changed``, ``actions``, ``msg``,
    ``backup_file``, ``restarted``, ``verified``, ``diff``, ``written``, ``config_path``, ``proxy`` (the plan:
    ``reason``, ``before``, ``after``, ``password_encrypted``, ``password_kept``, ``certificate_thumbprint``),
    ``services`` and ``warnings``. Raises UsageError (bad input,
    nothing done), ChangeError (a change that failed, rolled back where it could) and ConnectionDropped.
    """
    names = dict(ROLE_NAMES, **(name or {}))
    info = discovery.get("sensor") or {}
    if info.get("generation") != "v2":
        found = {"v3": "a sensor v3, which connects through Defender for Endpoint and has no %s"
                       % sensor_config.FILE_NAME, None: "no Defender for Identity sensor"}.get(info.get("generation"))
        raise UsageError("%s has %s: the sensor's own proxy setting belongs to a sensor v2. Nothing was changed."
                         % (host, found))
    config_path = info["config_path"]
    ansi = options.get("ansi_encoding") or "cp1252"
    with preconditions.nothing_written_on_drop("%s was not changed." % config_path, "A rerun reads the file first.",
                                               restarted=[]):
        return _run(execute, upload, remote_copy, discovery, options, check_mode, host, manifest, names, config_path,
                    ansi)


def _run(execute, upload, remote_copy, discovery, options, check_mode, host, manifest, names, config_path, ansi):
    snapshot = discovery.snapshot
    backup_dir = options.get("backup_dir") or backup.DEFAULT_BACKUP_DIR
    if manifest is None:
        if snapshot is not None and snapshot.has(backup.MANIFEST_PATH):
            manifest = backup.manifest_from(snapshot.key(backup.MANIFEST_PATH))
    old, cfg, problem = _current_file(execute, discovery, ansi)
    result = SensorResult(config_path=config_path)
    if options.get("source") == "backup":
        if old is None:
            raise UsageError("%s does not exist, so there is nothing to back up before a restore; copy the backup "
                             "over it by hand. Nothing was changed." % config_path)
        if manifest is None:
            manifest = backup.read_manifest(execute)
        chosen = file_backup.choose_backup(execute, manifest, backup_dir, options.get("backup_file"), names)
        if chosen is None:
            result.msg = ("no backup of %s in %s on this host (%s lists none): nothing to restore"
                          % (sensor_config.FILE_NAME, backup_dir, backup.MANIFEST_PATH))
            return result
        path, saved, why = chosen
        data = file_backup.restored_bytes(saved, path, cfg, ansi,
                                          names["backup_file"] if options.get("backup_file") else "the newest backup")
        plan = file_backup.RestorePlan(data != old, "restore of %s (%s)" % (path, why),
                                       file_backup._summary_of(old, ansi), file_backup._summary_of(data, ansi), data)
        result.restored_from, result.trusted_because = path, why
    else:
        if cfg is None:
            raise UsageError("%s; the sensor_config method edits the file the sensor wrote, so nothing was changed. "
                             "Repair it (or restore a backup) first." % problem)
        request = config_plan.ProxyRequest(state=options.get("state") or "present", url=options.get("url"),
                                           username=options.get("username"), password=options.get("password"),
                                           password_update=options.get("password_update") or "on_create",
                                           keep_credentials=bool(options.get("keep_credentials")))
        encrypt = _encryptor(execute, request.password, host, names["password"]) if request.password else None
        plan = config_plan.plan(cfg, request, encrypt, names)
    result.plan = plan
    if not plan.changed:
        result.msg = "%s: %s" % (sensor_config.FILE_NAME, plan.reason)
        return result
    restart = options.get("restart", True) is not False
    services = info_services(discovery)
    updater = sensor_services.UPDATER_SERVICE if sensor_services.UPDATER_SERVICE in services else None
    result.changed = True
    result.actions.append(write_sentence(plan, check_mode))
    if restart and updater:
        result.actions.append(restarts.restart_sentence(updater, restarts._running_dependents(services, updater),
                                                        check_mode))
    elif not restart:
        result.warnings.append("%s is not restarted (%s: false): the running sensor keeps its old proxy until its "
                               "services restart" % (sensor_services.UPDATER_SERVICE, names["restart"]))
        result.restart_needed = [updater] if updater else []
    if check_mode:
        result.msg = "; ".join(result.actions)
        return result
    _admin_check(snapshot, config_path)
    if manifest is None:
        manifest = backup.read_manifest(execute)
    restoring = result.restored_from
    change = file_change.SensorChange(execute, upload, remote_copy, config_path, old, plan.data, services, restart,
                                      backup_dir, int(options.get("backup_keep") or backup.DEFAULT_KEEP), manifest,
                                      options.get("when") or backup.stamp(),
                                      comment="atp.sensor_proxy backup of %s%s" % (host, ", before restoring %s" % restoring
                                                                                   if restoring else ""),
                                      kind=backup.RESTORE if restoring else "", watch=options.get("watch"),
                                      log_files=list(options.get("log_files") or []),
                                      secrets=list(options.get("log_secrets") or []))
    try:
        done = change.run()
    except (ChangeError, ConnectionDropped) as exc:
        flat = result.to_result()
        exc.details.update(diff=flat["diff"], proxy=flat["proxy"])  # the message says what was done
        raise
    result.done(done)
    result.warnings += change.warnings
    result.msg = "; ".join(result.actions) + "; backup: %s" % change.backup_file
    return result

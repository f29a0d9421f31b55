# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One change of the sensor's ``SensorConfiguration.json`` (:class:`SensorChange`): back up, stop the updater, write,
read back, start it again, verify and roll back. :mod:`_sensor._change` plans it and calls it.

Pure logic with injected remote access, in the manner of :mod:`_wininet._registry_change`:

* ``execute(module_name, module_args) -> dict`` runs one ``ansible.windows`` module and raises
  :class:`_common._errors.Disconnected` when the connection breaks;
* ``upload(files, dest_dir) -> dict`` writes ``{file name: bytes}`` as new files into a folder on the host and
  reads each back (the action binds it to :func:`_host._file_write.write`: one ``ansible.windows.win_powershell``
  run, 1 WinRM command; returns :func:`_host._file_write.outcome`);
* ``remote_copy(src, dest) -> dict`` copies a file on the host with the ``win_copy`` action and
  ``remote_src: true`` (win_copy.ps1 ``remote`` mode, lines 363-425: ``Copy-File`` compares the SHA-1 of
  source and destination, removes the destination and ``Copy-Item``\\ s the source; it returns the source's
  ``checksum``; 1 command).

What :func:`_sensor._change.run` does for a change (steps 2-11: :class:`SensorChange`), with the round trips:

==  =====================================================================================================
 0  the plan, from the bytes discovery read (:class:`_sensor._discovery.Discovery`); the SecretManager certificate is
    read (``win_certificate_info``, 1) only when a password must be encrypted, and a missing one fails
    here, naming the password variable and the thumbprint: nothing is written
 1  the connection user must be an administrator (the state query discovery made says)
 2  the first time a backup directory is used: create and secure it (:func:`_host._backup.secure`, 5)
 3  upload into a new backup folder ``<backup_dir>\\atp_proxy_<UTC stamp>\\``: ``SensorConfiguration.json``
    (the exact bytes read), ``SensorConfiguration.new.json`` (the bytes to write) and ``manifest.reg`` (1)
 4  ``reg import manifest.reg`` (1): ``HKLM\\SOFTWARE\\atp.sensor_proxy\\Backups`` gets
    ``"<folder>\\SensorConfiguration.json" = "sha256:<hex>"`` (and the secured folder, and forgets pruned
    backups), so the backup is trusted before the sensor's file changes (:mod:`_host._backup`)
 5  stop ``AATPSensorUpdater`` as Set-MDISensorProxyConfiguration does before it writes (``Stop-Service -Force``,
    DefenderForIdentity module, docs/dev/sensor_sources.md "How Set- writes"): ``win_service`` ``state: stopped``,
    ``force_dependent_services: true`` (1); a running updater can hold the file, and Microsoft's order never
    replaces it under a running service
 6  remote copy of ``SensorConfiguration.new.json`` over the sensor's file (1): the bytes crossed the wire
    once, in step 3. A copy that fails (the file open in another process: win_copy's ``Remove-Item`` fails, and
    nothing changes) reads the file back (1); only when it is not the previous bytes is the backup put back;
    the updater is started again and a ChangeError names the backup: nothing is left half-written
 7  read back: ``win_stat`` SHA-256 of the sensor's file (1); a mismatch puts the backup back (remote copy and
    ``win_stat``, 2) and starts the updater again, before the sensor reads the new bytes
 8  start ``AATPSensorUpdater`` again, and the running services that depend on it (``Stop-Service -Force``
    stopped them): ``win_service`` ``state: started`` (1 each)
 9  one state query: ``AATPSensorUpdater`` and every sensor service that ran before (``AATPSensor``) are
    ``Running`` (1)
10  if not: the backup is copied back and read back (2), the updater restarted again (1), the services read
    (1), and a :class:`_common._errors.ChangeError` says what the host holds now
11  backups beyond ``backup_keep`` are deleted (1 each; their manifest entries went with step 4)
==  =====================================================================================================

So a converged host costs nothing here (discovery's 2 round trips only); a change 7 (12 the first time the
backup directory is used; +1 when a password is encrypted); check mode reads only (the certificate, when a
password would be encrypted) and reports "would write ...; would restart AATPSensorUpdater".

The password is encrypted on the controller (:func:`_sensor._secret.encrypt_password`); it is never in a
result, a message, a backup or a module argument. What crosses the wire, and sits in the backup folder
(secured: SYSTEM and Administrators only), is its ciphertext, which only the sensor's private key opens.

A dropped connection raises :class:`_common._errors.ConnectionDropped` with what was written, what may have been, the
backup and the step; a rerun plans from the file as it is, so it finishes the change or reports it done.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import (
    ChangeError,
    ConnectionDropped,
    Disconnected,
    RemoteError,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sensor_config
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _file_backup as file_backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _restart as restarts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _services as sensor_services
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _watch as sensor_watch

REG_EXE = "reg.exe"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class SensorChange:
    """Write ``new`` over the sensor's ``config_path`` (whose bytes are ``old``) with backup, verification,
    restart and rollback (see the module docstring for the steps)."""

    execute: object
    upload: object
    remote_copy: object
    config_path: str
    old: bytes = field(repr=False)
    new: bytes = field(repr=False)
    services: dict = field(default_factory=dict)  # discovery's sensor.services (state before the change)
    restart: bool = True
    backup_dir: str = backup.DEFAULT_BACKUP_DIR
    keep: int = backup.DEFAULT_KEEP
    manifest: backup.Manifest = field(default_factory=backup.Manifest)
    when: str = field(default_factory=backup.stamp)
    comment: str = "atp.sensor_proxy"
    kind: str = ""  # backup.RESTORE: a restore's backup of the file it replaces (its folder ends with _restore)
    watch: int | None = None  # seconds to watch the services after the restart (_sensor_watch); None: no watch
    log_files: list = field(default_factory=list)  # the error logs the watch reads
    watched: dict = field(default_factory=dict)
    secrets: list = field(default_factory=list, repr=False)  # masked out of the log lines the watch returns
    # Journal, for the result and for a connection drop.
    folder: str = ""
    backup_file: str = ""
    backup_pending: str = ""
    listed: bool = False  # the manifest entry was imported
    written: list = field(default_factory=list)
    maybe_written: list = field(default_factory=list)
    restarted: list = field(default_factory=list)
    pruned: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    secured: bool = False
    stopping: bool = False  # the updater was (being) stopped for the write and is not started again yet
    stage: str = "before anything was written"

    def details(self, **extra) -> dict:
        out = {"backup_file": self.backup_file, "written": list(self.written), "restarted": list(self.restarted),
               "pruned": list(self.pruned), "backup_dir_secured": self.secured, "config_path": self.config_path,
               "watch": {k: val for k, val in self.watched.items() if k != "samples"}}
        out.update(extra)
        return out

    # -- what to restart and check ------------------------------------------------
    @property
    def updater(self) -> str | None:
        return sensor_services.UPDATER_SERVICE if sensor_services.UPDATER_SERVICE in self.services else None

    def expected_running(self) -> list:
        """The updater (Restart-Service starts it) and every sensor service that ran before the change."""
        names = [self.updater] if self.updater else []
        return names + [n for n, e in self.services.items() if e.get("running") and n not in names]

    # -- steps ----------------------------------------------------------------
    def _dropped(self, exc: Exception) -> ConnectionDropped:
        parts = ["The connection to the host dropped %s (%s)." % (self.stage, exc)]
        if self.written:
            parts.append("Written: %s." % ", ".join(self.written))
        maybe = [p for p in self.maybe_written if p not in self.written]
        if maybe:
            parts.append("Possibly written (the copy may have run): %s." % ", ".join(maybe))
        if not self.written and not maybe:
            parts.append("%s was not changed." % self.config_path)
        if self.restarted:
            parts.append("Restarted: %s." % ", ".join(self.restarted))
        if self.stopping and not self.written and not maybe:
            parts.append("%s may have been stopped for the write: start it (Start-Service %s)."
                         % (self.updater, self.updater))
        pending = bool(not self.restarted and (self.written or maybe) and self.restart and self.updater)
        if pending:
            parts.append("%s may not have been restarted: with the new file in place a rerun finds nothing to change "
                         "and restarts nothing, so run Restart-Service %s -Force for the running sensor to take the "
                         "new proxy." % (self.updater, self.updater))
        if self.backup_file:
            parts.append("Backup of the previous file: %s (copy it back over %s to undo)."
                         % (self.backup_file, self.config_path))
        elif self.backup_pending:
            parts.append("The backup was being written to %s and may be there." % self.backup_pending)
        if not pending:
            parts.append("A rerun reads the file first, so it finishes the change or reports it done.")
        return ConnectionDropped(" ".join(parts), **self.details(
            maybe_written=maybe, dropped_at=self.stage, backup_pending=self.backup_pending,
            changed=bool(self.written or maybe or self.restarted)))

    def _manifest_reg(self, pruned: list) -> bytes:
        entry = backup.Entry(self.backup_file_path, backup.sha256(self.old))
        lines = backup.manifest_lines(entry, self.backup_dir if self.secured else None, pruned)
        return regfile.render(lines, "%s: the manifest entry of %s (the previous %s, %s UTC)."
                              % (self.comment, self.backup_file_path, sensor_config.FILE_NAME, self.when))

    @property
    def backup_file_path(self) -> str:
        return "%s\\%s" % (self.folder, file_backup.BACKUP_NAME)

    def _read_back(self) -> str | None:
        """SHA-256 of the sensor's file now (one ``win_stat``), or None when it is missing."""
        stat = remote.call(self.execute, file_backup.STAT_MODULE,
                           {"path": self.config_path, "get_checksum": True,
                            "checksum_algorithm": "sha256"}).get("stat") or {}
        return str(stat.get("checksum") or "").lower() if stat.get("exists") else None

    def _copy(self, src: str) -> None:
        copied = self.remote_copy(src, self.config_path)
        if copied.get("failed"):
            raise RemoteError("ansible.windows.win_copy", {"dest": self.config_path}, copied)

    def run(self) -> dict:
        try:
            return self._run()
        except Disconnected as exc:
            raise self._dropped(exc) from None

    def _run(self) -> dict:
        if not self.manifest.is_secured(self.backup_dir):
            self.stage = "while the backup folder was being secured"
            try:
                backup.secure(self.execute, self.backup_dir)
            except RemoteError as exc:
                raise ChangeError("Could not create and secure the backup folder %s (%s): %s. %s was not changed."
                                  % (self.backup_dir, exc.module, exc.remote_msg, self.config_path),
                                  **self.details(changed=False)) from None
            self.secured = True
        self.folder = backup.folder_for(self.backup_dir, self.when, self.kind)
        pruned = file_backup.to_prune(self.manifest, self.backup_dir, self.keep, self.kind)
        self.stage, self.backup_pending = "while the backup was being written", self.backup_file_path
        copied = self.upload({file_backup.BACKUP_NAME: self.old, file_backup.NEW_NAME: self.new,
                              file_backup.MANIFEST_NAME: self._manifest_reg(pruned)}, self.folder)
        if copied.get("failed"):
            raise ChangeError("Writing the backup to %s failed: %s. %s was not changed."
                              % (self.folder, copied.get("msg"), self.config_path), **self.details(changed=False))
        self.stage = "while the backup was being listed in %s" % backup.MANIFEST_PATH
        imported = remote.run_command(self.execute, [REG_EXE, "import",
                                                     "%s\\%s" % (self.folder, file_backup.MANIFEST_NAME), "/reg:64"])
        if imported.get("rc") != 0:
            output = (imported.get("stderr") or imported.get("msg") or "").strip()
            raise ChangeError("Listing the backup in %s failed (reg import rc %s: %s). %s was not changed; the "
                              "unlisted copy is in %s."
                              % (backup.MANIFEST_PATH, imported.get("rc"), output, self.config_path, self.folder),
                              **self.details(changed=False))
        self.backup_file, self.backup_pending, self.listed = self.backup_file_path, "", True

        stopped = self.restart and self.updater is not None
        if stopped:  # Set-MDISensorProxyConfiguration's order: Stop-Service -Force, write, Start-Service
            self.stage = "while %s was being stopped" % self.updater
            self.stopping = True
            result = self.execute(sensor_services.SERVICE_MODULE,
                                  {"name": self.updater, "state": "stopped", "force_dependent_services": True})
            if result.get("failed"):
                raise ChangeError("Stopping %s before writing %s failed: %s. %s was not changed (backup: %s)."
                                  % (self.updater, self.config_path, result.get("msg") or "no message",
                                     self.config_path, self.backup_file), **self.details(changed=False))

        self.stage, self.maybe_written = "while %s was being written" % self.config_path, [self.config_path]
        try:
            self._copy("%s\\%s" % (self.folder, file_backup.NEW_NAME))
        except RemoteError as exc:
            self._write_failed(exc.remote_msg, stopped)
        self.stage = "after %s was written, before it was read back" % self.config_path
        got = self._read_back()
        if got != sha256_hex(self.new):
            self._roll_back("verify after write failed: %s reads back %s instead of the bytes written"
                            % (self.config_path, "as missing" if got is None else "with SHA-256 %s" % got),
                            restart_again=stopped, down=self._stopped_dependents(stopped))
        self.written, self.maybe_written = [self.config_path], []

        verified_services = None
        if stopped:
            self.stage = "while %s was being restarted" % self.updater  # started again after the write
            done = self._start_again()
            down = restarts._not_running(done["states"], self.expected_running())
            if down or done["failures"]:
                failure = "; ".join("%s: %s" % kv for kv in done["failures"].items())
                self._roll_back("%s did not come back to running after the restart%s (now: %s)"
                                % (", ".join(down or list(done["failures"])), " (%s)" % failure if failure else "",
                                   restarts._states_text(done["states"])), restart_again=True, down=down)
            verified_services = done["states"]
            if self.watch is not None:  # does it keep running? (a sensor that cannot connect stops again)
                self.stage = "while the restarted services were watched"
                self.watched = sensor_watch.read(self.execute, self.expected_running(), self.log_files, self.watch,
                                                 self.secrets)
                failed = restarts._watch_failure(self.watched)
                if failed:
                    self._roll_back("%s after the restart (watched %d s)%s"
                                    % (failed, self.watch, restarts._logged(self.watched)),
                                    restart_again=True,
                                    down=[n for n, v in self.watched["verdicts"].items()
                                          if v != sensor_watch.RUNNING])
        elif self.restart:
            self.warnings.append("%s is not installed, so nothing was restarted; the sensor reads %s when it starts"
                                 % (sensor_services.UPDATER_SERVICE, sensor_config.FILE_NAME))
        self._prune(pruned)
        return self.details(changed=True, verified=True, services=verified_services or {})

    def _stopped_dependents(self, stopped: bool) -> list:
        return restarts._running_dependents(self.services, self.updater) if stopped else []

    def _start_again(self) -> dict:
        """Start the updater, and the running services its ``Stop-Service -Force`` stopped (they depend on it), then
        one state query (:func:`_sensor._restart._restart_services`). A started updater counts as restarted."""
        names = [self.updater] + restarts._running_dependents(self.services, self.updater)
        done = restarts._restart_services(self.execute, [], start=names)
        if self.updater not in done["failures"] and self.updater not in self.restarted:
            self.restarted.append(self.updater)
        self.stopping = False
        return done

    def _write_failed(self, why: str, stopped: bool) -> None:
        """The copy failed (the file is open in another process, access denied): read the file back; when it is not
        the previous bytes (win_copy removed it before copying), put the backup back; start the updater again;
        raise a ChangeError that names the backup and says what the host holds."""
        self.stage = "after writing %s failed" % self.config_path
        now_hash = self._read_back()
        if now_hash != sha256_hex(self.old):
            self._roll_back("Writing %s failed: %s" % (self.config_path, why), restart_again=stopped,
                            down=self._stopped_dependents(stopped))
        self.written, self.maybe_written = [], []
        states, also = {}, ""
        if stopped:
            self.stage = "while %s was being started again after the failed write" % self.updater
            done = self._start_again()
            states = done["states"]
            down = restarts._not_running(states, self.expected_running())
            if down or done["failures"]:
                also = " %s did not start again: start it (Start-Service %s) and read its event log." % (
                    ", ".join(down or list(done["failures"])), (down or list(done["failures"]))[0])
            else:
                also = " %s was started again." % self.updater
        raise ChangeError("Writing %s failed: %s. Nothing was written: the file reads back as before (backup: %s).%s"
                          "%s" % (self.config_path, why.rstrip("."), self.backup_file, also,
                                  " Now: services %s." % restarts._states_text(states) if states else ""),
                          **self.details(changed=bool(self.restarted), verified=False, services=states))

    def _roll_back(self, what: str, restart_again: bool, down=()) -> None:
        """Put the backup back, read it back; when the first restart ran, restart the updater again and start the
        services that ran before and are ``down`` now (Restart-Service leaves a stopped dependent stopped); then
        raise a ChangeError that says what the host holds now."""
        self.stage = "while the previous %s was being put back" % sensor_config.FILE_NAME
        problems, states, also = [], {}, []
        now_hash = None
        try:
            self._copy(self.backup_file)
            now_hash = self._read_back()
        except RemoteError as exc:
            problems.append("copying the backup back failed: %s" % exc.remote_msg)
        back = now_hash == sha256_hex(self.old)
        if back:
            self.written = []
        else:
            self.written = [self.config_path]
            if now_hash is not None:
                problems.append("%s does not read back as the backup (SHA-256 %s)" % (self.config_path, now_hash))
        if restart_again and self.updater:
            self.stage = "while %s was being restarted after the rollback" % self.updater
            also = [n for n in down if n != self.updater]
            done = restarts._restart_services(self.execute, [self.updater], start=also)
            self.stopping = False
            self.restarted += done["restarted"]
            states = done["states"]
            down = restarts._not_running(states, self.expected_running())
            still = down_now = restarts._not_running(states, self.expected_running())
            if down_now or done["failures"]:
                still = down_now or list(done["failures"])
                problems.append("after the rollback still not running: %s%s" % (", ".join(still), "".join(
                    " (%s: %s)" % (n, "its start failed again" if m in what else m)
                    for n, m in done["failures"].items())))
        else:
            still = []
        now = ["the host holds %s" % ("its previous %s" % sensor_config.FILE_NAME if back else
                                      "a %s that is not the previous one" % sensor_config.FILE_NAME)]
        if states:
            now.append("services: %s" % restarts._states_text(states))
        if problems:
            fixes = []
            if not back:
                fixes.append("Copy-Item -LiteralPath '%s' -Destination '%s' -Force"
                             % (self.backup_file, self.config_path))
            if still:
                fixes.append("Start-Service %s (and read the service's event log)" % ", ".join(still))
            fix = "; ".join(fixes)
            raise ChangeError("%s. Rolling back: %s. Now %s. To finish by hand: %s"
                              % (what, "; ".join(problems), "; ".join(now), fix),
                              **self.details(changed=True, rolled_back=back, verified=False, services=states,
                                             rollback_problems=problems))
        again = ""
        if restart_again and self.updater:
            again = " and %s was restarted again%s" % (self.updater, " (%s started)" % ", ".join(also) if also else "")
        raise ChangeError("%s. The previous %s was put back from %s and reads back identical%s. Now %s."
                          % (what, sensor_config.FILE_NAME, self.backup_file, again, "; ".join(now)),
                          **self.details(changed=bool(self.restarted), rolled_back=True, verified=False,
                                         services=states))

    def _prune(self, pruned: list) -> None:
        others = {e.folder.lower() for e in self.manifest.entries + self.manifest.files
                  if e not in pruned}
        # A folder shared with another backup keeps it: only this backup's files go.
        doomed = [(e.path, ["%s\\%s" % (e.folder, name)
                            for name in (file_backup.BACKUP_NAME, file_backup.NEW_NAME, file_backup.MANIFEST_NAME)]
                   if e.folder.lower() in others else [e.folder]) for e in pruned]
        self.pruned += backup.delete_old(self.execute, doomed, self.warnings)

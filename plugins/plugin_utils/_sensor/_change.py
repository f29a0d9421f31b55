# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sensor's own proxy (``SensorConfiguration.json``): back up, write, restart, verify and roll back; and the
restarts a WinINet change needs. The sensor_config write path of issue 13 (items 2, 3 and 4).

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

What :func:`run` does for a change (:class:`SensorChange`), with the round trips:

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

import base64
import hashlib
from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import (
    ChangeError,
    ConnectionDropped,
    Disconnected,
    RemoteError,
    UsageError,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sensor_config
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_plan as config_plan
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as sensor
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _secret as sensor_secret
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _services as sensor_services
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _watch as sensor_watch

BACKUP_NAME = sensor_config.FILE_NAME  # the previous bytes, exactly
NEW_NAME = "SensorConfiguration.new.json"  # the bytes written
MANIFEST_NAME = "manifest.reg"  # the manifest entries of this backup
STAT_MODULE = "ansible.windows.win_stat"
FILE_MODULE = "ansible.windows.win_file"
REG_EXE = "reg.exe"

# The names messages use for the options: the role's variables by default; a module passes its own.
ROLE_NAMES = dict(config_plan.ROLE_VARIABLES, restart="atp_proxy_restart_services",
                  backup_dir="atp_proxy_backup_dir", backup_keep="atp_proxy_backup_keep",
                  backup_file="atp_proxy_backup_file")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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


def _diff_text(path: str, proxy: dict) -> str:
    lines = ["# %s: %s" % (path, sensor_config.PROXY_KEY),
             "state: %s" % proxy.get("state"),
             "url: %s" % (proxy.get("url") or ""),
             "username: %s" % (proxy.get("username") or ""),
             "password: %s" % ("set (encrypted, certificate %s)" % proxy.get("certificate_thumbprint")
                               if proxy.get("password_set") else "none")]
    return "\n".join(lines) + "\n"


def diff_for(path: str, before: dict, after: dict) -> dict:
    """What ``--diff`` shows: the proxy member before and after, decoded; never the encrypted bytes."""
    return {"before_header": path, "after_header": path, "before": _diff_text(path, before),
            "after": _diff_text(path, after)}


def write_sentence(plan, check_mode: bool) -> str:
    """``would write SensorConfiguration.json: proxy (none) -> http://proxy.corp:8080``."""
    text = "%s %s: proxy %s -> %s" % ("would write" if check_mode else "wrote", sensor_config.FILE_NAME,
                                      describe(plan.before), describe(plan.after))
    if plan.encrypted:
        text += ", encrypted with the certificate %s" % plan.thumbprint
    return text


def restart_sentence(name: str, dependents, check_mode: bool) -> str:
    text = "%s %s" % ("would restart" if check_mode else "restarted", name)
    if dependents:
        text += " with the services that depend on it (%s)" % ", ".join(dependents)
    return text


def _restart_args(name: str) -> dict:
    return dict(sensor_services.RESTART_ARGS, name=name)


def _running_dependents(services: dict, name: str) -> list:
    entry = services.get(name) or {}
    return [d for d in entry.get("dependency_of") or [] if (services.get(d) or {}).get("running")]


# ---------------------------------------------------------------------------
# Restarts (the refresh after a WinINet change, issue 13 item 3)
# ---------------------------------------------------------------------------
def restart_plan(discovery: dict, changed_wininet: bool, check_mode: bool, already=()) -> dict:
    """Which sensor services must restart so that a running sensor takes a WinINet change, in order.

    A running service keeps the proxy it read at start (sensor_sources.md). For a v2 sensor both of its
    services read WinINet (the sensor as LocalService, the updater as LocalSystem, or the machine value under
    ProxySettingsPerUser=0): the updater is restarted first, as Microsoft's cmdlet does (with the services
    that depend on it), then the sensor, unless it depends on the updater (then it restarted with it) or was
    restarted already in this run (``already``: what :func:`run` restarted). Stopped services are left alone:
    they read the proxy when they start. A v3 sensor takes Defender for Endpoint's proxy, so nothing.

    Returns ``{services: [names], actions: [sentences], reasons: [why]}``; call :func:`restart` with
    ``services`` once per host per run (the role's job calls it after every write of the run).
    """
    out = {"services": [], "actions": [], "reasons": []}
    info = discovery.get("sensor") or {}
    if not changed_wininet:
        return out
    if info.get("generation") != "v2":
        if info.get("generation") == "v3":
            out["reasons"].append("sensor v3 takes Defender for Endpoint's proxy; a WinINet change restarts nothing")
        return out
    services = info.get("services") or {}
    done = {n.lower() for n in already}
    for name, entry in services.items():  # what restarted with a service restarted already
        if name.lower() in done:
            done |= {d.lower() for d in entry.get("dependency_of") or []}
    for name in (sensor_services.UPDATER_SERVICE, sensor_services.SENSOR_SERVICE):
        entry = services.get(name)
        if entry is None:
            continue
        if name.lower() in done:
            out["reasons"].append("%s was restarted already in this run" % name)
            continue
        if not entry.get("running"):
            out["reasons"].append("%s is %s; it reads the proxy when it starts" % (name, entry.get("state")))
            continue
        out["services"].append(name)
        out["reasons"].append("%s runs as %s and keeps the WinINet proxy it read at start" % (name, entry.get("account")))
        dependents = _running_dependents(services, name)
        out["actions"].append(restart_sentence(name, dependents, check_mode))
        done |= {name.lower()} | {d.lower() for d in dependents}
    return out


def _restart_services(execute, names: list, start=()) -> dict:
    """Restart each of ``names`` (``win_service`` restarted, force_dependent_services), start each of ``start``
    (``state: started``, nothing when it runs), then one state query of every sensor service.
    Returns ``{restarted, failures: {name: msg}, states: {name: state}}``; raises Disconnected."""
    restarted, failures = [], {}
    for name, args in [(n, _restart_args(n)) for n in names] + [(n, {"name": n, "state": "started"}) for n in start]:
        result = execute(sensor_services.SERVICE_MODULE, args)
        if result.get("failed"):
            failures[name] = str(result.get("msg") or "no message")
        elif args["state"] == "restarted":
            restarted.append(name)
    snapshot = remote.read_state(execute, services=list(dict.fromkeys(list(sensor_services.SERVICES) + list(names))))
    states = {str(s.get("name")): str(s.get("status")) for s in snapshot.services.values()}
    return {"restarted": restarted, "failures": failures, "states": states}


def _not_running(states: dict, expected) -> list:
    lower = {k.lower(): v for k, v in states.items()}
    return [n for n in expected if lower.get(n.lower()) != "Running"]


def _states_text(states: dict) -> str:
    return ", ".join("%s %s" % (n, s) for n, s in sorted(states.items())) or "no sensor service found"


def _watch_failure(watched: dict) -> str:
    """``AATPSensor stopped again (after 15 s)`` for the services the watch did not see running at its end."""
    bad = {n: v for n, v in (watched or {}).get("verdicts", {}).items() if v != sensor_watch.RUNNING}
    return ", ".join("%s %s%s" % (n, v, " (after %s s)" % watched["stopped_at"][n]
                                  if n in (watched.get("stopped_at") or {}) else "") for n, v in sorted(bad.items()))


def _logged(watched: dict) -> str:
    """``; its log says: <documented failure> (<cause>): <fix>`` when the watch's log lines name one."""
    logs = (watched or {}).get("logs") or {}
    known = logs.get("known") or []
    if known:
        return "; its log says: %s (%s): %s" % (known[0]["says"], known[0]["cause"], known[0]["fix"].rstrip("."))
    if logs.get("unknown_count"):
        return "; its log says: %s" % logs["unknown"][-1]["text"]
    return ""


def restart(execute, names, check_mode: bool, expect=(), watch: int | None = None, logs=(), secrets=()) -> dict:
    """Restart ``names`` (from :func:`restart_plan`) and check that they, and ``expect``, run again (1 round trip
    per service + 1 state query). Check mode restarts nothing and says "would restart".

    ``watch``: seconds to keep watching them afterwards (:mod:`_sensor._watch`, 1 round trip, which also reads the
    error ``logs``); a service that stops again, or never runs, fails the step as one that did not come back does.

    Returns ``{changed, restarted, actions, services: {name: status}, verified}``; raises ChangeError, saying
    what runs now, when a service does not come back (nothing else is changed: the WinINet values stay written).
    """
    names = list(names)
    if not names:
        return {"changed": False, "restarted": [], "actions": [], "services": {}, "verified": False}
    if check_mode:
        return {"changed": True, "restarted": [], "actions": ["would restart %s" % n for n in names],
                "services": {}, "verified": False}
    try:
        done = _restart_services(execute, names)
    except Disconnected as exc:
        raise ConnectionDropped("The connection to the host dropped while %s was being restarted (%s). The proxy "
                                "itself is written; check that the services run (Get-Service AATPSensor*)."
                                % (", ".join(names), exc), restarted=[], dropped_at="restart", changed=True) from None
    actions = ["restarted %s" % n for n in done["restarted"]]
    down = _not_running(done["states"], list(names) + list(expect))
    if down or done["failures"]:
        why = "; ".join("%s: %s" % kv for kv in done["failures"].items())
        raise ChangeError("%s did not come back to running after the restart%s. Now: %s. The proxy itself is written; "
                          "start the service (Start-Service %s) and check its event log."
                          % (", ".join(down or list(done["failures"])), " (%s)" % why if why else "",
                             _states_text(done["states"]), (down or list(done["failures"]))[0]),
                          changed=True, restarted=done["restarted"], actions=actions, services=done["states"],
                          verified=False)
    watched = {}
    if watch is not None:
        try:
            watched = sensor_watch.read(execute, list(names) + [n for n in expect if n not in names], logs, watch,
                                        secrets)
        except Disconnected as exc:
            raise ConnectionDropped("The connection to the host dropped while the restarted %s were watched (%s). The "
                                    "proxy itself is written and they were restarted; check that they still run "
                                    "(Get-Service AATPSensor*)." % (", ".join(names), exc),
                                    restarted=done["restarted"], dropped_at="watch", changed=True) from None
        failed = _watch_failure(watched)
        if failed:
            raise ChangeError("%s after the restart (watched %d s)%s. The proxy itself is written; start the service "
                              "again (Start-Service AATPSensor) once the cause is fixed." % (failed, watch,
                                                                                             _logged(watched)),
                              changed=True, restarted=done["restarted"],
                              actions=actions, services=done["states"], verified=False, watch=watched)
    return {"changed": True, "restarted": done["restarted"], "actions": actions, "services": done["states"],
            "verified": True, "watch": watched}


# ---------------------------------------------------------------------------
# Backups of the file, and restoring one
# ---------------------------------------------------------------------------
def is_sensor_backup(entry: backup.Entry) -> bool:
    return entry.path.lower().endswith("\\" + BACKUP_NAME.lower())


def sensor_backups(manifest: backup.Manifest, backup_dir: str | None = None) -> list:
    """The manifest's SensorConfiguration.json backups (of ``backup_dir``), oldest first."""
    base = backup_dir.rstrip("\\").lower() + "\\" if backup_dir else ""
    return [e for e in manifest.files if is_sensor_backup(e) and e.path.lower().startswith(base)]


def to_prune(manifest: backup.Manifest, backup_dir: str, keep: int) -> list:
    """The sensor backups of ``backup_dir`` beyond the newest ``keep - 1`` (a new one is about to join)."""
    entries = sensor_backups(manifest, backup_dir)
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
    try:
        content = remote.call(execute, sensor.SLURP_MODULE, {"src": path})
    except RemoteError as exc:
        raise UsageError("%s: cannot read %s on the host: %s. Nothing was changed."
                         % (names["backup_file"], path, exc.remote_msg)) from None
    data = base64.b64decode(content.get("content") or "")
    owner = None
    if manifest.lookup(path) is None:
        stat = remote.call(execute, STAT_MODULE, {"path": path, "get_checksum": False}).get("stat") or {}
        owner = stat.get("owner") if stat.get("exists") else None
    trusted, why = backup.trust(manifest, path, data, owner)
    if not trusted:
        raise UsageError("%s: refusing to restore: %s Nothing was changed." % (names["backup_file"], why))
    return path, data, why


@dataclass(frozen=True)
class RestorePlan:
    """What restoring a backup does (the same fields as :class:`_sensor._config_file.Plan` that the change reads)."""

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


# ---------------------------------------------------------------------------
# The change
# ---------------------------------------------------------------------------
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
        return "%s\\%s" % (self.folder, BACKUP_NAME)

    def _read_back(self) -> str | None:
        """SHA-256 of the sensor's file now (one ``win_stat``), or None when it is missing."""
        stat = remote.call(self.execute, STAT_MODULE, {"path": self.config_path, "get_checksum": True,
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
        pruned = to_prune(self.manifest, self.backup_dir, self.keep)
        self.stage, self.backup_pending = "while the backup was being written", self.backup_file_path
        copied = self.upload({BACKUP_NAME: self.old, NEW_NAME: self.new, MANIFEST_NAME: self._manifest_reg(pruned)},
                             self.folder)
        if copied.get("failed"):
            raise ChangeError("Writing the backup to %s failed: %s. %s was not changed."
                              % (self.folder, copied.get("msg"), self.config_path), **self.details(changed=False))
        self.stage = "while the backup was being listed in %s" % backup.MANIFEST_PATH
        imported = remote.run_command(self.execute, [REG_EXE, "import", "%s\\%s" % (self.folder, MANIFEST_NAME),
                                                     "/reg:64"])
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
            result = self.execute(sensor_services.SERVICE_MODULE, {"name": self.updater, "state": "stopped",
                                                          "force_dependent_services": True})
            if result.get("failed"):
                raise ChangeError("Stopping %s before writing %s failed: %s. %s was not changed (backup: %s)."
                                  % (self.updater, self.config_path, result.get("msg") or "no message",
                                     self.config_path, self.backup_file), **self.details(changed=False))

        self.stage, self.maybe_written = "while %s was being written" % self.config_path, [self.config_path]
        try:
            self._copy("%s\\%s" % (self.folder, NEW_NAME))
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
            down = _not_running(done["states"], self.expected_running())
            if down or done["failures"]:
                failure = "; ".join("%s: %s" % kv for kv in done["failures"].items())
                self._roll_back("%s did not come back to running after the restart%s (now: %s)"
                                % (", ".join(down or list(done["failures"])), " (%s)" % failure if failure else "",
                                   _states_text(done["states"])), restart_again=True, down=down)
            verified_services = done["states"]
            if self.watch is not None:  # does it keep running? (a sensor that cannot connect stops again)
                self.stage = "while the restarted services were watched"
                self.watched = sensor_watch.read(self.execute, self.expected_running(), self.log_files, self.watch,
                                                 self.secrets)
                failed = _watch_failure(self.watched)
                if failed:
                    self._roll_back("%s after the restart (watched %d s)%s"
                                    % (failed, self.watch, _logged(self.watched)),
                                    restart_again=True,
                                    down=[n for n, v in self.watched["verdicts"].items()
                                          if v != sensor_watch.RUNNING])
        elif self.restart:
            self.warnings.append("%s is not installed, so nothing was restarted; the sensor reads %s when it starts"
                                 % (sensor_services.UPDATER_SERVICE, sensor_config.FILE_NAME))
        self._prune(pruned)
        return self.details(changed=True, verified=True, services=verified_services or {})

    def _stopped_dependents(self, stopped: bool) -> list:
        return _running_dependents(self.services, self.updater) if stopped else []

    def _start_again(self) -> dict:
        """Start the updater, and the running services its ``Stop-Service -Force`` stopped (they depend on it), then
        one state query (:func:`_restart_services`). A started updater counts as restarted."""
        names = [self.updater] + _running_dependents(self.services, self.updater)
        done = _restart_services(self.execute, [], start=names)
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
            down = _not_running(states, self.expected_running())
            if down or done["failures"]:
                also = " %s did not start again: start it (Start-Service %s) and read its event log." % (
                    ", ".join(down or list(done["failures"])), (down or list(done["failures"]))[0])
            else:
                also = " %s was started again." % self.updater
        raise ChangeError("Writing %s failed: %s. Nothing was written: the file reads back as before (backup: %s).%s"
                          "%s" % (self.config_path, why.rstrip("."), self.backup_file, also,
                                  " Now: services %s." % _states_text(states) if states else ""),
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
            done = _restart_services(self.execute, [self.updater], start=also)
            self.stopping = False
            self.restarted += done["restarted"]
            states = done["states"]
            down = _not_running(states, self.expected_running())
            still = down_now = _not_running(states, self.expected_running())
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
            now.append("services: %s" % _states_text(states))
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
        doomed = [(e.path, ["%s\\%s" % (e.folder, name) for name in (BACKUP_NAME, NEW_NAME, MANIFEST_NAME)]
                   if e.folder.lower() in others else [e.folder]) for e in pruned]
        self.pruned += backup.delete_old(self.execute, doomed, self.warnings)


# ---------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------
def _admin_check(snapshot, config_path: str) -> None:
    user = (snapshot.user if snapshot is not None else {}) or {}
    if user and not user.get("administrator"):
        raise ChangeError("%s is not an enabled member of BUILTIN\\Administrators (S-1-5-32-544), and writing %s and "
                          "restarting the sensor's services needs local administrator rights. Nothing was changed. "
                          "Connect as an administrator, or use become with ansible.builtin.runas."
                          % (user.get("name") or "The connection user", config_path), changed=False)


def _encryptor(execute, password: str, host: str, variable: str):
    """``encrypt(thumbprint)`` for :func:`_sensor._config_file.plan`: reads that certificate from LocalMachine\\My
    (one ``win_certificate_info``) only when called, i.e. only when a password must be encrypted."""

    def encrypt(thumbprint: str) -> str:
        certificate = sensor.read_certificate(execute, thumbprint)
        return sensor_secret.encryptor(password, certificate, host, variable)(thumbprint)

    return encrypt


def info_services(discovery: dict) -> dict:
    """Discovery's ``sensor.services`` (name -> entry with ``running`` and ``dependency_of``)."""
    return dict((discovery.get("sensor") or {}).get("services") or {})


def _current_file(execute, discovery: dict, ansi_codec: str):
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


def run(execute, upload, remote_copy, discovery: dict, options: dict, check_mode: bool, host: str = "host",
        manifest: backup.Manifest | None = None, name: dict | None = None) -> dict:
    """Set (``state: present``), clear (``absent``) or restore (``source: backup``) the v2 sensor's own proxy.

    ``discovery``: :func:`_sensor._discovery.discover`'s result (its ``config_file`` and ``snapshot`` spare a
    read); ``options``: ``url``, ``username``, ``password``, ``password_update`` (``on_create``),
    ``keep_credentials`` (false: no user name stores none; the role keeps the stored ones), ``state``
    (``present``), ``restart`` (true), ``backup_dir``, ``backup_keep``, ``ansi_encoding`` (``cp1252``), and for a
    restore ``source: backup`` with an optional ``backup_file``; ``when``: the backup folder's stamp (to share
    the run's folder); ``manifest``: the backup manifest (else taken from the discovery's snapshot, else read);
    ``name``: option -> the variable messages name (:data:`ROLE_NAMES` by default).

    Returns ``changed``, ``actions``, ``msg``, ``backup_file``, ``restarted``, ``verified``, ``diff``, ``written``,
    ``config_path``, ``proxy`` (the plan: ``reason``, ``before``, ``after``, ``password_encrypted``,
    ``password_kept``, ``certificate_thumbprint``), ``services`` and ``warnings``. Raises UsageError (bad input,
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
    try:
        return _run(execute, upload, remote_copy, discovery, options, check_mode, host, manifest, names, config_path,
                    ansi)
    except Disconnected as exc:
        raise ConnectionDropped("The connection to the host dropped before anything was written (%s). %s was not "
                                "changed. A rerun reads the file first." % (exc, config_path), written=[],
                                maybe_written=[], backup_file="", restarted=[], dropped_at="before the change",
                                changed=False) from None


def _run(execute, upload, remote_copy, discovery, options, check_mode, host, manifest, names, config_path, ansi):
    snapshot = discovery.snapshot
    backup_dir = options.get("backup_dir") or backup.DEFAULT_BACKUP_DIR
    if manifest is None:
        if snapshot is not None and snapshot.has(backup.MANIFEST_PATH):
            manifest = backup.manifest_from(snapshot.key(backup.MANIFEST_PATH))
    old, cfg, problem = _current_file(execute, discovery, ansi)
    result = {"changed": False, "actions": [], "msg": "", "backup_file": "", "restarted": [], "verified": False,
              "written": [], "config_path": config_path, "diff": {}, "services": {}, "warnings": [], "proxy": {}}
    if options.get("source") == "backup":
        if old is None:
            raise UsageError("%s does not exist, so there is nothing to back up before a restore; copy the backup "
                             "over it by hand. Nothing was changed." % config_path)
        if manifest is None:
            manifest = backup.read_manifest(execute)
        chosen = choose_backup(execute, manifest, backup_dir, options.get("backup_file"), names)
        if chosen is None:
            result["msg"] = ("no backup of %s in %s on this host (%s lists none): nothing to restore"
                             % (sensor_config.FILE_NAME, backup_dir, backup.MANIFEST_PATH))
            return result
        path, data, why = chosen
        plan = RestorePlan(data != old, "restore of %s (%s)" % (path, why), _summary_of(old, ansi),
                           _summary_of(data, ansi), data)
        result.update(restored_from=path, trusted_because=why)
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
    result["proxy"] = plan.to_result()
    if not plan.changed:
        result["msg"] = "%s: %s" % (sensor_config.FILE_NAME, plan.reason)
        return result
    restart = options.get("restart", True) is not False
    services = info_services(discovery)
    updater = sensor_services.UPDATER_SERVICE if sensor_services.UPDATER_SERVICE in services else None
    result.update(changed=True, diff=diff_for(config_path, plan.before, plan.after))
    result["actions"].append(write_sentence(plan, check_mode))
    if restart and updater:
        result["actions"].append(restart_sentence(updater, _running_dependents(services, updater), check_mode))
    elif not restart:
        result["warnings"].append("%s is not restarted (%s: false): the running sensor keeps its old proxy until its "
                                  "services restart" % (sensor_services.UPDATER_SERVICE, names["restart"]))
        result["restart_needed"] = [updater] if updater else []
    if check_mode:
        result["msg"] = "; ".join(result["actions"])
        return result
    _admin_check(snapshot, config_path)
    if manifest is None:
        manifest = backup.read_manifest(execute)
    restoring = result.get("restored_from")
    change = SensorChange(execute, upload, remote_copy, config_path, old, plan.data, services, restart,
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
        exc.details.update(diff=result["diff"], proxy=result["proxy"])  # the message says what was done
        raise
    result.update(done)
    result["warnings"] += change.warnings
    result["msg"] = "; ".join(result["actions"]) + "; backup: %s" % change.backup_file
    return result

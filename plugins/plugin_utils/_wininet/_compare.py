# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare the WinINet proxy of the target accounts with a source.

Pure logic; remote reads go through :mod:`_host._remote` with an injected executor.

Remote round trips: ONE. Every key a compare needs (:func:`reads`: the source's Connections key,
each target's, and whether an absent target's hive is loaded) comes from one run of the collection's
read-only state query (:func:`_host._remote.read_state`); the caller can pass a snapshot it already read
with other keys, and then the compare costs nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet

# States of one value, worst last (a target's state is the worst of its values').
IDENTICAL, EQUIVALENT, DIFFERENT, MISSING, HIVE_NOT_LOADED = (
    "identical", "equivalent", "different", "missing", "hive_not_loaded",
)
STATE_ORDER = (IDENTICAL, EQUIVALENT, DIFFERENT, MISSING, HIVE_NOT_LOADED)
IN_SYNC_STATES = (IDENTICAL, EQUIVALENT)
NEEDS_WRITE = (DIFFERENT, MISSING)

SOURCE_KINDS = ("current_user", "sid", "value", "settings", "backup")
# Where each source kind takes its data from (for "needs the option ..." messages).
SOURCE_OPTION = {"sid": "source_sid", "value": "source_value", "settings": "settings", "backup": "backup_file"}


@dataclass
class Source:
    """The wanted settings. ``per_target`` (a restore) gives each (SID, value name) its own exact bytes."""

    kind: str
    settings: wininet.ConnectionSettings | None = None
    spec: dict | None = None
    sid: str | None = None
    path: str | None = None
    per_target: dict = field(default_factory=dict)  # (sid, lower name) -> bytes | None (None: delete)
    exact: bool = False  # rewrite equivalent values too, so that every byte matches

    def wanted_for(self, sid: str, name: str, current: wininet.ConnectionSettings | None):
        """The exact bytes to end with (None: the value must not exist).

        A copied blob is written byte for byte. A settings spec is encoded on top of the value it
        replaces: its counter plus one, its detection cache kept. A restore gives its own bytes.
        """
        if self.per_target:
            return self.per_target[(sid, name.lower())]
        if self.spec is not None:
            return wininet.settings_from_spec(self.spec, previous=current).to_bytes()
        return self.settings.to_bytes()

    def to_result(self) -> dict:
        out = {"kind": self.kind}
        if self.settings is not None:
            out.update(hex=self.settings.to_bytes().hex(), decoded=self.settings.to_dict(),
                       summary=wininet.describe(self.settings))
        if self.sid:
            out["sid"] = self.sid
            out["account"] = accounts.account_name(self.sid)
        if self.path:
            out["path"] = self.path
        return out


def _same(option: str) -> str:
    return option


def no_proxy_problem(spec: dict, settings: wininet.ConnectionSettings, name=_same) -> str | None:
    """Why the settings ``spec`` (built as ``settings``) are refused: its ``proxy_server`` is given empty, and no
    auto-config URL or auto-detection takes its place, so the accounts would silently go direct. Direct on purpose
    is ``state: absent`` (which the role writes as ``{auto_detect: false}``): it says so, and backs up as any write."""
    if "proxy_server" not in spec or str(spec["proxy_server"] or "").strip():
        return None
    if settings.flags_value & (wininet.FLAG_PROXY | wininet.FLAG_AUTO_CONFIG_URL | wininet.FLAG_AUTO_DETECT):
        return None
    # The role names its options with a prefix and removes the proxy with its state variable; the module has none.
    remove = "%s=absent" % name("state") if name("state") != "state" else "settings {auto_detect: false}"
    return ("%s.proxy_server: empty, and no auto_config_url or auto_detect: the accounts would go direct (no proxy). "
            "Give proxy_server (host:port), or %s to remove the proxy" % (name("settings"), remove))


def infer_source_kind(source: str | None, given: dict, name=_same) -> str:
    """The source kind from ``source`` and which of ``source_sid``/``source_value``/``settings``/``backup_file`` is set.

    ``name(option)`` spells an option in messages the way the caller knows it (a role's variable).
    """
    present = [option for option in ("source_sid", "source_value", "settings", "backup_file")
               if given.get(option) not in (None, "", {}, [])]
    implied = {v: k for k, v in SOURCE_OPTION.items()}
    if len(present) > 1:
        raise UsageError("%s are mutually exclusive: give exactly one source" % " and ".join(map(name, present)))
    if source is None:
        return implied[present[0]] if present else "current_user"
    if source not in SOURCE_KINDS:
        raise UsageError("%s: %r is not one of %s" % (name("source"), source, ", ".join(SOURCE_KINDS)))
    needed = SOURCE_OPTION.get(source)
    if needed and needed not in present and source != "backup":  # backup: the newest one by default
        raise UsageError("%s=%s needs the option %s" % (name("source"), source, name(needed)))
    if present and (not needed or present[0] != needed):
        raise UsageError("%s is given but %s=%s; drop it or set %s=%s"
                         % (name(present[0]), name("source"), source, name("source"), implied[present[0]]))
    return source


def clean_settings(settings):
    """Drop the sub-option defaults Ansible fills in (None) so the codec sees what the user gave."""
    if not settings:
        return settings
    return {key: value for key, value in settings.items() if value is not None}


def source_path(kind: str, source_sid=None, name=_same) -> str | None:
    """The key the source is read from (None for a literal value, a settings spec or a backup)."""
    if kind == "current_user":
        return accounts.connections_path(None)
    if kind == "sid":
        return accounts.connections_path(resolve(source_sid, name("source_sid")))
    return None


def reads(kind: str, source_sid, targets: list, name=_same) -> list:
    """Every key a compare of ``targets`` reads, for one state query."""
    paths = [source_path(kind, source_sid, name)] if source_path(kind, source_sid, name) else []
    return paths + [accounts.connections_path(sid) for sid in targets]


def _key(execute, snapshot, path: str) -> remote.KeyRead:
    if snapshot is not None and snapshot.has(path):
        return snapshot.key(path)
    return remote.read_state(execute, [path]).key(path)


def load_source(execute, kind: str, source_sid=None, source_value=None, settings=None, name=_same,
                snapshot=None) -> Source:
    """Resolve the wanted settings (not for ``backup``, see :mod:`_wininet._restore`). Raises UsageError or RemoteError."""
    if kind == "value":
        try:
            return Source("value", wininet.decode(source_value))
        except wininet.WinInetCodecError as exc:
            raise UsageError("%s: not a valid WinINet settings value: %s" % (name("source_value"), exc)) from None
    if kind == "settings":
        try:
            value = wininet.settings_from_spec(settings)
        except wininet.WinInetSettingsError as exc:
            raise UsageError("%s.%s" % (name("settings"), exc)) from None
        problem = no_proxy_problem(settings or {}, value, name)
        if problem:
            raise UsageError(problem)
        return Source("settings", value, spec=dict(settings))

    sid = resolve(source_sid, name("source_sid")) if kind == "sid" else None
    path = accounts.connections_path(sid)
    key = _key(execute, snapshot, path)
    value = key.get("DefaultConnectionSettings")
    if not key.exists or value is None:
        where = "HKU\\%s (%s)" % (sid, accounts.account_name(sid)) if sid else "the connection user's HKCU"
        if sid and not key.exists and key.hive_loaded is False:
            raise UsageError("%s: the hive HKU\\%s is not loaded on the host, so %s cannot be the source. "
                             "Use %s=settings to give the proxy declaratively."
                             % (name("source_sid"), sid, accounts.account_name(sid), name("source")))
        raise UsageError(
            "%s=%s: %s has no DefaultConnectionSettings under %s, so there is nothing to copy. Log on as that user "
            "and save the proxy in Internet Options > Connections > LAN settings, or give the proxy declaratively "
            "with %s=settings and %s." % (name("source"), kind, where, path, name("source"), name("settings")))
    if value.data is None:
        raise UsageError("the source %s\\DefaultConnectionSettings is %s, not REG_BINARY" % (path, value.type))
    try:
        decoded = wininet.decode(value.data)
    except wininet.WinInetCodecError as exc:
        raise UsageError("the source %s\\DefaultConnectionSettings is malformed: %s" % (path, exc)) from None
    return Source(kind, decoded, sid=sid, path=path)


def resolve(name, option: str) -> str:
    try:
        return accounts.resolve_sid(name, option)
    except accounts.AccountError as exc:
        raise UsageError(str(exc)) from None


@dataclass(frozen=True)
class Options:
    """The WinINet options as every later step uses them: the source kind, the settings as given (Ansible's
    ``None`` sub-option defaults dropped), the target SIDs and the canonical value names."""

    kind: str
    settings: dict | None
    targets: list
    value_names: list


def resolve_options(args: dict, name=_same) -> Options:
    """:func:`clean_settings`, :func:`infer_source_kind` and :func:`normalize_targets` of a module's options, once
    (raises :class:`UsageError` naming the option)."""
    settings = clean_settings(args.get("settings"))
    kind = infer_source_kind(args.get("source"), dict(args, settings=settings), name)
    targets, value_names = normalize_targets(args["targets"], args["value_names"], name)
    return Options(kind, settings, targets, value_names)


def normalize_targets(targets, value_names, name=_same) -> tuple:
    if not targets:
        raise UsageError("%s: give at least one SID, for example [S-1-5-18, S-1-5-19]" % name("targets"))
    sids = list(dict.fromkeys(resolve(item, name("targets")) for item in targets))
    names = []
    for value in value_names or []:
        canonical = next((v for v in wininet.VALUE_NAMES if v.lower() == str(value).lower()), None)
        if canonical is None:
            raise UsageError("%s: %r is not one of %s" % (name("value_names"), value, ", ".join(wininet.VALUE_NAMES)))
        if canonical not in names:
            names.append(canonical)
    if not names:
        raise UsageError("%s: give at least DefaultConnectionSettings" % name("value_names"))
    return sids, names


# ---------------------------------------------------------------------------
# Comparison of targets
# ---------------------------------------------------------------------------
def _decoded(data: bytes | None):
    if not data:
        return None
    try:
        return wininet.decode(data)
    except wininet.WinInetCodecError:
        return None


def compare_value(source: Source, sid: str, name: str, found: remote.RegValue | None) -> dict:
    """State of one value against what the source wants for it."""
    entry = {"name": name, "state": MISSING, "hex": "", "decoded": None, "summary": "(absent)",
             "differences": [], "error": ""}
    current = None
    if found is not None and found.data is None:
        entry.update(state=DIFFERENT, differences=["type"], error="the value is %s, not REG_BINARY" % found.type,
                     summary="(%s, not REG_BINARY)" % found.type)
    elif found is not None:
        entry["hex"] = found.data.hex()
        try:
            current = wininet.decode(found.data)
            entry.update(decoded=current.to_dict(), summary=wininet.describe(current))
        except wininet.WinInetCodecError as exc:
            entry.update(state=DIFFERENT, differences=["malformed"], error="malformed value: %s" % exc,
                         summary="(malformed)")
    wanted = source.wanted_for(sid, name, current)
    entry["wanted_hex"] = wanted.hex() if wanted is not None else None
    wanted_value = _decoded(wanted)
    entry["wanted_summary"] = wininet.describe(wanted_value) if wanted_value else "(absent)"
    if wanted is None:  # a restore deletes this value
        entry.update(state=IDENTICAL if found is None else DIFFERENT,
                     differences=[] if found is None else ["exists"])
    elif source.exact and found is not None and found.data is not None:
        # A restore puts back exact bytes: anything else, even an equivalent value, is different.
        if found.data == wanted:
            entry.update(state=IDENTICAL, differences=[])
        else:
            entry["state"] = DIFFERENT
            if current is not None and wanted_value is not None:
                entry["differences"] = wininet.compare(wanted_value, current)["differences"] or ["bytes"]
            elif not entry["differences"]:
                entry["differences"] = ["bytes"]
    elif current is not None:
        entry.update(wininet.compare(wanted_value or wanted, current))
    return entry


def compare_target(execute, source: Source, sid: str, value_names: list, snapshot=None) -> dict:
    """Compare one target's Connections key (from ``snapshot``, or one state query) value by value."""
    path = accounts.connections_path(sid)
    key = _key(execute, snapshot, path)
    target = {"sid": sid, "account": accounts.account_name(sid), "path": path, "hive_loaded": True}
    if not key.exists and key.hive_loaded is False:
        target["hive_loaded"] = False
        values = {}
        for name in value_names:
            wanted = source.wanted_for(sid, name, None)
            values[name] = {"name": name, "state": HIVE_NOT_LOADED, "hex": "", "decoded": None,
                            "summary": "(hive not loaded)", "differences": [],
                            "error": "the hive HKU\\%s is not loaded" % sid,
                            "wanted_hex": wanted.hex() if wanted is not None else None,
                            "wanted_summary": wininet.describe(_decoded(wanted)) if _decoded(wanted) else "(absent)"}
    else:
        values = {name: compare_value(source, sid, name, key.get(name)) for name in value_names}
    first = values[value_names[0]]
    target.update(
        state=max((v["state"] for v in values.values()), key=STATE_ORDER.index),
        hex=first["hex"],
        decoded=first["decoded"],
        summary=first["summary"],
        wanted_summary=first["wanted_summary"],
        differences=sorted({d for v in values.values() for d in v["differences"]}),
        values=values,
    )
    return target


def summarize(source: Source, targets: list) -> dict:
    """The compare result: the source, each target, and what needs doing."""
    return {
        "source": source.to_result(),
        "targets": targets,
        "in_sync": all(t["state"] in IN_SYNC_STATES for t in targets),
        "needs_write": [t["sid"] for t in targets if t["state"] in NEEDS_WRITE],
        "hive_not_loaded": [t["sid"] for t in targets if t["state"] == HIVE_NOT_LOADED],
    }


def compare_all(execute, args: dict) -> tuple:
    """Resolve the source and compare every target, from one state query: ``(Source, result dict)``."""
    options = resolve_options(args)
    kind, settings, targets, value_names = options.kind, options.settings, options.targets, options.value_names
    if kind == "backup":
        raise UsageError("source=backup restores a backup: use atp.sensor_proxy.win_wininet_proxy")
    snapshot = remote.read_state(execute, reads(kind, args.get("source_sid"), targets))
    source = load_source(execute, kind, args.get("source_sid"), args.get("source_value"), settings, snapshot=snapshot)
    compared = [compare_target(execute, source, sid, value_names, snapshot) for sid in targets]
    return source, summarize(source, compared)

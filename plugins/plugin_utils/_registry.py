# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remote registry access for the WinINet proxy plugins.

No Ansible runtime imports: every remote call goes through an injected
``execute(module_name, module_args) -> dict`` callable, which the action
plugins bind to ``self._execute_module`` and the unit tests to recorded
``ansible.windows`` results. Connection failures raised by ``execute`` are
never caught here, so Ansible marks the host unreachable.

Remote round trips (one ``ansible.windows`` module execution each):

* reading the source: 1 (``win_reg_stat`` of the ``Connections`` key; 0 for a
  literal value or a settings spec);
* reading the targets: 1 per target SID (one key read returns every value name);
* 1 more per target whose key is absent, to tell ``missing`` from
  ``hive_not_loaded`` (``win_reg_stat`` of ``HKU:\\<SID>``).

So a compare of HKCU against S-1-5-18 and S-1-5-19 costs 3 round trips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _wininet as wininet

CONNECTIONS_SUBKEY = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"

ACCOUNTS = {
    "S-1-5-18": "LocalSystem",
    "S-1-5-19": "LocalService",
    "S-1-5-20": "NetworkService",
}
_ALIASES = {
    "localsystem": "S-1-5-18",
    "system": "S-1-5-18",
    "nt authority\\system": "S-1-5-18",
    "localservice": "S-1-5-19",
    "local service": "S-1-5-19",
    "nt authority\\localservice": "S-1-5-19",
    "nt authority\\local service": "S-1-5-19",
    "networkservice": "S-1-5-20",
    "network service": "S-1-5-20",
    "nt authority\\networkservice": "S-1-5-20",
    "nt authority\\network service": "S-1-5-20",
}
SID_PATTERN = re.compile(r"^S-1-\d{1,13}(-\d{1,10}){1,15}$", re.IGNORECASE)

READ_MODULE = "ansible.windows.win_reg_stat"
WRITE_MODULE = "ansible.windows.win_regedit"

# States, worst last (a target's overall state is the worst of its values).
IDENTICAL, EQUIVALENT, DIFFERENT, MISSING, HIVE_NOT_LOADED = (
    "identical", "equivalent", "different", "missing", "hive_not_loaded",
)
STATE_ORDER = (IDENTICAL, EQUIVALENT, DIFFERENT, MISSING, HIVE_NOT_LOADED)
NEEDS_WRITE = (DIFFERENT, MISSING)

SOURCE_KINDS = ("current_user", "sid", "value", "settings")


class RemoteError(Exception):
    """An ``ansible.windows`` module call that failed on the host."""

    def __init__(self, module: str, args: dict, result: dict):
        self.module = module
        self.args = args
        self.result = result
        where = args.get("path") or args.get("dest") or args.get("src") or ""
        super().__init__("%s%s failed on the host: %s" % (
            module, " of %s" % where if where else "", result.get("msg") or "no message"))


class UsageError(ValueError):
    """Bad module options. The message names the option and the fix."""


def well_known_sid(name) -> str | None:
    """SID of a well-known service account name (``SYSTEM``, ``LocalService``, ``NT AUTHORITY\\...``), else None."""
    return _ALIASES.get(str(name or "").strip().lower())


def resolve_sid(name: str, option: str = "targets") -> str:
    """Map an account name or SID to a canonical SID string."""
    if not isinstance(name, str) or not name.strip():
        raise UsageError("%s: %r is not a SID or account name" % (option, name))
    text = name.strip()
    alias = _ALIASES.get(text.lower())
    if alias:
        return alias
    if SID_PATTERN.match(text):
        return "S" + text[1:].upper()
    raise UsageError(
        "%s: %r is neither a SID (such as S-1-5-19) nor one of LocalSystem, LocalService, NetworkService"
        % (option, text)
    )


def account_name(sid: str) -> str:
    return ACCOUNTS.get(sid, sid)


def key_path(sid: str | None) -> str:
    """``win_reg_stat`` / ``win_regedit`` path of the Connections key (HKCU when ``sid`` is None)."""
    if sid is None:
        return "HKCU:\\" + CONNECTIONS_SUBKEY
    return "HKU:\\%s\\%s" % (sid, CONNECTIONS_SUBKEY)


def reg_file_key(sid: str) -> str:
    """The same key as ``.reg`` files and ``reg.exe`` spell it."""
    return "HKEY_USERS\\%s\\%s" % (sid, CONNECTIONS_SUBKEY)


class CountingExecutor:
    """``execute(module_name, module_args)`` bound to an action plugin's ``_execute_module``; counts the calls."""

    def __init__(self, execute_module, task_vars: dict):
        self._execute_module = execute_module
        self._task_vars = task_vars
        self.calls: list = []

    def __call__(self, module_name: str, module_args: dict) -> dict:
        self.calls.append(module_name)
        return self._execute_module(module_name=module_name, module_args=module_args, task_vars=self._task_vars)


def call(execute, module: str, args: dict) -> dict:
    result = execute(module, args)
    if result.get("failed"):
        raise RemoteError(module, args, result)
    return result


@dataclass
class RegValue:
    """One registry value as read from the host."""

    name: str
    type: str
    data: bytes | None  # bytes for REG_BINARY / REG_NONE, None otherwise
    raw_value: object = None


@dataclass
class KeyRead:
    path: str
    exists: bool
    values: dict = field(default_factory=dict)


def read_key(execute, path: str) -> KeyRead:
    """One ``win_reg_stat`` of a whole key (no ``name``): every value in one round trip.

    ``win_reg_stat.ps1`` returns, for a key, ``exists`` and ``properties``
    (name -> ``{type, value, raw_value}``); REG_BINARY ``raw_value`` is a list of
    ``"0x46"`` strings. A key under an unloaded hive is ``exists: false``.
    """
    result = call(execute, READ_MODULE, {"path": path})
    if not result.get("exists"):
        return KeyRead(path, False)
    values = {}
    for name, prop in (result.get("properties") or {}).items():
        kind = prop.get("type", "")
        data = None
        if kind in ("REG_BINARY", "REG_NONE"):
            data = _reg_stat_bytes(prop.get("raw_value"))
        values[name.lower()] = RegValue(name, kind, data, prop.get("raw_value"))
    return KeyRead(path, True, values)


def _reg_stat_bytes(raw) -> bytes:
    """``win_reg_stat`` gives REG_BINARY as ``["0x46", ...]`` (``win_reg_stat.ps1``, Get-PropertyValue)."""
    if isinstance(raw, str):
        raw = [raw] if raw else []
    return bytes(int(str(item), 16) if isinstance(item, str) else int(item) for item in raw or [])


def hive_loaded(execute, sid: str) -> bool:
    return bool(call(execute, READ_MODULE, {"path": "HKU:\\%s" % sid}).get("exists"))


# ---------------------------------------------------------------------------
# Source resolution
# ---------------------------------------------------------------------------
@dataclass
class Source:
    kind: str
    settings: wininet.ConnectionSettings
    spec: dict | None = None
    sid: str | None = None
    path: str | None = None

    def wanted_for(self, current: wininet.ConnectionSettings | None) -> wininet.ConnectionSettings:
        """The exact value to write over ``current``.

        A copied blob is written byte for byte. A settings spec is encoded on top
        of the value it replaces: its counter plus one, its detection cache kept.
        """
        if self.spec is None:
            return self.settings
        return wininet.settings_from_spec(self.spec, previous=current)

    def to_result(self) -> dict:
        out = {
            "kind": self.kind,
            "hex": self.settings.to_bytes().hex(),
            "decoded": self.settings.to_dict(),
            "summary": wininet.describe(self.settings),
        }
        if self.sid:
            out["sid"] = self.sid
            out["account"] = account_name(self.sid)
        if self.path:
            out["path"] = self.path
        return out


def infer_source_kind(source: str | None, source_sid, source_value, settings) -> str:
    given = [name for name, value in (("source_sid", source_sid), ("source_value", source_value),
                                      ("settings", settings)) if value not in (None, "", {}, [])]
    if len(given) > 1:
        raise UsageError("%s are mutually exclusive: give exactly one source" % " and ".join(given))
    implied = {"source_sid": "sid", "source_value": "value", "settings": "settings"}
    if source is None:
        return implied[given[0]] if given else "current_user"
    if source not in SOURCE_KINDS:
        raise UsageError("source: %r is not one of %s" % (source, ", ".join(SOURCE_KINDS)))
    needed = {"sid": "source_sid", "value": "source_value", "settings": "settings"}.get(source)
    if needed and needed not in given:
        raise UsageError("source=%s needs the option %s" % (source, needed))
    if given and (not needed or given[0] != needed):
        raise UsageError("%s is given but source=%s; drop it or set source=%s" % (given[0], source, implied[given[0]]))
    return source


def load_source(execute, kind: str, source_sid=None, source_value=None, settings=None) -> Source:
    """Resolve the wanted settings. Raises UsageError (bad input) or RemoteError."""
    if kind == "value":
        try:
            return Source("value", wininet.decode(source_value))
        except wininet.WinInetCodecError as exc:
            raise UsageError("source_value: not a valid WinINet settings value: %s" % exc) from None
    if kind == "settings":
        try:
            return Source("settings", wininet.settings_from_spec(settings), spec=dict(settings))
        except wininet.WinInetSettingsError as exc:
            raise UsageError("settings.%s" % exc) from None

    sid = resolve_sid(source_sid, "source_sid") if kind == "sid" else None
    path = key_path(sid)
    where = "HKU\\%s" % sid if sid else "the connection user's HKCU"
    key = read_key(execute, path)
    value = key.values.get("defaultconnectionsettings")
    if not key.exists or value is None:
        hint = (
            "log on as that user once and save the proxy in Internet Options > Connections > LAN settings, "
            "or use source=settings to give the proxy declaratively"
        )
        if sid and not key.exists and not hive_loaded(execute, sid):
            raise UsageError("source_sid: the hive HKU\\%s is not loaded on the host; %s" % (sid, hint))
        raise UsageError("the source %s has no DefaultConnectionSettings under %s; %s" % (where, path, hint))
    if value.data is None:
        raise UsageError("the source %s\\DefaultConnectionSettings is %s, not REG_BINARY" % (path, value.type))
    try:
        decoded = wininet.decode(value.data)
    except wininet.WinInetCodecError as exc:
        raise UsageError("the source %s\\DefaultConnectionSettings is malformed: %s" % (path, exc)) from None
    return Source(kind, decoded, sid=sid, path=path)


# ---------------------------------------------------------------------------
# Comparison of targets
# ---------------------------------------------------------------------------
def _compare_value(source: Source, name: str, found: RegValue | None) -> dict:
    entry = {"name": name, "state": MISSING, "hex": "", "decoded": None, "differences": [], "error": ""}
    current = None
    if found is None:
        wanted = source.wanted_for(None)
    elif found.data is None:
        entry.update(state=DIFFERENT, differences=["type"],
                     error="the value is %s, not REG_BINARY" % found.type)
        wanted = source.wanted_for(None)
    else:
        entry["hex"] = found.data.hex()
        try:
            current = wininet.decode(found.data)
        except wininet.WinInetCodecError as exc:
            entry.update(state=DIFFERENT, differences=["malformed"], error="malformed value: %s" % exc)
        wanted = source.wanted_for(current)
        if current is not None:
            entry["decoded"] = current.to_dict()
            entry["summary"] = wininet.describe(current)
            entry.update(wininet.compare(wanted, current))
    entry["wanted_hex"] = wanted.to_bytes().hex()
    entry["wanted_summary"] = wininet.describe(wanted)
    return entry


def compare_targets(execute, source: Source, targets: list, value_names: list) -> list:
    """Read each target's Connections key (one round trip each) and compare every value name."""
    out = []
    for sid in targets:
        path = key_path(sid)
        key = read_key(execute, path)
        target = {"sid": sid, "account": account_name(sid), "path": path}
        if not key.exists and not hive_loaded(execute, sid):
            values = {name: {"name": name, "state": HIVE_NOT_LOADED, "hex": "", "decoded": None,
                             "differences": [], "error": "the hive HKU\\%s is not loaded" % sid,
                             "wanted_hex": source.wanted_for(None).to_bytes().hex()}
                      for name in value_names}
        else:
            values = {name: _compare_value(source, name, key.values.get(name.lower())) for name in value_names}
        first = values[value_names[0]]
        target.update(
            state=max((v["state"] for v in values.values()), key=STATE_ORDER.index),
            hex=first["hex"],
            decoded=first["decoded"],
            differences=sorted({d for v in values.values() for d in v["differences"]}),
            values=values,
        )
        out.append(target)
    return out


def in_sync(targets: list) -> bool:
    return all(t["state"] in (IDENTICAL, EQUIVALENT) for t in targets)


def normalize_targets(targets, value_names) -> tuple:
    if not targets:
        raise UsageError("targets: give at least one SID, for example [S-1-5-18, S-1-5-19]")
    sids = []
    for item in targets:
        sid = resolve_sid(item)
        if sid not in sids:
            sids.append(sid)
    names = []
    for name in value_names or []:
        canonical = next((v for v in wininet.VALUE_NAMES if v.lower() == str(name).lower()), None)
        if canonical is None:
            raise UsageError("value_names: %r is not one of %s" % (name, ", ".join(wininet.VALUE_NAMES)))
        if canonical not in names:
            names.append(canonical)
    if not names:
        raise UsageError("value_names: give at least DefaultConnectionSettings")
    return sids, names


# ---------------------------------------------------------------------------
# Option specification shared by the compare and apply action plugins
# (kept in sync with the doc stubs by tests/unit/plugins/action/test_docs_match_spec.py)
# ---------------------------------------------------------------------------
SETTINGS_SUBOPTIONS = {
    "proxy_server": {"type": "str"},
    "bypass": {"type": "list", "elements": "str"},
    "auto_config_url": {"type": "str"},
    "auto_detect": {"type": "bool", "default": False},
}

SOURCE_ARGUMENT_SPEC = {
    "source": {"type": "str", "choices": list(SOURCE_KINDS)},
    "source_sid": {"type": "str"},
    "source_value": {"type": "raw"},
    "settings": {"type": "dict", "options": SETTINGS_SUBOPTIONS},
    "targets": {"type": "list", "elements": "str", "default": ["S-1-5-18", "S-1-5-19"]},
    "value_names": {"type": "list", "elements": "str", "default": ["DefaultConnectionSettings"],
                    "choices": list(wininet.VALUE_NAMES)},
}


def clean_settings(settings):
    """Drop the sub-option defaults Ansible fills in (None) so the codec sees what the user gave."""
    if not settings:
        return settings
    return {key: value for key, value in settings.items() if value is not None}


def compare_all(execute, args: dict) -> dict:
    """The whole module behaviour, as a function of an executor and validated options."""
    settings = clean_settings(args.get("settings"))
    kind = infer_source_kind(args.get("source"), args.get("source_sid"), args.get("source_value"), settings)
    targets, value_names = normalize_targets(args["targets"], args["value_names"])
    source = load_source(execute, kind, args.get("source_sid"), args.get("source_value"), settings)
    compared = compare_targets(execute, source, targets, value_names)
    return {
        "source": source.to_result(),
        "targets": compared,
        "in_sync": in_sync(compared),
        "needs_write": [t["sid"] for t in compared if t["state"] in NEEDS_WRITE],
        "hive_not_loaded": [t["sid"] for t in compared if t["state"] == HIVE_NOT_LOADED],
    }

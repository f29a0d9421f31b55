# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan: what the host holds against what the options want (:func:`_desired.desired`), as one
:class:`SettingPlan` per managed setting, with the ``_wininet._registry_change.Pending`` write of each that
differs, a decoded diff and one sentence per change.

Pure Python, no Ansible imports; the keys the plan needs (:func:`reads`) come from the caller's state query, and
the ones it lacks are read here in one more (:func:`_host._remote.read_state`). ``winhttp_source=ie`` is planned
as ``win_http_proxy source: ie`` would set it ([winhttp] in :mod:`_catalogue`): from the WinINet value of the
account the task runs as, or of another account the caller names (``ie_from``, :func:`copy_of`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._argspec import namer
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import ChangeError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde._catalogue import (
    AV_PROXY_SERVER,
    CURRENT_USER_CONNECTIONS,
    FROM_IE,
    TELEMETRY_PROXY_SERVER,
    WINHTTP,
    WINHTTP_MODULE,
    Setting,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde._desired import desired, problem
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _registry_change as apply
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet._winhttp import (
    WinHttp,
    winhttp_bytes,
    winhttp_of,
)

# The registry types a before.reg can give back exactly (_regfile.value_lines: str, int as dword, bytes as hex:).
_RESTORABLE = ("REG_SZ", "REG_EXPAND_SZ", "REG_DWORD", "REG_BINARY", "REG_NONE")

# The settings that hold a proxy (host:port, or scheme://host:port): compared without letter case.
CASE_INSENSITIVE = (TELEMETRY_PROXY_SERVER, AV_PROXY_SERVER)


def winhttp_from_ie(key: remote.KeyRead, name, runs_as: str) -> tuple:
    """(WinHttp, warnings): what ``win_http_proxy source=ie`` will set, from the WinINet value of the
    account the task runs as (read as HKCU). Raises :class:`UsageError` when the module would fail or lose
    the account's PAC URL / auto-detect."""
    who = runs_as or "the account this task runs as"
    value = key.get("DefaultConnectionSettings") if key.exists else None
    if value is None or value.data is None:
        raise problem(name, "winhttp_source", "ie copies the WinINet proxy of %s, but that account has no "
                      "DefaultConnectionSettings (%s), so win_http_proxy would fail "
                      "(WinHttpGetIEProxyConfigForCurrentUser finds no Internet Explorer proxy settings). Set that "
                      "account's WinINet proxy first (the MDI step sets SYSTEM's), run the task as another account "
                      "(become_user), or use %s=proxy_server" % (who, CURRENT_USER_CONNECTIONS,
                                                                 name("winhttp_source")))
    try:
        settings = wininet.decode(value.data)
    except wininet.WinInetCodecError as exc:
        raise problem(name, "winhttp_source", "ie copies the WinINet proxy of %s, but its DefaultConnectionSettings "
                      "is not a valid WinINet value (%s); fix it, or use %s=proxy_server"
                      % (who, exc, name("winhttp_source"))) from None
    flags = settings.flags
    if flags["proxy"] and settings.proxy_server:
        return WinHttp(settings.proxy_server, settings.bypass_string or None), []
    lost = [what for what, on in (("a PAC URL (%s)" % settings.auto_config_url, flags["auto_config_url"]),
                                  ("automatic detection (WPAD)", flags["auto_detect"])) if on]
    if lost:
        raise problem(name, "winhttp_source", "ie copies only the proxy server and bypass list of %s's WinINet "
                      "setting (win_http_proxy documents: \"Only IE's proxy URL and bypass list will be imported\"), "
                      "and that account uses %s without a proxy server, so WinHTTP would be set to direct. Use "
                      "%s=proxy_server with the proxy the PAC file returns"
                      % (who, " and ".join(lost), name("winhttp_source")))
    return WinHttp(None, None), ["%s's WinINet setting is direct (no proxy): %s=ie sets WinHTTP to direct" % (
        who, name("winhttp_source"))]


def _current(value: remote.RegValue | None):
    """(python value or None, registry type or None)."""
    if value is None:
        return None, None
    return (value.data if value.data is not None else value.value), value.type


def _text(setting: Setting, current, kind) -> str:
    if current is None:
        return "(absent)"
    if setting is WINHTTP:
        found = winhttp_of(current)
        return "(malformed: %d bytes)" % len(current) if found is None else found.text()
    if kind == "REG_DWORD" or isinstance(current, int):
        return "%d" % current
    if isinstance(current, (bytes, bytearray)):
        return "%s bytes %s" % (kind, bytes(current).hex())
    return "%s" % (current,) + ("" if kind in (None, setting.reg_type) else " (%s)" % kind)


# ---------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------
@dataclass
class SettingPlan:
    """One managed setting: what the host holds, what it should hold, and the pending write (if it differs)."""

    setting: Setting
    current: object
    current_type: str | None
    wanted: object  # str / int / WinHttp
    changed: bool
    current_text: str
    wanted_text: str
    pending: apply.Pending | None = None
    note: str = ""  # WinHTTP from ie: whose WinINet setting

    def to_result(self) -> dict:
        return {"name": self.setting.name, "label": self.setting.label, "path": self.setting.path,
                "value_name": self.setting.value_name, "type": self.setting.reg_type,
                "current": self.current_text, "wanted": self.wanted_text, "changed": self.changed,
                "source": self.setting.source}

    def sentence(self, check_mode: bool) -> str:
        verb = "would set" if check_mode else "set"
        if self.wanted is None:
            verb = "would remove" if check_mode else "removed"
        return "%s %s: %s -> %s%s" % (verb, self.setting.label, self.current_text, self.wanted_text,
                                      " (%s)" % self.note if self.note else "")

    def diff(self) -> dict:
        header = "%s\\%s" % (self.setting.path, self.setting.value_name)
        if self.setting is WINHTTP:
            def lines(value: WinHttp) -> list:
                return ["proxy: %s" % (value.proxy or "(none: direct)"), "bypass: %s" % (value.bypass or "(none)")]

            head = "# %s (%s)" % (self.setting.label, self.note or "win_http_proxy")
            before = ["(absent)"] if self.current is None else (
                lines(winhttp_of(self.current)) if winhttp_of(self.current) else [self.current_text])
            return {"before_header": header, "after_header": header,
                    "before": "\n".join([head] + before) + "\n", "after": "\n".join([head] + lines(self.wanted)) + "\n"}
        head = "# %s (%s)" % (self.setting.label, self.setting.reg_type)
        return {"before_header": header, "after_header": header,
                "before": "%s\n%s\n" % (head, self.current_text), "after": "%s\n%s\n" % (head, self.wanted_text)}


@dataclass
class Plan:
    settings: list = field(default_factory=list)  # [SettingPlan], in SETTINGS order
    warnings: list = field(default_factory=list)
    reads: list = field(default_factory=list)  # the keys read from the host (round trips), in order
    runs_as: str = ""  # the account whose WinINet setting winhttp_source=ie copies (the account the task runs as)

    @property
    def items(self) -> list:
        """The ``_wininet._registry_change.Pending`` items of what differs."""
        return [s.pending for s in self.settings if s.changed]

    @property
    def changed_settings(self) -> list:
        return [s.setting.name for s in self.settings if s.changed]

    def diff(self) -> list:
        return [s.diff() for s in self.settings if s.changed]

    def actions(self, check_mode: bool) -> list:
        return [s.sentence(check_mode) for s in self.settings if s.changed]

    def to_result(self, check_mode: bool) -> dict:
        return {"settings": [s.to_result() for s in self.settings], "changed_settings": self.changed_settings,
                "actions": self.actions(check_mode), "diff": self.diff(),
                "backups": [s.pending.to_result() for s in self.settings if s.changed]}


def lookup(values: dict | None, path: str):
    """The ``KeyRead`` of ``path`` in ``values`` (registry paths ignore case), or None."""
    for key, read in (values or {}).items():
        if key.lower() == path.lower():
            return read
    return None


def _restorable(setting: Setting, value: remote.RegValue | None):
    """The old value as a before.reg can write it back, or a ChangeError (nothing is written)."""
    if value is None:
        return None
    if value.type not in _RESTORABLE or (value.data is None and not isinstance(value.value, (str, int))):
        raise ChangeError("%s\\%s is %s, which a .reg backup cannot give back exactly, so nothing was changed. Delete "
                          "the value (or set it as %s) and run again."
                          % (setting.path, setting.value_name, value.type, setting.reg_type), changed=False)
    return value.data if value.data is not None else value.value


def reads(options: dict, name=None, wanted: list | None = None) -> list:
    """Every registry key :func:`plan` needs for these options (validated first), for ONE state query: a caller
    that reads other keys too (the role's job) adds these to its own query and passes the result as ``values``.
    ``wanted``: what :func:`_desired.desired` gave for these options, when the caller has it (not computed again)."""
    return _paths(wanted if wanted is not None else desired(options, name))


def _paths(wanted: list) -> list:
    paths = list(dict.fromkeys(w.setting.path for w in wanted))
    if any(w.value is FROM_IE for w in wanted):
        paths.append(CURRENT_USER_CONNECTIONS)
    return paths


def plan(execute, options: dict, values: dict | None = None, name=None, runs_as: str = "",
         ie_from: tuple | None = None, wanted: list | None = None) -> Plan:
    """What differs between the host and the wanted settings (:func:`desired`): the
    ``_wininet._registry_change.Pending`` items, a decoded diff and one sentence per change.

    ``values``: ``{path: _remote.KeyRead}`` the caller already read (a ``_remote.Snapshot``'s ``keys`` will do);
    the keys of :func:`reads` it lacks are read here in one state query (:func:`_remote.read_state`), none when it
    has them all. ``runs_as`` names the account the task runs as, for ``winhttp_source=ie``; ``ie_from``
    (:func:`copy_of`) plans it from another account's WinINet value instead, written as the explicit proxy and
    bypass it holds (:func:`_explicit`). Options are validated, once, before anything is read (``wanted``: what
    :func:`_desired.desired` gave for these options, when the caller has it: not computed again). The items can join
    another change (``_wininet._write.run(extra_items=...)``): they carry their own backup value, and WinHTTP is
    written by ``win_http_proxy`` (``write_with``) and verified decoded. :func:`_run.run` writes this plan.
    """
    name = name or namer("")
    wanted = wanted if wanted is not None else desired(options, name)
    paths = _paths(wanted)
    if ie_from:
        values = {k: v for k, v in (values or {}).items() if k.lower() != CURRENT_USER_CONNECTIONS.lower()}
        values[CURRENT_USER_CONNECTIONS.lower()], runs_as = ie_from
    result = Plan()
    keys = {}
    missing = []
    for path in paths:
        read = lookup(values, path)
        if read is None:
            missing.append(path)
        else:
            keys[path.lower()] = read
    if missing:
        snapshot = remote.read_state(execute, missing)
        result.reads = missing
        keys.update({path.lower(): snapshot.key(path) for path in missing})
        runs_as = runs_as or str(snapshot.user.get("name") or "")
    for item in wanted:
        setting = item.setting
        key = keys[setting.path.lower()]
        found = key.get(setting.value_name) if key.exists else None
        current, kind = _current(found)
        note = ""
        if setting is WINHTTP:
            target = item.value
            if target is FROM_IE:
                target, warnings = winhttp_from_ie(keys[CURRENT_USER_CONNECTIONS.lower()], name, runs_as)
                result.warnings += warnings
                note = "win_http_proxy source=ie: the WinINet setting of %s" % (runs_as or "the account the task "
                                                                                "runs as")
            binary = kind in (None, "REG_BINARY")
            now = winhttp_of(current) if binary else None
            changed = now is None or not now.same_as(target)
            current_text = _text(setting, current, kind) if binary else "(%s, not a WinHTTP value)" % kind
            entry = SettingPlan(setting, current, kind, target, changed, current_text, target.text(), note=note)
            if changed:
                args = item.module_args if item.value is not FROM_IE else {"source": "ie"}
                entry.pending = apply.Pending(
                    None, setting.path, setting.value_name, _restorable(setting, found),
                    "missing" if found is None else "different", winhttp_bytes(target, current), key=setting.reg_key,
                    label=setting.name, write_with=(WINHTTP_MODULE, dict(args)),
                    matches=lambda got, want=target: (winhttp_of(got) or WinHttp("\0", None)).same_as(want))
        else:
            target = item.value
            if target is None:  # removed (Clear-MDISensorProxyConfiguration): a change only when it is there
                changed = found is not None
            elif setting in CASE_INSENSITIVE and isinstance(current, str) and isinstance(target, str):
                # A proxy's scheme and host name ignore letter case: a GPO that writes PROXY.corp must not have the
                # value rewritten on every run (Defender for Endpoint reads either the same way).
                changed = not (kind == setting.reg_type and current.lower() == target.lower())
            else:
                changed = not (kind == setting.reg_type and current == target)
            entry = SettingPlan(setting, current, kind, target, changed, _text(setting, current, kind),
                                _text(setting, target, setting.reg_type), note=item.owner and "the sensor v3's proxy")
            if changed:
                if kind == "REG_EXPAND_SZ":
                    result.warnings.append("%s\\%s was REG_EXPAND_SZ; it is written as REG_SZ, and its backup "
                                           "restores the text as REG_SZ" % (setting.path, setting.value_name))
                entry.pending = apply.Pending(
                    None, setting.path, setting.value_name, _restorable(setting, found),
                    "missing" if found is None else "different", target, key=setting.reg_key, label=setting.name)
        result.settings.append(entry)
    result.runs_as = runs_as
    if ie_from:
        _explicit(result)
    return result


def copy_of(key: remote.KeyRead, account: str) -> tuple:
    """``(key, runs_as)`` for the ``ie_from`` of :func:`plan` (and of :func:`_run.run`): WinHTTP from
    ``account``'s WinINet value as ``key`` holds it (a caller that knows what its own run leaves there, like the
    role's job, builds that key)."""
    return remote.KeyRead(CURRENT_USER_CONNECTIONS, key.exists, dict(key.values), [], key.hive_loaded), account


def _explicit(the_plan: Plan) -> None:
    """``winhttp_source=ie`` computed from another account (``ie_from``): win_http_proxy sets the proxy and
    bypass it found, as ``source: ie`` would for that account; ``source: ie`` itself reads the connection
    user's own settings (win_http_proxy.ps1 lines 194-209)."""
    for entry in the_plan.settings:
        if entry.setting is WINHTTP and entry.pending is not None:
            wanted = entry.wanted
            args = {"proxy": wanted.proxy}
            if wanted.proxy and wanted.bypass:
                args["bypass"] = wanted.bypass.split(";")
            entry.pending.write_with = (WINHTTP_MODULE, args)

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Defender for Endpoint and Defender Antivirus proxy settings: what Microsoft documents, what the host
holds, and what to write.

Pure Python, no Ansible imports; remote reads go through the injected executor (:mod:`_host._remote`), and the
write goes through :class:`_wininet._registry_change.Change` (backup in ``before.reg``, one ``reg import``, ``win_http_proxy``
for WinHTTP, read back, roll back, prune).

Sources (MicrosoftDocs/defender-docs, ``defender-endpoint/``; shown on learn.microsoft.com):

* [proxy] ``configure-proxy-internet.md`` (ms.date 07/01/2024), "Configure your devices to connect to the
  Defender for Endpoint service using a proxy": the EDR sensor uses WinHTTP as LocalSystem; the
  registry-based static proxy is ``TelemetryProxyServer`` (``servername:port or ip:port``, REG_SZ) and
  ``DisableEnterpriseAuthProxy`` = 1 (REG_DWORD) under ``HKLM\\Software\\Policies\\Microsoft\\Windows\\
  DataCollection``; a device that is otherwise offline also needs ``PreferStaticProxyForHttpRequest`` = 1
  under ``HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection``, which "is applicable only
  starting with MsSense.exe version 10.8210.* and later, or version 10.8049.* and later"; Defender
  Antivirus has its own static proxy, ``ProxyServer`` (REG_SZ) under ``HKLM\\Software\\Policies\\Microsoft\\
  Windows Defender``, where "the URL must have either http:// or https://" (example ``http://10.0.0.6:8080``),
  plus ``ProxyPacUrl`` and ``ProxyBypass`` (the same as ``Set-MpPreference -ProxyPacUrl/-ProxyBypass``); an
  otherwise offline device also needs ``SSLOptions`` = 2 (DWORD) under ``...\\Windows Defender\\Spynet``;
  ``netsh winhttp set proxy`` sets the machine-wide WinHTTP proxy.
* [avnet] ``configure-network-connections-microsoft-defender-antivirus.md``: ``SSLOptions`` values, 0 disable
  pinning and revocation checks, 1 disable pinning, **2 disable revocation checks only**, 3 both on (default);
  "not best practice since you'll no longer check for revoked certificates".
* [csp] Policy CSP ``ADMX_MicrosoftDefenderAntivirus`` (MicrosoftDocs/windows-itpro-docs): ``ProxyServer``
  ("should be proceeded with either http:// or https://"), ``ProxyPacUrl`` (the URL of a proxy .pac file),
  ``ProxyBypass`` ("Define addresses to bypass proxy server"), all from ``WindowsDefender.admx``.
* [connectivity] ``configure-device-connectivity.md`` (ms.date 09/29/2025): "Enforcing proxy (user)
  authentication breaks connectivity" and "Traffic inspection is not supported": proxy strings with a user and
  password are refused here (and never quoted back).
* [winhttp] ansible.windows 3.3.0 ``plugins/modules/win_http_proxy.ps1``: ``proxy``/``bypass`` or
  ``source: ie`` (mutually exclusive, lines 15-21); the bypass list is joined with ``;`` (line 64);
  ``source: ie`` calls ``WinHttpGetIEProxyConfigForCurrentUser`` (lines 194-209, 222-227), i.e. the WinINet
  setting of **the account the module runs as** (the connection user, or the task's ``become_user``), and
  only its proxy and bypass list (not its PAC URL or auto-detect); the current and wanted values are compared
  with PowerShell's case-insensitive ``-ne`` after mapping empty to ``$null`` (lines 229-240).

Entry points: :func:`desired` (validate role-style options; every error names the option through
``name``, e.g. the role variable ``atp_proxy_mde_proxy_server``), :func:`plan` (what differs, as
``_apply.Pending`` items, a decoded diff and one sentence per change) and :func:`run` (the action's flow).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import (
    ChangeError,
    ConnectionDropped,
    Disconnected,
    UsageError,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _registry_change as apply

WINHTTP_MODULE = "ansible.windows.win_http_proxy"

WINHTTP_PATH = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
DATA_COLLECTION_PATH = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\DataCollection"
ATP_POLICY_PATH = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
DEFENDER_POLICY_PATH = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender"
SPYNET_POLICY_PATH = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender\Spynet"
# The WinINet setting win_http_proxy source=ie copies: the HKCU of whoever the task runs as.
CURRENT_USER_CONNECTIONS = r"HKCU:\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"

# A folder of its own: a restore of the WinINet backups ("the newest backup in backup_dir") must not pick an
# MDE backup, and _backup.Manifest.in_dir matches by prefix, so it is a sibling of ...\backups, not a child.
DEFAULT_BACKUP_DIR = "C:\\ProgramData\\atp.sensor_proxy\\mde_backups"
DEFAULT_KEEP = 10

WINHTTP_SOURCES = ("proxy_server", "ie", "unmanaged")
DEFAULTS = {
    "proxy_server": "",
    "bypass": [],
    "winhttp_source": "proxy_server",
    "telemetry": True,
    "prefer_static_proxy": True,
    "av_proxy_server": "",
    "av_proxy_pac_url": "",
    "av_proxy_bypass": [],
    "av_disable_crl_check": False,
}
SSL_OPTIONS_NO_REVOCATION_CHECK = 2  # [avnet]: "2 - disable revocation checks only"


@dataclass(frozen=True)
class Setting:
    """One documented value: where it lives, its type, and how it is shown."""

    name: str  # the machine name (result, summary): winhttp, telemetry_proxy_server, ...
    label: str  # the human name in sentences
    path: str  # win_reg_stat form
    value_name: str
    reg_type: str  # REG_SZ, REG_DWORD, or REG_BINARY (WinHTTP, written by win_http_proxy)
    source: str  # where Microsoft documents it

    @property
    def reg_key(self) -> str:
        return reg_key(self.path)


WINHTTP = Setting("winhttp", "WinHTTP proxy", WINHTTP_PATH, "WinHttpSettings", "REG_BINARY",
                  "configure-proxy-internet.md: netsh winhttp set proxy (machine-wide WinHTTP, used as LocalSystem)")
TELEMETRY_PROXY_SERVER = Setting(
    "telemetry_proxy_server", "TelemetryProxyServer", DATA_COLLECTION_PATH, "TelemetryProxyServer", "REG_SZ",
    "configure-proxy-internet.md: Configure connected user experiences and telemetry (servername:port)")
DISABLE_ENTERPRISE_AUTH_PROXY = Setting(
    "disable_enterprise_auth_proxy", "DisableEnterpriseAuthProxy", DATA_COLLECTION_PATH, "DisableEnterpriseAuthProxy",
    "REG_DWORD", "configure-proxy-internet.md: Configure authenticated proxy usage ... (1 = disable)")
PREFER_STATIC_PROXY = Setting(
    "prefer_static_proxy", "PreferStaticProxyForHttpRequest", ATP_POLICY_PATH, "PreferStaticProxyForHttpRequest",
    "REG_DWORD", "configure-proxy-internet.md: offline devices, MsSense 10.8210.*+ or 10.8049.*+")
AV_PROXY_SERVER = Setting(
    "av_proxy_server", "Defender Antivirus ProxyServer", DEFENDER_POLICY_PATH, "ProxyServer", "REG_SZ",
    "configure-proxy-internet.md: Define proxy server for connecting to the network (http:// or https://)")
AV_PROXY_PAC_URL = Setting(
    "av_proxy_pac_url", "Defender Antivirus ProxyPacUrl", DEFENDER_POLICY_PATH, "ProxyPacUrl", "REG_SZ",
    "configure-proxy-internet.md / ADMX_MicrosoftDefenderAntivirus: Define proxy auto-config (.pac)")
AV_PROXY_BYPASS = Setting(
    "av_proxy_bypass", "Defender Antivirus ProxyBypass", DEFENDER_POLICY_PATH, "ProxyBypass", "REG_SZ",
    "configure-proxy-internet.md / ADMX_MicrosoftDefenderAntivirus: Define addresses to bypass proxy server")
AV_SSL_OPTIONS = Setting(
    "av_ssl_options", "Defender Antivirus SSLOptions", SPYNET_POLICY_PATH, "SSLOptions", "REG_DWORD",
    "configure-proxy-internet.md and configure-network-connections-microsoft-defender-antivirus.md "
    "(2 = disable revocation checks only)")
SETTINGS = (WINHTTP, TELEMETRY_PROXY_SERVER, DISABLE_ENTERPRISE_AUTH_PROXY, PREFER_STATIC_PROXY, AV_PROXY_SERVER,
            AV_PROXY_PAC_URL, AV_PROXY_BYPASS, AV_SSL_OPTIONS)

# The registry types a before.reg can give back exactly (_regfile.value_lines: str, int as dword, bytes as hex:).
_RESTORABLE = ("REG_SZ", "REG_EXPAND_SZ", "REG_DWORD", "REG_BINARY", "REG_NONE")


def reg_key(path: str) -> str:
    """``HKLM:\\SOFTWARE\\X`` -> ``HKEY_LOCAL_MACHINE\\SOFTWARE\\X`` (the .reg form)."""
    root, sep, rest = path.partition(":\\")
    long = {"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER", "HKU": "HKEY_USERS"}[root.upper()]
    return long + ("\\" + rest if rest else "")


def namer(prefix: str):
    """``name("proxy_server")`` -> ``atp_proxy_mde_proxy_server`` for the role, ``proxy_server`` for a task."""
    return lambda option: (prefix or "") + option


# ---------------------------------------------------------------------------
# Validation: the options -> what Microsoft's settings should hold
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class WinHttp:
    """What win_http_proxy sets: proxy and bypass strings (None = not set), as win_http_proxy.ps1 keeps them."""

    proxy: str | None
    bypass: str | None

    def same_as(self, other: WinHttp) -> bool:
        """win_http_proxy.ps1 line 240: ``$previous_proxy -ne $proxy -or $previous_bypass -ne $bypass``
        (PowerShell's -ne ignores case; empty strings were made $null on lines 232-238)."""
        return ((self.proxy or "").lower() == (other.proxy or "").lower()
                and (self.bypass or "").lower() == (other.bypass or "").lower())

    def text(self) -> str:
        if not self.proxy:
            return "direct (no proxy)"
        return self.proxy + (", bypass %s" % self.bypass if self.bypass else "")


FROM_IE = "ie"  # the wanted WinHTTP value comes from the account's WinINet setting (known after the read)


@dataclass(frozen=True)
class Wanted:
    setting: Setting
    value: object  # str / int, a WinHttp, or FROM_IE; None: the value is removed
    module_args: dict | None = None  # WinHTTP: the win_http_proxy arguments
    owner: str = ""  # another part of the run that wants this value (options["also"]): the variable that says so


def _masked(text) -> str:
    return wininet.shown(str(text))


def _problem(name, option: str, message: str) -> UsageError:
    return UsageError("%s: %s. Nothing was changed." % (name(option), message))


def _validate_mde_proxy(text, name, telemetry: bool) -> str:
    if isinstance(text, str) and "@" in text:
        raise _problem(name, "proxy_server", "%r contains credentials (user:password@); TelemetryProxyServer and the "
                       "WinHTTP proxy take host:port only, and proxy authentication breaks Defender for Endpoint "
                       "connectivity (configure-device-connectivity.md): let the proxy allow the device anonymously"
                       % _masked(text.strip()))
    if isinstance(text, str) and "://" in text:
        raise _problem(name, "proxy_server", "%r has a URL scheme; TelemetryProxyServer and netsh winhttp set proxy take "
                       "servername:port or ip:port without http://, for example proxy.corp.example:8080"
                       % text.strip())
    try:
        proxy = wininet.validate_proxy_server(text, name("proxy_server"))
    except wininet.WinInetSettingsError as exc:
        raise UsageError("%s. Nothing was changed." % exc) from None
    if telemetry and ("=" in proxy or ";" in proxy):
        raise _problem(name, "proxy_server", "%r is a per-protocol list, but TelemetryProxyServer takes one "
                       "servername:port or ip:port (configure-proxy-internet.md); give one host:port such as "
                       "proxy.corp.example:8080, or set %s=false" % (proxy, name("telemetry")))
    return proxy


def _validate_bypass(items, name, option: str) -> list:
    try:
        return wininet.validate_bypass(items, name(option))
    except wininet.WinInetSettingsError as exc:
        raise UsageError("%s. Nothing was changed." % exc) from None


_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>\S*)$")


def _validate_av_proxy(text, name) -> str:
    option = "av_proxy_server"
    if not isinstance(text, str):
        raise _problem(name, option, "must be a string such as http://proxy.corp.example:8080")
    text = text.strip()
    if "@" in text:
        raise _problem(name, option, "%r contains credentials (user:password@); Defender Antivirus ProxyServer takes "
                       "no user or password, and proxy authentication breaks Defender for Endpoint connectivity "
                       "(configure-device-connectivity.md): let the proxy allow the device anonymously"
                       % _masked(text))
    match = _URL.match(text)
    if not match:
        raise _problem(name, option, "%r has no http:// or https:// scheme; Defender Antivirus needs a URL such as "
                       "http://%s (configure-proxy-internet.md: \"The URL must have either http:// or https://\")"
                       % (text, text or "proxy.corp.example:8080"))
    if match.group("scheme").lower() not in ("http", "https"):
        raise _problem(name, option, "%r uses the scheme %r; Defender Antivirus takes http:// or https:// only, for "
                       "example http://proxy.corp.example:8080" % (text, match.group("scheme")))
    host_port = match.group("rest").rstrip("/")
    wrong = any(c in host_port for c in "=;/")
    if not wrong:
        try:
            wininet.validate_proxy_server(host_port, name(option))
        except wininet.WinInetSettingsError:
            wrong = True
    if wrong:
        raise _problem(name, option, "%r is not http(s)://<server name or ip>:<port>, the format "
                       "configure-proxy-internet.md gives (for example http://10.0.0.6:8080)" % text)
    return text


def _validate_pac_url(text, name) -> str:
    option = "av_proxy_pac_url"
    if not isinstance(text, str):
        raise _problem(name, option, "must be a URL string such as http://wpad.corp.example/proxy.pac")
    text = text.strip()
    if "@" in text.split("?", 1)[0]:
        raise _problem(name, option, "%r contains credentials (user:password@); give the PAC file's URL without them"
                       % _masked(text))
    match = _URL.match(text)
    if not match or match.group("scheme").lower() not in ("http", "https") or not match.group("rest") \
            or match.group("rest").startswith("/"):
        raise _problem(name, option, "%r is not an http:// or https:// URL (for example "
                       "http://wpad.corp.example/proxy.pac); Defender Antivirus fetches the .pac file over HTTP(S)"
                       % text)
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        raise _problem(name, option, "%r is not ASCII; give the host name in punycode (xn--...)" % text) from None
    return text


def _bool(options: dict, key: str, name) -> bool:
    value = options.get(key, DEFAULTS[key])
    if value is None:
        return bool(DEFAULTS[key])
    if not isinstance(value, bool):
        raise _problem(name, key, "must be true or false, not %r" % (value,))
    return value


def desired(options: dict, name=None) -> list:
    """The settings to manage and their wanted values, from role-style options (see ``DEFAULTS``).

    Raises :class:`UsageError` naming the option (``name(option)``: a role passes a namer for its
    variables) and the fix; no message quotes a user or password. Nothing is read from the host.
    """
    name = name or namer("")
    opts = dict(DEFAULTS)
    opts.update({k: v for k, v in (options or {}).items() if v is not None and k in DEFAULTS})
    source = opts["winhttp_source"]
    if source not in WINHTTP_SOURCES:
        raise _problem(name, "winhttp_source", "%r is not one of %s" % (source, ", ".join(WINHTTP_SOURCES)))
    telemetry = _bool(opts, "telemetry", name)
    prefer = _bool(opts, "prefer_static_proxy", name)
    crl = _bool(opts, "av_disable_crl_check", name)
    bypass = _validate_bypass(opts["bypass"], name, "bypass")
    out = []

    proxy = ""
    needs_proxy = telemetry or source == "proxy_server"
    if needs_proxy:
        if not opts["proxy_server"]:
            why = []
            if source == "proxy_server":
                why.append("%s=proxy_server sets the WinHTTP proxy from it" % name("winhttp_source"))
            if telemetry:
                why.append("%s=true sets TelemetryProxyServer to it" % name("telemetry"))
            raise _problem(name, "proxy_server", "required (%s), for example proxy.corp.example:8080" % "; ".join(why))
        proxy = _validate_mde_proxy(opts["proxy_server"], name, telemetry)
    elif opts["proxy_server"]:
        _validate_mde_proxy(opts["proxy_server"], name, False)

    if bypass and source != "proxy_server":
        raise _problem(name, "bypass", "only used with %s=proxy_server (win_http_proxy takes a bypass list or "
                       "source=ie, not both: win_http_proxy.ps1 mutually_exclusive bypass/source); it is %s"
                       % (name("winhttp_source"), source))
    if source == "proxy_server":
        joined = ";".join(bypass) or None  # win_http_proxy.ps1 line 64: $bypass -join ';'
        out.append(Wanted(WINHTTP, WinHttp(proxy, joined), {"proxy": proxy, "bypass": list(bypass)}))
    elif source == "ie":
        out.append(Wanted(WINHTTP, FROM_IE, {"source": "ie"}))

    if telemetry:
        out.append(Wanted(TELEMETRY_PROXY_SERVER, proxy))
        out.append(Wanted(DISABLE_ENTERPRISE_AUTH_PROXY, 1))
        if prefer:  # on with the static proxy unless opted out (docs/mde.md: why)
            out.append(Wanted(PREFER_STATIC_PROXY, 1))

    av_proxy = _validate_av_proxy(opts["av_proxy_server"], name) if opts["av_proxy_server"] else ""
    pac = _validate_pac_url(opts["av_proxy_pac_url"], name) if opts["av_proxy_pac_url"] else ""
    av_bypass = _validate_bypass(opts["av_proxy_bypass"], name, "av_proxy_bypass")
    if av_bypass and not (av_proxy or pac):
        raise _problem(name, "av_proxy_bypass", "is set but %s and %s are empty; a bypass list only applies to a "
                       "proxy" % (name("av_proxy_server"), name("av_proxy_pac_url")))
    if av_proxy:
        out.append(Wanted(AV_PROXY_SERVER, av_proxy))
    if pac:
        out.append(Wanted(AV_PROXY_PAC_URL, pac))
    if av_bypass:
        out.append(Wanted(AV_PROXY_BYPASS, ";".join(av_bypass)))
    if crl:
        out.append(Wanted(AV_SSL_OPTIONS, SSL_OPTIONS_NO_REVOCATION_CHECK))
    return merged(out, (options or {}).get("also") or (), name)


# Which options set a static proxy value another part of the run may want too (a sensor v3's proxy).
_OWNERS = {"telemetry_proxy_server": ("proxy_server", "telemetry"), "av_proxy_server": ("av_proxy_server",)}


def _endpoint_key(setting: Setting, text: str) -> tuple:
    """What a static proxy value points at, to tell whether two values agree: (scheme, host, port), lower case,
    the scheme's default port when none is given (a TelemetryProxyServer value has no scheme: http)."""
    text = text.strip().rstrip("/").lower()
    match = _URL.match(text)
    scheme, rest = (match.group("scheme"), match.group("rest").rstrip("/")) if match else ("http", text)
    port_match = re.search(r":(\d+)$", rest)
    port = int(port_match.group(1)) if port_match else (443 if scheme == "https" else 80)
    host = rest[:port_match.start()] if port_match else rest
    return (scheme if setting is AV_PROXY_SERVER else "", host, port)


def _agree(setting: Setting, mine, theirs) -> bool:
    if mine is None or theirs is None:
        return mine is None and theirs is None
    return _endpoint_key(setting, str(mine)) == _endpoint_key(setting, str(theirs))


def merged(own: list, also, name=None) -> list:
    """One setting, one owner: ``own`` (what these options set) with ``also``, the values another part of the run
    wants (:class:`Wanted` with ``owner``, e.g. a sensor v3's proxy, as Set-MDISensorProxyConfiguration writes it).
    A value both want is written once (these options' text); values that point at different proxies, or one
    that sets what the other removes, raise :class:`UsageError` naming both variables: nothing is read or written.
    The result is in ``SETTINGS`` order."""
    name = name or namer("")
    out = list(own)
    for extra in also:
        same = next((w for w in out if w.setting is extra.setting), None)
        if same is None:
            out.append(extra)
            continue
        if _agree(extra.setting, same.value, extra.value):
            continue
        options = _OWNERS.get(extra.setting.name) or (extra.setting.name,)
        option = options[0] if extra.value is not None else options[-1]
        wants = ("wants %r there" % extra.value) if extra.value is not None else \
            "removes it (as Clear-MDISensorProxyConfiguration does)"
        leave = ("set %s: false" % name(options[-1])) if len(options) > 1 else ("leave %s empty" % name(options[0]))
        fix = ("give both the same proxy, or " if extra.value is not None else "") + leave
        raise _problem(name, option, "sets %s to %r, but %s %s: one setting has one owner. To fix it, %s to leave "
                       "%s to the sensor"
                       % (extra.setting.label, same.value, extra.owner or "another part of the run", wants, fix,
                          extra.setting.label))
    order = {setting.name: i for i, setting in enumerate(SETTINGS)}
    return sorted(out, key=lambda w: order[w.setting.name])


# ---------------------------------------------------------------------------
# What the host holds
# ---------------------------------------------------------------------------
def winhttp_of(data) -> WinHttp | None:
    """The proxy and bypass win_http_proxy sees in a ``WinHttpSettings`` value (None when it is malformed).

    An absent value, or flags without the named-proxy bit (0x2), is no proxy: WinHTTP's NO_PROXY access
    type (win_http_proxy.ps1 lines 166-175 write one or the other).
    """
    if data is None:
        return WinHttp(None, None)
    try:
        decoded = wininet.decode_winhttp(bytes(data))
    except (wininet.WinInetCodecError, TypeError, ValueError):
        return None
    if not decoded["flags"] & wininet.FLAG_PROXY or not decoded["proxy_server"]:
        return WinHttp(None, None)
    return WinHttp(decoded["proxy_server"], decoded["bypass_string"] or None)


def winhttp_bytes(value: WinHttp, previous=None) -> bytes:
    """The ``WinHttpSettings`` value WinHttpSetDefaultProxyConfiguration stores for ``value`` (version 0x28,
    counter, flags 3 named proxy / 1 no proxy, then the two length-prefixed strings): the expected bytes,
    for the backup listing only (the read back compares the decoded proxy and bypass, not bytes)."""
    counter = 1
    if previous:
        try:
            counter = (wininet.decode_winhttp(bytes(previous))["counter"] + 1) & wininet.MAX_COUNTER
        except (wininet.WinInetCodecError, TypeError, ValueError):
            counter = 1
    proxy = (value.proxy or "").encode("latin-1", "replace")
    bypass = (value.bypass or "").encode("latin-1", "replace") if value.proxy else b""
    flags = 3 if value.proxy else 1
    return (struct.pack("<III", wininet.VERSION_WINHTTP, counter, flags) + struct.pack("<I", len(proxy)) + proxy
            + struct.pack("<I", len(bypass)) + bypass)


def winhttp_from_ie(key: remote.KeyRead, name, runs_as: str) -> tuple:
    """(WinHttp, warnings): what ``win_http_proxy source=ie`` will set, from the WinINet value of the
    account the task runs as (read as HKCU). Raises :class:`UsageError` when the module would fail or lose
    the account's PAC URL / auto-detect."""
    who = runs_as or "the account this task runs as"
    value = key.get("DefaultConnectionSettings") if key.exists else None
    if value is None or value.data is None:
        raise _problem(name, "winhttp_source", "ie copies the WinINet proxy of %s, but that account has no "
                       "DefaultConnectionSettings (%s), so win_http_proxy would fail "
                       "(WinHttpGetIEProxyConfigForCurrentUser finds no Internet Explorer proxy settings). Set that "
                       "account's WinINet proxy first (the MDI step sets SYSTEM's), run the task as another account "
                       "(become_user), or use %s=proxy_server" % (who, CURRENT_USER_CONNECTIONS,
                                                                  name("winhttp_source")))
    try:
        settings = wininet.decode(value.data)
    except wininet.WinInetCodecError as exc:
        raise _problem(name, "winhttp_source", "ie copies the WinINet proxy of %s, but its DefaultConnectionSettings "
                       "is not a valid WinINet value (%s); fix it, or use %s=proxy_server"
                       % (who, exc, name("winhttp_source"))) from None
    flags = settings.flags
    if flags["proxy"] and settings.proxy_server:
        return WinHttp(settings.proxy_server, settings.bypass_string or None), []
    lost = [what for what, on in (("a PAC URL (%s)" % settings.auto_config_url, flags["auto_config_url"]),
                                  ("automatic detection (WPAD)", flags["auto_detect"])) if on]
    if lost:
        raise _problem(name, "winhttp_source", "ie copies only the proxy server and bypass list of %s's WinINet "
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

    @property
    def items(self) -> list:
        """The ``_apply.Pending`` items of what differs."""
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


def _lookup(values: dict | None, path: str):
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


def reads(options: dict, name=None) -> list:
    """Every registry key :func:`plan` needs for these options (validated first), for ONE state query: a caller
    that reads other keys too (the role's job) adds these to its own query and passes the result as ``values``."""
    wanted = desired(options, name)
    paths = list(dict.fromkeys(w.setting.path for w in wanted))
    if any(w.value is FROM_IE for w in wanted):
        paths.append(CURRENT_USER_CONNECTIONS)
    return paths


def plan(execute, options: dict, values: dict | None = None, name=None, runs_as: str = "") -> Plan:
    """What differs between the host and the wanted settings (:func:`desired`): the ``_apply.Pending`` items,
    a decoded diff and one sentence per change.

    ``values``: ``{path: _remote.KeyRead}`` the caller already read (a ``_remote.Snapshot``'s ``keys`` will do);
    the keys of :func:`reads` it lacks are read here in one state query (:func:`_remote.read_state`), none when it
    has them all. ``runs_as`` names the account the task runs as, for ``winhttp_source=ie``. Options are validated
    before anything is read. The items can join another change (``_configure.run(extra_items=...)``): they carry
    their own backup value, and WinHTTP is written by ``win_http_proxy`` (``write_with``) and verified decoded.
    """
    name = name or namer("")
    wanted = desired(options, name)
    paths = reads(options, name)
    result = Plan()
    keys = {}
    missing = []
    for path in paths:
        read = _lookup(values, path)
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
    return result


# ---------------------------------------------------------------------------
# The action's flow
# ---------------------------------------------------------------------------
def _admin_check(user: dict) -> None:
    """HKLM\\SOFTWARE\\Policies and WinHTTP need an enabled BUILTIN\\Administrators (the state query's answer)."""
    if not user.get("administrator"):
        raise ChangeError("%s is not an enabled member of BUILTIN\\Administrators (S-1-5-32-544), and the Defender "
                          "policies under HKLM\\SOFTWARE\\Policies and the WinHTTP proxy need local administrator "
                          "rights. Nothing was changed. Connect as an administrator, or use become with "
                          "ansible.builtin.runas." % (user.get("name") or "The connection user"), changed=False)


def copy_of(key: remote.KeyRead, account: str) -> tuple:
    """``(key, runs_as)`` for :func:`run`'s ``ie_from``: WinHTTP from ``account``'s WinINet value as ``key`` holds
    it (a caller that knows what its own run leaves there, like the role's job, builds that key)."""
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


def run(execute, upload, options: dict, check_mode: bool, values: dict | None = None, host: str = "host",
        runs_as: str = "", snapshot: remote.Snapshot | None = None, extra_items=(), ie_from: tuple | None = None,
        stamp: str | None = None) -> dict:
    """Everything ``atp.sensor_proxy.win_mde_proxy`` does; returns the result fields (raises the errors of
    :mod:`_common._errors`).

    One state query reads every key of :func:`reads` that ``values`` lacks, the backup manifest and whether the
    caller is an administrator; :func:`plan` decides. ``upload(files, dest_dir)`` writes the two backup files (the
    action binds it to :func:`_host._file_write.write`, one round trip). In check mode, or with ``read_only``, nothing is written: the result says what
    would change (``read_only`` reports ``changed: false``, for a drift report).
    """
    name = namer(options.get("name_prefix") or "")
    read_only = bool(options.get("read_only"))
    predicted = check_mode or read_only
    try:
        paths = reads(options, name) + [backup.MANIFEST_PATH]
        if snapshot is None or any(not snapshot.has(p) for p in paths if p != CURRENT_USER_CONNECTIONS or not ie_from):
            snapshot = remote.read_state(execute, [p for p in paths if _lookup(values, p) is None])
        known = dict(values or {})
        known.update(snapshot.keys)
        runs_as = str(snapshot.user.get("name") or runs_as)
        if ie_from:
            known[CURRENT_USER_CONNECTIONS.lower()], runs_as = ie_from
        the_plan = plan(execute, options, known, name, runs_as)
        if ie_from:
            _explicit(the_plan)
        result = {"changed": False, "backup_file": "", "applied_file": "", "written": [], "pruned": [],
                  "winhttp_copied_from": runs_as if options.get("winhttp_source") == "ie" else ""}
        result.update(the_plan.to_result(predicted))
        result["warnings"] = list(the_plan.warnings)
        items = the_plan.items + list(extra_items)
        if extra_items:
            result["actions"] += [apply.sentence(i, predicted) for i in extra_items]
            result["diff"] += [apply.diff_for(i) for i in extra_items]
            result["backups"] += [i.to_result() for i in extra_items]
            result["changed_settings"] += [i.label or i.name for i in extra_items]
        if not items or predicted:
            result["changed"] = bool(items) and not read_only
            return result
        _admin_check(snapshot.user)
    except Disconnected as exc:
        raise ConnectionDropped(
            "The connection to the host dropped before anything was written (%s). Nothing was written to the "
            "registry. A rerun compares first, so it finishes the change or reports the host in sync." % exc,
            written=[], maybe_written=[], backup_file="", dropped_at="before the change", changed=False) from None
    keep = options.get("backup_keep")
    manifest = _lookup(known, backup.MANIFEST_PATH)
    change = apply.Change(execute, upload, items, backup_dir=options.get("backup_dir") or DEFAULT_BACKUP_DIR,
                          keep=DEFAULT_KEEP if keep is None else keep, manifest=backup.manifest_from(manifest),
                          comment="atp.sensor_proxy backup of %s (Defender for Endpoint proxy settings)" % host,
                          **({"when": stamp} if stamp else {}))
    try:
        done = change.run()
    except (ChangeError, ConnectionDropped) as exc:
        exc.details.update(changed_settings=result["changed_settings"], diff=result["diff"],
                           settings=result["settings"], actions=result["actions"])
        exc.details.setdefault("changed", bool(exc.details.get("written")))
        raise
    result.update(done)
    result["warnings"] += change.warnings
    return result


# ---------------------------------------------------------------------------
# For the host summary and the fleet report (contracts.md, "mde" (14))
# ---------------------------------------------------------------------------
def summary(result: dict | None) -> dict:
    """The ``mde`` part of ``atp_proxy_summary`` from a ``win_mde_proxy`` result (``None``/``{}``: the step did
    not run): ``configured``, ``changed``, ``failed``, ``error``, ``settings`` (``name``, ``current``, ``wanted``,
    ``changed`` each), ``actions`` and ``backup_file``."""
    if not result:
        return {"configured": False, "changed": False, "failed": False, "error": "", "settings": [], "actions": [],
                "backup_file": ""}
    failed = bool(result.get("failed") or result.get("unreachable"))
    return {
        "configured": True,
        "changed": bool(result.get("changed")),
        "failed": failed,
        "error": str(result.get("error") or result.get("msg") or "") if failed else "",
        "settings": [{key: s.get(key) for key in ("name", "current", "wanted", "changed")}
                     for s in result.get("settings") or []],
        "actions": list(result.get("actions") or []),
        "backup_file": str(result.get("backup_file") or ""),
    }


def line(result: dict | None) -> str:
    """The MDE part of a host's one-line text: ``MDE in sync (4 settings)``, ``MDE: set TelemetryProxyServer:
    old.corp:3128 -> proxy.corp:8080`` (in check mode ``would set ...``), ``MDE failed: <why>``, or '' when the
    step did not run."""
    found = summary(result)
    if not found["configured"]:
        return ""
    if found["failed"]:
        return "MDE failed: %s" % found["error"]
    if not found["actions"]:
        return "MDE in sync (%d setting%s)" % (len(found["settings"]), "" if len(found["settings"]) == 1 else "s")
    return "MDE: %s" % "; ".join(found["actions"])

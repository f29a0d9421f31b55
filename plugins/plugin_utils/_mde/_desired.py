# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the options want: role-style options (:data:`_catalogue.DEFAULTS`) validated into the settings to manage
and their wanted values (:func:`desired`), with the values another part of the run wants (a sensor v3's proxy)
merged in, one owner per setting (:func:`merged`).

Pure Python, no Ansible imports, nothing read from the host. Every error is a :class:`UsageError` naming the
option through ``name`` (e.g. the role variable ``atp_proxy_mde_proxy_server``) and the fix, and quoting no user
or password. The formats are Microsoft's ([proxy], [csp] and [connectivity] in :mod:`_catalogue`).
"""

from __future__ import annotations

import re

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._argspec import namer
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde._catalogue import (
    AV_PROXY_BYPASS,
    AV_PROXY_PAC_URL,
    AV_PROXY_SERVER,
    AV_SSL_OPTIONS,
    DEFAULTS,
    DISABLE_ENTERPRISE_AUTH_PROXY,
    FROM_IE,
    PREFER_STATIC_PROXY,
    SETTINGS,
    SSL_OPTIONS_NO_REVOCATION_CHECK,
    TELEMETRY_PROXY_SERVER,
    WINHTTP,
    WINHTTP_SOURCES,
    Setting,
    Wanted,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet._winhttp import WinHttp


def _masked(text) -> str:
    return wininet.shown(str(text))


def problem(name, option: str, message: str) -> UsageError:
    """The :class:`UsageError` of ``option`` (named through ``name``): ``message``, and that nothing changed."""
    return UsageError("%s: %s. Nothing was changed." % (name(option), message))


def _validate_mde_proxy(text, name, telemetry: bool) -> str:
    if isinstance(text, str) and "@" in text:
        raise problem(name, "proxy_server", "%r contains credentials (user:password@); TelemetryProxyServer and the "
                      "WinHTTP proxy take host:port only, and proxy authentication breaks Defender for Endpoint "
                      "connectivity (configure-device-connectivity.md): let the proxy allow the device anonymously"
                      % _masked(text.strip()))
    if isinstance(text, str) and "://" in text:
        raise problem(name, "proxy_server", "%r has a URL scheme; TelemetryProxyServer and netsh winhttp set proxy take "
                      "servername:port or ip:port without http://, for example proxy.corp.example:8080"
                      % text.strip())
    try:
        proxy = wininet.validate_proxy_server(text, name("proxy_server"))
    except wininet.WinInetSettingsError as exc:
        raise UsageError("%s. Nothing was changed." % exc) from None
    if telemetry and ("=" in proxy or ";" in proxy):
        raise problem(name, "proxy_server", "%r is a per-protocol list, but TelemetryProxyServer takes one "
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
        raise problem(name, option, "must be a string such as http://proxy.corp.example:8080")
    text = text.strip()
    if "@" in text:
        raise problem(name, option, "%r contains credentials (user:password@); Defender Antivirus ProxyServer takes "
                      "no user or password, and proxy authentication breaks Defender for Endpoint connectivity "
                      "(configure-device-connectivity.md): let the proxy allow the device anonymously"
                      % _masked(text))
    match = _URL.match(text)
    if not match:
        raise problem(name, option, "%r has no http:// or https:// scheme; Defender Antivirus needs a URL such as "
                      "http://%s (configure-proxy-internet.md: \"The URL must have either http:// or https://\")"
                      % (text, text or "proxy.corp.example:8080"))
    if match.group("scheme").lower() not in ("http", "https"):
        raise problem(name, option, "%r uses the scheme %r; Defender Antivirus takes http:// or https:// only, for "
                      "example http://proxy.corp.example:8080" % (text, match.group("scheme")))
    host_port = match.group("rest").rstrip("/")
    wrong = any(c in host_port for c in "=;/")
    if not wrong:
        try:
            wininet.validate_proxy_server(host_port, name(option))
        except wininet.WinInetSettingsError:
            wrong = True
    if wrong:
        raise problem(name, option, "%r is not http(s)://<server name or ip>:<port>, the format "
                      "configure-proxy-internet.md gives (for example http://10.0.0.6:8080)" % text)
    return text


def _validate_pac_url(text, name) -> str:
    option = "av_proxy_pac_url"
    if not isinstance(text, str):
        raise problem(name, option, "must be a URL string such as http://wpad.corp.example/proxy.pac")
    text = text.strip()
    if "@" in text.split("?", 1)[0]:
        raise problem(name, option, "%r contains credentials (user:password@); give the PAC file's URL without them"
                      % _masked(text))
    match = _URL.match(text)
    if not match or match.group("scheme").lower() not in ("http", "https") or not match.group("rest") \
            or match.group("rest").startswith("/"):
        raise problem(name, option, "%r is not an http:// or https:// URL (for example "
                      "http://wpad.corp.example/proxy.pac); Defender Antivirus fetches the .pac file over HTTP(S)"
                      % text)
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        raise problem(name, option, "%r is not ASCII; give the host name in punycode (xn--...)" % text) from None
    return text


def _bool(options: dict, key: str, name) -> bool:
    value = options.get(key, DEFAULTS[key])
    if value is None:
        return bool(DEFAULTS[key])
    if not isinstance(value, bool):
        raise problem(name, key, "must be true or false, not %r" % (value,))
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
        raise problem(name, "winhttp_source", "%r is not one of %s" % (source, ", ".join(WINHTTP_SOURCES)))
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
            raise problem(name, "proxy_server", "required (%s), for example proxy.corp.example:8080" % "; ".join(why))
        proxy = _validate_mde_proxy(opts["proxy_server"], name, telemetry)
    elif opts["proxy_server"]:
        _validate_mde_proxy(opts["proxy_server"], name, False)

    if bypass and source != "proxy_server":
        raise problem(name, "bypass", "only used with %s=proxy_server (win_http_proxy takes a bypass list or "
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
        raise problem(name, "av_proxy_bypass", "is set but %s and %s are empty; a bypass list only applies to a "
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
        raise problem(name, option, "sets %s to %r, but %s %s: one setting has one owner. To fix it, %s to leave "
                      "%s to the sensor"
                      % (extra.setting.label, same.value, extra.owner or "another part of the run", wants, fix,
                          extra.setting.label))
    order = {setting.name: i for i, setting in enumerate(SETTINGS)}
    return sorted(out, key=lambda w: order[w.setting.name])

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Codec for the WinINet ``DefaultConnectionSettings`` / ``SavedLegacySettings`` blob.

Pure Python, no Ansible imports: used by the filters, the action plugins and the
test lab alike.

Layout (all integers are little-endian DWORDs, strings are single-byte and
length-prefixed)::

    0   version          0x46 (IE7+/all current Windows) or 0x3C (IE6)
    4   change counter   bumped by Windows on every write
    8   flags            1 direct, 2 manual proxy, 4 auto-config URL, 8 auto-detect
    12  proxy server     DWORD length + bytes, e.g. ``proxy.corp:8080``
    ..  bypass list      DWORD length + bytes, ``;``-separated, e.g. ``<local>;*.corp``
    ..  auto-config URL  DWORD length + bytes (0x46 and 0x3C alike)
    ..  detection cache  whatever follows, filled by WPAD; kept byte for byte

``WinHttpSettings`` (``netsh winhttp``) uses the same header with version 0x28,
two strings (proxy, bypass) and no PAC URL; :func:`decode_winhttp` reads it
(:mod:`_winhttp` turns it into what ``win_http_proxy`` sees and sets).

Every malformed input raises :class:`WinInetCodecError` (a ``ValueError``),
whose message names the byte offset and the problem. Nothing else escapes.

One concern: the value format, both ways. Reading (the input forms, the layout,
the effective settings, one line of text) and writing (the strings a value can
hold, checked before they are encoded: single-byte ASCII, ``host:port``, the
flags they imply) are the two sides of the same layout. It stays one file over
450 lines because the lab loads it by path (``tests/lab/state.py`` ``CODEC_PATH``)
as the stand-in for Windows' own reading and writing of the value, in processes
where the collection is not importable: it imports only the standard library.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field, replace

VERSION_IE7 = 0x46
VERSION_IE6 = 0x3C
VERSION_WINHTTP = 0x28
KNOWN_VERSIONS = (VERSION_IE7, VERSION_IE6)

FLAG_DIRECT = 0x1
FLAG_PROXY = 0x2
FLAG_AUTO_CONFIG_URL = 0x4
FLAG_AUTO_DETECT = 0x8

FLAG_NAMES = (
    ("direct", FLAG_DIRECT),
    ("proxy", FLAG_PROXY),
    ("auto_config_url", FLAG_AUTO_CONFIG_URL),
    ("auto_detect", FLAG_AUTO_DETECT),
)

# What the Internet Options dialog writes after the three strings of a fresh
# 0x46 value: 32 zero bytes (see tests/fixtures/wininet_values.json, v13).
DEFAULT_CACHE_IE7 = bytes(32)
MAX_COUNTER = 0xFFFFFFFF
# Sanity bound: a real value is a few hundred bytes; refuse absurd input early.
MAX_VALUE_LENGTH = 64 * 1024

VALUE_NAMES = ("DefaultConnectionSettings", "SavedLegacySettings")


class WinInetCodecError(ValueError):
    """A value that is not a well-formed WinINet (or WinHTTP) settings blob."""

    def __init__(self, message: str, offset: int | None = None):
        self.offset = offset
        if offset is not None:
            message = "at byte offset %d: %s" % (offset, message)
        super().__init__(message)


class WinInetSettingsError(ValueError):
    """A desired setting (proxy server, bypass, PAC URL) that cannot be encoded."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__("%s: %s" % (field_name, message))


@dataclass(frozen=True)
class ConnectionSettings:
    """One decoded value. ``raw`` keeps the exact bytes it came from."""

    version: int
    counter: int
    flags_value: int
    proxy_server_raw: bytes
    bypass_raw: bytes
    auto_config_url_raw: bytes
    cache: bytes = b""
    raw: bytes = field(default=b"", compare=False)

    # -- derived views -------------------------------------------------
    @property
    def flags(self) -> dict:
        return {name: bool(self.flags_value & bit) for name, bit in FLAG_NAMES}

    @property
    def proxy_server(self) -> str:
        return self.proxy_server_raw.decode("latin-1")

    @property
    def bypass_string(self) -> str:
        return self.bypass_raw.decode("latin-1")

    @property
    def bypass(self) -> list:
        return split_bypass(self.bypass_string)

    @property
    def auto_config_url(self) -> str:
        return self.auto_config_url_raw.decode("latin-1")

    def to_bytes(self) -> bytes:
        """Encode; an unmodified decoded value re-encodes byte for byte."""
        out = [struct.pack("<III", self.version, self.counter, self.flags_value)]
        for raw in (self.proxy_server_raw, self.bypass_raw, self.auto_config_url_raw):
            out.append(struct.pack("<I", len(raw)))
            out.append(raw)
        out.append(self.cache)
        return b"".join(out)

    def effective(self) -> dict:
        """The settings WinINet acts on: strings whose flag is off do not count."""
        flags = self.flags
        return {
            "flags.direct": flags["direct"],
            "flags.proxy": flags["proxy"],
            "flags.auto_config_url": flags["auto_config_url"],
            "flags.auto_detect": flags["auto_detect"],
            "flags.other": self.flags_value & ~0xF,
            "proxy_server": normalize_proxy_server(self.proxy_server) if flags["proxy"] else "",
            "bypass": normalize_bypass(self.bypass) if flags["proxy"] else (),
            "auto_config_url": self.auto_config_url.strip() if flags["auto_config_url"] else "",
        }

    def to_dict(self) -> dict:
        """The documented ``wininet_decode`` output (extra keys follow the contract ones)."""
        raw = self.raw or self.to_bytes()
        return {
            "version": self.version,
            "counter": self.counter,
            "flags": self.flags,
            "proxy_server": self.proxy_server,
            "bypass": self.bypass,
            "auto_config_url": self.auto_config_url,
            "length": len(raw),
            "flags_value": self.flags_value,
            "bypass_string": self.bypass_string,
            "cache_length": len(self.cache),
            "hex": raw.hex(),
        }


# ---------------------------------------------------------------------------
# Input forms
# ---------------------------------------------------------------------------
_REG_PREFIX = re.compile(r'^\s*(?:"[^"]*"\s*=\s*)?hex(?:\(\s*3\s*\))?\s*:', re.IGNORECASE)
_HEX_NOISE = re.compile(r"\\\r?\n|[\s,]")


def to_bytes(value) -> bytes:
    """Accept every documented input form and return the raw bytes.

    * ``bytes`` / ``bytearray``;
    * a hex string in any case, with or without ``,``, white space, backslash-newline
      continuations, a ``hex:`` / ``hex(3):`` prefix or a whole ``"Name"=hex:`` line
      from a ``.reg`` export, or a leading ``0x``;
    * a list of ints 0..255;
    * the list of ``"0x46"``-style strings that ``ansible.windows.win_reg_stat``
      returns for ``REG_BINARY``.
    """
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif isinstance(value, str):
        data = _hex_string_to_bytes(value)
    elif isinstance(value, (list, tuple)):
        data = _list_to_bytes(value)
    else:
        raise WinInetCodecError(
            "expected a hex string, a list of byte values or bytes, got %s" % type(value).__name__
        )
    if not data:
        raise WinInetCodecError("the value is empty; a settings blob has at least 12 bytes", 0)
    if len(data) > MAX_VALUE_LENGTH:
        raise WinInetCodecError(
            "the value is %d bytes long, more than the %d a settings blob can be" % (len(data), MAX_VALUE_LENGTH)
        )
    return data


def _hex_string_to_bytes(text: str) -> bytes:
    text = _REG_PREFIX.sub("", text, count=1)
    text = _HEX_NOISE.sub("", text)
    if text[:2].lower() == "0x":
        text = text[2:]
    bad = re.search(r"[^0-9a-fA-F]", text)
    if bad:
        raise WinInetCodecError(
            "the hex string has %r at character %d; only hex digits, ',', spaces and "
            "backslash-newline continuations are allowed" % (bad.group(0), bad.start())
        )
    if len(text) % 2:
        raise WinInetCodecError("the hex string has an odd number of digits (%d)" % len(text))
    return bytes.fromhex(text)


def _list_to_bytes(items) -> bytes:
    out = bytearray()
    for index, item in enumerate(items):
        if isinstance(item, bool):
            raise WinInetCodecError("list item %d is a boolean, not a byte value" % index)
        if isinstance(item, int):
            number = item
        elif isinstance(item, str):
            text = item.strip()
            try:
                number = int(text, 16)
            except ValueError:
                raise WinInetCodecError("list item %d (%r) is not a hex byte such as '0x46'" % (index, item)) from None
        else:
            raise WinInetCodecError("list item %d is a %s, not a byte value" % (index, type(item).__name__))
        if not 0 <= number <= 255:
            raise WinInetCodecError("list item %d (%r) is outside 0..255" % (index, item))
        out.append(number)
    return bytes(out)


def to_reg_stat_list(data: bytes) -> list:
    """The ``["0x46", "0x00", ...]`` form that ``win_reg_stat`` returns and ``win_regedit`` accepts."""
    return ["0x%02x" % b for b in data]


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------
def _read_dword(data: bytes, offset: int, what: str) -> int:
    if offset + 4 > len(data):
        raise WinInetCodecError(
            "the value ends (%d bytes) before the 4-byte %s; it is truncated" % (len(data), what), offset
        )
    return struct.unpack_from("<I", data, offset)[0]


def _read_string(data: bytes, offset: int, what: str) -> tuple:
    length = _read_dword(data, offset, "length of the %s" % what)
    start = offset + 4
    if length > len(data) - start:
        raise WinInetCodecError(
            "the %s claims %d bytes but only %d remain; the length runs past the end" % (what, length, len(data) - start),
            offset,
        )
    return data[start:start + length], start + length


def decode(value) -> ConnectionSettings:
    """Decode a ``DefaultConnectionSettings`` / ``SavedLegacySettings`` value (0x46 or 0x3C)."""
    data = to_bytes(value)
    version = _read_dword(data, 0, "version")
    if version not in KNOWN_VERSIONS:
        hint = " (0x28 is a WinHttpSettings value; use winhttp_decode)" if version == VERSION_WINHTTP else ""
        raise WinInetCodecError(
            "unknown version 0x%X; a WinINet value starts with 0x46 or 0x3C%s" % (version, hint), 0
        )
    counter = _read_dword(data, 4, "change counter")
    flags = _read_dword(data, 8, "flags")
    proxy, offset = _read_string(data, 12, "proxy server string")
    bypass, offset = _read_string(data, offset, "bypass list")
    pac, offset = _read_string(data, offset, "auto-config URL")
    return ConnectionSettings(version, counter, flags, proxy, bypass, pac, data[offset:], data)


def decode_winhttp(value) -> dict:
    """Decode a ``WinHttpSettings`` value (``netsh winhttp``), version 0x28. Flags stay an int."""
    data = to_bytes(value)
    version = _read_dword(data, 0, "version")
    if version != VERSION_WINHTTP:
        raise WinInetCodecError("unknown version 0x%X; a WinHttpSettings value starts with 0x28" % version, 0)
    counter = _read_dword(data, 4, "change counter")
    flags = _read_dword(data, 8, "flags")
    proxy, offset = _read_string(data, 12, "proxy server string")
    bypass, offset = _read_string(data, offset, "bypass list")
    bypass_text = bypass.decode("latin-1")
    return {
        "version": version,
        "counter": counter,
        "flags": flags,
        "proxy_server": proxy.decode("latin-1"),
        "bypass": split_bypass(bypass_text),
        "bypass_string": bypass_text,
        "length": len(data),
        "trailing_length": len(data) - offset,
        "hex": data.hex(),
    }


def split_bypass(text: str) -> list:
    return [item.strip() for item in text.split(";") if item.strip()]


def normalize_bypass(items) -> tuple:
    """Order, case and duplicates do not change what WinINet bypasses."""
    return tuple(sorted({item.strip().lower() for item in items if item.strip()}))


def normalize_proxy_server(text: str) -> str:
    return ";".join(part.strip().lower() for part in text.split(";") if part.strip())


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------
IDENTICAL = "identical"
EQUIVALENT = "equivalent"
DIFFERENT = "different"


def compare(source, target) -> dict:
    """Compare two values (any input form or decoded objects).

    Returns ``{"state": identical|equivalent|different, "differences": [...]}``.
    ``equivalent`` means the same effective settings: only the change counter,
    the version, the detection cache or strings whose flag is off differ.
    """
    src = source if isinstance(source, ConnectionSettings) else decode(source)
    dst = target if isinstance(target, ConnectionSettings) else decode(target)
    if (src.raw or src.to_bytes()) == (dst.raw or dst.to_bytes()):
        return {"state": IDENTICAL, "differences": []}
    a, b = src.effective(), dst.effective()
    differences = [key for key in a if a[key] != b[key]]
    return {"state": DIFFERENT if differences else EQUIVALENT, "differences": differences}


# ---------------------------------------------------------------------------
# Encoding desired settings
# ---------------------------------------------------------------------------
_HOST_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_PROXY_SCHEMES = ("http", "https", "ftp", "socks")


def _ascii(field_name: str, text: str) -> bytes:
    try:
        return text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise WinInetSettingsError(
            field_name,
            "%r is not ASCII (character %r at position %d); WinINet stores single-byte strings, "
            "so give international host names in punycode (xn--...)" % (text, text[exc.start], exc.start),
        ) from None


def _check_host(field_name: str, host: str, whole: str) -> None:
    if host.startswith("[") and host.endswith("]"):
        if not re.match(r"^\[[0-9A-Fa-f:.]+\]$", host):
            raise WinInetSettingsError(field_name, "%r has a malformed IPv6 address in brackets" % whole)
        return
    if not host or not all(_HOST_LABEL.match(label) for label in host.split(".")):
        raise WinInetSettingsError(
            field_name, "%r does not start with a valid host name or IP address" % whole
        )


def shown(text: str) -> str:
    """``text`` as it may appear in a message: everything before the last ``@`` (a user and a password, whatever
    characters it has: spaces, ``;``, ``=``, ``@``) is masked, and only what follows is quoted."""
    return "***@" + text.rsplit("@", 1)[1] if "@" in text else text


def validate_proxy_server(text: str, field_name: str = "proxy_server") -> str:
    """Validate a WinINet proxy string: ``host:port`` or ``http=host:port;https=host:port``.

    Returns the string with surrounding space removed; raises :class:`WinInetSettingsError` naming
    ``field_name`` and the fix. A message never quotes a user or password the string carried.
    """
    if not isinstance(text, str):
        raise WinInetSettingsError(field_name, "must be a string such as proxy.corp:8080")
    text = text.strip()
    if "@" in text:
        raise WinInetSettingsError(
            field_name, "%r contains credentials (user:password@); WinINet proxy strings cannot carry a user or "
            "password: give host:port, and let the proxy allow the sensor's service account anonymously"
            % shown(text))
    _ascii(field_name, text)
    if not text:
        raise WinInetSettingsError(field_name, "is empty; give host:port, for example proxy.corp:8080")
    if re.search(r"\s", text):
        raise WinInetSettingsError(
            field_name, "%r contains white space; write host:port with no spaces, for example proxy.corp:8080" % text
        )
    if "://" in text:
        raise WinInetSettingsError(
            field_name,
            "%r contains a URL scheme; WinINet wants host:port without 'http://', for example proxy.corp:8080" % text,
        )
    for part in text.split(";"):
        if not part:
            continue
        entry = part
        if "=" in part:
            scheme, dummy, entry = part.partition("=")
            if scheme.lower() not in _PROXY_SCHEMES:
                raise WinInetSettingsError(
                    field_name,
                    "%r names the protocol %r; per-protocol entries use one of %s, as in "
                    "http=proxy.corp:8080;https=proxy.corp:8080" % (text, scheme, ", ".join(_PROXY_SCHEMES)),
                )
        host, sep, port = entry.rpartition(":")
        if not sep or not port:
            raise WinInetSettingsError(
                field_name, "%r has no port; write it as host:port, for example %s:8080" % (text, entry or "proxy.corp")
            )
        if not port.isdigit():
            raise WinInetSettingsError(field_name, "%r has a port %r that is not a number" % (text, port))
        if not 1 <= int(port) <= 65535:
            raise WinInetSettingsError(field_name, "%r has port %s; a port must be between 1 and 65535" % (text, port))
        _check_host(field_name, host, text)
    return text


def validate_bypass(items, field_name: str = "bypass") -> list:
    """Bypass entries (a list, or one ``;``-separated string). Empty or blank entries are refused:
    WinINet would drop them silently, and they are usually a templating mistake."""
    if items is None:
        return []
    if isinstance(items, str):
        items = items.split(";") if items.strip() else []
    if not isinstance(items, (list, tuple)):
        raise WinInetSettingsError(field_name, "must be a list of host patterns or a ';'-separated string")
    out = []
    for index, entry in enumerate(items):
        if not isinstance(entry, str):
            raise WinInetSettingsError(field_name, "entry %d (%r) is not a string" % (index + 1, entry))
        parts = entry.split(";")
        for item in parts:
            item = item.strip()
            if not item:
                raise WinInetSettingsError(
                    field_name, "entry %d is empty or blank (%r); remove it, or give a host pattern such as "
                    "<local> or *.corp.example" % (index + 1, entry))
            _ascii(field_name, item)
            if re.search(r"\s", item):
                raise WinInetSettingsError(field_name, "entry %r may not contain white space" % item)
            out.append(item)
    return out


def validate_auto_config_url(url, field_name: str = "auto_config_url") -> str:
    if url is None:
        return ""
    if not isinstance(url, str):
        raise WinInetSettingsError(field_name, "must be a URL string such as http://wpad.corp/proxy.pac")
    url = url.strip()
    if not url:
        return ""
    _ascii(field_name, url)
    if not re.match(r"^(https?|file)://\S+$", url, re.IGNORECASE):
        raise WinInetSettingsError(
            field_name, "%r is not an http(s):// or file:// URL without spaces, e.g. http://wpad.corp/proxy.pac" % url
        )
    return url


def settings_from_spec(spec: dict, previous=None) -> ConnectionSettings:
    """Build a value from a desired specification.

    ``spec`` keys: ``proxy_server`` (str), ``bypass`` (list or ``;`` string),
    ``auto_config_url`` (str), ``auto_detect`` (bool). The direct bit is always
    set, as the Internet Options dialog does. A ``previous`` value (any input
    form) continues its counter and keeps its detection cache.
    """
    if not isinstance(spec, dict):
        raise WinInetSettingsError("settings", "must be a dictionary with proxy_server, bypass, auto_config_url, auto_detect")
    known = {"proxy_server", "bypass", "auto_config_url", "auto_detect", "direct"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise WinInetSettingsError(
            "settings", "unknown key(s) %s; use %s" % (", ".join(unknown), ", ".join(sorted(known)))
        )
    if spec.get("direct") is False:
        raise WinInetSettingsError("direct", "cannot be false; Windows always sets the direct bit")
    proxy = spec.get("proxy_server") or ""
    proxy = validate_proxy_server(proxy) if proxy else ""
    bypass = validate_bypass(spec.get("bypass"))
    if bypass and not proxy:
        raise WinInetSettingsError("bypass", "is set but proxy_server is empty; a bypass list only applies to a proxy")
    pac = validate_auto_config_url(spec.get("auto_config_url"))
    auto_detect = spec.get("auto_detect", False)
    if not isinstance(auto_detect, bool):
        raise WinInetSettingsError("auto_detect", "must be true or false")

    flags = FLAG_DIRECT
    flags |= FLAG_PROXY if proxy else 0
    flags |= FLAG_AUTO_CONFIG_URL if pac else 0
    flags |= FLAG_AUTO_DETECT if auto_detect else 0

    counter, cache = 1, DEFAULT_CACHE_IE7
    if previous is not None:
        prev = previous if isinstance(previous, ConnectionSettings) else decode(previous)
        counter = (prev.counter + 1) & MAX_COUNTER
        if prev.version == VERSION_IE7:
            cache = prev.cache
    value = ConnectionSettings(
        VERSION_IE7, counter, flags, proxy.encode("ascii"), ";".join(bypass).encode("ascii"), pac.encode("ascii"), cache
    )
    return replace(value, raw=value.to_bytes())


def encode(spec: dict, previous=None) -> bytes:
    return settings_from_spec(spec, previous).to_bytes()


def describe(value: ConnectionSettings) -> str:
    """One human line, for diffs and summaries."""
    flags = value.flags
    parts = []
    if flags["proxy"]:
        parts.append("proxy %s" % (value.proxy_server or "(empty)"))
        if value.bypass:
            parts.append("bypass %s" % ";".join(value.bypass))
    if flags["auto_config_url"]:
        parts.append("PAC %s" % value.auto_config_url)
    if flags["auto_detect"]:
        parts.append("auto-detect")
    return ", ".join(parts) if parts else "direct (no proxy)"

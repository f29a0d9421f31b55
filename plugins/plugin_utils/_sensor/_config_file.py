# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``SensorConfiguration.json`` of the Defender for Identity sensor v2.x: read it, and rewrite only its proxy.

Pure Python, no Ansible imports. Sources: docs/dev/sensor_sources.md.

The file sits in the folder of ``Microsoft.Tri.Sensor.exe`` (the ``AATPSensor`` service's binary
path). The sensor writes it itself (indented JSON with ``$type`` members); the DefenderForIdentity
PowerShell module rewrites it. Its proxy member, as ``Set-MDISensorProxyConfiguration`` writes it::

    "SensorProxyConfiguration": {
      "$type": "SensorProxyConfiguration",
      "Url": "http://proxy.contoso.com:8080",
      "UserName": "CONTOSO\\\\proxyUser",
      "EncryptedUserPasswordData": {
        "$type": "EncryptedData",
        "EncryptedBytes": "<base64 RSA-OAEP-SHA256 of the UTF-16LE password>",
        "SecretVersion": null,
        "CertificateThumbprint": "<SecretManagerConfigurationCertificateThumbprint>"
      }
    }

``Clear-MDISensorProxyConfiguration`` writes ``"SensorProxyConfiguration": null``.

Microsoft's cmdlet reads the whole file with ``ConvertFrom-Json``, replaces the member and writes
the whole file back (``ConvertTo-Json`` at its default depth 2, its own ``Format-Json`` re-indent,
``Set-Content`` with no encoding: ANSI on Windows PowerShell 5.1). That re-encodes and re-formats
every other byte. This module instead edits the text span of that one value and leaves every
other byte as it was, in the file's own encoding and line endings; the new value is formatted as
that cmdlet formats it (members in its order, ``": "``, two more spaces per level, PowerShell 5.1
``ConvertTo-Json`` string escapes such as ``\\u003c`` for ``<``).

Depth 2 and ``EncryptedUserPasswordData``: ``ConvertTo-Json`` turns objects deeper than its depth
into their ``ToString()``. The root is depth 0, ``SensorProxyConfiguration`` depth 1 and
``EncryptedUserPasswordData`` depth 2, so it is kept as an object; its members (depth 3) are
strings and null, which the depth limit does not touch. Any object nested deeper elsewhere in the
file would be flattened to a string by Microsoft's cmdlet; this module never rewrites those.

What to write for the role's options (the request, its checks, the plan and its bytes) is
:mod:`_sensor._config_plan`. Nothing here ever decrypts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction

FILE_NAME = "SensorConfiguration.json"
PROXY_KEY = "SensorProxyConfiguration"
SECRET_MANAGER_KEY = "SecretManagerConfigurationCertificateThumbprint"
PROXY_TYPE = "SensorProxyConfiguration"
ENCRYPTED_TYPE = "EncryptedData"
SENSOR_API_KEY = "WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint"

# Byte order marks, longest first (UTF-32 LE starts like UTF-16 LE).
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8-bom", "utf-8"),
    (b"\xff\xfe", "utf-16-le", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be", "utf-16-be"),
)


class SensorConfigError(ValueError):
    """The bytes are not a SensorConfiguration.json this module can read and edit safely."""


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ProxySetting:
    """The ``SensorProxyConfiguration`` member as the sensor stores it. Never holds a password."""

    present: bool  # the member exists
    url: str | None = None
    username: str | None = None
    password_set: bool = False
    certificate_thumbprint: str | None = None  # EncryptedUserPasswordData.CertificateThumbprint
    is_object: bool = False
    encrypted: dict | None = field(default=None, repr=False)  # the stored EncryptedUserPasswordData, as is

    @property
    def configured(self) -> bool:
        """``IsProxyEnabled`` of Get-MDISensorProxyConfiguration: the Url is not empty."""
        return bool(self.url)

    def to_dict(self) -> dict:
        """For results and diffs: what is set, never the encrypted bytes."""
        if not self.present:
            state = "absent"
        elif not self.is_object:
            state = "null"
        else:
            state = "set" if self.configured else "empty"
        return {
            "state": state,
            "configured": self.configured,
            "url": self.url,
            "username": self.username,
            "password_set": self.password_set,
            "certificate_thumbprint": self.certificate_thumbprint,
        }


@dataclass(frozen=True)
class _Span:
    key: str
    key_start: int
    value_start: int
    value_end: int


@dataclass(frozen=True)
class SensorConfigFile:
    """A parsed SensorConfiguration.json that remembers how to write its bytes back."""

    raw: bytes = field(repr=False)
    encoding: str  # ascii | utf-8 | utf-8-bom | utf-16-le | utf-16-be | utf-32-le | utf-32-be | ansi
    bom: bytes
    codec: str
    errors: str
    text: str = field(repr=False)
    newline: str  # the dominant line ending: "\r\n", "\n", "\r", or "" for a one-line file
    data: dict = field(repr=False)
    proxy: ProxySetting
    secret_manager_thumbprint: str | None
    path: str = ""
    _members: tuple = field(default=(), repr=False)
    _close: int = field(default=0, repr=False)

    def encode(self, text: str) -> bytes:
        return text.encode(self.codec, self.errors)

    @property
    def ascii_only(self) -> bool:
        """A single-byte file (ANSI, or plain ASCII): new non-ASCII characters are written as \\u escapes."""
        return self.encoding in ("ascii", "ansi")

    @property
    def sensor_api(self) -> str | None:
        """The sensor API host the sensor talks to (``<workspace>sensorapi.atp.azure.com``), from
        ``WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint.Address`` (sensor_sources.md, TH)."""
        endpoint = self.data.get(SENSOR_API_KEY) if isinstance(self.data, dict) else None
        address = endpoint.get("Address") if isinstance(endpoint, dict) else None
        return address.strip().lower() if isinstance(address, str) and address.strip() else None

    def summary(self) -> dict:
        out = {
            "path": self.path,
            "encoding": self.encoding,
            "line_ending": {"\r\n": "crlf", "\n": "lf", "\r": "cr"}.get(self.newline, "none"),
            "secret_manager_thumbprint": self.secret_manager_thumbprint,
            "proxy": self.proxy.to_dict(),
            "sensor_api": self.sensor_api,
        }
        thumb = self.proxy.certificate_thumbprint
        out["password_certificate_is_secret_manager"] = (
            None if not (thumb and self.secret_manager_thumbprint)
            else thumb.upper() == self.secret_manager_thumbprint.upper())
        return out


def _decode(data: bytes, ansi_codec: str) -> tuple:
    """(encoding label, bom, codec, errors, text). Every codec here round-trips the bytes exactly."""
    for bom, label, codec in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):]
            errors = "surrogatepass" if codec.startswith("utf-16") or codec.startswith("utf-32") else "surrogateescape"
            try:
                return label, bom, codec, errors, body.decode(codec, errors)
            except UnicodeDecodeError as exc:
                raise SensorConfigError("the file starts with a %s byte order mark but is not %s: %s"
                                        % (label, codec, exc)) from None
    # PowerShell and .NET write UTF-16 with a BOM; tolerate one without it (a '{' with a zero byte beside it).
    stripped = data.lstrip(b" \t\r\n")
    if stripped[:2] == b"{\x00" or data[:2] in (b" \x00", b"\r\x00", b"\n\x00"):
        return "utf-16-le", b"", "utf-16-le", "surrogatepass", data.decode("utf-16-le", "surrogatepass")
    if stripped[:2] == b"\x00{" or data[:2] in (b"\x00 ", b"\x00\r", b"\x00\n"):
        return "utf-16-be", b"", "utf-16-be", "surrogatepass", data.decode("utf-16-be", "surrogatepass")
    if all(b < 0x80 for b in data):
        return "ascii", b"", "utf-8", "surrogateescape", data.decode("utf-8")
    try:
        return "utf-8", b"", "utf-8", "surrogateescape", data.decode("utf-8")
    except UnicodeDecodeError:
        # Set-Content without -Encoding on Windows PowerShell 5.1 writes the ANSI code page.
        return "ansi", b"", ansi_codec, "surrogateescape", data.decode(ansi_codec, "surrogateescape")


def _newline(text: str) -> str:
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    cr = text.count("\r") - crlf
    best = max((crlf, "\r\n"), (lf, "\n"), (cr, "\r"))
    return best[1] if best[0] else ""


_WS = " \t\r\n"


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _string_end(text: str, i: int) -> int:
    i += 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    raise SensorConfigError("a string runs to the end of the file")


def _value_end(text: str, i: int) -> int:
    if text[i] == '"':
        return _string_end(text, i)
    if text[i] in "{[":
        depth = 0
        while i < len(text):
            char = text[i]
            if char == '"':
                i = _string_end(text, i)
                continue
            if char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise SensorConfigError("an object or array is not closed")
    j = i
    while j < len(text) and text[j] not in ",}] \t\r\n":
        j += 1
    return j


def _root_members(text: str) -> tuple:
    """(members, index of the root's closing brace). The text is already known to be valid JSON."""
    i = _skip_ws(text, 0)
    if i >= len(text) or text[i] != "{":
        raise SensorConfigError("the file is not a JSON object")
    i = _skip_ws(text, i + 1)
    members = []
    while text[i] != "}":
        key_start = i
        key_end = _string_end(text, i)
        key = json.loads(text[key_start:key_end])
        i = _skip_ws(text, key_end) + 1  # the ':'
        value_start = _skip_ws(text, i)
        value_end = _value_end(text, value_start)
        members.append(_Span(key, key_start, value_start, value_end))
        i = _skip_ws(text, value_end)
        if text[i] == ",":
            i = _skip_ws(text, i + 1)
    return tuple(members), i


def _get(obj: dict, name: str, where: str):
    """A member by name, case-insensitively as PowerShell reads properties; refuse case-only duplicates."""
    found = [key for key in obj if key.lower() == name.lower()]
    if len(found) > 1:
        raise SensorConfigError("%s has the members %s, which differ only in case; ConvertFrom-Json refuses such "
                                "a file too" % (where, " and ".join(found)))
    return (found[0], obj[found[0]]) if found else (None, None)


def _text_or_none(value, what: str):
    if value is None or isinstance(value, str):
        return value
    raise SensorConfigError("%s is %s, not a string" % (what, type(value).__name__))


def _read_proxy(value, present: bool) -> ProxySetting:
    if not present:
        return ProxySetting(present=False)
    if value is None:
        return ProxySetting(present=True)
    if not isinstance(value, dict):
        raise SensorConfigError("%s is %s, not an object or null" % (PROXY_KEY, type(value).__name__))
    url = _text_or_none(_get(value, "Url", PROXY_KEY)[1], PROXY_KEY + ".Url")
    secret = redaction.userinfo_secret(url)
    if secret:  # a password in the Url itself, in clear text on the host: never carried into a result or a line
        url = url.replace(":%s@" % secret, ":%s@" % redaction.MASK, 1)
    user = _text_or_none(_get(value, "UserName", PROXY_KEY)[1], PROXY_KEY + ".UserName")
    encrypted = _get(value, "EncryptedUserPasswordData", PROXY_KEY)[1]
    password_set, thumbprint, kept = False, None, None
    if isinstance(encrypted, dict):
        where = PROXY_KEY + ".EncryptedUserPasswordData"
        password_set = bool(_get(encrypted, "EncryptedBytes", where)[1])
        thumbprint = _text_or_none(_get(encrypted, "CertificateThumbprint", where)[1], where + ".CertificateThumbprint")
        kept = dict(encrypted)
    elif isinstance(encrypted, str):  # not what the sensor or the module write, but unambiguous
        password_set = bool(encrypted)
        kept = encrypted
    return ProxySetting(present=True, url=url or None, username=user or None, password_set=password_set,
                        certificate_thumbprint=thumbprint or None, is_object=True, encrypted=kept)


def parse(data: bytes, path: str = "", ansi_codec: str = "cp1252") -> SensorConfigFile:
    """Parse the file's bytes (any BOM: UTF-8, UTF-16 LE/BE, UTF-32; no BOM: ASCII, UTF-8 or ANSI).

    ``ansi_codec`` is the host's ANSI code page for BOM-less files that are not UTF-8 (Windows-1252
    on English and Western European Windows). Raises :class:`SensorConfigError`.
    """
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise SensorConfigError("the file is empty")
    data = bytes(data)
    encoding, bom, codec, errors, text = _decode(data, ansi_codec)
    if text.encode(codec, errors) != data[len(bom):]:  # pragma: no cover - the codecs above round-trip
        raise SensorConfigError("the file's bytes cannot be kept exactly in %s" % encoding)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SensorConfigError("not valid JSON (%s): %s" % (encoding, exc)) from None
    if not isinstance(document, dict):
        raise SensorConfigError("the file is not a JSON object")
    members, close = _root_members(text)
    key, value = _get(document, PROXY_KEY, "the file")
    thumb = _text_or_none(_get(document, SECRET_MANAGER_KEY, "the file")[1], SECRET_MANAGER_KEY)
    return SensorConfigFile(raw=data, encoding=encoding, bom=bom, codec=codec, errors=errors, text=text,
                            newline=_newline(text), data=document, proxy=_read_proxy(value, key is not None),
                            secret_manager_thumbprint=thumb or None, path=path, _members=members, _close=close)


# ---------------------------------------------------------------------------
# Writing the value the way Set-MDISensorProxyConfiguration formats it
# ---------------------------------------------------------------------------
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def js_string(text: str, ascii_only: bool = False) -> str:
    """A JSON string as Windows PowerShell 5.1's ``ConvertTo-Json`` (JavaScriptSerializer) writes it.

    ``<``, ``>``, ``&`` and ``'`` become ``\\u003c`` and so on, other control characters ``\\u00XX``.
    ``ascii_only`` also escapes non-ASCII characters (for an ANSI or ASCII file, where the cmdlet's
    ``Set-Content`` would replace a character outside the code page with ``?``).
    """
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif code < 0x20 or char in "<>&'":
            out.append("\\u%04x" % code)
        elif ascii_only and code > 0x7E:
            if code > 0xFFFF:
                code -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
            else:
                out.append("\\u%04x" % code)
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def render(value, indent: str = "", unit: str = "  ", newline: str = "\n", ascii_only: bool = False) -> str:
    """A JSON value in Format-Json's layout: one member per line, ``"key": value``, ``unit`` more per level.

    With ``newline=""`` (a one-line file) the value is written on one line.
    """
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return js_string(value, ascii_only)
    if isinstance(value, dict):
        if not value:
            return "{}"
        if not newline:
            return "{" + ", ".join("%s: %s" % (js_string(k, ascii_only), render(v, "", "", "", ascii_only))
                                   for k, v in value.items()) + "}"
        inner = indent + unit
        lines = ["%s%s: %s" % (inner, js_string(k, ascii_only), render(v, inner, unit, newline, ascii_only))
                 for k, v in value.items()]
        return "{" + newline + ("," + newline).join(lines) + newline + indent + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if not newline:
            return "[" + ", ".join(render(v, "", "", "", ascii_only) for v in value) + "]"
        inner = indent + unit
        items = [inner + render(v, inner, unit, newline, ascii_only) for v in value]
        return "[" + newline + ("," + newline).join(items) + newline + indent + "]"
    raise TypeError("cannot render %s" % type(value).__name__)


def _line_indent(text: str, index: int) -> str | None:
    """The white space before ``index`` on its line, or None when something else precedes it there."""
    start = max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1
    prefix = text[start:index]
    return prefix if prefix.strip() == "" else None


def with_proxy_value(cfg: SensorConfigFile, value) -> bytes:
    """The file's bytes with only the value of ``SensorProxyConfiguration`` replaced (None writes ``null``).

    Every byte before and after that value stays as it was. A file without the member gets it
    appended as the root's last member (Microsoft's cmdlet fails on such a file: it assigns to a
    property that ConvertFrom-Json did not create).
    """
    text = cfg.text
    spans = [m for m in cfg._members if m.key.lower() == PROXY_KEY.lower()]
    if spans:
        span = spans[0]
        indent = _line_indent(text, span.key_start)
        newline = cfg.newline if indent is not None else ""
        unit = indent if indent else "  "
        rendered = render(value, indent or "", unit, newline, cfg.ascii_only)
        start, end, insert = span.value_start, span.value_end, rendered
    else:
        first = cfg._members[0] if cfg._members else None
        indent = _line_indent(text, first.key_start) if first else "  "
        newline = cfg.newline if (indent is not None and cfg.newline) else ""
        unit = indent if indent else "  "
        rendered = render(value, unit if newline else "", unit, newline, cfg.ascii_only)
        member = "%s: %s" % (js_string(PROXY_KEY, cfg.ascii_only), rendered)
        if cfg._members:
            start = end = cfg._members[-1].value_end
            insert = "," + (newline + unit if newline else " ") + member
        else:
            start = end = cfg._close
            insert = (newline + unit + member + newline) if newline else member
    head, tail = cfg.encode(text[:start]), cfg.encode(text[end:])
    body = cfg.raw[len(cfg.bom):]
    if body[:len(head)] != head or body[len(body) - len(tail):] != tail:  # pragma: no cover - guarded by parse()
        raise SensorConfigError("internal error: the bytes around the proxy value would change")
    return cfg.bom + head + cfg.encode(insert) + tail

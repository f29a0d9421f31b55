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

Nothing here ever decrypts. Whether a stored password is still the wanted one cannot be known
without decrypting, so idempotence follows ``password_update`` as user modules do:
``on_create`` keeps a stored password for the same user, ``always`` encrypts again every run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError

FILE_NAME = "SensorConfiguration.json"
PROXY_KEY = "SensorProxyConfiguration"
SECRET_MANAGER_KEY = "SecretManagerConfigurationCertificateThumbprint"
PROXY_TYPE = "SensorProxyConfiguration"
ENCRYPTED_TYPE = "EncryptedData"

# The names the messages use: the role's variables by default (a module passes its own options).
SENSOR_API_KEY = "WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint"
ROLE_VARIABLES = {
    "url": "atp_proxy_sensor_proxy_url",
    "username": "atp_proxy_sensor_proxy_username",
    "password": "atp_proxy_sensor_proxy_password",
    "password_update": "atp_proxy_sensor_proxy_password_update",
    "clear_credentials": "atp_proxy_sensor_proxy_clear_credentials",
    "state": "atp_proxy_state",
}
PASSWORD_UPDATE = ("always", "on_create")
STATES = ("present", "absent")

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


def proxy_object(url: str, username: str | None = None, encrypted=None) -> dict:
    """The member's value in Set-MDISensorProxyConfiguration's member order."""
    value = {"$type": PROXY_TYPE, "Url": url}
    if username is not None:
        value["UserName"] = username
        value["EncryptedUserPasswordData"] = encrypted
    return value


def encrypted_data(encrypted_bytes: str, thumbprint: str) -> dict:
    """``EncryptedUserPasswordData`` as Set-MDISensorProxyConfiguration builds it (its member order)."""
    return {"$type": ENCRYPTED_TYPE, "EncryptedBytes": encrypted_bytes, "SecretVersion": None,
            "CertificateThumbprint": thumbprint}


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


# ---------------------------------------------------------------------------
# What the user asks for, and whether the file must change
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ProxyRequest:
    """The wanted sensor proxy. ``password`` is never shown (repr) and never returned."""

    state: str = "present"
    url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    password_update: str = "on_create"
    # Without a user name: keep the user and password the file holds (the role, unless told to clear them), or
    # store none (Set-MDISensorProxyConfiguration without -ProxyCredential; the module).
    keep_credentials: bool = False


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def masked_url(text: str) -> str:
    """``http://user:password@proxy:8080`` -> ``http://***@proxy:8080``: what a message may quote (everything
    before the last ``@`` of the authority is masked, whatever characters the password has)."""
    if "@" not in text:
        return text
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    return (scheme + sep if sep else "") + "***@" + rest.rsplit("@", 1)[1]


def validate_url(url, variable: str = ROLE_VARIABLES["url"]) -> str:
    """A proxy URL with its scheme, as the sensor's own setting takes it. Raises UsageError naming ``variable``."""
    if not isinstance(url, str) or not url.strip():
        raise UsageError("%s is required for the sensor_config method: give the proxy as a URL with its scheme, "
                         "for example http://proxy.corp.example:8080" % variable)
    text = url.strip()
    shown = masked_url(text)  # every message quotes this: never a user or password the URL carried
    if re.search(r"\s", text):
        raise UsageError("%s: %r contains white space" % (variable, shown))
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):(?!//)(?!\d+$)", text)
    if scheme:  # javascript:alert(1), mailto:x: a scheme, but not a proxy's (host:port has digits after the colon)
        raise UsageError("%s: %r has the scheme %r; a proxy URL starts with http:// or https://"
                         % (variable, shown, scheme.group(1)))
    if "://" not in text:
        raise UsageError("%s: %r has no scheme; the sensor's own proxy setting is a URL such as http://%s "
                         "(Set-MDISensorProxyConfiguration -ProxyUrl 'http://proxy.contoso.com:8080'); "
                         "host:port is the form of the wininet method" % (variable, shown, shown))
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        raise UsageError("%s: %r is not ASCII; give an international host name in punycode (xn--...)"
                         % (variable, shown)) from None
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise UsageError("%s: %r has the scheme %r; a proxy URL starts with http:// or https://"
                         % (variable, shown, parts.scheme))
    if "@" in parts.netloc:
        raise UsageError("%s: %r contains credentials; give them as %s and %s instead"
                         % (variable, shown, ROLE_VARIABLES["username"], ROLE_VARIABLES["password"]))
    if not parts.hostname:
        raise UsageError("%s: %r has no host name" % (variable, shown))
    try:
        port = parts.port
    except ValueError:
        raise UsageError("%s: %r has a port that is not a number between 1 and 65535" % (variable, shown)) from None
    if port == 0:
        raise UsageError("%s: %r has port 0; a port is between 1 and 65535" % (variable, shown))
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError("%s: %r has a path, query or fragment; a proxy URL is scheme://host:port" % (variable, shown))
    return text


def validate(request: ProxyRequest, names: dict | None = None) -> ProxyRequest:
    """Check the wanted proxy; return it with blanks as None. Raises UsageError naming the variables."""
    names = dict(ROLE_VARIABLES, **(names or {}))
    if request.state not in STATES:
        raise UsageError("%s: %r is not one of %s" % (names["state"], request.state, ", ".join(STATES)))
    if request.password_update not in PASSWORD_UPDATE:
        raise UsageError("%s: %r is not one of %s" % (names["password_update"], request.password_update,
                                                      ", ".join(PASSWORD_UPDATE)))
    username = None if _blank(request.username) else request.username
    password = None if _blank(request.password) else request.password
    if username is not None and (not isinstance(username, str) or re.search(r"[\x00-\x1f]", username)):
        raise UsageError("%s must be a user name such as CORP\\proxy-user" % names["username"])
    if password is not None and not isinstance(password, str):
        raise UsageError("%s must be a string" % names["password"])
    if request.state == "absent":
        return ProxyRequest("absent", None, None, None, request.password_update)
    url = validate_url(request.url, names["url"])
    if password is not None and username is None:
        raise UsageError("%s is set but %s is not: the sensor keeps a proxy password only together with a user "
                         "name (Set-MDISensorProxyConfiguration -ProxyCredential)" % (names["password"], names["username"]))
    return ProxyRequest("present", url, username.strip() if username else None, password, request.password_update,
                        bool(request.keep_credentials))


def url_key(url: str | None) -> tuple | None:
    """What makes two proxy URLs the same proxy: scheme, host (any case), port (defaults filled in)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    scheme = (parts.scheme or "http").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


@dataclass(frozen=True)
class Plan:
    """What a change of the sensor proxy does. ``data`` holds the new file bytes (no password in them)."""

    changed: bool
    reason: str
    before: dict
    after: dict
    data: bytes | None = field(default=None, repr=False)
    encrypted: bool = False  # a password was encrypted for this change
    thumbprint: str | None = None  # the certificate it was encrypted with
    kept_password: bool = False  # the stored EncryptedUserPasswordData is kept as it was

    def to_result(self) -> dict:
        return {"changed": self.changed, "reason": self.reason, "before": self.before, "after": self.after,
                "password_encrypted": self.encrypted, "password_kept": self.kept_password,
                "certificate_thumbprint": self.thumbprint}


def _after_summary(value) -> dict:
    return _read_proxy(value, True).to_dict()


def plan(cfg: SensorConfigFile, request: ProxyRequest, encrypt=None, names: dict | None = None) -> Plan:
    """Decide whether ``cfg`` must change to give the sensor ``request``'s proxy, and build the new bytes.

    ``encrypt(thumbprint) -> base64`` is called only when a password must be encrypted, with
    ``SecretManagerConfigurationCertificateThumbprint`` (the certificate Set-MDISensorProxyConfiguration
    uses); bind it to :func:`encrypt_password` and that certificate's ``win_certificate_info`` entry.
    Idempotence without decrypting:

    * ``absent``: in sync when no proxy is set (the member is null, missing, or has no Url);
      otherwise ``null`` is written, as Clear-MDISensorProxyConfiguration does.
    * no user: in sync when the Url is the same proxy and no user or password is stored. Urls
      compare by scheme, host (any case) and port (default ports filled in); user names in any case.
    * a user and a password, ``on_create``: a stored password of the same user (any case) is kept,
      so only a different Url changes the file; ``always`` encrypts the password again every run.
    * a user without a password: only valid when a password is stored for that same user; it is kept.
    * no user with ``keep_credentials``: the user and password the file holds stay (a new Url keeps them too).
    """
    names = dict(ROLE_VARIABLES, **(names or {}))
    request = validate(request, names)
    current = cfg.proxy
    if request.state != "absent" and request.username is None and request.keep_credentials and current.is_object \
            and current.username:
        # Kept as stored: the same user, and its password (never decrypted) unless a new one is given.
        request = ProxyRequest(request.state, request.url, current.username, None, "on_create", True)
    before = current.to_dict()
    if request.state == "absent":
        if not current.configured:
            return Plan(False, "no sensor proxy is set", before, before)
        return Plan(True, "the sensor proxy is cleared (null, as Clear-MDISensorProxyConfiguration writes)",
                    before, _after_summary(None), with_proxy_value(cfg, None))

    changes = []
    if not current.is_object or url_key(current.url) != url_key(request.url):
        changes.append("the Url")
    same_user = (current.username or "").lower() == (request.username or "").lower()  # Windows names: any case
    if current.is_object and not same_user:
        changes.append("the user name")
    encrypted, did_encrypt, kept = None, False, False
    if request.username is None:
        if current.password_set:
            changes.append("the stored password (removed)")
    elif current.password_set and same_user and (request.password is None or request.password_update == "on_create"):
        encrypted, kept = current.encrypted, True  # on_create, or no password given: keep what is stored
    elif request.password is None:
        raise UsageError("%s is set but %s is not, and %s holds no password for '%s'; give the password"
                         % (names["username"], names["password"], cfg.path or FILE_NAME, request.username))
    else:
        changes.append("the password (encrypted again, %s: always)" % names["password_update"]
                       if current.password_set and same_user else "the password")
        thumbprint = cfg.secret_manager_thumbprint
        if not thumbprint:
            raise UsageError("%s has no %s, so %s cannot be encrypted for this sensor"
                             % (cfg.path or FILE_NAME, SECRET_MANAGER_KEY, names["password"]))
        if encrypt is None:
            raise UsageError("%s must be encrypted with the certificate %s, but no encryptor was given"
                             % (names["password"], thumbprint))
        encrypted, did_encrypt = encrypted_data(encrypt(thumbprint), thumbprint), True
    used = None
    if isinstance(encrypted, dict):
        used = _get(encrypted, "CertificateThumbprint", PROXY_KEY)[1]
    if not changes:
        return Plan(False, "the sensor proxy is already set", before, before, kept_password=kept, thumbprint=used)
    value = proxy_object(request.url, request.username, encrypted)
    data = with_proxy_value(cfg, value)
    after = _after_summary(value)
    ansi = cfg.codec if cfg.encoding == "ansi" else "cp1252"
    if parse(data, cfg.path, ansi).proxy.to_dict() != after:  # pragma: no cover - a bug guard, not an outcome
        raise SensorConfigError("internal error: the rewritten file does not read back as intended")
    return Plan(True, "%s change%s" % (", ".join(changes), "s" if len(changes) == 1 else ""), before, after, data,
                encrypted=did_encrypt, thumbprint=used, kept_password=kept)


def verify(data: bytes, expected: Plan, ansi_codec: str = "cp1252") -> bool:
    """Read-back check: ``data`` (the file as read after the write) holds the proxy ``expected`` wrote."""
    try:
        return parse(data, ansi_codec=ansi_codec).proxy.to_dict() == expected.after
    except SensorConfigError:
        return False

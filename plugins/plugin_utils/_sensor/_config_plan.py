# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to write into ``SensorConfiguration.json`` for the proxy the role's (or the module's) options ask for.

Pure Python, no Ansible imports. Sources: docs/dev/sensor_sources.md. The options are checked
(:func:`validate`, :func:`validate_url`: a clear error naming the variable, before anything is read), then
:func:`plan` compares them with the parsed file (:mod:`_sensor._config_file`) and builds the new bytes with
its byte-preserving edit.

Nothing here ever decrypts. Whether a stored password is still the wanted one cannot be known
without decrypting, so idempotence follows ``password_update`` as user modules do:
``on_create`` keeps a stored password for the same user, ``always`` encrypts again every run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as config_file

# The names the messages use: the role's variables by default (a module passes its own options).
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


def proxy_object(url: str, username: str | None = None, encrypted=None) -> dict:
    """The member's value in Set-MDISensorProxyConfiguration's member order."""
    value = {"$type": config_file.PROXY_TYPE, "Url": url}
    if username is not None:
        value["UserName"] = username
        value["EncryptedUserPasswordData"] = encrypted
    return value


def encrypted_data(encrypted_bytes: str, thumbprint: str) -> dict:
    """``EncryptedUserPasswordData`` as Set-MDISensorProxyConfiguration builds it (its member order)."""
    return {"$type": config_file.ENCRYPTED_TYPE, "EncryptedBytes": encrypted_bytes, "SecretVersion": None,
            "CertificateThumbprint": thumbprint}


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


# What a message may quote of a proxy URL: the masking rule is _common._redaction's.
masked_url = redaction.masked_url


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
    return config_file._read_proxy(value, True).to_dict()


def plan(cfg: config_file.SensorConfigFile, request: ProxyRequest, encrypt=None, names: dict | None = None) -> Plan:
    """Decide whether ``cfg`` must change to give the sensor ``request``'s proxy, and build the new bytes.

    ``encrypt(thumbprint) -> base64`` is called only when a password must be encrypted, with
    ``SecretManagerConfigurationCertificateThumbprint`` (the certificate Set-MDISensorProxyConfiguration
    uses); bind it to :func:`_sensor._secret.encrypt_password` and that certificate's ``win_certificate_info`` entry.
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
                    before, _after_summary(None), config_file.with_proxy_value(cfg, None))

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
                         % (names["username"], names["password"], cfg.path or config_file.FILE_NAME, request.username))
    else:
        changes.append("the password (encrypted again, %s: always)" % names["password_update"]
                       if current.password_set and same_user else "the password")
        thumbprint = cfg.secret_manager_thumbprint
        if not thumbprint:
            raise UsageError("%s has no %s, so %s cannot be encrypted for this sensor"
                             % (cfg.path or config_file.FILE_NAME, config_file.SECRET_MANAGER_KEY, names["password"]))
        if encrypt is None:
            raise UsageError("%s must be encrypted with the certificate %s, but no encryptor was given"
                             % (names["password"], thumbprint))
        encrypted, did_encrypt = encrypted_data(encrypt(thumbprint), thumbprint), True
    used = None
    if isinstance(encrypted, dict):
        used = config_file._get(encrypted, "CertificateThumbprint", config_file.PROXY_KEY)[1]
    if not changes:
        return Plan(False, "the sensor proxy is already set", before, before, kept_password=kept, thumbprint=used)
    value = proxy_object(request.url, request.username, encrypted)
    data = config_file.with_proxy_value(cfg, value)
    after = _after_summary(value)
    ansi = cfg.codec if cfg.encoding == "ansi" else "cp1252"
    if config_file.parse(data, cfg.path, ansi).proxy.to_dict() != after:  # pragma: no cover - a bug guard, not an outcome
        raise config_file.SensorConfigError("internal error: the rewritten file does not read back as intended")
    return Plan(True, "%s change%s" % (", ".join(changes), "s" if len(changes) == 1 else ""), before, after, data,
                encrypted=did_encrypt, thumbprint=used, kept_password=kept)


def verify(data: bytes, expected: Plan, ansi_codec: str = "cp1252") -> bool:
    """Read-back check: ``data`` (the file as read after the write) holds the proxy ``expected`` wrote."""
    try:
        return config_file.parse(data, ansi_codec=ansi_codec).proxy.to_dict() == expected.after
    except config_file.SensorConfigError:
        return False

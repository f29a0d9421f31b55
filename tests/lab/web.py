# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab DC's .NET web stack (TEST ONLY): the one emulation of ``System.Net.HttpWebRequest`` that both the
``ansible.windows.win_uri`` stand-in and the PowerShell executor's ``HttpWebRequest`` surface
(``tests/lab/pwsh/surface/web.py``) use. Requests are made FOR REAL from this machine, over the lab's network
(its DNS tables, proxy.py, tinyproxy, the TLS servers and the inspecting proxy of ``tests/lab/network.py``).

Which proxy a request takes, as .NET Framework 4.x chooses it:

* the account's default proxy (``WebRequest.DefaultWebProxy``): the Internet Explorer (WinINet) settings of the
  account the process runs as, its ``DefaultConnectionSettings`` in its own ``HKU`` hive, or the machine-wide
  Connections key under the ``ProxySettingsPerUser=0`` policy; decoded with atp.sensor_proxy's own codec: proxy
  flag, ``proxy_server`` (``host:port`` or ``http=..;https=..``), bypass list (``<local>`` = names without a dot,
  ``*`` patterns). An unloaded hive, a missing or a malformed value means "direct". Automatic detection (WPAD)
  and PAC scripts are not emulated: :class:`LabRefusal` rather than a request treated as direct;
* a ``System.Net.WebProxy(url, BypassOnLocal=true)``: that proxy, except for local names (no dot, loopback);
* no proxy (``Proxy = $null``): direct.

Names resolve through ``lab.json`` ``dns`` only (the proxy resolves through ``proxy_dns``). HTTPS through a proxy
is a real CONNECT tunnel; a non-200 answer to the CONNECT comes back as the response of the request, with method
``CONNECT`` (.NET raises a WebException carrying the proxy's response). Proxy credentials are sent only after the
proxy asked (a 407 with ``Proxy-Authenticate: Basic``), on a new CONNECT, as .NET does. ``HttpWebRequest.Timeout``
bounds the whole request.

Server certificates: the handshake always completes here (``CERT_NONE``) so that the certificate the server sent is
known; :func:`certificate_view` then validates it as Windows would against the lab's machine store (``lab.json``
``ca_file``, an empty store trusts nothing) and the host name, and the caller decides: ``win_uri``'s
``validate_certs`` (:func:`request` ``validate``), or a per-request validation callback (``on_certificate``), which
sees the chain and the ``SslPolicyErrors`` and may accept anything.

Failures are :class:`WebError` with the English .NET message and its ``WebExceptionStatus``; the host fault
``language: de-DE`` (``lab.json`` ``win_uri_faults``, ``tests/lab/network.py`` ``set_win_uri_fault``) renders them
in German (our rendering of the de-DE resource strings), ``tls_max`` makes the DC offer only old TLS.
"""

from __future__ import annotations

import base64
import fnmatch
import functools
import hashlib
import http.client
import ipaddress
import re
import socket
import ssl
import time
import warnings
from datetime import datetime, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from tests.lab.state import codec, resolve_name

MSG_NAME = "The remote name could not be resolved: '%s'"
MSG_PROXY_NAME = "The proxy name could not be resolved: '%s'"
MSG_CONNECT = "Unable to connect to the remote server"
MSG_TIMEOUT = "The operation has timed out."
MSG_TRUST = "The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel."
MSG_SECURE_CHANNEL = "The request was aborted: Could not create SSL/TLS secure channel."
MSG_SEND = "The underlying connection was closed: An unexpected error occurred on a send."
MSG_CLOSED = "The underlying connection was closed: The connection was closed unexpectedly."
# System.Net.WebExceptionStatus of each message.
STATUS = {MSG_NAME: "NameResolutionFailure", MSG_PROXY_NAME: "ProxyNameResolutionFailure", MSG_CONNECT: "ConnectFailure",
          MSG_TIMEOUT: "Timeout", MSG_TRUST: "TrustFailure", MSG_SECURE_CHANNEL: "SecureChannelFailure",
          MSG_SEND: "SendFailure", MSG_CLOSED: "ConnectionClosed"}
# The same messages on a DC with the German .NET language pack (our rendering; fault "language": "de-DE").
GERMAN = {
    MSG_NAME: "Der Remotename konnte nicht aufgel\u00f6st werden: '%s'",
    MSG_PROXY_NAME: "Der Proxyname konnte nicht aufgel\u00f6st werden: '%s'",
    MSG_CONNECT: "Die Verbindung mit dem Remoteserver kann nicht hergestellt werden.",
    MSG_TIMEOUT: "Der Vorgang hat das Zeitlimit \u00fcberschritten.",
    MSG_TRUST: "Die zugrunde liegende Verbindung wurde geschlossen: F\u00fcr den gesch\u00fctzten SSL/TLS-Kanal "
               "konnte keine Vertrauensstellung hergestellt werden.",
    MSG_SECURE_CHANNEL: "Die Anfrage wurde abgebrochen: Es konnte kein gesch\u00fctzter SSL/TLS-Kanal erstellt werden.",
    MSG_SEND: "Die zugrunde liegende Verbindung wurde geschlossen: Unerwarteter Fehler beim Senden.",
    MSG_CLOSED: "Die zugrunde liegende Verbindung wurde geschlossen: Die Verbindung wurde unerwartet getrennt.",
}
# OpenSSL reasons of a handshake that found no common protocol or cipher (.NET: SecureChannelFailure).
_NO_COMMON_TLS = ("NO_PROTOCOLS_AVAILABLE", "UNSUPPORTED_PROTOCOL", "PROTOCOL_VERSION", "HANDSHAKE_FAILURE",
                  "NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE", "WRONG_VERSION_NUMBER")

POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
MACHINE_CONNECTIONS = "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections"


class WebError(Exception):
    """A ``System.Net.WebException`` without a response: ``status`` is its ``WebExceptionStatus``."""

    def __init__(self, message, arg=None):
        super().__init__(message)
        self.message = message
        self.arg = arg
        self.status = STATUS.get(message, "UnknownError")

    def text(self, language=None):
        template = GERMAN.get(self.message, self.message) if language == "de-DE" else self.message
        return template % self.arg if self.arg is not None else template


class LabRefusal(Exception):
    """Something the lab does not emulate: fail with a lab message rather than pretend."""


def host_faults(lab_config: dict, host_name: str) -> dict:
    """The host's web-stack faults (``language``, ``tls_max``, ``become``)."""
    return dict((lab_config.get("win_uri_faults") or {}).get(host_name) or {})


def account_settings(host, account: dict):
    """The WinINet settings .NET's default proxy reads for ``account`` (decoded), or None for direct.

    Under the ``ProxySettingsPerUser=0`` policy WinINet reads every account's settings from the machine-wide key
    (ATADocs ATPDocs/deploy/configure-proxy.md; the per-account values have no effect). An unloaded hive reads as
    "no value" (``get_value`` returns None): direct as well; WinINet ignores a value it cannot parse."""
    policy = host.get_value(POLICY_KEY, "ProxySettingsPerUser")
    per_machine = policy is not None and policy["type"] == "REG_DWORD" and int(policy["data"]) == 0
    path = MACHINE_CONNECTIONS if per_machine else host.connections_path(account["sid"])
    value = host.get_value(path, "DefaultConnectionSettings")
    if value is None:
        return None
    try:
        return codec().decode(bytes.fromhex(value["data"]))
    except ValueError:
        return None


def choose_proxy(settings, scheme, host):
    """The proxy 'host:port' WinINet uses for scheme://host, or None for direct."""
    if settings is None or not settings.flags["proxy"] or not settings.proxy_server.strip():
        return None
    for pattern in settings.bypass:
        pat = pattern.strip().lower()
        if pat == "<local>":
            if "." not in host:
                return None
            continue
        pat = re.sub(r"^[a-z]+://", "", pat)
        if fnmatch.fnmatchcase(host.lower(), pat):
            return None
    servers = {}
    default = None
    for part in settings.proxy_server.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            key, dummy, value = part.partition("=")
            servers[key.strip().lower()] = value.strip()
        else:
            default = part
    return servers.get(scheme, default)


def default_proxy(settings, scheme, host):
    """``WebRequest.DefaultWebProxy`` for scheme://host: the account's WinINet proxy, refusing WPAD and PAC."""
    if settings is not None and (settings.flags["auto_detect"] or settings.flags["auto_config_url"]):
        what = []
        if settings.flags["auto_detect"]:
            what.append("automatic detection (WPAD)")
        if settings.flags["auto_config_url"]:
            what.append("a PAC script (%s)" % settings.auto_config_url)
        raise LabRefusal("lab: this account's WinINet settings use %s, which the lab's web stack does not emulate; "
                         "it refuses to treat the request as direct" % " and ".join(what))
    return choose_proxy(settings, scheme, host)


def split_host_port(text, default_port):
    text = re.sub(r"^[a-z]+://", "", text.strip(), flags=re.I).rstrip("/")
    text = text.rsplit("@", 1)[-1]
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and (not host.startswith("[") or host.endswith("]")):
        return host.strip("[]"), int(port)
    return text.strip("[]"), default_port


def is_local(host):
    """WebProxy's BypassOnLocal: a name without a dot, localhost or a loopback address."""
    if host.lower() == "localhost" or "." not in host and ":" not in host:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Request:
    """One request with an overall deadline (HttpWebRequest.Timeout covers the whole request)."""

    def __init__(self, lab_config, timeout):
        self.lab_config = lab_config
        self.deadline = time.monotonic() + timeout

    def remaining(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise WebError(MSG_TIMEOUT)
        return left

    def connect(self, host, port, name_error):
        try:
            ipaddress.ip_address(host)
            target = (host, port)
        except ValueError:
            target = resolve_name(self.lab_config, host, port, "dns")
        if target is None:
            raise WebError(name_error, host)
        try:
            sock = socket.create_connection(target, timeout=self.remaining())
        except TimeoutError:
            raise WebError(MSG_TIMEOUT) from None
        except OSError:
            raise WebError(MSG_CONNECT) from None
        sock.settimeout(self.remaining())
        return sock


def read_response(sock, method):
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    body = response.read() if method not in ("HEAD", "CONNECT") or response.status != 200 else b""
    return response, body


# ---------------------------------------------------------------------------------------------------------------
# Certificates as Windows sees them
# ---------------------------------------------------------------------------------------------------------------
# X500DistinguishedName's short names (.NET Framework's X509Certificate.Subject / Issuer).
_DOTNET_ATTRIBUTES = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
                      "localityName": "L", "stateOrProvinceName": "S", "countryName": "C", "emailAddress": "E",
                      "domainComponent": "DC", "serialNumber": "SERIALNUMBER", "streetAddress": "STREET"}


def dotnet_name(name) -> str:
    """A ``cryptography`` Name as .NET prints it: most specific first, ``, `` between, ``S=`` for the state."""
    parts = []
    for rdn in reversed(list(name.rdns)):
        for attribute in rdn:
            key = _DOTNET_ATTRIBUTES.get(attribute.oid._name, "OID." + attribute.oid.dotted_string)
            value = str(attribute.value)
            if any(c in value for c in ',+="\n<>#;'):
                value = '"%s"' % value.replace('"', '""')
            parts.append("%s=%s" % (key, value))
    return ", ".join(parts)


def _load_store(ca_file: str) -> list:
    if not ca_file:
        return []
    try:
        with open(ca_file, "rb") as handle:
            return x509.load_pem_x509_certificates(handle.read())
    except (OSError, ValueError):
        return []


def certificate_view(der: bytes, host: str, ca_file: str) -> dict:
    """What a RemoteCertificateValidationCallback gets for the server certificate ``der``: ``{policy_errors,
    chain: [cryptography certificates, leaf first], chain_status: [(X509ChainStatusFlags name, information)]}``,
    validated as SChannel does against the machine store (``ca_file``) and the host name.

    The chain is the leaf and the store certificates that issued it (the lab's servers send only their leaf);
    its root must be in the store, else ``UntrustedRoot`` (self-signed) or ``PartialChain``. The name check
    (``RemoteCertificateNameMismatch``) is separate from the chain check, as ``SslPolicyErrors`` are flags."""
    leaf = x509.load_der_x509_certificate(der)
    store = _load_store(ca_file)
    chain = [leaf]
    current = leaf
    while len(chain) < 9:
        if current.issuer == current.subject:
            break
        parent = next((c for c in store if c.subject == current.issuer), None)
        if parent is None:
            break
        chain.append(parent)
        current = parent
    errors = []
    status = []
    trusted = chain[-1] in store and _links_verify(chain)
    if not trusted:
        errors.append("RemoteCertificateChainErrors")
        if chain[-1].issuer == chain[-1].subject:
            status.append(("UntrustedRoot", "A certificate chain processed, but terminated in a root certificate "
                                            "which is not trusted by the trust provider."))
        else:
            status.append(("PartialChain", "A certificate chain could not be built to a trusted root authority."))
    if not _name_matches(leaf, host):
        errors.insert(0, "RemoteCertificateNameMismatch")
    return {"policy_errors": ", ".join(errors) or "None", "chain": chain, "chain_status": status}


def _links_verify(chain: list) -> bool:
    """Each certificate signed by the next, each within its validity period (a self-signed root by itself)."""
    now = datetime.now(timezone.utc)
    for child, parent in zip(chain, chain[1:] + chain[-1:], strict=True):
        if not child.not_valid_before_utc <= now <= child.not_valid_after_utc:
            return False
        if child is parent and child.issuer != child.subject:
            return False
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            return False
    return True


def _name_matches(leaf, host: str) -> bool:
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        address = ipaddress.ip_address(host)
        return address in names.get_values_for_type(x509.IPAddress)
    except ValueError:
        pass
    host = host.lower().rstrip(".")
    for name in names.get_values_for_type(x509.DNSName):
        name = name.lower()
        if name == host or (name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]):
            return True
    return False


def thumbprint(cert) -> str:
    """``X509Certificate2.Thumbprint``: the SHA-1 of the DER, upper-case hex (CryptoAPI computes it, FIPS or not)."""
    return hashlib.sha1(cert.public_bytes(Encoding.DER)).hexdigest().upper()  # noqa: S324 (a thumbprint, not crypto)


@functools.cache
def _client_context(tls_max=None) -> ssl.SSLContext:
    """The client context of a handshake, one per ``tls_max`` and process (creating one costs about a millisecond
    of CPU; a context is safe to share between threads, and it holds no per-connection state: no certificate store,
    as the server's chain is judged afterwards by :func:`certificate_view` or the request's callback)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if tls_max:
        # An old .NET offers only these versions; let OpenSSL offer them at all (security level 0).
        with warnings.catch_warnings():  # Python deprecates TLS 1.0/1.1: exactly what this models
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.maximum_version = getattr(ssl.TLSVersion, tls_max)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def tls_wrap(req, sock, host, ca_file, tls_max=None, validate=True, on_certificate=None):
    """The TLS handshake of one request. ``validate`` (win_uri's ``validate_certs``): an untrusted certificate or a
    wrong name is TrustFailure; ``on_certificate(der)`` (a per-request validation callback): its answer decides."""
    ctx = _client_context(tls_max)
    sock.settimeout(req.remaining())
    try:
        wrapped = ctx.wrap_socket(sock, server_hostname=host)
    except TimeoutError:
        raise WebError(MSG_TIMEOUT) from None
    except ssl.SSLError as exc:
        reason = str(getattr(exc, "reason", "") or exc).upper()
        if any(marker in reason for marker in _NO_COMMON_TLS):
            raise WebError(MSG_SECURE_CHANNEL) from None
        raise WebError(MSG_SEND) from None
    except OSError:
        raise WebError(MSG_SEND) from None
    der = wrapped.getpeercert(binary_form=True)
    if on_certificate is not None:
        accepted = on_certificate(der)
    elif validate:
        accepted = certificate_view(der, host, ca_file)["policy_errors"] == "None"
    else:
        accepted = True
    if not accepted:
        wrapped.close()
        raise WebError(MSG_TRUST)
    return wrapped


def _basic_challenge(response):
    return "basic" in (response.getheader("Proxy-Authenticate", "") or "").lower()


def _proxy_auth(credentials):
    user, password = credentials
    token = base64.b64encode(("%s:%s" % (user, password or "")).encode()).decode()
    return "Basic %s" % token


def request(lab_config, url, *, method="GET", headers=None, proxy=None, credentials=None, timeout=30.0,
            ca_file="", tls_max=None, validate=True, on_certificate=None):
    """One request of ``url`` through ``proxy`` ('host:port', or None for direct): ``(response, body,
    from_proxy)``, ``from_proxy`` true when the response is the proxy's answer to the CONNECT. ``credentials``:
    ``(user, password)`` for the proxy, sent after its 407. Raises :class:`WebError`."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    req = Request(lab_config, timeout)
    all_headers = {"Host": host if parts.port is None else "%s:%d" % (host, port), "Connection": "close"}
    all_headers.update(headers or {})
    sock = None
    try:
        if proxy and scheme == "https":
            proxy_host, proxy_port = split_host_port(proxy, 80)
            target = "%s:%d" % (host, port)
            auth = []
            while True:
                sock = req.connect(proxy_host, proxy_port, MSG_PROXY_NAME)
                lines = ["CONNECT %s HTTP/1.1" % target, "Host: %s" % target] + auth
                sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
                response = http.client.HTTPResponse(sock, method="CONNECT")
                response.begin()
                if response.status == 407 and not auth and credentials and _basic_challenge(response):
                    sock.close()
                    auth = ["Proxy-Authorization: %s" % _proxy_auth(credentials)]
                    continue
                break
            if response.status != 200:
                body = response.read() if response.length else b""
                return response, body, True
            sock = tls_wrap(req, sock, host, ca_file, tls_max, validate, on_certificate)
            target_line = path
        elif proxy:
            proxy_host, proxy_port = split_host_port(proxy, 80)
            auth = {}
            while True:
                sock = req.connect(proxy_host, proxy_port, MSG_PROXY_NAME)
                sent = dict(all_headers, **auth)
                raw = "%s %s HTTP/1.1\r\n" % (method, url)
                raw += "".join("%s: %s\r\n" % kv for kv in sent.items()) + "\r\n"
                sock.sendall(raw.encode("latin-1"))
                response, body = read_response(sock, method)
                if response.status == 407 and not auth and credentials and _basic_challenge(response):
                    sock.close()
                    auth = {"Proxy-Authorization": _proxy_auth(credentials)}
                    continue
                return response, body, False
        else:
            sock = req.connect(host, port, MSG_NAME)
            if scheme == "https":
                sock = tls_wrap(req, sock, host, ca_file, tls_max, validate, on_certificate)
            target_line = path
        sock.settimeout(req.remaining())
        raw = "%s %s HTTP/1.1\r\n" % (method, target_line)
        raw += "".join("%s: %s\r\n" % kv for kv in all_headers.items()) + "\r\n"
        sock.sendall(raw.encode("latin-1"))
        response, body = read_response(sock, method)
        return response, body, False
    except WebError:
        raise
    except TimeoutError:
        raise WebError(MSG_TIMEOUT) from None
    except (http.client.HTTPException, OSError):
        raise WebError(MSG_SEND if scheme == "https" else MSG_CLOSED) from None
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass


def last_modified(response) -> str:
    """``HttpWebResponse.LastModified`` in ISO 8601 (the current time when the server sends none)."""
    from email.utils import parsedate_to_datetime

    value = response.getheader("Last-Modified")
    try:
        stamp = parsedate_to_datetime(value) if value else datetime.now(timezone.utc)
    except (TypeError, ValueError):
        stamp = datetime.now(timezone.utc)
    return stamp.isoformat()

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_uri (TEST ONLY). The request is made FOR REAL from this machine.

Which proxy, as WebRequest.psm1 (ansible.windows 3.3.0) lines 283-312 choose it:

* ``use_proxy: false`` -> ``$proxy = $null``: direct, whatever else is set (lines 283-285);
* else ``proxy_url`` -> ``New-Object System.Net.WebProxy $ProxyUrl, $true``: that proxy, bypassed only for
  local names (no dot, loopback) because BypassOnLocal is true (lines 286-288);
* else ``$web_request.Proxy``: .NET's default proxy, built from the Internet Explorer (WinINet) settings
  of the account the module runs as: the ``DefaultConnectionSettings`` of that account's HKU hive (of the
  machine-wide Connections key under the ``ProxySettingsPerUser=0`` policy),
  decoded with atp.sensor_proxy's own codec: proxy flag, ``proxy_server`` (``host:port`` or
  ``http=..;https=..``), bypass list (``<local>`` = names without a dot, ``*`` patterns). An unloaded
  hive, a missing or a malformed value means "direct". Automatic detection (WPAD) and PAC scripts are not
  emulated: when the account's settings switch either on, the stand-in fails with a lab message instead
  of pretending the request went direct.

``proxy_username``/``proxy_password`` become the proxy's credentials (lines 302-306). As .NET does, they
are sent only after the proxy asked (a 407 with ``Proxy-Authenticate: Basic``), on a new CONNECT.

Names resolve through the lab's DNS map (``lab.json`` ``dns``), never real DNS. HTTPS through a proxy uses
a real CONNECT tunnel; a non-200 answer to the CONNECT is returned as the response, ``method: CONNECT``
(the tunnel request's verb), as .NET raises a WebException carrying the proxy's response and win_uri's
``-IgnoreBadResponse`` path keeps it (WebRequest.psm1 lines 465-496).

Result keys follow win_uri.ps1 lines 104-123 (every response property and header in snake case),
WebRequest.psm1 lines 488-511 (``msg`` = status description, ``status_code``, ``elapsed``) and the status
check of win_uri.ps1 lines 178-180. Failures use win_uri.ps1 line 203:
``Unhandled exception occurred when sending web request. Exception: <WebException message>`` with the .NET
messages listed in tests/lab/README.md, and ``elapsed`` (set in the ``finally`` of WebRequest.psm1 line 511).
``timeout`` bounds the whole request, as ``HttpWebRequest.Timeout`` does (line 242).

Become, as ansible-core 2.19's ``runas`` does it before the module runs (become_wrapper.ps1,
Ansible.Become.cs ``GetUserTokens``: ``new NTAccount(username).Translate(...)``): a SID or ``LocalSystem`` as
``become_user`` cannot be looked up, and the run fails in the exec wrapper with no win_uri keys at all
(exec_wrapper.ps1 ``Write-AnsibleErrorJson``). Faults (``lab.json`` ``win_uri_faults``, see
``tests/lab/network.py`` ``set_win_uri_fault``): ``become`` (the Secondary Logon service disabled, no SYSTEM
token), ``language`` (German .NET messages: our rendering of the de-DE resource strings; the probe must not
depend on their wording), ``tls_max`` (the DC offers only old TLS, so the handshake fails with .NET's
"Could not create SSL/TLS secure channel").

Approximate: on a real host PowerShell may wrap the .NET message as
``Exception calling "GetResponse" with "0" argument(s): "<message>"``; redirects are never followed (we only
use ``follow_redirects: none``); proxy NTLM/Kerberos and ``proxy_use_default_credential`` are not attempted;
``protocol_version``/``cookies`` are simplified; ``use_default_credentials`` is ignored.
"""

DOCUMENTATION = r"""
---
module: win_uri
short_description: Lab stand-in for ansible.windows.win_uri (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
options:
  url: {type: str, required: true}
author: atp.sensor_proxy contributors
"""

import base64
import fnmatch
import http.client
import ipaddress
import json
import os
import re
import socket
import ssl
import sys
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context, lab_state

PREFIX = "Unhandled exception occurred when sending web request. Exception: "
MSG_NAME = "The remote name could not be resolved: '%s'"
MSG_PROXY_NAME = "The proxy name could not be resolved: '%s'"
MSG_CONNECT = "Unable to connect to the remote server"
MSG_TIMEOUT = "The operation has timed out."
MSG_TRUST = "The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel."
MSG_SECURE_CHANNEL = "The request was aborted: Could not create SSL/TLS secure channel."
MSG_SEND = "The underlying connection was closed: An unexpected error occurred on a send."
MSG_CLOSED = "The underlying connection was closed: The connection was closed unexpectedly."
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

# become_user names NTAccount.Translate (LookupAccountName) resolves for the service accounts: the LSA names
# with or without "NT AUTHORITY\", and the forms Ansible documents for runas (System, LocalService,
# NetworkService). Not a SID string, not "LocalSystem" (Microsoft: the name "is not recognized by the security
# subsystem"). The connection user's own name works too.
RUNAS_NAMES = {"system", "local service", "localservice", "network service", "networkservice"}
SID_RE = re.compile(r"^S-1-\d+(-\d+)+$", re.I)
BECOME_FAILURES = {
    "account": ("Some or all identity references could not be translated.", "IdentityNotMappedException"),
    "seclogon_disabled": ("CreateProcessWithTokenW() failed (The service cannot be started, either because it is "
                          "disabled or because it has no enabled devices associated with it, Win32ErrorCode 1058)",
                          "Win32Exception"),
    "no_system_token": ("Failed to get token for NT AUTHORITY\\SYSTEM required for become as a service account or an "
                        "account without a password", "Exception"),
}

# .NET HttpStatusCode names for the status check message (win_uri.ps1 line 179).
DOTNET_STATUS = {200: "OK", 201: "Created", 204: "NoContent", 301: "Moved", 302: "Redirect", 304: "NotModified",
                 400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                 407: "ProxyAuthenticationRequired", 500: "InternalServerError", 502: "BadGateway",
                 503: "ServiceUnavailable", 504: "GatewayTimeout"}


LAB = {}  # {"state": tests.lab.state}, set by main()


class WebError(Exception):
    def __init__(self, message, arg=None):
        super().__init__(message)
        self.message = message
        self.arg = arg

    def text(self, language=None):
        template = GERMAN.get(self.message, self.message) if language == "de-DE" else self.message
        return template % self.arg if self.arg is not None else template


class LabRefusal(Exception):
    """Something the lab does not emulate: fail with a lab message rather than pretend."""


POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
MACHINE_CONNECTIONS = "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections"


def snake(name):
    """Convert-StringToSnakeCase of a header name with '-' removed (win_uri.ps1 lines 120-121)."""
    name = name.replace("-", "")
    if name.isupper() or name.islower():
        return name.lower()
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


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
            target = LAB["state"].resolve_name(self.lab_config, host, port, "dns")
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


def tls_wrap(req, sock, host, validate, ca_file, tls_max=None):
    if validate:
        ctx = ssl.create_default_context(cafile=ca_file or None)
        if not ca_file:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # an empty machine store trusts nothing
            ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls_max:
        # An old .NET offers only these versions; let OpenSSL offer them at all (security level 0).
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = getattr(ssl.TLSVersion, tls_max)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    sock.settimeout(req.remaining())
    try:
        return ctx.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError:
        raise WebError(MSG_TRUST) from None
    except TimeoutError:
        raise WebError(MSG_TIMEOUT) from None
    except ssl.SSLError as exc:
        reason = str(getattr(exc, "reason", "") or exc).upper()
        if any(marker in reason for marker in _NO_COMMON_TLS):
            raise WebError(MSG_SECURE_CHANNEL) from None
        raise WebError(MSG_SEND) from None
    except OSError:
        raise WebError(MSG_SEND) from None


def choose_request_proxy(p, settings, scheme, host):
    """(proxy 'host:port' or None, source) as WebRequest.psm1 lines 283-291 choose it."""
    if not p["use_proxy"]:
        return None, "disabled"
    if p["proxy_url"]:
        return (None if is_local(host) else p["proxy_url"]), "proxy_url"
    if settings is not None and (settings.flags["auto_detect"] or settings.flags["auto_config_url"]):
        what = []
        if settings.flags["auto_detect"]:
            what.append("automatic detection (WPAD)")
        if settings.flags["auto_config_url"]:
            what.append("a PAC script (%s)" % settings.auto_config_url)
        raise LabRefusal("lab: this account's WinINet settings use %s, which the lab's win_uri does not emulate; "
                         "it refuses to treat the request as direct" % " and ".join(what))
    return choose_proxy(settings, scheme, host), "default"


def _basic_challenge(response):
    return "basic" in (response.getheader("Proxy-Authenticate", "") or "").lower()


def request(module, lab_config, settings, ca_file, faults):
    p = module.params
    url = urlsplit(p["url"])
    scheme = url.scheme.lower()
    host = url.hostname or ""
    port = url.port or (443 if scheme == "https" else 80)
    path = (url.path or "/") + ("?" + url.query if url.query else "")
    method = p["method"]
    req = Request(lab_config, p["timeout"])
    tls_max = faults.get("tls_max")
    headers = {"Host": host if url.port is None else "%s:%d" % (host, port), "User-Agent": p["http_agent"],
               "Connection": "close"}
    for key, value in (p["headers"] or {}).items():
        headers[key] = str(value)

    proxy, dummy = choose_request_proxy(p, settings, scheme, host)
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
                if response.status == 407 and not auth and p["proxy_username"] and _basic_challenge(response):
                    sock.close()
                    auth = [_proxy_auth(p)]
                    continue
                break
            if response.status != 200:
                body = response.read() if response.length else b""
                return response, body, True
            sock = tls_wrap(req, sock, host, p["validate_certs"], ca_file, tls_max)
            target_line = path
        elif proxy:
            proxy_host, proxy_port = split_host_port(proxy, 80)
            auth = {}
            while True:
                sock = req.connect(proxy_host, proxy_port, MSG_PROXY_NAME)
                all_headers = dict(headers, **auth)
                raw = "%s %s HTTP/1.1\r\n" % (method, p["url"])
                raw += "".join("%s: %s\r\n" % kv for kv in all_headers.items()) + "\r\n"
                sock.sendall(raw.encode("latin-1"))
                response, body = read_response(sock, method)
                if response.status == 407 and not auth and p["proxy_username"] and _basic_challenge(response):
                    sock.close()
                    auth = {"Proxy-Authorization": _proxy_auth(p).split(": ", 1)[1]}
                    continue
                return response, body, False
        else:
            sock = req.connect(host, port, MSG_NAME)
            if scheme == "https":
                sock = tls_wrap(req, sock, host, p["validate_certs"], ca_file, tls_max)
            target_line = path
        sock.settimeout(req.remaining())
        raw = "%s %s HTTP/1.1\r\n" % (method, target_line)
        raw += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
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


def _proxy_auth(p):
    token = base64.b64encode(("%s:%s" % (p["proxy_username"], p["proxy_password"] or "")).encode()).decode()
    return "Proxy-Authorization: Basic %s" % token


def exec_wrapper_failure(message, error_id):
    """What ansible-core's exec wrapper prints when become fails (exec_wrapper.ps1 Write-AnsibleErrorJson)."""
    record = 'Exception calling "CreateProcessAsUser" with "9" argument(s): "%s"' % message
    exception = "\r\n".join([
        record,
        "At line:103 char:1",
        "+ $result = [Ansible.Become.BecomeUtil]::CreateProcessAsUser(",
        "+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
        "+ CategoryInfo          : NotSpecified: (:) [], MethodInvocationException",
        "+ FullyQualifiedErrorId : %s" % error_id,
        "",
        "ScriptStackTrace:",
        "at <ScriptBlock>, <No file>: line 103",
    ])
    sys.stdout.write(json.dumps({"failed": True, "msg": "failure during exec_wrapper: %s" % record,
                                 "exception": exception}) + "\n")
    sys.stdout.flush()
    sys.exit(1)


def check_become(st, host, faults):
    """Fail as runas does, before the module would run, when the become step cannot work."""
    user = os.environ.get(st.ENV_BECOME_USER)
    if not user:
        return
    text = user.strip()
    short = text[2:] if text.startswith(".\\") else text
    if short.upper().startswith("NT AUTHORITY\\"):
        short = short.split("\\", 1)[1]
    known = short.lower() in RUNAS_NAMES or short.lower() == host.user["name"].lower()
    if SID_RE.match(text) or not known:
        exec_wrapper_failure(*BECOME_FAILURES["account"])
    fault = faults.get("become")
    if fault in BECOME_FAILURES:
        exec_wrapper_failure(*BECOME_FAILURES[fault])


def become_gate():
    """runas runs before the module: a become that cannot work fails before win_uri parses anything."""
    try:
        st = lab_state()
        host = st.current_host()
        faults = dict((host.lab.config().get("win_uri_faults") or {}).get(host.name) or {})
    except Exception:  # the lab is misconfigured: context() reports it once the module exists
        return
    check_become(st, host, faults)


def main():
    become_gate()
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            method=dict(type="str", default="GET"),
            content_type=dict(type="str"),
            body=dict(type="raw"),
            dest=dict(type="path"),
            creates=dict(type="path"),
            removes=dict(type="path"),
            return_content=dict(type="bool", default=False),
            status_code=dict(type="list", elements="int", default=[200]),
            headers=dict(type="dict"),
            follow_redirects=dict(type="str", default="safe", choices=["all", "none", "safe"]),
            maximum_redirection=dict(type="int", default=50),
            timeout=dict(type="int", default=30),
            validate_certs=dict(type="bool", default=True),
            client_cert=dict(type="str"),
            client_cert_password=dict(type="str", no_log=True),
            force_basic_auth=dict(type="bool", default=False),
            url_username=dict(type="str"),
            url_password=dict(type="str", no_log=True),
            use_default_credentials=dict(type="bool", default=False),
            use_proxy=dict(type="bool", default=True),
            proxy_url=dict(type="str"),
            proxy_username=dict(type="str"),
            proxy_password=dict(type="str", no_log=True),
            proxy_use_default_credential=dict(type="bool", default=False),
            http_agent=dict(type="str", default="ansible-httpget"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    result = {"changed": False, "url": p["url"]}
    if not re.match(r"^[A-Z]+$", p["method"]):
        module.fail_json(msg="Parameter 'method' needs to be a single word in uppercase, like GET or POST.")
    st, host, account = context(module)
    LAB["state"] = st
    lab_config = host.lab.config()
    faults = dict((lab_config.get("win_uri_faults") or {}).get(host.name) or {})
    language = faults.get("language")
    ca_file = os.environ.get(st.ENV_CA_FILE) or lab_config.get("ca_file") or ""
    settings = None
    # Under the ProxySettingsPerUser=0 policy WinINet reads every account's settings from the machine-wide key
    # (ATADocs ATPDocs/deploy/configure-proxy.md; the per-account values have no effect).
    policy = host.get_value(POLICY_KEY, "ProxySettingsPerUser")
    per_machine = policy is not None and policy["type"] == "REG_DWORD" and int(policy["data"]) == 0
    path = MACHINE_CONNECTIONS if per_machine else host.connections_path(account["sid"])
    value = host.get_value(path, "DefaultConnectionSettings")
    if value is not None:
        try:
            settings = st.codec().decode(bytes.fromhex(value["data"]))
        except ValueError:
            settings = None  # WinINet ignores a value it cannot parse: the account goes direct
    # An unloaded hive reads as "no value" (get_value returns None): direct as well.

    start = time.monotonic()
    try:
        response, body, from_proxy = request(module, lab_config, settings, ca_file, faults)
    except WebError as exc:
        result["elapsed"] = time.monotonic() - start
        module.fail_json(msg=PREFIX + exc.text(language), **result)
    except LabRefusal as exc:
        result["elapsed"] = time.monotonic() - start
        module.fail_json(msg=str(exc), **result)
    result["elapsed"] = time.monotonic() - start
    status = response.status
    result.update({
        "status_code": status,
        "msg": response.reason,
        "status_description": response.reason,
        "content_length": int(response.getheader("Content-Length", "-1") or -1),
        "content_type": response.getheader("Content-Type", ""),
        "content_encoding": response.getheader("Content-Encoding", ""),
        "character_set": "",
        "server": response.getheader("Server", ""),
        "method": "CONNECT" if from_proxy else p["method"],
        "response_uri": p["url"],
        "is_from_cache": False,
        "is_mutually_authenticated": False,
        "supports_headers": True,
        "cookies": [],
        "protocol_version": {"Major": 1, "Minor": response.version % 10, "Build": -1, "Revision": -1,
                             "MajorRevision": -1, "MinorRevision": -1},
    })
    last_modified = response.getheader("Last-Modified")
    try:
        lm = parsedate_to_datetime(last_modified) if last_modified else datetime.now(timezone.utc)
    except (TypeError, ValueError):
        lm = datetime.now(timezone.utc)
    result["last_modified"] = lm.isoformat()
    for name, value in response.getheaders():
        result[snake(name)] = value
    if p["return_content"]:
        result["content"] = body.decode("utf-8", errors="replace")
    if status not in p["status_code"]:
        result["msg"] = "Status code of request '%d' is not in list of valid status codes %s : %s'." % (
            status, " ".join(str(c) for c in p["status_code"]), DOTNET_STATUS.get(status, str(status)))
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

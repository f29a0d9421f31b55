# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_uri (TEST ONLY). The request is made FOR REAL from this machine.

Proxy selection is what .NET's HttpWebRequest does with the default (WinINet) proxy of the account
the module runs as: the ``DefaultConnectionSettings`` of that account's HKU hive, decoded with
atp.sensor_proxy's own codec: proxy flag, ``proxy_server`` (``host:port`` or ``http=..;https=..``),
bypass list (``<local>`` = names without a dot, ``*`` patterns). An unloaded hive, a missing or a
malformed value means "direct". Names resolve through the lab's DNS map (``lab.json`` ``dns``),
never real DNS. HTTPS through a proxy uses a real CONNECT tunnel; a non-200 answer to the CONNECT is
returned as the response (.NET raises a WebException carrying the proxy's response, and win_uri's
``-IgnoreBadResponse`` path keeps it: WebRequest.psm1 lines 465-496).

Result keys follow win_uri.ps1 lines 104-123 (every response property and header in snake case),
WebRequest.psm1 lines 488-511 (``msg`` = status description, ``status_code``, ``elapsed``) and
the status check of win_uri.ps1 lines 178-180. Failures use win_uri.ps1 line 203:
``Unhandled exception occurred when sending web request. Exception: <WebException message>`` with
the .NET messages listed in tests/lab/README.md.
Approximate: on a real host PowerShell may wrap the .NET message as
``Exception calling "GetResponse" with "0" argument(s): "<message>"``; redirects are never followed
(we only use ``follow_redirects: none``); proxy authentication (NTLM/Kerberos) is not attempted;
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

import fnmatch
import http.client
import ipaddress
import os
import re
import socket
import ssl
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context

PREFIX = "Unhandled exception occurred when sending web request. Exception: "
MSG_NAME = "The remote name could not be resolved: '%s'"
MSG_PROXY_NAME = "The proxy name could not be resolved: '%s'"
MSG_CONNECT = "Unable to connect to the remote server"
MSG_TIMEOUT = "The operation has timed out."
MSG_TRUST = "The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel."
MSG_SEND = "The underlying connection was closed: An unexpected error occurred on a send."

# .NET HttpStatusCode names for the status check message (win_uri.ps1 line 179).
DOTNET_STATUS = {200: "OK", 201: "Created", 204: "NoContent", 301: "Moved", 302: "Redirect", 304: "NotModified",
                 400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                 407: "ProxyAuthenticationRequired", 500: "InternalServerError", 502: "BadGateway",
                 503: "ServiceUnavailable", 504: "GatewayTimeout"}


LAB = {}  # {"state": tests.lab.state}, set by main()


class WebError(Exception):
    pass


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
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and (not host.startswith("[") or host.endswith("]")):
        return host.strip("[]"), int(port)
    return text.strip("[]"), default_port


def connect(lab_config, host, port, timeout, name_error):
    try:
        ipaddress.ip_address(host)
        target = (host, port)
    except ValueError:
        target = LAB["state"].resolve_name(lab_config, host, port, "dns")
    if target is None:
        raise WebError(name_error % host)
    try:
        return socket.create_connection(target, timeout=timeout)
    except TimeoutError:
        raise WebError(MSG_TIMEOUT) from None
    except OSError:
        raise WebError(MSG_CONNECT) from None


def read_response(sock, method):
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    body = response.read() if method != "HEAD" else b""
    return response, body


def tls_wrap(sock, host, validate, ca_file):
    if validate:
        ctx = ssl.create_default_context(cafile=ca_file or None)
        if not ca_file:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # an empty machine store trusts nothing
            ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        return ctx.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError:
        raise WebError(MSG_TRUST) from None
    except TimeoutError:
        raise WebError(MSG_TIMEOUT) from None
    except (ssl.SSLError, OSError):
        raise WebError(MSG_SEND) from None


def request(module, lab_config, settings, ca_file):
    p = module.params
    url = urlsplit(p["url"])
    scheme = url.scheme.lower()
    host = url.hostname or ""
    port = url.port or (443 if scheme == "https" else 80)
    path = (url.path or "/") + ("?" + url.query if url.query else "")
    method = p["method"]
    timeout = p["timeout"]
    headers = {"Host": host if url.port is None else "%s:%d" % (host, port), "User-Agent": p["http_agent"],
               "Connection": "close"}
    for key, value in (p["headers"] or {}).items():
        headers[key] = str(value)

    proxy = None
    if p["proxy_url"]:
        proxy = p["proxy_url"]
    elif p["use_proxy"]:
        proxy = choose_proxy(settings, scheme, host)
    sock = None
    try:
        if proxy:
            proxy_host, proxy_port = split_host_port(proxy, 80)
            sock = connect(lab_config, proxy_host, proxy_port, timeout, MSG_PROXY_NAME)
            if scheme == "https":
                target = "%s:%d" % (host, port)
                lines = ["CONNECT %s HTTP/1.1" % target, "Host: %s" % target]
                lines += _proxy_auth(p)
                sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
                response = http.client.HTTPResponse(sock, method="CONNECT")
                response.begin()
                if response.status != 200:
                    body = response.read() if response.length else b""
                    return response, body, True
                sock = tls_wrap(sock, host, p["validate_certs"], ca_file)
                target_line = path
            else:
                target_line = p["url"]
                for line in _proxy_auth(p):
                    key, dummy, value = line.partition(": ")
                    headers[key] = value
        else:
            sock = connect(lab_config, host, port, timeout, MSG_NAME)
            if scheme == "https":
                sock = tls_wrap(sock, host, p["validate_certs"], ca_file)
            target_line = path
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
        raise WebError(MSG_SEND if scheme == "https" else "The underlying connection was closed: "
                       "The connection was closed unexpectedly.") from None
    finally:
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass


def _proxy_auth(p):
    if p["proxy_username"]:
        import base64

        token = base64.b64encode(("%s:%s" % (p["proxy_username"], p["proxy_password"] or "")).encode()).decode()
        return ["Proxy-Authorization: Basic %s" % token]
    return []


def main():
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
    ca_file = os.environ.get(st.ENV_CA_FILE) or lab_config.get("ca_file") or ""
    settings = None
    value = host.get_value(host.connections_path(account["sid"]), "DefaultConnectionSettings")
    if value is not None:
        try:
            settings = st.codec().decode(bytes.fromhex(value["data"]))
        except ValueError:
            settings = None  # WinINet ignores a value it cannot parse: the account goes direct
    # An unloaded hive reads as "no value" (get_value returns None): direct as well.

    start = time.monotonic()
    try:
        response, body, from_proxy = request(module, lab_config, settings, ca_file)
    except WebError as exc:
        result["elapsed"] = time.monotonic() - start
        module.fail_json(msg=PREFIX + str(exc), **result)
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

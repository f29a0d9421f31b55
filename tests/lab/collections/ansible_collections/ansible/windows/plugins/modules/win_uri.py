# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_uri (TEST ONLY). The request is made FOR REAL from this machine, through the
lab DC's .NET web stack, ``tests/lab/web.py`` (shared with the PowerShell executor's ``HttpWebRequest``: how the
account's proxy is chosen, DNS, CONNECT tunnels, proxy credentials, TLS and the .NET messages live there once).

Which proxy, as WebRequest.psm1 (ansible.windows 3.3.0) lines 283-312 choose it (:func:`choose_request_proxy`):

* ``use_proxy: false`` -> ``$proxy = $null``: direct, whatever else is set (lines 283-285);
* else ``proxy_url`` -> ``New-Object System.Net.WebProxy $ProxyUrl, $true``: that proxy, bypassed only for
  local names (no dot, loopback) because BypassOnLocal is true (lines 286-288);
* else ``$web_request.Proxy``: .NET's default proxy, the WinINet settings of the account the module runs as
  (``web.account_settings``; WPAD and PAC are refused, not treated as direct).

``proxy_username``/``proxy_password`` become the proxy's credentials (lines 302-306), sent after the proxy's 407.
``validate_certs`` decides whether an untrusted certificate or a wrong name is a TrustFailure (lines 195-199: with it
off, a callback that accepts everything).

Result keys follow win_uri.ps1 lines 104-123 (every response property and header in snake case),
WebRequest.psm1 lines 488-511 (``msg`` = status description, ``status_code``, ``elapsed``) and the status
check of win_uri.ps1 lines 178-180. A non-200 answer to the CONNECT is returned as the response, ``method:
CONNECT`` (the tunnel request's verb), as .NET raises a WebException carrying the proxy's response and win_uri's
``-IgnoreBadResponse`` path keeps it (WebRequest.psm1 lines 465-496). Failures use win_uri.ps1 line 203:
``Unhandled exception occurred when sending web request. Exception: <WebException message>`` with the .NET
messages listed in tests/lab/README.md, and ``elapsed`` (set in the ``finally`` of WebRequest.psm1 line 511).
``timeout`` bounds the whole request, as ``HttpWebRequest.Timeout`` does (line 242).

Become, as ansible-core 2.19's ``runas`` does it before the module runs (``_lab.become_gate``): a SID or
``LocalSystem`` as ``become_user`` cannot be looked up, and the run fails in the exec wrapper with no win_uri keys
at all. Faults (``lab.json`` ``win_uri_faults``, see ``tests/lab/network.py`` ``set_win_uri_fault``): ``become``
(the Secondary Logon service disabled, no SYSTEM token), ``language`` (German .NET messages: our rendering of the
de-DE resource strings; the probe must not depend on their wording), ``tls_max`` (the DC offers only old TLS, so
the handshake fails with .NET's "Could not create SSL/TLS secure channel").

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

import os
import re
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import become_gate, context

# .NET HttpStatusCode names for the status check message (win_uri.ps1 line 179).
DOTNET_STATUS = {200: "OK", 201: "Created", 204: "NoContent", 301: "Moved", 302: "Redirect", 304: "NotModified",
                 400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                 407: "ProxyAuthenticationRequired", 500: "InternalServerError", 502: "BadGateway",
                 503: "ServiceUnavailable", 504: "GatewayTimeout"}
PREFIX = "Unhandled exception occurred when sending web request. Exception: "


def snake(name):
    """Convert-StringToSnakeCase of a header name with '-' removed (win_uri.ps1 lines 120-121)."""
    name = name.replace("-", "")
    if name.isupper() or name.islower():
        return name.lower()
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def choose_request_proxy(web, p, settings, scheme, host):
    """The proxy 'host:port' or None, as WebRequest.psm1 lines 283-291 choose it."""
    if not p["use_proxy"]:
        return None
    if p["proxy_url"]:
        return None if web.is_local(host) else p["proxy_url"]
    return web.default_proxy(settings, scheme, host)


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
    from tests.lab import web  # importable once context() has put the checkout on sys.path

    lab_config = host.lab.config()
    faults = web.host_faults(lab_config, host.name)
    language = faults.get("language")
    ca_file = os.environ.get(st.ENV_CA_FILE) or lab_config.get("ca_file") or ""
    settings = web.account_settings(host, account)
    scheme = urlsplit(p["url"]).scheme.lower()
    target = urlsplit(p["url"]).hostname or ""
    headers = {"User-Agent": p["http_agent"]}
    for key, value in (p["headers"] or {}).items():
        headers[key] = str(value)
    credentials = (p["proxy_username"], p["proxy_password"]) if p["proxy_username"] else None

    start = time.monotonic()
    try:
        proxy = choose_request_proxy(web, p, settings, scheme, target)
        response, body, from_proxy = web.request(
            lab_config, p["url"], method=p["method"], headers=headers, proxy=proxy, credentials=credentials,
            timeout=p["timeout"], ca_file=ca_file, tls_max=faults.get("tls_max"), validate=p["validate_certs"])
    except web.WebError as exc:
        result["elapsed"] = time.monotonic() - start
        module.fail_json(msg=PREFIX + exc.text(language), **result)
    except web.LabRefusal as exc:
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
    result["last_modified"] = web.last_modified(response)
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

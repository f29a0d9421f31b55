# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``via: target``, engine ``win_uri``: the ``ansible.windows.win_uri`` arguments of each probe mode, and what its
result means (engine ``script``: :mod:`_probe._script`, :mod:`_probe._facts`, which share the helpers here).

Pure Python, no Ansible imports. Shapes are those of ansible.windows 3.3.0 ``plugins/modules/win_uri.ps1``
and ``plugins/module_utils/WebRequest.psm1`` (line numbers below), and of ansible-core 2.19's PowerShell
exec wrapper for a failed ``become``.

Classification works on structure first, on English text last, and never guesses:

1. A failed result without ``url`` and ``elapsed`` never came from win_uri.ps1, which sets both before
   anything else (lines 49-50): the module did not run. With become, and a marker of the become step
   (``CreateProcessAsUser``, ``CreateProcessWithTokenW``, ``Failed to get token for NT AUTHORITY\\SYSTEM``,
   ``Win32ErrorCode``, ``IdentityNotMappedException``), it is ``become_failed``.
2. ``status_code`` present: an HTTP answer (the ``-IgnoreBadResponse`` path, WebRequest.psm1 lines
   469-496). ``method: CONNECT`` marks the proxy's own answer to the tunnel request (.NET's tunnel request
   is a CONNECT, HttpWebRequest's tunnel constructor; win_uri copies every response property, win_uri.ps1
   lines 107-115).
3. The WebException message (win_uri.ps1 line 203), which .NET localizes. Structure that survives
   translation: the host name quoted at the end of the two name-resolution messages (the URL's host: the
   account resolved it itself, so it went direct; any other name: the proxy's), and ``elapsed`` reaching
   the request timeout (``HttpWebRequest.Timeout`` is ``timeout`` * 1000, WebRequest.psm1 line 242).
4. The English .NET messages (``WebExceptionStatus`` in parentheses), contains-matched because PowerShell
   may wrap them as ``Exception calling "GetResponse" with "0" argument(s): "<message>"``.
5. Anything else is ``unknown``, with the raw message in ``error``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._endpoints import Endpoint

WIN_URI = "ansible.windows.win_uri"

# Probe modes, as the Defender for Endpoint Client Analyzer names its ways (verify-connectivity.md:
# "1 - Default proxy, 2 - Proxy auto discovery (WPAD), 3 - Proxy disabled, 4 - Named proxy, 5 - Command
# line proxy"). Only the first three that win_uri can do with its documented options are tested.
MODES = ("default", "direct", "named", "winhttp", "wpad")
TESTABLE_MODES = ("default", "direct", "named")
NOT_TESTABLE = {
    "winhttp": (
        "not tested: the probe requests URLs with .NET's HttpWebRequest (both engines: the probe script, and win_uri), "
        "which cannot use the WinHTTP proxy. Its default proxy is the account's WinINet (Internet Explorer) "
        "setting, .NET's default proxy (ansible.windows WebRequest.psm1 lines 283-291, $web_request.Proxy), and "
        "a named proxy is one address without WinHTTP's bypass list; probe mode 'named' with the WinHTTP proxy's "
        "address instead"
    ),
    "wpad": (
        "not tested: HttpWebRequest cannot be told to force WPAD auto-discovery (win_uri's use_proxy only turns the "
        "account's default proxy on or off, WebRequest.psm1 lines 283-291); mode 'default' follows auto-detect when "
        "the account's own WinINet settings enable it"
    ),
}
NAMED_NEEDS_PROXY = "not tested: mode 'named' needs the proxy option (the named proxy, win_uri proxy_url)"

# win_uri.ps1 line 203: every exception of the request ends up as
#   $module.FailJson("Unhandled exception occurred when sending web request. Exception: $($_.Exception.Message)", $_)
WIN_URI_EXCEPTION_PREFIX = "Unhandled exception occurred when sending web request. Exception: "
# The English .NET System.Net.WebException messages (WebExceptionStatus in parentheses).
DOTNET_PROXY_NAME = "The proxy name could not be resolved"  # ProxyNameResolutionFailure
DOTNET_NAME = "The remote name could not be resolved"  # NameResolutionFailure
DOTNET_CONNECT = "Unable to connect to the remote server"  # ConnectFailure
DOTNET_TIMEOUT = "The operation has timed out"  # Timeout
DOTNET_TRUST = "Could not establish trust relationship for the SSL/TLS secure channel"  # TrustFailure
DOTNET_SECURE_CHANNEL = "Could not create SSL/TLS secure channel"  # SecureChannelFailure
DOTNET_SEND = "An unexpected error occurred on a send"  # SendFailure (handshake refused or reset)
DOTNET_CLOSED = "The connection was closed unexpectedly"  # ConnectionClosed

# Markers of ansible-core's become step (ansible/executor/powershell/become_wrapper.ps1 calls
# [Ansible.Become.BecomeUtil]::CreateProcessAsUser; module_utils/csharp/Ansible.Become.cs and
# Ansible.Process.cs write "Failed to get token for NT AUTHORITY\SYSTEM ..." and
# "CreateProcessWithTokenW() failed (<message>, Win32ErrorCode <n>)"; exec_wrapper.ps1
# Write-AnsibleErrorJson prefixes "failure during exec_wrapper"). Older ansible-core: "Failed to become user".
BECOME_MARKERS = ("CreateProcessAsUser", "CreateProcessWithTokenW", "Failed to get token for NT AUTHORITY",
                  "Failed to become user", "BecomeUtil", "IdentityNotMappedException", "Win32ErrorCode")
ERROR_SERVICE_DISABLED = 1058  # CreateProcessWithTokenW needs the Secondary Logon service
_WIN32_CODE_RE = re.compile(r"Win32ErrorCode (\d+)")
_QUOTED_NAME_RE = re.compile(r"'([A-Za-z0-9_.\-\[\]:]+)'")
_WRAPPED_RE = re.compile(r':\s+"(?P<inner>.*)"\s*$', re.S)


def win_uri_args(
    endpoint: Endpoint,
    timeout: int = outcomes.DEFAULT_TIMEOUT,
    validate_certs: bool = True,
    mode: str = "default",
    proxy: str | None = None,
    proxy_username: str | None = None,
    proxy_password: str | None = None,
) -> dict:
    """Arguments for one ``ansible.windows.win_uri`` call in ``mode`` (docs/dev/contracts.md).

    ``status_code`` accepts every code so that win_uri returns the answer instead of failing.
    * ``default``: ``use_proxy`` at its default (true): .NET's default proxy, the account's WinINet setting;
    * ``direct``: ``use_proxy: false``, so ``$web_request.Proxy = $null`` (WebRequest.psm1 lines 283-285);
    * ``named``: ``proxy_url`` (lines 286-288, ``New-Object System.Net.WebProxy $ProxyUrl, $true``: the
      named proxy, bypassed only for local names), with ``proxy_username``/``proxy_password`` for its
      credentials (lines 302-306).
    """
    args = {
        "url": endpoint.url,
        "method": "GET",
        "status_code": list(range(100, 600)),
        "follow_redirects": "none",
        "validate_certs": bool(validate_certs),
        "timeout": int(timeout),
        "return_content": False,
    }
    if mode == "direct":
        args["use_proxy"] = False
    elif mode == "named":
        if not proxy:
            raise outcomes.ProbeError("mode 'named' needs the proxy option")
        args["proxy_url"] = proxy
        if proxy_username is not None:
            args["proxy_username"] = proxy_username
            args["proxy_password"] = proxy_password or ""
    elif mode != "default":
        raise outcomes.ProbeError("mode '%s' cannot be probed with win_uri" % mode)
    return args


def effective_proxy(proxy_server: str | None, scheme: str) -> str | None:
    """The ``host:port`` a WinINet ``proxy_server`` string sends ``scheme`` to (``http=a:1;https=b:2`` or
    ``a:1``), ``direct`` for ``direct``, None when unknown or not proxied."""
    if not proxy_server:
        return None
    text = str(proxy_server).strip()
    if text.lower() == outcomes.DIRECT:
        return outcomes.DIRECT
    default = None
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            key, dummy, value = part.partition("=")
            if key.strip().lower() == scheme:
                return value.strip() or None
        else:
            default = part
    return default


def proxy_host(proxy: str | None) -> str:
    if not proxy or proxy == outcomes.DIRECT:
        return ""
    text = proxy if "://" in proxy else "http://" + proxy
    return (urlsplit(text).hostname or "").lower()


def display_proxy(proxy: str | None) -> str | None:
    """A proxy as it may be shown: never with credentials."""
    if not proxy or proxy == outcomes.DIRECT:
        return proxy
    if "@" in proxy:
        text = proxy if "://" in proxy else "http://" + proxy
        parts = urlsplit(text)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += ":%d" % parts.port
        return ("%s://%s" % (parts.scheme, netloc)) if "://" in proxy else netloc
    return proxy


def _status_int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def exception_text(raw) -> str:
    """The ``exception`` of a result as text (ansible-core 2.19 wraps it in a captured error summary)."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    event = getattr(raw, "event", None)
    if event is not None:
        return "%s\n%s" % (getattr(event, "msg", "") or "", getattr(event, "formatted_traceback", "") or "")
    return str(raw)


def become_cause(text: str) -> str | None:
    """The cause of a failed become from its structure, None when ``text`` shows no become step."""
    if not any(marker in text for marker in BECOME_MARKERS):
        return None
    codes = [int(c) for c in _WIN32_CODE_RE.findall(text)]
    if "IdentityNotMappedException" in text or "could not be translated" in text:
        return "account"
    if ERROR_SERVICE_DISABLED in codes:
        return "secondary_logon"
    if "Failed to get token for NT AUTHORITY" in text or 5 in codes or 1314 in codes:
        return "admin_rights"
    return "other"


def dotnet_message(msg: str) -> str:
    """The WebException message inside win_uri's failure text, unwrapped from PowerShell's
    ``Exception calling "GetResponse" with "0" argument(s): "<message>"`` (in any language) if present."""
    text = msg[len(WIN_URI_EXCEPTION_PREFIX):] if msg.startswith(WIN_URI_EXCEPTION_PREFIX) else msg
    text = text.strip()
    match = _WRAPPED_RE.search(text)
    if match and text.endswith('"'):
        text = match.group("inner")
    return text.strip()


def quoted_name(message: str) -> str | None:
    """The host name .NET quotes at the end of a name-resolution failure (any language), else None."""
    names = _QUOTED_NAME_RE.findall(message)
    if not names:
        return None
    name = names[-1].strip("[]").lower()
    return name if "." in name or name.replace("-", "").isalnum() else None


def mode_proxy(endpoint: Endpoint, mode: str, expected_proxy: str | None, named_proxy: str | None) -> str | None:
    """The proxy a result reports for ``mode``: ``direct``, the named proxy, or the one ``expected_proxy`` gives
    this URL's scheme (the host does not say which proxy .NET took; None when not known)."""
    if mode == "direct":
        return outcomes.DIRECT
    if mode == "named":
        return display_proxy(named_proxy)
    return effective_proxy(expected_proxy, endpoint.scheme)


def unresolved_proxy(name: str, proxy: str | None) -> str:
    """The proxy whose name .NET could not resolve: .NET names only the host; the proxy the account uses gives its
    port."""
    return proxy if proxy and proxy.rsplit(":", 1)[0].split("://")[-1].lower() == name else name


def classify_win_uri(
    endpoint: Endpoint,
    result: dict,
    *,
    mode: str = "default",
    expected_proxy: str | None = None,
    named_proxy: str | None = None,
    account: str | None = None,
    become: bool = False,
    timeout: float = outcomes.DEFAULT_TIMEOUT,
    expected_issuers=outcomes.DEFAULT_EXPECTED_ISSUERS,
    source: str = outcomes.WININET_PER_ACCOUNT,
) -> dict:
    """Turn one win_uri result into a probe result (see the module docstring for the order of the rules).

    ``expected_proxy``: the proxy the probed account is configured with (mode ``default``), when the caller
    knows it. win_uri does not say whether a request went through a proxy, so without it ``proxy`` is null
    unless the failure itself names it.
    """
    proxy = mode_proxy(endpoint, mode, expected_proxy, named_proxy)
    common = {"via": "target", "mode": mode, "elapsed": result.get("elapsed"), "account": account,
              "timeout": timeout, "expected_issuers": expected_issuers, "source": source}
    plain = endpoint.scheme != "https"
    common["tls_inspection_detail"] = "plain HTTP: no TLS" if plain else "no TLS handshake completed"
    status = _status_int(result.get("status_code"))
    msg = str(result.get("msg") or "")

    if status is not None:
        connect_refused = str(result.get("method") or "").upper() == "CONNECT"
        outcome = outcomes.classify_http(endpoint, status, result, connect_refused=connect_refused)
        if not plain and outcome == outcomes.REACHABLE:
            common["tls_inspection_detail"] = "win_uri does not return the certificate: not seen from the host"
        error = None if not result.get("failed") else msg or None
        return outcomes.make_result(endpoint, outcome, status=status, proxy=proxy, error=error, **common)

    if not result.get("failed"):
        return outcomes.make_result(endpoint, "unknown", proxy=proxy, error="win_uri returned no status code",
                                    **common)

    error = msg or "win_uri failed without a message"
    if "url" not in result and "elapsed" not in result:
        text = "\n".join([msg, exception_text(result.get("exception")), str(result.get("module_stderr") or "")])
        cause = become_cause(text) if become else None
        if cause:
            return outcomes.make_result(endpoint, "become_failed", proxy=proxy, error=error, cause=cause, **common)
        return outcomes.make_result(endpoint, "unknown", proxy=proxy, error=error, **common)

    message = dotnet_message(msg)
    name = quoted_name(message)
    if name:
        if name == endpoint.host.lower():
            # With a proxy the client never resolves the remote name itself: this request went direct.
            return outcomes.make_result(endpoint, "dns_failure", proxy=outcomes.DIRECT, error=error, **common)
        return outcomes.make_result(endpoint, "proxy_unreachable", proxy=unresolved_proxy(name, proxy), error=error,
                                    **common)
    elapsed = result.get("elapsed")
    if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool) and timeout and elapsed >= timeout - 0.05:
        return outcomes.make_result(endpoint, "timeout", proxy=proxy, error=error, **common)
    if DOTNET_TIMEOUT in message:
        return outcomes.make_result(endpoint, "timeout", proxy=proxy, error=error, **common)
    if DOTNET_CONNECT in message:
        outcome = "proxy_unreachable" if proxy and proxy != outcomes.DIRECT else "connection_refused"
        return outcomes.make_result(endpoint, outcome, proxy=proxy, error=error, **common)
    if not plain and DOTNET_TRUST in message:
        return outcomes.make_result(endpoint, "tls_error", proxy=proxy, error=error, cause="trust", **common)
    if not plain and (DOTNET_SECURE_CHANNEL in message or DOTNET_SEND in message):
        return outcomes.make_result(endpoint, "tls_error", proxy=proxy, error=error, cause="handshake", **common)
    if DOTNET_CLOSED in message:
        return outcomes.make_result(endpoint, "connection_refused", proxy=proxy, error=error, cause="reset",
                                    **common)
    return outcomes.make_result(endpoint, "unknown", proxy=proxy, error=error, **common)


def mode_summary(results: list, modes, not_tested: dict) -> list:
    """``[{mode, tested, why, reachable, total}]`` in the order asked."""
    out = []
    for mode in modes:
        if mode in not_tested:
            out.append({"mode": mode, "tested": False, "why": not_tested[mode], "reachable": 0, "total": 0})
            continue
        mine = [r for r in results if r.get("mode") == mode]
        out.append({"mode": mode, "tested": True, "why": None,
                    "reachable": sum(1 for r in mine if r["outcome"] == outcomes.REACHABLE), "total": len(mine)})
    return out


def working_modes(results: list) -> dict:
    """``{url: [modes that reached it]}`` (the Client Analyzer's question: which way works)."""
    out: dict = {}
    for result in results:
        out.setdefault(result["url"], [])
        if result["outcome"] == outcomes.REACHABLE:
            out[result["url"]].append(result.get("mode", "default"))
    return out

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target mode: win_uri arguments per probe mode and the classification of recorded results.

The recorded win_uri results follow ansible.windows 3.3.0:
* success / IgnoreBadResponse path: ``plugins/modules/win_uri.ps1`` lines 49-50 (``elapsed``, ``url`` set first),
  104-123 (every HttpWebResponse property and header, snake case: ``status_code``, ``method``, ``server``,
  ``proxy_authenticate``, ``via``, ``x_squid_error``...), ``module_utils/WebRequest.psm1`` lines 469-500;
* failure: ``win_uri.ps1`` line 203 ``FailJson("Unhandled exception occurred when sending web request.
  Exception: $($_.Exception.Message)", $_)`` with the .NET WebException message, ``elapsed`` kept (line 511);
* a failed become: ansible-core 2.19 ``exec_wrapper.ps1`` ``Write-AnsibleErrorJson``: only ``failed``, ``msg``
  (``failure during exec_wrapper: <ErrorRecord>``) and ``exception``; no win_uri key at all.
"""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _target as t
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._endpoints import Endpoint

PING = Endpoint("mdi_workspace", "https://contososensorapi.atp.azure.com/tri/sensor/api/ping", "sensor_ping", "mdi")
CRL = Endpoint("crl_microsoft", "http://crl.microsoft.com/pki/crl/products/x.crl", "crl", "mdi")
MDE = Endpoint("mde_1", "https://winatp-gw-weu.microsoft.com/test", "service", "mde")
PREFIX = t.WIN_URI_EXCEPTION_PREFIX


def answered(status, description, **headers):
    return dict({"changed": False, "elapsed": 0.25, "url": PING.url, "status_code": status, "msg": description,
                 "status_description": description, "method": "GET"}, **headers)


def failed(message, elapsed=0.05):
    return {"changed": False, "failed": True, "elapsed": elapsed, "url": PING.url, "msg": PREFIX + message}


def become_failure(message, error_id):
    record = 'Exception calling "CreateProcessAsUser" with "9" argument(s): "%s"' % message
    return {"failed": True, "msg": "failure during exec_wrapper: " + record,
            "exception": record + "\r\n+ FullyQualifiedErrorId : %s" % error_id}


def classify(raw, endpoint=PING, **kwargs):
    kwargs.setdefault("account", "LocalService")
    return t.classify_win_uri(endpoint, raw, **kwargs)


def test_win_uri_args_per_mode():
    base = {"url": PING.url, "method": "GET", "status_code": list(range(100, 600)), "follow_redirects": "none",
            "validate_certs": False, "timeout": 7, "return_content": False}
    assert t.win_uri_args(PING, 7, False) == base
    assert t.win_uri_args(PING, 7, False, mode="direct") == dict(base, use_proxy=False)
    assert t.win_uri_args(PING, 7, False, mode="named", proxy="http://p:8080") == dict(base, proxy_url="http://p:8080")
    assert t.win_uri_args(PING, 7, False, mode="named", proxy="http://p:8080", proxy_username="u",
                          proxy_password="pw") == dict(base, proxy_url="http://p:8080", proxy_username="u",
                                                       proxy_password="pw")
    for mode in ("winhttp", "wpad"):
        with pytest.raises(t.outcomes.ProbeError):
            t.win_uri_args(PING, mode=mode)
        assert "not tested" in t.NOT_TESTABLE[mode] and "WebRequest.psm1" in t.NOT_TESTABLE[mode]


@pytest.mark.parametrize("raw, outcome, status", [
    (answered(200, "OK", server="Microsoft-HTTPAPI/2.0"), "reachable", 200),
    (answered(503, "Service Unavailable", server="Microsoft-HTTPAPI/2.0"), "reachable", 503),
    (answered(407, "Proxy Authentication Required", proxy_authenticate="NTLM", method="CONNECT"),
     "proxy_auth_required", 407),
    # a proxy refusing the CONNECT with a bare 403: the tunnel request's verb tells it was the proxy
    (answered(403, "Forbidden", method="CONNECT"), "blocked_by_proxy", 403),
])
def test_answers(raw, outcome, status):
    result = classify(raw)
    assert (result["outcome"], result["status"]) == (outcome, status)
    assert result["tls_inspection"] == "unknown"


def test_plain_403_on_connect_is_blocked_even_for_service_urls():
    assert classify(answered(403, "Forbidden", method="CONNECT"), MDE)["outcome"] == "blocked_by_proxy"
    assert classify(answered(403, "Forbidden", method="GET"), MDE)["outcome"] == "reachable"


ENGLISH = [
    ("The remote name could not be resolved: 'contososensorapi.atp.azure.com'", None, "dns_failure", "direct"),
    ("The proxy name could not be resolved: 'proxy.corp'", None, "proxy_unreachable", "proxy.corp"),
    ("Unable to connect to the remote server", None, "connection_refused", None),
    ("Unable to connect to the remote server", "proxy.corp:8080", "proxy_unreachable", "proxy.corp:8080"),
    ("Unable to connect to the remote server", "direct", "connection_refused", "direct"),
    ("The operation has timed out.", "proxy.corp:8080", "timeout", "proxy.corp:8080"),
    ("The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel.",
     None, "tls_error", None),
    ("The request was aborted: Could not create SSL/TLS secure channel.", None, "tls_error", None),
    ("The underlying connection was closed: An unexpected error occurred on a send.", None, "tls_error", None),
    ("The underlying connection was closed: The connection was closed unexpectedly.", None, "connection_refused", None),
]


@pytest.mark.parametrize("message, expected_proxy, outcome, proxy", ENGLISH)
def test_english_dotnet_failures(message, expected_proxy, outcome, proxy):
    raw = failed(message)
    result = classify(raw, expected_proxy=expected_proxy)
    assert (result["outcome"], result["proxy"], result["status"]) == (outcome, proxy, None)
    assert result["error"] == raw["msg"]
    assert result["hint"]


@pytest.mark.parametrize("message, outcome", [
    ("The request was aborted: Could not create SSL/TLS secure channel.", "handshake"),
    ("The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel.",
     "trust"),
])
def test_tls_causes(message, outcome):
    result = classify(failed(message))
    assert result["cause"] == outcome
    if outcome == "handshake":
        assert "SchUseStrongCrypto" in result["hint"]


def test_powershell_wrapped_message_is_unwrapped():
    raw = failed('Exception calling "GetResponse" with "0" argument(s): "The remote name could not be resolved: '
                 "'contososensorapi.atp.azure.com'\"")
    assert classify(raw)["outcome"] == "dns_failure"


@pytest.mark.parametrize("message, elapsed, outcome, proxy", [
    # German .NET: the quoted host name and the elapsed time are structure that survives translation
    ("Der Remotename konnte nicht aufgelöst werden: 'contososensorapi.atp.azure.com'", 0.1, "dns_failure", "direct"),
    ("Der Proxyname konnte nicht aufgelöst werden: 'proxy.corp'", 0.1, "proxy_unreachable", "proxy.corp"),
    ("Der Vorgang hat das Zeitlimit überschritten.", 10.02, "timeout", None),
    # French: the apostrophe of "n'a" is not a quoted name
    ("Le nom distant n'a pas pu être résolu: 'contososensorapi.atp.azure.com'", 0.1, "dns_failure", "direct"),
    # nothing structural and not English: no guessed cause
    ("Die Verbindung mit dem Remoteserver kann nicht hergestellt werden.", 0.1, "unknown", None),
])
def test_localized_messages_on_structure(message, elapsed, outcome, proxy):
    raw = failed(message, elapsed=elapsed)
    result = classify(raw, timeout=10)
    assert (result["outcome"], result["proxy"]) == (outcome, proxy)
    assert result["error"] == raw["msg"]


def test_unrecognised_failure_is_unknown_with_the_raw_message():
    raw = failed("Something nobody has seen before.")
    result = classify(raw)
    assert result["outcome"] == "unknown" and result["error"] == raw["msg"]
    assert "error field" in result["hint"]


@pytest.mark.parametrize("raw, cause", [
    (become_failure("Some or all identity references could not be translated.", "IdentityNotMappedException"),
     "account"),
    (become_failure("CreateProcessWithTokenW() failed (The service cannot be started, either because it is disabled "
                    "or because it has no enabled devices associated with it, Win32ErrorCode 1058)", "Win32Exception"),
     "secondary_logon"),
    (become_failure("Failed to get token for NT AUTHORITY\\SYSTEM required for become as a service account or an "
                    "account without a password", "Exception"), "admin_rights"),
    # localized PowerShell: the structure (method name, Win32 code) is not translated
    ({"failed": True, "msg": 'failure during exec_wrapper: Ausnahme beim Aufrufen von "CreateProcessAsUser" mit 9 '
                             'Argument(en): "CreateProcessWithTokenW() failed (Der Dienst kann nicht gestartet werden, '
                             'Win32ErrorCode 1058)"'}, "secondary_logon"),
])
def test_become_failures(raw, cause):
    result = classify(raw, become=True)
    assert (result["outcome"], result["cause"]) == ("become_failed", cause)
    assert result["error"] == raw["msg"]
    assert "LocalService" in result["hint"]


def test_become_failure_without_become_or_marker_is_unknown():
    raw = become_failure("Some or all identity references could not be translated.", "IdentityNotMappedException")
    assert classify(raw, become=False)["outcome"] == "unknown"
    assert classify({"failed": True, "msg": "failure during exec_wrapper: out of memory"}, become=True)["outcome"] \
        == "unknown"


class CapturedErrorSummary:
    """The shape ansible-core 2.19 gives ``exception`` (``_captured.CapturedErrorSummary``)."""

    class event:  # noqa: N801 - attribute access like the real object
        msg = "failure during exec_wrapper"
        formatted_traceback = "+ FullyQualifiedErrorId : IdentityNotMappedException"


def test_become_failure_from_the_captured_exception_object():
    raw = {"failed": True, "msg": "failure during exec_wrapper: something", "exception": CapturedErrorSummary()}
    assert classify(raw, become=True)["cause"] == "account"


def test_mode_proxy_and_working_modes():
    assert classify(answered(200, "OK"), mode="direct")["proxy"] == "direct"
    assert classify(answered(200, "OK"), mode="named", named_proxy="http://named:3128")["proxy"] == "http://named:3128"
    assert classify(answered(200, "OK"), expected_proxy="http=a:80;https=b:8080")["proxy"] == "b:8080"
    results = [classify(answered(407, "Proxy Authentication Required", method="CONNECT"), mode="default"),
               classify(failed("The remote name could not be resolved: 'contososensorapi.atp.azure.com'"),
                        mode="direct"),
               classify(answered(200, "OK"), mode="named", named_proxy="http://named:3128")]
    assert t.working_modes(results) == {PING.url: ["named"]}
    summary = t.mode_summary(results, ["default", "direct", "named", "winhttp"], {"winhttp": "not tested: x"})
    assert [(m["mode"], m["tested"], m["reachable"]) for m in summary] == [
        ("default", True, 0), ("direct", True, 0), ("named", True, 1), ("winhttp", False, 0)]


def test_effective_proxy():
    assert t.effective_proxy("proxy.corp:8080", "https") == "proxy.corp:8080"
    assert t.effective_proxy("http=a:80;https=b:8080", "http") == "a:80"
    assert t.effective_proxy("http=a:80", "https") is None
    assert t.effective_proxy("direct", "https") == "direct"
    assert t.effective_proxy(None, "https") is None

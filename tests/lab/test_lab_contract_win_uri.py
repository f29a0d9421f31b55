# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's win_uri against the real ansible.windows 3.3.0 sources: proxy choice, proxy credentials, become.

Each test names the lines of the installed ``plugins/module_utils/WebRequest.psm1`` (and ansible-core's
become wrapper) it holds the stand-in to, reads them from the installed collection, and runs the stand-in
for real through ansible-playbook in the lab.
"""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import pytest

from tests.lab.conftest import SENSOR_HOST
from tests.lab.fixtures import real_windows_collection

pytestmark = [pytest.mark.lab, pytest.mark.network]

WEB_REQUEST = (real_windows_collection() / "plugins" / "module_utils" / "WebRequest.psm1").read_text()
STANDIN = (Path(__file__).parent / "collections/ansible_collections/ansible/windows/plugins/modules/win_uri.py").read_text()
PING = "https://%s/tri/sensor/api/ping" % SENSOR_HOST

URI = """
- hosts: all
  gather_facts: false
  tasks:
    - name: win_uri
      ansible.windows.win_uri: "{{ uri_args }}"
      become: "{{ account is defined }}"
      become_method: ansible.builtin.runas
      become_user: "{{ account | default(omit) }}"
      ignore_errors: true
"""


def uri(lab, account=None, **args):
    args = dict({"method": "GET", "status_code": list(range(100, 600)), "follow_redirects": "none",
                 "timeout": 5}, **args)
    extra = {"uri_args": args}
    if account:
        extra["account"] = account
    run = lab.run_playbook(URI, extra_vars=extra, limit="dc01")
    return run.result("dc01", "win_uri")


def test_the_proxy_options_are_the_real_ones():
    # Get-AnsibleWindowsWebRequestSpec (WebRequest.psm1 lines 548-553) and the stand-in's argument spec agree.
    for name, kind, default in (("use_proxy", "bool", "$true"), ("proxy_url", "str", None),
                                ("proxy_username", "str", None), ("proxy_password", "str", None)):
        assert re.search(r"%s = @\{ type = '%s'%s" % (name, kind, "; default = \\%s" % default if default else ""),
                         WEB_REQUEST), name
        want = 'dict(type="%s"%s' % (kind, ", default=True" if default else "")
        assert "%s=%s" % (name, want) in STANDIN, name
    assert "proxy_password = @{ type = 'str'; no_log = $true }" in WEB_REQUEST
    assert 'proxy_password=dict(type="str", no_log=True)' in STANDIN


def test_use_proxy_false_wins_over_proxy_url(lab, sensor_api, proxy):
    # WebRequest.psm1 lines 283-291: `if (-not $UseProxy) { $proxy = $null } elseif ($ProxyUrl) { ... }`.
    assert re.search(r"if \(-not \$UseProxy\) \{\s+\$proxy = \$null\s+\}\s+elseif \(\$ProxyUrl\)", WEB_REQUEST)
    res = uri(lab, url=PING, use_proxy=False, proxy_url="http://proxy.corp:8080")
    assert res["msg"].endswith("The remote name could not be resolved: '%s'" % SENSOR_HOST), res
    assert proxy.log() == []
    res = uri(lab, url=PING, proxy_url="http://proxy.corp:8080")
    assert res["status_code"] == 200, res
    assert [(r["method"], r["host"]) for r in proxy.log()] == [("CONNECT", SENSOR_HOST)]


def test_proxy_url_bypasses_local_names_only(lab, sensor_api, proxy):
    # `New-Object -TypeName System.Net.WebProxy -ArgumentList $ProxyUrl, $true`: BypassOnLocal is true.
    assert "New-Object -TypeName System.Net.WebProxy -ArgumentList $ProxyUrl, $true" in WEB_REQUEST
    lab.lab.update_config(ca_file=str(sensor_api.ca_file))
    res = uri(lab, url="https://127.0.0.1:%d/tri/sensor/api/ping" % sensor_api.port, proxy_url="http://proxy.corp:8080")
    assert res["status_code"] == 200, res
    assert proxy.log() == []  # loopback went direct


class ChallengingProxy:
    """A proxy that asks for Basic credentials (407) and records each CONNECT's Proxy-Authorization."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.seen = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, dummy = self.listener.accept()
            except OSError:
                return
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                auth = re.search(rb"(?im)^proxy-authorization: (.*)\r$", head)
                self.seen.append(auth.group(1).decode() if auth else None)
                conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\""
                             b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def close(self):
        self.listener.close()


def test_proxy_credentials_answer_the_challenge(lab, sensor_api):
    # Lines 302-306: the credentials become the proxy's NetworkCredential, which .NET sends when challenged.
    assert re.search(r"\$proxy\.Credentials = New-Object -TypeName System\.Net\.NetworkCredential", WEB_REQUEST)
    challenger = ChallengingProxy()
    try:
        res = uri(lab, url=PING, proxy_url="http://127.0.0.1:%d" % challenger.port, proxy_username="svc",
                  proxy_password="pw-123")
    finally:
        challenger.close()
    assert res["status_code"] == 407 and res["method"] == "CONNECT", res
    assert challenger.seen == [None, "Basic c3ZjOnB3LTEyMw=="]  # base64("svc:pw-123"), only after the 407
    assert "pw-123" not in str(res)


@pytest.mark.parametrize("account", ["S-1-5-19", "LocalSystem", "s-1-5-18"])
def test_become_user_runas_cannot_look_up_fails_in_the_exec_wrapper(lab, account):
    # Ansible.Become.cs GetUserTokens: new NTAccount(username).Translate(typeof(SecurityIdentifier)).
    res = uri(lab, account=account, url=PING)
    assert res["failed"] is True
    assert res["msg"].startswith("failure during exec_wrapper: Exception calling \"CreateProcessAsUser\"")
    assert "Some or all identity references could not be translated." in res["msg"]
    assert "url" not in res and "elapsed" not in res  # win_uri never ran (win_uri.ps1 lines 49-50 set both)


@pytest.mark.parametrize("account", ["LocalService", "NT AUTHORITY\\LOCAL SERVICE", "SYSTEM", "NetworkService"])
def test_names_runas_accepts_run_the_module(lab, sensor_api, account):
    res = uri(lab, account=account, url=PING)
    assert "url" in res and "elapsed" in res, res


def test_auto_detect_is_refused_rather_than_treated_as_direct(lab, sensor_api):
    lab.host("dc01").seed({"LocalService": {"auto_config_url": "http://wpad.corp/proxy.pac"}})
    res = uri(lab, account="LocalService", url=PING)
    assert res["failed"] is True and "does not emulate" in res["msg"], res
    assert "a PAC script (http://wpad.corp/proxy.pac)" in res["msg"]
    # with use_proxy: false the account's settings do not matter (WebRequest.psm1 line 284)
    res = uri(lab, account="LocalService", url=PING, use_proxy=False)
    assert "could not be resolved" in res["msg"]


def test_faults_localized_messages_and_old_tls(lab, sensor_api, proxy):
    from tests.lab.network import set_win_uri_fault

    set_win_uri_fault(lab.lab, "dc01", "language", "de-DE")
    res = uri(lab, url=PING)
    assert res["msg"] == ("Unhandled exception occurred when sending web request. Exception: "
                          "Der Remotename konnte nicht aufgelöst werden: '%s'" % SENSOR_HOST)
    set_win_uri_fault(lab.lab, "dc01", "language", None)
    set_win_uri_fault(lab.lab, "dc01", "tls_max", "TLSv1")
    res = uri(lab, url=PING, proxy_url="http://proxy.corp:8080")
    assert res["msg"].endswith("The request was aborted: Could not create SSL/TLS secure channel."), res
    with pytest.raises(ValueError):
        set_win_uri_fault(lab.lab, "dc01", "gremlins", True)

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The executor's HttpWebRequest, runspace and delegate surfaces (tests/lab/pwsh/surface/web.py, runspaces.py), each
rule of .NET Framework 4.x / Windows PowerShell 5.1 that the probe script depends on, over the lab's real network."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.lab import state, system_state
from tests.lab.network import SensorApi
from tests.lab.pwsh import runner
from tests.lab.pwsh.errors import Unsupported
from tests.lab.pwsh.surface import web as web_surface

pytestmark = [pytest.mark.lab, pytest.mark.network]
DELAY = 1.0


class _Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server API
        time.sleep(DELAY)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def lab(tmp_path):
    return state.Lab.create(tmp_path / "lab", hosts=1)


@pytest.fixture
def host(lab):
    return lab.host("dc01")


@pytest.fixture
def slow(lab):
    """slow.corp: a plain-HTTP server answering each request after DELAY seconds, in the DCs' DNS."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lab.add_dns("slow.corp", "127.0.0.1:%d" % server.server_port)
    yield "http://slow.corp/"
    server.shutdown()


@pytest.fixture
def api(lab, tmp_path):
    server = SensorApi(tmp_path / "api").start()
    lab.update_config(ca_file=str(server.ca_file))
    lab.add_dns("sensor.corp:443", "127.0.0.1:%d" % server.port)
    yield server
    server.stop()


def run(host, script, params=None, become=None, sensitive=None):
    return runner.run(script, host, runner.lab_account(host, become), params or {}, 5, "stop", False, 0, sensitive)


POOL = """param([string[]]$Url = @(), [string]$Group = '')
$state = [System.Management.Automation.Runspaces.InitialSessionState]::Create()
$state.LanguageMode = [System.Management.Automation.PSLanguageMode]::FullLanguage
$pool = [System.Management.Automation.Runspaces.RunspaceFactory]::CreateRunspacePool($state)
$null = $pool.SetMaxRunspaces(8)
$pool.Open()
$one = {
    param([string]$Target, [string]$Name)
    $web = [System.Net.WebRequest]::Create($Target)
    $web.KeepAlive = $false
    if ($Name) { $web.ConnectionGroupName = $Name }
    $answer = $web.GetResponse()
    $answer.Close()
    [int]$answer.StatusCode
}
$clock = [System.Diagnostics.Stopwatch]::StartNew()
$jobs = @()
$index = 0
foreach ($item in $Url) {
    $shell = [System.Management.Automation.PowerShell]::Create()
    $shell.RunspacePool = $pool
    $named = ''
    if ($Group) { $named = "$Group $index" }
    $null = $shell.AddScript($one).AddParameter('Target', $item).AddParameter('Name', $named)
    $jobs += , @{ shell = $shell; handle = $shell.BeginInvoke() }
    $index += 1
}
$codes = @()
foreach ($job in $jobs) {
    $null = $job['handle'].AsyncWaitHandle.WaitOne(10000)
    $codes += $job['shell'].EndInvoke($job['handle'])
}
$pool.Close()
$Ansible.Result = @{ codes = $codes; seconds = $clock.Elapsed.TotalSeconds }
"""


def test_a_runspace_pool_runs_requests_side_by_side_each_group_with_its_own_connections(host, slow):
    # Four requests to one service point: with their own connection groups they all run at once; in one group,
    # .NET's client limit of 2 connections (ServicePointManager.DefaultConnectionLimit) makes them two waves.
    grouped = run(host, POOL, {"Url": [slow] * 4, "Group": "probe"})
    assert grouped["result"]["codes"] == [200] * 4, grouped
    shared = run(host, POOL, {"Url": [slow] * 4})
    assert shared["result"]["codes"] == [200] * 4
    assert grouped["result"]["seconds"] < 2 * DELAY - 0.2 < 2 * DELAY <= shared["result"]["seconds"] + 0.05


def test_an_empty_session_state_runs_no_script_until_full_language_and_has_no_commands(host):
    script = """param([bool]$Full)
$state = [System.Management.Automation.Runspaces.InitialSessionState]::Create()
if ($Full) { $state.LanguageMode = 'FullLanguage' }
$pool = [System.Management.Automation.Runspaces.RunspaceFactory]::CreateRunspacePool($state)
$pool.Open()
$shell = [System.Management.Automation.PowerShell]::Create()
$shell.RunspacePool = $pool
$null = $shell.AddScript({ $x = 1 + 1; $x; New-Object System.Object })
$out = $shell.EndInvoke($shell.BeginInvoke())
$Ansible.Result = @{ out = $out; failed = $shell.HadErrors; error = $shell.Streams.Error[0].Exception.Message }
"""
    refused = run(host, script, {"Full": False})
    assert refused["failed"] is True and "no-language mode" in refused["error"][0]["exception"]["message"]
    no_command = run(host, script, {"Full": True})["result"]
    assert no_command["out"] == [2] and no_command["failed"] is True
    assert no_command["error"].startswith("The term 'New-Object' is not recognized")


CALLBACK = """param([string]$Url, [bool]$Fix, [bool]$Accept)
if ($Fix) {
    [System.Net.ServicePointManager]::SecurityProtocol = [System.Net.ServicePointManager]::SecurityProtocol -bor
        [System.Net.SecurityProtocolType]'Tls11, Tls12'
}
$seen = @{}
$web = [System.Net.WebRequest]::Create($Url)
$web.ServerCertificateValidationCallback = [System.Net.Security.RemoteCertificateValidationCallback]{
    param($origin, $certificate, $chain, $errors)
    $seen['errors'] = [string]$errors
    $seen['subjects'] = @(foreach ($element in $chain.ChainElements) { $element.Certificate.Subject })
    $seen['status'] = @(foreach ($entry in $chain.ChainStatus) { [string]$entry.Status })
    $seen['length'] = $certificate.GetRawCertData().Count
    $Accept
}
try {
    $answer = $web.GetResponse()
    $seen['code'] = [int]$answer.StatusCode
}
catch [System.Net.WebException] {
    $seen['failure'] = [string]$_.Exception.InnerException.Status
}
$seen['protocols'] = [string][System.Net.ServicePointManager]::SecurityProtocol
$Ansible.Result = $seen
"""


def test_the_callback_sees_the_chain_and_decides_and_tls_12_must_be_turned_on(host, api):
    url = "https://sensor.corp/tri/sensor/api/ping"
    # A DC without the .NET TLS switches: Windows PowerShell's own default is SSL 3 and TLS 1.0, which the server
    # refuses (the lab's hosts start with both switches on, as Defender for Identity's prerequisites ask).
    system_state.seed_tls(host, 0)
    old = run(host, CALLBACK, {"Url": url, "Fix": False, "Accept": True})["result"]
    assert (old["protocols"], old["failure"]) == ("Ssl3, Tls", "SecureChannelFailure"), old
    ok = run(host, CALLBACK, {"Url": url, "Fix": True, "Accept": True})["result"]
    assert ok["protocols"] == "Ssl3, Tls, Tls11, Tls12" and ok["code"] == 200, ok
    # the other way round in the same process (each protocol range has its own client context): still refused
    system_state.seed_tls(host, 0)
    again = run(host, CALLBACK, {"Url": url, "Fix": False, "Accept": True})["result"]
    assert (again["protocols"], again["failure"]) == ("Ssl3, Tls", "SecureChannelFailure"), again
    # the name matches (*.corp is not in the certificate): NameMismatch, and the chain ends at the store's CA
    assert ok["errors"] == "RemoteCertificateNameMismatch" and ok["status"] == [] and ok["length"] > 300
    assert ok["subjects"][-1].endswith("O=Microsoft Corporation") and len(ok["subjects"]) == 2
    refused = run(host, CALLBACK, {"Url": url, "Fix": True, "Accept": False})["result"]
    assert refused["failure"] == "TrustFailure" and "code" not in refused
    # SchUseStrongCrypto=1 gives TLS 1.2 without the script's help; SystemDefaultTlsVersions=1 the system's versions
    host.set_value(web_surface.NETFX_KEY, "SchUseStrongCrypto", "REG_DWORD", 1)
    strong = run(host, CALLBACK, {"Url": url, "Fix": False, "Accept": True})["result"]
    assert strong["protocols"] == "Tls, Tls11, Tls12" and strong["code"] == 200
    system_state.seed_tls(host, 1)
    assert run(host, CALLBACK, {"Url": url, "Fix": False, "Accept": True})["result"]["protocols"] == "SystemDefault"


def test_an_untrusted_certificate_gives_the_callback_its_chain_errors(lab, host, api):
    lab.update_config(ca_file="")  # an empty machine store trusts nothing
    result = run(host, CALLBACK, {"Url": "https://127.0.0.1:%d/" % api.port, "Fix": True, "Accept": True})["result"]
    assert result["errors"] == "RemoteCertificateChainErrors" and result["status"] == ["PartialChain"]
    assert result["failure"] == "ProtocolError"  # the callback accepted it: the server's 503 came back


def test_the_per_request_callback_needs_dotnet_45(host, api):
    host.set_value(web_surface.NDP_KEY, "Release", "REG_DWORD", 30319)  # .NET Framework 4.0
    result = run(host, CALLBACK, {"Url": "https://sensor.corp/", "Fix": True, "Accept": True})
    assert result["failed"] is True
    assert "'ServerCertificateValidationCallback' cannot be found" in result["error"][0]["exception"]["message"]


def test_a_credential_parameter_is_a_pscredential_that_never_prints(host):
    script = """param([PSCredential]$Credential)
$network = $Credential.GetNetworkCredential()
$Ansible.Result = @{ user = $network.UserName; same = $network.Password -eq 'pw-123'; printed = [string]$Credential.Password }
"""
    result = run(host, script, sensitive=[{"name": "Credential", "username": "svc", "password": "pw-123"}])
    assert result["result"] == {"user": "svc", "same": True, "printed": "System.Security.SecureString"}, result
    assert "pw-123" not in str(result)


def test_what_the_lab_does_not_emulate_is_refused(host):
    with pytest.raises(Unsupported, match="automatic detection"):
        host.seed({"user": {"auto_detect": True}})
        run(host, """$web = [System.Net.WebRequest]::Create('http://x.corp/')
$null = $web.GetResponse()""")

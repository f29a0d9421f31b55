# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``via: target``, engine ``script``: one ``ansible.windows.win_powershell`` run probes every URL and mode of the plan
as the (become) account, and returns raw facts; :mod:`_probe._facts` reads them.

Pure Python, no Ansible imports.

**Why a script.** ``ansible.windows.win_uri`` requests one URL per module run, each a WinRM round trip of about a
second on a real fleet (the demo's 5 URLs x 2 accounts were 10 per host), and it returns no certificate, so target
mode could not tell a trusted TLS-inspecting proxy from the real service. Microsoft's own tools test every URL in one
run (the Defender for Endpoint Client Analyzer; the sensor's ``Test-MDISensorApiConnection`` with its own .NET
request). This script does the same with the stack ``win_uri`` uses.

What it mirrors, from ansible.windows 3.3.0 ``plugins/module_utils/WebRequest.psm1`` (``Get-AnsibleWindowsWebRequest``,
what ``win_uri`` builds each request with):

* ``[System.Net.WebRequest]::Create($Uri)``, ``Timeout = timeout * 1000`` (line 242, the whole synchronous request),
  ``AllowAutoRedirect = $false`` (``follow_redirects: none``, line 353), ``UserAgent`` ``ansible-httpget``;
* the proxy (lines 283-312): mode ``default`` leaves ``Proxy`` alone, .NET's default proxy, the account's WinINet
  (Internet Explorer) settings (the machine-wide ones under ``ProxySettingsPerUser=0``); ``direct`` sets it to
  ``$null`` (``use_proxy: false``); ``named`` is ``New-Object System.Net.WebProxy $ProxyUrl, $true`` (here
  ``[System.Net.WebProxy]::new(...)``, the same constructor) with a ``NetworkCredential`` for the proxy user;
* the TLS versions (lines 207-236): .NET 4.8 (``SecurityProtocolType`` has ``Tls13``) gets ``SystemDefault``,
  older runtimes get ``Tls11`` and ``Tls12`` added; Windows PowerShell's own default is ``Ssl3, Tls``, which
  Microsoft's endpoints refuse. (win_uri also clears a private switch by reflection for a PSRemoting host; the probe
  runs in a process of its own under ``become``, where the public setter is enough.)
* ``-IgnoreBadResponse`` (lines 469-486): a ``WebException`` that carries a response (an HTTP status of 400 or
  more, or the proxy's answer to the CONNECT, whose ``Method`` is ``CONNECT``) is an answer, not a failure.

What is its own:

* **concurrency**: each request runs in a runspace of a ``RunspacePool`` (``BeginInvoke``), with the synchronous
  ``GetResponse`` win_uri uses, so ``Timeout`` bounds it as it bounds win_uri; the script waits for each with
  ``AsyncWaitHandle.WaitOne`` against one deadline for the whole run (``RunSeconds``), and a request still running
  then is reported unfinished (``BeginStop``; the pool is closed without waiting). Not ``BeginGetResponse``:
  .NET documents that it resolves names, finds the proxy and connects synchronously before it becomes
  asynchronous, and that ``Timeout`` does not apply to it; not ``WaitHandle.WaitAll``: it refuses more than 64
  handles and an STA thread. The pool's session state is ``InitialSessionState.Create()`` (no commands, so no
  module is loaded per runspace) with ``LanguageMode`` ``FullLanguage`` (its default is ``NoLanguage``); the
  request script uses no command, only the language and .NET.
* **connections**: each request has its own ``ConnectionGroupName`` and ``KeepAlive = $false``: .NET allows a client
  2 connections per service point and group (``ServicePointManager.DefaultConnectionLimit``), and every plain-HTTP
  request through one proxy shares that proxy's service point, so without its own group the CRL URLs would wait for
  each other; and a fresh connection is one fresh TLS handshake whose certificate the callback sees.
* **the certificate chain as the host received it**: ``HttpWebRequest.ServerCertificateValidationCallback`` (.NET
  4.5 and later), per request, captures the server certificate, the ``X509Chain`` Windows built (each element's
  subject, issuer, thumbprint; the chain status) and the ``SslPolicyErrors``, and accepts everything: the
  verdict (trusted or not, inspected or not) is made in Python. Not
  ``ServicePointManager.ServerCertificateValidationCallback``: it is process-wide, so concurrent requests would
  share one callback and one another's results, and win_uri's ``validate_certs: false`` sets it for the whole
  process. A script block delegate runs on the thread that makes the handshake, which for the synchronous
  ``GetResponse`` is the runspace's own (a per-request callback of a script block works on Windows PowerShell 5.1,
  PowerShell's own issue "ServerCertificateValidationCallback throws There is no Runspace available to run scripts
  in this thread", https://github.com/PowerShell/PowerShell/issues/17340: the same code fails on PowerShell 7.2 and
  works on 5.1). The server certificate itself (DER) comes back so that the issuer is read the same way as on
  the controller (RFC 4514).
* **credentials**: the named proxy's password reaches the script as the ``PSCredential`` parameter
  ``ProxyCredential`` through ``sensitive_parameters`` (``no_log`` in win_powershell), never in the script text, the
  ``parameters`` or the result.

Windows PowerShell's traps, each run in the lab's executor (``tests/lab/pwsh``): no variable repeats a parameter's
name in any case, in the script or in the request script block; ``error_action: stop`` and ``$ErrorActionPreference
= 'Stop'`` in every runspace, so the first error of the script's own ends it (``result.reading`` says where), while
a ``WebException`` of a request is a fact; ``[CmdletBinding(SupportsShouldProcess)]`` so that it runs in check mode
(it writes nothing), and ``$Ansible.Changed = $false``.
"""

from __future__ import annotations

import math

MODULE = "ansible.windows.win_powershell"
DEPTH = 6
MAX_PARALLEL = 32  # runspaces at once; a plan of the whole catalogue is about 20 requests
RUN_GRACE = 5  # seconds the whole run may take beyond the per-URL timeout (name resolution can exceed Timeout)
USER_AGENT = "ansible-httpget"  # win_uri's http_agent default (WebRequest.psm1 line 112)
CREDENTIAL_PARAMETER = "ProxyCredential"

SCRIPT = r"""[CmdletBinding(SupportsShouldProcess)]
param(
    [object[]]$Probe = @(),
    [int]$TimeoutSeconds = 10,
    [int]$RunSeconds = 15,
    [int]$Parallel = 1,
    [string]$NamedProxy = '',
    [PSCredential]$ProxyCredential,
    [string[]]$Header = @(),
    [string]$Agent = 'ansible-httpget'
)
# atp.sensor_proxy: the target-mode probe (plugins/plugin_utils/_probe/_script.py). Read-only; returns raw facts,
# one per request, and decides nothing. Sent with error_action stop: the first error of its own ends it.
$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$Ansible.Result = [Ordered]@{ reading = 'the TLS versions' }

# As win_uri (WebRequest.psm1 lines 207-236): TLS 1.2, which Windows PowerShell's own default lacks.
$protocols = [System.Net.ServicePointManager]::SecurityProtocol
if ([System.Enum]::GetNames([System.Net.SecurityProtocolType]) -contains 'Tls13') {
    if ($protocols -ne 'SystemDefault') {
        [System.Net.ServicePointManager]::SecurityProtocol = [System.Net.SecurityProtocolType]::SystemDefault
    }
}
else {
    [System.Net.ServicePointManager]::SecurityProtocol = $protocols -bor [System.Net.SecurityProtocolType]'Tls11, Tls12'
}

$networkCredential = $null
if ($null -ne $ProxyCredential) {
    $networkCredential = $ProxyCredential.GetNetworkCredential()
}

# One request, in a runspace of its own: only the language and .NET, no command.
$requestScript = {
    param(
        [string]$Url,
        [string]$Mode,
        [int]$Milliseconds,
        [string]$ProxyUrl,
        [object]$Credential,
        [string[]]$Names,
        [string]$UserAgent,
        [string]$Group
    )
    $ErrorActionPreference = 'Stop'
    $fact = [Ordered]@{
        url = $Url; mode = $Mode; finished = $true; status = $null; method = $null; headers = [Ordered]@{}
        exception = $null; elapsed = $null; policy_errors = $null; certificate = $null; chain = @(); chain_status = @()
    }
    $seen = @{}
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $web = [System.Net.WebRequest]::Create($Url)
    $web.Method = 'GET'
    $web.Timeout = $Milliseconds
    $web.ReadWriteTimeout = $Milliseconds
    $web.AllowAutoRedirect = $false
    $web.KeepAlive = $false
    $web.UserAgent = $UserAgent
    $web.ConnectionGroupName = $Group
    if ($Mode -eq 'direct') {
        $web.Proxy = $null
    }
    elseif ($Mode -eq 'named') {
        $named = [System.Net.WebProxy]::new($ProxyUrl, $true)
        $named.Credentials = $Credential
        $web.Proxy = $named
    }
    # Sees the chain as this host built it, and accepts every certificate: the verdict is made on the controller.
    $web.ServerCertificateValidationCallback = [System.Net.Security.RemoteCertificateValidationCallback]{
        param($origin, $certificate, $chain, $policyErrors)
        $seen['policy_errors'] = [string]$policyErrors
        $seen['certificate'] = [System.Convert]::ToBase64String($certificate.GetRawCertData())
        $seen['chain'] = @(foreach ($element in $chain.ChainElements) {
                [Ordered]@{
                    subject = $element.Certificate.Subject
                    issuer = $element.Certificate.Issuer
                    thumbprint = $element.Certificate.Thumbprint
                }
            })
        $seen['chain_status'] = @(foreach ($entry in $chain.ChainStatus) {
                [Ordered]@{ status = [string]$entry.Status; information = ([string]$entry.StatusInformation).Trim() }
            })
        $true
    }
    $response = $null
    try {
        try {
            $response = $web.GetResponse()
        }
        catch [System.Net.WebException] {
            # A WebException is a fact; the one with a response (HTTP 400 or more, the proxy's answer to the
            # CONNECT) is an answer (win_uri's -IgnoreBadResponse). Anything else ends the script.
            $failure = $_.Exception.InnerException
            $fact['exception'] = [Ordered]@{
                type = $failure.GetType().FullName
                status = [string]$failure.Status
                message = $failure.Message
            }
            $response = $failure.Response
        }
        if ($null -ne $response) {
            $fact['status'] = [int]$response.StatusCode
            $fact['method'] = $response.Method
            foreach ($name in $Names) {
                $value = $response.Headers[$name]
                if ($null -ne $value) {
                    $fact['headers'][$name] = $value
                }
            }
        }
    }
    finally {
        if ($null -ne $response) {
            $response.Close()
        }
    }
    $fact['elapsed'] = $clock.Elapsed.TotalSeconds
    foreach ($key in @('policy_errors', 'certificate', 'chain', 'chain_status')) {
        if ($seen.ContainsKey($key)) {
            $fact[$key] = $seen[$key]
        }
    }
    $fact
}

$Ansible.Result['reading'] = 'the runspace pool'
$sessionState = [System.Management.Automation.Runspaces.InitialSessionState]::Create()
$sessionState.LanguageMode = [System.Management.Automation.PSLanguageMode]::FullLanguage
$pool = [System.Management.Automation.Runspaces.RunspaceFactory]::CreateRunspacePool($sessionState)
$null = $pool.SetMaxRunspaces($Parallel)
$pool.Open()
$clockAll = [System.Diagnostics.Stopwatch]::StartNew()
$jobs = @()
$index = 0
foreach ($item in $Probe) {
    $Ansible.Result['reading'] = "the request of $($item['url']) ($($item['mode']))"
    $shell = [System.Management.Automation.PowerShell]::Create()
    $shell.RunspacePool = $pool
    $null = $shell.AddScript($requestScript)
    $null = $shell.AddParameter('Url', $item['url']).AddParameter('Mode', $item['mode'])
    $null = $shell.AddParameter('Milliseconds', $TimeoutSeconds * 1000).AddParameter('ProxyUrl', $NamedProxy)
    $null = $shell.AddParameter('Credential', $networkCredential).AddParameter('Names', $Header)
    $null = $shell.AddParameter('UserAgent', $Agent).AddParameter('Group', "atp.sensor_proxy probe $index")
    $jobs += , @{ shell = $shell; handle = $shell.BeginInvoke(); url = $item['url']; mode = $item['mode'] }
    $index += 1
}

$facts = @()
$unfinished = 0
foreach ($job in $jobs) {
    $Ansible.Result['reading'] = "the answer for $($job['url']) ($($job['mode']))"
    $left = [int]($RunSeconds * 1000 - $clockAll.ElapsedMilliseconds)
    if ($left -lt 0) {
        $left = 0
    }
    if ($job['handle'].AsyncWaitHandle.WaitOne($left)) {
        $answer = $job['shell'].EndInvoke($job['handle'])
        $facts += , $answer[0]
        $job['shell'].Dispose()
    }
    else {
        # Still running at the run's deadline: reported, and left behind (its GetResponse cannot be interrupted).
        $unfinished += 1
        $null = $job['shell'].BeginStop($null, $null)
        $facts += , ([Ordered]@{ url = $job['url']; mode = $job['mode']; finished = $false;
                elapsed = $clockAll.Elapsed.TotalSeconds })
    }
}
if ($unfinished -eq 0) {
    $pool.Close()
    $pool.Dispose()
}
else {
    $null = $pool.BeginClose($null, $null)
}

$identity = [Security.Principal.WindowsIdentity]::GetCurrent()
$Ansible.Result = [Ordered]@{
    facts = $facts
    unfinished = $unfinished
    elapsed = $clockAll.Elapsed.TotalSeconds
    user = [Ordered]@{ name = $identity.Name; sid = $identity.User.Value }
}
"""


def run_seconds(timeout: int, requests: int, parallel: int) -> int:
    """The bound on the whole run: each wave of ``parallel`` requests may take the per-URL timeout, plus a grace
    for name resolution, which .NET documents may take longer than ``Timeout``."""
    waves = max(1, math.ceil(requests / max(parallel, 1)))
    return int(timeout) * waves + RUN_GRACE


def module_args(plan, timeout: int, named_proxy: str | None = None, proxy_username: str | None = None,
                proxy_password: str | None = None, headers=()) -> dict:
    """The ``win_powershell`` arguments that probe ``plan`` (``[(url, mode)]``, in the order of the results).

    The named proxy's credentials go in ``sensitive_parameters`` (a ``PSCredential``; win_powershell marks the
    password ``no_log``), only when there is a user; nothing secret is in ``parameters``."""
    plan = [(str(url), str(mode)) for url, mode in plan]
    parallel = max(1, min(MAX_PARALLEL, len(plan)))
    args = {
        "script": SCRIPT,
        "parameters": {
            "Probe": [{"url": url, "mode": mode} for url, mode in plan],
            "TimeoutSeconds": int(timeout),
            "RunSeconds": run_seconds(timeout, len(plan), parallel),
            "Parallel": parallel,
            "NamedProxy": named_proxy or "",
            "Header": list(headers),
            "Agent": USER_AGENT,
        },
        "depth": DEPTH,
        "error_action": "stop",
    }
    if proxy_username is not None and named_proxy:
        args["sensitive_parameters"] = [{"name": CREDENTIAL_PARAMETER, "username": proxy_username,
                                         "password": proxy_password or ""}]
    return args

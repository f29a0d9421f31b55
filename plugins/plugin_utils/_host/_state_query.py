# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's read-only PowerShell query: everything a run needs, in one round trip.

(Its only other script, :mod:`_host._file_write`, writes new backup files; nothing else runs PowerShell of ours.)

Pure Python, no imports of Ansible, so that the lab's ``win_powershell`` stand-in can load this file
by path and answer exactly this script (and refuse any other).

**Why a script.** A converged host used to cost one ``ansible.windows.win_reg_stat`` per registry key
(three for the WinINet compare, eight more for the sensor discovery), a ``win_whoami`` and a
``win_service_info``; each is a WinRM round trip of about a second on a real fleet. No documented
module reads several keys, lists processes or tells the caller's group membership in one call, so
this script, sent with ``ansible.windows.win_powershell`` (a documented module), does all of it.
It contains no rule: it returns data, and every decision stays in the Python that reads it.

What each part mirrors, line by line where there is a module to mirror:

* registry keys: ``win_reg_stat.ps1`` (ansible.windows 3.3.0) lines 80-123: the key is opened
  read-only with ``OpenSubKey``; a missing key, or any key under an unloaded ``HKU`` hive, is null;
  every value name from ``GetValueNames()`` with ``GetValueKind`` and ``GetValue`` (lines 18-73,
  Get-PropertyValue, which also reads with ``DoNotExpandEnvironmentNames``). For an absent ``HKU``
  key the script also says whether the account's hive itself is loaded (``OpenSubKey(<SID>)``), which
  took a second ``win_reg_stat`` of ``HKU:\\<SID>`` before;
* processes: ``Get-Process -Name``, the test the DefenderForIdentity module uses for the v3 sensor
  (``(Get-Process -Name SenseIdentity -ErrorAction SilentlyContinue)``, see docs/dev/sensor_sources.md);
* services: ``Get-Service`` status and dependents, and the service's registry key
  (``ImagePath``, ``ObjectName``, ``Start``, ``DependOnService``), which is what
  ``win_service_info.ps1`` reports as ``path``, ``username``, ``start_mode``, ``dependencies``;
* root certificates: ``Test-Path Cert:\\LocalMachine\\Root\\<thumbprint>`` for each thumbprint;
* TCP listeners and firewall block rules, only when ``TcpPort`` is given (the readiness of a v2 sensor's localhost
  TCP 444, :mod:`_sensor._readiness`): ``IPGlobalProperties.GetActiveTcpListeners()`` on those ports (``Address``,
  ``Port``), and from ``HNetCfg.FwPolicy2`` the current profiles, whether each profile's firewall is on, and every
  enabled rule whose ``Action`` is block (0), with its direction, protocol, ports and addresses (no documented
  ansible.windows module returns listeners or firewall rules);
* the caller: ``WindowsPrincipal.IsInRole(BuiltInRole.Administrator)``, true only when the token
  has BUILTIN\\Administrators enabled (what ``win_whoami``'s group list said before).

Windows PowerShell's traps, each proven by running the script in the lab's executor (``tests/lab/pwsh``):

* variable names ignore case and a typed parameter converts every later assignment, so no variable repeats a
  parameter's name (``$found``, not ``$service``, next to ``[string[]]$Service``);
* ``win_powershell`` runs with ``error_action: continue`` by default, where a failed ``OpenSubKey`` (a denied
  key: ``SecurityException``) is written to ``error`` and the script goes on with wrong data; the query is sent
  with ``error_action: stop``, ``result.reading`` names what it was reading, and :func:`failure` fails on any
  error record;
* ``RegistryKey.GetValue`` returns a REG_DWORD as a signed ``Int32`` (and a REG_QWORD as a signed ``Int64``): the
  script reads the bits as unsigned, as ``win_reg_stat.ps1`` lines 47-51 do, so 0x80000000 is 2147483648.

``win_powershell`` serializes ``$Ansible.Result`` with ``Convert-OutputObject`` at ``depth``
(win_powershell.ps1 lines 286-420): enums become dictionaries and anything deeper than ``depth``
becomes a string, so the script turns enums into strings, binary values into base64, and the call
passes ``depth: 8``. It declares ``[CmdletBinding(SupportsShouldProcess)]`` so that it runs in check
mode (win_powershell.ps1 lines 568-592) and sets ``$Ansible.Changed = $false`` (it defaults to true).
"""

from __future__ import annotations

import base64

MODULE = "ansible.windows.win_powershell"
DEPTH = 8

SCRIPT = r"""[CmdletBinding(SupportsShouldProcess)]
param(
    [string[]]$Key = @(),
    [string[]]$Process = @(),
    [string[]]$Service = @(),
    [string[]]$RootCertificate = @(),
    [int[]]$TcpPort = @()
)
# atp.sensor_proxy: read-only state query (plugins/plugin_utils/_host/_state_query.py). Returns data only.
# Sent with error_action stop: the first error ends it, and result.reading says what it was reading.
# No variable repeats a parameter's name in any case: a typed parameter converts whatever is assigned to it.
$Ansible.Changed = $false
$Ansible.Result = [Ordered]@{ reading = 'the registry hives' }
$hives = @{
    'HKLM' = [Microsoft.Win32.Registry]::LocalMachine
    'HKU' = [Microsoft.Win32.Registry]::Users
    'HKCU' = [Microsoft.Win32.Registry]::CurrentUser
}

$keys = [Ordered]@{}
foreach ($path in $Key) {
    $Ansible.Result['reading'] = "the registry key $path"
    $drive, $subKey = $path -split ':\\', 2
    # Bracket indexing throughout: it reads a key, never a property of the dictionary.
    $entry = [Ordered]@{ exists = $false; values = [Ordered]@{}; sub_keys = @() }
    $registryKey = $hives[$drive].OpenSubKey($subKey, $false)
    if ($null -ne $registryKey) {
        try {
            $entry['exists'] = $true
            foreach ($name in $registryKey.GetValueNames()) {
                $kind = $registryKey.GetValueKind($name)
                $data = $registryKey.GetValue($name, $null, 'DoNotExpandEnvironmentNames')
                if ($kind -eq 'Binary' -or $kind -eq 'None') {
                    $data = [Convert]::ToBase64String([byte[]]$data)
                }
                elseif ($kind -eq 'DWord') {
                    # GetValue returns a signed Int32; read its bits as unsigned (win_reg_stat.ps1 does the same).
                    $data = [UInt32]('0x{0:x}' -f $data)
                }
                elseif ($kind -eq 'QWord') {
                    $data = [UInt64]('0x{0:x}' -f $data)
                }
                $entry['values'][$name] = [Ordered]@{ type = $kind.ToString(); value = $data }
            }
            $entry['sub_keys'] = @($registryKey.GetSubKeyNames())
        }
        finally {
            $registryKey.Dispose()
        }
    }
    elseif ($drive -eq 'HKU') {
        $hive = $hives[$drive].OpenSubKey(($subKey -split '\\', 2)[0], $false)
        $entry['hive_loaded'] = $null -ne $hive
        if ($null -ne $hive) { $hive.Dispose() }
    }
    $keys[$path] = $entry
}

$Ansible.Result['reading'] = 'the processes'
$processes = @()
if ($Process.Count -gt 0) {
    $processes = @(Get-Process -Name $Process -ErrorAction SilentlyContinue | ForEach-Object {
        [Ordered]@{ name = $_.ProcessName; id = $_.Id }
    })
}

$services = [Ordered]@{}
foreach ($name in $Service) {
    $Ansible.Result['reading'] = "the service $name"
    $found = Get-Service -Name $name -ErrorAction SilentlyContinue
    if ($null -eq $found) { continue }
    $entry = [Ordered]@{
        name = $found.Name
        status = $found.Status.ToString()
        dependents = @($found.DependentServices | ForEach-Object { $_.Name })
    }
    $registryKey = $hives['HKLM'].OpenSubKey("SYSTEM\CurrentControlSet\Services\$($found.Name)", $false)
    if ($null -ne $registryKey) {
        try {
            $entry['path'] = $registryKey.GetValue('ImagePath', $null, 'DoNotExpandEnvironmentNames')
            $entry['account'] = $registryKey.GetValue('ObjectName')
            $entry['start'] = $registryKey.GetValue('Start')
            $entry['dependencies'] = @($registryKey.GetValue('DependOnService', [string[]]@()))
        }
        finally {
            $registryKey.Dispose()
        }
    }
    $services[$name] = $entry
}

$roots = [Ordered]@{}
foreach ($thumbprint in $RootCertificate) {
    $Ansible.Result['reading'] = "the root certificate $thumbprint"
    $roots[$thumbprint] = Test-Path -LiteralPath "Cert:\LocalMachine\Root\$thumbprint"
}

$listeners = @()
$firewall = $null
if ($TcpPort.Count -gt 0) {
    $Ansible.Result['reading'] = 'the TCP listeners'
    $listeners = @([Net.NetworkInformation.IPGlobalProperties]::GetIPGlobalProperties().GetActiveTcpListeners() |
        Where-Object { $TcpPort -contains $_.Port } |
        ForEach-Object { [Ordered]@{ address = $_.Address.ToString(); port = $_.Port } })
    $Ansible.Result['reading'] = 'the firewall rules'
    $policy = New-Object -ComObject HNetCfg.FwPolicy2
    $current = $policy.CurrentProfileTypes
    $firewall = [Ordered]@{
        current_profiles = $current
        enabled = [Ordered]@{
            domain = $policy.FirewallEnabled(1)
            private = $policy.FirewallEnabled(2)
            public = $policy.FirewallEnabled(4)
        }
        block_rules = @($policy.Rules | Where-Object { $_.Enabled -and $_.Action -eq 0 } | ForEach-Object {
            [Ordered]@{
                name = $_.Name
                direction = $_.Direction
                protocol = $_.Protocol
                local_ports = $_.LocalPorts
                local_addresses = $_.LocalAddresses
                remote_addresses = $_.RemoteAddresses
            }
        })
    }
}

$Ansible.Result['reading'] = 'the caller'
$identity = [Security.Principal.WindowsIdentity]::GetCurrent()
$Ansible.Result = [Ordered]@{
    keys = $keys
    processes = $processes
    services = $services
    root_certificates = $roots
    tcp_listeners = $listeners
    firewall = $firewall
    user = [Ordered]@{
        name = $identity.Name
        sid = $identity.User.Value
        administrator = ([Security.Principal.WindowsPrincipal]$identity).IsInRole(
            [Security.Principal.WindowsBuiltInRole]::Administrator)
    }
}
"""

# .NET RegistryValueKind names -> the REG_* names the rest of the collection (and win_reg_stat) uses.
KINDS = {
    "None": "REG_NONE", "String": "REG_SZ", "ExpandString": "REG_EXPAND_SZ", "Binary": "REG_BINARY",
    "DWord": "REG_DWORD", "MultiString": "REG_MULTI_SZ", "QWord": "REG_QWORD", "Unknown": "REG_NONE",
}


def module_args(keys=(), processes=(), services=(), root_certificates=(), tcp_ports=()) -> dict:
    """The ``win_powershell`` arguments of one query (``error_action: stop``: the first error ends it)."""
    parameters = {"Key": list(keys), "Process": list(processes), "Service": list(services),
                  "RootCertificate": list(root_certificates)}
    if tcp_ports:  # only when asked: a query without it is the one every caller sent before
        parameters["TcpPort"] = [int(p) for p in tcp_ports]
    return {
        "script": SCRIPT,
        "parameters": parameters,
        "depth": DEPTH,
        "error_action": "stop",
    }


def failure(result: dict, asked: str = "") -> str | None:
    """Why a query's result cannot be used, naming what it was reading (else ``asked``); None when it can.

    It fails on ``failed`` (a terminating error: with ``error_action: stop`` that is any error) and on any entry
    in ``error`` (a record written without failing): a query that met an error returns wrong data, not less."""
    errors = [e for e in result.get("error") or [] if isinstance(e, dict)]
    if not result.get("failed") and not errors:
        return None
    data = result.get("result") if isinstance(result.get("result"), dict) else {}
    reading = data.get("reading") or asked
    messages = [str(((e.get("exception") or {}).get("message")) or e.get("output") or "").strip() for e in errors]
    why = "; ".join(m for m in messages if m) or str(result.get("msg") or "no error message")
    return "the state query failed%s: %s" % (" while reading %s" % reading if reading else "", why)


def decode_value(kind: str, value):
    """(REG_* type, bytes for binary values or the value as returned)."""
    reg_type = KINDS.get(str(kind), "REG_NONE")
    if reg_type in ("REG_BINARY", "REG_NONE"):
        return reg_type, base64.b64decode(value or "")
    if reg_type == "REG_MULTI_SZ" and not isinstance(value, list):
        value = [] if value is None else [value]
    return reg_type, value

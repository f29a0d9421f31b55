# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only PowerShell the collection sends: one read-only query that no other ansible.windows module can make.

No imports at all, so that the lab's ``win_powershell`` stand-in can load this file by path and
answer exactly these scripts (and refuse any other).

Why PowerShell here: no ``ansible.windows`` module lists processes, and the one documented marker
of the Defender for Identity sensor v3.x is a running process. The DefenderForIdentity module's
``Get-MDISensorProcessInformation`` decides ``SenseIdentity = 'Running'`` with
``(Get-Process -Name SenseIdentity -ErrorAction SilentlyContinue).Count -gt 0``, and its
``Get-MDISensorConfiguration`` / ``Set-MDISensorProxyConfiguration`` take the v3 branch on that
(DefenderForIdentity.psm1, see docs/dev/sensor_sources.md). This script makes the same query.

``ansible.windows.win_powershell`` (3.3.0, ``win_powershell.ps1`` lines 568-592) runs a script in
check mode only when its param block declares ``[CmdletBinding(SupportsShouldProcess)]``;
``$Ansible.Changed`` defaults to true (line 667), so the script sets it to false.
"""

SENSE_IDENTITY_PROCESS = r"""[CmdletBinding(SupportsShouldProcess)]
param()
# Read-only: is the Defender for Identity sensor v3.x (SenseIdentity) running? Same test as the
# DefenderForIdentity module's Get-MDISensorProcessInformation.
$Ansible.Changed = $false
Get-Process -Name SenseIdentity -ErrorAction SilentlyContinue | ForEach-Object {
    [Ordered]@{ name = $_.ProcessName; pid = $_.Id; path = $_.Path }
}
"""

# Every script the collection sends, by purpose (the lab's stand-in answers exactly these).
SCRIPTS = {"sense_identity_process": SENSE_IDENTITY_PROCESS}

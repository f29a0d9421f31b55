# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a few new files into one folder on the host in one round trip, and say what the host holds.

Pure Python, no imports of Ansible, so that the lab's ``win_powershell`` stand-in can load this file by path
and answer exactly this script (and refuse any other).

**Why a script.** The backups (``before.reg``, ``after.reg``, the sensor file's copies) used to go with the
``ansible.windows.win_copy`` action: its query, a temporary folder, the transfer of a zip, the explode and the
clean-up are 5 WinRM commands, about 5 seconds per changed host on a real fleet, for files of a few kilobytes.
This script, sent with ``ansible.windows.win_powershell`` (a documented module), writes them in one command.
It contains no rule: the controller decides the folder, the names and the bytes, and checks what comes back.

What it does, in order:

* the folder is created with ``[IO.Directory]::CreateDirectory`` when missing (its parents too; a new folder
  inherits the ACL of its parent, as the folder ``win_copy`` creates does);
* each file is created with ``FileMode.CreateNew``: a file that already exists is never overwritten (an
  ``IOException``, "The file '<path>' already exists."); every backup folder is new (its name carries the
  UTC time to the microsecond), so an existing file there is somebody else's;
* a file name is refused unless it is a plain name (letters, digits, ``.``, ``_``, ``-``, and not only dots):
  nothing is written outside the folder;
* each file is read back and its SHA-256 returned, so the controller can compare it with what it sent. The hash
  is ``SHA256CryptoServiceProvider``, as ``win_stat.ps1`` (lines 17-24) uses: ``[SHA256]::Create()`` makes
  ``SHA256Managed`` on .NET Framework before 4.8 (Windows Server 2016 and 2019 as shipped), which throws when the
  "Use FIPS compliant algorithms" policy is on.

On an error the script stops, sets ``$Ansible.Failed`` (win_powershell.ps1 line 895 turns it into ``failed``)
and returns the files already written and the innermost exception's message in ``$Ansible.Result``
(``written``, ``error``). It declares ``[CmdletBinding()]`` without ``SupportsShouldProcess``: in check mode
win_powershell does not run it (win_powershell.ps1 lines 589-592), and the collection never sends it then.
"""

from __future__ import annotations

import base64
import hashlib
import re

MODULE = "ansible.windows.win_powershell"
NAME = re.compile(r"(?!\.+\Z)[A-Za-z0-9._-]+")  # fullmatch; also in SCRIPT ("." and ".." are not file names)

SCRIPT = r"""[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Folder,
    [Parameter(Mandatory = $true)][System.Collections.IDictionary]$File
)
# atp.sensor_proxy: write new files into one folder (plugins/plugin_utils/_host/_file_write.py).
$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$Ansible.Result = [Ordered]@{ folder = $Folder; created_folder = $false; written = [Ordered]@{}; error = $null }
try {
    if (-not [System.IO.Directory]::Exists($Folder)) {
        $null = [System.IO.Directory]::CreateDirectory($Folder)
        $Ansible.Result['created_folder'] = $true
        $Ansible.Changed = $true
    }
    foreach ($name in @($File.Keys | Sort-Object)) {
        if ($name -cnotmatch '^(?!\.+\z)[A-Za-z0-9._-]+\z') {
            throw "refusing the file name '$name': only a plain name is written"
        }
        $path = [System.IO.Path]::Combine($Folder, $name)
        $bytes = [System.Convert]::FromBase64String([string]$File[$name])
        $stream = [System.IO.File]::Open($path, [System.IO.FileMode]::CreateNew, [System.IO.FileAccess]::Write,
            [System.IO.FileShare]::None)
        try {
            $stream.Write($bytes, 0, $bytes.Length)
        }
        finally {
            $stream.Dispose()
        }
        $Ansible.Changed = $true
        $sha256 = New-Object -TypeName System.Security.Cryptography.SHA256CryptoServiceProvider
        try {
            $hash = $sha256.ComputeHash([System.IO.File]::ReadAllBytes($path))
        }
        finally {
            $sha256.Dispose()
        }
        $Ansible.Result['written'][$name] = [System.BitConverter]::ToString($hash).Replace('-', '').ToLowerInvariant()
    }
}
catch {
    $exception = $_.Exception
    while ($exception -is [System.Management.Automation.MethodInvocationException] -and $exception.InnerException) {
        $exception = $exception.InnerException
    }
    $Ansible.Result['error'] = $exception.Message
    $Ansible.Failed = $true
}
"""


def module_args(folder: str, files: dict) -> dict:
    """The ``win_powershell`` arguments that write ``files`` (name -> bytes) into ``folder``."""
    bad = [name for name in files if not NAME.fullmatch(name)]
    if bad:
        raise ValueError("not a plain file name: %s" % ", ".join(sorted(bad)))
    return {"script": SCRIPT, "parameters": {"Folder": folder.rstrip("\\"),
                                             "File": {name: base64.b64encode(data).decode("ascii")
                                                      for name, data in files.items()}}}


def outcome(result: dict, folder: str, files: dict) -> dict:
    """What the host holds after the script: ``{changed, written: [paths], failed, msg}``.

    A file counts as written only when the host read back the SHA-256 of the bytes sent; anything else
    fails with a message that names the file."""
    data = result.get("result") if isinstance(result.get("result"), dict) else {}
    reported = data.get("written") if isinstance(data.get("written"), dict) else {}
    folder = folder.rstrip("\\")
    written, wrong = [], []
    for name, content in files.items():
        got = reported.get(name)
        if got is None:
            continue
        if str(got).lower() == hashlib.sha256(content).hexdigest():
            written.append("%s\\%s" % (folder, name))
        else:
            wrong.append(name)
    out = {"changed": bool(result.get("changed")), "written": written, "failed": False}
    if result.get("failed") or data.get("error"):
        out.update(failed=True, msg=str(data.get("error") or _first_error(result) or result.get("msg")
                                        or "win_powershell failed without a message"))
    elif wrong:
        out.update(failed=True, msg="%s read back with other bytes than those sent" % ", ".join(
            "%s\\%s" % (folder, name) for name in wrong))
    elif len(written) != len(files):
        missing = sorted(set(files) - set(reported))
        out.update(failed=True, msg="the host did not confirm %s" % ", ".join(
            "%s\\%s" % (folder, name) for name in missing))
    return out


def _first_error(result: dict) -> str:
    for record in result.get("error") or []:
        message = ((record or {}).get("exception") or {}).get("message")
        if message:
            return str(message)
    return ""


def write(execute, folder: str, files: dict) -> dict:
    """ONE ``win_powershell`` run that writes ``files`` into ``folder``; :func:`outcome` of it. A broken
    connection is not caught (the executor raises it)."""
    return outcome(execute(MODULE, module_args(folder, files)), folder, files)

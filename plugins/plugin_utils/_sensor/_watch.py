# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""After a restart: does the sensor keep running, and what did it write in its error logs? One round trip.

Pure Python, no Ansible imports (the lab's ``win_powershell`` stand-in runs :data:`SCRIPT` in its PowerShell
executor). The script gathers raw facts and decides nothing:

* **the services**, read every ``Interval`` seconds for ``Seconds`` seconds (``Get-Service``'s ``Status``, as the
  state query reads it). A restart that "succeeded" can leave ``AATPSensor`` stopping again once it fails to reach
  its service; one read right after the start cannot tell. :func:`service_verdicts` decides, per service:
  ``running`` (it runs at the last read), ``stopped again`` (it ran, then stopped) or ``not started`` (no read
  saw it run). ``Seconds`` is ``atp_proxy_sensor_start_timeout`` (default 60; 0 reads once). 60 s is the wait
  attributed to Microsoft's ``Set-MDIProxy`` for ``AATPSensor``; that script is not in any source we could search
  (docs/sensor.md "After the restart"), so the default is a judgement, not a citation.
* **the error logs**, ``Microsoft.Tri.Sensor-Errors.log`` and ``Microsoft.Tri.Sensor.Updater-Errors.log`` in the
  ``Logs`` folder of the sensor's version folder (Microsoft, *Troubleshooting Microsoft Defender for Identity
  sensor using the Defender for Identity logs*, troubleshooting-using-logs.md: "the Logs folder can be found at:
  C:\\Program Files\\Azure Advanced Threat Protection Sensor\\version number\\Logs"; the *-Errors.log files hold
  "just the errors"). For each file the script returns its length when the watch began (``start``), its length at
  the end, and its last ``MaxBytes`` bytes (base64): :func:`new_bytes` keeps what was written during the watch
  (after a restart), or the tail (a check run). The logs reach 50 MB before they roll over (same page), so only a
  bounded tail crosses the wire. The sensor keeps its log open while it writes, so the file is opened with
  ``FileShare.ReadWrite`` (``[IO.File]::Open(path, 'Open', 'Read', 'ReadWrite')``): ``ReadAllBytes`` shares only
  ``Read`` and would fail against the sensor's open handle.

Windows PowerShell's traps, proven by running the script in the lab's executor: no variable repeats a parameter's
name (``$serviceName``, not ``$name``, next to ``[string[]]$Name``); ``error_action: stop`` and ``result.reading``
name what failed (:func:`_host._state_query.failure` reads it); ``[CmdletBinding(SupportsShouldProcess)]`` lets it run
in check mode; ``$Ansible.Changed = $false``.
"""

from __future__ import annotations

import base64

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _state_query as state_query
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _logs as sensor_logs

MODULE = "ansible.windows.win_powershell"
INTERVAL = 5  # seconds between two reads of the services
MAX_BYTES = 65536  # per log file: the tail that crosses the wire
LOG_FILES = ("Microsoft.Tri.Sensor-Errors.log", "Microsoft.Tri.Sensor.Updater-Errors.log")

RUNNING, STOPPED_AGAIN, NOT_STARTED = "running", "stopped again", "not started"

SCRIPT = r"""[CmdletBinding(SupportsShouldProcess)]
param(
    [string[]]$Name = @(),
    [string[]]$LogFile = @(),
    [int]$Seconds = 0,
    [int]$Interval = 5,
    [int]$MaxBytes = 65536
)
# atp.sensor_proxy: the sensor after a restart (plugins/plugin_utils/_sensor/_watch.py). Returns data only.
$Ansible.Changed = $false
$Ansible.Result = [Ordered]@{ reading = 'the log files' }
$startLength = [Ordered]@{}
foreach ($path in $LogFile) {
    $Ansible.Result['reading'] = "the log file $path"
    $startLength[$path] = -1
    if ([IO.File]::Exists($path)) {
        $stream = [IO.File]::Open($path, 'Open', 'Read', 'ReadWrite')
        try {
            $startLength[$path] = $stream.Length
        }
        finally {
            $stream.Dispose()
        }
    }
}

$samples = @()
$elapsed = 0
while ($true) {
    $Ansible.Result['reading'] = 'the services'
    $sample = [Ordered]@{ second = $elapsed; status = [Ordered]@{} }
    foreach ($serviceName in $Name) {
        $found = Get-Service -Name $serviceName -ErrorAction SilentlyContinue
        if ($null -eq $found) {
            $sample['status'][$serviceName] = 'Missing'
        }
        else {
            $sample['status'][$serviceName] = $found.Status.ToString()
        }
    }
    $samples += , $sample
    if ($elapsed -ge $Seconds) { break }
    Start-Sleep -Seconds $Interval
    $elapsed += $Interval
}

$logs = [Ordered]@{}
foreach ($path in $LogFile) {
    $Ansible.Result['reading'] = "the log file $path"
    $entry = [Ordered]@{ exists = $false; start = $startLength[$path]; length = 0; from = 0; data = '' }
    if ([IO.File]::Exists($path)) {
        $stream = [IO.File]::Open($path, 'Open', 'Read', 'ReadWrite')
        try {
            $length = $stream.Length
            $from = $length - $MaxBytes
            if ($from -lt 0) { $from = 0 }
            $buffer = New-Object byte[] ($length - $from)
            [void]$stream.Seek($from, [IO.SeekOrigin]::Begin)
            $read = $stream.Read($buffer, 0, $buffer.Length)
            $entry['exists'] = $true
            $entry['length'] = $length
            $entry['from'] = $from
            $entry['data'] = [Convert]::ToBase64String($buffer, 0, $read)
        }
        finally {
            $stream.Dispose()
        }
    }
    $logs[$path] = $entry
}
$Ansible.Result = [Ordered]@{ samples = $samples; logs = $logs }
"""


def log_paths(install_folder: str | None) -> list:
    """The two error logs of a v2 sensor whose version folder is ``install_folder`` (``...\\<version>\\``)."""
    if not install_folder:
        return []
    folder = install_folder if install_folder.endswith("\\") else install_folder + "\\"
    return ["%sLogs\\%s" % (folder, name) for name in LOG_FILES]


def module_args(services, logs, seconds: int, interval: int = INTERVAL, max_bytes: int = MAX_BYTES) -> dict:
    """The ``win_powershell`` arguments of one watch (``error_action: stop``: the first error ends it)."""
    return {
        "script": SCRIPT,
        "parameters": {"Name": list(services), "LogFile": list(logs), "Seconds": int(max(0, seconds)),
                       "Interval": int(max(1, interval)), "MaxBytes": int(max_bytes)},
        "depth": state_query.DEPTH,
        "error_action": "stop",
    }


def failure(result: dict) -> str | None:
    """Why the watch's result cannot be used (what it was reading), None when it can."""
    why = state_query.failure(result)
    return why.replace("the state query failed", "the sensor watch failed", 1) if why else None


def service_verdicts(samples: list, expected) -> dict:
    """``{service: running | stopped again | not started}`` for each of ``expected`` from the reads in order."""
    out = {}
    for name in expected:
        seen = [str(((s or {}).get("status") or {}).get(name) or "Missing") for s in samples or []]
        if seen and seen[-1] == "Running":
            out[name] = RUNNING
        elif "Running" in seen:
            out[name] = STOPPED_AGAIN
        else:
            out[name] = NOT_STARTED
    return out


def stopped_at(samples: list, name: str) -> int | None:
    """The second of the first read that found ``name`` stopped after it ran (None when it did not stop)."""
    ran = False
    for sample in samples or []:
        status = str(((sample or {}).get("status") or {}).get(name) or "Missing")
        if status == "Running":
            ran = True
        elif ran:
            return int(sample.get("second") or 0)
    return None


def new_bytes(entry: dict, since_start: bool) -> bytes:
    """What a log file's entry holds for us: with ``since_start``, the bytes written during the watch (after the
    length the file had when the watch began; all of the tail when the file is new or rolled over, i.e. shorter
    than it was); otherwise the tail."""
    if not entry or not entry.get("exists"):
        return b""
    data = base64.b64decode(entry.get("data") or "")
    if not since_start:
        return data
    start, length, first = int(entry.get("start", -1)), int(entry.get("length") or 0), int(entry.get("from") or 0)
    if start < 0 or start > length:  # created, or rolled over (renamed to -Archived-00000) during the watch
        return data
    return data[max(0, start - first):]


def read(execute, services, logs, seconds: int, secrets=(), interval: int = INTERVAL, since_start: bool = True) -> dict:
    """Run the watch (1 round trip). Returns ``{seconds, verdicts, stopped_at, samples, logs, error}``: ``logs`` is
    :func:`_sensor._logs.classify` of the lines written during the watch (``since_start``) or of the tail, masked
    with ``secrets`` (the raw bytes never leave this function); ``error`` says why the script failed (then the rest
    is empty). Raises Disconnected."""
    result = execute(MODULE, module_args(services, logs, seconds, interval))
    why = failure(result)
    if why:
        return {"seconds": seconds, "verdicts": {}, "stopped_at": {}, "samples": [], "error": why,
                "logs": {"read": False, "error": why}}
    data = result.get("result") if isinstance(result.get("result"), dict) else {}
    samples = list(data.get("samples") or [])
    found = data.get("logs") if isinstance(data.get("logs"), dict) else {}
    raw = {path: new_bytes(found.get(path) or {}, since_start) for path in logs
           if (found.get(path) or {}).get("exists")}
    return {"seconds": seconds, "verdicts": service_verdicts(samples, services), "error": "",
            "stopped_at": {n: stopped_at(samples, n) for n in services if stopped_at(samples, n) is not None},
            # an error log that does not exist holds no error: read, and nothing found
            "samples": samples, "logs": dict(sensor_logs.classify(raw, since_start, secrets), read=bool(logs),
                                             files_read=sorted(raw), files_missing=[p for p in logs if p not in raw])}

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What of the Defender for Identity sensor is installed on a host: its services and process, its generation, version
and install folder, from the state query's services and processes (:mod:`_host._state_query`).

Pure Python, no Ansible imports. Sources: docs/dev/sensor_sources.md. Generation: **v3** when SenseIdentity runs (the
DefenderForIdentity module tests this first, so a host where both run counts as v3); **v2** when the AATPSensor
service exists; otherwise no sensor.
"""

from __future__ import annotations

import ntpath
import re

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sensor_config

SERVICE_MODULE = "ansible.windows.win_service"

SENSOR_SERVICE = "AATPSensor"  # runs Microsoft.Tri.Sensor.exe as LocalService
UPDATER_SERVICE = "AATPSensorUpdater"  # runs as LocalSystem
SERVICES = (SENSOR_SERVICE, UPDATER_SERVICE)
SENSOR_EXE = "Microsoft.Tri.Sensor.exe"
V3_PROCESS = "SenseIdentity"

# How the write path restarts the v2 sensor, as Set-MDISensorProxyConfiguration does (Stop-Service
# AATPSensorUpdater -Force, then Start-Service AATPSensorUpdater): win_service state=restarted runs
# Restart-Service -Force, which stops the running dependents too and starts them again
# (win_service.ps1 lines 850-852; PowerShell's RestartServiceCommand).
RESTART_ARGS = {"name": UPDATER_SERVICE, "state": "restarted", "force_dependent_services": True}

# The state query's service status (ServiceControllerStatus.ToString()) and Start value (the service key's
# REG_DWORD), as win_service_info.ps1 names them (lines 111-128; "delayed" needs DelayedAutostart, not read).
STATUS = {"Running": "started", "Stopped": "stopped", "StartPending": "start_pending", "StopPending": "stop_pending",
          "ContinuePending": "continue_pending", "PausePending": "pause_pending", "Paused": "paused"}
START_MODES = {0: "boot", 1: "system", 2: "auto", 3: "manual", 4: "disabled"}


def service_states(snapshot: remote.Snapshot) -> dict:
    """``{AATPSensor: 'started', AATPSensorUpdater: 'stopped'}`` from a state query (missing services absent)."""
    found = {str(k).lower(): v for k, v in snapshot.services.items()}
    return {name: STATUS.get(str(found[name.lower()].get("status")), str(found[name.lower()].get("status")).lower())
            for name in SERVICES if name.lower() in found}


def install_folder(binary_path: str | None) -> str | None:
    """The folder of Microsoft.Tri.Sensor.exe from the AATPSensor service's binary path.

    As the DefenderForIdentity module's Get-MDISensorBinPath: ``PathName -replace
    '"|Microsoft\\.Tri\\.Sensor\\.exe', ''`` (case-insensitive), which leaves the folder with its
    trailing backslash. Arguments after the executable, if any, are dropped.
    """
    if not binary_path:
        return None
    text = binary_path.strip()
    match = re.search(r"^\"?(.*?)" + re.escape(SENSOR_EXE) + r"\"?", text, re.IGNORECASE)
    if match:
        folder = match.group(1)
    else:
        folder = ntpath.dirname(text.strip('"'))
    folder = folder.strip('"')
    return folder if folder.endswith("\\") else folder + "\\"


def version_from_folder(folder: str | None) -> str | None:
    """The sensor version: its install folder's name (``...\\Azure Advanced Threat Protection Sensor\\<version>\\``,
    configure-proxy.md: "By default, this location is C:\\Program Files\\Azure Advanced Threat Protection
    Sensor\\version number\\")."""
    if not folder:
        return None
    name = ntpath.basename(folder.rstrip("\\"))
    return name if re.match(r"^\d+(\.\d+){1,3}$", name) else None


def _service_entry(service: dict | None) -> dict | None:
    """A service as the state query returns it (``Get-Service`` and the service's registry key)."""
    if service is None:
        return None
    status = str(service.get("status") or "")
    account = accounts.lookup(service.get("account"))
    return {
        "name": service.get("name"),
        "state": STATUS.get(status, status.lower()),
        "status": status,
        "running": status == "Running",
        "start_mode": START_MODES.get(service.get("start")),
        "username": service.get("account"),  # the key's ObjectName: LocalSystem, NT AUTHORITY\\LocalService, ...
        "account": account.name if account else service.get("account"),
        "sid": account.sid if account else None,
        "path": service.get("path"),  # ImagePath, environment variables not expanded
        "dependencies": list(service.get("dependencies") or []),
        "dependency_of": list(service.get("dependents") or []),
    }


def sensor_info(services: dict, processes: list) -> dict:
    """What is installed, from the state query's services (any key case) and SenseIdentity processes, and which
    markers said so."""
    services = {str(k).lower(): v for k, v in (services or {}).items()}
    processes = [p for p in processes or [] if str(p.get("name", "")).lower() == V3_PROCESS.lower()]
    sensor = _service_entry(services.get(SENSOR_SERVICE.lower()))
    updater = _service_entry(services.get(UPDATER_SERVICE.lower()))
    markers = []
    if processes:
        markers.append("process %s running" % V3_PROCESS)
    if sensor:
        markers.append("service %s" % SENSOR_SERVICE)
    if updater:
        markers.append("service %s" % UPDATER_SERVICE)
    generation = "v3" if processes else ("v2" if sensor else None)
    folder = install_folder(sensor["path"]) if sensor else None
    return {
        "installed": generation is not None,
        "generation": generation,
        "markers": markers,
        "version": version_from_folder(folder) if generation == "v2" else None,
        "install_folder": folder,
        "config_path": folder + sensor_config.FILE_NAME if folder else None,
        "services": {name: entry for name, entry in ((SENSOR_SERVICE, sensor), (UPDATER_SERVICE, updater)) if entry},
        "processes": [{"name": p.get("name"), "pid": p.get("id")} for p in processes],
    }

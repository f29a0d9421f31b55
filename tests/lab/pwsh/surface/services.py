# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``Get-Service``, ``Get-Process`` and their objects, from the host's ``system.json`` (TEST ONLY).

Windows PowerShell 5.1 (https://learn.microsoft.com/powershell/module/microsoft.powershell.management/get-service?
view=powershell-5.1, .../get-process?view=powershell-5.1):

* ``Get-Service [-Name] <string[]>``: one ``System.ServiceProcess.ServiceController`` per service (names and
  wildcards case-insensitive); a name without wildcards that matches nothing is the non-terminating error
  "Cannot find any service with service name '<name>'." (``NoServiceFoundForGivenName``);
  ``ServiceController.ToString()`` is its type name (the class does not override it), ``Status`` a
  ``ServiceControllerStatus``, ``DependentServices`` the services that depend on it;
* ``Get-Process [-Name] <string[]>``: one ``System.Diagnostics.Process`` per process (``ProcessName``, ``Id``,
  ``Path``); no match is "Cannot find a process with the name "<name>". Verify the process name and call the
  cmdlet again." (``NoProcessFoundForGivenName``).
"""

from __future__ import annotations

from tests.lab.pwsh import operators
from tests.lab.pwsh import values as v
from tests.lab.pwsh.errors import dotnet_error
from tests.lab.pwsh.surface import cmdlets, types

STATUS = types.register("System.ServiceProcess.ServiceControllerStatus", enum={
    "Stopped": 1, "StartPending": 2, "StopPending": 3, "Running": 4, "ContinuePending": 5, "PausePending": 6,
    "Paused": 7})
START_MODE = types.register("System.ServiceProcess.ServiceStartMode", enum={
    "Boot": 0, "System": 1, "Automatic": 2, "Manual": 3, "Disabled": 4})
START_MODES = {"auto": "Automatic", "delayed": "Automatic", "manual": "Manual", "disabled": "Disabled"}


class ServiceController(v.DotNetObject):
    TYPE = "System.ServiceProcess.ServiceController"
    BASES = ("System.ComponentModel.Component", "System.IDisposable")

    def __init__(self, system: dict, entry: dict, ctx=None):
        self.system, self.entry, self.ctx = system, entry, ctx

    def p_Name(self):
        return self.entry["name"]

    def p_ServiceName(self):
        return self.entry["name"]

    def p_DisplayName(self):
        return self.entry.get("display_name") or self.entry["name"]

    def p_Status(self):
        # Read at each call, at the script's clock: a service under the lab's service_stops_again fault stops
        # while a script waits (Start-Sleep), as it would between two reads on Windows.
        state = self.entry["state"]
        if self.ctx is not None:
            from tests.lab import system_state

            state = system_state.observe(self.ctx.host, self.entry["name"], self.ctx.now()) or state
        return types.enum_value(STATUS, "Running" if state == "started" else
                                "Paused" if state == "paused" else "Stopped")

    def p_StartType(self):
        return types.enum_value(START_MODE, START_MODES.get(self.entry.get("start_mode"), "Manual"))

    def p_DependentServices(self):
        name = self.entry["name"].lower()
        services = sorted(self.system["services"].values(), key=lambda s: s["name"].lower())
        return v.PSArray([ServiceController(self.system, s) for s in services
                          if name in [d.lower() for d in s.get("dependencies") or []]],
                         "System.ServiceProcess.ServiceController")

    def p_ServicesDependedOn(self):
        found = [self.system["services"].get(d.lower()) for d in self.entry.get("dependencies") or []]
        return v.PSArray([ServiceController(self.system, s) for s in found if s],
                         "System.ServiceProcess.ServiceController")

    def m_Dispose(self):
        return None


class Process(v.DotNetObject):
    TYPE = "System.Diagnostics.Process"
    BASES = ("System.ComponentModel.Component", "System.IDisposable")

    def __init__(self, entry: dict):
        self.entry = entry

    def p_ProcessName(self):
        return self.entry["name"]

    def p_Name(self):
        return self.entry["name"]

    def p_Id(self):
        return v.Int32(self.entry["pid"])

    def p_Path(self):
        return self.entry.get("path")

    def m_ToString(self, *args):
        return "System.Diagnostics.Process (%s)" % self.entry["name"]


def _matches(names, candidates, key):
    """(matched entries in order, names that matched nothing and have no wildcard)."""
    found, missing = [], []
    for name in names:
        pattern = operators.wildcard(name, case_sensitive=False)
        hits = [c for c in candidates if pattern.match(key(c))]
        if not hits and not any(ch in name for ch in "*?["):
            missing.append(name)
        found += [h for h in hits if h not in found]
    return found, missing


def _get_service(call: cmdlets.Call) -> list:
    system = call.ctx.system()
    services = sorted(system["services"].values(), key=lambda s: s["name"].lower())
    names = call.get("Name")
    if names is None:
        return [ServiceController(system, s, call.ctx) for s in services]
    found, missing = _matches(names, services, lambda s: s["name"])
    out = [ServiceController(system, s, call.ctx) for s in found]
    for name in missing:
        call.write_error(dotnet_error("Microsoft.PowerShell.Commands.ServiceCommandException",
                                      "Cannot find any service with service name '%s'." % name),
                         "NoServiceFoundForGivenName", "ObjectNotFound", name)
    return out


def _get_process(call: cmdlets.Call) -> list:
    processes = list(call.ctx.system()["processes"])
    names = call.get("Name")
    if names is None:
        return [Process(p) for p in processes]
    found, missing = _matches(names, processes, lambda p: p["name"])
    out = [Process(p) for p in found]
    for name in missing:
        call.write_error(dotnet_error("Microsoft.PowerShell.Commands.ProcessCommandException",
                                      'Cannot find a process with the name "%s". Verify the process name and call the '
                                      "cmdlet again." % name), "NoProcessFoundForGivenName", "ObjectNotFound", name)
    return out


types.register("System.ServiceProcess.ServiceController")
types.register("System.Diagnostics.Process")
cmdlets.register(cmdlets.Cmdlet("Get-Service", [cmdlets.Param("Name", "System.String[]", position=0,
                                                              aliases=("ServiceName",))],
                                _get_service, "Microsoft.PowerShell.Commands.GetServiceCommand", aliases=("gsv",)))
cmdlets.register(cmdlets.Cmdlet("Get-Process", [cmdlets.Param("Name", "System.String[]", position=0,
                                                              aliases=("ProcessName",))],
                                _get_process, "Microsoft.PowerShell.Commands.GetProcessCommand", aliases=("gps", "ps")))

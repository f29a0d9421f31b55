# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TCP listeners and the Windows Firewall's rules, from the host's ``system.json`` (TEST ONLY).

.NET Framework 4.x and the Windows Firewall COM API:

* ``[System.Net.NetworkInformation.IPGlobalProperties]::GetIPGlobalProperties().GetActiveTcpListeners()``
  (https://learn.microsoft.com/dotnet/api/system.net.networkinformation.ipglobalproperties.getactivetcplisteners):
  one ``System.Net.IPEndPoint`` per listening socket, ``Address`` (``IPAddress``, ``ToString()`` ``0.0.0.0``,
  ``127.0.0.1``, ``::``) and ``Port``. The lab's listeners are ``system.json`` ``tcp_listeners``
  (``{address, port, service}``): a listener of a service exists only while that service runs;
* ``New-Object -ComObject HNetCfg.FwPolicy2`` (``INetFwPolicy2``,
  https://learn.microsoft.com/windows/win32/api/netfw/nn-netfw-inetfwpolicy2): ``CurrentProfileTypes`` (a bit
  mask: 1 domain, 2 private, 4 public), ``FirewallEnabled(<profile>)`` and ``Rules``, each an ``INetFwRule``
  (``Name``, ``Enabled``, ``Direction`` 1 in / 2 out, ``Action`` 0 block / 1 allow, ``Protocol`` 6 TCP / 256 any,
  ``LocalPorts`` and ``LocalAddresses``/``RemoteAddresses`` as strings, ``*`` for any). The lab's firewall is
  ``system.json`` ``firewall`` (``{profiles: {1: true, ...}, current: 1, rules: [...]}``).
"""

from __future__ import annotations

from tests.lab.pwsh import values as v
from tests.lab.pwsh.errors import Unsupported
from tests.lab.pwsh.surface import types


class IPAddress(v.DotNetObject):
    TYPE = "System.Net.IPAddress"

    def __init__(self, text: str):
        self.text = text

    def m_ToString(self, *args):
        return self.text


class IPEndPoint(v.DotNetObject):
    TYPE = "System.Net.IPEndPoint"
    BASES = ("System.Net.EndPoint",)

    def __init__(self, address: str, port: int):
        self.address, self.port = address, port

    def p_Address(self):
        return IPAddress(self.address)

    def p_Port(self):
        return v.Int32(self.port)

    def m_ToString(self, *args):
        return "%s:%d" % (self.address, self.port)


class IPGlobalProperties(v.DotNetObject):
    TYPE = "System.Net.NetworkInformation.IPGlobalProperties"

    def __init__(self, ctx):
        self.ctx = ctx

    def m_GetActiveTcpListeners(self):
        system = self.ctx.system()
        services = system.get("services") or {}
        found = []
        for entry in system.get("tcp_listeners") or []:
            owner = entry.get("service")
            if owner and (services.get(owner.lower()) or {}).get("state") != "started":
                continue
            found.append(IPEndPoint(entry["address"], int(entry["port"])))
        return v.PSArray(found, "System.Net.IPEndPoint")


class FirewallRule(v.DotNetObject):
    TYPE = "System.__ComObject"

    def __init__(self, entry: dict):
        self.entry = entry

    def p_Name(self):
        return self.entry.get("name", "")

    def p_Enabled(self):
        return bool(self.entry.get("enabled", True))

    def p_Direction(self):
        return v.Int32(self.entry.get("direction", 1))

    def p_Action(self):
        return v.Int32(self.entry.get("action", 1))

    def p_Protocol(self):
        return v.Int32(self.entry.get("protocol", 6))

    def p_LocalPorts(self):
        return self.entry.get("local_ports", "*")

    def p_LocalAddresses(self):
        return self.entry.get("local_addresses", "*")

    def p_RemoteAddresses(self):
        return self.entry.get("remote_addresses", "*")


class FirewallPolicy(v.DotNetObject):
    TYPE = "System.__ComObject"

    def __init__(self, ctx):
        self.firewall = ctx.system().get("firewall") or {}

    def p_CurrentProfileTypes(self):
        return v.Int32(self.firewall.get("current", 1))

    def m_FirewallEnabled(self, profile):
        profiles = {str(k): val for k, val in (self.firewall.get("profiles") or {}).items()}
        return bool(profiles.get(str(int(v.to_integer(profile, v.Int32))), True))

    def p_Rules(self):
        return v.PSArray([FirewallRule(r) for r in self.firewall.get("rules") or []])


def _global_properties(ctx):
    return IPGlobalProperties(ctx)


def com_object(ctx, prog_id: str, line: int = 0):
    """``New-Object -ComObject <ProgID>``: only HNetCfg.FwPolicy2."""
    if prog_id.lower() != "hnetcfg.fwpolicy2":
        raise Unsupported("New-Object -ComObject %s" % prog_id, line)
    return FirewallPolicy(ctx)


types.register("System.Net.NetworkInformation.IPGlobalProperties", statics={"GetIPGlobalProperties": _global_properties})
types.register("System.Net.IPEndPoint")
types.register("System.Net.IPAddress")

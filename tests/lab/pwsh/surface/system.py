# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``Stopwatch``, ``TimeSpan``, ``[Enum]::GetNames`` and the credential types a script receives (TEST ONLY).

* ``[System.Diagnostics.Stopwatch]::StartNew()``: ``Elapsed`` (a ``TimeSpan``: ``TotalSeconds``,
  ``TotalMilliseconds``), ``ElapsedMilliseconds`` (Int64), ``Stop()``; the machine's monotonic clock.
* ``[System.Enum]::GetNames([T])``: the member names of an enum of the type table. An enum whose members depend on
  the host's .NET Framework (``SecurityProtocolType.Tls13`` exists from 4.8 on) asks its ``names_for(ctx)``.
* ``PSCredential`` (``UserName``, ``Password``, ``GetNetworkCredential()``) and ``SecureString``: what
  ``win_powershell`` makes of ``sensitive_parameters`` (win_powershell.ps1 lines 811-829: ``username`` and
  ``password`` become a PSCredential, ``value`` a SecureString); ``NetworkCredential`` (``UserName``, ``Password``,
  ``Domain``). A SecureString never prints its value: ``[string]`` of it is its type name, as in .NET.
"""

from __future__ import annotations

import time

from tests.lab.pwsh import values as v
from tests.lab.pwsh.surface import types


class TimeSpan(v.DotNetObject):
    TYPE = "System.TimeSpan"
    BASES = ("System.ValueType",)

    def __init__(self, seconds: float):
        self.seconds = seconds

    def p_TotalSeconds(self):
        return float(self.seconds)

    def p_TotalMilliseconds(self):
        return float(self.seconds * 1000.0)

    def m_ToString(self, *args):
        whole = int(self.seconds)
        return "%02d:%02d:%02d.%07d" % (whole // 3600, whole // 60 % 60, whole % 60,
                                        int(round((self.seconds - whole) * 1e7)))


class Stopwatch(v.DotNetObject):
    TYPE = "System.Diagnostics.Stopwatch"

    def __init__(self):
        self.started = time.monotonic()
        self.stopped = None

    def _seconds(self) -> float:
        return (self.stopped if self.stopped is not None else time.monotonic()) - self.started

    def p_Elapsed(self):
        return TimeSpan(self._seconds())

    def p_ElapsedMilliseconds(self):
        return v.Int64(int(self._seconds() * 1000))

    def p_IsRunning(self):
        return self.stopped is None

    def m_Stop(self):
        if self.stopped is None:
            self.stopped = time.monotonic()


def _get_names(ctx, type_info):
    if not isinstance(type_info, types.TypeInfo) or type_info.enum is None:
        from tests.lab.pwsh.errors import dotnet_error

        raise dotnet_error("System.ArgumentException", "Type provided must be an Enum.\r\nParameter name: enumType")
    names_for = getattr(type_info, "names_for", None)
    names = names_for(ctx) if names_for is not None else list(type_info.enum)
    return v.string_array(names)


class SecureString(v.DotNetObject):
    TYPE = "System.Security.SecureString"
    BASES = ("System.IDisposable",)

    def __init__(self, value: str = ""):
        self._value = value

    def p_Length(self):
        return v.Int32(len(self._value))

    def m_Dispose(self):
        return None


class NetworkCredential(v.DotNetObject):
    TYPE = "System.Net.NetworkCredential"
    BASES = ("System.Net.ICredentials", "System.Net.ICredentialsByHost")

    def __init__(self, user: str, password: str, domain: str = ""):
        self.user, self.password, self.domain = user, password, domain

    def p_UserName(self):
        return self.user

    def p_Password(self):
        return self.password

    def p_Domain(self):
        return self.domain


class PSCredential(v.DotNetObject):
    TYPE = "System.Management.Automation.PSCredential"

    def __init__(self, user: str, password: SecureString):
        self.user, self.password = user, password

    def p_UserName(self):
        return self.user

    def p_Password(self):
        return self.password

    def m_GetNetworkCredential(self):
        # PSCredential.GetNetworkCredential splits "DOMAIN\user" and "user@domain" (no domain is "").
        user, domain = self.user, ""
        if "\\" in user:
            domain, user = user.split("\\", 1)
        return NetworkCredential(user, self.password._value, domain)


def _network_credential(ctx, *args):
    texts = [v.to_string(a) for a in args]
    return NetworkCredential(*(texts + ["", ""])[:3])


def _ps_credential(ctx, user, password):
    if not isinstance(password, SecureString):
        raise v._cast_error(password, SecureString.TYPE)
    return PSCredential(v.to_string(user), password)


types.register(Stopwatch.TYPE, statics={"StartNew": lambda ctx: Stopwatch()}, new=lambda ctx: Stopwatch())
types.register(TimeSpan.TYPE, aliases=("timespan",))
types.register("System.Enum", statics={"GetNames": _get_names})
types.register(SecureString.TYPE, aliases=("securestring",), new=lambda ctx: SecureString())
types.register(NetworkCredential.TYPE, new=_network_credential, bases=NetworkCredential.BASES)
types.register("System.Net.ICredentials")
types.register(PSCredential.TYPE, aliases=("pscredential",), new=_ps_credential)

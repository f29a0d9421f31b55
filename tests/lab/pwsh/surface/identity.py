# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``WindowsIdentity`` and ``WindowsPrincipal`` for the account the script runs as (TEST ONLY).

``[Security.Principal.WindowsIdentity]::GetCurrent()`` is the connection user, or the account a become switched
to (``ATP_LAB_BECOME_USER``); ``Name`` is ``DOMAIN\\name``, ``User.Value`` the SID.
``([Security.Principal.WindowsPrincipal]$identity).IsInRole([Security.Principal.WindowsBuiltInRole]::
Administrator)`` is true when BUILTIN\\Administrators is enabled in the token
(https://learn.microsoft.com/dotnet/api/system.security.principal.windowsprincipal.isinrole?view=netframework-4.8):
for SYSTEM, and for the connection user unless the lab's ``not_admin`` fault is set; LocalService and
NetworkService are not members.
"""

from __future__ import annotations

from tests.lab.pwsh import values as v
from tests.lab.pwsh.surface import types

SID_SYSTEM = "S-1-5-18"
ROLE = types.register("System.Security.Principal.WindowsBuiltInRole", enum={
    "Administrator": 544, "User": 545, "Guest": 546, "PowerUser": 547, "AccountOperator": 548,
    "SystemOperator": 549, "PrintOperator": 550, "BackupOperator": 551, "Replicator": 552})


class SecurityIdentifier(v.DotNetObject):
    TYPE = "System.Security.Principal.SecurityIdentifier"
    BASES = ("System.Security.Principal.IdentityReference",)

    def __init__(self, sid: str):
        self.sid = sid

    def p_Value(self):
        return self.sid

    def m_ToString(self, *args):
        return self.sid


class WindowsIdentity(v.DotNetObject):
    TYPE = "System.Security.Principal.WindowsIdentity"
    BASES = ("System.Security.Claims.ClaimsIdentity", "System.IDisposable")

    def __init__(self, ctx):
        self.ctx = ctx

    def p_Name(self):
        return "%s\\%s" % (self.ctx.account["domain"], self.ctx.account["name"])

    def p_User(self):
        return SecurityIdentifier(self.ctx.account["sid"])

    def p_IsSystem(self):
        return self.ctx.account["sid"] == SID_SYSTEM

    def m_Dispose(self):
        return None


class WindowsPrincipal(v.DotNetObject):
    TYPE = "System.Security.Principal.WindowsPrincipal"
    BASES = ("System.Security.Claims.ClaimsPrincipal",)

    def __init__(self, identity: WindowsIdentity):
        self.identity = identity

    def p_Identity(self):
        return self.identity

    def m_IsInRole(self, role):
        role = ROLE.convert(role)
        if role.name != "Administrator":
            return role.name == "User"
        ctx = self.identity.ctx
        state = ctx.state()
        if ctx.account["sid"] == state["user"]["sid"]:
            return not state["faults"].get("not_admin")
        return ctx.account["sid"] == SID_SYSTEM


def _principal(ctx, value):
    if isinstance(value, WindowsPrincipal) or value is None:
        return value
    if isinstance(value, WindowsIdentity):
        return WindowsPrincipal(value)
    raise v._cast_error(value, WindowsPrincipal.TYPE)


types.register(WindowsIdentity.TYPE, statics={"GetCurrent": lambda ctx, *args: WindowsIdentity(ctx)})
types.register(WindowsPrincipal.TYPE, convert=_principal, new=_principal)
types.register(SecurityIdentifier.TYPE)

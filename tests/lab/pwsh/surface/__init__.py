# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The .NET types and cmdlets a script can reach, backed by the lab's host state (TEST ONLY).

Each module registers its types (``types.register``) and cmdlets (``cmdlets.register``) when imported:

==============  ==========================================================================================
``registry``    ``[Microsoft.Win32.Registry]``, ``RegistryKey`` (read ACLs, unloaded hives, signed numbers)
``files``       ``[System.IO.File]``/``Directory``/``Path``, ``FileStream``, ``Test-Path`` (file locks,
                ``FileMode.CreateNew``, the ``Cert:`` drive, registry paths)
``crypto``      hashing (the FIPS policy), ``[Convert]``, ``[BitConverter]``
``services``    ``Get-Service``, ``Get-Process`` and their objects
``identity``    ``WindowsIdentity``, ``WindowsPrincipal``
``system``      ``Stopwatch``, ``TimeSpan``, ``[Enum]::GetNames``, ``PSCredential``, ``SecureString``,
                ``NetworkCredential``
``web``         ``HttpWebRequest``, ``WebProxy``, ``HttpWebResponse``, ``WebException``, the validation callback
                and its ``X509Certificate2``/``X509Chain``, ``ServicePointManager`` (the lab's real network,
                through ``tests/lab/web.py``)
``runspaces``   ``InitialSessionState``, ``RunspaceFactory``/``RunspacePool``, ``PowerShell``
                (``BeginInvoke``/``EndInvoke`` on threads, one interpreter session per runspace)
``network``     ``IPGlobalProperties`` (TCP listeners), ``New-Object -ComObject HNetCfg.FwPolicy2`` (firewall rules)
==============  ==========================================================================================

A new area (a log reader's cmdlets) is one more module here, imported below; the interpreter does not change.
"""

from __future__ import annotations

from tests.lab import state as lab_state


class HostContext:
    """What the surface needs from the lab: the host, the account the script runs as, check mode."""

    def __init__(self, host, account: dict, check_mode: bool = False):
        self.host = host
        self.account = account
        self.check_mode = check_mode
        self.st = lab_state
        self._state = None
        self.slept = 0.0  # Start-Sleep's seconds: counted, never slept (see now())

    def now(self) -> float:
        """The script's clock: the real time plus what ``Start-Sleep`` asked for. A script that waits 60 seconds
        runs at once in the lab, and what changes with time (the ``service_stops_again`` fault) sees the 60 seconds."""
        import time

        return time.time() + self.slept

    def state(self) -> dict:
        """The host's state.json, read once per run (our scripts read the registry; they never write it), with
        the services' registry keys (``system_state.with_service_keys``)."""
        if self._state is None:
            from tests.lab import system_state

            self._state = system_state.with_service_keys(self.host.state(), self.system())
        return self._state

    def registry(self):
        return lab_state.Registry(self.state(), self.account["sid"])

    def system(self) -> dict:
        from tests.lab import system_state

        return system_state.read(self.host)


# They register their types and cmdlets.
from tests.lab.pwsh.surface import (  # noqa: E402,F401
    crypto,
    files,
    identity,
    network,
    registry,
    runspaces,
    services,
    system,
    web,
)

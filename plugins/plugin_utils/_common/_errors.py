# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The errors every layer of the collection raises, and how the action plugins report them.

Pure Python, no Ansible imports.

* :class:`UsageError`: bad options or role variables. The message names the option and the fix;
  nothing was done on the host.
* :class:`RemoteError`: an ``ansible.windows`` module failed on the host.
* :class:`ChangeError`: a change failed part way; ``details`` (what was written, rolled back, the
  backup) go into the task result next to ``msg``.
* :class:`Disconnected`: the executor's translation of Ansible's ``AnsibleConnectionFailure``, so
  that pure code can tell a dropped connection from a failed module without importing Ansible.
* :class:`ConnectionDropped`: the connection to the host broke during a change; ``details`` say
  what had been done before. The action turns it into an ``unreachable`` result that keeps them.
"""

from __future__ import annotations


class UsageError(ValueError):
    """Bad module options or role variables. The message names the variable and the fix."""


class RemoteError(Exception):
    """An ``ansible.windows`` module call that failed on the host."""

    def __init__(self, module: str, args: dict, result: dict):
        self.module = module
        self.args = args
        self.result = result
        where = args.get("path") or args.get("dest") or args.get("src") or ""
        joined = (" " + where) if where.startswith("reading ") else (" of %s" % where if where else "")
        super().__init__("%s%s failed on the host: %s" % (module, joined, result.get("msg") or "no message"))

    @property
    def remote_msg(self) -> str:
        return str(self.result.get("msg") or "no message")


class ChangeError(Exception):
    """A change that failed part way; ``details`` go into the task result."""

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.details = details


class ConnectionDropped(Exception):
    """The connection broke in the middle of a change; ``details`` record what had been done."""

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.details = details


class Disconnected(Exception):
    """The connection to the host broke (Ansible's AnsibleConnectionFailure, seen by pure code)."""

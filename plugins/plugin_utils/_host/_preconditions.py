# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What must hold before any write path changes a host, stated once for every part (WinINet, Defender for
Endpoint, the sensor's file, the .NET TLS values):

* :func:`require_administrator`: the connection user is an enabled member of BUILTIN\\Administrators
  (S-1-5-32-544), as the one state query reports it (``win_whoami``'s groups, :mod:`_host._state_query`). HKU\\<SID>
  of another account, HKLM and the sensor's folder deny a standard user, so the part refuses before its backup
  rather than half-writing the host.
* :func:`nothing_written_on_drop`: a connection that breaks (:class:`_common._errors.Disconnected`) before a part's
  first write becomes :class:`_common._errors.ConnectionDropped` with details saying nothing was written, so the
  summary can tell a dropped connection from a success and a rerun knows it starts over.

Pure Python, no Ansible imports.
"""

from __future__ import annotations

from contextlib import contextmanager

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import (
    ChangeError,
    ConnectionDropped,
    Disconnected,
)

ADMINISTRATORS = "S-1-5-32-544"
HOW_TO_FIX = "Connect as an administrator, or use become with ansible.builtin.runas."
RERUN_COMPARES = "A rerun compares first, so it finishes the change or reports the host in sync."


def require_administrator(user: dict | None, needs: str, sid: bool = True, fix: str = HOW_TO_FIX) -> None:
    """Raise :class:`ChangeError` (``changed: false``) unless ``user`` (the state query's ``user``: ``name``,
    ``administrator``) is an administrator; ``needs`` completes "<user> is not ..., and <needs>. Nothing was changed."
    ``sid``: name the group's SID too; ``fix``: the sentence that says what to do ('' for none)."""
    user = user or {}
    if user.get("administrator"):
        return
    raise ChangeError("%s is not an enabled member of BUILTIN\\Administrators%s, and %s. Nothing was changed.%s"
                      % (user.get("name") or "The connection user", " (%s)" % ADMINISTRATORS if sid else "", needs,
                         " " + fix if fix else ""), changed=False)


def dropped_before_write(exc: Exception, unchanged: str = "Nothing was written to the registry.",
                         rerun: str = RERUN_COMPARES, **details) -> ConnectionDropped:
    """The :class:`ConnectionDropped` of a connection lost before the first write: ``unchanged`` and ``rerun`` are
    the part's own sentences; ``details`` add to ``written``, ``maybe_written``, ``backup_file``, ``dropped_at`` and
    ``changed``."""
    fields = dict(written=[], maybe_written=[], backup_file="", dropped_at="before the change", changed=False)
    fields.update(details)
    return ConnectionDropped("The connection to the host dropped before anything was written (%s). %s %s"
                             % (exc, unchanged, rerun), **fields)


@contextmanager
def nothing_written_on_drop(unchanged: str = "Nothing was written to the registry.", rerun: str = RERUN_COMPARES,
                            **details):
    """``with nothing_written_on_drop(...):`` the steps before a part's first write; a :class:`Disconnected` inside
    becomes :func:`dropped_before_write`'s error."""
    try:
        yield
    except Disconnected as exc:
        raise dropped_before_write(exc, unchanged, rerun, **details) from None

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules every write path checks before it writes: administrator rights and a drop before the first write."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import (
    ChangeError,
    ConnectionDropped,
    Disconnected,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _preconditions as preconditions


def test_an_administrator_passes():
    preconditions.require_administrator({"name": "CORP\\admin", "administrator": True}, "x needs rights")


def test_a_standard_user_is_refused_with_the_user_the_need_and_the_fix():
    with pytest.raises(ChangeError) as caught:
        preconditions.require_administrator({"name": "CORP\\helpdesk", "administrator": False},
                                            "writing HKLM needs local administrator rights")
    assert str(caught.value) == (
        "CORP\\helpdesk is not an enabled member of BUILTIN\\Administrators (S-1-5-32-544), and writing HKLM needs "
        "local administrator rights. Nothing was changed. Connect as an administrator, or use become with "
        "ansible.builtin.runas.")
    assert caught.value.details == {"changed": False}


def test_an_unknown_user_is_named_as_the_connection_user():
    with pytest.raises(ChangeError, match=r"^The connection user is not an enabled member"):
        preconditions.require_administrator(None, "y")


def test_a_drop_before_the_first_write_says_nothing_was_written():
    with pytest.raises(ConnectionDropped) as caught:
        with preconditions.nothing_written_on_drop("C:\\x.json was not changed.", "A rerun reads the file first.",
                                                   restarted=[]):
            raise Disconnected("WinRM: connection reset")
    assert str(caught.value) == ("The connection to the host dropped before anything was written (WinRM: connection "
                                 "reset). C:\\x.json was not changed. A rerun reads the file first.")
    assert caught.value.details == {"written": [], "maybe_written": [], "backup_file": "", "restarted": [],
                                    "dropped_at": "before the change", "changed": False}


def test_other_errors_pass_through_unchanged():
    with pytest.raises(ChangeError, match="^boom$"):
        with preconditions.nothing_written_on_drop():
            raise ChangeError("boom")

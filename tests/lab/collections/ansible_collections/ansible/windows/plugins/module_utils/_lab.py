# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared code of the lab's stand-in ansible.windows modules (TEST ONLY).

The host state lives in ``tests/lab/state.py`` of the atp.sensor_proxy checkout; the lab
fixture exports its location as ``ATP_LAB_REPO`` and every module process inherits it.
"""

from __future__ import annotations

import os
import sys


def lab_state():
    """Import ``tests.lab.state`` from the checkout named by ``ATP_LAB_REPO``."""
    repo = os.environ.get("ATP_LAB_REPO")
    if not repo:
        raise RuntimeError("ATP_LAB_REPO is not set: this stand-in only runs inside the atp.sensor_proxy lab")
    if repo not in sys.path:
        sys.path.insert(0, repo)
    from tests.lab import state  # noqa: E402  (path set just above)

    return state


def context(module):
    """(state module, Host, account dict) of the calling module, failing the module cleanly outside the lab."""
    try:
        st = lab_state()
        host = st.current_host()
        account = st.current_account(host)
    except Exception as exc:  # the lab is misconfigured: say so instead of a traceback
        module.fail_json(msg="lab stand-in cannot find its emulated host: %s" % exc)
    return st, host, account


# .NET RegistryValueKind names (win_regedit diff 'type', win_regedit.ps1 line 181: $Type.ToString()).
DOTNET_KIND = {
    "REG_NONE": "None",
    "REG_SZ": "String",
    "REG_EXPAND_SZ": "ExpandString",
    "REG_BINARY": "Binary",
    "REG_DWORD": "DWord",
    "REG_MULTI_SZ": "MultiString",
    "REG_QWORD": "QWord",
}
MODULE_TYPE = {
    "none": "REG_NONE",
    "string": "REG_SZ",
    "expandstring": "REG_EXPAND_SZ",
    "binary": "REG_BINARY",
    "dword": "REG_DWORD",
    "multistring": "REG_MULTI_SZ",
    "qword": "REG_QWORD",
}


def stored_to_python(value: dict):
    """Stored value -> the .NET object GetValue() returns (bytes for binary)."""
    if value["type"] in ("REG_BINARY", "REG_NONE"):
        return bytes.fromhex(value["data"])
    return value["data"]


# Accounts the stand-ins resolve (Convert-ToSID / ConvertTo-AnsibleWindowsSecurityIdentifier accept a SID string
# or an account name): SID -> the English name Windows shows.
KNOWN_ACCOUNTS = {
    "S-1-5-18": "NT AUTHORITY\\SYSTEM",
    "S-1-5-19": "NT AUTHORITY\\LOCAL SERVICE",
    "S-1-5-20": "NT AUTHORITY\\NETWORK SERVICE",
    "S-1-5-32-544": "BUILTIN\\Administrators",
    "S-1-5-32-545": "BUILTIN\\Users",
}
_NAME_ALIASES = {"system": "S-1-5-18", "administrators": "S-1-5-32-544", "users": "S-1-5-32-545"}


def account_sid(user):
    """A SID string or an account name -> SID, or None when it does not resolve."""
    text = (user or "").strip()
    if text.upper() in KNOWN_ACCOUNTS:
        return text.upper()
    for sid, name in KNOWN_ACCOUNTS.items():
        if text.lower() == name.lower():
            return sid
    return _NAME_ALIASES.get(text.split("\\")[-1].lower())


def account_name(user):
    sid = account_sid(user)
    return KNOWN_ACCOUNTS.get(sid) if sid else None

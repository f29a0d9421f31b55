# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared code of the lab's stand-in ansible.windows modules (TEST ONLY).

The host state lives in ``tests/lab/state.py`` of the atp.sensor_proxy checkout; the lab
fixture exports its location as ``ATP_LAB_REPO`` and every module process inherits it.
"""

from __future__ import annotations

import json
import os
import re
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


# ---------------------------------------------------------------------------------------------------------------
# become: ansible-core 2.19's runas, before any module runs
# ---------------------------------------------------------------------------------------------------------------
# become_user names NTAccount.Translate (LookupAccountName) resolves for the service accounts: the LSA names
# with or without "NT AUTHORITY\", and the forms Ansible documents for runas (System, LocalService,
# NetworkService). Not a SID string, not "LocalSystem" (Microsoft: the name "is not recognized by the security
# subsystem"). The connection user's own name works too.
RUNAS_NAMES = {"system", "local service", "localservice", "network service", "networkservice"}
SID_RE = re.compile(r"^S-1-\d+(-\d+)+$", re.I)
BECOME_FAILURES = {
    "account": ("Some or all identity references could not be translated.", "IdentityNotMappedException"),
    "seclogon_disabled": ("CreateProcessWithTokenW() failed (The service cannot be started, either because it is "
                          "disabled or because it has no enabled devices associated with it, Win32ErrorCode 1058)",
                          "Win32Exception"),
    "no_system_token": ("Failed to get token for NT AUTHORITY\\SYSTEM required for become as a service account or an "
                        "account without a password", "Exception"),
}


def exec_wrapper_failure(message, error_id):
    """What ansible-core's exec wrapper prints when become fails (exec_wrapper.ps1 Write-AnsibleErrorJson)."""
    record = 'Exception calling "CreateProcessAsUser" with "9" argument(s): "%s"' % message
    exception = "\r\n".join([
        record,
        "At line:103 char:1",
        "+ $result = [Ansible.Become.BecomeUtil]::CreateProcessAsUser(",
        "+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
        "+ CategoryInfo          : NotSpecified: (:) [], MethodInvocationException",
        "+ FullyQualifiedErrorId : %s" % error_id,
        "",
        "ScriptStackTrace:",
        "at <ScriptBlock>, <No file>: line 103",
    ])
    sys.stdout.write(json.dumps({"failed": True, "msg": "failure during exec_wrapper: %s" % record,
                                 "exception": exception}) + "\n")
    sys.stdout.flush()
    sys.exit(1)


def check_become(st, host, faults):
    """Fail as runas does, before the module would run, when the become step cannot work."""
    user = os.environ.get(st.ENV_BECOME_USER)
    if not user:
        return
    text = user.strip()
    short = text[2:] if text.startswith(".\\") else text
    if short.upper().startswith("NT AUTHORITY\\"):
        short = short.split("\\", 1)[1]
    known = short.lower() in RUNAS_NAMES or short.lower() == host.user["name"].lower()
    if SID_RE.match(text) or not known:
        exec_wrapper_failure(*BECOME_FAILURES["account"])
    fault = faults.get("become")
    if fault in BECOME_FAILURES:
        exec_wrapper_failure(*BECOME_FAILURES[fault])


def become_gate():
    """runas runs before the module: a become that cannot work fails before the module parses anything (the
    stand-ins the probe runs with become call this first: win_uri, win_powershell). Faults: lab.json
    ``win_uri_faults`` ``become`` (tests/lab/network.py ``set_win_uri_fault``)."""
    try:
        st = lab_state()
        host = st.current_host()
        faults = dict((host.lab.config().get("win_uri_faults") or {}).get(host.name) or {})
    except Exception:  # the lab is misconfigured: context() reports it once the module exists
        return
    check_become(st, host, faults)


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

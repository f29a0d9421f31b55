# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service accounts the Defender sensors run as: the one account table of the collection.

Pure Python, no Ansible imports. Everything that turns an account name into a SID, a registry
path, a profile folder or a ``become_user`` goes through here: the compare and write plugins, the
probe, the restore, the summary, the fleet report and the role (through the
``atp.sensor_proxy.account_info`` and ``account_problems`` filters).

Two kinds of names are accepted, for two different consumers:

* **registry targets** (``targets``, ``source_sid``): a SID, or any name Windows uses for a
  well-known service account, the Service Control Manager's included (``LocalSystem``,
  ``NT AUTHORITY\\LocalService``, ...). These only select ``HKU\\<SID>``.
* **become accounts** (the probe's ``runas`` user): only names that ``ansible.builtin.runas``
  can log on as. Its ``Ansible.Become.cs`` (ansible-core 2.19, ``GetUserTokens``) translates
  ``become_user`` with ``new NTAccount(username).Translate(typeof(SecurityIdentifier))``, i.e.
  ``LookupAccountName``. That knows ``SYSTEM``, ``LOCAL SERVICE`` and ``NETWORK SERVICE``, with or
  without ``NT AUTHORITY\\``, and Ansible documents ``System``, ``LocalService`` and
  ``NetworkService`` as become users (playbooks_privilege_escalation.rst, "Local service
  accounts"). It does not know a SID string, nor ``LocalSystem``: Microsoft's "LocalSystem
  account" page says that name "is not recognized by the security subsystem, so you cannot
  specify its name in a call to the LookupAccountName function".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SID_PATTERN = re.compile(r"^S-1-\d{1,13}(-\d{1,10}){1,15}$", re.IGNORECASE)

CONNECTIONS_SUBKEY = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"


@dataclass(frozen=True)
class Account:
    """A well-known service account."""

    sid: str
    name: str  # the collection's display name
    lsa_name: str  # what LookupAccountSid returns (English); whoami shows it
    become_user: str  # the become_user Ansible documents for runas
    profile: str  # the profile folder
    loadable: bool  # its hive can be loaded from <profile>\NTUSER.DAT when no service runs as it
    registry_names: tuple  # lower-case names accepted as registry targets
    become_names: tuple  # lower-case names runas (LookupAccountName) accepts

    @property
    def hive_file(self) -> str:
        return self.profile + "\\NTUSER.DAT"

    def to_dict(self) -> dict:
        return {
            "sid": self.sid,
            "name": self.name,
            "lsa_name": self.lsa_name,
            "become_user": self.become_user,
            "profile": self.profile,
            "hive_file": self.hive_file if self.loadable else "",
            "loadable": self.loadable,
            "connections_path": connections_path(self.sid),
        }


def _names(*names: str) -> tuple:
    return tuple(n.lower() for n in names)


SYSTEM = Account(
    sid="S-1-5-18",
    name="LocalSystem",
    lsa_name="NT AUTHORITY\\SYSTEM",
    become_user="SYSTEM",
    # The SYSTEM hive (HKU\S-1-5-18) is loaded from the SYSTEM profile at boot and never unloaded.
    profile="C:\\Windows\\System32\\config\\systemprofile",
    loadable=False,
    registry_names=_names("LocalSystem", ".\\LocalSystem", "SYSTEM", "NT AUTHORITY\\SYSTEM", "Local System"),
    become_names=_names("SYSTEM", "NT AUTHORITY\\SYSTEM"),
)
LOCAL_SERVICE = Account(
    sid="S-1-5-19",
    name="LocalService",
    lsa_name="NT AUTHORITY\\LOCAL SERVICE",
    become_user="LocalService",
    profile="C:\\Windows\\ServiceProfiles\\LocalService",
    loadable=True,
    registry_names=_names("LocalService", "Local Service", "NT AUTHORITY\\LocalService", "NT AUTHORITY\\Local Service"),
    become_names=_names("LocalService", "Local Service", "NT AUTHORITY\\LocalService", "NT AUTHORITY\\Local Service"),
)
NETWORK_SERVICE = Account(
    sid="S-1-5-20",
    name="NetworkService",
    lsa_name="NT AUTHORITY\\NETWORK SERVICE",
    become_user="NetworkService",
    profile="C:\\Windows\\ServiceProfiles\\NetworkService",
    loadable=True,
    registry_names=_names(
        "NetworkService", "Network Service", "NT AUTHORITY\\NetworkService", "NT AUTHORITY\\Network Service"
    ),
    become_names=_names(
        "NetworkService", "Network Service", "NT AUTHORITY\\NetworkService", "NT AUTHORITY\\Network Service"
    ),
)
ACCOUNTS = (SYSTEM, LOCAL_SERVICE, NETWORK_SERVICE)
BY_SID = {a.sid: a for a in ACCOUNTS}
_BY_REGISTRY_NAME = {n: a for a in ACCOUNTS for n in a.registry_names}
_BY_BECOME_NAME = {n: a for a in ACCOUNTS for n in a.become_names}

# The accounts of a Defender for Identity sensor v2: the sensor (AATPSensor) runs as LocalService,
# its updater (AATPSensorUpdater) as LocalSystem.
SENSOR_TARGETS = (SYSTEM.sid, LOCAL_SERVICE.sid)
ADMINISTRATORS_SID = "S-1-5-32-544"


# The machine-wide WinINet setting, as a registry target of its own: under the ProxySettingsPerUser=0 policy
# (HKLM\SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\Internet Settings) WinINet reads every account's
# proxy from HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections instead of
# HKU\<SID>\... (ATADocs ATPDocs/deploy/configure-proxy.md, docs/dev/sensor_sources.md). Not a SID: the
# compare, the backup, the reg import, the read back and the restore take it like one.
MACHINE = "HKLM"
MACHINE_NAME = "machine-wide"
# The same key as the state query reads it and the results name it: the ProxySettingsPerUser=0 target, and the
# home of the machine-wide WinHTTP proxy (WinHttpSettings, which ``netsh winhttp`` and win_http_proxy write).
MACHINE_CONNECTIONS = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
_MACHINE_NAMES = ("hklm", "machine", "machine-wide", "hkey_local_machine")


class AccountError(ValueError):
    """A name that is not an account of the kind asked for. The message names the variable."""


def _text(name) -> str:
    return name.strip() if isinstance(name, str) else ""


def canonical_sid(text: str) -> str | None:
    """``s-1-5-19`` -> ``S-1-5-19``; None when ``text`` is not a SID string."""
    text = _text(text)
    return "S" + text[1:].upper() if SID_PATTERN.match(text) else None


def lookup(name) -> Account | None:
    """The well-known account a registry name or SID denotes, else None."""
    text = _text(name)
    sid = canonical_sid(text)
    if sid:
        return BY_SID.get(sid)
    return _BY_REGISTRY_NAME.get(text.lower())


def expected_proxy(expected, account) -> str:
    """The proxy ``account`` (a name or SID) uses, from ``expected`` (SID -> proxy, as
    :func:`_fleet._summary.expected_proxies` gives it); under ``ProxySettingsPerUser=0`` the machine-wide value
    (:data:`MACHINE`) is every account's. '' when it cannot be known (not a well-known account, a PAC script or WPAD
    decides, or the account is no target)."""
    known = lookup(account) if account else None
    if known is None:
        return ""
    return str(expected.get(known.sid) or expected.get(MACHINE) or "")


def resolve_sid(name, variable: str = "targets") -> str:
    """A registry target (SID or well-known name) -> canonical SID. Raises AccountError naming ``variable``."""
    text = _text(name)
    if not text:
        raise AccountError("%s: %r is not a SID or account name" % (variable, name))
    sid = canonical_sid(text)
    if sid:
        return sid
    account = _BY_REGISTRY_NAME.get(text.lower())
    if account:
        return account.sid
    if text.lower() in _MACHINE_NAMES:
        return MACHINE
    raise AccountError(
        "%s: %r is neither a SID (such as S-1-5-19) nor one of %s (or HKLM, the machine-wide setting)"
        % (variable, text, ", ".join(a.name for a in ACCOUNTS))
    )


def is_target(ident) -> bool:
    """A canonical registry target: a SID string, or :data:`MACHINE`."""
    return ident == MACHINE or bool(canonical_sid(ident or ""))


def resolve_become(name, variable: str = "atp_proxy_probe_accounts") -> Account:
    """A probe account -> Account, accepting only names ``runas`` can log on as. Raises AccountError."""
    text = _text(name)
    account = _BY_BECOME_NAME.get(text.lower())
    if account:
        return account
    known = lookup(text)
    allowed = "SYSTEM, LocalService or NetworkService (NT AUTHORITY\\... forms work too)"
    if known is not None:
        raise AccountError(
            "%s: %r cannot be a become_user: ansible.builtin.runas looks the name up with LookupAccountName, "
            "which does not know it; use %r (%s)" % (variable, text, known.become_user, allowed)
        )
    raise AccountError("%s: %r is not a service account runas can become; use %s" % (variable, text or name, allowed))


def become_account(name) -> Account | None:
    """The well-known account a ``become_user`` name logs on as (the names runas accepts), else None (another
    account, e.g. a domain user, whose SID only the host knows)."""
    return _BY_BECOME_NAME.get(_text(name).lower())


def account_name(sid: str) -> str:
    """Display name of a SID (LocalSystem, LocalService, NetworkService), or the SID itself."""
    if sid == MACHINE:
        return MACHINE_NAME
    account = BY_SID.get(canonical_sid(sid) or "")
    return account.name if account else sid


def label(sid: str) -> str:
    """``LocalService (S-1-5-19)``, or the SID alone for other accounts."""
    name = account_name(sid)
    return "%s (%s)" % (name, sid) if name != sid else sid


def connections_path(sid: str | None) -> str:
    """``win_reg_stat`` / ``win_regedit`` path of the WinINet Connections key (HKCU when ``sid`` is None)."""
    if sid is None:
        return "HKCU:\\" + CONNECTIONS_SUBKEY
    if sid == MACHINE:
        return "HKLM:\\" + CONNECTIONS_SUBKEY
    return "HKU:\\%s\\%s" % (sid, CONNECTIONS_SUBKEY)


def connections_reg_key(sid: str) -> str:
    """The same key as ``.reg`` files and ``reg.exe`` spell it."""
    if sid == MACHINE:
        return "HKEY_LOCAL_MACHINE\\" + CONNECTIONS_SUBKEY
    return "HKEY_USERS\\%s\\%s" % (sid, CONNECTIONS_SUBKEY)


# HKEY_USERS\.DEFAULT is not the default user: it is LocalSystem's profile, an alias of HKEY_USERS\S-1-5-18
# (Raymond Chen, "The .Default user is not the default user", The Old New Thing, 2007-03-02).
DEFAULT_HIVE = ".DEFAULT"


def sid_of_reg_key(key: str) -> str | None:
    """``HKEY_USERS\\S-1-5-19\\...\\Connections`` (any case, ``HKU`` too) -> ``S-1-5-19``; ``HKEY_USERS\\.DEFAULT\\...``
    -> ``S-1-5-18`` (:data:`DEFAULT_HIVE`); the machine-wide ``HKEY_LOCAL_MACHINE\\...\\Connections`` ->
    :data:`MACHINE`; None for other keys (``HKEY_CURRENT_USER`` among them: whose it is depends on who exported it)."""
    machine = re.match(r"^(?:HKEY_LOCAL_MACHINE|HKLM:?)\\(.*)$", _text(key), re.IGNORECASE)
    if machine:
        return MACHINE if machine.group(1).lower() == CONNECTIONS_SUBKEY.lower() else None
    match = re.match(r"^(?:HKEY_USERS|HKU:?)\\([^\\]+)\\(.*)$", _text(key), re.IGNORECASE)
    if not match or match.group(2).lower() != CONNECTIONS_SUBKEY.lower():
        return None
    if match.group(1).lower() == DEFAULT_HIVE.lower():
        return SYSTEM.sid
    return canonical_sid(match.group(1))


def is_connections_key(key: str) -> bool:
    """Any root's ``...\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections`` key."""
    return _text(key).lower().rstrip("\\").endswith("\\" + CONNECTIONS_SUBKEY.lower())


def hive_to_load(sid: str) -> tuple | None:
    """(``HKU\\<SID>``, profile NTUSER.DAT) for a hive that can be loaded from its profile, else None."""
    account = BY_SID.get(sid)
    if account is None or not account.loadable:
        return None
    return "HKU\\" + sid, account.hive_file


def problems(names, variable: str, kind: str = "registry") -> list:
    """Messages for the entries of ``names`` that are not accounts of ``kind`` (``registry`` or ``become``)."""
    items = names if isinstance(names, (list, tuple)) else [names]
    out = []
    for item in items:
        try:
            if kind == "become":
                resolve_become(item, variable)
            else:
                resolve_sid(item, variable)
        except AccountError as exc:
            out.append(str(exc))
    return out


def info(name, kind: str = "registry") -> dict:
    """Everything the collection knows about an account: ``{sid, name, become_user, profile, ...}``.

    For a SID that is not a well-known service account, only ``sid``, ``name`` (the SID) and the
    Connections path are known.
    """
    if kind == "become":
        return resolve_become(name, "account").to_dict()
    sid = resolve_sid(name, "account")
    account = BY_SID.get(sid)
    if account:
        return account.to_dict()
    return {"sid": sid, "name": sid, "lsa_name": "", "become_user": "", "profile": "", "hive_file": "",
            "loadable": False, "connections_path": connections_path(sid)}

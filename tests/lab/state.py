# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persistent state of the emulated Windows hosts.

A *lab* is a directory::

    <lab>/lab.json                 lab-wide settings: the DCs' DNS map, the proxy's DNS map, CA file
    <lab>/hosts/<name>/state.json  registry hives, hive load state, profile files, faults
    <lab>/hosts/<name>/ledger.json module executions (remote round trips) per module and per task
    <lab>/hosts/<name>/fs/C/...    the host's file system (case-insensitive lookups, like NTFS)

Every read-modify-write takes an ``fcntl`` lock on the file, so parallel forks of
``ansible-playbook`` (and the test process) can share a host safely.

No Ansible imports: the stand-in modules, the connection plugin, the CLI and the
tests all use this module.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import re
import sys
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CODEC_PATH = REPO_ROOT / "plugins" / "plugin_utils" / "_wininet" / "_codec.py"

# Environment passed from the fixture to ansible-playbook and from there to every module process.
ENV_LAB_DIR = "ATP_LAB_DIR"
ENV_REPO = "ATP_LAB_REPO"
ENV_HOST = "ATP_LAB_HOST"  # set per command by the lab connection plugin
ENV_BECOME_USER = "ATP_LAB_BECOME_USER"  # set per command by the lab become plugin
ENV_CA_FILE = "ATP_LAB_CA_FILE"  # the emulated machine trust store (PEM)

SID_SYSTEM = "S-1-5-18"
SID_LOCAL_SERVICE = "S-1-5-19"
SID_NETWORK_SERVICE = "S-1-5-20"
SID_ADMINISTRATORS = "S-1-5-32-544"
DEFAULT_USER_SID = "S-1-5-21-1000-1000-1000-500"
DEFAULT_USER = {"domain": "CORP", "name": "ansible-admin", "sid": DEFAULT_USER_SID}

SERVICE_ACCOUNTS = {
    SID_SYSTEM: {"domain": "NT AUTHORITY", "name": "SYSTEM", "profile": r"C:\Windows\system32\config\systemprofile"},
    SID_LOCAL_SERVICE: {
        "domain": "NT AUTHORITY",
        "name": "LOCAL SERVICE",
        "profile": r"C:\Windows\ServiceProfiles\LocalService",
    },
    SID_NETWORK_SERVICE: {
        "domain": "NT AUTHORITY",
        "name": "NETWORK SERVICE",
        "profile": r"C:\Windows\ServiceProfiles\NetworkService",
    },
}
ACCOUNT_ALIASES = {
    "system": SID_SYSTEM,
    "localsystem": SID_SYSTEM,
    "local system": SID_SYSTEM,
    "localservice": SID_LOCAL_SERVICE,
    "local service": SID_LOCAL_SERVICE,
    "networkservice": SID_NETWORK_SERVICE,
    "network service": SID_NETWORK_SERVICE,
}

CONNECTIONS_SUBKEY = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
WINHTTP_PATH = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
WINHTTP_VALUE = "WinHttpSettings"

REG_TYPES = ("REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_MULTI_SZ", "REG_QWORD")

# Fault switches (per host). Documented in README.md.
FAULTS = {
    "deny_hku_write": "writes to HKU fail with 'Requested registry access is not allowed.' (win_regedit) or "
                      "'ERROR: Error accessing the registry.' (reg import); a SID limits it to that hive",
    "drop_after": "int N: the connection drops (host UNREACHABLE) on remote command N+1 and later",
    "lost_write": "win_regedit and reg import report success but HKU values are not written (read-back differs)",
    "mangle_write": "once: the next reg import writes HKU binary values with their last byte changed, then the "
                    "fault clears itself (a write that sticks with other bytes)",
    "not_admin": "the connection user is not an administrator: win_whoami does not list BUILTIN\\Administrators "
                 "(S-1-5-32-544); reg.exe load, HKLM and other accounts' HKU writes and protected folders are denied",
}
ADMINISTRATORS_OWNER = "BUILTIN\\Administrators"


class LabError(Exception):
    """A lab usage error (unknown host, bad path, ...)."""


_LOADING = threading.RLock()


def load_by_path(name: str, path):
    """Import a pure-Python module of the collection by file path, once (no Ansible import needed).

    Under a lock: the probe script's requests run on threads (runspaces), and a thread that found the module in
    ``sys.modules`` while another was still executing it saw it half-initialised ("module 'atp_lab_wininet' has no
    attribute 'decode'", a whole probe run lost under load)."""
    with _LOADING:
        mod = sys.modules.get(name)
        if mod is None:
            spec = importlib.util.spec_from_file_location(name, path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            try:
                spec.loader.exec_module(mod)
            except BaseException:
                sys.modules.pop(name, None)
                raise
        return mod


def codec():
    """The project's own WinINet codec."""
    return load_by_path("atp_lab_wininet", CODEC_PATH)


def resolve_account(user: str | None, connection_user: dict) -> dict:
    """Map a become user (SYSTEM, LocalService, 'NT AUTHORITY\\LocalService', ...) to an account dict."""
    if not user:
        return dict(connection_user)
    text = user.strip()
    short = text.split("\\", 1)[-1].strip().lower()
    sid = ACCOUNT_ALIASES.get(short) or (text.upper() if text.upper() in SERVICE_ACCOUNTS else None)
    if sid:
        acc = SERVICE_ACCOUNTS[sid]
        return {"domain": acc["domain"], "name": acc["name"], "sid": sid}
    if short == connection_user["name"].lower():
        return dict(connection_user)
    raise LabError("the lab knows no account %r (use SYSTEM, LocalService, NetworkService or %s)"
                   % (user, connection_user["name"]))


# ---------------------------------------------------------------------------
# Locked JSON files
# ---------------------------------------------------------------------------
@contextlib.contextmanager
def locked_json(path: Path, default=None, write=True):
    """Yield the parsed JSON of ``path`` under an exclusive lock; write it back on exit if it changed.

    Writers replace the file atomically (write a temporary file, ``os.replace``), so :func:`read_json`
    needs no lock: a reader sees the old or the new file, never half of one.
    """
    path = str(path)
    with open(path + ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                with open(path) as handle:
                    raw = handle.read()
                data = json.loads(raw)
            except FileNotFoundError:
                raw, data = None, (default() if callable(default) else default)
            yield data
            if write:
                text = json.dumps(data, indent=1, sort_keys=True)
                if text != raw:
                    tmp = "%s.tmp.%d" % (path, os.getpid())
                    with open(tmp, "w") as handle:
                        handle.write(text)
                    os.replace(tmp, path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_json(path: Path, default=None):
    """The parsed JSON of ``path`` (no lock needed: writers replace the file atomically)."""
    try:
        with open(str(path)) as handle:
            return json.loads(handle.read())
    except FileNotFoundError:
        return default() if callable(default) else default


# ---------------------------------------------------------------------------
# Registry paths
# ---------------------------------------------------------------------------
_PATH_RE = re.compile(r"^(HKLM|HKU|HKCU|HKCR|HKCC|HKEY_LOCAL_MACHINE|HKEY_USERS|HKEY_CURRENT_USER)(:)?(\\.*)?$", re.I)
_LONG = {"hkey_local_machine": "HKLM", "hkey_users": "HKU", "hkey_current_user": "HKCU"}


def split_reg_path(path: str, account_sid: str) -> tuple:
    """``HKU:\\S-1-5-19\\Software\\X`` -> (hive id ``HKU\\S-1-5-19``, subkey ``Software\\X``).

    Accepts the PSDrive form (``HKLM:\\``) and the reg.exe form (``HKLM\\``). HKCU maps to
    ``HKU\\<account_sid>``. For a bare ``HKU:\\`` the hive id is ``HKU`` and subkey ''.
    """
    m = _PATH_RE.match(path.strip())
    if not m:
        raise LabError("not a registry path: %r" % path)
    root = _LONG.get(m.group(1).lower(), m.group(1).upper())
    rest = [p for p in (m.group(3) or "").split("\\") if p]
    if root == "HKCU":
        return "HKU\\" + account_sid, "\\".join(rest)
    if root == "HKU":
        if not rest:
            return "HKU", ""
        if rest[0].lower() == ".default":
            # HKU\.DEFAULT is LocalSystem's profile, an alias of HKU\S-1-5-18 (Raymond Chen, "The .Default user is
            # not the default user", The Old New Thing, 2007-03-02).
            return "HKU\\" + SID_SYSTEM, "\\".join(rest[1:])
        return "HKU\\" + rest[0].upper(), "\\".join(rest[1:])
    if root == "HKLM":
        return "HKLM", "\\".join(rest)
    raise LabError("the lab does not emulate %s" % root)


# The .NET Framework 4 keys Defender for Identity's readiness check reads (HKLM-relative, as the hive stores them).
DOTNET_TLS_KEYS = ("SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319",
                   "SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319")


def _empty_hive(loaded=True) -> dict:
    return {"loaded": loaded, "keys": {}}


def new_host_state(name: str, user: dict | None = None) -> dict:
    user = dict(user or DEFAULT_USER)
    hives = {"HKLM": _empty_hive()}
    for sid in (SID_SYSTEM, SID_LOCAL_SERVICE, SID_NETWORK_SERVICE, user["sid"]):
        hives["HKU\\" + sid] = _empty_hive()
    # Every hive starts with an (empty) Connections key, as on a fresh DC.
    for hive_id, hive in hives.items():
        if hive_id != "HKLM":
            hive["keys"][CONNECTIONS_SUBKEY.lower()] = {"path": CONNECTIONS_SUBKEY, "values": {}}
    # A DC prepared as Defender for Identity's prerequisites ask: .NET uses the system's TLS versions and strong
    # crypto, native and WOW6432Node (system_state.seed_tls(host, 0) or delete_value for a host that is not).
    for path in DOTNET_TLS_KEYS:
        key = {"path": path, "values": {}}
        for value in ("SchUseStrongCrypto", "SystemDefaultTlsVersions"):
            key["values"][value.lower()] = {"name": value, "type": "REG_DWORD", "data": 1}
        hives["HKLM"]["keys"][path.lower()] = key
    return {"name": name, "user": user, "hives": hives, "faults": {}}


# ---------------------------------------------------------------------------
# Registry model (operates on a state dict; callers hold the lock)
# ---------------------------------------------------------------------------
class Registry:
    """Case-insensitive registry operations on one host's state dict."""

    def __init__(self, state: dict, account_sid: str | None = None):
        self.state = state
        self.account_sid = account_sid or state["user"]["sid"]

    def _hive(self, hive_id: str):
        for key, hive in self.state["hives"].items():
            if key.lower() == hive_id.lower():
                return key, hive
        return None, None

    def hive_loaded(self, hive_id: str) -> bool:
        dummy, hive = self._hive(hive_id)
        return bool(hive and hive["loaded"])

    def loaded_user_sids(self) -> list:
        return [k.split("\\", 1)[1] for k, h in self.state["hives"].items() if k.startswith("HKU\\") and h["loaded"]]

    def open_key(self, path: str):
        """Return (hive dict, canonical subkey, key dict or None); hive is None when absent/unloaded.

        Like ``RegistryKey.OpenSubKey``: a key under an unloaded hive does not exist.
        """
        hive_id, sub = split_reg_path(path, self.account_sid)
        if hive_id == "HKU":
            return {"loaded": True, "keys": {}, "_root": "HKU"}, "", {"path": "", "values": {}}
        dummy, hive = self._hive(hive_id)
        if hive is None or not hive["loaded"]:
            return None, sub, None
        low = sub.lower()
        key = hive["keys"].get(low)
        if key is None and (low == "" or any(k.startswith(low + "\\") for k in hive["keys"])):
            key = {"path": sub, "values": {}, "implicit": True}
        return hive, sub, key

    def key_exists(self, path: str) -> bool:
        return self.open_key(path)[2] is not None

    def read_denied(self, path: str) -> bool:
        """Whether the key's ACL (an ACE on it or on a parent, which its subkeys inherit) denies this account
        reading it: ``RegistryKey.OpenSubKey`` then throws SecurityException (Host.deny_registry_read)."""
        hive_id, sub = split_reg_path(path, self.account_sid)
        full = (hive_id + ("\\" + sub if sub else "")).lower()
        for denied, sids in (self.state.get("registry_read_denied") or {}).items():
            if (full == denied or full.startswith(denied + "\\")) and ("*" in sids or self.account_sid in sids):
                return True
        return False

    def sub_keys(self, path: str) -> list:
        hive, sub, key = self.open_key(path)
        if key is None:
            return []
        if hive.get("_root") == "HKU":
            return self.loaded_user_sids()
        low = sub.lower()
        prefix = low + "\\" if low else ""
        names = {}
        for k, v in hive["keys"].items():
            if k.startswith(prefix) and k != low:
                child = k[len(prefix):].split("\\", 1)[0]
                original = v["path"].split("\\")[len(prefix.split("\\")) - 1] if prefix else v["path"].split("\\")[0]
                names.setdefault(child, original)
        return sorted(names.values(), key=str.lower)

    def get_values(self, path: str):
        """dict lower-name -> {name, type, data}, or None if the key does not exist."""
        key = self.open_key(path)[2]
        return None if key is None else key["values"]

    def get_value(self, path: str, name: str):
        values = self.get_values(path)
        if values is None:
            return None
        return values.get((name or "").lower())

    def create_key(self, path: str) -> dict:
        hive, sub, key = self.open_key(path)
        if hive is None:
            raise LabError("hive of %s is not loaded" % path)
        if key is None or key.get("implicit"):
            key = {"path": sub, "values": {}}
            hive["keys"][sub.lower()] = key
        return key

    def set_value(self, path: str, name: str, reg_type: str, data) -> None:
        if reg_type not in REG_TYPES:
            raise LabError("unknown registry type %r" % reg_type)
        key = self.create_key(path)
        key["values"][(name or "").lower()] = {"name": name or "", "type": reg_type, "data": data}

    def delete_value(self, path: str, name: str) -> bool:
        key = self.open_key(path)[2]
        if key is None or (name or "").lower() not in key["values"]:
            return False
        if key.get("implicit"):
            key = self.create_key(path)
        del key["values"][(name or "").lower()]
        return True

    def delete_key(self, path: str) -> bool:
        hive, sub, key = self.open_key(path)
        if key is None:
            return False
        low = sub.lower()
        for k in [k for k in hive["keys"] if k == low or k.startswith(low + "\\")]:
            del hive["keys"][k]
        return True

    def export_tree(self, path: str) -> list:
        """[(canonical full path, {values})] for the key and its descendants, sorted."""
        hive, sub, key = self.open_key(path)
        if key is None:
            return []
        hive_id, dummy = split_reg_path(path, self.account_sid)
        low = sub.lower()
        out = []
        for k, v in sorted(hive["keys"].items()):
            if k == low or k.startswith(low + "\\") or low == "":
                out.append((hive_id + ("\\" + v["path"] if v["path"] else ""), v["values"]))
        if not out:
            out.append((hive_id + ("\\" + sub if sub else ""), {}))
        return out


# ---------------------------------------------------------------------------
# Emulated file system
# ---------------------------------------------------------------------------
_DRIVE = re.compile(r"^([A-Za-z]):[\\/]?(.*)$")


def win_to_local(fs_root: Path, win_path: str) -> Path:
    """Map ``C:\\ProgramData\\X`` to ``<fs_root>/C/ProgramData/X``, matching existing names case-insensitively."""
    m = _DRIVE.match(win_path.strip())
    if not m:
        raise LabError("not an absolute Windows path: %r" % win_path)
    current = Path(fs_root) / m.group(1).upper()
    for part in [p for p in re.split(r"[\\/]+", m.group(2)) if p and p != "."]:
        if part == "..":
            current = current.parent
            continue
        match = None
        if current.is_dir():
            for entry in os.listdir(current):
                if entry.lower() == part.lower():
                    match = entry
                    break
        current = current / (match or part)
    return current


def local_to_win(fs_root: Path, local: Path) -> str:
    rel = Path(local).relative_to(fs_root).parts
    return rel[0] + ":\\" + "\\".join(rel[1:])


# ---------------------------------------------------------------------------
# Host and Lab
# ---------------------------------------------------------------------------
class Host:
    """One emulated Windows host."""

    def __init__(self, lab: Lab, name: str):
        self.lab = lab
        self.name = name
        self.dir = lab.dir / "hosts" / name
        if not (self.dir / "state.json").exists():
            raise LabError("the lab at %s has no host %r" % (lab.dir, name))

    # -- plumbing ------------------------------------------------------
    @property
    def fs_root(self) -> Path:
        return self.dir / "fs"

    def transaction(self, write=True):
        return locked_json(self.dir / "state.json", write=write)

    def state(self) -> dict:
        return read_json(self.dir / "state.json")

    def registry(self, state: dict, account_sid: str | None = None) -> Registry:
        return Registry(state, account_sid)

    def path(self, win_path: str) -> Path:
        return win_to_local(self.fs_root, win_path)

    @property
    def user(self) -> dict:
        return self.state()["user"]

    # -- seeding -------------------------------------------------------
    def set_value(self, path: str, name: str, reg_type: str, data) -> None:
        with self.transaction() as st:
            Registry(st).set_value(path, name, reg_type, data)

    def get_value(self, path: str, name: str):
        """{name, type, data} or None (also None when the hive is unloaded)."""
        return Registry(self.state()).get_value(path, name)

    def delete_value(self, path: str, name: str) -> None:
        with self.transaction() as st:
            Registry(st).delete_value(path, name)

    def connections_path(self, sid: str) -> str:
        return "HKU:\\%s\\%s" % (sid, CONNECTIONS_SUBKEY)

    def set_proxy(self, sid: str, spec: dict | None, value_names=("DefaultConnectionSettings",)) -> bytes | None:
        """Write WinINet settings for ``sid`` (``None`` removes the values). Returns the blob written."""
        sid = self._sid(sid)
        path = self.connections_path(sid)
        if spec is None:
            with self.transaction() as st:
                for value_name in value_names:
                    Registry(st).delete_value(path, value_name)
            return None
        blob = codec().encode(spec)
        with self.transaction() as st:
            for value_name in value_names:
                Registry(st).set_value(path, value_name, "REG_BINARY", blob.hex())
        return blob

    def set_raw(self, sid: str, hex_value: str, name: str = "DefaultConnectionSettings") -> None:
        """Write any bytes (e.g. a malformed value) as REG_BINARY."""
        self.set_value(self.connections_path(self._sid(sid)), name, "REG_BINARY", codec().to_bytes(hex_value).hex())

    def seed(self, spec: dict) -> None:
        """Seed from a dict: {account: proxy spec | None | {'hex': ...}, 'unloaded': [sid], 'faults': {...}}.

        Account keys: ``user`` (the connection user's HKCU), SIDs, or SYSTEM/LocalService/NetworkService.
        """
        for account, value in spec.items():
            if account == "unloaded":
                for sid in value:
                    self.set_hive_loaded(sid, False)
            elif account == "faults":
                for fault, fault_value in value.items():
                    self.set_fault(fault, fault_value)
            elif isinstance(value, dict) and "hex" in value:
                self.set_raw(account, value["hex"])
            else:
                self.set_proxy(account, value)

    def _sid(self, account: str) -> str:
        if account in ("user", "HKCU", "admin"):
            return self.user["sid"]
        if account.upper().startswith("S-1-"):
            return account.upper()
        return resolve_account(account, self.user)["sid"]

    def deny_registry_read(self, path: str, sids=None) -> None:
        """A deny-read ACE on a key, for ``sids`` (every account when None); its subkeys inherit it. Readers that
        open the key get "Requested registry access is not allowed." (``SecurityException``)."""
        hive_id, sub = split_reg_path(path, self.user["sid"])
        with self.transaction() as st:
            st.setdefault("registry_read_denied", {})[(hive_id + ("\\" + sub if sub else "")).lower()] = \
                sorted(self._sid(s) for s in sids) if sids else ["*"]

    def set_hive_loaded(self, sid: str, loaded: bool) -> None:
        sid = self._sid(sid)
        with self.transaction() as st:
            st["hives"].setdefault("HKU\\" + sid, _empty_hive())["loaded"] = loaded

    def hive_loaded(self, sid: str) -> bool:
        return Registry(self.state()).hive_loaded("HKU\\" + self._sid(sid))

    def set_fault(self, fault: str, value=True) -> None:
        if fault == "hive_unloaded":
            self.set_hive_loaded(value if isinstance(value, str) else SID_LOCAL_SERVICE, False)
            return
        if fault == "corrupt_value":
            if value is None or value is False:  # clearing it must not write it again
                raise LabError("corrupt_value is a one-off write of a corrupt value, not a fault that stays: repair "
                               "the value with seed (e.g. seed HOST --account LocalService --clear)")
            self.set_raw(value if isinstance(value, str) else SID_LOCAL_SERVICE, "46000000010000000300000040000000")
            return
        if fault not in FAULTS:
            known = ", ".join(sorted(FAULTS) + ["hive_unloaded", "corrupt_value"])
            raise LabError("unknown fault %r; known: %s" % (fault, known))
        with self.transaction() as st:
            if value is None or value is False:  # 0 is a real value (drop_after=0)
                st["faults"].pop(fault, None)
            else:
                st["faults"][fault] = value

    def faults(self) -> dict:
        return dict(self.state()["faults"])

    # -- read-back -----------------------------------------------------
    def proxy_value(self, sid: str, name: str = "DefaultConnectionSettings") -> bytes | None:
        value = self.get_value(self.connections_path(self._sid(sid)), name)
        return None if value is None else bytes.fromhex(value["data"])

    def decoded(self, sid: str, name: str = "DefaultConnectionSettings") -> dict:
        """{'state': 'hive_not_loaded'|'missing'|'malformed'|'ok', 'settings': codec dict, 'text': ...}."""
        sid = self._sid(sid)
        if not self.hive_loaded(sid):
            return {"state": "hive_not_loaded", "settings": None, "text": "(hive not loaded)"}
        blob = self.proxy_value(sid, name)
        if blob is None:
            return {"state": "missing", "settings": None, "text": "(no %s)" % name}
        try:
            settings = codec().decode(blob)
        except ValueError as exc:
            return {"state": "malformed", "settings": None, "text": "malformed: %s" % exc}
        return {"state": "ok", "settings": settings.to_dict(), "text": codec().describe(settings)}

    def winhttp(self) -> dict | None:
        value = self.get_value(WINHTTP_PATH, WINHTTP_VALUE)
        return None if value is None else codec().decode_winhttp(bytes.fromhex(value["data"]))

    def read_file(self, win_path: str) -> bytes | None:
        p = self.path(win_path)
        return p.read_bytes() if p.is_file() else None

    def write_file(self, win_path: str, data: bytes) -> None:
        p = self.path(win_path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)

    def list_files(self, win_dir: str) -> list:
        p = self.path(win_dir)
        return sorted(local_to_win(self.fs_root, c) for c in p.iterdir()) if p.is_dir() else []

    def find_files(self, win_dir: str, name: str | None = None) -> list:
        """Every file under ``win_dir`` (recursively), optionally only those called ``name``."""
        p = self.path(win_dir)
        if not p.is_dir():
            return []
        found = (c for c in p.rglob("*") if c.is_file() and not c.name.startswith(".atp-lab-"))
        return sorted(local_to_win(self.fs_root, c) for c in found if name is None or c.name.lower() == name.lower())

    # -- file security (owner, protected folders) ----------------------
    # state["fs_security"]: {lower-case Windows path: {"owner": name, "protected": bool, "aces": [{sid, rights}]}}.
    # Windows Server's default makes BUILTIN\Administrators the owner of what an administrator creates
    # ("System objects: Default owner for objects created by members of the Administrators group").
    def connection_owner(self, state: dict | None = None) -> str:
        state = state or self.state()
        if state["faults"].get("not_admin"):
            user = state["user"]
            return "%s\\%s" % (user["domain"], user["name"])
        return ADMINISTRATORS_OWNER

    def security(self, win_path: str, state: dict | None = None) -> dict:
        """{owner, protected, aces} of a path (defaults: the creator's owner, inherited, no explicit entries)."""
        state = state or self.state()
        meta = (state.get("fs_security") or {}).get(_norm_win(win_path))
        return dict(meta) if meta else {"owner": ADMINISTRATORS_OWNER, "protected": False, "aces": []}

    def set_security(self, win_path: str, state: dict | None = None, **changes) -> None:
        def apply(st):
            table = st.setdefault("fs_security", {})
            meta = table.setdefault(_norm_win(win_path), {"owner": self.connection_owner(st), "protected": False,
                                                          "aces": []})
            meta.update(changes)
        if state is not None:
            apply(state)
        else:
            with self.transaction() as st:
                apply(st)

    def forget_security(self, win_path: str, state: dict) -> None:
        prefix = _norm_win(win_path)
        table = state.get("fs_security") or {}
        for key in [k for k in table if k == prefix or k.startswith(prefix + "\\")]:
            del table[key]

    def can_write(self, win_path: str, state: dict | None = None) -> bool:
        """Whether the connection user may create or change ``win_path``.

        Administrators may. Anyone else may not write inside a protected folder (one whose inherited
        entries were removed, leaving SYSTEM and Administrators), nor change a file someone else owns;
        elsewhere under C:\\ProgramData BUILTIN\\Users may create files, as on a fresh Windows Server.
        """
        state = state or self.state()
        if not state["faults"].get("not_admin"):
            return True
        table = state.get("fs_security") or {}
        path = _norm_win(win_path)
        meta = table.get(path)
        if meta and self.path(win_path).exists() and meta["owner"] != self.connection_owner(state):
            return False
        parts = path.split("\\")
        for i in range(len(parts) - 1, 0, -1):
            ancestor = table.get("\\".join(parts[:i]))
            if ancestor and ancestor.get("protected"):
                return False
        return True

    def plant_file(self, win_path: str, data: bytes, owner: str = "CORP\\mallory") -> None:
        """A file a local user (not an administrator) created: owned by that user."""
        self.write_file(win_path, data)
        self.set_security(win_path, owner=owner)

    # -- ledger --------------------------------------------------------
    def ledger(self) -> dict:
        return read_json(self.dir / "ledger.json", default=_new_ledger)

    def record_module_call(self, module: str) -> int:
        """Count one module execution; returns the total after counting."""
        with locked_json(self.dir / "ledger.json", default=_new_ledger) as led:
            led["module_calls"] += 1
            led["by_module"][module] = led["by_module"].get(module, 0) + 1
            led.setdefault("sequence", []).append(module)
            return led["module_calls"]

    def attribute_to_task(self, task: str) -> int:
        """Give the module calls since the last attribution to ``task`` (called by the callback)."""
        with locked_json(self.dir / "ledger.json", default=_new_ledger) as led:
            delta = led["module_calls"] - led["attributed"]
            led["attributed"] = led["module_calls"]
            if delta or task not in led["by_task"]:
                led["by_task"][task] = led["by_task"].get(task, 0) + delta
            return delta

    def commit_attribution(self, attributed: int, by_task: dict) -> None:
        """Store what a caller attributed in memory: ``attributed`` (the module-call count it reached)
        and ``by_task`` (task -> calls to add). The callback does this once per host at the end of a run."""
        with locked_json(self.dir / "ledger.json", default=_new_ledger) as led:
            led["attributed"] = max(led["attributed"], attributed)
            for task, calls in by_task.items():
                led["by_task"][task] = led["by_task"].get(task, 0) + calls

    def reset_ledger(self) -> None:
        with locked_json(self.dir / "ledger.json", default=_new_ledger) as led:
            led.clear()
            led.update(_new_ledger())


def _norm_win(win_path: str) -> str:
    return re.sub(r"[\\/]+", lambda m: "\\", win_path.strip()).rstrip("\\").lower()


def _new_ledger() -> dict:
    return {"module_calls": 0, "attributed": 0, "by_module": {}, "by_task": {}, "sequence": []}


class Lab:
    """A lab directory with N hosts."""

    def __init__(self, directory):
        self.dir = Path(directory).resolve()
        if not (self.dir / "lab.json").exists():
            raise LabError("%s is not a lab directory (no lab.json)" % self.dir)

    @classmethod
    def create(cls, directory, hosts=3, prefix="dc", user: dict | None = None) -> Lab:
        """Create a lab with ``hosts`` (a count or a list of names). Existing hosts are kept."""
        directory = Path(directory).resolve()
        (directory / "hosts").mkdir(parents=True, exist_ok=True)
        if not (directory / "lab.json").exists():
            (directory / "lab.json").write_text(json.dumps({"dns": {}, "proxy_dns": {}, "ca_file": ""}, indent=1))
        names = hosts if isinstance(hosts, (list, tuple)) else ["%s%02d" % (prefix, i + 1) for i in range(hosts)]
        lab = cls(directory)
        for name in names:
            lab.add_host(name, user)
        return lab

    def add_host(self, name: str, user: dict | None = None) -> Host:
        hdir = self.dir / "hosts" / name
        (hdir / "fs" / "C").mkdir(parents=True, exist_ok=True)
        if not (hdir / "state.json").exists():
            (hdir / "state.json").write_text(json.dumps(new_host_state(name, user), indent=1, sort_keys=True))
            # Profile hives exist on disk, so reg.exe load can load them.
            for sid, acc in SERVICE_ACCOUNTS.items():
                p = win_to_local(hdir / "fs", acc["profile"] + "\\NTUSER.DAT")
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(b"regf" + sid.encode())
        return Host(self, name)

    def host(self, name: str) -> Host:
        return Host(self, name)

    def host_names(self) -> list:
        return sorted(p.name for p in (self.dir / "hosts").iterdir() if (p / "state.json").exists())

    def hosts(self) -> list:
        return [Host(self, n) for n in self.host_names()]

    # -- lab-wide settings ---------------------------------------------
    def config(self) -> dict:
        return read_json(self.dir / "lab.json")

    def update_config(self, **changes) -> None:
        with locked_json(self.dir / "lab.json") as cfg:
            for key, value in changes.items():
                if isinstance(value, dict) and isinstance(cfg.get(key), dict):
                    cfg[key].update(value)
                else:
                    cfg[key] = value

    def add_dns(self, name: str, address: str, proxy_only: bool = False) -> None:
        """Make ``name`` (``host`` or ``host:port``) resolve to ``address`` (``ip`` or ``ip:port``).

        ``proxy_only``: only the proxy can resolve it (like an Internet name that the DCs'
        internal DNS does not know); a direct request from a host fails with
        'The remote name could not be resolved'.
        """
        self.update_config(**{"proxy_dns" if proxy_only else "dns": {name.lower(): address}})

    def ledger(self) -> dict:
        return {h.name: h.ledger() for h in self.hosts()}


def current_host() -> Host:
    """The host a module process runs on (from the lab connection plugin's environment)."""
    lab_dir = os.environ.get(ENV_LAB_DIR)
    name = os.environ.get(ENV_HOST)
    if not lab_dir or not name:
        raise LabError("not running inside the lab: %s and %s must be set" % (ENV_LAB_DIR, ENV_HOST))
    return Lab(lab_dir).host(name)


def current_account(host: Host, state: dict | None = None) -> dict:
    user = (state or host.state())["user"]
    return resolve_account(os.environ.get(ENV_BECOME_USER), user)


def resolve_name(lab_config: dict, host: str, port: int, table: str = "dns") -> tuple:
    """Emulated DNS: (ip, port) for host:port, or None. IP literals and localhost resolve to themselves."""
    if re.match(r"^\d+\.\d+\.\d+\.\d+$", host) or host.lower() == "localhost":
        return ("127.0.0.1" if host.lower() == "localhost" else host, port)
    names = lab_config.get(table) or {}
    for key in ("%s:%d" % (host.lower(), port), host.lower()):
        if key in names:
            addr = names[key]
            ip, sep, mapped_port = addr.rpartition(":")
            return (ip, int(mapped_port)) if sep and mapped_port.isdigit() else (addr, port)
    return None

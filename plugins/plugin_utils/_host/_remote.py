# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remote access through ``ansible.windows`` modules, with an injected executor.

No Ansible runtime imports: every remote call goes through an ``execute(module_name, module_args)
-> dict`` callable, which the action plugins bind to ``self._execute_module`` (through
:class:`CountingExecutor`) and the unit tests to recorded ``ansible.windows`` results. Connection
failures raised by ``execute`` are never caught here.

Each function here is one remote round trip (one module execution), and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import RemoteError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _state_query as state_query

READ_MODULE = "ansible.windows.win_reg_stat"
WRITE_MODULE = "ansible.windows.win_regedit"
COMMAND_MODULE = "ansible.windows.win_command"


class CountingExecutor:
    """``execute(module_name, module_args)`` bound to an action plugin's ``_execute_module``; counts the calls.

    ``calls`` lists every module executed; ``journal`` is for the caller to note what each call
    achieved (so that a connection drop can be reported precisely).
    """

    def __init__(self, execute_module, task_vars: dict):
        self._execute_module = execute_module
        self._task_vars = task_vars
        self.calls: list = []

    def __call__(self, module_name: str, module_args: dict) -> dict:
        self.calls.append(module_name)
        return self._execute_module(module_name=module_name, module_args=module_args, task_vars=self._task_vars)

    def count(self, what: str, n: int = 1) -> None:
        """Count remote commands made outside ``_execute_module`` (a file transfer, a temporary folder)."""
        self.calls.extend([what] * n)


def call(execute, module: str, args: dict) -> dict:
    """Run one module; raise :class:`RemoteError` when it failed on the host."""
    result = execute(module, args)
    if result.get("failed"):
        raise RemoteError(module, args, result)
    return result


@dataclass
class RegValue:
    """One registry value as read from the host."""

    name: str
    type: str
    data: bytes | None  # bytes for REG_BINARY / REG_NONE
    value: object = None  # the decoded value for the other types (str, int, list)


@dataclass
class KeyRead:
    path: str
    exists: bool
    values: dict = field(default_factory=dict)  # lower-case name -> RegValue
    sub_keys: list = field(default_factory=list)
    hive_loaded: bool | None = None  # for an absent HKU key: is the account's hive loaded at all?

    def get(self, name: str) -> RegValue | None:
        return self.values.get(name.lower())


@dataclass
class Snapshot:
    """One read of the host (:func:`read_state`): registry keys, processes, services, root certificates, the caller."""

    keys: dict = field(default_factory=dict)  # lower-case path -> KeyRead
    processes: list = field(default_factory=list)  # [{name, id}]
    services: dict = field(default_factory=dict)  # name -> {name, status, dependents, path, account, start, ...}
    root_certificates: dict = field(default_factory=dict)  # thumbprint -> present
    user: dict = field(default_factory=dict)  # {name, sid, administrator}
    tcp_listeners: list = field(default_factory=list)  # [{address, port}] on the ports asked for
    firewall: dict | None = None  # {current_profiles, enabled: {domain, private, public}, block_rules: [...]}
    # What the query asked for besides keys (lower case), so that "not found" can be told from "not asked".
    asked: dict = field(default_factory=lambda: {"processes": [], "services": [], "root_certificates": [],
                                                 "tcp_ports": []})

    def key(self, path: str) -> KeyRead:
        found = self.keys.get(path.lower())
        if found is None:
            raise KeyError("the state query did not read %s" % path)
        return found

    def has(self, path: str) -> bool:
        return path.lower() in self.keys

    def missing(self, keys=(), processes=(), services=(), root_certificates=(), tcp_ports=()) -> dict:
        """What of these this snapshot did not ask for, in :func:`read_state`'s keyword arguments."""
        out = {"keys": [k for k in keys if not self.has(k)]}
        for kind, wanted in (("processes", processes), ("services", services),
                             ("root_certificates", root_certificates), ("tcp_ports", tcp_ports)):
            asked = set(self.asked.get(kind) or [])
            out[kind] = [w for w in wanted if str(w).lower() not in asked]
        return out

    def merge(self, other: Snapshot) -> Snapshot:
        self.keys.update(other.keys)
        self.services.update(other.services)
        self.root_certificates.update(other.root_certificates)
        known = {(str(p.get("name")).lower(), p.get("id")) for p in self.processes}
        self.processes += [p for p in other.processes if (str(p.get("name")).lower(), p.get("id")) not in known]
        for kind, names in other.asked.items():
            self.asked[kind] = list(dict.fromkeys(list(self.asked.get(kind) or []) + list(names)))
        self.user = self.user or other.user
        self.tcp_listeners += [t for t in other.tcp_listeners if t not in self.tcp_listeners]
        self.firewall = self.firewall if self.firewall is not None else other.firewall
        return self


def read_key(execute, path: str) -> KeyRead:
    """One ``win_reg_stat`` of a whole key (no ``name``): every value in one round trip.

    ``win_reg_stat.ps1`` (ansible.windows 3.3.0) returns, for a key, ``exists``, ``properties``
    (name -> ``{type, value, raw_value}``) and ``sub_keys``; REG_BINARY ``raw_value`` is a list of
    ``"0x46"`` strings (Get-PropertyValue). A key under an unloaded hive is ``exists: false``
    (``OpenSubKey`` returns null).
    """
    result = call(execute, READ_MODULE, {"path": path})
    if not result.get("exists"):
        return KeyRead(path, False)
    values = {}
    for name, prop in (result.get("properties") or {}).items():
        kind = prop.get("type", "")
        if kind in ("REG_BINARY", "REG_NONE"):
            values[name.lower()] = RegValue(name, kind, reg_stat_bytes(prop.get("raw_value")))
        else:
            values[name.lower()] = RegValue(name, kind, None, prop.get("value"))
    return KeyRead(path, True, values, list(result.get("sub_keys") or []))


def reg_stat_bytes(raw) -> bytes:
    """``win_reg_stat`` gives REG_BINARY as ``["0x46", ...]`` (``win_reg_stat.ps1``, Get-PropertyValue)."""
    if isinstance(raw, str):
        raw = [raw] if raw else []
    return bytes(int(str(item), 16) if isinstance(item, str) else int(item) for item in raw or [])


def read_state(execute, keys=(), processes=(), services=(), root_certificates=(), tcp_ports=()) -> Snapshot:
    """ONE ``win_powershell`` run of the collection's read-only query (:mod:`_host._state_query`): every key, process,
    service and root certificate asked for, the TCP listeners on ``tcp_ports`` and the firewall's block rules (when
    asked), and whether the caller is an administrator."""
    keys = list(dict.fromkeys(keys))
    args = state_query.module_args(keys, processes, services, root_certificates, tcp_ports)
    result = execute(state_query.MODULE, args)
    why = state_query.failure(result, ", ".join(keys + list(processes) + list(services)) or "the host")
    if why:
        raise RemoteError(state_query.MODULE, {}, {"msg": why})
    data = result.get("result") or {}
    snapshot = Snapshot(processes=list(data.get("processes") or []), services=dict(data.get("services") or {}),
                        root_certificates=dict(data.get("root_certificates") or {}), user=dict(data.get("user") or {}),
                        tcp_listeners=[dict(t) for t in data.get("tcp_listeners") or [] if isinstance(t, dict)],
                        firewall=dict(data["firewall"]) if isinstance(data.get("firewall"), dict) else None,
                        asked={"processes": [str(p).lower() for p in processes],
                               "services": [str(s).lower() for s in services],
                               "root_certificates": [str(t).lower() for t in root_certificates],
                               "tcp_ports": [str(p) for p in tcp_ports]})
    found = {str(k).lower(): v for k, v in (data.get("keys") or {}).items()}
    for path in keys:
        entry = found.get(path.lower())
        if entry is None:
            raise RemoteError(state_query.MODULE, {"path": path}, {"msg": "the state query returned no entry for %s"
                                                                   % path})
        values = {}
        for name, prop in (entry.get("values") or {}).items():
            kind, value = state_query.decode_value(prop.get("type"), prop.get("value"))
            values[str(name).lower()] = RegValue(str(name), kind, value if isinstance(value, bytes) else None,
                                                 None if isinstance(value, bytes) else value)
        snapshot.keys[path.lower()] = KeyRead(path, bool(entry.get("exists")), values,
                                              list(entry.get("sub_keys") or []), entry.get("hive_loaded"))
    return snapshot


def hive_loaded(execute, sid: str) -> bool:
    """One ``win_reg_stat`` of ``HKU:\\<SID>``: is that account's hive loaded?"""
    return bool(call(execute, READ_MODULE, {"path": "HKU:\\%s" % sid}).get("exists"))


def run_command(execute, argv: list) -> dict:
    """One ``win_command`` with ``argv``; the result even when the exit code is not 0 (the caller decides)."""
    return execute(COMMAND_MODULE, {"argv": list(argv)})

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real-host self-check: the collection's state query against the documented modules, fact by fact.

Pure Python, no Ansible imports. The role's ``self_check.yml`` (playbook ``self_check_atp_proxy``, integration
target ``atp_self_check``) runs the state query of :mod:`_host._state_query` once with everything the sensor
discovery reads (:func:`reads`), then the documented ``ansible.windows`` modules for the same facts, and
:func:`differences` compares them. Run it on one real DC before a fleet run: a difference means the collection's
own PowerShell reads that host differently from the modules Ansible documents, and the fleet run would act on it.

What is compared, and with which module (ansible.windows 3.3.0):

* every registry key: ``win_reg_stat`` (``exists``, every value's type and data, ``sub_keys``); REG_SZ and
  REG_EXPAND_SZ against its ``raw_value`` (not expanded, as the query reads them), REG_DWORD/REG_QWORD as unsigned
  numbers (win_reg_stat.ps1 lines 47-51), binary values byte for byte;
* every sensor service: ``win_service_info`` (installed, ``state``, ``path``, ``username``, ``start_mode``,
  ``dependencies``, ``dependency_of``); accounts compare by the account they name (``LocalSystem`` is
  ``NT AUTHORITY\\SYSTEM``), start types by the mode (2 is ``auto`` or ``delayed``);
* the documented root certificates: ``win_certificate_info`` of ``LocalMachine\\Root``;
* the files the query points at: ``win_stat`` of each service's executable and of the v2 sensor's
  ``SensorConfiguration.json`` (the path the sensor_config method slurps);
* the caller: ``win_whoami`` (``account.sid``; administrator when ``S-1-5-32-544`` is an enabled group).

Processes (``SenseIdentity``, the v3 marker) have no documented module; they are listed as not compared.
"""

from __future__ import annotations

import base64
import re

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _state_query as state_query
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _discovery as sensor
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _services as sensor_services

START_MODES = {0: ("boot",), 1: ("system",), 2: ("auto", "delayed"), 3: ("manual",), 4: ("disabled",)}
STATES = {"Running": "started", "Stopped": "stopped", "Paused": "paused", "StartPending": "start_pending",
          "StopPending": "stop_pending"}
ADMINISTRATORS = "S-1-5-32-544"


def reads(readiness: bool = True) -> dict:
    """What the self-check reads: everything the sensor discovery reads (with the readiness keys and root
    certificates unless ``readiness`` is false), and the backup manifest."""
    found = sensor.discovery_reads(readiness)
    found["keys"] = list(dict.fromkeys(list(found["keys"]) + [backup.MANIFEST_PATH]))
    return found


def query_args(readiness: bool = True) -> dict:
    """The ``win_powershell`` arguments of the self-check's one state query."""
    return state_query.module_args(**reads(readiness))


def executable(image_path) -> str | None:
    """The program of a service's ImagePath (``"C:\\x y\\a.exe" -arg`` -> ``C:\\x y\\a.exe``)."""
    text = str(image_path or "").strip()
    match = re.match(r'^"([^"]+)"|^(\S+)', text)
    return (match.group(1) or match.group(2)) if match else None


def paths(query_result: dict) -> list:
    """The files the query's answer points at, for ``win_stat``: each service's executable and the v2 sensor's
    SensorConfiguration.json."""
    data = _data(query_result)
    out = [executable(s.get("path")) for s in (data.get("services") or {}).values() if isinstance(s, dict)]
    info = sensor_services.sensor_info(data.get("services") or {}, data.get("processes") or [])
    if info.get("config_path"):
        out.append(info["config_path"])
    return list(dict.fromkeys(p for p in out if p))


def _data(query_result) -> dict:
    result = (query_result or {}).get("result") if isinstance(query_result, dict) else None
    return result if isinstance(result, dict) else {}


def _loop(results) -> list:
    """The per-item results of a looped task (``register`` of a ``loop``), or a list given as is."""
    if isinstance(results, dict):
        return list(results.get("results") or [])
    return list(results or [])


def _diff(fact: str, query, module, by: str) -> dict:
    return {"fact": fact, "state_query": query, "module": module, "module_name": by}


# ---------------------------------------------------------------------------
# Registry keys
# ---------------------------------------------------------------------------
def _reg_stat_data(prop: dict):
    """A win_reg_stat property as the query carries it: binary as bytes, strings not expanded (raw_value)."""
    kind = prop.get("type")
    if kind in ("REG_BINARY", "REG_NONE"):
        return bytes(int(b) for b in prop.get("value") or [])
    if kind in ("REG_SZ", "REG_EXPAND_SZ"):
        return prop.get("raw_value", prop.get("value"))
    if kind == "REG_MULTI_SZ":
        return list(prop.get("value") or [])
    return prop.get("value")


def _query_data(kind: str, value):
    reg_type, data = state_query.decode_value(kind, value)
    return reg_type, data


def _show(data):
    return data.hex() if isinstance(data, bytes) else data


def key_differences(path: str, query_entry: dict | None, reg_stat: dict) -> list:
    by = "ansible.windows.win_reg_stat"
    if reg_stat.get("failed"):
        return [_diff("%s: read" % path, "read", "failed: %s" % reg_stat.get("msg"), by)]
    if query_entry is None:
        return [_diff("%s: read" % path, "no entry", "exists %s" % bool(reg_stat.get("exists")), by)]
    out = []
    exists = bool(query_entry.get("exists"))
    if exists != bool(reg_stat.get("exists")):
        return [_diff("%s: exists" % path, exists, bool(reg_stat.get("exists")), by)]
    if not exists:
        return out
    query_values = {str(n).lower(): (n, v) for n, v in (query_entry.get("values") or {}).items()}
    module_values = {str(n).lower(): (n, p) for n, p in (reg_stat.get("properties") or {}).items()}
    for low in sorted(set(query_values) | set(module_values)):
        if low not in module_values:
            out.append(_diff("%s: value %s" % (path, query_values[low][0]), "present", "absent", by))
            continue
        if low not in query_values:
            out.append(_diff("%s: value %s" % (path, module_values[low][0]), "absent", "present", by))
            continue
        name, entry = query_values[low]
        prop = module_values[low][1]
        reg_type, data = _query_data(entry.get("type"), entry.get("value"))
        if reg_type != prop.get("type"):
            out.append(_diff("%s: value %s type" % (path, name), reg_type, prop.get("type"), by))
        elif data != _reg_stat_data(prop):
            out.append(_diff("%s: value %s" % (path, name), _show(data), _show(_reg_stat_data(prop)), by))
    query_subs = sorted(str(s).lower() for s in query_entry.get("sub_keys") or [])
    module_subs = sorted(str(s).lower() for s in reg_stat.get("sub_keys") or [])
    if query_subs != module_subs:
        out.append(_diff("%s: sub_keys" % path, query_subs, module_subs, by))
    return out


# ---------------------------------------------------------------------------
# Services, certificates, files, the caller
# ---------------------------------------------------------------------------
def _account_sid(name):
    known = accounts.lookup(name)
    return known.sid if known else str(name or "").lower()


def service_differences(name: str, query_entry: dict | None, info: dict) -> list:
    by = "ansible.windows.win_service_info"
    if info.get("failed"):
        return [_diff("service %s: read" % name, "read", "failed: %s" % info.get("msg"), by)]
    found = (info.get("services") or [None])[0] if info.get("exists") else None
    if (query_entry is None) != (found is None):
        return [_diff("service %s: installed" % name, query_entry is not None, found is not None, by)]
    if found is None:
        return []
    out = []
    checks = [
        ("state", STATES.get(str(query_entry.get("status")), str(query_entry.get("status")).lower()),
         found.get("state")),
        ("path", query_entry.get("path"), found.get("path")),
        ("account", _account_sid(query_entry.get("account")), _account_sid(found.get("username"))),
        ("dependencies", sorted(str(d).lower() for d in query_entry.get("dependencies") or []),
         sorted(str(d).lower() for d in found.get("dependencies") or [])),
        ("dependents", sorted(str(d).lower() for d in query_entry.get("dependents") or []),
         sorted(str(d).lower() for d in found.get("dependency_of") or [])),
    ]
    for fact, ours, theirs in checks:
        if ours != theirs:
            shown = (query_entry.get("account"), found.get("username")) if fact == "account" else (ours, theirs)
            out.append(_diff("service %s: %s" % (name, fact), shown[0], shown[1], by))
    start = query_entry.get("start")
    if found.get("start_mode") not in START_MODES.get(start, ()):
        out.append(_diff("service %s: start" % name, start, found.get("start_mode"), by))
    return out


def certificate_differences(query_roots: dict, info: dict) -> list:
    by = "ansible.windows.win_certificate_info"
    if info.get("failed"):
        return [_diff("LocalMachine\\Root: read", "read", "failed: %s" % info.get("msg"), by)]
    present = {str(c.get("thumbprint")).upper() for c in info.get("certificates") or []}
    return [_diff("root certificate %s" % thumb, bool(found), str(thumb).upper() in present, by)
            for thumb, found in (query_roots or {}).items() if bool(found) != (str(thumb).upper() in present)]


def file_differences(stats: list) -> list:
    by = "ansible.windows.win_stat"
    out = []
    for item in stats:
        path = item.get("item")
        stat = item.get("stat") or {}
        if item.get("failed"):
            out.append(_diff("file %s" % path, "exists", "failed: %s" % item.get("msg"), by))
        elif not stat.get("exists"):
            out.append(_diff("file %s" % path, "exists (the state query points at it)", "does not exist", by))
    return out


def caller_differences(user: dict, whoami: dict) -> list:
    by = "ansible.windows.win_whoami"
    if whoami.get("failed"):
        return [_diff("caller: read", "read", "failed: %s" % whoami.get("msg"), by)]
    out = []
    sid = (whoami.get("account") or {}).get("sid")
    if str(user.get("sid")) != str(sid):
        out.append(_diff("caller: sid", user.get("sid"), sid, by))
    admin = any(g.get("sid") == ADMINISTRATORS and "Enabled" in (g.get("attributes") or [])
                for g in whoami.get("groups") or [])
    if bool(user.get("administrator")) != admin:
        out.append(_diff("caller: administrator", bool(user.get("administrator")), admin, by))
    return out


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------
def differences(query_result: dict, reg_stats, service_infos, certificates: dict, stats, whoami: dict) -> dict:
    """Every difference between the state query and the modules: ``{ok, checked, differences: [{fact,
    state_query, module, module_name}], not_compared, lines}``. ``reg_stats``, ``service_infos`` and ``stats`` are
    the registered results of the looped tasks (each item has ``item``)."""
    failure = state_query.failure(query_result or {})
    if failure:
        diffs = [_diff("the state query", failure, "(not compared)", "ansible.windows.win_powershell")]
        return _report(diffs, 0, query_result)
    data = _data(query_result)
    diffs, checked = [], 0
    keys = {str(k).lower(): v for k, v in (data.get("keys") or {}).items()}
    for item in _loop(reg_stats):
        checked += 1
        diffs += key_differences(item.get("item"), keys.get(str(item.get("item")).lower()), item)
    services = {str(k).lower(): v for k, v in (data.get("services") or {}).items()}
    for item in _loop(service_infos):
        checked += 1
        diffs += service_differences(item.get("item"), services.get(str(item.get("item")).lower()), item)
    checked += len(data.get("root_certificates") or {})
    diffs += certificate_differences(data.get("root_certificates") or {}, certificates or {})
    files = _loop(stats)
    checked += len(files)
    diffs += file_differences(files)
    checked += 1
    diffs += caller_differences(data.get("user") or {}, whoami or {})
    return _report(diffs, checked, query_result)


def _report(diffs: list, checked: int, query_result) -> dict:
    asked = (reads().get("processes") or [])
    not_compared = ["process %s: no documented module lists processes (the state query found %s)"
                    % (name, ", ".join(str(p.get("id")) for p in _data(query_result).get("processes") or []
                                       if str(p.get("name")).lower() == name.lower()) or "none")
                    for name in asked]
    lines = ["%s: state query %s, %s %s" % (d["fact"], _text(d["state_query"]), d["module_name"].split(".")[-1],
                                            _text(d["module"])) for d in diffs]
    return {"ok": not diffs, "checked": checked, "differences": diffs, "not_compared": not_compared,
            "lines": lines or ["%d facts checked: the state query and the documented modules agree" % checked]}


def _text(value) -> str:
    if isinstance(value, bytes):
        return base64.b16encode(value).decode().lower()
    return repr(value) if not isinstance(value, str) else value

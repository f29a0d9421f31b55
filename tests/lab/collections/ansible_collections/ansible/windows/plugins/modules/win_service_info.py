# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_service_info (TEST ONLY). Mirrors plugins/modules/win_service_info.ps1:

* ``name`` (optional): ``Get-Service | Where-Object { $_.Name -eq $name }``, else ``Get-Service -Name $name``
  (lines 23-26), so an exact name, a PowerShell wildcard (``*``, ``?``, ``[a-z]``) on the service name,
  or else an exact display name; no ``name`` gives every service;
* ``exists`` false and ``services`` empty when nothing matches (lines 20, 28), never a failure;
* each entry has the keys of lines 188-220: ``state`` as ``started``/``stopped``/... (lines 120-128),
  ``start_mode`` ``auto``/``manual``/``disabled``/``delayed`` (lines 111-118), ``username`` is
  ``$service.Account.Value`` (SCManager.cs ``Account``: the StartName, ``LocalSystem`` becoming
  ``NT AUTHORITY\\SYSTEM``), ``dependencies`` (DependentOn) and ``dependency_of`` (DependedBy).
Services live in the host's ``system.json`` (tests/lab/system_state.py). Check mode changes nothing.
Approximate: triggers, failure actions and privileges are fixed defaults.
"""

DOCUMENTATION = r"""
---
module: win_service_info
short_description: Lab stand-in for ansible.windows.win_service_info (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context


def wildcard(pattern):
    """PowerShell's WildcardPattern as a case-insensitive regex (``*``, ``?``, ``[...]``, backtick escapes)."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "`" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end > i:
                out.append("[" + pattern[i + 1:end].replace("\\", "\\\\") + "]")
                i = end + 1
                continue
            out.append(re.escape(char))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE)


def select(services, name):
    if name is None:
        return list(services)
    exact = [s for s in services if s["name"].lower() == name.lower()]
    if exact:
        return exact
    if re.search(r"[*?\[]", name):
        pattern = wildcard(name)
        return [s for s in services if pattern.match(s["name"])]
    return [s for s in services if s["display_name"].lower() == name.lower()]


def account(username):
    return "NT AUTHORITY\\SYSTEM" if username == "LocalSystem" else username


def entry(svc, all_services):
    running = svc["state"] == "started"
    return {
        "checkpoint": 0,
        "controls_accepted": ["stop", "shutdown"] if running else [],
        "dependencies": list(svc.get("dependencies") or []),
        "dependency_of": sorted(s["name"] for s in all_services
                                if svc["name"].lower() in [d.lower() for d in s.get("dependencies") or []]),
        "description": svc.get("description") or "",
        "desktop_interact": False,
        "display_name": svc["display_name"],
        "error_control": "normal",
        "failure_actions": [{"type": "restart", "delay_ms": 60000}],
        "failure_actions_on_non_crash_failure": False,
        "failure_command": None,
        "failure_reboot_msg": None,
        "failure_reset_period_sec": 86400,
        "launch_protection": "none",
        "load_order_group": "",
        "name": svc["name"],
        "path": svc["path"],
        "pre_shutdown_timeout_ms": 180000,
        "preferred_node": None,
        "process_id": svc.get("process_id", 0) if running else 0,
        "required_privileges": [],
        "service_exit_code": 0,
        "service_flags": [],
        "service_type": "win32_own_process",
        "sid_info": "unrestricted",
        "start_mode": svc["start_mode"],
        "state": svc["state"],
        "triggers": [],
        "username": account(svc["username"]),
        "wait_hint_ms": 0,
        "win32_exit_code": 0,
    }


def main():
    module = AnsibleModule(argument_spec=dict(name=dict(type="str")), supports_check_mode=True)
    st, host, user = context(module)
    from tests.lab import system_state  # importable once context() has put the checkout on sys.path

    services = list(system_state.read(host)["services"].values())
    found = select(services, module.params["name"])
    module.exit_json(changed=False, exists=bool(found), services=[entry(s, services) for s in found])


if __name__ == "__main__":
    main()

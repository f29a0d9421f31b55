# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_service (TEST ONLY): state changes of existing services.

Mirrors plugins/modules/win_service.ps1 (ansible.windows 3.3.0) for ``name``, ``state``
(``started``/``stopped``/``restarted``), ``force_dependent_services`` and ``start_mode``:

* the service is found by name or display name (Get-ServiceFromName, lines 264-283); a missing one
  with a ``state`` fails with "Service '<name>' is not installed, need to set 'path' to create a new
  service" (line 1021);
* Set-ServiceState (lines 801-869): ``started`` starts a service that is not running, ``stopped`` stops
  one that is not stopped, ``restarted`` always runs ``Restart-Service`` and always reports changed;
  ``-WhatIf`` in check mode, so nothing changes then but ``changed`` is the same;
* the cmdlets as PowerShell implements them (Service.cs, ServiceOperationBaseCommand): stopping a
  service whose dependents are not all stopped fails without ``-Force`` ("Cannot stop service
  '<display> (<name>)' because it has dependent services. It can only be stopped if the Force flag is
  set."); with it, the running dependents stop first; ``Restart-Service`` then starts every service it
  stopped, dependents first, and the Service Control Manager starts a service's own dependencies
  before it (a dependency that fails gives the dependent "cannot be started" too);
* a start that fails (the lab faults ``service_fails_to_start`` and ``service_fails_to_start_times``, the
  latter counting down once per failed start, or ``start_mode: disabled``) is the
  cmdlet's error "Service '<display> (<name>)' cannot be started due to the following error: Cannot
  start service <name> on computer '.'.", which the module wrapper reports as "Unhandled exception
  while executing module: ..." (ansible-core module_wrapper.ps1 line 86); what was stopped stays stopped;
* the return keys of lines 1077-1115 (``state`` is the requested one, ``started``/``restarted`` as
  ``running``; ``username`` LocalSystem normalised), and ``diff`` before/after (Get-ServiceDiff,
  lines 215-262) with ``--diff``.
Other options (creating, deleting or reconfiguring services) fail: the lab does not emulate them.
"""

DOCUMENTATION = r"""
---
module: win_service
short_description: Lab stand-in for ansible.windows.win_service (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context

EMULATED = ("name", "state", "force_dependent_services", "start_mode")
UNHANDLED = "Unhandled exception while executing module: "


class ServiceError(Exception):
    pass


def label(svc):
    return "%s (%s)" % (svc["display_name"], svc["name"])


def cannot_start(svc):
    return ServiceError("Service '%s' cannot be started due to the following error: Cannot start service %s on "
                        "computer '.'." % (label(svc), svc["name"]))


class Scm:
    """The Service Control Manager and the *-Service cmdlets over system.json's services."""

    def __init__(self, system, check_mode):
        self.services = system["services"]
        self.failing = set(system["faults"].get("service_fails_to_start", []))
        self.fail_times = system["faults"].get("service_fails_to_start_times") or {}
        self.check_mode = check_mode
        self.system = system

    def get(self, name):
        return self.services.get(name.lower())

    def dependents(self, svc):
        return [s for s in self.services.values()
                if svc["name"].lower() in [d.lower() for d in s.get("dependencies") or []]]

    def scm_start(self, svc, chain=()):
        """StartService: the dependencies first (the SCM does that), then the service itself (-WhatIf: nothing)."""
        if svc["state"] == "started" or self.check_mode:
            return
        for name in svc.get("dependencies") or []:
            dep = self.get(name)
            if dep is None or name.lower() in chain:
                raise cannot_start(svc)
            try:
                self.scm_start(dep, chain + (svc["name"].lower(),))
            except ServiceError:
                raise cannot_start(svc) from None  # ERROR_SERVICE_DEPENDENCY_FAIL
        if svc["name"].lower() in self.failing or svc["start_mode"] == "disabled":
            raise cannot_start(svc)
        if self.fail_times.get(svc["name"].lower(), 0) > 0:
            self.fail_times[svc["name"].lower()] -= 1
            raise cannot_start(svc)
        used = {s.get("process_id") for s in self.services.values()} | {p["pid"] for p in self.system["processes"]}
        pid = 5000
        while pid in used:
            pid += 4
        # started_at: the lab's ``service_stops_again`` fault stops it that many seconds later; log_pending: a
        # ``sensor_log_on_start`` service writes its lines at the next read (system_state.observe).
        svc.update(state="started", process_id=pid, started_at=time.time(), log_pending=True)

    def stop(self, svc, force):
        """DoStopService: refuse without -Force when a dependent is not stopped; returns what it stopped."""
        stopped = []
        dependents = self.dependents(svc)
        if not force and any(d["state"] != "stopped" for d in dependents):
            raise ServiceError("Cannot stop service '%s' because it has dependent services. It can only be "
                               "stopped if the Force flag is set." % label(svc))
        for dep in dependents:
            if dep["state"] == "started":
                stopped += self.stop(dep, force)
        if not self.check_mode:
            svc["state"] = "stopped"
            svc["process_id"] = 0
        stopped.append(svc)
        return stopped

    def restart(self, svc, force):
        """Restart-Service: DoStopService, then DoStartService of every service it stopped, in that order."""
        for stopped in self.stop(svc, force):
            self.scm_start(stopped)


def diff_of(svc):
    return {
        "dependencies": list(svc.get("dependencies") or []), "description": svc.get("description") or "",
        "desktop_interact": False, "display_name": svc["display_name"], "error_control": "normal",
        "failure_actions": [], "failure_actions_on_non_crash_failure": False, "failure_command": None,
        "failure_reboot_msg": None, "failure_reset_period_sec": 86400, "load_order_group": "", "name": svc["name"],
        "path": svc["path"], "pre_shutdown_timeout_ms": 180000, "required_privileges": [],
        "service_type": "win32_own_process", "sid_info": "unrestricted", "start_mode": svc["start_mode"],
        "state": svc["state"],
        "username": "NT AUTHORITY\\SYSTEM" if svc["username"] == "LocalSystem" else svc["username"],
        "password": "REDACTED",
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dependencies=dict(type="list", elements="str"),
            dependency_action=dict(type="str", default="set", choices=["add", "remove", "set"]),
            description=dict(type="str"), desktop_interact=dict(type="bool", default=False),
            display_name=dict(type="str"),
            error_control=dict(type="str", choices=["critical", "ignore", "normal", "severe"]),
            failure_actions=dict(type="list", elements="dict"), failure_actions_on_non_crash_failure=dict(type="bool"),
            failure_command=dict(type="str"), failure_reboot_msg=dict(type="str"),
            failure_reset_period_sec=dict(type="int", aliases=["failure_reset_period"]),
            force_dependent_services=dict(type="bool", default=False), load_order_group=dict(type="str"),
            name=dict(type="str", required=True), password=dict(type="str", no_log=True), path=dict(type="str"),
            pre_shutdown_timeout_ms=dict(type="int", aliases=["pre_shutdown_timeout"]),
            required_privileges=dict(type="list", elements="str"),
            service_type=dict(type="str", choices=["win32_own_process", "win32_share_process", "user_own_process",
                                                   "user_share_process"]),
            sid_info=dict(type="str", choices=["none", "restricted", "unrestricted"]),
            start_mode=dict(type="str", choices=["auto", "manual", "disabled", "delayed"]),
            state=dict(type="str", choices=["started", "stopped", "restarted", "absent", "paused"]),
            update_password=dict(type="str", choices=["always", "on_create"]), username=dict(type="str"),
        ),
        required_by={"password": ["username"]},
        supports_check_mode=True,
    )
    p = module.params
    others = [k for k, v in p.items() if k not in EMULATED and v not in (None, False, "set")]
    if others or p["state"] in ("absent", "paused"):
        module.fail_json(msg="the lab's win_service stand-in emulates only name, state started/stopped/restarted, "
                             "force_dependent_services and start_mode, not %s" % ", ".join(others or [p["state"]]))
    st, host, user = context(module)
    from tests.lab import system_state  # importable once context() has put the checkout on sys.path

    result = {"changed": False, "exists": False}
    with system_state.transaction(host) as system:
        scm = Scm(system, module.check_mode)
        svc = scm.get(p["name"]) or next((s for s in system["services"].values()
                                          if s["display_name"].lower() == p["name"].lower()), None)
        if svc is None:
            if p["state"] or p["start_mode"]:
                module.fail_json(msg="Service '%s' is not installed, need to set 'path' to create a new service"
                                     % p["name"], **result)
            module.exit_json(**result)
        before = diff_of(svc)
        try:
            if p["start_mode"] and p["start_mode"] != svc["start_mode"]:
                if not module.check_mode:
                    svc["start_mode"] = p["start_mode"]
                result["changed"] = True
            if p["state"] == "started" and svc["state"] != "started":
                scm.scm_start(svc)
                result["changed"] = True
            elif p["state"] == "stopped" and svc["state"] != "stopped":
                scm.stop(svc, p["force_dependent_services"])
                result["changed"] = True
            elif p["state"] == "restarted":
                scm.restart(svc, p["force_dependent_services"])
                result["changed"] = True
        except ServiceError as exc:
            failure = {"failed": True, "msg": UNHANDLED + str(exc), "exception": str(exc)}
        else:
            failure = None
        after = diff_of(svc)
        if p["state"]:
            after["state"] = p["state"]
    if failure:
        module.fail_json(**failure)
    state = after["state"].replace("_", "")
    result.update(
        exists=True, dependencies=after["dependencies"], description=after["description"],
        desktop_interact=False, display_name=after["display_name"], name=after["name"], path=after["path"],
        start_mode=after["start_mode"], username="LocalSystem" if svc["username"] == "LocalSystem" else after["username"],
        state="running" if state in ("restarted", "started") else state, can_pause_and_continue=False,
        depended_by=sorted(d["name"] for d in scm.dependents(svc)),
    )
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Test-only become plugin of the atp.sensor_proxy lab: stands in for ansible.builtin.runas."""

from __future__ import annotations

DOCUMENTATION = """
    name: lab_runas
    short_description: become another Windows account on an emulated lab host (TEST ONLY)
    description:
        - Set inventory-wide as C(ansible_become_method) so that it overrides a task's C(become_method=runas).
        - Passes C(become_user) (SYSTEM, LocalSystem, LocalService, NetworkService, 'NT AUTHORITY\\LocalService', ...)
          to the lab's stand-in modules as C(ATP_LAB_BECOME_USER).
    author: atp.sensor_proxy contributors
    options:
        become_user:
            description: User you 'become' to execute the task.
            type: str
            default: SYSTEM
            ini:
              - section: privilege_escalation
                key: become_user
              - section: runas_become_plugin
                key: user
            vars:
              - name: ansible_become_user
              - name: ansible_runas_user
            env:
              - name: ANSIBLE_BECOME_USER
              - name: ANSIBLE_RUNAS_USER
            keyword:
              - name: become_user
        become_flags:
            description: Accepted and ignored, as runas flags mean nothing in the lab.
            type: str
            default: ''
            vars:
              - name: ansible_become_flags
              - name: ansible_runas_flags
            keyword:
              - name: become_flags
        become_pass:
            description: Accepted and ignored.
            type: str
            required: false
            vars:
              - name: ansible_become_password
              - name: ansible_become_pass
              - name: ansible_runas_pass
"""

import shlex

from ansible.plugins.become import BecomeBase


class BecomeModule(BecomeBase):
    name = "lab_runas"

    def build_become_command(self, cmd, shell):
        super().build_become_command(cmd, shell)
        if not cmd:
            return cmd
        user = self.get_option("become_user") or "SYSTEM"
        # Wrap the success marker, or the local connection waits for it in vain.
        # The _HEX copy survives any shell quoting, for the lab agent (tests/lab/agent.py).
        return "ATP_LAB_BECOME_USER=%s ATP_LAB_BECOME_USER_HEX=%s %s" % (
            shlex.quote(user), user.encode("utf-8").hex(), self._build_success_command(cmd, shell))

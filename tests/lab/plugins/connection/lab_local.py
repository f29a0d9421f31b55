# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Test-only connection plugin of the atp.sensor_proxy lab: "local", tagged with the emulated host."""

from __future__ import annotations

DOCUMENTATION = """
    name: lab_local
    short_description: run on the controller as an emulated Windows host of the atp.sensor_proxy lab (TEST ONLY)
    description:
        - Runs like C(local), but prefixes every command with the emulated host's name (C(ATP_LAB_HOST)),
          counts module executions (remote round trips) per host in the lab ledger, and implements the
          C(drop_after) fault by raising AnsibleConnectionFailure (the host becomes UNREACHABLE).
        - When the lab agent runs (C(ATP_LAB_AGENT_SOCKET), see tests/lab/agent.py), a pipelined module payload is
          run there, unchanged, by a warm fork of a preloaded interpreter instead of a fresh C(python).
    author: atp.sensor_proxy contributors
    options:
        lab_host:
            description: Name of the emulated host (its directory under the lab's hosts/).
            type: str
            vars:
                - name: atp_lab_host
                - name: inventory_hostname
        lab_dir:
            description: The lab directory.
            type: str
            env:
                - name: ATP_LAB_DIR
            vars:
                - name: atp_lab_dir
        become_success_timeout:
            type: int
            default: 10
            description: Re-declared from C(local), see there.
            vars:
                - name: ansible_local_become_success_timeout
        become_strip_preamble:
            type: bool
            default: true
            description: Re-declared from C(local), see there.
            vars:
                - name: ansible_local_become_strip_preamble
    extends_documentation_fragment:
        - connection_pipelining
"""

import os
import re
import shlex
import sys

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.connection.local import Connection as LocalConnection

_MODULE_NAME = re.compile(rb"(?:ansible_collections\.[\w.]+?\.plugins\.modules|ansible\.modules)\.(\w+)")
_BECOME_USER_HEX = re.compile(r"ATP_LAB_BECOME_USER_HEX=([0-9a-f]*)")  # written by the lab_runas become plugin


def _lab_state(lab_dir):
    repo = os.environ.get("ATP_LAB_REPO")
    if repo and repo not in sys.path:
        sys.path.insert(0, repo)
    from tests.lab import state

    return state


class Connection(LocalConnection):
    transport = "lab_local"
    has_pipelining = True

    def _lab_host(self):
        st = _lab_state(self.get_option("lab_dir"))
        name = self.get_option("lab_host")
        lab_dir = self.get_option("lab_dir")
        if not name or not lab_dir:
            raise AnsibleError("lab_local needs lab_host and lab_dir (ATP_LAB_DIR)")
        return st.Lab(lab_dir).host(name)

    def _run_in_agent(self, host, cmd, in_data):
        """The module payload through the lab agent: (rc, stdout, stderr), or None to run python here."""
        socket_path = os.environ.get("ATP_LAB_AGENT_SOCKET")
        if not socket_path or os.environ.get("ATP_LAB_AGENT") == "0":
            return None
        st = _lab_state(None)
        repo = os.environ.get("ATP_LAB_REPO")
        if repo and repo not in sys.path:
            sys.path.insert(0, repo)
        from tests.lab import agent

        env = {"ATP_LAB_HOST": host.name, "ATP_LAB_DIR": str(host.lab.dir)}
        match = _BECOME_USER_HEX.search(cmd)
        if match:
            env[st.ENV_BECOME_USER] = bytes.fromhex(match.group(1)).decode("utf-8")
        return agent.run_payload(socket_path, in_data, env)

    def exec_command(self, cmd, in_data=None, sudoable=True):
        name = self.get_option("lab_host")
        lab_dir = self.get_option("lab_dir")
        if not lab_dir or not name or not os.path.exists(os.path.join(lab_dir, "hosts", name, "state.json")):
            # Not an emulated host (e.g. the implicit localhost of a summary play): plain local.
            return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        host = self._lab_host()
        if in_data is not None:  # a pipelined module execution: one remote round trip
            match = _MODULE_NAME.search(in_data)
            module = match.group(1).decode() if match else "unknown"
            limit = host.faults().get("drop_after")
            calls = host.record_module_call(module)
            if limit is not None and calls > int(limit):
                raise AnsibleConnectionFailure(
                    "lab: connection to %s dropped (fault drop_after=%s, module call %d: %s)"
                    % (host.name, limit, calls, module)
                )
            answer = self._run_in_agent(host, cmd, in_data)
            if answer is not None:
                return answer
        prefix = "ATP_LAB_HOST=%s ATP_LAB_DIR=%s " % (shlex.quote(host.name), shlex.quote(str(host.lab.dir)))
        return super().exec_command(prefix + cmd, in_data=in_data, sudoable=sudoable)

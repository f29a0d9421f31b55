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
          counts every remote command per host in the lab ledger (a module execution, a shell command such as
          the temporary directory's creation and removal, a file transfer; each is one WinRM command on a real
          host), and implements the C(drop_after) fault by raising AnsibleConnectionFailure on the command
          after the Nth (the host becomes UNREACHABLE).
        - C(ATP_LAB_LATENCY) (seconds, a float) models the WinRM cost of each remote command; the plugin sleeps
          that long before running it (C(bench/fleet.py --latency)).
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
import time

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

    def _lab_command(self, what: str):
        """Count one remote command on the emulated host (module name, ``_shell`` or ``_put_file``), apply the
        ``drop_after`` fault and the modelled WinRM latency. Returns the Host, or None for a non-lab host."""
        name = self.get_option("lab_host")
        lab_dir = self.get_option("lab_dir")
        if not lab_dir or not name or not os.path.exists(os.path.join(lab_dir, "hosts", name, "state.json")):
            return None  # not an emulated host (e.g. the implicit localhost of a summary play): plain local
        host = self._lab_host()
        limit = host.faults().get("drop_after")
        calls = host.record_module_call(what)
        if limit is not None and calls > int(limit):
            raise AnsibleConnectionFailure(
                "lab: connection to %s dropped (fault drop_after=%s, remote command %d: %s)"
                % (host.name, limit, calls, what)
            )
        latency = float(os.environ.get("ATP_LAB_LATENCY") or 0)
        if latency > 0:
            time.sleep(latency)
        return host

    def exec_command(self, cmd, in_data=None, sudoable=True):
        if in_data is not None:  # a pipelined module execution
            match = _MODULE_NAME.search(in_data)
            what = match.group(1).decode() if match else "unknown"
        else:  # a shell command: the temporary directory's creation or removal, a chmod, ...
            what = "_shell"
        host = self._lab_command(what)
        if host is None:
            return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        if in_data is not None:
            answer = self._run_in_agent(host, cmd, in_data)
            if answer is not None:
                return answer
        prefix = "ATP_LAB_HOST=%s ATP_LAB_DIR=%s " % (shlex.quote(host.name), shlex.quote(str(host.lab.dir)))
        return super().exec_command(prefix + cmd, in_data=in_data, sudoable=sudoable)

    def put_file(self, in_path, out_path):
        """A file transfer is one more WinRM command (the winrm plugin streams it through one PowerShell call)."""
        self._lab_command("_put_file")
        return super().put_file(in_path, out_path)

    def fetch_file(self, in_path, out_path):
        self._lab_command("_fetch_file")
        return super().fetch_file(in_path, out_path)

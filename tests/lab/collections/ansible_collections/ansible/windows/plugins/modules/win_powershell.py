# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_powershell (TEST ONLY). It runs the script it is given, whatever it is,
through the lab's PowerShell executor (``tests/lab/pwsh``): the exact text is parsed with tree-sitter-powershell
and executed with Windows PowerShell 5.1's semantics against this host's state, as the connection user or the
become account. A construct the executor does not emulate fails the task with "unsupported in the lab:
<construct> at line N"; nothing is answered from Python.

Mirrors plugins/modules/win_powershell.ps1 (ansible.windows 3.3.0), see ``tests/lab/pwsh/runner.py``:
* the options of lines 15-52 (``script``, ``parameters``, ``depth`` 2, ``error_action`` continue/stop/
  silently_continue, ``sensitive_parameters`` with its ``no_log`` ``password``/``value``, its mutually exclusive,
  required-one-of and required-together rules, ...); ``path``, ``executable``, ``arguments``, ``chdir``,
  ``creates``, ``removes`` and ``remote_src`` are refused (the collection never sends them);
* ``sensitive_parameters`` (lines 811-829): ``username``/``password`` become a PSCredential parameter, ``value`` a
  SecureString;
* become (ansible-core's runas, before the module runs): ``_lab.become_gate``, as for win_uri;
* the result keys of lines 55-63 and 891-935: ``result`` ($Ansible.Result), ``output``, ``error`` (one entry
  per error record), ``changed`` ($Ansible.Changed, true unless the script sets it), ``failed`` for a terminating
  error or ``$Ansible.Failed``;
* check mode (lines 568-592): only a script declaring ``[CmdletBinding(SupportsShouldProcess)]`` runs, with
  ``-WhatIf``; any other returns ``changed: true`` and ``msg: skipped, running in check mode``.
"""

DOCUMENTATION = r"""
---
module: win_powershell
short_description: Lab stand-in for ansible.windows.win_powershell (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import become_gate, context

REFUSED = ("path", "executable", "arguments", "chdir", "creates", "removes")
# win_powershell.ps1 lines 25-40.
SENSITIVE = dict(
    type="list", elements="dict",
    options=dict(name=dict(type="str", required=True), username=dict(type="str"),
                 password=dict(type="str", no_log=True), value=dict(type="str", no_log=True)),
    mutually_exclusive=[["value", "username"], ["value", "password"]],
    required_one_of=[["username", "value"]],
    required_together=[["username", "password"]],
)


def main():
    become_gate()
    module = AnsibleModule(
        argument_spec=dict(
            arguments=dict(type="list", elements="str"), chdir=dict(type="str"), creates=dict(type="str"),
            depth=dict(type="int", default=2), error_action=dict(type="str", default="continue",
                                                                 choices=["silently_continue", "continue", "stop"]),
            executable=dict(type="str"), parameters=dict(type="dict"), path=dict(type="str"),
            remote_src=dict(type="bool", default=False), removes=dict(type="str"), script=dict(type="str"),
            sensitive_parameters=SENSITIVE,
        ),
        required_one_of=[["path", "script"]],
        mutually_exclusive=[["path", "script"]],
        supports_check_mode=True,
    )
    refused = [name for name in REFUSED if module.params[name]]
    if refused:
        module.fail_json(msg="unsupported in the lab: win_powershell option %s" % ", ".join(refused))
    st, host, account = context(module)
    from tests.lab.pwsh import runner  # importable once context() has put the checkout on sys.path
    from tests.lab.pwsh.errors import Unsupported

    try:
        result = runner.run(module.params["script"], host, account, module.params["parameters"] or {},
                            module.params["depth"], module.params["error_action"], module.check_mode,
                            module._verbosity, module.params["sensitive_parameters"])
    except Unsupported as exc:
        module.fail_json(msg=str(exc), **runner.empty_result())
    module.exit_json(**result)


if __name__ == "__main__":
    main()

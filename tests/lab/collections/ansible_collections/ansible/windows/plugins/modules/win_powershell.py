# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_powershell (TEST ONLY). The lab runs no PowerShell: this answers exactly
the scripts the collection sends (``plugins/plugin_utils/_sensor_scripts.py``, loaded from the checkout) and
refuses any other script.

Mirrors plugins/modules/win_powershell.ps1 (ansible.windows 3.3.0):
* the result keys set at lines 55-63 (``result``, ``host_out``, ``host_err``, ``output``, ``error``,
  ``warning``, ``verbose``, ``debug``, ``information``) and ``changed`` from ``$Ansible.Changed`` (line 894;
  it defaults to true, line 667; our scripts set it to false);
* check mode: a script whose param block has ``[CmdletBinding(SupportsShouldProcess)]`` runs (lines
  568-587, 835); any other returns ``changed: true`` and ``msg: skipped, running in check mode`` without
  running (lines 589-592);
* ``output`` holds the script's objects; an ``[Ordered]@{}`` becomes a dict (Convert-OutputObject).
The SenseIdentity query answers from the host's processes in ``system.json`` (tests/lab/system_state.py):
``Get-Process -Name`` matches the name in any case.
"""

DOCUMENTATION = r"""
---
module: win_powershell
short_description: Lab stand-in for ansible.windows.win_powershell (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context


def scripts(st):
    path = os.path.join(os.environ["ATP_LAB_REPO"], "plugins", "plugin_utils", "_sensor_scripts.py")
    return st.load_by_path("atp_lab_sensor_scripts", path).SCRIPTS


def main():
    module = AnsibleModule(
        argument_spec=dict(
            arguments=dict(type="list", elements="str"), chdir=dict(type="str"), creates=dict(type="str"),
            depth=dict(type="int", default=2), error_action=dict(type="str", default="continue",
                                                                 choices=["silently_continue", "continue", "stop"]),
            executable=dict(type="str"), parameters=dict(type="dict"), path=dict(type="str"),
            remote_src=dict(type="bool", default=False), removes=dict(type="str"), script=dict(type="str"),
            sensitive_parameters=dict(type="list", elements="dict", no_log=False),
        ),
        required_one_of=[["path", "script"]],
        mutually_exclusive=[["path", "script"]],
        supports_check_mode=True,
    )
    script = module.params["script"] or ""
    result = {"changed": True, "result": {}, "host_out": "", "host_err": "", "output": [], "error": [],
              "warning": [], "verbose": [], "debug": [], "information": []}
    st, host, user = context(module)
    known = {text: name for name, text in scripts(st).items()}
    if script not in known:
        module.fail_json(msg="the lab's win_powershell stand-in runs no PowerShell: it answers only the scripts in "
                             "plugins/plugin_utils/_sensor_scripts.py, and this one is not among them", **result)
    if module.check_mode and not re.search(r"\[CmdletBinding\(\s*SupportsShouldProcess(\s*=\s*\$true)?\s*\)\]", script):
        module.exit_json(**dict(result, msg="skipped, running in check mode"))
    from tests.lab import system_state  # importable once context() has put the checkout on sys.path

    if known[script] == "sense_identity_process":
        result["output"] = [{"name": p["name"], "pid": p["pid"], "path": p.get("path")}
                            for p in system_state.read(host)["processes"] if p["name"].lower() == "senseidentity"]
        result["changed"] = False
    module.exit_json(**result)


if __name__ == "__main__":
    main()

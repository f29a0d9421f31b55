# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent (tests/lab/agent.py) changes speed only: the same playbook gives the same results,
failures, become accounts and round trips with and without it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab

CONN = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
PLAY = r"""
- hosts: all
  gather_facts: false
  tasks:
    - name: read as LocalService (HKCU is S-1-5-19)
      ansible.windows.win_reg_stat: {path: 'HKCU:\%(conn)s', name: DefaultConnectionSettings}
      become: true
      become_method: ansible.builtin.runas
      become_user: NT AUTHORITY\LocalService
    - name: read as the connection user
      ansible.windows.win_reg_stat: {path: 'HKCU:\%(conn)s', name: DefaultConnectionSettings}
    - name: write
      ansible.windows.win_regedit: {path: 'HKLM:\SOFTWARE\Lab', name: Count, data: 7, type: dword}
    - name: write under an unloaded hive
      ansible.windows.win_regedit: {path: 'HKU:\S-1-5-20\Software\Lab', name: X, data: 1, type: dword}
      ignore_errors: true
    - name: bad arguments
      ansible.windows.win_stat: {}
      ignore_errors: true
""" % {"conn": CONN}
VOLATILE = {"start", "end", "delta", "elapsed"}


def _run(make_lab, agent):
    env = make_lab(1)
    env.agent = agent
    env.host("dc01").seed({"LocalService": {"proxy_server": "ls.corp:8080"}, "unloaded": ["S-1-5-20"]})
    run = env.run_playbook(PLAY)
    results = [(r["task"], r["status"], {k: v for k, v in r["result"].items() if k not in VOLATILE})
               for r in run.results]
    return env, run, results


def test_same_results_with_and_without_the_agent(make_lab):
    env_on, run_on, with_agent = _run(make_lab, True)
    env_off, run_off, without = _run(make_lab, False)
    assert run_on.rc == run_off.rc == 0, (run_on, run_off)
    assert with_agent == without
    assert run_on.agent_calls == 5 and run_off.agent_calls is None  # the agent really ran every module
    assert env_on.round_trips() == env_off.round_trips() == {"dc01": 5}
    # What the results say: become reached the module through the agent, failures keep their messages.
    by_task = {task: (status, result) for task, status, result in with_agent}
    status, ls = by_task["read as LocalService (HKCU is S-1-5-19)"]
    assert status == "ok" and ls["exists"] is True and ls["type"] == "REG_BINARY"
    assert by_task["read as the connection user"][1]["exists"] is False
    status, denied = by_task["write under an unloaded hive"]
    assert status == "ignored" and "S-1-5-20" in denied["msg"]
    status, bad = by_task["bad arguments"]
    assert status == "ignored" and "missing required arguments: path" in bad["msg"]
    assert env_on.host("dc01").get_value(r"HKLM:\SOFTWARE\Lab", "Count")["data"] == 7


BUSY = r"""
- hosts: all
  gather_facts: false
  tasks:
    - name: count
      ansible.windows.win_powershell:
        script: |
          $n = 0
          $i = 0
          while ($i -lt %d) { $i += 1; $n += $i }
          $Ansible.Result = @{ n = $n }
"""


def test_the_cpu_of_every_module_the_agent_runs_is_accounted(make_lab):
    """PlaybookResult.agent_cpu includes the modules' own CPU (the agent reaps its children) and controller_cpu is
    ansible-playbook's: a module that computes 200 times more moves the agent's CPU, not the controller's."""
    env = make_lab(1)
    light = env.run_playbook(BUSY % 100)
    heavy = env.run_playbook(BUSY % 20000)
    assert light.rc == heavy.rc == 0, (light, heavy)
    assert heavy.result("dc01", "count")["result"] == {"n": 20000 * 20001 // 2}
    assert light.agent_calls == heavy.agent_calls == 1
    assert heavy.agent_cpu - light.agent_cpu > 0.2, (light.agent_cpu, heavy.agent_cpu)
    assert heavy.controller_cpu > 0.5 and light.controller_cpu > 0.5  # ansible-playbook's start alone is more
    env.agent = False
    without = env.run_playbook(BUSY % 100)
    assert without.rc == 0 and without.agent_cpu is None


PRELOADED = r"""
import json, sys
from tests.lab import agent
agent._preload(sys.argv[1])
names = [n for n in sys.modules if n.startswith("ansible_collections.ansible.windows")]
print(json.dumps({n: getattr(sys.modules[n], "__file__", None) or list(sys.modules[n].__path__) for n in names}))
"""


def test_the_agent_preloads_the_stand_in_module_utils_from_the_labs_collections_root_only(tmp_path):
    """The stand-in collection's packages and module_utils come from the lab's collections root (the files the
    controller zips), never from site-packages' real ansible.windows, and the modules themselves are not preloaded
    (each payload runs its module afresh); outside a lab nothing is preloaded."""
    import json
    import os
    import subprocess
    import sys

    from tests.lab.fixtures import REPO_ROOT, build_standin_collection

    root = tmp_path / "collections"
    build_standin_collection(root)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([str(root), "/nowhere"]))
    out = subprocess.run([sys.executable, "-c", PRELOADED, str(REPO_ROOT)], env=env, cwd=str(REPO_ROOT), capture_output=True,
                         text=True, check=True).stdout
    loaded = json.loads(out)
    prefix = "ansible_collections.ansible.windows.plugins."
    assert loaded[prefix + "module_utils._lab"] == str(root / "ansible_collections/ansible/windows/plugins/module_utils/_lab.py")
    assert loaded[prefix + "modules"] == str(root / "ansible_collections/ansible/windows/plugins/modules/__init__.py")
    assert not [n for n in loaded if n.startswith(prefix + "modules.")]  # no module itself
    env["ANSIBLE_COLLECTIONS_PATH"] = "/nowhere"
    out = subprocess.run([sys.executable, "-c", PRELOADED, str(REPO_ROOT)], env=env, cwd=str(REPO_ROOT), capture_output=True,
                         text=True, check=True).stdout
    assert json.loads(out) == {}


PREPARSED = r"""
import json, sys
from tests.lab import agent
from tests.lab.pwsh import syntax
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _script as probe_script
agent._preload(sys.argv[1])
before = syntax._parsed.cache_info()
root = syntax.parse(probe_script.SCRIPT)
blocks = [n for n in syntax.walk(root) if n.type == "script_block_expression"]
for block in blocks:
    syntax.parse(syntax.text(block)[1:-1])
after = syntax._parsed.cache_info()
print(json.dumps({"blocks": len(blocks), "hits": after.hits - before.hits, "misses": after.misses - before.misses}))
"""


def test_the_agent_parses_the_collections_scripts_and_their_script_blocks_before_it_forks():
    """After the agent's preload, the probe script and its per-URL request block (which AddScript parses again) are
    in the parse cache each call inherits: parsing them again is a hit, never a parse."""
    import json
    import os
    import subprocess
    import sys

    from tests.lab.fixtures import BUILD_COLLECTIONS, REPO_ROOT

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BUILD_COLLECTIONS), str(REPO_ROOT)]))
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    out = subprocess.run([sys.executable, "-c", PREPARSED, str(REPO_ROOT)], env=env, cwd=str(REPO_ROOT),
                         capture_output=True, text=True, check=True).stdout
    counts = json.loads(out)
    assert counts["blocks"] >= 1 and counts == {"blocks": counts["blocks"], "hits": 1 + counts["blocks"], "misses": 0}

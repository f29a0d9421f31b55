# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real-Windows integration targets, checked as far as this Linux machine can.

* ``ansible-test windows-integration --list-targets`` (on a copy of the collection at
  ``.../ansible_collections/atp/sensor_proxy``) lists exactly our targets;
* ``ansible-playbook --syntax-check`` parses every task file of every target, with every
  module and role resolved (an unknown FQCN or a typo in a keyword fails);
* the shared scenario file is in sync with its copy and agrees with the codec.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as _wininet

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TARGETS_DIR = HERE / "targets"
TARGETS = ("atp_endpoint_probe", "atp_proxy", "atp_self_check", "win_wininet_proxy", "win_wininet_proxy_compare")
BIN = Path(sys.executable).parent

sys.path.insert(0, str(HERE))
import sync_scenarios  # noqa: E402


def _env(**extra) -> dict:
    env = dict(os.environ)
    env["PATH"] = "%s%s%s" % (BIN, os.pathsep, env.get("PATH", ""))
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".build" / "collections"))
    env["ANSIBLE_NOCOLOR"] = "1"
    env.update(extra)
    return env


def _scenarios() -> dict:
    return yaml.safe_load((HERE / "scenarios.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def collection_copy(tmp_path_factory) -> Path:
    """A real copy (not a symlink: ansible-test refuses those) under ansible_collections/atp/sensor_proxy."""
    dest = tmp_path_factory.mktemp("ansible-test") / "ansible_collections" / "atp" / "sensor_proxy"
    dest.mkdir(parents=True)
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True, capture_output=True
    ).stdout
    tar_out = subprocess.run(["tar", "--null", "-cf", "-", "-T", "-"], cwd=REPO, input=files, check=True, capture_output=True)
    subprocess.run(["tar", "-xf", "-", "-C", str(dest)], input=tar_out.stdout, check=True)
    return dest


def _ansible_test(copy: Path, *args: str) -> list:
    proc = subprocess.run(
        [str(BIN / "ansible-test"), *args, "--list-targets"],
        cwd=copy, env=_env(), capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line for line in proc.stdout.splitlines() if line and not line.startswith("WARNING")]


def test_windows_integration_lists_our_targets(collection_copy):
    assert sorted(_ansible_test(collection_copy, "windows-integration")) == list(TARGETS)
    # The CI group alias selects them too, and the setup target stays hidden.
    assert sorted(_ansible_test(collection_copy, "windows-integration", "shippable/windows/group1/")) == list(TARGETS)


def test_posix_integration_does_not_pick_windows_targets(collection_copy):
    proc = subprocess.run(
        [str(BIN / "ansible-test"), "integration", "--list-targets"],
        cwd=collection_copy, env=_env(), capture_output=True, text=True, timeout=120, check=False,
    )
    assert not [t for t in TARGETS if t in proc.stdout.split()]


@pytest.mark.parametrize("target", TARGETS)
def test_target_layout(target):
    tdir = TARGETS_DIR / target
    aliases = (tdir / "aliases").read_text(encoding="utf-8").split()
    assert "windows" in aliases and "shippable/windows/group1" in aliases
    meta = yaml.safe_load((tdir / "meta" / "main.yml").read_text(encoding="utf-8"))
    assert "setup_wininet_state" in meta["dependencies"]
    main = yaml.safe_load((tdir / "tasks" / "main.yml").read_text(encoding="utf-8"))
    tasks = {t["name"]: t for t in main}
    save = next(t for t in main if t.get("ansible.builtin.include_role", {}).get("tasks_from") == "save.yml")
    block = next(t for t in main if "block" in t)
    assert main.index(save) < main.index(block), "originals must be saved before the block"
    assert block["block"][0]["ansible.builtin.import_tasks"] == "tests.yml"
    assert block["always"][0]["ansible.builtin.include_role"]["tasks_from"] == "restore.yml"
    assert tasks


def _task_files(target: str) -> list:
    return sorted((TARGETS_DIR / target / "tasks").glob("*.yml"))


@pytest.mark.parametrize("target", TARGETS + ("setup_wininet_state",))
def test_syntax_check(target, tmp_path):
    """The role as ansible-test runs it, plus every task file imported statically (include_tasks is dynamic)."""
    imports = "".join("    - ansible.builtin.import_tasks: %s\n" % f for f in _task_files(target))
    playbook = tmp_path / ("%s.yml" % target)
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  roles:\n    - %s\n"
        "- hosts: all\n  gather_facts: false\n  tasks:\n%s" % (target, imports),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "windows-host,", "--syntax-check", str(playbook)],
        env=_env(ANSIBLE_ROLES_PATH=str(TARGETS_DIR)), capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_module_and_role_is_called_by_fqcn():
    """A bare module name would run on a real host only by luck of the collections keyword."""
    known_keywords = {
        "name", "loop", "loop_control", "register", "vars", "when", "check_mode", "diff", "block", "always",
        "rescue", "ignore_errors", "become", "become_method", "become_user", "delegate_to", "failed_when",
        "changed_when", "no_log", "tags", "environment", "run_once",
    }
    for target in TARGETS + ("setup_wininet_state",):
        for path in _task_files(target):
            stack = list(yaml.safe_load(path.read_text(encoding="utf-8")) or [])
            while stack:
                task = stack.pop()
                for key in ("block", "always", "rescue"):
                    stack.extend(task.get(key, []))
                actions = [k for k in task if k not in known_keywords]
                if "block" in task:
                    continue
                assert len(actions) == 1, "%s: %r" % (path, task)
                assert actions[0].count(".") == 2, "%s: %s is not a FQCN" % (path, actions[0])


def test_scenario_copy_in_sync():
    assert sync_scenarios.stale_copies() == [], "run: .venv/bin/python tests/integration/sync_scenarios.py"


def test_scenario_values_decode_to_what_they_claim():
    data = _scenarios()
    for name, value in data["atp_it_values"].items():
        decoded = _wininet.decode(value["hex"]).to_dict()
        for key in ("counter", "proxy_server", "bypass", "flags"):
            assert decoded[key] == value[key], (name, key)
    # "wanted" is exactly what encoding the declarative settings gives.
    assert _wininet.encode(data["atp_it_settings"]).hex() == data["atp_it_values"]["wanted"]["hex"]


def test_scenario_expectations_agree_with_the_codec():
    """The expected states are what the codec's compare says, so the lab and Windows assert the same truth."""
    data = _scenarios()
    values = data["atp_it_values"]
    names = [s["name"] for s in data["atp_it_scenarios"]]
    assert data["atp_it_apply_scenario"] in names
    assert len(set(names)) == len(names)
    for scenario in data["atp_it_scenarios"]:
        source = values[scenario["source"]]["hex"]
        states = {}
        for sid, start in scenario["start"].items():
            states[sid] = "missing" if start is None else _wininet.compare(source, values[start]["hex"])["state"]
        assert states == scenario["expected"], scenario["name"]
        assert scenario["in_sync"] == all(s in ("identical", "equivalent") for s in states.values())
        assert sorted(scenario["changed_sids"]) == sorted(s for s, st in states.items() if st in ("missing", "different"))
    states = {s["expected"][sid] for s in data["atp_it_scenarios"] for sid in s["expected"]}
    assert {"identical", "equivalent", "different", "missing"} <= states


def test_winrm_inventory_template_parses():
    """The template docs/testing.md tells users to copy is valid INI with a WinRM host and no secret."""
    import json

    template = HERE / "inventory.winrm.template"
    proc = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(template), "--list"],
        env=_env(ANSIBLE_INVENTORY_ENABLED="ini"), capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    inv = json.loads(proc.stdout)
    hostvars = inv["_meta"]["hostvars"]["win-lab-dc01"]
    assert hostvars["ansible_connection"] == "winrm"
    assert hostvars["ansible_winrm_server_cert_validation"] == "validate"
    assert "lookup(" in hostvars["ansible_password"]
    assert {"windows", "winrm", "testhost"} <= set(inv)

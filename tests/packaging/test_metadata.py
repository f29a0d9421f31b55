# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's metadata tells the truth: meta/runtime.yml's action group has every module, galaxy.yml describes
what the collection does, and the README names the versions the matrix tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
RUNTIME = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
MATRIX = yaml.safe_load((REPO / "hack" / "matrix" / "matrix.yml").read_text())


def modules() -> list:
    return sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.name != "__init__.py")


def test_the_action_group_lists_every_module_once():
    """``module_defaults: {group/atp.sensor_proxy.sensor_proxy: ...}`` reaches a module only if it is listed."""
    (group,) = RUNTIME["action_groups"]
    listed = RUNTIME["action_groups"][group]
    assert group == "sensor_proxy"
    assert len(listed) == len(set(listed)), "listed twice: %s" % sorted({m for m in listed if listed.count(m) > 1})
    missing = sorted(set(modules()) - set(listed))
    assert missing == [], "modules missing from action_groups.%s in meta/runtime.yml: %s" % (group, missing)
    unknown = sorted(set(listed) - set(modules()))
    assert unknown == [], "action_groups.%s lists what plugins/modules does not have: %s" % (group, unknown)
    assert len(modules()) >= 9


def test_galaxy_description_and_tags_describe_the_collection():
    description = " ".join(GALAXY["description"].split())
    # What the collection sets and where (docs/sensor.md, docs/mde.md), and the probe.
    for term in ("Defender for Identity", "Defender for Endpoint", "SensorConfiguration.json", "v3", "WinINet",
                 "WinHTTP", "probe", "domain controllers"):
        assert term in description, term
    assert "copies" not in description.lower(), "the collection sets the proxy where the sensor reads it"
    assert len(description) <= 255, "a summary: the README says the rest"
    tags = GALAXY["tags"]
    assert len(tags) == len(set(tags)) <= 20
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,63}", tag) for tag in tags), tags  # Galaxy's tag rule
    assert {"windows", "defender", "proxy", "wininet", "winhttp", "mdi", "mde"} <= set(tags)


def test_the_dependency_floor_is_the_lowest_ansible_windows_the_matrix_tests():
    floor = GALAXY["dependencies"]["ansible.windows"]
    assert floor == ">=%s" % min((r["ansible_windows"] for r in MATRIX["rows"]),
                                 key=lambda v: tuple(int(x) for x in v.split(".")))


def test_the_readme_names_every_tested_version():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Tested versions", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"\| 2\.\d+ \|", line)]
    found = [tuple(c.strip() for c in line.strip("|").split("|"))[:3] for line in rows]
    assert found == [(r["ansible_core"], r["python"], r["ansible_windows"]) for r in MATRIX["rows"]]
    assert "requires_ansible: '%s'" % RUNTIME["requires_ansible"] in section
    assert "ansible.windows: '%s'" % GALAXY["dependencies"]["ansible.windows"] in section


def test_module_defaults_for_the_group_reach_a_module_the_group_used_to_miss(tmp_path):
    """Real ansible-playbook: ``module_defaults`` given for the group set ``dest`` and ``title`` of
    ``atp_proxy_fleet_report`` (one of the six modules the group once left out), which then writes its report there."""
    out = tmp_path / "report"
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "module_defaults": {"group/atp.sensor_proxy.sensor_proxy": {"dest": str(out), "title": "Set by the group"}},
        "tasks": [{"name": "Write an empty fleet report", "atp.sensor_proxy.atp_proxy_fleet_report": {"rows": []}}],
    }]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(playbook)], capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.is_dir(), "the group's module_defaults did not reach atp_proxy_fleet_report (no report in dest)"
    assert any("Set by the group" in p.read_text() for p in out.iterdir() if p.suffix in (".html", ".md"))

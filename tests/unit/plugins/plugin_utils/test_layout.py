# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The architecture in the tree: every module of ``plugins/plugin_utils`` sits in a domain package, a package imports
only the packages before it in ``LAYERS`` (so no cycle), and only the modules the other package lists in its
``PUBLIC_MODULES``. Read from the source with ``ast``, as a reviewer would read the imports."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
UTILS = REPO / "plugins" / "plugin_utils"
PREFIX = "ansible_collections.atp.sensor_proxy.plugins.plugin_utils"
MAX_LINES = 450
BASE = importlib.import_module(PREFIX)


def _package(name: str):
    return importlib.import_module("%s.%s" % (PREFIX, name))


def _imports(path: Path):
    """(package, module) pairs of every collection import of one file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PREFIX + "."):
            parts = node.module[len(PREFIX) + 1:].split(".")
            if len(parts) == 1:
                for alias in node.names:
                    yield parts[0], alias.name
            else:
                yield parts[0], parts[1]


def _sources():
    return sorted(p for p in UTILS.rglob("*.py") if p.name != "__init__.py")


def test_every_module_sits_in_a_domain_package():
    loose = [p.name for p in UTILS.glob("*.py") if p.name not in ("__init__.py", "_action.py")]
    assert loose == []
    assert sorted(p.name for p in UTILS.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(BASE.LAYERS)


def _violations(path: Path, own: str) -> list:
    """What breaks the layering in one file of package ``own``: a later layer imported, or a private module."""
    rank = BASE.LAYERS.index(own) if own in BASE.LAYERS else len(BASE.LAYERS)
    found = []
    for package, module in _imports(path):
        if package in (own, "_action"):
            continue
        if package not in BASE.LAYERS or BASE.LAYERS.index(package) >= rank:
            found.append("imports %s, a later layer" % package)
        elif module not in _package(package).PUBLIC_MODULES:
            found.append("imports %s.%s, which %s does not export" % (package, module, package))
    return found


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(UTILS)))
def test_a_package_imports_only_earlier_packages_and_their_public_modules(path):
    assert _violations(path, path.relative_to(UTILS).parts[0]) == [], path.relative_to(REPO)


@pytest.mark.parametrize("folder", ["action", "filter"])
def test_plugins_import_only_public_modules(folder):
    for path in sorted((REPO / "plugins" / folder).glob("*.py")):
        for package, module in _imports(path):
            if package != "_action":
                assert module in _package(package).PUBLIC_MODULES, (path.name, package, module)


def test_every_public_module_exists():
    for name in BASE.LAYERS:
        for module in _package(name).PUBLIC_MODULES:
            assert (UTILS / name / (module + ".py")).is_file(), (name, module)


def test_the_layout_rules_catch_an_import_running_back_up_and_a_private_module(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from %s._job import _job\nfrom %s._sensor import _watch as watch\n" % (PREFIX, PREFIX))
    assert _violations(bad, "_host") == ["imports _job, a later layer", "imports _sensor, a later layer"]
    assert _violations(bad, "_fleet") == ["imports _job, a later layer", "imports _sensor._watch, which _sensor does not export"]
    assert _violations(bad, "_job") == ["imports _sensor._watch, which _sensor does not export"]


@pytest.mark.parametrize("path", sorted(REPO.joinpath("plugins").rglob("*.py")), ids=lambda p: str(p.relative_to(REPO)))
def test_no_file_is_over_the_limit_without_its_reason(path):
    lines = path.read_text().splitlines()
    if len(lines) > MAX_LINES:
        head = "\n".join(lines[:40])
        assert "One concern:" in head, "%s has %d lines; split it, or say at its top why it is one concern " \
            "('One concern: ...')" % (path.relative_to(REPO), len(lines))

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


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(UTILS)))
def test_a_package_imports_only_earlier_packages_and_their_public_modules(path):
    own = path.relative_to(UTILS).parts[0]
    rank = BASE.LAYERS.index(own) if own in BASE.LAYERS else len(BASE.LAYERS)
    for package, module in _imports(path):
        if package == own or package == "_action":
            continue
        assert package in BASE.LAYERS, (path, package)
        assert BASE.LAYERS.index(package) < rank, "%s imports %s, a later layer" % (path.relative_to(REPO), package)
        assert module in _package(package).PUBLIC_MODULES, "%s imports %s.%s, which %s does not export" % (
            path.relative_to(REPO), package, module, package)


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


def test_the_layout_rules_catch_an_import_running_back_up(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from %s._job import _job\n" % PREFIX)
    assert list(_imports(bad)) == [("_job", "_job")]
    assert BASE.LAYERS.index("_job") > BASE.LAYERS.index("_host")

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A broken module doc fails ``make test``: its ``docs-lint`` step (antsibull-docs lint-collection-docs
--plugin-docs) is run here by make itself on a copy of the collection whose module doc was broken on purpose."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "README.md", "COPYING", "changelogs")


def _copy(root: Path) -> Path:
    dest = root / "ansible_collections" / "atp" / "sensor_proxy"
    dest.mkdir(parents=True)
    for name in SHIPPED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest / name)
    return dest


def _make_docs_lint(root: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO), "docs-lint", "COLL_ROOT=%s" % root],
                          capture_output=True, text=True, env=env, timeout=600, check=False)


def test_make_test_runs_the_docs_lint():
    recipe = subprocess.run(["make", "-n", "-C", str(REPO), "test"], capture_output=True, text=True, check=True).stdout
    assert "docs-lint" in recipe


def test_a_reference_to_an_option_the_module_does_not_have_fails_the_lint(tmp_path):
    collection = _copy(tmp_path)
    module = collection / "plugins" / "modules" / "win_mde_proxy.py"
    text = module.read_text()
    broken = text.replace("description:\n", "description:\n  - Needs O(no_such_option) to be set.\n", 1)
    assert broken != text
    module.write_text(broken)
    proc = _make_docs_lint(tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "win_mde_proxy" in output and "no_such_option" in output, output

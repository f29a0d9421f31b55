# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Galaxy tarball built from a checkout after a test run ships no test or tool cache.

A checkout after ``make test`` holds the caches of pytest, Hypothesis, ruff, ansible-test and Python; a
developer's may hold more (coverage, mypy, tox, editors). Each is planted here, at the top and inside the
shipped folders, then ``ansible-galaxy collection build`` runs on that tree and the tarball's listing is read.
"""

from __future__ import annotations

import tarfile
from pathlib import PurePosixPath

from tests._helpers import ansible_env, clean_copy, run, tool

# What a release tarball holds at its top level; anything else is a leak.
SHIPPED_TOP = {"MANIFEST.json", "FILES.json", "README.md", "COPYING", "CHANGELOG.rst", "changelogs", "docs", "meta",
               "plugins", "roles", "playbooks", "awx", "inventories", "execution-environment.yml", "requirements.txt",
               "bindep.txt"}
CACHES = [
    ".hypothesis/examples/0a1b/2c3d", ".pytest_cache/v/cache/lastfailed", ".ruff_cache/0.6.9/123",
    ".mypy_cache/3.11/x.json", ".tox/py311/log", ".nox/x", ".coverage", ".coverage.host.1234", "htmlcov/index.html",
    ".ansible/collections/x", ".benchmarks/x.json", "atp_sensor_proxy.egg-info/PKG-INFO", "node_modules/x/y.js",
    ".idea/workspace.xml", ".vscode/settings.json", "tests/output/.tmp/sanity/x", ".build/collections/x",
    ".cache/x", "plugins/plugin_utils/__pycache__/_wininet.cpython-311.pyc", "plugins/plugin_utils/.swp.swp",
    "roles/atp_proxy/tasks/.main.yml.swp", "atp-sensor_proxy-0.0.1.tar.gz",
]


def test_a_tarball_built_after_a_test_run_ships_no_cache(tmp_path):
    src = clean_copy(tmp_path / "src")
    for name in CACHES:
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"cache")
    out = tmp_path / "dist"
    run([tool("ansible-galaxy"), "collection", "build", "--force", "--output-path", out, src],
        env=ansible_env(tmp=tmp_path))
    tarballs = sorted(out.glob("atp-sensor_proxy-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    with tarfile.open(tarballs[0]) as tar:
        names = [n[2:] if n.startswith("./") else n for n in tar.getnames()]
    assert names, "empty tarball"
    tops = {PurePosixPath(n).parts[0] for n in names if n not in (".", "")}
    assert tops <= SHIPPED_TOP, sorted(tops - SHIPPED_TOP)
    assert [n for n in names if n in CACHES] == []
    assert not [n for n in names if n.endswith((".pyc", ".swp", ".tar.gz")) or "__pycache__" in n]
    # and the real content is there
    assert "plugins/plugin_utils/_wininet/_codec.py" in names and "roles/atp_proxy/tasks/main.yml" in names

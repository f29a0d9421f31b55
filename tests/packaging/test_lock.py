# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The developer and CI toolchain is locked: ``requirements-dev.lock`` pins every package ``make`` installs,
transitive ones included, with hashes, and agrees with ``requirements-dev.txt``, the list of what we ask for.
``make lock`` regenerates it (pip-compile --generate-hashes); ``make`` installs it with ``--require-hashes``, so a
version changed by hand in the lock no longer matches its hashes and pip refuses to install it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements-dev.lock"
WANTED = REPO / "requirements-dev.txt"


def _requirements(path: Path) -> list:
    """The requirement lines of a pip requirements file, continuation lines joined, comments and options dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        out.append(line)
    return out


def _locked() -> dict:
    """name -> (version, [hashes]) of every package in the lock."""
    out = {}
    for line in _requirements(LOCK):
        spec, *options = line.split(" --hash=")
        req = Requirement(spec.strip())
        assert str(req.specifier).startswith("=="), "not pinned with == in the lock: %r" % line
        out[canonicalize_name(req.name)] = (str(req.specifier)[2:], [o.strip() for o in options])
    return out


def _direct_roots() -> set:
    """The packages the lock says come from requirements-dev.txt (pip-compile's ``# via -r requirements-dev.txt``)."""
    roots, current = set(), None
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==", line)
        if match:
            current = canonicalize_name(match.group(1))
        elif current and re.search(r"#\s+(via )?-r requirements-dev\.txt\s*$", line):
            roots.add(current)
    return roots


def test_every_locked_package_is_pinned_with_hashes():
    locked = _locked()
    assert len(locked) > 50, "the lock should hold the whole toolchain, transitive packages included"
    for name, (version, hashes) in locked.items():
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), (name, version, hashes)
    # pip itself is installed from the lock too (pip-compile --allow-unsafe).
    assert {"pip", "setuptools"} <= set(locked)


def test_the_lock_agrees_with_requirements_dev():
    locked = _locked()
    wanted = [Requirement(line) for line in _requirements(WANTED)]
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in locked, "%s is in requirements-dev.txt but not in the lock: run make lock" % req.name
        assert locked[name][0] in req.specifier, (
            "requirements-dev.txt asks for %s, the lock has %s==%s: run make lock" % (req, req.name, locked[name][0]))
    assert _direct_roots() == {canonicalize_name(r.name) for r in wanted}, (
        "the lock was not generated from this requirements-dev.txt: run make lock")


def test_make_installs_the_lock_with_hashes_required():
    """What ``make`` runs to build .venv: the lock, nothing else, with --require-hashes."""
    recipe = subprocess.run(["make", "-n", "-B", "-C", str(REPO), str(REPO / ".venv" / "bin" / ".stamp")], capture_output=True,
                            text=True, check=True).stdout
    installs = [line for line in recipe.splitlines() if "pip install" in line]
    assert installs, recipe
    for line in installs:
        assert "--require-hashes" in line and "-r requirements-dev.lock" in line, line
        assert "requirements-dev.txt" not in line and "--upgrade" not in line, line

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the tests that drive the tools a release and AWX use: paths, a child ansible-* environment, running a
command, building the Galaxy tarball from a clean copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
BUILD_COLLECTIONS = REPO / ".build" / "collections"
# The real ansible.windows comes with the pinned `ansible` package in the venv.
SITE_COLLECTIONS = Path(__import__("ansible").__file__).resolve().parent.parent


def tool(name: str) -> str:
    candidate = VENV_BIN / name
    return str(candidate) if candidate.exists() else name


def ansible_env(collections_path=None, **extra) -> dict:
    """Environment for a child ansible-* process: our collection + the venv's ansible.windows, no colour."""
    env = dict(os.environ)
    # Ansible also searches sys.path for ansible_collections/: keep only the paths we name.
    env.pop("PYTHONPATH", None)
    paths = [str(collections_path or BUILD_COLLECTIONS), str(SITE_COLLECTIONS)]
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(paths),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": str(Path(extra.pop("tmp", "/tmp")) / "ansible-local"),
        "PATH": os.pathsep.join([str(VENV_BIN), env.get("PATH", "")]),
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(cmd, cwd=None, env=None, timeout=300, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed with rc=%d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(map(str, cmd)), proc.returncode, proc.stdout[-6000:], proc.stderr[-6000:]))
    return proc


# ---------------------------------------------------------------------------
# Building the collection the way a release does
# ---------------------------------------------------------------------------
def clean_copy(dest: Path) -> Path:
    """Copy the files git tracks (``git ls-files``, as a release checkout has them) to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    files = run(["git", "ls-files", "-z"], cwd=REPO).stdout
    present = [f for f in files.split("\0") if f and (REPO / f).is_file()]
    listing = dest.parent / (dest.name + ".files")
    listing.write_text("\0".join(present))
    run(["tar", "--null", "-cf", dest.parent / (dest.name + ".tar"), "-T", listing], cwd=REPO)
    run(["tar", "-xf", dest.parent / (dest.name + ".tar"), "-C", dest])
    return dest


def build_collection(workdir: Path) -> Path:
    """``ansible-galaxy collection build`` from a clean copy; returns the tarball."""
    src = clean_copy(workdir / "src")
    out = workdir / "dist"
    run([tool("ansible-galaxy"), "collection", "build", "--force", "--output-path", out, src],
        env=ansible_env(tmp=workdir))
    tarballs = sorted(out.glob("atp-sensor_proxy-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    return tarballs[0]


def galaxy_version() -> str:
    import yaml

    return str(yaml.safe_load((REPO / "galaxy.yml").read_text())["version"])

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version matrix: ``ansible-test sanity`` and the lab smoke run on every ansible-core the collection claims.

The rows are in ``hack/matrix/matrix.yml``. For each row this builds (or reuses) a venv installed only from
hashed locks: ``hack/matrix/ansible-core-<minor>.lock`` (pip-compile --generate-hashes) and the ``ansible`` wheel
pinned with its hash in ``hack/matrix/ansible-windows-<version>.lock``, of which only the ``ansible.windows``
collection is unpacked into the venv (Galaxy is not reachable). The main row is the main toolchain (``.venv``).
Then, with that ansible-core:

* ``sanity``: ``ansible-test sanity --venv`` (zero ignores) in a real copy of the collection under
  ``.build/matrix/<minor>/ansible_collections/atp/sensor_proxy``, with the offline get-pip bootstrap in place;
* ``smoke``: ``tests/packaging/test_smoke_lab.py`` with the row's Python, so ``ansible-playbook``, the lab's
  plugins and the real ``win_copy`` action are the row's.

It prints one line per row as each finishes, then one table, and writes ``.build/matrix/results.json``.

    python hack/matrix.py [--versions 2.16,2.20] [--steps sanity,smoke]   run (exit 1 when a row failed)
    python hack/matrix.py lock [--upgrade]                                 regenerate the row locks (make lock)
    python hack/matrix.py seed-get-pip PYTHON                              the offline bootstrap only
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "hack" / "matrix"
BUILD = REPO / ".build" / "matrix"
MAIN_VENV = REPO / ".venv"
GET_PIP = REPO / "hack" / "get_pip_offline.py"
SMOKE = "tests/packaging/test_smoke_lab.py"
COLLECTION_PARENT = REPO / ".build" / "collections"  # holds ansible_collections/atp/sensor_proxy -> this checkout


@dataclass
class Row:
    ansible_core: str
    python: str
    ansible_windows: str
    main: bool = False
    results: dict = field(default_factory=dict)

    @property
    def venv(self) -> Path:
        return MAIN_VENV if self.main else BUILD / self.ansible_core / "venv"

    @property
    def wanted(self) -> Path:
        return REPO / "requirements-dev.txt" if self.main else HERE / ("ansible-core-%s.txt" % self.ansible_core)

    @property
    def lock(self) -> Path:
        return REPO / "requirements-dev.lock" if self.main else HERE / ("ansible-core-%s.lock" % self.ansible_core)

    @property
    def windows_lock(self) -> Path:
        return HERE / ("ansible-windows-%s.lock" % self.ansible_windows)

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def load_rows(path: Path = HERE / "matrix.yml") -> tuple:
    data = yaml.safe_load(path.read_text())
    return [Row(**row) for row in data["rows"]], dict(data["ansible_windows_source"])


def find_python(version: str) -> str:
    """``python3.X`` from PATH, else from pyenv's versions (PYENV_ROOT or ~/.pyenv)."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = sorted(glob.glob(str(root / "versions" / ("%s.*" % version) / "bin" / ("python%s" % version))))
    found = shutil.which("python%s" % version)
    for candidate in candidates[::-1] + ([found] if found else []):
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    raise SystemExit("no Python %s found (PATH or pyenv)" % version)


def run(cmd, log=None, **kwargs) -> subprocess.CompletedProcess:
    """Run ``cmd``; with ``log``, its output goes there (and the tail is printed when it fails)."""
    cmd = [str(c) for c in cmd]
    if log is None:
        return subprocess.run(cmd, check=False, **kwargs)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as handle:
        handle.write(("\n$ %s\n" % " ".join(cmd)).encode())
        handle.flush()
        return subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, check=False, **kwargs)


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


# ---------------------------------------------------------------------------
# The offline get-pip bootstrap of ansible-test (one place: make sanity and every row use this)
# ---------------------------------------------------------------------------
def seed_get_pip(python: str) -> list:
    """Put hack/get_pip_offline.py where the ansible-test of ``python``'s environment looks for the get-pip
    script of every pip version it may bootstrap (``~/.ansible/test/cache/get_pip_<version>.py``).

    ansible-test downloads ``get-pip-<version>.py`` from a host this machine cannot reach; the version is the
    ``pip='…'`` of ``get_venv_packages`` in ``ansible_test/_internal/python_requirements.py``, and the cache
    file name comes from ``ansible_test/_util/target/setup/requirements.py`` (``get_pip_%s.py``, dots as ``_``).
    """
    where = subprocess.run([python, "-c", "import ansible_test, os; print(os.path.dirname(ansible_test.__file__))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    source = Path(where, "_internal", "python_requirements.py").read_text()
    versions = sorted(set(re.findall(r"""\bpip\s*=\s*['"]([0-9.]+)['"]""", source)))
    if not versions:
        raise SystemExit("cannot find the pip version ansible-test bootstraps in %s" % where)
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for version in versions:
        shutil.copyfile(GET_PIP, cache / ("get_pip_%s.py" % version.replace(".", "_")))
    return versions


# ---------------------------------------------------------------------------
# Locks and venvs
# ---------------------------------------------------------------------------
def _digest(*paths: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()


def _pip_download(row: Row, requirement_lock: Path, dest: Path, log: Path) -> Path:
    """The one wheel ``requirement_lock`` pins, downloaded with its hash checked (cached in ``dest``)."""
    dest.mkdir(parents=True, exist_ok=True)
    proc = run([row.bin("python"), "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                "--require-hashes", "--ignore-requires-python", "--only-binary", ":all:", "-r", requirement_lock,
                "-d", dest], log)
    if proc.returncode:
        raise RuntimeError("pip download of %s failed:\n%s" % (requirement_lock.name, tail(log)))
    spec = next(line for line in requirement_lock.read_text().splitlines() if "==" in line and not line.startswith("#"))
    name, version = spec.split()[0].split("==")
    wheels = sorted(dest.glob("%s-%s-*.whl" % (name.replace("-", "_"), version)))
    if not wheels:
        raise RuntimeError("no wheel of %s==%s in %s" % (name, version, dest))
    return wheels[0]


def install_windows(row: Row, log: Path) -> None:
    """Unpack ansible.windows from the hashed ``ansible`` wheel into the row's site-packages."""
    wheel = _pip_download(row, row.windows_lock, BUILD / "wheels", log)
    purelib = subprocess.run([row.bin("python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    target = Path(purelib)
    shutil.rmtree(target / "ansible_collections", ignore_errors=True)
    prefix = "ansible_collections/ansible/windows/"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target, [n for n in archive.namelist() if n.startswith(prefix)])
    manifest = json.loads((target / prefix / "MANIFEST.json").read_text())
    if manifest["collection_info"]["version"] != row.ansible_windows:
        raise RuntimeError("%s carries ansible.windows %s, not %s" % (
            wheel.name, manifest["collection_info"]["version"], row.ansible_windows))


def ensure_venv(row: Row, log: Path) -> None:
    """The row's venv, exactly its locks (rebuilt when a lock changes)."""
    if row.main:
        if run(["make", "-C", REPO, "--no-print-directory", "venv"], log).returncode:
            raise RuntimeError("make venv failed:\n%s" % tail(log))
        return
    stamp = row.venv / ".matrix-stamp"
    digest = _digest(row.lock, row.windows_lock)
    if stamp.exists() and stamp.read_text() == digest:
        return
    shutil.rmtree(row.venv, ignore_errors=True)
    if run([find_python(row.python), "-m", "venv", row.venv], log).returncode:
        raise RuntimeError("venv failed:\n%s" % tail(log))
    proc = run([row.bin("python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--require-hashes", "-r", row.lock], log)
    if proc.returncode:
        raise RuntimeError("pip install -r %s failed:\n%s" % (row.lock.name, tail(log)))
    install_windows(row, log)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)


def _python_of(venv: Path) -> str:
    """``X.Y`` of a venv's Python (empty when there is none)."""
    if not (venv / "bin" / "python").exists():
        return ""
    return subprocess.run([venv / "bin" / "python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def lock(rows: list, sources: dict, upgrade: bool) -> None:
    """Regenerate every row's lock with pip-compile --generate-hashes run by the row's own Python (markers and
    Requires-Python are evaluated there), and each ansible.windows lock from the wheel's sha256."""
    for row in rows:
        if row.main:
            continue
        log = BUILD / row.ansible_core / "lock.log"
        tool = MAIN_VENV if _python_of(MAIN_VENV) == row.python else BUILD / ("pip-tools-%s" % row.python)
        if not (tool / "bin" / "pip-compile").exists():
            # Only the lock tool is installed without hashes; every venv the matrix tests is built from the locks.
            pin = next(line for line in (REPO / "requirements-dev.txt").read_text().splitlines()
                       if line.startswith("pip-tools=="))
            if run([find_python(row.python), "-m", "venv", tool], log).returncode or run(
                    [tool / "bin" / "python", "-m", "pip", "install", "--quiet", pin], log).returncode:
                raise SystemExit("cannot install %s for Python %s:\n%s" % (pin, row.python, tail(log)))
        proc = run([tool / "bin" / "pip-compile", "--quiet", "--generate-hashes", "--allow-unsafe", "--strip-extras",
                    "--no-emit-index-url", "--no-emit-find-links"] + (["--upgrade"] if upgrade else [])
                   + ["--output-file", row.lock.relative_to(REPO), row.wanted.relative_to(REPO)], log, cwd=REPO)
        if proc.returncode:
            raise SystemExit("pip-compile %s failed:\n%s" % (row.wanted.name, tail(log)))
        print("locked %s" % row.lock.relative_to(REPO))
    for version in sorted({row.ansible_windows for row in rows if not row.main}):
        spec = sources[version]
        path = HERE / ("ansible-windows-%s.lock" % version)
        dest = BUILD / "wheels"
        dest.mkdir(parents=True, exist_ok=True)
        if run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                "--ignore-requires-python", "--only-binary", ":all:", spec, "-d", dest]).returncode:
            raise SystemExit("pip download %s failed" % spec)
        name, ver = spec.split("==")
        (wheel,) = dest.glob("%s-%s-*.whl" % (name, ver))
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        path.write_text("# ansible.windows %s, unpacked from the `%s` wheel by hack/matrix.py (`make lock` writes "
                        "this file).\n%s \\\n    --hash=sha256:%s\n" % (version, spec, spec, sha))
        print("locked %s" % path.relative_to(REPO))


# ---------------------------------------------------------------------------
# The steps
# ---------------------------------------------------------------------------
def _env(row: Row) -> dict:
    env = dict(os.environ)
    env.update({
        "PATH": os.pathsep.join([str(row.venv / "bin"), env.get("PATH", "")]),
        "PYTHONPATH": os.pathsep.join([str(COLLECTION_PARENT), str(REPO)]),
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTION_PARENT),
        "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
        "ATP_MATRIX_WINDOWS": row.ansible_windows,
        "ATP_MATRIX_CORE": row.ansible_core,
    })
    env.pop("VIRTUAL_ENV", None)
    return env


def copy_collection(dest: Path) -> None:
    """ansible-test needs a real directory named ansible_collections/atp/sensor_proxy (a symlink is refused):
    the files git knows of (tracked or not ignored), copied, in a git repository of their own."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.split(b"\0")
    for name in (f.decode() for f in files if f):
        source = REPO / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    subprocess.run(["git", "init", "-q", "."], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)


def sanity(row: Row, log: Path) -> bool:
    seed_get_pip(row.bin("python"))
    tree = BUILD / row.ansible_core / "ansible_collections" / "atp" / "sensor_proxy"
    copy_collection(tree)
    ignores = sorted((REPO / "tests" / "sanity").glob("ignore-*.txt")) if (REPO / "tests" / "sanity").exists() else []
    if any(p.read_text().strip() for p in ignores):
        with open(log, "a") as handle:
            handle.write("sanity ignore files are not empty: %s\n" % ", ".join(p.name for p in ignores))
        return False
    return run([row.bin("ansible-test"), "sanity", "--venv", "--python", row.python, "--color", "no"], log,
               cwd=tree, env=_env(row)).returncode == 0


def smoke(row: Row, log: Path) -> bool:
    return run([row.bin("python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", SMOKE], log, cwd=REPO,
               env=dict(_env(row), TMPDIR=str(_tmp(row)))).returncode == 0


def _tmp(row: Row) -> Path:
    path = BUILD / row.ansible_core / "tmp"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


STEPS = {"sanity": sanity, "smoke": smoke}


def versions(row: Row) -> dict:
    out = subprocess.run([row.bin("python"), "-c", "import sys, ansible; print(ansible.__version__); "
                          "print('%d.%d.%d' % sys.version_info[:3])"], capture_output=True, text=True, check=False)
    core, python = (out.stdout.split() + ["?", "?"])[:2]
    return {"ansible_core_version": core, "python_version": python}


def run_row(row: Row, steps: list) -> dict:
    log = BUILD / row.ansible_core / "matrix.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    result = {"ansible_core": row.ansible_core, "python": row.python, "ansible_windows": row.ansible_windows,
              "log": str(log.relative_to(REPO))}
    start = time.monotonic()
    try:
        ensure_venv(row, log)
    except (RuntimeError, SystemExit) as exc:
        result.update(setup="failed", error=str(exc))
        result["setup_seconds"] = round(time.monotonic() - start, 1)
        return result
    result["setup_seconds"] = round(time.monotonic() - start, 1)
    result.update(versions(row))
    for step in steps:
        begin = time.monotonic()
        passed = STEPS[step](row, log)
        result[step] = "passed" if passed else "FAILED"
        result[step + "_seconds"] = round(time.monotonic() - begin, 1)
    return result


def line(result: dict) -> str:
    head = "ansible-core %s (Python %s, ansible.windows %s)" % (
        result.get("ansible_core_version", result["ansible_core"]), result.get("python_version", result["python"]),
        result["ansible_windows"])
    if result.get("setup") == "failed":
        return "%s: setup FAILED (%s s): %s" % (head, result["setup_seconds"], result["error"].splitlines()[0])
    parts = ["setup %s s" % result["setup_seconds"]] + [
        "%s %s (%s s)" % (step, result[step], result[step + "_seconds"]) for step in STEPS if step in result]
    return "%s: %s" % (head, ", ".join(parts))


def table(results: list) -> str:
    header = ["ansible-core", "python", "ansible.windows", "sanity", "smoke", "time"]
    rows = []
    for r in results:
        def cell(step, r=r):
            if r.get("setup") == "failed":
                return "setup FAILED"
            return "%s (%s s)" % (r[step], r[step + "_seconds"]) if step in r else "not run"
        total = r["setup_seconds"] + sum(r.get(s + "_seconds", 0) for s in STEPS)
        rows.append([r.get("ansible_core_version", r["ansible_core"]), r.get("python_version", r["python"]),
                     r["ansible_windows"], cell("sanity"), cell("smoke"), "%.0f s" % total])
    widths = [max(len(x[i]) for x in [header] + rows) for i in range(len(header))]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    return "\n".join(out)


def passed(result: dict) -> bool:
    return result.get("setup") != "failed" and all(result.get(s) in (None, "passed") for s in STEPS)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("command", nargs="?", default="run", choices=["run", "lock", "seed-get-pip"])
    parser.add_argument("python", nargs="?", help="seed-get-pip: the Python whose ansible-test needs it")
    parser.add_argument("--versions", help="comma-separated ansible-core minors (default: every row)")
    parser.add_argument("--steps", default="sanity,smoke", help="comma-separated: sanity, smoke")
    parser.add_argument("--upgrade", action="store_true", help="lock: newest allowed transitive versions")
    args = parser.parse_args(argv)
    rows, sources = load_rows()
    if args.command == "seed-get-pip":
        print("ansible-test get-pip bootstrap (offline) for pip %s" % ", ".join(
            seed_get_pip(args.python or sys.executable)))
        return 0
    if args.command == "lock":
        lock(rows, sources, args.upgrade)
        return 0
    if args.versions:
        wanted = args.versions.split(",")
        unknown = sorted(set(wanted) - {r.ansible_core for r in rows})
        if unknown:
            parser.error("not in hack/matrix/matrix.yml: %s" % ", ".join(unknown))
        rows = [r for r in rows if r.ansible_core in wanted]
    steps = [s for s in args.steps.split(",") if s]
    if not set(steps) <= set(STEPS):
        parser.error("--steps: choose from %s" % ", ".join(STEPS))
    results = []
    for row in rows:
        result = run_row(row, steps)
        results.append(result)
        print(("ok   " if passed(result) else "FAIL ") + line(result), flush=True)
        if not passed(result):
            print("     log: %s\n%s" % (result["log"], tail(REPO / result["log"], 25)), flush=True)
    BUILD.mkdir(parents=True, exist_ok=True)
    (BUILD / "results.json").write_text(json.dumps(results, indent=2))
    print("\n" + table(results))
    return 0 if all(passed(r) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

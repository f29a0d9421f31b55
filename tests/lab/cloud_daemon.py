# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's cloud (:class:`tests.lab.network.Cloud`) as a background process that outlives the command line.

    python -m tests.lab.cli --lab DIR cloud start | status | stop

:func:`start` runs ``python -m tests.lab.cloud_daemon DIR`` in its own session. The daemon starts the
sensor API, the CRL hosts and proxy.py with ``Cloud``, which registers their names in the lab's DNS
tables exactly as the fixtures do (``proxy.corp:8080`` in ``dns``; the sensor API of ``WORKSPACE_NAME`` and
the CRL hosts in ``proxy_dns``; the CA as ``ca_file``). It writes ``DIR/cloud/cloud.pid`` at once and
``DIR/cloud/cloud.json`` (pids, ports, what it registered) when everything listens, then waits for
SIGTERM. On SIGTERM, or when the lab directory disappears, it stops the three servers, removes the
names it registered (only those that still point at it) and its two files.

:func:`stop` sends SIGTERM and waits. A daemon that is gone (killed, machine rebooted) leaves a stale pid
file: ``stop`` then kills the proxy.py it had started, if that still runs, and does the daemon's clean-up
itself. A pid is only signalled when ``/proc/PID/cmdline`` shows our daemon (or our proxy.py) for this lab,
so a reused pid is never touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.lab import state

MODULE = "tests.lab.cloud_daemon"
SUBDIR = "cloud"
PID_FILE = "cloud.pid"
INFO_FILE = "cloud.json"
LOG_FILE = "cloud.log"


class CloudError(Exception):
    """The cloud could not be started or stopped."""


# ---------------------------------------------------------------------------
# Paths and process checks
# ---------------------------------------------------------------------------
def cloud_dir(lab_root) -> Path:
    return Path(lab_root) / SUBDIR


def _cmdline(pid: int) -> list:
    try:
        return Path("/proc/%d/cmdline" % pid).read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _running(pid: int) -> bool:
    """True if ``pid`` is a live process (a zombie, which nobody reaped yet, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path("/proc/%d/stat" % pid).read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _is_daemon(pid: int, lab_root: Path) -> bool:
    args = _cmdline(pid)
    return _running(pid) and MODULE in args and str(lab_root) in args


def _is_our_proxy(pid: int, lab_root: Path) -> bool:
    args = _cmdline(pid)
    return _running(pid) and "proxy" in args and any(a.startswith(str(cloud_dir(lab_root))) for a in args)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@contextlib.contextmanager
def _control_lock(lab_root: Path):
    """One start/stop at a time per lab."""
    directory = cloud_dir(lab_root)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "control.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# ---------------------------------------------------------------------------
# Status, start, stop (called by the command line)
# ---------------------------------------------------------------------------
def status(lab_root) -> dict:
    """``{running, pid, stale_pid, ...cloud.json}``: ``stale_pid`` is a pid file whose daemon is gone."""
    lab_root = Path(lab_root).resolve()
    directory = cloud_dir(lab_root)
    pid = _read_pid(directory / PID_FILE)
    info = state.read_json(directory / INFO_FILE, default=dict) if (directory / INFO_FILE).exists() else {}
    if pid is not None and _is_daemon(pid, lab_root):
        ready = info.get("pid") == pid
        return dict(info, running=ready, starting=not ready, pid=pid, stale_pid=None)
    return {"running": False, "starting": False, "pid": None, "stale_pid": pid,
            "stale_info": bool(info)}


def start(lab_root, timeout: float = 60.0) -> dict:
    """Start the daemon unless it runs; return its status. Raises :class:`CloudError` when it cannot start."""
    lab_root = Path(lab_root).resolve()
    with _control_lock(lab_root):
        current = status(lab_root)
        if current["running"]:
            return dict(current, already_running=True)
        if current["starting"]:
            raise CloudError("the cloud (pid %d) is starting or hangs; stop it first" % current["pid"])
        _clean_up(lab_root)  # a stale pid file, or a daemon killed without its clean-up
        directory = cloud_dir(lab_root)
        log = open(directory / LOG_FILE, "wb")
        try:
            env = dict(os.environ)
            paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
            env["PYTHONPATH"] = os.pathsep.join([str(state.REPO_ROOT)] + paths)
            proc = subprocess.Popen([sys.executable, "-m", MODULE, str(lab_root)], cwd=str(state.REPO_ROOT),
                                    env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = state.read_json(directory / INFO_FILE, default=dict) if (directory / INFO_FILE).exists() else {}
            if info.get("pid") == proc.pid:
                return dict(status(lab_root), already_running=False)
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        if proc.poll() is None:
            _terminate(proc.pid, lab_root, _is_daemon)
        proc.wait()
        _clean_up(lab_root)
        tail = (directory / LOG_FILE).read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise CloudError("the cloud did not start (see %s): %s" % (directory / LOG_FILE, tail[0]))


def stop(lab_root, timeout: float = 15.0) -> dict:
    """Stop the daemon if it runs and clean up after it; idempotent. Returns what was done."""
    lab_root = Path(lab_root).resolve()
    with _control_lock(lab_root):
        current = status(lab_root)
        done = {"stopped_pid": None, "stale_pid": current["stale_pid"], "killed_proxy": None}
        if current["pid"] is not None:
            _terminate(current["pid"], lab_root, _is_daemon, timeout)
            done["stopped_pid"] = current["pid"]
        done["killed_proxy"] = _clean_up(lab_root)
        return done


def _terminate(pid: int, lab_root: Path, check, timeout: float = 15.0, group: bool = False) -> None:
    """SIGTERM ``pid`` (its process group with ``group``), then SIGKILL after ``timeout``; only while ``check``
    says it is still ours."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not check(pid, lab_root):
            return
        with contextlib.suppress(ProcessLookupError):
            (os.killpg if group else os.kill)(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _running(pid):
            time.sleep(0.05)


def _clean_up(lab_root: Path) -> int | None:
    """What a daemon does on its way out, for one that could not: kill its proxy.py, unregister, remove files.

    Returns the pid of a proxy.py it had to kill, else None."""
    directory = cloud_dir(lab_root)
    info = state.read_json(directory / INFO_FILE, default=dict) if (directory / INFO_FILE).exists() else {}
    killed = None
    proxy_pid = info.get("proxy_pid")
    if proxy_pid and _is_our_proxy(proxy_pid, lab_root):
        _terminate(proxy_pid, lab_root, _is_our_proxy, 5.0, group=True)  # proxy.py leads its own session
        killed = proxy_pid
    unregister(lab_root, info.get("registered") or {})
    for name in (INFO_FILE, PID_FILE):
        (directory / name).unlink(missing_ok=True)
    return killed


def unregister(lab_root: Path, registered: dict) -> None:
    """Remove the DNS names and the CA the cloud registered, where they still point at it."""
    lab_json = Path(lab_root) / "lab" / "lab.json"
    if not registered or not lab_json.exists():
        return
    with state.locked_json(lab_json) as cfg:
        for table in ("dns", "proxy_dns"):
            names = cfg.get(table) or {}
            for name, address in (registered.get(table) or {}).items():
                if names.get(name) == address:
                    del names[name]
        if registered.get("ca_file") and cfg.get("ca_file") == registered["ca_file"]:
            cfg["ca_file"] = ""


# ---------------------------------------------------------------------------
# The daemon
# ---------------------------------------------------------------------------
def serve(lab_root: Path) -> int:
    from tests.lab.network import PROXY_NAME, SENSOR_HOST, V3_GEO_HOST, WORKSPACE_NAME, Cloud

    lab_root = Path(lab_root).resolve()
    directory = cloud_dir(lab_root)
    lab = state.Lab(lab_root / "lab")
    _write_atomic(directory / PID_FILE, "%d\n" % os.getpid())
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *args: stopping.set())
    cloud = Cloud(lab, directory)
    registered = {}
    try:
        cloud.start()
        proxy_address = "127.0.0.1:%d" % cloud.proxy.port
        api_address = "127.0.0.1:%d" % cloud.api.port
        crl_address = "127.0.0.1:%d" % cloud.crl.port
        registered = {
            "dns": {PROXY_NAME.lower(): proxy_address},
            "proxy_dns": dict({("%s:443" % SENSOR_HOST).lower(): api_address,
                               ("%s:443" % V3_GEO_HOST).lower(): api_address},
                              **{("%s:80" % h).lower(): crl_address for h in cloud.crl.hosts}),
            "ca_file": str(cloud.api.ca_file),
        }
        info = {
            "pid": os.getpid(),
            "proxy_pid": cloud.proxy.proc.pid,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "proxy": {"name": PROXY_NAME, "address": proxy_address, "port": cloud.proxy.port,
                      "log": str(cloud.proxy.log_file)},
            "sensor_api": {"name": SENSOR_HOST, "workspace": WORKSPACE_NAME, "address": api_address,
                           "port": cloud.api.port, "url": "https://%s/tri/sensor/api/ping" % SENSOR_HOST},
            "crl": {"hosts": cloud.crl.hosts, "address": crl_address, "port": cloud.crl.port},
            "ca_file": str(cloud.api.ca_file),
            "registered": registered,
        }
        _write_atomic(directory / INFO_FILE, json.dumps(info, indent=1, sort_keys=True))
        print("cloud ready: proxy %s, sensor API %s, CRL hosts %s" % (proxy_address, api_address, crl_address),
              flush=True)
        while not stopping.wait(1.0):
            if not (lab_root / "lab" / "lab.json").exists():
                print("the lab directory is gone; stopping", flush=True)
                break
        return 0
    finally:
        cloud.stop()
        with contextlib.suppress(OSError):
            unregister(lab_root, registered)
        for name in (INFO_FILE, PID_FILE):
            (directory / name).unlink(missing_ok=True)
        print("cloud stopped", flush=True)


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m %s LAB_DIR (use: python -m tests.lab.cli --lab DIR cloud start)" % MODULE,
              file=sys.stderr)
        return 2
    return serve(Path(args[0]))


if __name__ == "__main__":
    sys.exit(main())

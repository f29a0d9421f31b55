# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's "remote shell": a warm fork server that runs the pipelined module payloads.

Why: a stand-in module call is otherwise a fresh ``python`` that unpacks the AnsiballZ zip and
imports ``ansible.module_utils.basic`` and its dependencies **from the zip**, i.e. compiled from
source every time (zipimport keeps no ``.pyc``). That costs 0.3-0.5 s of CPU per call, which is
most of a lab run. A real Windows host has the same kind of warm process (the WinRM/PSRP
PowerShell host); this is its Linux stand-in.

How: ``python -m tests.lab.agent SOCKET`` imports ``ansible.module_utils.basic`` (the same
ansible-core that builds the payloads), the AnsiballZ loader and ``tests.lab.state`` once, then
listens on a Unix socket. For each request the lab connection plugin sends the **unchanged**
AnsiballZ payload (what ``python`` would have read from stdin) and the environment the command
line carried (``ATP_LAB_HOST``, ``ATP_LAB_DIR``, ``ATP_LAB_BECOME_USER``). The server forks; the
child sets that environment, points fd 1/2 at buffers and ``exec``s the payload as ``__main__``,
exactly as ``python -`` would. The wrapper writes the zip, the loader parses the JSON arguments and
runs the module with ``runpy``; the child then returns ``rc``, stdout and stderr. Nothing carries
over from one call to the next (each call is a fresh fork of the pristine server).

Differences from a fresh interpreter: the ``ansible.module_utils`` modules come from the server's
``sys.modules`` (the same files the zip holds, as the controller builds the zip from its own
ansible-core) instead of being re-imported from the zip. So do the stand-in collection's packages and
module_utils, preloaded from the lab's collections root (the directory the controller builds the zip
from); the module itself is found through the preloaded ``modules`` package, so it is read from that
same root instead of the zip, and the payload's ``runpy`` still runs it afresh as ``__main__``.

The connection plugin falls back to running ``python`` when no agent answers, so the agent only
changes speed. ``LabEnv(..., agent=False)`` or ``ATP_LAB_AGENT=0`` turns it off.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV_AGENT = "ATP_LAB_AGENT"  # "0" disables the agent
ENV_AGENT_SOCKET = "ATP_LAB_AGENT_SOCKET"
PASSED_ENV = ("ATP_LAB_HOST", "ATP_LAB_DIR", "ATP_LAB_BECOME_USER")
_HEADER = struct.Struct("!I")


# ---------------------------------------------------------------------------
# Wire format: 4-byte length + JSON header, then raw byte blocks whose sizes the header gives.
# ---------------------------------------------------------------------------
def _recv_exact(sock, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise ConnectionError("lab agent: connection closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _send(sock, header: dict, *blocks: bytes) -> None:
    header = dict(header, sizes=[len(b) for b in blocks])
    raw = json.dumps(header).encode()
    sock.sendall(_HEADER.pack(len(raw)) + raw + b"".join(blocks))


def _recv(sock) -> tuple:
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    header = json.loads(_recv_exact(sock, size))
    return header, [_recv_exact(sock, n) for n in header["sizes"]]


# ---------------------------------------------------------------------------
# Client (used by the lab connection plugin)
# ---------------------------------------------------------------------------
def run_payload(socket_path: str, payload: bytes, env: dict, timeout: float = 900.0):
    """Run one pipelined module payload in the agent: (rc, stdout bytes, stderr bytes), or None when
    no agent answers (the caller then runs ``python`` itself)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(5)
        try:
            sock.connect(socket_path)
        except OSError:
            return None
        sock.settimeout(timeout)
        _send(sock, {"env": env}, payload)
        header, (stdout, stderr) = _recv(sock)
        return header["rc"], stdout, stderr
    finally:
        sock.close()


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------
def _preload(repo: str) -> None:
    """Import what every module payload imports, once, in the server."""
    if repo and repo not in sys.path:
        sys.path.insert(0, repo)
    import ansible.module_utils.basic  # noqa: F401
    import ansible.module_utils.common.json  # noqa: F401

    try:  # ansible-core 2.19+: the payload's wrapper calls ansible/module_utils/_internal/_ansiballz/_loader.py
        from ansible.module_utils._internal._ansiballz import _loader  # noqa: F401
    except ImportError:
        # ansible-core 2.16-2.18 have no such module: the wrapper (ANSIBALLZ_TEMPLATE in
        # ansible/executor/module_common.py, invoke_module) sets ``basic._ANSIBLE_ARGS`` on the
        # ``ansible.module_utils.basic`` it imports (the preloaded one) and runs the module with runpy.
        pass

    from tests.lab import state, system_state  # noqa: F401 (the executor's host context imports it per run)
    from tests.lab.pwsh import runner, syntax  # the win_powershell stand-in's executor (tree-sitter loaded once)

    state.codec()
    syntax.parser()
    assert runner.run
    # The collection's own PowerShell, parsed once here: each call's executor then finds the tree of the exact same
    # text in the cache it inherits (any other text is parsed in the call, as before).
    syntax.preparse(*collection_scripts())

    # Imported by every payload or probe on first use, so once here instead of once per call: the wrapper's zip
    # reader and its file-name codec, the JSON profiles of a module's arguments and result (ansible-core 2.19+), and
    # OpenSSL's bindings, which the lab's TLS stack (tests/lab/web.py, reading a server's chain) loads lazily.
    import encodings.cp437  # noqa: F401
    import zipfile  # noqa: F401

    import cryptography.hazmat.backends.openssl.backend  # noqa: F401

    for profile in ("_module_legacy_c2m", "_module_legacy_m2c"):
        try:
            importlib.import_module("ansible.module_utils._internal._json._profiles." + profile)
        except ImportError:  # ansible-core 2.16-2.18
            pass
    _preload_standins()
    # Everything imported so far lives as long as the server: the collector need not walk it again in each child,
    # where walking it would also copy each of its pages (copy-on-write) into the child.
    gc.freeze()


COLLECTION_PACKAGE = "ansible_collections.atp.sensor_proxy.plugins.plugin_utils"
# The collection's modules whose SCRIPT it sends, as is, to ansible.windows.win_powershell.
SCRIPT_MODULES = ("_host._state_query", "_host._file_write", "_probe._script", "_sensor._watch")
STANDIN_PACKAGE = "ansible_collections.ansible.windows.plugins"


def collection_scripts() -> list:
    """The PowerShell scripts atp.sensor_proxy sends through win_powershell (none when it is not importable)."""
    scripts = []
    for name in SCRIPT_MODULES:
        try:
            scripts.append(importlib.import_module(COLLECTION_PACKAGE + "." + name).SCRIPT)
        except ImportError:
            pass
    return scripts


def _preload_standins() -> None:
    """Import the stand-in ansible.windows collection's packages and module_utils from the lab's collections root
    (the first ``ANSIBLE_COLLECTIONS_PATH`` entry holding it, the directory the controller builds each payload's zip
    from), so that a payload finds them in ``sys.modules`` instead of compiling them from its zip (zipimport keeps no
    bytecode: about 8 ms of each call). The module itself is then found through the preloaded ``modules`` package
    and run by the payload's own ``runpy`` as ``__main__``, as before (from the same file, with its bytecode cached).
    Without such a root (an agent started outside a lab) nothing is preloaded."""
    for root in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep):
        if root and (Path(root) / "ansible_collections" / "ansible" / "windows" / "plugins" / "module_utils"
                     / "_lab.py").is_file():
            break
    else:
        return
    if root not in sys.path:
        sys.path.insert(0, root)  # before site-packages, which holds the real ansible.windows (the ansible package)
    for name in ("module_utils._lab", "module_utils._lab_regfile", "modules"):
        importlib.import_module(STANDIN_PACKAGE + "." + name)


def _run_child(conn, env: dict, payload: bytes) -> None:
    """In the forked child: run the payload as ``python -`` would, send rc/stdout/stderr, exit."""
    rc = 0
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    try:
        os.environ.update({k: v for k, v in env.items() if k in PASSED_ENV})
        for k in PASSED_ENV:
            if k not in env:
                os.environ.pop(k, None)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        sys.argv = ["-"]  # as for ``python -`` (the wrapper takes a second argv entry as a debug command)
        code = compile(payload, "<stdin>", "exec")
        main = type(sys)("__main__")
        sys.modules["__main__"] = main
        try:
            exec(code, main.__dict__)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
        except BaseException:  # like the interpreter: traceback on stderr, rc 1
            import traceback

            traceback.print_exc()
            rc = 1
        sys.stdout.flush()
        sys.stderr.flush()
        out.seek(0)
        err.seek(0)
        _send(conn, {"rc": rc}, out.read(), err.read())
    finally:
        os._exit(0)


def serve(socket_path: str, repo: str, parent_pid: int | None = None) -> None:
    """Serve until SIGTERM (or until ``parent_pid`` is gone). ``SOCKET.count`` holds the calls served."""
    _preload(repo)
    served = 0
    count_file = Path(socket_path + ".count")
    Path(socket_path).unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(128)
    server.settimeout(1.0)
    # Children are reaped here (not auto-reaped with SIGCHLD ignored): a reaped child's CPU time is added to the
    # agent's ``RUSAGE_CHILDREN``, so the agent's own accounting (and its parent's, once it waits for the agent)
    # includes every module it ran (bench/fleet.py reports it as the lab's CPU).
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("ready", flush=True)
    try:
        while True:
            _reap()
            try:
                conn, dummy = server.accept()
            except TimeoutError:
                if parent_pid and not _alive(parent_pid):
                    return
                continue
            try:
                conn.settimeout(30)
                header, (payload,) = _recv(conn)
            except (OSError, ValueError, ConnectionError):
                conn.close()
                continue
            pid = os.fork()
            if pid == 0:
                server.close()
                conn.settimeout(None)
                _run_child(conn, header.get("env", {}), payload)
            conn.close()
            served += 1
            count_file.write_text(str(served))
    finally:
        server.close()
        Path(socket_path).unlink(missing_ok=True)
        _reap(wait=10.0)


def _reap(wait: float = 0.0) -> None:
    """Reap the finished children (all of them, waiting up to ``wait`` seconds for those still running)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            pid, dummy = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Agent:
    """Start/stop an agent process for a lab directory (``with Agent(lab_dir): ...``)."""

    def __init__(self, lab_dir, repo=None):
        self.lab_dir = Path(lab_dir)
        # Unix socket paths are limited to ~107 bytes: keep it short, outside deep tmp dirs.
        self.socket_path = os.path.join(tempfile.gettempdir(), "atp-lab-%d-%x.sock" % (os.getpid(), id(self)))
        self.repo = str(repo or Path(__file__).resolve().parents[2])
        self.proc = None
        self.served = 0  # module payloads run by the agent (known after stop())

    def start(self, env: dict | None = None, timeout: float = 30.0) -> Agent:
        """Start the server with ``env`` (the environment ansible-playbook gets, so that module
        processes see the same variables as without the agent)."""
        env = dict(env if env is not None else os.environ)
        env["PYTHONPATH"] = os.pathsep.join([self.repo] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                                           if p])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.lab.agent", self.socket_path, "--repo", self.repo,
             "--parent", str(os.getpid())],
            cwd=self.repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            ready = sel.select(timeout)
        if not ready or self.proc.stdout.readline().strip() != b"ready":
            self.stop()
            raise RuntimeError("lab agent did not start within %ss" % timeout)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        Path(self.socket_path).unlink(missing_ok=True)
        count = Path(self.socket_path + ".count")
        if count.exists():
            self.served = int(count.read_text() or 0)
            count.unlink()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("socket")
    parser.add_argument("--repo", default=str(Path(__file__).resolve().parents[2]))
    parser.add_argument("--parent", type=int, default=None, help="exit when this process is gone")
    args = parser.parse_args(argv)
    serve(args.socket, args.repo, args.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Python API of the lab: build a lab in a directory and run real ``ansible-playbook`` against it.

    env = LabEnv(tmp_path, hosts=3)
    env.host("dc01").seed({"user": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}})
    result = env.run_playbook(YAML_OR_PATH, diff=True)
    assert result.rc == 0 and result.stats["dc01"]["failures"] == 0

See tests/lab/README.md for the whole API.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.lab import state
from tests.lab.agent import Agent

LAB_SRC = Path(__file__).resolve().parent
REPO_ROOT = state.REPO_ROOT
STANDIN_SRC = LAB_SRC / "collections" / "ansible_collections" / "ansible" / "windows"
PLUGINS = LAB_SRC / "plugins"
BUILD_COLLECTIONS = REPO_ROOT / ".build" / "collections"


def real_windows_collection() -> Path:
    """The installed (real) ansible.windows collection: the venv's site-packages, else sys.path."""
    candidates = [Path(sysconfig.get_paths()["purelib"])] + [Path(p) for p in sys.path if p]
    for base in candidates:
        path = base / "ansible_collections" / "ansible" / "windows"
        if (path / "MANIFEST.json").exists():
            return path
    raise RuntimeError("the real ansible.windows collection is not installed (pip install ansible==12.3.0)")


def build_standin_collection(target: Path) -> Path:
    """Assemble the stand-in ansible.windows under ``target`` (a collections root) and return its path.

    Copies the committed stand-in modules and, verbatim, the REAL ``plugins/action/win_copy.py``
    of the installed ansible.windows (it imports nothing from its collection).
    """
    dest = Path(target) / "ansible_collections" / "ansible" / "windows"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(STANDIN_SRC, dest, ignore=shutil.ignore_patterns("__pycache__"))
    real = real_windows_collection()
    (dest / "plugins" / "action").mkdir(parents=True, exist_ok=True)
    shutil.copy2(real / "plugins" / "action" / "win_copy.py", dest / "plugins" / "action" / "win_copy.py")
    (dest / "plugins" / "action" / "__init__.py").touch()
    return dest


@dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    stats: dict = field(default_factory=dict)  # host -> {ok, changed, failures, unreachable, skipped, ...}
    results: list = field(default_factory=list)  # [{host, task, play, status, module_calls, result}]
    elapsed: float = 0.0
    agent_calls: int | None = None  # module payloads the agent ran (None: no agent)
    # CPU seconds (user + system) of ``ansible-playbook`` with every process it waited for (its worker forks, the
    # modules it ran itself without the agent), and of the agent with every module it ran (None: no agent).
    controller_cpu: float = 0.0
    agent_cpu: float | None = None

    def task(self, task_name: str, host: str | None = None) -> list:
        """Results of one task (all hosts, or one host)."""
        return [r for r in self.results if r["task"] == task_name and (host is None or r["host"] == host)]

    def result(self, host: str, task_name: str) -> dict:
        """The (last) result dict of ``task_name`` on ``host``; KeyError if it did not run."""
        found = self.task(task_name, host)
        if not found:
            raise KeyError("task %r did not report for %s" % (task_name, host))
        return found[-1]["result"]

    def status(self, host: str, task_name: str) -> str:
        found = self.task(task_name, host)
        return found[-1]["status"] if found else "not run"

    def __str__(self):
        return "rc=%d\n--- stdout\n%s\n--- stderr\n%s" % (self.rc, self.stdout[-6000:], self.stderr[-3000:])


class LabEnv:
    """A lab directory with N emulated hosts, the stand-in collection, an inventory and the run env."""

    def __init__(self, directory, hosts=3, prefix="dc", host_vars: dict | None = None, agent: bool | None = None):
        self.dir = Path(directory).resolve()
        # The warm module runner (tests/lab/agent.py); ATP_LAB_AGENT=0 turns it off everywhere.
        self.agent = (os.environ.get("ATP_LAB_AGENT") != "0") if agent is None else agent
        self.dir.mkdir(parents=True, exist_ok=True)
        self.lab = state.Lab.create(self.dir / "lab", hosts, prefix=prefix)
        self.collections = self.dir / "collections"
        build_standin_collection(self.collections)
        self.host_vars = dict(host_vars or {})
        self.inventory = self.dir / "inventory.yml"
        self.write_inventory()
        (self.dir / "tmp").mkdir(exist_ok=True)
        self.ansible_cfg = self.dir / "ansible.cfg"
        self.ansible_cfg.write_text("[defaults]\nhost_key_checking = False\nretry_files_enabled = False\n")
        self._runs = 0
        # CPUs ``ansible-playbook`` (the controller and its forks) is pinned to (sched_setaffinity(2)); None: not pinned.
        self.controller_cpus: set | None = None

    # -- state ---------------------------------------------------------
    def host(self, name: str) -> state.Host:
        return self.lab.host(name)

    @property
    def host_names(self) -> list:
        return self.lab.host_names()

    def ledger(self) -> dict:
        return self.lab.ledger()

    def reset_ledgers(self) -> None:
        for h in self.lab.hosts():
            h.reset_ledger()

    def round_trips(self) -> dict:
        """host -> module executions counted so far."""
        return {name: led["module_calls"] for name, led in self.ledger().items()}

    # -- inventory and environment ----------------------------------------
    def inventory_vars(self) -> dict:
        return {
            "ansible_connection": "lab_local",
            "ansible_become_method": "lab_runas",
            "ansible_pipelining": True,
            "ansible_python_interpreter": sys.executable,
            "atp_lab_dir": str(self.lab.dir),
            **self.host_vars,
        }

    def write_inventory(self) -> None:
        hosts = {name: {} for name in self.lab.host_names()}
        # Both group names: the main playbook targets atp_sensors by default.
        inv = {"all": {"vars": self.inventory_vars(), "children": {
            "domain_controllers": {"hosts": hosts}, "atp_sensors": {"hosts": hosts}}}}
        self.inventory.write_text(yaml.safe_dump(inv, default_flow_style=False))

    def env(self, results_file: Path | None = None) -> dict:
        cfg = self.lab.config()
        env = dict(os.environ)
        env.update({
            "ANSIBLE_CONFIG": str(self.ansible_cfg),
            "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(self.collections), str(BUILD_COLLECTIONS)]),
            "ANSIBLE_CONNECTION_PLUGINS": str(PLUGINS / "connection"),
            "ANSIBLE_BECOME_PLUGINS": str(PLUGINS / "become"),
            "ANSIBLE_CALLBACK_PLUGINS": str(PLUGINS / "callback"),
            "ANSIBLE_CALLBACKS_ENABLED": "lab_ledger",
            "ANSIBLE_LOCAL_TEMP": str(self.dir / "tmp"),
            "ANSIBLE_REMOTE_TMP": str(self.dir / "tmp"),
            "ANSIBLE_HOME": str(self.dir / "ansible_home"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "PYTHONPATH": os.pathsep.join([str(BUILD_COLLECTIONS), str(REPO_ROOT)]),
            state.ENV_LAB_DIR: str(self.lab.dir),
            state.ENV_REPO: str(REPO_ROOT),
            state.ENV_CA_FILE: cfg.get("ca_file") or "",
        })
        env.pop(state.ENV_HOST, None)
        env.pop(state.ENV_BECOME_USER, None)
        if results_file:
            env["ATP_LAB_RESULTS"] = str(results_file)
        return env

    # -- running ---------------------------------------------------------
    def write_playbook(self, text: str, name: str | None = None) -> Path:
        self._runs += 1
        path = self.dir / (name or "playbook_%03d.yml" % self._runs)
        path.write_text(text)
        return path

    def run_playbook(self, playbook, extra_vars: dict | None = None, check=False, diff=False, forks=5,
                     limit: str | None = None, tags: str | None = None, verbosity=0, timeout=900,
                     extra_args=()) -> PlaybookResult:
        """Run real ``ansible-playbook``. ``playbook`` is a path or YAML text (or a list of plays)."""
        import time

        if isinstance(playbook, list):
            playbook = yaml.safe_dump(playbook, sort_keys=False)
        path = Path(playbook) if isinstance(playbook, (str, Path)) and "\n" not in str(playbook) else None
        if path is None:
            path = self.write_playbook(str(playbook))
        self._runs += 1
        results_file = self.dir / ("results_%03d.json" % self._runs)
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(self.inventory), str(path),
               "--forks", str(forks)]
        if extra_vars:
            cmd += ["--extra-vars", json.dumps(extra_vars)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if limit:
            cmd += ["--limit", limit]
        if tags:
            cmd += ["--tags", tags]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        cmd += list(extra_args)
        env = self.env(results_file)
        start = time.monotonic()
        runner = Agent(self.lab.dir).start(env) if self.agent else None
        agent_cpu = None
        try:
            if runner:
                env["ATP_LAB_AGENT_SOCKET"] = runner.socket_path
            before = children_cpu()
            cpus = self.controller_cpus
            proc = subprocess.run(cmd, cwd=str(REPO_ROOT), env=env, capture_output=True, text=True, timeout=timeout,
                                  check=False, preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
            controller_cpu = children_cpu() - before
        finally:
            if runner:
                before = children_cpu()
                runner.stop()
                agent_cpu = children_cpu() - before
        elapsed = time.monotonic() - start
        data = json.loads(results_file.read_text()) if results_file.exists() else {"stats": {}}
        lines = Path(str(results_file) + ".jsonl")
        data["results"] = [json.loads(line) for line in lines.read_text().splitlines() if line] if lines.exists() else []
        return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, data["stats"], data["results"], elapsed,
                              runner.served if runner else None, controller_cpu, agent_cpu)


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's children that were waited for, and of their own waited-for
    descendants (getrusage(2) ``RUSAGE_CHILDREN``). The difference across one ``wait`` is that child's tree."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

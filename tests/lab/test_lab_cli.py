# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab as a user drives it: ``python -m tests.lab.cli --lab DIR create|seed|faults|show|cloud|run``.

Every step is a subprocess call of the command line, as in tests/lab/README.md "Using the lab yourself".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.lab.network import PROXY_NAME, SENSOR_HOST, V3_GEO_HOST, WORKSPACE_NAME
from tests.lab.state import REPO_ROOT

pytestmark = [pytest.mark.lab]

ADMIN = ["--proxy", PROXY_NAME, "--bypass", "<local>"]
GREETING_KEY = "HKLM:\\SOFTWARE\\Contoso\\Lab"
READ_GREETING = r"""
- name: Read what the lab seeded
  hosts: atp_sensors
  gather_facts: false
  tasks:
    - name: Read the greeting
      ansible.windows.win_reg_stat:
        path: HKLM:\SOFTWARE\Contoso\Lab
        name: Greeting
      register: greeting
    - name: Say it
      ansible.builtin.debug:
        msg: "{{ inventory_hostname }} says {{ greeting.value }} ({{ greeting.type }})"
"""


# A Python warning as the warnings module prints it ("file:line: SomeWarning: text"); not Ansible's "[WARNING]:".
PYTHON_WARNING = re.compile(r"^.*\b[A-Z][A-Za-z]*Warning: .*$", re.M)


def cli(lab_dir, *args, timeout=300):
    """``python -m tests.lab.cli --lab DIR ARGS...`` from the checkout, as the README shows it."""
    return subprocess.run([sys.executable, "-m", "tests.lab.cli", "--lab", str(lab_dir), *args], cwd=str(REPO_ROOT),
                          capture_output=True, text=True, timeout=timeout, check=False)


def ok(lab_dir, *args, timeout=300):
    proc = cli(lab_dir, *args, timeout=timeout)
    assert proc.returncode == 0, "%s\nrc=%d\n%s\n%s" % (args, proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:])
    return proc


def show_json(lab_dir, *hosts) -> dict:
    return json.loads(ok(lab_dir, "show", "--json", *hosts).stdout)


def alive(pid: int) -> bool:
    """A live process (a zombie nobody reaped yet counts as gone)."""
    try:
        stat = Path("/proc/%d/stat" % pid).read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        return True
    return False


def wait_until(condition, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def ping_through_proxy(info: dict) -> int:
    """GET the sensor API's ping URL by its real name through the cloud's proxy, trusting the lab CA."""
    context = ssl.create_default_context(cafile=info["ca_file"])
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"https": "http://127.0.0.1:%d" % info["proxy"]["port"]}),
        urllib.request.HTTPSHandler(context=context))
    with opener.open("https://%s/tri/sensor/api/ping" % SENSOR_HOST, timeout=15) as response:
        return response.status


@pytest.fixture
def lab_dir(tmp_path):
    """A lab folder; any cloud a test starts in it is stopped afterwards, even when the test fails."""
    directory = tmp_path / "lab"
    yield directory
    cloud = directory / "cloud"
    if not cloud.exists():
        return
    pids = []
    with contextlib.suppress(OSError, ValueError):
        pids.append((int((cloud / "cloud.pid").read_text()), False))
    with contextlib.suppress(OSError, ValueError, KeyError):
        pids.append((json.loads((cloud / "cloud.json").read_text())["proxy_pid"], True))
    cli(directory, "cloud", "stop", timeout=60)
    for pid, group in pids:  # only if `cloud stop` failed to; the command lines say they are this lab's
        cmdline = Path("/proc/%d/cmdline" % pid).read_bytes() if alive(pid) else b""
        if str(directory).encode() in cmdline:
            with contextlib.suppress(OSError):
                (os.killpg if group else os.kill)(pid, signal.SIGKILL)


def test_create_seed_faults_show_json(lab_dir):
    out = ok(lab_dir, "create", "--hosts", "2").stdout
    assert "dc01, dc02" in out
    data = show_json(lab_dir)
    assert sorted(data["hosts"]) == ["dc01", "dc02"]
    assert data["hosts"]["dc01"]["accounts"]["LocalService"] == {
        "sid": "S-1-5-19", "state": "missing", "text": "(no DefaultConnectionSettings)", "settings": None, "hex": None}
    assert data["cloud"]["running"] is False and data["dns"] == {} and data["ca_file"] == ""
    inventory = yaml.safe_load(Path(data["inventory"]).read_text())
    assert sorted(inventory["all"]["children"]["atp_sensors"]["hosts"]) == ["dc01", "dc02"]

    ok(lab_dir, "seed", "dc01", *ADMIN)
    ok(lab_dir, "seed", "dc01", "--account", "LocalService", "--proxy", "old.corp:3128")
    ok(lab_dir, "seed", "dc02", "--value", GREETING_KEY, "Greeting", "REG_SZ", "hello",
       "--value", GREETING_KEY, "Count", "REG_DWORD", "0x10")
    ok(lab_dir, "faults", "dc02", "--set", "drop_after=3", "--set", "hive_unloaded=S-1-5-19")
    data = show_json(lab_dir)
    dc01, dc02 = data["hosts"]["dc01"], data["hosts"]["dc02"]
    assert dc01["accounts"]["user"]["settings"]["proxy_server"] == PROXY_NAME
    assert dc01["accounts"]["user"]["settings"]["bypass"] == ["<local>"]
    assert dc01["accounts"]["user"]["sid"] == dc01["user"]["sid"] == "S-1-5-21-1000-1000-1000-500"
    assert dc01["accounts"]["LocalService"]["settings"]["proxy_server"] == "old.corp:3128"
    assert dc01["accounts"]["LocalService"]["hex"].startswith("46000000")
    assert dc01["accounts"]["SYSTEM"]["state"] == "missing" and dc01["faults"] == {}
    assert dc02["faults"] == {"drop_after": 3}
    assert dc02["unloaded_hives"] == ["S-1-5-19"] and dc02["accounts"]["LocalService"]["state"] == "hive_not_loaded"

    ok(lab_dir, "faults", "dc02", "--clear", "all")
    dc02 = show_json(lab_dir, "dc02")["hosts"]["dc02"]
    assert dc02["faults"] == {} and dc02["unloaded_hives"] == []
    assert dc02["accounts"]["LocalService"]["state"] == "missing"

    # create again: more hosts, the existing ones keep their state
    assert "dc01, dc02, dc03" in ok(lab_dir, "create", "--hosts", "3").stdout
    data = show_json(lab_dir)
    assert sorted(data["hosts"]) == ["dc01", "dc02", "dc03"]
    assert data["hosts"]["dc01"]["accounts"]["LocalService"]["settings"]["proxy_server"] == "old.corp:3128"
    inventory = yaml.safe_load(Path(data["inventory"]).read_text())
    assert sorted(inventory["all"]["children"]["atp_sensors"]["hosts"]) == ["dc01", "dc02", "dc03"]


@pytest.mark.parametrize("args, message", [
    (["show", "dc09"], "no host 'dc09' in the lab (hosts: dc01)"),
    (["seed", "dc09", "--proxy", "p.corp:1"], "no host 'dc09'"),
    (["faults", "dc09", "--set", "lost_write"], "no host 'dc09'"),
    (["faults", "dc01", "--set", "no_such_fault"], "unknown fault 'no_such_fault'; known: deny_hku_write"),
    (["faults", "dc01", "--clear", "no_such_fault"], "unknown fault 'no_such_fault'"),
    (["faults", "dc01", "--set", "drop_after=soon"], "drop_after wants a number"),
    (["faults", "dc01", "--clear", "corrupt_value"], "corrupt_value is a one-off write"),
    (["seed", "dc01", "--account", "Guest", "--proxy", "p.corp:1"], "knows no account 'Guest'"),
    (["seed", "dc01", "--hex", "zz"], "only hex digits"),
    (["seed", "dc01", "--value", GREETING_KEY, "Count", "REG_DWORD", "many"], "REG_DWORD wants a number"),
    (["run"], "run needs a command"),
    (["run", "--"], "run needs a command"),
    (["create", "--hosts", "0"], "--hosts must be at least 1"),
    (["cloud", "restart"], "invalid choice: 'restart'"),
])
def test_bad_input_is_one_line_and_exit_2(lab_dir, args, message):
    ok(lab_dir, "create", "--hosts", "1")
    proc = cli(lab_dir, *args)
    assert proc.returncode == 2, proc
    assert proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("args", [["show"], ["seed", "dc01", "--proxy", "p.corp:1"], ["faults", "dc01"],
                                  ["cloud", "start"], ["cloud", "stop"], ["run", "--", "true"], ["ledger"]])
def test_no_lab_dir_is_one_line_and_exit_2(tmp_path, args):
    missing = tmp_path / "nolab"
    proc = cli(missing, *args)
    assert proc.returncode == 2, proc
    assert proc.stderr == "python -m tests.lab.cli: error: no lab at %s (create one: python -m tests.lab.cli --lab %s " \
                          "create --hosts 3)\n" % (missing, missing)
    assert not missing.exists()  # nothing was created on the way


def test_create_refuses_a_folder_that_is_not_a_lab(tmp_path):
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    proc = cli(tmp_path, "create")
    assert proc.returncode == 2 and "is not empty and holds no lab" in proc.stderr
    assert (tmp_path / "ansible.cfg").read_text() == "[defaults]\n"
    ok(tmp_path / "kept", "create", "--hosts", "1")
    inner = cli(tmp_path / "kept" / "lab", "show")  # the hosts' folder instead of the lab's
    assert inner.returncode == 2 and "holds only a lab's hosts" in inner.stderr and "pass the folder above" in inner.stderr


def test_cloud_start_status_stop(lab_dir):
    ok(lab_dir, "create", "--hosts", "1")
    assert cli(lab_dir, "cloud", "status").returncode == 3

    out = ok(lab_dir, "cloud", "start", timeout=90).stdout
    assert out.startswith("cloud started (pid ")
    info = json.loads(ok(lab_dir, "cloud", "status", "--json").stdout)
    assert info["running"] is True and alive(info["pid"]) and alive(info["proxy_pid"])
    assert (lab_dir / "cloud" / "cloud.pid").read_text().strip() == str(info["pid"])
    ports = {"proxy": info["proxy"]["port"], "sensor_api": info["sensor_api"]["port"], "crl": info["crl"]["port"]}
    assert all(port_open(p) for p in ports.values()), ports
    assert info["sensor_api"]["workspace"] == WORKSPACE_NAME

    # The names are in the lab's DNS tables, as the fixtures register them.
    data = show_json(lab_dir)
    assert data["dns"] == {PROXY_NAME: "127.0.0.1:%d" % ports["proxy"]}
    assert data["proxy_dns"]["%s:443" % SENSOR_HOST] == "127.0.0.1:%d" % ports["sensor_api"]
    assert data["proxy_dns"]["crl.microsoft.com:80"] == "127.0.0.1:%d" % ports["crl"]
    # a sensor v3's identity channel (seed-sensor --v3's geoLocationUrl) answers through the proxy too
    assert data["proxy_dns"]["%s:443" % V3_GEO_HOST] == "127.0.0.1:%d" % ports["sensor_api"]
    assert data["ca_file"] == info["ca_file"] and Path(info["ca_file"]).exists()
    assert data["cloud"]["running"] is True

    # The sensor API answers by its real name through the proxy (the proxy resolves it from proxy_dns).
    assert ping_through_proxy(info) == 200
    log = [json.loads(line) for line in Path(info["proxy"]["log"]).read_text().splitlines()]
    assert {"method": "CONNECT", "host": SENSOR_HOST, "port": 443} in [
        {k: r[k] for k in ("method", "host", "port")} for r in log]

    # The CLI call has ended; the cloud outlives it. A second start changes nothing.
    again = ok(lab_dir, "cloud", "start").stdout
    assert again.startswith("cloud already running (pid %d)" % info["pid"])

    assert ok(lab_dir, "cloud", "stop").stdout == "cloud stopped (pid %d)\n" % info["pid"]
    assert wait_until(lambda: not alive(info["pid"]) and not alive(info["proxy_pid"]))
    assert not any(port_open(p) for p in ports.values()), ports
    assert not (lab_dir / "cloud" / "cloud.pid").exists() and not (lab_dir / "cloud" / "cloud.json").exists()
    data = show_json(lab_dir)
    assert data["dns"] == {} and data["proxy_dns"] == {} and data["ca_file"] == ""
    assert cli(lab_dir, "cloud", "status").returncode == 3
    assert ok(lab_dir, "cloud", "stop").stdout == "cloud was not running\n"  # idempotent


def test_cloud_stale_pid_file_and_killed_daemon(lab_dir):
    ok(lab_dir, "create", "--hosts", "1")
    (lab_dir / "cloud").mkdir()
    (lab_dir / "cloud" / "cloud.pid").write_text("%d\n" % os.getpid())  # a live process that is not the cloud
    status = cli(lab_dir, "cloud", "status")
    assert status.returncode == 3 and "stale pid file: pid %d" % os.getpid() in status.stdout
    ok(lab_dir, "cloud", "start", timeout=90)  # replaces the stale file, does not signal that pid
    info = json.loads(ok(lab_dir, "cloud", "status", "--json").stdout)
    assert info["running"] is True and info["pid"] != os.getpid()

    # The daemon dies without cleaning up: its proxy.py is left running, its names registered.
    os.kill(info["pid"], signal.SIGKILL)
    assert wait_until(lambda: not alive(info["pid"]))
    assert alive(info["proxy_pid"]) and port_open(info["proxy"]["port"])
    assert cli(lab_dir, "cloud", "status").returncode == 3
    out = ok(lab_dir, "cloud", "stop").stdout
    assert "cleaned up after it (stale pid %d, proxy.py %d)" % (info["pid"], info["proxy_pid"]) in out
    assert wait_until(lambda: not alive(info["proxy_pid"]))
    assert not port_open(info["proxy"]["port"])
    data = show_json(lab_dir)
    assert data["dns"] == {} and data["proxy_dns"] == {} and data["ca_file"] == ""
    assert not (lab_dir / "cloud" / "cloud.pid").exists()


def test_run_passes_exit_code_environment_and_placeholders(lab_dir):
    ok(lab_dir, "create", "--hosts", "1")
    script = ("import json, os, sys; sock = os.environ.get('ATP_LAB_AGENT_SOCKET', ''); "
              "print(json.dumps({'argv': sys.argv[1:], 'config': os.environ['ANSIBLE_CONFIG'], "
              "'collections': os.environ['ANSIBLE_COLLECTIONS_PATH'], 'lab_dir': os.environ['ATP_LAB_DIR'], "
              "'socket': sock, 'agent_up': os.path.exists(sock)})); sys.exit(7)")
    proc = cli(lab_dir, "run", "--", sys.executable, "-c", script, "{inventory}", "{lab}", "{workspace}", "{proxy}",
               "{repo}", "{{ inventory_hostname }}", "{{inventory}}", "{unknown}")
    assert proc.returncode == 7, proc
    seen = json.loads(proc.stdout)
    assert seen["argv"] == [str(lab_dir / "inventory.yml"), str(lab_dir), WORKSPACE_NAME, PROXY_NAME, str(REPO_ROOT),
                            "{{ inventory_hostname }}", "{{inventory}}", "{unknown}"]
    assert seen["config"] == str(lab_dir / "ansible.cfg") and seen["lab_dir"] == str(lab_dir / "lab")
    assert seen["collections"].split(os.pathsep)[0] == str(lab_dir / "collections")
    assert seen["agent_up"] is True and not Path(seen["socket"]).exists()  # started around the command only
    assert cli(lab_dir, "run", "--", sys.executable, "-c", "pass").returncode == 0
    assert cli(lab_dir, "run", "--", "sh", "-c", "kill -TERM $$").returncode == 128 + signal.SIGTERM
    missing = cli(lab_dir, "run", "--", "no-such-command-here")
    assert missing.returncode == 127 and "command not found: no-such-command-here" in missing.stderr
    no_agent = cli(lab_dir, "run", "--no-agent", "--", sys.executable, "-c", script)
    assert no_agent.returncode == 7 and json.loads(no_agent.stdout)["socket"] == ""


def test_run_playbook_reaches_the_emulated_hosts(lab_dir, tmp_path):
    ok(lab_dir, "create", "--hosts", "2")
    for name in ("dc01", "dc02"):
        ok(lab_dir, "seed", name, "--value", GREETING_KEY, "Greeting", "REG_SZ", "hello-from-" + name)
    playbook = tmp_path / "greeting.yml"
    playbook.write_text(READ_GREETING)
    proc = cli(lab_dir, "run", "--", "ansible-playbook", "-i", "{inventory}", str(playbook))
    assert proc.returncode == 0, proc
    assert '"msg": "dc01 says hello-from-dc01 (REG_SZ)"' in proc.stdout, proc.stdout
    assert '"msg": "dc02 says hello-from-dc02 (REG_SZ)"' in proc.stdout, proc.stdout
    ledger = json.loads(ok(lab_dir, "ledger", "--json").stdout)
    assert {name: led["by_module"] for name, led in ledger.items()} == {
        "dc01": {"win_reg_stat": 1}, "dc02": {"win_reg_stat": 1}}

    ok(lab_dir, "ledger", "--reset")
    assert {led["module_calls"] for led in json.loads(ok(lab_dir, "ledger", "--json").stdout).values()} == {0}

    # The playbook's own exit code comes back: 4 when a host is unreachable.
    ok(lab_dir, "faults", "dc02", "--set", "drop_after=0")
    assert show_json(lab_dir, "dc02")["hosts"]["dc02"]["faults"] == {"drop_after": 0}
    proc = cli(lab_dir, "run", "--", "ansible-playbook", "-i", "{inventory}", str(playbook))
    assert proc.returncode == 4, proc
    assert '"msg": "dc01 says hello-from-dc01 (REG_SZ)"' in proc.stdout and "UNREACHABLE" in proc.stdout


@pytest.mark.network
def test_check_playbook_through_run(lab_dir):
    ok(lab_dir, "create", "--hosts", "3")
    for name in ("dc01", "dc02", "dc03"):
        for account in ("user", "SYSTEM", "LocalService"):
            ok(lab_dir, "seed", name, "--account", account, *ADMIN)
    ok(lab_dir, "cloud", "start", timeout=90)
    proc = cli(lab_dir, "run", "--", "ansible-playbook", "-i", "{inventory}", "playbooks/check_atp_proxy.yml",
               "-e", "atp_proxy_workspace={workspace}", timeout=600)
    assert proc.returncode == 0, proc
    for name in ("dc01", "dc02", "dc03"):
        assert name in proc.stdout, proc.stdout
    # No Python warning from the toolchain between the lines an admin reads (the lock pins it clean).
    assert not PYTHON_WARNING.findall(proc.stdout + proc.stderr), proc.stdout + proc.stderr


def test_pwsh_runs_the_collections_scripts_on_a_host_and_prints_the_win_powershell_result(tmp_path):
    from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _file_write, _state_query

    lab = tmp_path / "lab"
    ok(lab, "create", "--hosts", "1")
    ok(lab, "seed", "dc01", "--value", "HKLM:\\SOFTWARE\\Contoso", "Flags", "REG_DWORD", "4294967295")
    query = tmp_path / "query.ps1"
    query.write_text(_state_query.SCRIPT)
    args = _state_query.module_args(["HKLM:\\SOFTWARE\\Contoso"], ["SenseIdentity"], ["AATPSensor"])
    proc = cli(lab, "pwsh", "--host", "dc01", "--params", json.dumps(args["parameters"]), "--error-action", "stop",
               "--become-user", "LocalService", "--depth", "8", str(query))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["changed"] is False and result["error"] == [] and "failed" not in result
    flags = result["result"]["keys"]["HKLM:\\SOFTWARE\\Contoso"]["values"]["Flags"]
    assert flags == {"type": "DWord", "value": 4294967295}
    assert result["result"]["user"] == {"name": "NT AUTHORITY\\LOCAL SERVICE", "sid": "S-1-5-19",
                                        "administrator": False}
    # the file write: a failed script still ran (exit 0); its result says what failed
    write = tmp_path / "write.ps1"
    write.write_text(_file_write.SCRIPT)
    folder = "C:\\ProgramData\\lab"
    params = json.dumps(_file_write.module_args(folder, {"a.reg": b"hello"})["parameters"])
    first = json.loads(ok(lab, "pwsh", "--host", "dc01", "--params", params, str(write)).stdout)
    assert first["changed"] is True and first["result"]["written"] == {
        "a.reg": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}
    again = cli(lab, "pwsh", "--host", "dc01", "--params", params, str(write))
    assert again.returncode == 0 and json.loads(again.stdout)["failed"] is True
    assert json.loads(again.stdout)["result"]["error"] == "The file 'C:\\ProgramData\\lab\\a.reg' already exists."


def test_pwsh_exits_non_zero_only_when_the_lab_cannot_run_the_script(tmp_path):
    lab = tmp_path / "lab"
    ok(lab, "create", "--hosts", "1")
    script = tmp_path / "f.ps1"
    script.write_text("$x = 1\nfunction f { 1 }\n")
    refused = cli(lab, "pwsh", "--host", "dc01", str(script))
    assert refused.returncode == 4 and refused.stdout == ""
    assert refused.stderr.strip() == "%s: unsupported in the lab: function statement at line 2" % script
    unknown = cli(lab, "pwsh", "--host", "dc09", str(script))
    assert unknown.returncode == 2 and "has no host 'dc09'" in unknown.stderr
    bad = cli(lab, "pwsh", "--host", "dc01", "--params", "[1]", str(script))
    assert bad.returncode == 2 and "--params must be a JSON object" in bad.stderr
    thrown = tmp_path / "t.ps1"
    thrown.write_text("throw 'no'\n")
    ran = cli(lab, "pwsh", "--host", "dc01", str(thrown))
    assert ran.returncode == 0 and json.loads(ran.stdout)["failed"] is True


def test_clearing_corrupt_value_refuses_and_leaves_the_value_alone(lab_dir):
    # corrupt_value writes a corrupt value once; "clearing" it wrote it again, over whatever the account had.
    ok(lab_dir, "create", "--hosts", "1")
    ok(lab_dir, "seed", "dc01", "--account", "LocalService", "--proxy", "p.corp:1")
    before = show_json(lab_dir)["hosts"]["dc01"]["accounts"]["LocalService"]
    proc = cli(lab_dir, "faults", "dc01", "--clear", "corrupt_value")
    assert proc.returncode == 2 and "repair the value with seed" in proc.stderr, proc
    assert show_json(lab_dir)["hosts"]["dc01"]["accounts"]["LocalService"] == before
    assert before["settings"]["proxy_server"] == "p.corp:1"

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line of the lab: a lab you keep in a folder, and any command run against it.

    python -m tests.lab.cli --lab /tmp/lab create --hosts 3
    python -m tests.lab.cli --lab /tmp/lab seed dc01 --account user --proxy proxy.corp:8080 --bypass '<local>'
    python -m tests.lab.cli --lab /tmp/lab seed dc01 --account LocalService --clear
    python -m tests.lab.cli --lab /tmp/lab seed dc01 --value 'HKLM:\\SOFTWARE\\Contoso' Greeting REG_SZ hello
    python -m tests.lab.cli --lab /tmp/lab seed-sensor dc02 [--proxy http://proxy.corp:8080 [--username U --password P]]
    python -m tests.lab.cli --lab /tmp/lab seed-sensor dc03 --v3 [--proxy proxy.corp:8080]
    python -m tests.lab.cli --lab /tmp/lab faults dc02 --set hive_unloaded=S-1-5-19 --set drop_after=3
    python -m tests.lab.cli --lab /tmp/lab show [dc01] [--json]
    python -m tests.lab.cli --lab /tmp/lab cloud start | status [--json] | stop
    python -m tests.lab.cli --lab /tmp/lab run -- ansible-playbook -i {inventory} playbooks/check_atp_proxy.yml
    python -m tests.lab.cli --lab /tmp/lab ledger [--json]
    python -m tests.lab.cli --lab /tmp/lab pwsh --host dc01 [--params JSON] [--become-user SYSTEM] SCRIPT_FILE

The folder has the layout of a ``LabEnv`` (tests/lab/fixtures.py): ``lab/`` (hosts and DNS), ``inventory.yml``,
``ansible.cfg``, ``collections/`` (the stand-in ansible.windows), ``cloud/`` (the background servers).
``run`` replaces these placeholders in the command's arguments, and nothing else (Jinja's ``{{ }}`` passes):
{placeholders}
Bad input (no lab, unknown host or fault, ``run`` without a command) prints one line and exits 2.
A walkthrough: "Using the lab yourself" in tests/lab/README.md.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.lab.pwsh import cli as pwsh_cli
from tests.lab.state import (
    FAULTS,
    REG_TYPES,
    REPO_ROOT,
    SERVICE_ACCOUNTS,
    SID_LOCAL_SERVICE,
    SID_NETWORK_SERVICE,
    SID_SYSTEM,
    Lab,
    LabError,
)

PROG = "python -m tests.lab.cli"
ACCOUNTS = [("user", "connection user (HKCU)"), ("S-1-5-18", "LocalSystem"), ("S-1-5-19", "LocalService"),
            ("S-1-5-20", "NetworkService")]
# show --json keys: the names ``seed --account`` takes.
JSON_ACCOUNTS = [("user", None), ("SYSTEM", SID_SYSTEM), ("LocalService", SID_LOCAL_SERVICE),
                 ("NetworkService", SID_NETWORK_SERVICE)]
PLACEHOLDERS = {
    "inventory": "the lab's inventory (DIR/inventory.yml; groups all, domain_controllers, atp_sensors)",
    "lab": "the lab folder DIR, absolute",
    "repo": "this checkout (the collection's root)",
    "python": "the Python running the lab (the venv's)",
    "workspace": "the MDI workspace whose sensor API the cloud serves (for -e atp_proxy_workspace=...)",
    "proxy": "the proxy's name as the DCs know it (proxy.corp:8080)",
}
STATE_SUBDIR = "lab"
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3  # cloud status, like systemctl status


class UsageError(Exception):
    """Bad input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(EXIT_USAGE, "%s: error: %s (see --help)\n" % (self.prog, message))


# ---------------------------------------------------------------------------
# Printing (also used by tests/lab/demo.py)
# ---------------------------------------------------------------------------
def sensor_json(host) -> dict | None:
    """The host's emulated Defender for Identity sensor for ``show --json``: ``{generation, version, services:
    {name: state}, config_path, proxy: {url, username, password_set}, sensor_api}`` (v2), ``{generation: v3,
    services, telemetry_proxy}`` (v3), or None."""
    from tests.lab import system_state as ss

    sensor = ss.service(host, ss.SENSOR_SERVICE)
    if sensor is None:
        system = ss.read(host)
        if not any(p.get("name") == "SenseIdentity" for p in system["processes"]):
            return None
        found = host.get_value(ss.DATACOLLECTION_KEY, "TelemetryProxyServer")
        return {"generation": "v3", "services": {n: ss.service_state(host, n) for n in ("Sense",)
                                                 if ss.service(host, n)},
                "telemetry_proxy": found["data"] if found else None}
    binary = sensor["path"].strip('"')
    folder = binary.rsplit("\\", 1)[0]
    path = folder + "\\SensorConfiguration.json"
    out = {"generation": "v2", "version": folder.rsplit("\\", 1)[-1], "config_path": path, "proxy": None,
           "sensor_api": None,
           # Each service's own state: the sensor can run while its updater is stopped, and the other way round.
           "services": {n: ss.service_state(host, n) for n in (ss.SENSOR_SERVICE, ss.UPDATER_SERVICE)
                        if ss.service(host, n)}}
    data = host.read_file(path)
    if data is None:
        out["config_path"] = None
        return out
    config = json.loads(data.decode("utf-8-sig"))
    value = config.get("SensorProxyConfiguration")
    if isinstance(value, dict) and value.get("Url"):
        out["proxy"] = {"url": value["Url"], "username": value.get("UserName"),
                        "password_set": bool((value.get("EncryptedUserPasswordData") or {}).get("EncryptedBytes"))}
    endpoint = config.get("WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint") or {}
    out["sensor_api"] = endpoint.get("Address")
    return out


def _sensor_text(host) -> str:
    """``v2 2.250...: AATPSensor started, AATPSensorUpdater stopped; SensorConfiguration.json proxy ...; sensor API
    ...`` / ``v3 (SenseIdentity running): ...`` / ''."""
    found = sensor_json(host)
    if found is None:
        return ""
    services = ", ".join("%s %s" % kv for kv in found["services"].items())
    if found["generation"] == "v3":
        return "v3 (SenseIdentity running; %s): TelemetryProxyServer %s" % (
            services or "no Sense service", found["telemetry_proxy"] or "(none)")
    if found["config_path"] is None:
        return "v2 %s (%s): no SensorConfiguration.json" % (found["version"], services)
    proxy = found["proxy"]
    text = "proxy %s" % proxy["url"] if proxy else "no proxy of its own"
    if proxy and proxy["username"]:
        text += " as %s%s" % (proxy["username"], " (password set)" if proxy["password_set"] else "")
    return "v2 %s (%s): SensorConfiguration.json %s; sensor API %s" % (
        found["version"], services, text, found["sensor_api"] or "?")


def show(lab: Lab, name: str, out=None) -> None:
    out = out or sys.stdout
    host = lab.host(name)
    st = host.state()
    print("%s  (connection user %s\\%s, %s)" % (name, st["user"]["domain"], st["user"]["name"], st["user"]["sid"]),
          file=out)
    for account, label in ACCOUNTS:
        sid = st["user"]["sid"] if account == "user" else account
        decoded = host.decoded(sid)
        print("  %-10s %-24s %s" % (sid if account != "user" else "HKCU", label, decoded["text"]), file=out)
    winhttp = host.winhttp()
    print("  %-35s %s" % ("WinHTTP", ("proxy %s" % winhttp["proxy_server"]) if winhttp and winhttp["proxy_server"]
                          else "direct"), file=out)
    sensor = _sensor_text(host)
    if sensor:
        print("  %-35s %s" % ("Defender for Identity sensor", sensor), file=out)
    if st["faults"]:
        print("  faults: %s" % json.dumps(st["faults"], sort_keys=True), file=out)


def print_ledger(lab: Lab, out=None, max_columns: int = 8) -> None:
    """Rows = tasks, columns = hosts (round trips); with many hosts, totals per host only."""
    out = out or sys.stdout
    ledger = lab.ledger()
    names = list(ledger)
    if len(names) > max_columns:
        totals = [led["module_calls"] for led in ledger.values()]
        print("%d hosts, round trips per host: min %d, max %d, total %d"
              % (len(names), min(totals), max(totals), sum(totals)), file=out)
        return
    tasks = []
    for led in ledger.values():
        tasks += [t for t in led["by_task"] if t not in tasks and any(x["by_task"].get(t) for x in ledger.values())]
    width = max([len(t) for t in tasks] + [5])
    width = min(width, 70)
    print("%-*s %s" % (width, "task", " ".join("%6s" % n for n in names)), file=out)
    for task in tasks:
        label = task if len(task) <= width else task[:width - 3] + "..."
        print("%-*s %s" % (width, label, " ".join("%6d" % ledger[n]["by_task"].get(task, 0) for n in names)),
              file=out)
    print("%-*s %s" % (width, "TOTAL", " ".join("%6d" % ledger[n]["module_calls"] for n in names)), file=out)


def host_json(lab: Lab, name: str) -> dict:
    """One host for ``show --json``: accounts decoded (keys as ``seed --account`` names them), WinHTTP, faults."""
    host = lab.host(name)
    st = host.state()
    accounts = {}
    for key, sid in JSON_ACCOUNTS:
        sid = sid or st["user"]["sid"]
        decoded = host.decoded(sid)
        raw = host.proxy_value(sid) if decoded["state"] != "hive_not_loaded" else None
        accounts[key] = {"sid": sid, "state": decoded["state"], "text": decoded["text"],
                         "settings": decoded["settings"], "hex": raw.hex() if raw is not None else None}
    return {"user": st["user"], "accounts": accounts, "winhttp": host.winhttp(), "faults": st["faults"],
            "sensor": sensor_json(host),
            "unloaded_hives": sorted(k.split("\\", 1)[1] for k, h in st["hives"].items()
                                     if k.startswith("HKU\\") and not h["loaded"])}


def cloud_line(info: dict, state: str = "running") -> str:
    """One line about the cloud from ``cloud_daemon.status()``; ``state`` names a running one."""
    if info["running"]:
        return "cloud %s (pid %d): proxy %s -> %s, sensor API %s -> %s, CRL hosts %s -> %s" % (
            state, info["pid"], info["proxy"]["name"], info["proxy"]["address"], info["sensor_api"]["name"],
            info["sensor_api"]["address"], ", ".join(info["crl"]["hosts"]), info["crl"]["address"])
    if info.get("starting"):
        return "cloud starting (pid %d)" % info["pid"]
    if info.get("stale_pid"):
        return "cloud stopped (stale pid file: pid %d is not the lab's cloud; cloud stop removes it)" % info["stale_pid"]
    return "cloud stopped"


# ---------------------------------------------------------------------------
# The lab folder
# ---------------------------------------------------------------------------
def state_lab(root: Path) -> Lab:
    """The lab's hosts and DNS (``DIR/lab``); :class:`UsageError` when DIR holds no lab."""
    if not (root / STATE_SUBDIR / "lab.json").exists():
        if (root / "lab.json").exists():
            raise UsageError("%s holds only a lab's hosts (a LabEnv's lab/ folder, or a lab made by an older "
                             "version of this command); pass the folder above it, or create a new lab" % root)
        raise UsageError("no lab at %s (create one: %s --lab %s create --hosts 3)" % (root, PROG, root))
    return Lab(root / STATE_SUBDIR)


def lab_env(root: Path, agent: bool | None = None):
    """A ``LabEnv`` for an existing lab folder: keeps its hosts, rebuilds the stand-in collection and the
    inventory (so they follow this checkout and every host created since)."""
    from tests.lab.fixtures import LabEnv

    state_lab(root)
    return LabEnv(root, hosts=0, agent=agent)


def create(root: Path, hosts: int, prefix: str):
    from tests.lab.fixtures import LabEnv

    if hosts < 1:
        raise UsageError("--hosts must be at least 1")
    if not re.match(r"^[A-Za-z][A-Za-z0-9-]*$", prefix):
        raise UsageError("--prefix %r: use letters, digits and '-' (a host name)" % prefix)
    if root.exists() and not root.is_dir():
        raise UsageError("%s is not a folder" % root)
    if root.is_dir() and any(root.iterdir()) and not (root / STATE_SUBDIR / "lab.json").exists():
        if (root / "lab.json").exists():
            state_lab(root)  # explains a LabEnv's lab/ folder or the old layout
        raise UsageError("%s is not empty and holds no lab; choose a new folder" % root)
    return LabEnv(root, hosts=hosts, prefix=prefix)


def host_names(lab: Lab, names) -> list:
    known = lab.host_names()
    for name in names:
        if name not in known:
            raise UsageError("no host %r in the lab (hosts: %s)" % (name, ", ".join(known)))
    return list(names) or known


# ---------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------
def placeholder_values(env) -> dict:
    from tests.lab.network import PROXY_NAME, WORKSPACE_NAME

    return {"inventory": str(env.inventory), "lab": str(env.dir), "repo": str(REPO_ROOT), "python": sys.executable,
            "workspace": WORKSPACE_NAME, "proxy": PROXY_NAME}


def substitute(arg: str, values: dict) -> str:
    """Replace ``{name}`` for the names in ``values``; ``{{ name }}``, ``{{name}}`` and unknown names stay."""
    pattern = r"(?<!\{)\{(%s)\}(?!\})" % "|".join(re.escape(k) for k in values)
    return re.sub(pattern, lambda m: values[m.group(1)], arg)


def run_command(env, argv: list) -> int:
    """Run ``argv`` with the lab's environment and, around it, the lab's agent (as ``LabEnv.run_playbook``
    does); stdin/stdout/stderr are the caller's. Returns the command's exit code (128+N for signal N)."""
    from tests.lab.agent import ENV_AGENT_SOCKET, Agent

    environ = env.env()
    try:
        runner = Agent(env.lab.dir).start(environ) if env.agent else None
    except RuntimeError as exc:
        print("%s: error: %s (run --no-agent runs without it)" % (PROG, exc), file=sys.stderr)
        return 1
    previous = signal.getsignal(signal.SIGTERM)
    try:
        if runner:
            environ[ENV_AGENT_SOCKET] = runner.socket_path
        try:
            proc = subprocess.Popen(argv, env=environ)
        except FileNotFoundError:
            print("%s: error: command not found: %s" % (PROG, argv[0]), file=sys.stderr)
            return 127
        except PermissionError:
            print("%s: error: permission denied: %s" % (PROG, argv[0]), file=sys.stderr)
            return 126
        signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signum))
        while True:
            try:
                code = proc.wait()
                break
            except KeyboardInterrupt:
                continue  # the command got the same Ctrl-C; it decides when to end
        return 128 - code if code < 0 else code
    finally:
        signal.signal(signal.SIGTERM, previous)
        if runner:
            runner.stop()


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------
def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def reg_data(reg_type: str, data: str):
    """Command-line text to the lab's stored form of a registry value of ``reg_type``."""
    reg_type = reg_type.upper()
    if reg_type not in REG_TYPES:
        raise UsageError("unknown registry type %r; known: %s" % (reg_type, ", ".join(REG_TYPES)))
    if reg_type in ("REG_DWORD", "REG_QWORD"):
        try:
            number = int(data, 0)
        except ValueError:
            raise UsageError("%s wants a number, not %r" % (reg_type, data)) from None
        if not 0 <= number < (1 << (32 if reg_type == "REG_DWORD" else 64)):
            raise UsageError("%s out of range: %s" % (reg_type, data))
        return number
    if reg_type in ("REG_BINARY", "REG_NONE"):
        from tests.lab.state import codec

        return codec().to_bytes(data).hex()
    if reg_type == "REG_MULTI_SZ":
        parsed = _value(data)
        return [str(s) for s in parsed] if isinstance(parsed, list) else [s for s in data.split(",") if s]
    return data


def cmd_seed(lab: Lab, args) -> None:
    host = lab.host(host_names(lab, [args.host])[0])
    wininet = args.clear or args.hex is not None or args.proxy is not None or args.bypass or not args.value
    if args.clear and (args.hex is not None or args.proxy is not None or args.bypass):
        raise UsageError("--clear removes the value; it takes no --proxy, --bypass or --hex")
    values = [(key, name, reg_type.upper(), reg_data(reg_type, data)) for key, name, reg_type, data in args.value]
    if wininet:
        if args.clear:
            host.set_proxy(args.account, None)
        elif args.hex is not None:
            host.set_raw(args.account, args.hex)
        else:
            host.set_proxy(args.account, {"proxy_server": args.proxy or "", "bypass": args.bypass})
    for key, name, reg_type, data in values:
        host.set_value(key, name, reg_type, data)
        print("%s: %s\\%s = %s %s" % (host.name, key, name, reg_type, json.dumps(data)))
    show(lab, host.name)


def cmd_seed_sensor(lab: Lab, args) -> None:
    """Install an emulated Defender for Identity sensor on a host (tests/lab/system_state.py): v2 with its services,
    certificate and SensorConfiguration.json (with or without its own proxy and credentials), or v3."""
    from tests.lab import system_state as ss
    from tests.lab.network import WORKSPACE_NAME

    host = lab.host(host_names(lab, [args.host])[0])
    if sensor_json(host) is not None:
        raise UsageError("%s already has a sensor (%s); create a new host for another one" % (host.name, _sensor_text(host)))
    if args.v3 and (args.username or args.password or args.stopped or args.stopped_service or args.workspace):
        raise UsageError("--v3 takes only --proxy (Defender for Endpoint's TelemetryProxyServer, host:port)")
    if (args.password is None) != (args.username is None):
        raise UsageError("--username and --password go together: the sensor keeps a proxy user with its password")
    if args.username and not args.proxy:
        raise UsageError("--username needs --proxy: credentials belong to the sensor's own proxy")
    if args.v3:
        if args.proxy and "://" in args.proxy:
            raise UsageError("--v3 --proxy is TelemetryProxyServer's host:port, for example proxy.corp:8080")
        ss.seed_v3_sensor(host, telemetry_proxy=args.proxy)
    else:
        if args.proxy and not re.match(r"^https?://[^/\s]+$", args.proxy):
            raise UsageError("--proxy is the sensor's own proxy URL with its scheme, for example http://proxy.corp:8080")
        proxy = {"url": args.proxy, "username": args.username, "password": args.password or ""} if args.proxy else None
        ss.seed_v2_sensor(host, proxy=proxy, workspace=args.workspace or WORKSPACE_NAME,
                          running=not args.stopped)
        for name in args.stopped_service:
            if name not in (ss.SENSOR_SERVICE, ss.UPDATER_SERVICE):
                raise UsageError("--stopped-service is %s or %s" % (ss.SENSOR_SERVICE, ss.UPDATER_SERVICE))
            ss.set_service(host, name, state="stopped", process_id=0)
    show(lab, host.name)


def cmd_faults(lab: Lab, args) -> None:
    host = lab.host(host_names(lab, [args.host])[0])
    for item in args.set:
        fault, dummy, value = item.partition("=")
        value = _value(value) if value else True
        if fault == "drop_after" and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise UsageError("drop_after wants a number of remote commands, e.g. drop_after=3")
        if value == 0 and not isinstance(value, bool):
            # state.Host.set_fault() reads 0 as False (no fault): drop_after=0 means "drop from the next command".
            with host.transaction() as st:
                st["faults"][fault] = 0
            continue
        host.set_fault(fault, value)
    for fault in args.clear:
        if fault in ("hive_unloaded", "all"):
            for sid in SERVICE_ACCOUNTS:
                host.set_hive_loaded(sid, True)
        if fault == "all":
            for name in host.faults():
                host.set_fault(name, None)
        elif fault != "hive_unloaded":
            host.set_fault(fault, None)
    show(lab, host.name)


def cmd_show(root: Path, lab: Lab, args) -> None:
    from tests.lab import cloud_daemon

    names = host_names(lab, args.hosts)
    cloud = cloud_daemon.status(root)
    if args.json:
        cfg = lab.config()
        print(json.dumps({"lab": str(root), "inventory": str(root / "inventory.yml"),
                          "hosts": {n: host_json(lab, n) for n in names}, "dns": cfg.get("dns", {}),
                          "proxy_dns": cfg.get("proxy_dns", {}), "ca_file": cfg.get("ca_file", ""), "cloud": cloud},
                         indent=1, sort_keys=True))
        return
    print("lab %s: %d hosts; %s\n" % (root, len(lab.host_names()), cloud_line(cloud)))
    for name in names:
        show(lab, name)


def cmd_cloud(root: Path, args) -> int:
    from tests.lab import cloud_daemon

    state_lab(root)
    if args.action == "start":
        info = cloud_daemon.start(root)
        print(cloud_line(info, "already running" if info["already_running"] else "started"))
        return 0
    if args.action == "stop":
        done = cloud_daemon.stop(root)
        if done["stopped_pid"]:
            print("cloud stopped (pid %d)" % done["stopped_pid"])
        elif done["stale_pid"] or done["killed_proxy"]:
            print("cloud was not running; cleaned up after it (stale pid %s, proxy.py %s)"
                  % (done["stale_pid"] or "-", done["killed_proxy"] or "not running"))
        else:
            print("cloud was not running")
        return 0
    info = cloud_daemon.status(root)
    print(json.dumps(info, indent=1, sort_keys=True) if args.json else cloud_line(info))
    return 0 if info["running"] else EXIT_NOT_RUNNING


def build_parser() -> argparse.ArgumentParser:
    doc = __doc__.replace("{placeholders}", "\n".join("    %-12s %s" % ("{%s}" % k, v) for k, v in PLACEHOLDERS.items()))
    parser = _Parser(prog=PROG, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", required=True, type=Path, help="the lab folder")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("create", help="create a lab (or add hosts to one; existing hosts are kept)")
    p.add_argument("--hosts", type=int, default=3, help="number of hosts (default 3)")
    p.add_argument("--prefix", default="dc", help="host names: PREFIX01, PREFIX02, ... (default dc)")
    p = sub.add_parser("seed", help="write an account's WinINet settings, or any registry value")
    p.add_argument("host")
    p.add_argument("--account", default="user", help="user, SYSTEM, LocalService, NetworkService or a SID")
    p.add_argument("--proxy", help="proxy_server, e.g. proxy.corp:8080")
    p.add_argument("--bypass", action="append", default=[], help="bypass entry (repeat)")
    p.add_argument("--hex", help="raw value bytes (hex), e.g. a malformed value")
    p.add_argument("--clear", action="store_true", help="remove the value")
    p.add_argument("--value", nargs=4, action="append", default=[], metavar=("KEY", "NAME", "TYPE", "DATA"),
                   help="set a registry value, e.g. 'HKLM:\\SOFTWARE\\Contoso' Greeting REG_SZ hello (repeat); "
                        "DWORD/QWORD take numbers, BINARY hex, MULTI_SZ a JSON list or a,b,c")
    p = sub.add_parser("seed-sensor", help="install an emulated Defender for Identity sensor (v2 or v3) on a host")
    p.add_argument("host")
    p.add_argument("--v3", action="store_true", help="a sensor v3 (Defender for Endpoint's SenseIdentity); default v2")
    p.add_argument("--proxy", help="v2: the sensor's own proxy in SensorConfiguration.json, a URL such as "
                                   "http://proxy.corp:8080; v3: TelemetryProxyServer, host:port")
    p.add_argument("--username", help="v2: the proxy user stored with it, e.g. 'CORP\\svc-mdi'")
    p.add_argument("--password", help="v2: its password, stored encrypted with the sensor's certificate")
    p.add_argument("--workspace", help="v2: the workspace whose sensor API the file points at (default: the cloud's, "
                                       "contoso-corp)")
    p.add_argument("--stopped", action="store_true", help="v2: both services stopped")
    p.add_argument("--stopped-service", action="append", default=[], metavar="NAME",
                   help="v2: this service stopped (AATPSensor or AATPSensorUpdater; repeat)")
    p = sub.add_parser("show", help="decoded state of hosts (and of the cloud)")
    p.add_argument("hosts", nargs="*")
    p.add_argument("--json", action="store_true", help="machine-readable: hosts, DNS tables, CA, cloud")
    p = sub.add_parser("faults", help="set or clear faults: %s, hive_unloaded=SID, corrupt_value=SID"
                       % ", ".join(sorted(FAULTS)))
    p.add_argument("host")
    p.add_argument("--set", action="append", default=[], metavar="FAULT[=VALUE]")
    p.add_argument("--clear", action="append", default=[], metavar="FAULT", help="a fault, hive_unloaded or all")
    p = sub.add_parser("ledger", help="module executions (round trips) per host and task")
    p.add_argument("--json", action="store_true")
    p.add_argument("--reset", action="store_true", help="zero every host's ledger (drop_after counts from it)")
    p = sub.add_parser("cloud", help="the proxy, the sensor API and the CRL hosts, in the background")
    p.add_argument("action", choices=["start", "stop", "status"])
    p.add_argument("--json", action="store_true", help="status as JSON (pids, ports, names)")
    pwsh_cli.add_parser(sub)
    p = sub.add_parser("run", help="run a command with the lab's environment and agent: run -- COMMAND ...")
    p.add_argument("--no-agent", action="store_true", help="run every module in a fresh python (slower)")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND ...")
    return parser


def main(argv=None) -> int:
    from tests.lab.cloud_daemon import CloudError

    args = build_parser().parse_args(argv)
    root = args.lab.expanduser().resolve()
    try:
        if args.command == "create":
            env = create(root, args.hosts, args.prefix)
            print("lab %s: %d hosts (%s)" % (root, len(env.host_names), ", ".join(env.host_names)))
            print("inventory %s" % env.inventory)
            return 0
        if args.command == "cloud":
            return cmd_cloud(root, args)
        if args.command == "run":
            command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
            if not command:
                raise UsageError("run needs a command: run -- ansible-playbook -i {inventory} PLAYBOOK")
            env = lab_env(root, agent=False if args.no_agent else None)
            values = placeholder_values(env)
            return run_command(env, [substitute(a, values) for a in command])
        lab = state_lab(root)
        if args.command == "seed":
            cmd_seed(lab, args)
        elif args.command == "seed-sensor":
            cmd_seed_sensor(lab, args)
        elif args.command == "faults":
            cmd_faults(lab, args)
        elif args.command == "show":
            cmd_show(root, lab, args)
        elif args.command == "pwsh":
            return pwsh_cli.run(lab, args, UsageError)
        elif args.command == "ledger":
            if args.reset:
                for host in lab.hosts():
                    host.reset_ledger()
            if args.json:
                print(json.dumps(lab.ledger(), indent=1, sort_keys=True))
            else:
                print_ledger(lab)
        return 0
    except (UsageError, LabError, ValueError) as exc:
        print("%s: error: %s" % (PROG, exc), file=sys.stderr)
        return EXIT_USAGE
    except CloudError as exc:
        print("%s: error: %s" % (PROG, exc), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

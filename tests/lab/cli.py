# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command line of the lab: ``python -m tests.lab.cli --lab DIR create|seed|show|faults|ledger ...``.

    python -m tests.lab.cli --lab /tmp/lab create --hosts 3
    python -m tests.lab.cli --lab /tmp/lab seed dc01 --account user --proxy proxy.corp:8080 --bypass '<local>'
    python -m tests.lab.cli --lab /tmp/lab seed dc01 --account LocalService --clear
    python -m tests.lab.cli --lab /tmp/lab faults dc02 --set hive_unloaded=S-1-5-19 --set drop_after=3
    python -m tests.lab.cli --lab /tmp/lab show dc01
    python -m tests.lab.cli --lab /tmp/lab ledger
"""

from __future__ import annotations

import argparse
import json
import sys

from tests.lab.state import FAULTS, SERVICE_ACCOUNTS, Lab

ACCOUNTS = [("user", "connection user (HKCU)"), ("S-1-5-18", "LocalSystem"), ("S-1-5-19", "LocalService"),
            ("S-1-5-20", "NetworkService")]


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


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", required=True, help="lab directory")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("create", help="create a lab (or add hosts)")
    p.add_argument("--hosts", type=int, default=3)
    p.add_argument("--prefix", default="dc")
    p = sub.add_parser("seed", help="write an account's WinINet settings")
    p.add_argument("host")
    p.add_argument("--account", default="user", help="user, SYSTEM, LocalService, NetworkService or a SID")
    p.add_argument("--proxy", help="proxy_server, e.g. proxy.corp:8080")
    p.add_argument("--bypass", action="append", default=[], help="bypass entry (repeat)")
    p.add_argument("--hex", help="raw value bytes (hex), e.g. a malformed value")
    p.add_argument("--clear", action="store_true", help="remove the value")
    p = sub.add_parser("show", help="decoded state of hosts")
    p.add_argument("hosts", nargs="*")
    p = sub.add_parser("faults", help="set or clear faults: %s, hive_unloaded=SID, corrupt_value=SID"
                       % ", ".join(sorted(FAULTS)))
    p.add_argument("host")
    p.add_argument("--set", action="append", default=[], metavar="FAULT[=VALUE]")
    p.add_argument("--clear", action="append", default=[], metavar="FAULT")
    sub.add_parser("ledger", help="module executions (round trips) per host and task")
    args = parser.parse_args(argv)

    if args.command == "create":
        lab = Lab.create(args.lab, args.hosts, prefix=args.prefix)
        print("lab %s: %s" % (lab.dir, ", ".join(lab.host_names())))
        return 0
    lab = Lab(args.lab)
    if args.command == "seed":
        host = lab.host(args.host)
        if args.clear:
            host.set_proxy(args.account, None)
        elif args.hex:
            host.set_raw(args.account, args.hex)
        else:
            host.set_proxy(args.account, {"proxy_server": args.proxy or "", "bypass": args.bypass})
        show(lab, args.host)
    elif args.command == "show":
        for name in args.hosts or lab.host_names():
            show(lab, name)
    elif args.command == "faults":
        host = lab.host(args.host)
        for item in args.set:
            fault, dummy, value = item.partition("=")
            host.set_fault(fault, _value(value) if value else True)
        for fault in args.clear:
            if fault == "hive_unloaded":
                for sid in SERVICE_ACCOUNTS:
                    host.set_hive_loaded(sid, True)
            else:
                host.set_fault(fault, None)
        show(lab, args.host)
    elif args.command == "ledger":
        print_ledger(lab)
    return 0


if __name__ == "__main__":
    sys.exit(main())

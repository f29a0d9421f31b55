# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python -m tests.lab.cli --lab DIR pwsh --host NAME [...] SCRIPT_FILE``: run a script on a lab host (TEST ONLY).

It runs the file's text through the lab's executor as ``ansible.windows.win_powershell`` would (no Ansible, no
round trip counted) and prints the module's result as JSON on stdout: ``result``, ``output``, ``error``,
``changed``, ``failed``. The exit code is 0 whenever the script ran, whatever it returned (a failed script is
``"failed": true`` in the JSON); 2 for bad input (no lab, an unknown host or account, ``--params`` that is not a
JSON object, a file that cannot be read); 4 when the lab cannot run the script ("unsupported in the lab:
<construct> at line N", on stderr). ``-`` reads the script from stdin.
"""

from __future__ import annotations

import json
import sys

EXIT_UNSUPPORTED = 4


def add_parser(sub) -> None:
    p = sub.add_parser("pwsh", help="run a PowerShell script on a host as win_powershell does; JSON result")
    p.add_argument("--host", required=True, help="the lab host")
    p.add_argument("--params", default="{}", help="the script's parameters, a JSON object (win_powershell "
                                                  "parameters)")
    p.add_argument("--error-action", default="continue", choices=["continue", "stop", "silently_continue"])
    p.add_argument("--become-user", help="run as SYSTEM, LocalService, NetworkService (default: the connection "
                                         "user)")
    p.add_argument("--depth", type=int, default=2, help="Convert-OutputObject depth (win_powershell's default 2)")
    p.add_argument("--check", action="store_true", help="check mode (only a SupportsShouldProcess script runs)")
    p.add_argument("script", metavar="SCRIPT_FILE", help="the script file, or - for stdin")


def run(lab, args, usage_error) -> int:
    from tests.lab.pwsh import runner
    from tests.lab.pwsh.errors import Unsupported

    host = lab.host(args.host)
    try:
        params = json.loads(args.params)
    except ValueError as exc:
        raise usage_error("--params is not JSON: %s" % exc) from None
    if not isinstance(params, dict):
        raise usage_error("--params must be a JSON object, e.g. '{\"Key\": [\"HKLM:\\\\SOFTWARE\"]}'")
    try:
        script = sys.stdin.read() if args.script == "-" else open(args.script, encoding="utf-8-sig").read()
    except OSError as exc:
        raise usage_error("cannot read %s: %s" % (args.script, exc.strerror)) from None
    account = runner.lab_account(host, args.become_user)
    try:
        result = runner.run(script, host, account, params, args.depth, args.error_action, args.check)
    except Unsupported as exc:
        print("%s: %s" % (args.script, exc), file=sys.stderr)
        return EXIT_UNSUPPORTED
    print(json.dumps(result, indent=1, sort_keys=True))
    return 0

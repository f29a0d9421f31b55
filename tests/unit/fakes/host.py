# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The part every fake Windows host of the unit tests shares: it is the executor the code under test calls.

The code calls ``execute(module, args)`` (``plugin_utils``) or ``_execute_module(module_name=, module_args=,
task_vars=)`` (an action plugin); a fake host answers both. It records each call, insists on the FQCN (without a
name ``_execute_module`` would run the task's own action, the doc stub) and answers with its method named after the
module (``win_powershell``, ``win_command``...), in the shape the real ansible.windows module returns.

What the hosts share beyond that: one registry (:class:`.registry.Registry`, keys by PS drive path, in one shape for
every fake host), the files written through the collection's file-write script (:func:`file_write`), ``reg.exe
import`` read with the lab's own .reg reader (:mod:`.regfile`), and the ACL modules that only report.
"""

from __future__ import annotations

import base64
import hashlib

from .regfile import parse_reg_file
from .registry import Registry

# reg.exe import's answer (rc 0, the sentence on stderr), as win_command returns it.
IMPORTED = {"changed": True, "rc": 0, "stdout": "", "stderr": "The operation completed successfully.\r\n"}


def file_write(args: dict, files: dict, key=lambda path: path, error: str | None = None) -> dict | None:
    """Answer the collection's file-write script as win_powershell would, writing into ``files`` (``key(path)`` ->
    bytes); None when ``args`` are not that script. ``error`` makes the first file fail with that .NET message. In
    check mode win_powershell skips a script without SupportsShouldProcess (win_powershell.ps1 lines 589-592)."""
    from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _file_write

    if args.get("script") != _file_write.SCRIPT:
        return None
    if args.get("_ansible_check_mode"):
        return {"changed": True, "msg": "skipped, running in check mode", "result": {}}
    folder, out = args["parameters"]["Folder"], {}
    for name in sorted(args["parameters"]["File"], key=str.lower):
        path = "%s\\%s" % (folder, name)
        if error or key(path) in files:
            message = error or "The file '%s' already exists." % path
            answer = {"folder": folder, "written": out, "error": message}
            return {"changed": bool(out), "failed": True, "result": answer}
        files[key(path)] = base64.b64decode(args["parameters"]["File"][name])
        out[name] = hashlib.sha256(files[key(path)]).hexdigest()
    return {"changed": True, "result": {"folder": folder, "created_folder": True, "written": out, "error": None}}


class FakeHost:
    """Records every module call and answers it with the method named after the module (see the module docstring).

    ``registry`` is the host's registry (:class:`.registry.Registry`); ``files`` holds what the file-write script
    wrote (``file_key(path)`` -> bytes); ``uploads`` lists each write that wrote, as (folder, [file names]).
    """

    file_key = staticmethod(lambda path: path)

    def __init__(self):
        self.calls: list = []
        self.registry = Registry()
        self.files: dict = {}
        self.uploads: list = []
        # What the state query reports besides registry keys: the account it ran as, Get-Service / Get-Process
        # entries (see :meth:`state_query`) and the thumbprints in LocalMachine\Root (upper case).
        self.user, self.sid, self.admin = "CORP\\ansible", "S-1-5-21-1-2-3-500", True
        self.services: list = []
        self.processes: list = []
        self.roots: set = set()

    def __call__(self, module_name=None, module_args=None, task_vars=None, **dummy):
        assert module_name.startswith("ansible.windows."), "always call remote modules by FQCN"
        self.calls.append((module_name, dict(module_args or {})))
        return getattr(self, module_name.rsplit(".", 1)[1])(dict(module_args or {}))

    def modules(self) -> list:
        """The short names of the modules called, in order."""
        return [m.rsplit(".", 1)[-1] for m, dummy in self.calls]

    def written(self, args: dict, error: str | None = None) -> dict | None:
        """The file-write script's answer (None for any other script), recording the upload."""
        answer = file_write(args, self.files, key=self.file_key, error=error)
        if answer is not None and answer.get("result", {}).get("written"):
            self.uploads.append((args["parameters"]["Folder"], sorted(args["parameters"]["File"])))
        return answer

    def imported(self, args: dict) -> list:
        """The entries of the .reg file ``reg.exe import <file> /reg:64`` names, read with the lab's reader."""
        from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile

        argv = args["argv"]
        assert argv[:2] == ["reg.exe", "import"] and argv[3] == "/reg:64", argv
        return parse_reg_file(regfile.decode(self.files[self.file_key(argv[2])]))

    def win_owner(self, args):
        return {"changed": True}

    win_acl = win_acl_inheritance = win_owner

    def key_entry(self, path: str) -> dict:
        """One key as the state query reports it: ``{exists, values: {name: {type, value}}, sub_keys}`` (.NET kind
        names, binary values base64), plus ``hive_loaded`` for an absent key under HKU (hosts with hives)."""
        return self.registry.entry(path)

    @property
    def hklm(self) -> dict:
        """The backup manifest's values (``_host/_backup.MANIFEST_PATH``): ``{name: data}``."""
        from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup

        return {name: data for name, (dummy, data) in (self.registry.values(backup.MANIFEST_PATH) or {}).items()}

    def state_query(self, args: dict) -> dict:
        """win_powershell running the collection's state query: ``result`` is the script's ``$Ansible.Result``
        (win_powershell.ps1 lines 55-63 and 891-942 of ansible.windows 3.3.0 for the envelope).

        ``services`` answers each asked name found with ``{name, status, dependents, path, account, start,
        dependencies}`` (Get-Service and the service's key: ImagePath, ObjectName, Start, DependOnService);
        ``tcp_listeners`` has a running AATPSensor on localhost TCP 444 when that port is asked, with no firewall
        block rule."""
        from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _state_query as query

        assert args["script"] == query.SCRIPT and args["depth"] >= 6, "only the collection's state query"
        params = args["parameters"]
        names = {p.lower() for p in params["Process"]}
        services = {}
        for name in params["Service"]:
            found = [dict(s) for s in self.services if s["name"].lower() == name.lower()]
            if found:
                found[0]["dependents"] = sorted(o["name"] for o in self.services
                                                if name.lower() in [d.lower() for d in o["dependencies"]])
                services[name] = found[0]
        return {"changed": False, "host_out": "", "host_err": "", "output": [], "error": [], "warning": [],
                "verbose": [], "debug": [], "information": [], "result": {
                    "keys": {path: self.key_entry(path) for path in params["Key"]},
                    "processes": [p for p in self.processes if p["name"].lower() in names],
                    "services": services,
                    "root_certificates": {t: t.upper() in self.roots for t in params["RootCertificate"]},
                    "tcp_listeners": [{"address": "127.0.0.1", "port": 444} for s in self.services
                                      if s["name"] == "AATPSensor" and s.get("status") == "Running"
                                      and 444 in params.get("TcpPort", [])],
                    "firewall": {"current_profiles": 1, "enabled": {}, "block_rules": []}
                    if params.get("TcpPort") else None,
                    "user": {"name": self.user, "sid": self.sid, "administrator": self.admin}}}

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's emulated Windows host (tests/lab/state.py), reached in-process: an ``execute(module, args)`` for the
collection's pure code that runs the lab's stand-in ``ansible.windows`` module (tests/lab/collections/...) the way
ansible-core would run it, minus the process: the arguments go through ``AnsibleModule`` (its argument spec, its
check mode), the answer is the JSON the module prints. The same stand-ins the playbook lab runs, so a unit test of
the job reads and writes exactly what a playbook run would, at a fraction of the cost."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
from pathlib import Path

from ansible.module_utils import basic

from tests.lab import state

REPO = Path(__file__).resolve().parents[4]
STAND_INS = REPO / "tests/lab/collections/ansible_collections/ansible/windows/plugins"
_PACKAGE = "ansible_collections.ansible.windows.plugins"


def _load(kind: str, name: str):
    """The stand-in ``kind/name.py`` under the name Ansible gives it (its own imports find the lab's module_utils)."""
    full = "%s.%s.%s" % (_PACKAGE, kind, name)
    if sys.modules.get(full) is not None and str(getattr(sys.modules[full], "__file__", "")).startswith(str(STAND_INS)):
        return sys.modules[full]
    spec = importlib.util.spec_from_file_location(full, STAND_INS / kind / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    spec.loader.exec_module(module)
    return module


class LabExecutor:
    """``execute(module, args)`` on one lab host; ``calls`` lists the modules run, in order."""

    def __init__(self, lab: state.Lab, host: str):
        self.lab, self.host, self.calls = lab, host, []
        self.environ = {state.ENV_LAB_DIR: str(lab.dir), state.ENV_REPO: str(REPO), state.ENV_HOST: host}
        for name in ("_lab", "_lab_regfile"):
            _load("module_utils", name)

    def __call__(self, module: str, args: dict) -> dict:
        self.calls.append(module)
        stand_in = _load("modules", module.rsplit(".", 1)[1])
        saved = {k: os.environ.get(k) for k in self.environ}
        os.environ.update(self.environ)
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        basic._ANSIBLE_PROFILE = "legacy"
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                try:
                    stand_in.main()
                except SystemExit:
                    pass
        finally:
            basic._ANSIBLE_ARGS = basic._ANSIBLE_PROFILE = None
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        return json.loads(printed.getvalue())

    def upload(self, files: dict, dest: str) -> dict:
        """The job's ``upload``: the collection's one file write (as ``AtpAction.uploader`` binds it)."""
        from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _file_write as file_write

        return file_write.write(self, dest, files)

    def remote_copy(self, src: str, dest: str) -> dict:
        """The job's ``remote_copy``: win_copy with ``remote_src`` runs the module once on the host."""
        return self("ansible.windows.win_copy", {"src": src, "dest": dest, "remote_src": True})

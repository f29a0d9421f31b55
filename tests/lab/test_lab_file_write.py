# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's win_powershell stand-in running the collection's file write (plugins/plugin_utils/_host/_file_write.py),
through real ansible-playbook, checked against the REAL ansible.windows 3.3.0 RETURN docs, and refusing what
Windows refuses: an existing file (FileMode.CreateNew), a write into a protected folder by a user who is not an
administrator, a name that is not a plain file name."""

from __future__ import annotations

import hashlib

from tests.lab import state
from tests.lab.test_lab_contract import check, real_return_doc

FOLDER = "C:\\ProgramData\\lab\\backups\\atp_proxy_1"
SCRIPT_DEFINED = "win_powershell: undocumented key result."


def file_write():
    return state.load_by_path("atp_lab_file_write_test", state.REPO_ROOT / "plugins/plugin_utils/_host/_file_write.py")


def play(*names) -> str:
    tasks = "".join("    - {name: %s, ansible.windows.win_powershell: \"{{ %s }}\", ignore_errors: true}\n" % (n, n)
                    for n in names)
    return "- hosts: dc01\n  gather_facts: false\n  tasks:\n" + tasks


def test_writes_new_files_returns_their_sha256_and_matches_the_return_docs(lab):
    fw = file_write()
    files = {"before.reg": b"\xff\xfeW\x00", "after.reg": "é".encode("utf-16-le")}
    run = lab.run_playbook(play("write"), extra_vars={"write": fw.module_args(FOLDER, files)})
    result = run.result("dc01", "write")
    found = [p for p in check("win_powershell", result, real_return_doc("win_powershell"))
             if not p.startswith(SCRIPT_DEFINED)]
    assert found == [], found
    assert result["changed"] is True and not result.get("failed"), result
    assert result["result"]["written"] == {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}
    assert result["result"]["created_folder"] is True
    host = lab.host("dc01")
    for name, data in files.items():
        assert host.read_file(FOLDER + "\\" + name) == data  # the exact bytes
    assert fw.outcome(result, FOLDER, files) == {"changed": True, "failed": False, "written": [
        FOLDER + "\\before.reg", FOLDER + "\\after.reg"]}
    assert lab.ledger()["dc01"]["by_module"] == {"win_powershell": 1}  # one command for both files


def test_an_existing_file_is_never_overwritten(lab):
    fw = file_write()
    host = lab.host("dc01")
    host.write_file(FOLDER + "\\before.reg", b"somebody's")
    files = {"after.reg": b"new", "before.reg": b"mine"}
    result = lab.run_playbook(play("write"), extra_vars={"write": fw.module_args(FOLDER, files)}).result(
        "dc01", "write")
    assert result["failed"] is True and result["result"]["error"] == "The file '%s\\before.reg' already exists." % FOLDER
    assert result["result"]["written"] == {"after.reg": hashlib.sha256(b"new").hexdigest()}  # sorted: after first
    assert host.read_file(FOLDER + "\\before.reg") == b"somebody's"
    out = fw.outcome(result, FOLDER, files)
    assert out["failed"] is True and out["written"] == [FOLDER + "\\after.reg"] and "already exists" in out["msg"]


def test_a_user_who_is_not_an_administrator_cannot_write_into_a_protected_folder(lab):
    fw = file_write()
    host = lab.host("dc01")
    host.write_file(FOLDER + "\\keep", b"")
    host.set_security(FOLDER, protected=True)
    host.set_fault("not_admin")
    result = lab.run_playbook(play("write"), extra_vars={"write": fw.module_args(FOLDER, {"a.reg": b"x"})}).result(
        "dc01", "write")
    assert result["failed"] is True and result["result"]["error"] == "Access to the path '%s\\a.reg' is denied." % FOLDER
    assert host.read_file(FOLDER + "\\a.reg") is None


def test_only_plain_names_and_known_parameters_and_nothing_in_check_mode(lab):
    fw = file_write()
    args = fw.module_args(FOLDER, {"a.reg": b"x"})
    args["parameters"]["File"]["..\\evil.reg"] = "eA=="
    dots = fw.module_args(FOLDER, {"a.reg": b"x"})
    dots["parameters"]["File"] = {"..": "eA=="}
    bad_param = fw.module_args(FOLDER, {"a.reg": b"x"})
    bad_param["parameters"]["Force"] = True
    run = lab.run_playbook(play("bad_name", "dots", "bad_param"),
                           extra_vars={"bad_name": args, "dots": dots, "bad_param": bad_param})
    assert "refusing the file name '..\\evil.reg'" in run.result("dc01", "bad_name")["result"]["error"]
    assert "refusing the file name '..'" in run.result("dc01", "dots")["result"]["error"]
    assert lab.host("dc01").read_file("C:\\ProgramData\\lab\\backups\\evil.reg") is None
    # win_powershell.ps1 lines 843-853: the binding error leaves Invoke() as a RuntimeException: failed, and its
    # error record in ``error`` (the module sets no msg for it)
    refused = run.result("dc01", "bad_param")
    assert refused["failed"] is True and refused["error"][0]["exception"]["message"] == (
        "A parameter cannot be found that matches parameter name 'Force'.")
    assert refused["error"][0]["exception"]["type"] == "System.Management.Automation.ParameterBindingException"
    checked = lab.run_playbook(play("write"), extra_vars={"write": fw.module_args(FOLDER, {"b.reg": b"x"})},
                               check=True).result("dc01", "write")
    # [CmdletBinding()] without SupportsShouldProcess: win_powershell does not run it in check mode
    assert checked["msg"] == "skipped, running in check mode" and lab.host("dc01").read_file(FOLDER + "\\b.reg") is None
    assert fw.outcome(checked, FOLDER, {"b.reg": b"x"})["failed"] is True

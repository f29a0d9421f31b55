# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_file_write: the arguments sent, and what counts as written (only a file whose SHA-256 the host read back)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _file_write as fw

FOLDER = "C:\\ProgramData\\atp.sensor_proxy\\backups\\atp_proxy_20261201T120000000000Z"
FILES = {"before.reg": b"\xff\xfeold", "after.reg": b"\xff\xfenew"}


def answer(written: dict, **extra) -> dict:
    return dict({"changed": bool(written), "result": {"folder": FOLDER, "written": written, "error": None}}, **extra)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_arguments_carry_the_exact_bytes_and_the_folder_without_a_trailing_separator():
    args = fw.module_args(FOLDER + "\\", FILES)
    assert args["script"] == fw.SCRIPT and args["parameters"]["Folder"] == FOLDER
    assert {n: base64.b64decode(v) for n, v in args["parameters"]["File"].items()} == FILES
    assert "SupportsShouldProcess" not in fw.SCRIPT  # win_powershell never runs it in check mode
    assert "CreateNew" in fw.SCRIPT and "$Ansible.Failed = $true" in fw.SCRIPT


@pytest.mark.parametrize("name", ["..\\x.reg", "a/b", "C:x", "", "with space.reg", "..", ".", "a.reg\n"])
def test_a_name_that_is_not_plain_is_refused_on_the_controller(name):
    with pytest.raises(ValueError, match="not a plain file name"):
        fw.module_args(FOLDER, {name: b""})


def test_written_means_read_back_with_the_same_sha256():
    out = fw.outcome(answer({n: sha(d) for n, d in FILES.items()}), FOLDER, FILES)
    assert out == {"changed": True, "failed": False, "written": [FOLDER + "\\before.reg", FOLDER + "\\after.reg"]}


def test_other_bytes_on_the_host_fail_and_name_the_file():
    out = fw.outcome(answer({"before.reg": sha(b"other"), "after.reg": sha(FILES["after.reg"])}), FOLDER, FILES)
    assert out["failed"] and out["msg"] == "%s\\before.reg read back with other bytes than those sent" % FOLDER
    assert out["written"] == [FOLDER + "\\after.reg"]


def test_a_file_the_host_did_not_confirm_fails():
    out = fw.outcome(answer({"after.reg": sha(FILES["after.reg"])}), FOLDER, FILES)
    assert out["failed"] and out["msg"] == "the host did not confirm %s\\before.reg" % FOLDER


def test_the_scripts_error_or_powershells_error_record_is_the_message():
    failed = answer({"after.reg": sha(FILES["after.reg"])}, failed=True)
    failed["result"]["error"] = "Access to the path '%s\\before.reg' is denied." % FOLDER
    out = fw.outcome(failed, FOLDER, FILES)
    assert out["failed"] and out["msg"] == failed["result"]["error"] and out["written"] == [FOLDER + "\\after.reg"]
    # A script that never ran its catch (a parse error, a missing parameter): win_powershell's error record.
    record = {"changed": False, "failed": True, "result": {}, "error": [{"exception": {"message": "Cannot bind"}}]}
    assert fw.outcome(record, FOLDER, FILES)["msg"] == "Cannot bind"
    # check mode: win_powershell skipped it, nothing confirmed
    skipped = {"changed": True, "msg": "skipped, running in check mode", "result": {}}
    assert fw.outcome(skipped, FOLDER, FILES)["failed"] is True


def test_write_is_one_win_powershell_call():
    calls = []

    def execute(module, args):
        calls.append(module)
        return answer({n: sha(base64.b64decode(v)) for n, v in args["parameters"]["File"].items()})

    assert fw.write(execute, FOLDER, FILES)["failed"] is False and calls == ["ansible.windows.win_powershell"]

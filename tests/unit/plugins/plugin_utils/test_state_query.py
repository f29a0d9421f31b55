# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one PowerShell script the collection sends: it parses, and its result is read back faithfully."""

from __future__ import annotations

import base64

import pytest
import tree_sitter_powershell
from tree_sitter import Language, Parser

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _state_query as query

PARSER = Parser(Language(tree_sitter_powershell.language()))


def errors(script: str) -> list:
    found = []

    def walk(node):
        if node.type == "ERROR" or node.is_missing:
            found.append((node.start_point, node.text[:60]))
        for child in node.children:
            walk(child)

    walk(PARSER.parse(script.encode("utf-8")).root_node)
    return found


def test_the_script_parses_as_powershell():
    assert errors(query.SCRIPT) == []


def test_the_parser_does_catch_a_broken_script():  # the check above would notice a syntax error
    broken = query.SCRIPT.replace("foreach ($path in $Key) {", "foreach ($path in $Key) ", 1)
    assert errors(broken)


def test_the_script_runs_in_check_mode_and_reports_no_change():
    # win_powershell.ps1 runs a script in check mode only with SupportsShouldProcess; $Ansible.Changed defaults to true.
    assert query.SCRIPT.startswith("[CmdletBinding(SupportsShouldProcess)]")
    assert "$Ansible.Changed = $false" in query.SCRIPT
    assert query.module_args(["HKLM:\\SOFTWARE\\X"])["depth"] >= 6  # keys > entry > values > value > data


def test_read_state_turns_the_result_into_key_reads_and_says_what_is_missing():
    blob = bytes.fromhex("46000000010000000300000008000000") + b"a.b:1234" + bytes(8)
    answers = {"keys": {
        "HKU:\\S-1-5-19\\Software\\X": {"exists": True, "sub_keys": [], "values": {
            "DefaultConnectionSettings": {"type": "Binary", "value": base64.b64encode(blob).decode()},
            "Count": {"type": "DWord", "value": 3}, "Names": {"type": "MultiString", "value": ["a", "b"]}}},
        "HKU:\\S-1-5-20\\Software\\X": {"exists": False, "values": {}, "sub_keys": [], "hive_loaded": False}},
        "processes": [{"name": "SenseIdentity", "id": 4}], "services": {}, "root_certificates": {},
        "user": {"name": "CORP\\admin", "sid": "S-1-5-21-1", "administrator": True}}
    calls = []

    def execute(module, args):
        calls.append((module, args))
        return {"changed": False, "result": answers}

    snapshot = remote.read_state(execute, ["HKU:\\S-1-5-19\\Software\\X", "HKU:\\S-1-5-20\\Software\\X"],
                                 processes=["SenseIdentity"])
    assert [c[0] for c in calls] == ["ansible.windows.win_powershell"]  # one round trip
    key = snapshot.key("hku:\\s-1-5-19\\software\\x")
    assert key.get("defaultconnectionsettings").data == blob and key.get("Count").value == 3
    assert key.get("names").type == "REG_MULTI_SZ" and key.get("names").value == ["a", "b"]
    assert snapshot.key("HKU:\\S-1-5-20\\Software\\X").hive_loaded is False
    assert snapshot.user["administrator"] is True and snapshot.processes[0]["name"] == "SenseIdentity"
    with pytest.raises(KeyError):
        snapshot.key("HKLM:\\NOT\\READ")

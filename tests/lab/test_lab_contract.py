# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract test: every stand-in, exercised for real, returns the keys and types that the REAL
ansible.windows 3.3.0 documents in its module RETURN docs (parsed from the installed collection)."""

from __future__ import annotations

import ast
import hashlib

import pytest
import yaml

from tests.lab.conftest import SENSOR_HOST
from tests.lab.fixtures import real_windows_collection

pytestmark = [pytest.mark.lab, pytest.mark.network]

CONN = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
COMMON = {"changed", "failed", "msg", "diff", "invocation", "warnings", "deprecations", "skipped", "exception"}

# Keys the real PowerShell returns without documenting them, with where they come from.
UNDOCUMENTED = {
    # win_uri.ps1 lines 104-123: every HttpWebResponse property and every header, snake-cased;
    # WebRequest.psm1 line 494: msg (status description).
    "win_uri": {"character_set", "content_encoding", "content_type", "cookies", "headers", "is_from_cache",
                "is_mutually_authenticated", "last_modified", "method", "protocol_version", "response_uri",
                "server", "supports_headers", "date", "connection"},
    # win_copy.ps1 lines 321-323: query mode result, consumed by the action plugin only.
    "win_copy": {"files", "directories", "symlinks"},
    # slurp.ps1 lines 16-17 (slurp.yml documents them; kept for clarity).
    "slurp": set(),
}
# Documented types that the real PowerShell does not return, with the source line.
REAL_TYPES = {
    # win_reg_stat.ps1 lines 40-46: binary values are byte lists / "0x.." string lists, not str.
    ("win_reg_stat", "value"): (list, str, int),
    ("win_reg_stat", "raw_value"): (list, str, int),
    # win_uri.ps1 lines 118-123: the Content-Length header (a string) overwrites the int property.
    ("win_uri", "content_length"): (int, str),
}
TYPES = {"bool": bool, "str": str, "int": int, "float": float, "dict": dict, "list": list, "complex": (dict, list)}


def real_return_doc(module: str) -> dict:
    base = real_windows_collection() / "plugins" / "modules"
    py = base / (module + ".py")
    if py.exists():
        for node in ast.parse(py.read_text()).body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "RETURN":
                return yaml.safe_load(node.value.value) or {}
        return {}  # the module documents no return values (win_file, win_http_proxy)
    return yaml.safe_load((base / (module + ".yml")).read_text()).get("RETURN") or {}


def check(module: str, result: dict, doc: dict, path: str = "") -> list:
    problems = []
    for key, value in result.items():
        if key.startswith("_ansible") or (not path and key in COMMON):
            continue
        spec = doc.get(key)
        if spec is None:
            if not path and key in UNDOCUMENTED.get(module, set()):
                continue
            if not path and module == "win_uri":  # response headers, snake-cased (win_uri.ps1 lines 118-123)
                continue
            problems.append("%s: undocumented key %s%s" % (module, path, key))
            continue
        expected = REAL_TYPES.get((module, key)) or TYPES[spec.get("type", "str")]
        if value is not None and not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            problems.append("%s: %s%s is %s, documented %s" % (
                module, path, key, type(value).__name__, spec.get("type")))
        if "contains" in spec and isinstance(value, dict):
            problems += check(module, value, spec["contains"], path + key + ".")
        if "contains" in spec and isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    problems += check(module, item, spec["contains"], path + key + "[].")
    return problems


PLAY = r"""
- hosts: dc01
  gather_facts: false
  tasks:
    - {name: win_reg_stat, ansible.windows.win_reg_stat: {path: 'HKCU:\%(conn)s', name: DefaultConnectionSettings}}
    - {name: win_reg_stat_key, ansible.windows.win_reg_stat: {path: 'HKCU:\%(conn)s'}}
    - name: win_regedit
      ansible.windows.win_regedit: {path: 'HKLM:\SOFTWARE\Lab', name: Count, data: 5, type: dword}
    - {name: win_whoami, ansible.windows.win_whoami: {}}
    - name: win_command
      ansible.windows.win_command: {argv: [reg.exe, export, 'HKCU\%(conn)s', 'C:\ProgramData\lab\x.reg', /y]}
    - {name: win_copy, ansible.windows.win_copy: {content: 'hello', dest: 'C:\ProgramData\lab\hello.txt'}}
    - {name: slurp, ansible.windows.slurp: {src: 'C:\ProgramData\lab\hello.txt'}}
    - {name: win_stat, ansible.windows.win_stat: {path: 'C:\ProgramData\lab\hello.txt', checksum_algorithm: sha256}}
    - {name: win_stat_dir, ansible.windows.win_stat: {path: 'c:\programdata\LAB'}}
    - {name: win_stat_reg, ansible.windows.win_stat: {path: 'C:\ProgramData\lab\x.reg', get_checksum: false}}
    - {name: win_stat_missing, ansible.windows.win_stat: {path: 'C:\ProgramData\lab\nosuch.txt'}}
    - {name: win_stat_nochecksum, ansible.windows.win_stat: {path: 'C:\ProgramData\lab\hello.txt', get_checksum: false,
                                                             get_size: false}}
    - {name: win_find, ansible.windows.win_find: {paths: ['C:\ProgramData\lab'], patterns: ['*.txt']}}
    - {name: win_file, ansible.windows.win_file: {path: 'C:\ProgramData\lab\x.reg', state: absent}}
    - {name: win_http_proxy, ansible.windows.win_http_proxy: {proxy: 'proxy.corp:8080', bypass: ['<local>']}}
    - name: win_uri
      ansible.windows.win_uri: {url: 'https://%(sensor)s/tri/sensor/api/ping', status_code: [200]}
      become: true
      become_method: ansible.builtin.runas
      become_user: LocalService
"""

MODULES = ["win_reg_stat", "win_regedit", "win_whoami", "win_command", "win_copy", "slurp", "win_find", "win_file",
           "win_http_proxy", "win_uri", "win_stat"]


@pytest.fixture
def contract_run(lab, sensor_api, proxy):
    seed = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}
    lab.host("dc01").seed({"user": seed, "LocalService": seed})
    run = lab.run_playbook(PLAY % {"conn": CONN, "sensor": SENSOR_HOST}, diff=True)
    assert run.rc == 0, run
    return lab, run


def test_every_standin_matches_the_real_return_docs(contract_run):
    lab, run = contract_run
    problems = []
    for module in MODULES:
        result = run.result("dc01", module)
        problems += check(module, result, real_return_doc(module))
    for task in ("win_stat_dir", "win_stat_missing", "win_stat_nochecksum"):
        problems += check("win_stat", run.result("dc01", task), real_return_doc("win_stat"))
    assert problems == []
    # Values, not only types: what the user would check.
    assert run.result("dc01", "win_reg_stat")["type"] == "REG_BINARY"
    assert run.result("dc01", "win_reg_stat")["raw_value"][:2] == ["0x46", "0x00"]
    assert "Connections" in run.result("dc01", "win_reg_stat_key")["properties"] or \
        "DefaultConnectionSettings" in run.result("dc01", "win_reg_stat_key")["properties"]
    assert lab.host("dc01").get_value(r"HKLM:\SOFTWARE\Lab", "Count") == {"name": "Count", "type": "REG_DWORD",
                                                                          "data": 5}
    assert run.result("dc01", "win_regedit")["diff"]["after"][r"HKLM:\SOFTWARE\Lab"]["Count"] == {
        "type": "DWord", "value": "0x00000005"}
    assert lab.host("dc01").read_file(r"c:\programdata\LAB\HELLO.txt") == b"hello"  # NTFS-like case folding
    assert run.result("dc01", "slurp")["content"] == "aGVsbG8="
    assert run.result("dc01", "win_find")["matched"] == 1
    # win_stat.ps1: FullName with the names as stored, sha256 of the content, size; a directory sums its files.
    stat = run.result("dc01", "win_stat")["stat"]
    assert (stat["exists"], stat["isdir"], stat["isreg"], stat["size"]) == (True, False, True, 5)
    assert stat["path"] == r"C:\ProgramData\lab\hello.txt" and stat["filename"] == "hello.txt"
    assert stat["extension"] == ".txt" and stat["checksum"] == hashlib.sha256(b"hello").hexdigest()
    directory = run.result("dc01", "win_stat_dir")["stat"]
    assert (directory["isdir"], directory["path"], "checksum" in directory) == (True, r"C:\ProgramData\lab", False)
    assert directory["size"] == 5 + run.result("dc01", "win_stat_reg")["stat"]["size"]
    assert run.result("dc01", "win_stat_missing")["stat"] == {"exists": False}
    bare = run.result("dc01", "win_stat_nochecksum")["stat"]
    assert "checksum" not in bare and "size" not in bare and bare["exists"] is True
    assert lab.host("dc01").read_file(r"C:\ProgramData\lab\x.reg") is None
    assert lab.host("dc01").winhttp()["proxy_server"] == "proxy.corp:8080"
    assert lab.host("dc01").winhttp()["bypass"] == ["<local>"]
    assert run.result("dc01", "win_uri")["status_code"] == 200


def test_reg_export_import_round_trip(lab):
    lab.host("dc01").seed({"SYSTEM": {"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]}})
    before = lab.host("dc01").proxy_value("SYSTEM")
    play = r"""
- hosts: dc01
  gather_facts: false
  tasks:
    - ansible.windows.win_command:
        argv: [reg.exe, export, 'HKU\S-1-5-18\%(conn)s', 'C:\ProgramData\b.reg', /y]
    - ansible.windows.win_regedit:
        path: 'HKU:\S-1-5-18\%(conn)s'
        name: DefaultConnectionSettings
        state: absent
    - name: import
      ansible.windows.win_command: {argv: [reg.exe, import, 'C:\ProgramData\b.reg']}
""" % {"conn": CONN}
    run = lab.run_playbook(play)
    assert run.rc == 0, run
    assert run.result("dc01", "import")["stderr"] == "The operation completed successfully.\r\n"
    assert lab.host("dc01").proxy_value("SYSTEM") == before
    raw = lab.host("dc01").read_file(r"C:\ProgramData\b.reg")
    assert raw[:2] == b"\xff\xfe"  # UTF-16 LE with BOM, as reg.exe writes it
    exported = raw.decode("utf-16")
    assert exported.startswith("Windows Registry Editor Version 5.00\r\n")
    assert "[HKEY_USERS\\S-1-5-18\\%s]" % CONN in exported

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's PowerShell executor (tests/lab/pwsh): Windows PowerShell 5.1's rules, one script each, against a lab
host, checked through what win_powershell returns. Each rule cites its about_* topic in the executor."""

from __future__ import annotations

import hashlib

import pytest

from tests.lab import state, system_state
from tests.lab.pwsh import runner
from tests.lab.pwsh.errors import Unsupported


@pytest.fixture
def host(tmp_path):
    lab = state.Lab.create(tmp_path / "lab", hosts=1)
    return lab.host("dc01")


def run(host, script, params=None, error_action="continue", become=None, check_mode=False, depth=4):
    return runner.run(script, host, runner.lab_account(host, become), params or {}, depth, error_action, check_mode)


def messages(result):
    return [e["exception"]["message"] for e in result["error"]]


def test_variables_ignore_case_and_a_typed_parameter_converts_later_assignments(host):
    system_state.seed_v2_sensor(host)
    result = run(host, """param([string[]]$Service = @())
$service = Get-Service -Name AATPSensor
$Ansible.Result = @{ value = $SERVICE; count = $Service.Count; status = $service.Status }""",
                 {"Service": ["AATPSensor"]})
    # the ServiceController became the string array @('System.ServiceProcess.ServiceController')
    assert result["result"] == {"value": ["System.ServiceProcess.ServiceController"], "count": 1, "status": None}
    assert "failed" not in result and result["error"] == []


def test_a_failed_statement_leaves_its_variable_and_the_script_goes_on_under_continue(host):
    script = """$entry = 'before'
$entry = $nothing.ToString()
$Ansible.Result = @{ entry = $entry; after = 'ran' }"""
    result = run(host, script)
    assert result["result"] == {"entry": "before", "after": "ran"} and "failed" not in result
    assert messages(result) == ["You cannot call a method on a null-valued expression."]
    assert result["error"][0]["fully_qualified_error_id"] == "InvokeMethodOnNull"
    stopped = run(host, script, error_action="stop")  # $ErrorActionPreference = 'Stop' ends the script
    assert stopped["failed"] is True and stopped["result"] == {}
    assert messages(stopped) == ["You cannot call a method on a null-valued expression."]
    quiet = run(host, script, error_action="silently_continue")
    assert quiet["error"] == [] and quiet["result"] == {"entry": "before", "after": "ran"}


def test_non_terminating_errors_follow_error_action_and_the_preference(host):
    script = """$a = Get-Service -Name nosuch
$b = Get-Service -Name nosuch -ErrorAction SilentlyContinue
$Ansible.Result = @{ a = $null -eq $a; b = $null -eq $b }"""
    result = run(host, script)
    assert result["result"] == {"a": True, "b": True} and "failed" not in result
    assert messages(result) == ["Cannot find any service with service name 'nosuch'."]  # one record, not two
    assert result["error"][0]["fully_qualified_error_id"] == \
        "NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.GetServiceCommand"
    assert result["error"][0]["category_info"]["category"] == "ObjectNotFound"
    stopped = run(host, script, error_action="stop")
    assert stopped["failed"] is True and len(stopped["error"]) == 1 and stopped["result"] == {}
    explicit = run(host, "Get-Service -Name nosuch -ErrorAction Stop; $Ansible.Result = 'not reached'")
    assert explicit["failed"] is True and explicit["result"] == {}


def test_try_catch_finally_and_the_wrapped_dotnet_exception(host):
    host.write_file("C:\\data\\a.txt", b"x")
    result = run(host, """$log = @()
try {
    $stream = [System.IO.File]::Open('C:\\data\\a.txt', [System.IO.FileMode]::CreateNew)
    $log += 'not reached'
}
catch [System.IO.IOException] {
    $log += $_.Exception.GetType().FullName
    $log += $_.Exception.InnerException.Message
}
finally {
    $log += 'finally'
}
try { throw "mine" } catch { $log += $_.Exception.Message }
$Ansible.Result = @{ log = $log }""")
    assert result["result"]["log"] == ["System.Management.Automation.MethodInvocationException",
                                       "The file 'C:\\data\\a.txt' already exists.", "finally", "mine"]
    assert result["error"] == [] and "failed" not in result
    thrown = run(host, "throw 'out'; $Ansible.Result = 'not reached'")
    assert thrown["failed"] is True and messages(thrown) == ["out"] and thrown["result"] == {}


def test_null_comparisons_and_comparisons_on_collections_filter(host):
    result = run(host, """$Ansible.Result = [Ordered]@{
    null_left = $null -eq @()
    filtered = @(@(1, $null, 2) -eq $null).Count
    not_two = @(1, 2, 3) -ne 2
    case = 'ABC' -eq 'abc'
    ccase = 'ABC' -ceq 'abc'
    enum = [System.IO.FileMode]::Open -eq 'open'
    number = 10 -gt '9'
    match = 'a.reg' -cnotmatch '^(?!\\.+\\z)[A-Za-z0-9._-]+\\z'
    dots = '..' -cnotmatch '^(?!\\.+\\z)[A-Za-z0-9._-]+\\z'
    like = 'AATPSensor' -like 'aatp*'
    contains = @('a', 'B') -contains 'b'
}""")
    assert result["result"] == {"null_left": False, "filtered": 1, "not_two": [1, 3], "case": True, "ccase": False,
                                "enum": True, "number": True, "match": False, "dots": True, "like": True,
                                "contains": True}


def test_member_enumeration_unrolling_arrays_and_foreach_over_null(host):
    system_state.seed_v2_sensor(host)
    result = run(host, """$services = Get-Service -Name AATP*
$none = Get-Service -Name nothing*
$count = 0
foreach ($x in $null) { $count++ }
foreach ($x in $none) { $count++ }
$one = @(Get-Service -Name AATPSensor)
$Ansible.Result = [Ordered]@{
    names = $services.Name
    status = @($services.Status | ForEach-Object { $_.ToString() })
    none = $null -eq $none
    loops = $count
    one = $one.Count
    empty = @().Count
    nested = @(@(1, 2), 3).Count
    dict_in_foreach = @(foreach ($d in @{ a = 1; b = 2 }) { 'x' }).Count
}""")
    assert result["result"] == {"names": ["AATPSensor", "AATPSensorUpdater"], "status": ["Running", "Running"],
                                "none": True, "loops": 0, "one": 1, "empty": 0, "nested": 2, "dict_in_foreach": 1}


def test_hash_tables_ignore_key_case_ordered_keeps_order_and_keys_shadow_properties(host):
    result = run(host, """$h = @{ Name = 1 }
$h['NAME'] = 2
$o = [Ordered]@{ z = 1; a = 2 }
$o['Z'] = 3
$k = @{ keys = 'shadow' }
$Ansible.Result = [Ordered]@{ h = $h; count = $h.Count; o = $o; order = @($o.Keys); shadow = $k.keys }""")
    assert result["result"] == {"h": {"Name": 2}, "count": 1, "o": {"z": 3, "a": 2}, "order": ["z", "a"],
                                "shadow": "shadow"}
    duplicate = run(host, "$x = @{ a = 1; A = 2 }")
    assert messages(duplicate) == ["Duplicate keys 'A' are not allowed in hash literals."]


def test_strings_expand_split_join_replace_and_format(host):
    result = run(host, """$name = 'dc01'
$list = @('a', 'b')
$svc = @{ Name = 'AATPSensor' }
$Ansible.Result = [Ordered]@{
    expanded = "host $name`t$($svc.Name) ""q"" '$name' $list"
    property = "$svc.Name"
    verbatim = 'no $name ''here'''
    split = 'HKLM:\\SOFTWARE\\X\\Y' -split ':\\\\', 2
    join = $list -join ','
    replace = 'a-b-c' -replace '(\\w)-', '$1+'
    hex = '0x{0:x}' -f -1
    unsigned = [UInt32]('0x{0:x}' -f -2147483648)
    upper = '{0:X2}' -f 10
}""")
    assert result["result"] == {
        "expanded": "host dc01\tAATPSensor \"q\" 'dc01' a b", "property": "System.Collections.Hashtable.Name",
        "verbatim": "no $name 'here'", "split": ["HKLM", "SOFTWARE\\X\\Y"], "join": "a,b", "replace": "a+b+c",
        "hex": "0xffffffff", "unsigned": 2147483648, "upper": "0A"}


def test_break_continue_and_while(host):
    result = run(host, """$seen = @()
foreach ($i in 1, 2, 3, 4) {
    if ($i -eq 2) { continue }
    if ($i -eq 4) { break }
    $seen += $i
}
$n = 0
while ($true) { $n += 1; if ($n -ge 3) { break } }
$Ansible.Result = @{ seen = $seen; n = $n }""")
    assert result["result"] == {"seen": [1, 3], "n": 3}


def test_registry_reads_are_signed_denied_keys_throw_and_unloaded_hives_are_null(host):
    host.set_value("HKLM:\\SOFTWARE\\X", "Big", "REG_DWORD", 0x80000000)
    host.set_value("HKLM:\\SOFTWARE\\X", "Huge", "REG_QWORD", 0xFFFFFFFFFFFFFFFF)
    host.set_value("HKLM:\\SOFTWARE\\X", "Multi", "REG_MULTI_SZ", ["a", "b"])
    host.set_value("HKLM:\\SOFTWARE\\Secret\\Inner", "V", "REG_SZ", "x")
    host.deny_registry_read("HKLM:\\SOFTWARE\\Secret")
    host.set_hive_loaded("LocalService", False)
    result = run(host, """$lm = [Microsoft.Win32.Registry]::LocalMachine
$key = $lm.OpenSubKey('SOFTWARE\\X', $false)
$values = [Ordered]@{ big = $key.GetValue('Big'); huge = $key.GetValue('Huge'); multi = $key.GetValue('Multi')
                      kind = $key.GetValueKind('Big').ToString(); missing = $key.GetValue('Nope', 'dflt') }
$key.Dispose()
$denied = 'unchanged'
$denied = $lm.OpenSubKey('SOFTWARE\\Secret\\Inner', $false)
$hive = [Microsoft.Win32.Registry]::Users.OpenSubKey('S-1-5-19\\Software', $false)
$Ansible.Result = [Ordered]@{ values = $values; denied = $denied; unloaded = $null -eq $hive }""")
    assert result["result"] == {"values": {"big": -2147483648, "huge": -1, "multi": ["a", "b"], "kind": "DWord",
                                           "missing": "dflt"}, "denied": "unchanged", "unloaded": True}
    assert messages(result) == ['Exception calling "OpenSubKey" with "2" argument(s): "Requested registry access '
                                'is not allowed."']
    assert result["error"][0]["exception"]["inner_exception"]["type"] == "System.Security.SecurityException"
    closed = run(host, "$k = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey('SOFTWARE\\X'); $k.Dispose(); "
                       "$k.GetValueNames()")
    assert "Cannot access a closed registry key." in messages(closed)[0]


def test_fips_refuses_the_managed_sha256_before_dotnet_48_and_the_provider_always_works(host):
    script = """$out = [Ordered]@{}
try { $null = [System.Security.Cryptography.SHA256]::Create(); $out['create'] = 'ok' }
catch { $out['create'] = $_.Exception.InnerException.InnerException.Message }
$csp = New-Object -TypeName System.Security.Cryptography.SHA256CryptoServiceProvider
$out['csp'] = [System.BitConverter]::ToString($csp.ComputeHash([byte[]](1, 2, 3))).Replace('-', '').ToLower()
$Ansible.Result = $out"""
    digest = hashlib.sha256(b"\x01\x02\x03").hexdigest()
    assert run(host, script)["result"] == {"create": "ok", "csp": digest}
    system_state.seed_fips(host)  # FIPS on, .NET Framework 4.7.2 (Windows Server 2019 as shipped)
    assert run(host, script)["result"] == {
        "create": "This implementation is not part of the Windows Platform FIPS validated cryptographic algorithms.",
        "csp": digest}
    system_state.seed_fips(host, dotnet_release=528040)  # .NET Framework 4.8
    assert run(host, script)["result"] == {"create": "ok", "csp": digest}


def test_files_create_new_locks_access_and_base64(host):
    host.write_file("C:\\data\\locked.txt", b"old")
    system_state.hold_file(host, "C:\\data\\locked.txt", "Microsoft.Tri.Sensor.Updater.exe")
    result = run(host, """$out = [Ordered]@{}
$bytes = [System.Convert]::FromBase64String('aGk=')
$s = [System.IO.File]::Open('C:\\data\\new.txt', 'CreateNew', 'Write', 'None')
try { $s.Write($bytes, 0, $bytes.Length) } finally { $s.Dispose() }
$out['read'] = [System.Convert]::ToBase64String([System.IO.File]::ReadAllBytes('C:\\data\\new.txt'))
try { $null = [System.IO.File]::Open('C:\\data\\locked.txt', 'Create', 'Write', 'None') }
catch { $out['locked'] = $_.Exception.InnerException.Message }
$out['still'] = [System.Convert]::ToBase64String([System.IO.File]::ReadAllBytes('C:\\data\\locked.txt'))
$out['dir'] = [System.IO.Directory]::Exists('C:\\data')
$Ansible.Result = $out""")
    assert result["result"] == {"read": "aGk=", "locked": "The process cannot access the file 'C:\\data\\locked.txt' "
                                "because it is being used by another process.", "still": "b2xk", "dir": True}
    host.set_fault("not_admin")
    host.set_security("C:\\data", protected=True)
    denied = run(host, "[System.IO.File]::Open('C:\\data\\x.txt', 'CreateNew')")
    assert "Access to the path 'C:\\data\\x.txt' is denied." in messages(denied)[0]


def test_test_path_cert_drive_and_the_callers_identity(host):
    thumb = next(iter(system_state.ROOT_CERTIFICATES))
    script = """$id = [Security.Principal.WindowsIdentity]::GetCurrent()
$Ansible.Result = [Ordered]@{
    root = Test-Path -LiteralPath "Cert:\\LocalMachine\\Root\\%s"
    other = Test-Path -LiteralPath 'Cert:\\LocalMachine\\Root\\0000'
    name = $id.Name
    admin = ([Security.Principal.WindowsPrincipal]$id).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
}""" % thumb
    assert run(host, script)["result"] == {"root": True, "other": False, "name": "CORP\\ansible-admin", "admin": True}
    assert run(host, script, become="SYSTEM")["result"]["admin"] is True
    local_service = run(host, script, become="LocalService")["result"]
    assert local_service["admin"] is False and local_service["name"] == "NT AUTHORITY\\LOCAL SERVICE"
    system_state.seed_missing_root_ca(host)
    host.set_fault("not_admin")
    assert run(host, script)["result"]["root"] is False and run(host, script)["result"]["admin"] is False


def test_the_win_powershell_result_output_changed_failed_and_check_mode(host):
    result = run(host, "'one'; @(2, 3); $null = 'hidden'; [void]'hidden'")
    assert result["output"] == ["one", 2, 3] and result["changed"] is True and "failed" not in result
    assert run(host, "$Ansible.Failed = $true")["failed"] is True
    assert run(host, "$Ansible.Changed = $false")["changed"] is False
    skipped = run(host, "[CmdletBinding()]\nparam()\n'x'", check_mode=True)
    assert skipped["msg"] == "skipped, running in check mode" and skipped["changed"] is True
    ran = run(host, "[CmdletBinding(SupportsShouldProcess)]\nparam()\n$Ansible.Result = $WhatIfPreference",
              check_mode=True)
    assert ran["result"] is True and "msg" not in ran
    deep = run(host, "$Ansible.Result = @{ a = @{ b = @{ c = 1 } } }", depth=1)
    assert deep["result"] == {"a": {"b": "System.Collections.Hashtable"}}  # Convert-OutputObject's depth
    enum = run(host, "$Ansible.Result = [System.IO.FileMode]::Open")
    assert enum["result"] == {"Type": "System.IO.FileMode", "String": "Open", "Value": 3}


@pytest.mark.parametrize("script, refused", [
    ("$x = 1\nfunction f { 1 }", "unsupported in the lab: function statement at line 2"),
    ("switch ($x) { 1 { 2 } }", "unsupported in the lab: switch statement at line 1"),
    ("$x = [System.Net.WebClient]::new()", "unsupported in the lab: type [System.Net.WebClient] at line 1"),
    ("$k = [Microsoft.Win32.Registry]::LocalMachine\n$k.DeleteSubKey('x')",
     "unsupported in the lab: the method DeleteSubKey of [Microsoft.Win32.RegistryKey] at line 2"),
    ("& { 1 }", "unsupported in the lab: the call operators & and . at line 1"),
    ("Get-ChildItem C:\\", "unsupported in the lab: the command Get-ChildItem at line 1"),
    ("$env:TEMP", "unsupported in the lab: the environment variable $env:TEMP at line 1"),
])
def test_anything_outside_the_emulated_subset_is_refused_loudly(host, script, refused):
    with pytest.raises(Unsupported) as caught:
        run(host, script)
    assert str(caught.value) == refused


def test_powershell_7_syntax_does_not_parse(host):
    result = run(host, "$a = $true ? 1 : 2")  # Windows PowerShell 5.1 has no ternary operator
    assert result["failed"] is True and "does not parse" in messages(result)[0]
    assert run(host, "$a = $true ? 1 : 2") == result  # the same text again: refused again, the same way
    with pytest.raises(Unsupported, match="&& and ||"):
        run(host, "Get-Service && Get-Process")


def test_the_same_script_text_runs_the_same_way_every_time(host):
    """The parse of a script text is kept (per process): a second run starts from the same variables, not from what
    the first one left, and one character more is another script."""
    script = """param([int]$Add = 1)
$total = 0
foreach ($i in @(1, 2, 3)) { $total += $i * $Add }
$Ansible.Result = @{ total = $total }"""
    first = run(host, script, {"Add": 2})
    assert first["result"] == {"total": 12} and run(host, script, {"Add": 2}) == first
    assert run(host, script, {"Add": 3})["result"] == {"total": 18}
    broken = run(host, script + " }")
    assert broken["failed"] is True and "does not parse" in messages(broken)[0]


def test_the_executors_copy_of_a_syntax_tree_is_the_tree_sitter_tree_node_for_node():
    """syntax.SyntaxNode (what the executor walks) holds, for every node of the collection's own scripts and of
    their script blocks, the type, text, position and children tree-sitter gives, and named/unwrap/text agree."""
    from tests.lab.agent import collection_scripts
    from tests.lab.pwsh import syntax

    scripts = collection_scripts()
    assert len(scripts) == 4

    def same(mine, raw):
        assert (mine.type, mine.text, mine.start_point, mine.start_byte, mine.end_byte, mine.is_named) == (
            raw.type, raw.text, tuple(raw.start_point), raw.start_byte, raw.end_byte, raw.is_named)
        assert [c.type for c in mine.named_children] == [c.type for c in raw.named_children]
        assert [c.type for c in syntax.named(mine)] == [c.type for c in raw.named_children if c.type != "comment"]
        assert syntax.unwrap(mine).start_byte == syntax.unwrap(raw).start_byte
        assert syntax.unwrap(mine).type == syntax.unwrap(raw).type and syntax.text(mine) == syntax.text(raw)
        for a, b in zip(mine.children, raw.children, strict=True):
            same(a, b)

    for script in scripts:
        same(syntax.parse(script), syntax.parser().parse(script.encode("utf-8")).root_node)

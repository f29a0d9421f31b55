# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static checks of every PowerShell script the collection sends (tests/lab/pwsh/lint.py): it parses, it assigns
to no parameter's name in any case, it uses no PowerShell 7-only syntax and no crypto that fails under FIPS.

"Every script": each module-level ``*SCRIPT`` string of a plugin_utils module that sends
ansible.windows.win_powershell, found by reading the sources, so a new script is checked without being listed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.lab.pwsh import lint

UTILS = Path(__file__).resolve().parents[4] / "plugins" / "plugin_utils"


def scripts() -> dict:
    found = {}
    for path in sorted(UTILS.rglob("*.py")):
        source = path.read_text()
        if "win_powershell" not in source:
            continue
        for node in ast.parse(source).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(
                    node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id.endswith("SCRIPT"):
                        found["%s.%s" % (path.relative_to(UTILS).with_suffix("").as_posix().replace("/", "."), target.id)] = node.value.value
    return found


def test_the_scripts_are_found():
    assert set(scripts()) >= {"_host._state_query.SCRIPT", "_host._file_write.SCRIPT", "_probe._script.SCRIPT",
                              "_sensor._watch.SCRIPT"}


@pytest.mark.parametrize("name", sorted(scripts()))
def test_every_script_passes_the_static_checks(name):
    assert lint.problems(scripts()[name]) == []


@pytest.mark.parametrize("script, problem", [
    ("param([string[]]$Service)\nforeach ($n in $Service) { $service = Get-Service -Name $n }",
     "line 2: $service is assigned, and the parameter $Service has that name"),
    ("param($Key)\nforeach ($KEY in @()) { }", "line 2: $KEY is assigned"),
    ("param($Key)\n$a, $key = 1, 2", "line 2: $key is assigned"),
    ("$block = {\n    param([string]$Url)\n    $url = 'x'\n}", "line 3: $url is assigned, and the parameter $Url"),
    ("$block = { param([string]$Url) $URL = 'x' }", "line 1: $URL is assigned, and the parameter $Url"),
    ("$x = $true ? 1 : 2", "the ternary operator is PowerShell 7 only"),
    ("$x = $y ?? 2", "?? is PowerShell 7 only"),
    ("Get-Service && Get-Process", "line 1: && and || are PowerShell 7 only"),
    ("$x = '{}' | ConvertFrom-Json -AsHashtable", "line 1: convertfrom-json -AsHashtable is PowerShell 7 only"),
    ("1, 2 | ForEach-Object -Parallel { $_ }", "line 1: foreach-object -Parallel is PowerShell 7 only"),
    ("$s = [System.Security.Cryptography.SHA256]::Create()", "line 1: [SHA256]::Create() makes the managed class"),
    ("$s = New-Object System.Security.Cryptography.SHA256Managed", "line 1: SHA256Managed is not FIPS-validated"),
    ("$s = New-Object System.Security.Cryptography.MD5CryptoServiceProvider",
     "line 1: MD5CryptoServiceProvider is not FIPS-validated"),
    ("Get-FileHash -Path C:\\x", "line 1: Get-FileHash uses HashAlgorithm.Create"),
    ("if ($x) {", "the script does not parse"),
])
def test_each_check_finds_its_problem(script, problem):
    assert any(problem in p for p in lint.problems(script)), lint.problems(script)


def test_the_fips_safe_provider_and_other_names_pass():
    assert lint.problems("param([string]$Folder)\n$folder2 = $Folder\n$Ansible.Result['Folder'] = 1\n"
                         "$s = New-Object -TypeName System.Security.Cryptography.SHA256CryptoServiceProvider") == []
    # a script block's parameter binds only inside it: the same name outside is another variable
    assert lint.problems("$block = { param($Url) $Url }\n$url = 'x'") == []

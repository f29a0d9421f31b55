# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static checks of a script the collection sends to Windows (TEST ONLY; ``make test`` runs them through
``tests/unit/plugins/plugin_utils/test_scripts_static.py``).

:func:`problems` returns one sentence per problem, with its line:

* **it parses** with tree-sitter-powershell (no ``ERROR`` or missing node);
* **no assignment to a parameter's name, in any case** (the script's, anywhere; a script block's own, inside it): PowerShell variable names ignore case
  (about_Variables) and a typed parameter converts every later assignment to its type (about_Functions_Advanced_
  Parameters), so ``$service = Get-Service ...`` next to ``[string[]]$Service`` stores a string; a ``foreach``
  variable, ``+=`` and multiple assignment count as assignments;
* **no PowerShell 7-only syntax**: the ternary ``? :``, ``??`` and ``??=``, the pipeline chains ``&&`` and
  ``||``, ``?.`` and ``?[]``, ``ForEach-Object -Parallel``, the ``clean`` block, the escape ```u{...}``, and
  cmdlets and parameters Windows PowerShell 5.1 does not have (``ConvertFrom-Json -AsHashtable``,
  ``Get-Error``, ``Join-String``, ``Test-Json``, ``Invoke-RestMethod -SkipCertificateCheck``...);
* **no crypto that fails under the FIPS policy** on .NET Framework before 4.8: ``[SHA*]::Create()``,
  ``[HashAlgorithm]::Create()``, the ``*Managed`` hash classes, MD5 and RIPEMD160 in any form, and
  ``Get-FileHash`` (Windows PowerShell 5.1 implements it with ``HashAlgorithm.Create``). Use the
  ``*CryptoServiceProvider`` classes, as ``win_stat.ps1`` does.
"""

from __future__ import annotations

import re

from tests.lab.pwsh import syntax

PS7_CMDLETS = {"get-error", "join-string", "test-json", "foreach-object -parallel", "convertto-csv -usequotes",
               "remove-alias", "get-uptime", "set-markdownoption", "show-markdown", "convertfrom-markdown"}
PS7_PARAMETERS = {("convertfrom-json", "-ashashtable"), ("invoke-restmethod", "-skipcertificatecheck"),
                  ("invoke-webrequest", "-skipcertificatecheck"), ("foreach-object", "-parallel"),
                  ("get-content", "-asbytestream"), ("set-content", "-asbytestream"),
                  ("invoke-restmethod", "-statuscodevariable"), ("test-connection", "-tcpport")}
FIPS_PATTERNS = [
    (re.compile(r"\[(?:System\.)?(?:Security\.)?(?:Cryptography\.)?(SHA1|SHA256|SHA384|SHA512|MD5|RIPEMD160|"
                r"HashAlgorithm)\]::Create\(", re.I),
     "[{0}]::Create() makes the managed class on .NET Framework before 4.8, which throws under the FIPS policy"),
    (re.compile(r"\b(SHA1Managed|SHA256Managed|SHA384Managed|SHA512Managed|RIPEMD160Managed|MD5\w*|RIPEMD160\w*)\b",
                re.I), "{0} is not FIPS-validated"),
    (re.compile(r"\bGet-FileHash\b", re.I), "Get-FileHash uses HashAlgorithm.Create, which fails under the FIPS "
                                            "policy on .NET Framework before 4.8"),
]


def problems(script: str) -> list:
    root = syntax.parser().parse(script.encode("utf-8")).root_node
    found = []
    bad = syntax.first_error(root)
    if bad is not None:
        found.append("line %d: the script does not parse near %r%s" % (syntax.line(bad), syntax.text(bad)[:40],
                                                                       _ps7_hint(syntax.text(bad))))
    found += _parameter_assignments(root)
    found += _ps7(root)
    found += _fips(script)
    return found


def _ps7_hint(text: str) -> str:
    if "??" in text:
        return " (?? is PowerShell 7 only)"
    if "?" in text:
        return " (the ternary operator is PowerShell 7 only)"
    return ""


def parameter_names(root) -> list:
    block = syntax.child_of_type(root, "param_block")
    return _block_parameter_names(block) if block is not None else []


def _assigned(node) -> list:
    """The variables an assignment target names (``$a``, ``$a, $b``, ``[int]$a``), not ``$a.b`` or ``$a[0]``."""
    node = syntax.unwrap(node)
    if node.type == "variable":
        return [node]
    if node.type == "cast_expression":
        return _assigned(syntax.named(node)[1])
    if node.type == "array_literal_expression":
        return [v for k in syntax.named(node) for v in _assigned(k)]
    return []


def _parameter_assignments(root) -> list:
    """Assignments to a parameter's name: the script's parameters anywhere in it, and a script block's own
    parameters (``{ param($Url) ... }``, run by a runspace or as a delegate) inside that block."""
    out = []
    scopes = [(root, parameter_names(root))]
    for node in syntax.walk(root):
        if node.type == "script_block_expression":
            body = syntax.child_of_type(node, "script_block")
            block = syntax.child_of_type(node, "param_block") or (
                syntax.child_of_type(body, "param_block") if body is not None else None)
            if block is not None:
                scopes.append((node, _block_parameter_names(block)))
    for scope, names in scopes:
        params = {p.lower(): p for p in names}
        for node in syntax.walk(scope):
            targets = []
            if node.type == "assignment_expression":
                targets = _assigned(syntax.named(node)[0])
            elif node.type == "foreach_statement":
                targets = [syntax.child_of_type(node, "variable")]
            for target in targets:
                name = syntax.text(target).lstrip("$").strip("{}").split(":")[-1]
                if name.lower() in params:
                    out.append("line %d: $%s is assigned, and the parameter $%s has that name (variables ignore "
                               "case; a typed parameter converts what is assigned to it)"
                               % (syntax.line(target), name, params[name.lower()]))
    return out


def _block_parameter_names(block) -> list:
    plist = syntax.child_of_type(block, "parameter_list")
    return [syntax.text(syntax.child_of_type(p, "variable"))[1:] for p in (syntax.named(plist) if plist else [])]


def _ps7(root) -> list:
    out = []
    for node in syntax.walk(root):
        if node.type == "pipeline_chain_tail":
            out.append("line %d: && and || are PowerShell 7 only" % syntax.line(node))
        elif node.type == "command":
            name_node = syntax.child_of_type(node, "command_name")
            name = syntax.text(name_node).lower() if name_node is not None else ""
            if name in PS7_CMDLETS:
                out.append("line %d: %s is not in Windows PowerShell 5.1" % (syntax.line(node), name))
            for el in syntax.walk(node):
                if el.type == "command_parameter" and (name, syntax.text(el).rstrip(":").lower()) in PS7_PARAMETERS:
                    out.append("line %d: %s %s is PowerShell 7 only" % (syntax.line(el), name, syntax.text(el)))
        elif node.type in ("expandable_string_literal", "expandable_here_string_literal") and "`u{" in \
                syntax.text(node):
            out.append("line %d: the escape `u{} is PowerShell 6 and later" % syntax.line(node))
        elif node.type == "member_access" and any(c.type in ("?.",) for c in node.children):
            out.append("line %d: ?. is PowerShell 7 only" % syntax.line(node))
    return out


def _fips(script: str) -> list:
    out = []
    for number, line in enumerate(script.splitlines(), 1):
        code = line.split("#", 1)[0]
        for pattern, why in FIPS_PATTERNS:
            for match in pattern.finditer(code):
                word = match.group(0).lower()
                if word.endswith("cryptoserviceprovider") and not word.startswith(("md5", "ripemd")):
                    continue
                out.append("line %d: %s" % (number, why.format(match.group(1) if match.groups() else match.group(0))))
    return out

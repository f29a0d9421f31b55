# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a script the way ``ansible.windows.win_powershell`` runs it, and return what the module returns.

TEST ONLY. Mirrors plugins/modules/win_powershell.ps1 of ansible.windows 3.3.0:

* lines 550-593: the script is parsed; it runs in check mode only when its param block has
  ``[CmdletBinding(SupportsShouldProcess)]`` (or ``SupportsShouldProcess=$true``), otherwise the module returns
  ``changed: true`` and ``msg: "skipped, running in check mode"`` without running it; a script that supports it
  gets ``-WhatIf:$true`` in check mode and ``-Confirm:$false`` (lines 832-836);
* lines 661-677: ``$Ansible`` (``CheckMode``, ``Verbosity``, ``Result = @{}``, ``Diff``, ``Changed = $true``,
  ``Failed = $false``, ``Tmpdir``) and ``$ErrorActionPreference`` from ``error_action`` (``stop``, ``continue``,
  ``silently_continue``) are set in the runspace, under the script's scope;
* lines 803-840: ``parameters`` are passed by name (``AddParameters``); Ansible.Basic parsed the JSON into a
  case-sensitive ``Dictionary[string,object]`` whose lists are ``ArrayList``\\ s; each converts to the
  parameter's declared type; an undeclared name is "A parameter cannot be found that matches parameter name
  'X'.";
* lines 842-853: a terminating error that leaves the script (``throw``, ``-ErrorAction Stop``, anything under
  ``$ErrorActionPreference = 'Stop'``) sets ``failed`` and adds its error record to ``error``; non-terminating
  and statement-terminating errors under Continue are in ``error`` too, one entry per record, but do not fail;
* lines 891-935: ``result`` is ``$Ansible.Result`` and ``output`` the pipeline output, both through
  ``Convert-OutputObject`` at ``depth`` (lines 286-420; :func:`convert_output`); ``changed`` is
  ``$Ansible.Changed``; ``failed`` is also set by ``$Ansible.Failed``; each ``error`` entry has ``output``,
  ``exception`` (``message``, ``type``, ``hresult``, ``inner_exception``, ...), ``category_info``,
  ``fully_qualified_error_id``, ``target_object``, ``script_stack_trace``.
"""

from __future__ import annotations

import re

from tests.lab.pwsh import syntax
from tests.lab.pwsh import values as v
from tests.lab.pwsh.errors import (
    DotNetError,
    ErrorRecord,
    FlowSignal,
    ScriptSyntaxError,
    TerminatingError,
    Unsupported,
    dotnet_error,
)
from tests.lab.pwsh.interpreter import Session
from tests.lab.pwsh.surface import HostContext, types

ERROR_ACTIONS = {"stop": "Stop", "continue": "Continue", "silently_continue": "SilentlyContinue"}
CATEGORY_IDS = {"NotSpecified": 0, "OpenError": 1, "InvalidArgument": 5, "InvalidOperation": 9, "ObjectNotFound": 13,
                "PermissionDenied": 18, "ResourceUnavailable": 19, "WriteError": 23, "OperationStopped": 14,
                "ParserError": 17}


def supports_should_process(script: str, root=None) -> bool:
    """win_powershell.ps1 lines 568-587: CmdletBinding's SupportsShouldProcess, omitted or ``$true``."""
    if root is None:
        return bool(re.search(r"\[CmdletBinding\((?:[\w=\$]+,\s*)?SupportsShouldProcess(?:=\$true)?(?:,\s*[\w=\$]+)?"
                              r"\)\]", script))
    block = syntax.child_of_type(root, "param_block")
    if block is None:
        return False
    for node in syntax.walk(block):
        if node.type == "attribute" and syntax.text(node).lower().startswith("[cmdletbinding"):
            for arg in syntax.walk(node):
                if arg.type == "attribute_argument":
                    kids = syntax.named(arg)
                    if kids and syntax.text(kids[0]).lower() == "supportsshouldprocess":
                        return len(kids) == 1 or syntax.text(kids[-1]).strip().lower() == "$true"
    return False


def empty_result() -> dict:
    return {"changed": True, "result": {}, "host_out": "", "host_err": "", "output": [], "error": [], "warning": [],
            "verbose": [], "debug": [], "information": []}


def run(script: str, host, account: dict, parameters: dict | None = None, depth: int = 2,
        error_action: str = "continue", check_mode: bool = False, verbosity: int = 0,
        sensitive_parameters: list | None = None) -> dict:
    """The win_powershell result of ``script`` on the lab ``host`` as ``account``. Raises :class:`Unsupported`
    when the script needs something the lab does not emulate. ``sensitive_parameters``: win_powershell's option of
    that name (``[{name, username, password}]`` or ``[{name, value}]``), see :func:`sensitive_values`."""
    result = empty_result()
    try:
        root = syntax.parse(script)
    except ScriptSyntaxError as exc:
        if check_mode and not supports_should_process(script):
            return dict(result, msg="skipped, running in check mode")
        record = ErrorRecord(dotnet_error("System.Management.Automation.ParseException", str(exc)), "ParseException",
                             "ParserError")
        result.update(failed=True, error=[error_entry(record, depth)])
        return result
    should_process = supports_should_process(script, root)
    if check_mode and not should_process:
        return dict(result, msg="skipped, running in check mode")

    ctx = HostContext(host, account, check_mode)
    session = Session(script, ctx, ERROR_ACTIONS[error_action])
    ansible = v.PSCustomObject({"CheckMode": check_mode, "Verbosity": v.Int32(verbosity),
                                "Result": v.PSDict("hashtable"), "Diff": v.PSDict("hashtable"), "Changed": True,
                                "Failed": False, "Tmpdir": "C:\\Windows\\TEMP\\ansible-tmp-lab"},
                               "Ansible.Windows.WinPowerShell.Module")
    session.global_scope.vars["ansible"] = _variable("Ansible", ansible)
    params = {k: from_json(val) for k, val in (parameters or {}).items()}
    params.update(sensitive_values(sensitive_parameters))
    if should_process:
        params.update(Confirm=False, WhatIf=check_mode)
    output, failed = [], False
    try:
        bind_parameters(session, root, params)
        output = session.run_block(root)
    except TerminatingError as exc:
        failed = True
        session.errors.append(exc.record)
    except FlowSignal as signal:
        if signal.kind != "return":
            raise Unsupported("%s outside a loop (Windows PowerShell then ends the script)" % signal.kind, 0) from None
        output = signal.value or []
    result.update(
        result=convert_output(ansible.get_property("Result"), depth),
        output=convert_output(v.PSArray(output), depth),
        changed=convert_output(ansible.get_property("Changed"), depth),
        error=[error_entry(r, depth) for r in session.errors],
    )
    if failed or v.to_bool(ansible.get_property("Failed")):
        result["failed"] = True
    return result


def _variable(name, value):
    from tests.lab.pwsh.interpreter import Variable

    return Variable(name, value)


def sensitive_values(entries) -> dict:
    """win_powershell.ps1 lines 811-829: each ``sensitive_parameters`` entry becomes a parameter, a ``PSCredential``
    (``username`` and ``password``; no password is an empty SecureString) or a ``SecureString`` (``value``)."""
    from tests.lab.pwsh.surface.system import PSCredential, SecureString

    out = {}
    for entry in entries or []:
        if entry.get("username"):
            out[entry["name"]] = PSCredential(entry["username"], SecureString(entry.get("password") or ""))
        else:
            out[entry["name"]] = SecureString(entry.get("value") or "")
    return out


def from_json(value):
    """What Ansible.Basic makes of a JSON parameter: ``Dictionary[string,object]``, ``ArrayList`` (an Object[]
    here), Int32/Int64/Decimal, String, Boolean."""
    if isinstance(value, dict):
        return v.PSDict("dictionary", [(k, from_json(x)) for k, x in value.items()])
    if isinstance(value, list):
        return v.PSArray([from_json(x) for x in value])
    if isinstance(value, bool) or value is None or isinstance(value, str) or isinstance(value, v.DotNetObject):
        return value
    if isinstance(value, int):
        return v.integer(value)
    if isinstance(value, float):
        return value
    raise TypeError("not JSON: %r" % (value,))


def bind_parameters(session: Session, root, params: dict) -> None:
    """The script's ``param()`` block bound from ``params`` (about_Functions_Advanced_Parameters): each declared
    parameter becomes a variable of the script scope, type-constrained by its declared type."""
    declared = []
    block = syntax.child_of_type(root, "param_block")
    plist = syntax.child_of_type(block, "parameter_list") if block is not None else None
    cmdlet_binding = block is not None and "[cmdletbinding" in syntax.text(block).lower()
    for param in (syntax.named(plist) if plist is not None else []):
        name_node = syntax.child_of_type(param, "variable")
        name = syntax.text(name_node)[1:]
        type_info, mandatory = None, False
        attributes = syntax.child_of_type(param, "attribute_list")
        for attr in (syntax.named(attributes) if attributes is not None else []):
            literal = syntax.child_of_type(attr, "type_literal")
            if literal is not None:
                type_info = types.lookup(syntax.text(syntax.child_of_type(literal, "type_spec")),
                                         syntax.line(literal))
                continue
            attr_text = syntax.text(attr).replace(" ", "").lower()
            if attr_text.startswith("[parameter("):
                mandatory = "mandatory" in attr_text and "mandatory=$false" not in attr_text
                cmdlet_binding = True
            elif not attr_text.startswith(("[allownull", "[validatenotnull", "[parameter]")):
                raise Unsupported("the parameter attribute %s" % syntax.text(attr), syntax.line(attr))
        default = syntax.child_of_type(param, "script_parameter_default")
        declared.append((name, type_info, mandatory, default, syntax.line(param)))
    common = {"erroraction", "warningaction", "verbose", "debug"} if cmdlet_binding else set()
    common |= {"whatif", "confirm"} if supports_should_process("", root) else set()
    names = {d[0].lower(): d for d in declared}
    for key in params:
        if key.lower() not in names and key.lower() not in common:
            raise TerminatingError(session.record_for(dotnet_error(
                "System.Management.Automation.ParameterBindingException",
                "A parameter cannot be found that matches parameter name '%s'." % key), "NamedParameterNotFound",
                "InvalidArgument", 0), statement=False)
    missing = [d[0] for d in declared if d[2] and not any(k.lower() == d[0].lower() for k in params)]
    if missing:
        raise TerminatingError(session.record_for(dotnet_error(
            "System.Management.Automation.ParameterBindingException",
            "Cannot process command because of one or more missing mandatory parameters: %s." % " ".join(missing)),
            "MissingMandatoryParameter", "InvalidArgument", 0), statement=False)
    for key, value in params.items():
        if key.lower() == "whatif":
            session.scope.vars["whatifpreference"] = _variable("WhatIfPreference", bool(value))
        elif key.lower() == "erroraction":
            session.set_variable("ErrorActionPreference", value)
    for name, type_info, _mandatory, default, line in declared:
        given = [val for k, val in params.items() if k.lower() == name.lower()]
        if given:
            value = given[0]
            if type_info is not None:
                try:
                    value = type_info.convert(value)
                except DotNetError as exc:
                    raise TerminatingError(session.record_for(dotnet_error(
                        "System.Management.Automation.ParameterBindingArgumentTransformationException",
                        "Cannot process argument transformation on parameter '%s'. %s" % (name, exc.message)),
                        "ParameterArgumentTransformationError", "InvalidData", line), statement=False) from None
        elif default is not None:
            value = session.pipeline_value(syntax.named(default)[0])
        else:
            value = None if type_info is None else _unbound(type_info)
        session.set_variable(name, value, line, constraint=type_info)


def _unbound(type_info):
    """An unbound typed parameter: ``[string]`` is '', numbers 0, ``[switch]``/``[bool]`` false, others $null."""
    name = type_info.full_name
    if name == "System.String":
        return ""
    if name in ("System.Boolean", "System.Management.Automation.SwitchParameter"):
        return False
    if name in v.INT_TYPES:
        return v.INT_TYPES[name](0)
    return None


# ---------------------------------------------------------------------------
# Convert-OutputObject and the error entries
# ---------------------------------------------------------------------------
def convert_output(value, depth: int):
    """win_powershell.ps1 Convert-OutputObject (lines 286-420): enums become ``{Type, String, Value}`` while
    ``depth`` is not negative; strings and value types stay; below ``depth`` anything else is its ``[string]``;
    lists become lists, dictionaries dictionaries, other objects a dictionary of their properties."""
    if value is None:
        return None
    if isinstance(value, v.EnumValue):
        if depth >= 0:
            return {"Type": value.type_name, "String": value.name, "Value": value.value}
        return value.value
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return int(value) if isinstance(value, int) else value
    if depth < 0:
        return v.to_string(value)
    if isinstance(value, list):
        return [convert_output(x, depth - 1) for x in value]
    if isinstance(value, v.PSDict):
        return {v.to_string(k): convert_output(x, depth - 1) for k, x in value.items()}
    if isinstance(value, ErrorRecord):
        return {"Exception": v.to_string(value.message)}
    if isinstance(value, v.DotNetObject):
        return {name: convert_output(value.get_property(name), depth - 1) for name in value.property_names()}
    return v.to_string(value)


def format_exception(error) -> dict | None:
    if error is None:
        return None
    return {"message": error.message, "type": error.TYPE, "help_link": None,
            "source": "System.Management.Automation" if error.TYPE.startswith("System.Management") else "mscorlib",
            "hresult": error.HRESULT, "inner_exception": format_exception(error.inner)}


def error_entry(record: ErrorRecord, depth: int) -> dict:
    return {
        "output": record.output(),
        "error_details": None,
        "exception": format_exception(record.exception),
        "target_object": convert_output(record.target, depth),
        "category_info": {"category": record.category, "category_id": CATEGORY_IDS.get(record.category, 0),
                          "activity": record.command or record.activity, "reason": record.exception.TYPE.rsplit(".", 1)[-1],
                          "target_name": "" if record.target is None else v.to_string(record.target),
                          "target_type": "" if record.target is None else v.type_name(record.target)},
        "fully_qualified_error_id": record.fqid,
        "script_stack_trace": "at <ScriptBlock>, <No file>: line %d" % record.line,
        "pipeline_iteration_info": [],
    }


def lab_account(host, become_user: str | None) -> dict:
    from tests.lab import state

    return state.resolve_account(become_user, host.state()["user"])

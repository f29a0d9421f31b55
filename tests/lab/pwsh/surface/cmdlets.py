# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The table of cmdlets a script may call, and PowerShell's parameter binding.

TEST ONLY. A cmdlet the table does not hold is refused ("unsupported in the lab: the command X"). To add one,
:func:`register` a :class:`Cmdlet` from a module under ``surface/`` (imported by ``surface/__init__.py``).

Binding follows about_Parameters and about_CommonParameters
(https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_parameters?view=powershell-5.1):
a parameter is named by ``-Name value`` or ``-Name:value``, by any unambiguous prefix of its name or an alias,
case-insensitively; the remaining arguments bind by position; a bare word is a string; each value converts to
the parameter's type; an unknown name is the statement-terminating error "A parameter cannot be found that
matches parameter name 'X'."; ``-ErrorAction`` (alias ``-EA``) overrides ``$ErrorActionPreference`` for that
command's non-terminating errors. Pipeline input binds, object by object, to the parameter that takes
``ValueFromPipeline``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.lab.pwsh import syntax
from tests.lab.pwsh import values as v
from tests.lab.pwsh.errors import DotNetError, TerminatingError, Unsupported, dotnet_error
from tests.lab.pwsh.surface import types


@dataclass
class Param:
    name: str
    type: str = "System.Object"  # a type name for types.lookup, or "switch" / "scriptblock"
    position: int | None = None
    pipeline: bool = False
    mandatory: bool = False
    aliases: tuple = ()


@dataclass
class Cmdlet:
    """``run(call)`` gets a :class:`Call` and returns the objects the cmdlet writes to the pipeline."""

    name: str
    params: list
    run: object
    class_name: str = ""  # for FullyQualifiedErrorId (",Microsoft.PowerShell.Commands.GetServiceCommand")
    aliases: tuple = ()


COMMON = [Param("ErrorAction", "System.Management.Automation.ActionPreference", aliases=("ea",)),
          Param("Verbose", "switch", aliases=("vb",)), Param("Debug", "switch", aliases=("db",)),
          Param("WarningAction", "System.Management.Automation.ActionPreference", aliases=("wa",))]

CMDLETS: dict = {}


def register(cmdlet: Cmdlet) -> Cmdlet:
    for name in (cmdlet.name, *cmdlet.aliases):
        CMDLETS[name.lower()] = cmdlet
    return cmdlet


@dataclass
class Call:
    """One invocation: the session, the bound parameters (by their declared names), the pipeline input."""

    session: object
    cmdlet: Cmdlet
    bound: dict
    input: list | None
    line: int
    column: int = 1
    output: list = field(default_factory=list)

    @property
    def ctx(self):
        return self.session.ctx

    def get(self, name: str, default=None):
        return self.bound.get(name, default)

    def error_action(self) -> str | None:
        value = self.bound.get("ErrorAction")
        return value.name if isinstance(value, v.EnumValue) else None

    def write_error(self, exception: DotNetError, fqid: str, category: str, target=None) -> None:
        """A non-terminating error of this cmdlet, handled by -ErrorAction or $ErrorActionPreference."""
        record = self.session.record_for(exception, "%s,%s" % (fqid, self.cmdlet.class_name), category, self.line,
                                         self.column, target, self.cmdlet.name)
        self.session.write_error(record, self.error_action())

    def terminate(self, exception: DotNetError, fqid: str, category: str, target=None) -> TerminatingError:
        record = self.session.record_for(exception, "%s,%s" % (fqid, self.cmdlet.class_name), category, self.line,
                                         self.column, target, self.cmdlet.name)
        return TerminatingError(record, statement=True)


def invoke(session, name: str, node, pipeline_input) -> list:
    cmdlet = CMDLETS.get(name.lower())
    line = syntax.line(node)
    if cmdlet is None:
        raise Unsupported("the command %s" % name, line)
    bound = bind(session, cmdlet, node, pipeline_input is not None)
    call = Call(session, cmdlet, bound, pipeline_input, line, syntax.column(node))
    try:
        result = cmdlet.run(call)
    except DotNetError as exc:  # a cmdlet's own terminating error
        raise call.terminate(exc, exc.FQID or exc.TYPE.rsplit(".", 1)[-1], exc.CATEGORY) from None
    return list(result or [])


def _arguments(session, node) -> list:
    """The command's elements in order: ``("param", name, colon)`` and ``("value", value)``."""
    elements = syntax.child_of_type(node, "command_elements")
    out = []
    for el in (syntax.named(elements) if elements is not None else []):
        if el.type == "command_argument_sep":
            continue
        if el.type == "command_parameter":
            text = syntax.text(el)
            out.append(("param", text[1:].rstrip(":"), text.endswith(":")))
            continue
        if el.type == "generic_token" and syntax.text(el).startswith(","):
            raise Unsupported("a bare-word list (write 'a', 'b' instead)", syntax.line(el))
        out.append(("value", syntax.text(el) if el.type == "generic_token" else session.expression(el)))
    return out


def _resolve(cmdlet: Cmdlet, name: str, session, line: int) -> Param:
    params = cmdlet.params + COMMON
    exact = [p for p in params if name.lower() in (p.name.lower(), *(a.lower() for a in p.aliases))]
    found = exact or [p for p in params if p.name.lower().startswith(name.lower())]
    if len(found) == 1:
        return found[0]
    if not found:
        raise _binding_error(session, cmdlet, "A parameter cannot be found that matches parameter name '%s'." % name,
                             "NamedParameterNotFound", line)
    raise _binding_error(session, cmdlet, "Parameter cannot be processed because the parameter name '%s' is ambiguous. "
                         "Possible matches include: %s." % (name, " ".join("-" + p.name for p in found)),
                         "AmbiguousParameter", line)


def _binding_error(session, cmdlet, message: str, fqid: str, line: int) -> TerminatingError:
    exc = dotnet_error("System.Management.Automation.ParameterBindingException", message)
    return TerminatingError(session.record_for(exc, "%s,%s" % (fqid, cmdlet.class_name), "InvalidArgument", line,
                                               command=cmdlet.name), statement=True)


def bind(session, cmdlet: Cmdlet, node, has_input: bool) -> dict:
    line = syntax.line(node)
    bound, positional = {}, []
    elements = _arguments(session, node)
    i = 0
    while i < len(elements):
        element = elements[i]
        i += 1
        if element[0] == "value":
            positional.append(element[1])
            continue
        param = _resolve(cmdlet, element[1], session, line)
        takes_value = element[2] or param.type != "switch"
        if takes_value and i < len(elements) and elements[i][0] == "value":
            bound[param.name] = elements[i][1]
            i += 1
        elif takes_value and param.type != "switch":
            raise _binding_error(session, cmdlet, "Missing an argument for parameter '%s'. Specify a parameter of "
                                 "type '%s' and try again." % (param.name, param.type), "MissingArgument", line)
        else:
            bound[param.name] = True
    for param in sorted((p for p in cmdlet.params if p.position is not None), key=lambda p: p.position):
        if not positional:
            break
        if param.name not in bound:
            bound[param.name] = positional.pop(0)
    if positional:
        raise _binding_error(session, cmdlet, "A positional parameter cannot be found that accepts argument '%s'."
                             % v.to_string(positional[0]), "PositionalParameterNotFound", line)
    params = {p.name: p for p in cmdlet.params + COMMON}
    for name, value in list(bound.items()):
        bound[name] = _convert(session, cmdlet, params[name], value, line)
    missing = [p.name for p in cmdlet.params if p.mandatory and p.name not in bound and not (p.pipeline and has_input)]
    if missing:
        raise _binding_error(session, cmdlet, "Cannot process command because of one or more missing mandatory "
                             "parameters: %s." % " ".join(missing), "MissingMandatoryParameter", line)
    return bound


def _convert(session, cmdlet, param: Param, value, line: int):
    if param.type == "switch":
        return v.to_bool(value)
    if param.type == "scriptblock":
        if type(value).__name__ != "ScriptBlock":
            raise _binding_error(session, cmdlet, "Cannot bind parameter '%s'. Cannot convert the \"%s\" value of "
                                 "type \"%s\" to type \"System.Management.Automation.ScriptBlock\"."
                                 % (param.name, v.to_string(value), v.type_name(value)), "CannotConvertArgument", line)
        return value
    try:
        return types.lookup(param.type, line).convert(value)
    except DotNetError as exc:
        raise _binding_error(session, cmdlet, "Cannot bind parameter '%s'. %s" % (param.name, exc.message),
                             "CannotConvertArgumentNoMessage", line) from None


# ---------------------------------------------------------------------------
# The engine's own cmdlets
# ---------------------------------------------------------------------------
def _foreach_object(call: Call) -> list:
    """ForEach-Object: runs the script block for each input object with ``$_`` set, in the caller's scope; a
    string (``ForEach-Object Name``) takes that member of each object (about_Foreach; ForEach-Object docs)."""
    process = call.get("Process")
    out = []
    for item in call.input or []:
        if isinstance(process, str):
            member = call.session.get_member(item, process, call.line)
            out += v.enumerate_value(member) if v.is_collection(member) else ([] if member is None else [member])
            continue
        out += call.session.run_script_block(process, item, call.line)
    return out


def _where_object(call: Call) -> list:
    block = call.get("FilterScript")
    return [item for item in call.input or []
            if v.to_bool(_collect(call.session.run_script_block(block, item, call.line)))]


def _collect(items):
    from tests.lab.pwsh.interpreter import collect

    return collect(items)


def _sort_object(call: Call) -> list:
    """Sort-Object without -Property: by each object's value, case-insensitively for strings (its default)."""
    from tests.lab.pwsh import operators

    items = list(call.input or [])
    if call.get("Property") is not None:
        raise Unsupported("Sort-Object -Property", call.line)
    import functools

    ordered = sorted(items, key=functools.cmp_to_key(operators.compare))
    if call.get("Descending"):
        ordered.reverse()
    if call.get("Unique"):
        unique = []
        for item in ordered:
            if not any(operators.equals(item, u) for u in unique):
                unique.append(item)
        ordered = unique
    return ordered


def _out_null(call: Call) -> list:
    return []


def _write_output(call: Call) -> list:
    value = call.get("InputObject")
    return list(call.input or []) if value is None else (v.enumerate_value(value) if v.is_collection(value)
                                                         else [value])


def _write_error(call: Call) -> list:
    """Write-Error: a non-terminating error (a ``WriteErrorException``)."""
    message = v.to_string(call.get("Message"))
    exc = dotnet_error("Microsoft.PowerShell.Commands.WriteErrorException", message)
    call.write_error(exc, "Microsoft.PowerShell.Commands.WriteErrorException", "NotSpecified")
    return []


def _new_object(call: Call) -> list:
    """New-Object -TypeName T [-ArgumentList ...]: the type table's constructor; New-Object -ComObject ProgID: the
    COM objects of ``surface/network.py`` (the Windows Firewall's HNetCfg.FwPolicy2)."""
    if call.get("ComObject") is not None:
        from tests.lab.pwsh.surface import network

        return [network.com_object(call.ctx, v.to_string(call.get("ComObject")), call.line)]
    if call.get("TypeName") is None:
        raise Unsupported("New-Object without -TypeName or -ComObject", call.line)
    info = types.lookup(v.to_string(call.get("TypeName")), call.line)
    if info.new is None:
        raise Unsupported("New-Object -TypeName %s" % info.full_name, call.line)
    args = call.get("ArgumentList")
    args = [] if args is None else (v.enumerate_value(args) if v.is_collection(args) else [args])
    try:
        return [info.new(call.ctx, *args)]
    except DotNetError as exc:
        wrapper = dotnet_error("System.Management.Automation.MethodInvocationException",
                               'Exception calling ".ctor" with "%d" argument(s): "%s"' % (len(args), exc.message), exc)
        raise call.terminate(wrapper, "ConstructorInvokedThrowException", "InvalidOperation") from None


register(Cmdlet("ForEach-Object", [Param("Process", "System.Object", position=0, mandatory=True),
                                   Param("InputObject", pipeline=True)], _foreach_object,
                "Microsoft.PowerShell.Commands.ForEachObjectCommand", aliases=("foreach", "%")))
register(Cmdlet("Where-Object", [Param("FilterScript", "scriptblock", position=0, mandatory=True),
                                 Param("InputObject", pipeline=True)], _where_object,
                "Microsoft.PowerShell.Commands.WhereObjectCommand", aliases=("where", "?")))
register(Cmdlet("Sort-Object", [Param("Property", position=0), Param("Descending", "switch"),
                                Param("Unique", "switch"), Param("InputObject", pipeline=True)], _sort_object,
                "Microsoft.PowerShell.Commands.SortObjectCommand", aliases=("sort",)))
register(Cmdlet("Out-Null", [Param("InputObject", pipeline=True)], _out_null, "Microsoft.PowerShell.Commands.OutNullCommand"))
register(Cmdlet("Write-Output", [Param("InputObject", position=0, pipeline=True)], _write_output,
                "Microsoft.PowerShell.Commands.WriteOutputCommand", aliases=("echo",)))
register(Cmdlet("Write-Error", [Param("Message", "System.String", position=0, mandatory=True)], _write_error,
                "Microsoft.PowerShell.Commands.WriteErrorCommand"))


def _start_sleep(call: Call) -> list:
    """Start-Sleep [-Seconds] <int> | -Milliseconds <int> (Windows PowerShell 5.1,
    https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/start-sleep?view=powershell-5.1).
    The lab does not sleep: it adds the time to the script's clock (``HostContext.now``), which is what a wait
    changes for the host state a script reads."""
    seconds = call.get("Seconds")
    millis = call.get("Milliseconds")
    call.ctx.slept += float(int(v.to_integer(seconds, v.Int32)) if seconds is not None else 0)
    call.ctx.slept += float(int(v.to_integer(millis, v.Int32)) if millis is not None else 0) / 1000.0
    return []


register(Cmdlet("Start-Sleep", [Param("Seconds", "System.Int32", position=0, aliases=("s",)),
                                Param("Milliseconds", "System.Int32", aliases=("ms",))], _start_sleep,
                "Microsoft.PowerShell.Commands.StartSleepCommand", aliases=("sleep",)))
register(Cmdlet("New-Object", [Param("TypeName", "System.String", position=0), Param("ComObject", "System.String"),
                               Param("ArgumentList", position=1, aliases=("args",))], _new_object,
                "Microsoft.PowerShell.Commands.NewObjectCommand"))

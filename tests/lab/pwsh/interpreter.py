# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Execute a parsed script with Windows PowerShell 5.1's semantics: statements, expressions, variables, errors.

TEST ONLY. The rules, each from its documentation (about_* topics at
https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/<topic>?view=powershell-5.1, and the
PowerShell Language Specification 3.0):

* **Variables** (about_Variables, about_Scopes): names ignore case (``$Service`` and ``$service`` are one
  variable); a variable lives in the scope that first assigned it; the script has its own scope under the
  runspace's global scope (where win_powershell put ``$Ansible`` and ``$ErrorActionPreference``); a script block
  run by ``ForEach-Object``/``Where-Object`` runs in the caller's scope (it is dot-sourced).
* **Type constraints** (about_Variables "type-constrained variables", about_Functions_Advanced_Parameters,
  specification 5.3): a parameter or variable declared with a type converts every later assignment to that
  type, so assigning a ``ServiceController`` to a ``[string[]]`` variable stores ``@('System.ServiceProcess.
  ServiceController')``; a conversion that fails is a statement-terminating error and the variable keeps its
  value.
* **Errors** (about_Try_Catch_Finally, about_Throw, about_Preference_Variables, see ``errors.py``): a
  statement-terminating error outside ``try`` is written to the error stream and the script goes on with the
  next statement (an assignment that failed leaves its variable unchanged); under ``$ErrorActionPreference =
  'Stop'`` it ends the script; inside ``try`` the nearest ``catch`` whose type matches the exception (or, for a
  wrapped .NET exception, its ``InnerException``) handles it with ``$_`` the error record; ``finally`` always
  runs.
* **Pipelines and output** (about_Pipelines, about_Assignment_Operators, specification 7.11): a statement's
  output is unrolled one level (an array sends its elements); assigning a command's output stores ``$null`` for
  no output, the object for one, an ``Object[]`` for more; assigning an expression stores its value as is;
  ``@(...)`` always makes an array (about_Arrays); ``$null = ...`` and ``[void]`` discard.
* **Members** (about_Properties, about_Methods, about_Hash_Tables, about_Arrays "member enumeration"): ``.Name``
  on ``$null`` is ``$null``, a method call on ``$null`` is the error "You cannot call a method on a null-valued
  expression."; on a collection ``.Name`` collects each element's ``Name``; a dictionary key shadows a property
  of the same name (``$h.Keys`` is the key ``Keys`` when there is one); ``.Count`` works on any object.
* **Control flow** (about_If, about_Foreach, about_While, about_Break, about_Continue): ``foreach`` over ``$null``
  does not loop; over a dictionary it loops once; ``break``/``continue`` act on the innermost loop.
* **Strings** (about_Quoting_Rules, about_Special_Characters): single quotes are verbatim (``''`` is a quote);
  double quotes expand ``$name``, ``${name}`` and ``$(...)`` (an array joined with spaces) and the backtick
  escapes (```n``, ```t``, ```0``, ...); ``$name.Property`` inside quotes expands only ``$name``.

Anything else (functions, ``switch``, ``for``, ``trap``, ``&``, a type or member the surface does not hold) is
refused with :class:`..errors.Unsupported`: "unsupported in the lab: <construct> at line N".
"""

from __future__ import annotations

import re

from tests.lab.pwsh import operators as ops
from tests.lab.pwsh import syntax
from tests.lab.pwsh import values as v
from tests.lab.pwsh.errors import (
    DotNetError,
    ErrorRecord,
    FlowSignal,
    TerminatingError,
    Unsupported,
    dotnet_error,
)
from tests.lab.pwsh.surface import cmdlets as cmdlet_table
from tests.lab.pwsh.surface import types

PREFERENCES = {"silentlycontinue": "SilentlyContinue", "stop": "Stop", "continue": "Continue", "ignore": "Ignore",
               "inquire": "Inquire", "suspend": "Suspend"}
ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
VOID = object()  # what a method without a return value returns: no output at all


class Variable:
    def __init__(self, name: str, value=None, constraint=None, constant: bool = False):
        self.name, self.value, self.constraint, self.constant = name, value, constraint, constant


class Scope:
    def __init__(self, parent=None):
        self.parent = parent
        self.vars: dict = {}

    def find(self, name: str):
        scope = self
        while scope is not None:
            found = scope.vars.get(name.lower())
            if found is not None:
                return found
            scope = scope.parent
        return None


class ScriptBlock(v.DotNetObject):
    """``{ ... }``: run by a cmdlet (``ForEach-Object``) in the caller's scope."""

    TYPE = "System.Management.Automation.ScriptBlock"

    def __init__(self, node, session):
        self.node, self.session = node, session

    def m_ToString(self, *args):
        return syntax.text(self.node)[1:-1]


class Session:
    """One run of one script on one lab host. ``ctx`` is the surface's host context (``surface.HostContext``)."""

    def __init__(self, source: str, ctx, error_action: str = "Continue"):
        self.source = source
        self.lines = source.splitlines()
        self.ctx = ctx
        types.TypeInfo.ctx = ctx
        self.global_scope = Scope()
        self.scope = Scope(self.global_scope)  # the script's scope
        self.errors: list = []  # the error stream (win_powershell's ``error``)
        self.error_variable: list = []  # $Error, newest first
        self.try_depth = 0
        self.commands = True  # False in a runspace from an empty InitialSessionState: no command exists there
        for name, value in (("true", True), ("false", False), ("null", None)):
            self.global_scope.vars[name] = Variable(name, value, constant=True)
        self.global_scope.vars["erroractionpreference"] = Variable(
            "ErrorActionPreference", types.ACTION_PREFERENCE.convert(error_action))
        self.global_scope.vars["ofs"] = Variable("OFS", " ")
        self.global_scope.vars["error"] = Variable("Error", v.PSArray())

    # -- variables -------------------------------------------------------------------
    def get_variable(self, name: str, line: int = 0):
        scope_name, bare = _split_scope(name, line)
        if scope_name == "env":
            raise Unsupported("the environment variable $env:%s" % bare, line)
        if bare.lower() == "error":
            return v.PSArray(self.error_variable)
        found = self._scope_for(scope_name).find(bare) if scope_name else self.scope.find(bare)
        return None if found is None else found.value

    def set_variable(self, name: str, value, line: int = 0, constraint=None) -> None:
        """Assign in the current scope; an existing variable of this scope keeps its type constraint
        (about_Variables); a new one gets ``constraint`` (``[T]$x = ...``)."""
        scope_name, bare = _split_scope(name, line)
        if scope_name == "env":
            raise Unsupported("the environment variable $env:%s" % bare, line)
        scope = self._scope_for(scope_name) if scope_name else self.scope
        low = bare.lower()
        if low == "null":
            return
        if low in ("true", "false"):
            raise self.runtime_error("Cannot overwrite variable %s because it is read-only or constant." % bare,
                                     "VariableNotWritable", "WriteError", line)
        var = scope.vars.get(low)
        if var is None:
            var = scope.vars[low] = Variable(bare)
        if constraint is not None:
            var.constraint = constraint
        if var.constraint is not None:
            value = self.convert(var.constraint, value, line)
        var.value = value

    def _scope_for(self, scope_name: str) -> Scope:
        return {"global": self.global_scope, "script": self.script_scope(), "local": self.scope}[scope_name]

    def script_scope(self) -> Scope:
        scope = self.scope
        while scope.parent is not self.global_scope:
            scope = scope.parent
        return scope

    def preference(self) -> str:
        value = self.get_variable("ErrorActionPreference")
        return PREFERENCES.get(v.to_string(value).lower(), "Continue")

    # -- errors ----------------------------------------------------------------------
    def record_for(self, exc: DotNetError, fqid: str, category: str, line: int, column: int = 1, target=None,
                   command: str = "") -> ErrorRecord:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return ErrorRecord(exc, fqid, category, target, line, column, text, command)

    def runtime_error(self, message: str, fqid: str, category: str, line: int, column: int = 1,
                      type_name: str = "System.Management.Automation.RuntimeException") -> TerminatingError:
        return TerminatingError(self.record_for(dotnet_error(type_name, message), fqid, category, line, column),
                                statement=True)

    def write_error(self, record: ErrorRecord, action: str | None = None) -> None:
        """A non-terminating error (about_CommonParameters -ErrorAction, about_Preference_Variables)."""
        action = action or self.preference()
        if action == "Stop":
            raise TerminatingError(record, statement=False)
        if action == "Ignore":
            return
        self.error_variable.insert(0, record)
        if action in ("Continue", "Inquire"):
            self.errors.append(record)

    def convert(self, type_info, value, line: int):
        try:
            return type_info.convert(value)
        except DotNetError as exc:
            raise TerminatingError(self.record_for(exc, "RuntimeException", "InvalidArgument", line),
                                   statement=True) from None
        except OverflowError as exc:
            raise self.runtime_error(str(exc), "RuntimeException", "InvalidArgument", line) from None

    # -- statements ------------------------------------------------------------------
    def run_block(self, node) -> list:
        """A statement_list / statement_block / program: the output of every statement."""
        out = []
        for child in syntax.named(node):
            if child.type in ("statement_list", "statement_block", "script_block_body", "script_block"):
                out += self.run_block(child)
            elif child.type in ("param_block", "empty_statement"):
                continue
            else:
                out += self.statement(child)
        return out

    def statement(self, node) -> list:
        try:
            return self._statement(node)
        except TerminatingError as exc:
            if not exc.statement or self.try_depth > 0:
                raise
            action = self.preference()
            if action == "Stop":
                raise TerminatingError(exc.record, statement=False) from None
            self.write_error(exc.record, action)
            return []

    def _statement(self, node) -> list:
        kind = node.type
        if kind == "pipeline":
            return self.pipeline_output(node)
        handler = {
            "if_statement": self.if_statement, "foreach_statement": self.foreach_statement,
            "while_statement": self.while_statement, "try_statement": self.try_statement,
            "flow_control_statement": self.flow_control,
        }.get(kind)
        if handler is None:
            raise Unsupported(kind.replace("_", " "), syntax.line(node))
        return handler(node)

    def if_statement(self, node) -> list:
        condition = syntax.child_of_type(node, "pipeline")
        if v.to_bool(self.pipeline_value(condition)):
            return self.run_block(syntax.child_of_type(node, "statement_block"))
        clauses = syntax.child_of_type(node, "elseif_clauses")
        for clause in (syntax.named(clauses) if clauses is not None else []):
            if v.to_bool(self.pipeline_value(syntax.child_of_type(clause, "pipeline"))):
                return self.run_block(syntax.child_of_type(clause, "statement_block"))
        otherwise = syntax.child_of_type(node, "else_clause")
        if otherwise is not None:
            return self.run_block(syntax.child_of_type(otherwise, "statement_block"))
        return []

    def foreach_statement(self, node) -> list:
        if syntax.child_of_type(node, "foreach_parameter") is not None:
            raise Unsupported("foreach -parallel", syntax.line(node))
        variable = syntax.child_of_type(node, "variable")
        source = self.pipeline_value(syntax.child_of_type(node, "pipeline"))
        items = v.enumerate_value(source) if v.is_collection(source) else ([] if source is None else [source])
        body = syntax.child_of_type(node, "statement_block")
        out = []
        for item in items:
            self.set_variable(_variable_name(variable), item, syntax.line(variable))
            try:
                out += self.run_block(body)
            except FlowSignal as signal:
                if signal.kind == "break":
                    break
                if signal.kind == "continue":
                    continue
                raise
        return out

    def while_statement(self, node) -> list:
        condition = syntax.child_of_type(syntax.child_of_type(node, "while_condition"), "pipeline")
        body = syntax.child_of_type(node, "statement_block")
        out = []
        for _turn in range(100000):
            if not v.to_bool(self.pipeline_value(condition)):
                return out
            try:
                out += self.run_block(body)
            except FlowSignal as signal:
                if signal.kind == "break":
                    return out
                if signal.kind != "continue":
                    raise
        raise Unsupported("a while loop that runs more than 100000 times", syntax.line(node))

    def try_statement(self, node) -> list:
        body = syntax.child_of_type(node, "statement_block")
        catches = syntax.child_of_type(node, "catch_clauses")
        final = syntax.child_of_type(node, "finally_clause")
        out = []
        try:
            self.try_depth += 1
            try:
                out += self.run_block(body)
            finally:
                self.try_depth -= 1
        except TerminatingError as exc:
            clause = self._matching_catch(catches, exc.record)
            if clause is None:
                if final is not None:
                    self.run_block(syntax.child_of_type(final, "statement_block"))
                raise
            self.error_variable.insert(0, exc.record)
            saved = self.scope.vars.get("_")
            self.scope.vars["_"] = Variable("_", exc.record)
            try:
                out += self.run_block(syntax.child_of_type(clause, "statement_block"))
            finally:
                if saved is None:
                    self.scope.vars.pop("_", None)
                else:
                    self.scope.vars["_"] = saved
                if final is not None:
                    out += self.run_block(syntax.child_of_type(final, "statement_block"))
            return out
        except FlowSignal:
            if final is not None:
                self.run_block(syntax.child_of_type(final, "statement_block"))
            raise
        if final is not None:
            out += self.run_block(syntax.child_of_type(final, "statement_block"))
        return out

    def _matching_catch(self, catches, record: ErrorRecord):
        """about_Try_Catch_Finally: the first catch whose type is the exception's type or a base of it; PowerShell
        also tries the InnerException of a wrapped .NET exception (``catch [IO.IOException]`` catches a failed
        ``[IO.File]::Open``); a catch without a type catches everything."""
        if catches is None:
            return None
        chain, error = [], record.exception
        while error is not None:
            chain.append({n.lower() for n in error.type_names()})
            error = error.inner
        for clause in syntax.named(catches):
            type_list = syntax.child_of_type(clause, "catch_type_list")
            if type_list is None:
                return clause
            wanted = [types.lookup(_type_literal_name(t), syntax.line(t)).full_name.lower()
                      for t in syntax.named(type_list)]
            if any(w in names for names in chain for w in wanted):
                return clause
        return None

    def flow_control(self, node) -> list:
        keyword = node.children[0].type
        argument = syntax.child_of_type(node, "pipeline")
        line = syntax.line(node)
        if keyword in ("break", "continue"):
            if argument is not None or syntax.child_of_type(node, "label_expression") is not None:
                raise Unsupported("a labelled %s" % keyword, line)
            raise FlowSignal(keyword)
        if keyword == "return":
            raise FlowSignal("return", self.pipeline_output(argument) if argument is not None else [])
        if keyword == "throw":
            if self.preference() in ("SilentlyContinue", "Ignore"):
                raise Unsupported("throw under $ErrorActionPreference %s (Windows PowerShell then goes on)"
                                  % self.preference(), line)
            value = self.pipeline_value(argument) if argument is not None else self.get_variable("_")
            if isinstance(value, ErrorRecord):
                raise TerminatingError(value, statement=False)
            if isinstance(value, types.ExceptionObject):
                record = self.record_for(value.error, value.error.TYPE.rsplit(".", 1)[-1], "OperationStopped", line)
                raise TerminatingError(record, statement=False)
            message = v.to_string(value) if value is not None else "ScriptHalted"
            record = self.record_for(dotnet_error("System.Management.Automation.RuntimeException", message),
                                     message, "OperationStopped", line, target=value)
            raise TerminatingError(record, statement=False)
        raise Unsupported(keyword, line)

    # -- pipelines -------------------------------------------------------------------
    def pipeline_output(self, node) -> list:
        """What a pipeline writes (its statement output, unrolled one level)."""
        node = syntax.unwrap(node)
        if node.type == "pipeline" and syntax.named(node) and syntax.named(node)[0].type == "assignment_expression":
            self.assignment(syntax.named(node)[0])
            return []
        if node.type == "assignment_expression":
            self.assignment(node)
            return []
        if node.type in ("pipeline", "pipeline_chain", "command"):
            parts = self._pipeline_parts(node)
            if len(parts) > 1 or parts[0].type == "command":
                return self.run_commands(parts)
            node = parts[0]
        value = self.expression(node)
        if value is VOID:
            return []
        return v.enumerate_value(value) if v.is_collection(value) else [value]

    def pipeline_value(self, node):
        """The value of a pipeline used as an expression (a condition, the right side of ``=``): an expression's
        value as is; a command's output collected ($null, the object, or Object[])."""
        node = syntax.unwrap(node)
        if node.type in ("pipeline", "pipeline_chain", "command"):
            parts = self._pipeline_parts(node)
            if len(parts) == 1 and parts[0].type == "assignment_expression":
                return self.assignment(parts[0])
            if len(parts) > 1 or parts[0].type == "command":
                return collect(self.run_commands(parts))
            node = parts[0]
        if node.type == "assignment_expression":
            return self.assignment(node)
        value = self.expression(node)
        return None if value is VOID else value

    def _pipeline_parts(self, node) -> list:
        if node.type == "command":
            return [node]
        kids = syntax.named(node)
        if any(k.type == "pipeline_chain_tail" for k in kids):
            raise Unsupported("&& and || (PowerShell 7 pipeline chains)", syntax.line(node))
        if len(kids) == 1:
            inner = syntax.unwrap(kids[0])
            if inner.type in ("pipeline", "pipeline_chain", "command"):
                return self._pipeline_parts(inner)
            return [inner]
        return [syntax.unwrap(k) for k in kids]

    def run_commands(self, parts: list) -> list:
        first, rest = parts[0], parts[1:]
        if first.type == "command":
            items = self.command(first, None)
        else:
            value = self.expression(first)
            items = [] if value is VOID else (v.enumerate_value(value) if v.is_collection(value) else [value])
        for part in rest:
            if part.type != "command":
                raise Unsupported("an expression after '|'", syntax.line(part))
            items = self.command(part, items)
        return items

    def command(self, node, pipeline_input) -> list:
        if syntax.child_of_type(node, "command_invokation_operator") is not None:
            raise Unsupported("the call operators & and .", syntax.line(node))
        if any(c.type in ("redirection", "redirections", "file_redirection_operator") for c in node.children):
            raise Unsupported("a redirection", syntax.line(node))
        name_node = syntax.child_of_type(node, "command_name")
        if name_node is None:
            raise Unsupported("this command form", syntax.line(node))
        name = syntax.text(name_node)
        if not self.commands:
            raise self.runtime_error(
                "The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable program. "
                "Check the spelling of the name, or if a path was included, verify that the path is correct and try "
                "again." % name, "CommandNotFoundException", "ObjectNotFound", syntax.line(node),
                type_name="System.Management.Automation.CommandNotFoundException")
        return cmdlet_table.invoke(self, name, node, pipeline_input)

    def invoke_delegate(self, block: ScriptBlock, args: list, line: int = 0):
        """A script block converted to a .NET delegate and called by .NET (a validation callback): it runs in a new
        scope under the scope running when .NET calls it (about_Scopes: a script block invoked gets its own scope;
        the PowerShell Language Specification 3.0, 6.15 "Conversion to delegate type"), its ``param()`` bound from
        the delegate's arguments by position, and the delegate returns its output as one value ($null, the object,
        or Object[]), which the delegate's return type then converts."""
        body = syntax.child_of_type(block.node, "script_block")
        saved = self.scope
        self.scope = Scope(saved)
        try:
            if body is None:
                return None
            if any(c.type in ("begin_block", "process_block", "end_block") for c in syntax.named(body)):
                raise Unsupported("a delegate script block with begin/process/end", line)
            # tree-sitter-powershell puts the param block under the expression or under its body (a line break
            # after "{" decides); it is the script block's own either way.
            params = syntax.child_of_type(block.node, "param_block") or syntax.child_of_type(body, "param_block")
            self._bind_positional(params, args)
            try:
                return collect(self.run_block(body))
            except FlowSignal as signal:
                if signal.kind != "return":
                    raise Unsupported("%s outside a loop in a delegate script block" % signal.kind, line) from None
                return collect(signal.value or [])
        finally:
            self.scope = saved

    def _bind_positional(self, block, args: list) -> None:
        """``param($a, [T]$b = default)`` of a script block, bound by position (about_Functions_Advanced_Parameters);
        a missing argument takes the default, else $null."""
        plist = syntax.child_of_type(block, "parameter_list") if block is not None else None
        for index, param in enumerate(syntax.named(plist) if plist is not None else []):
            name = syntax.text(syntax.child_of_type(param, "variable"))[1:]
            constraint = None
            attributes = syntax.child_of_type(param, "attribute_list")
            for attr in (syntax.named(attributes) if attributes is not None else []):
                literal = syntax.child_of_type(attr, "type_literal")
                if literal is None:
                    raise Unsupported("the parameter attribute %s" % syntax.text(attr), syntax.line(attr))
                constraint = types.lookup(_type_literal_name(literal), syntax.line(literal))
            if index < len(args):
                value = args[index]
            else:
                default = syntax.child_of_type(param, "script_parameter_default")
                value = self.pipeline_value(syntax.named(default)[0]) if default is not None else None
            self.set_variable(name, value, syntax.line(param), constraint=constraint)

    def run_script_block(self, block: ScriptBlock, dollar_under, line: int) -> list:
        """A cmdlet's script block (``ForEach-Object``): dot-sourced, with ``$_`` set."""
        saved = self.scope.vars.get("_")
        self.scope.vars["_"] = Variable("_", dollar_under)
        body = syntax.child_of_type(block.node, "script_block")
        try:
            if body is None:
                return []
            if syntax.child_of_type(body, "param_block") is not None or any(
                    c.type in ("begin_block", "process_block", "end_block") for c in syntax.named(body)):
                raise Unsupported("a script block with param/begin/process/end", line)
            return self.run_block(body)
        except FlowSignal as signal:
            raise Unsupported("%s inside a script block run by a cmdlet (Windows PowerShell then leaves the "
                              "enclosing loop or the script)" % signal.kind, line) from None
        finally:
            if saved is None:
                self.scope.vars.pop("_", None)
            else:
                self.scope.vars["_"] = saved

    # -- assignment ------------------------------------------------------------------
    def assignment(self, node):
        kids = syntax.named(node)
        target, operator, source = kids[0], syntax.text(kids[1]), kids[2]
        line = syntax.line(node)
        if operator not in ("=", "+="):
            raise Unsupported("the assignment operator %s" % operator, line)
        value = self.pipeline_value(source) if source.type == "pipeline" else self.expression(source)
        target = syntax.unwrap(target)
        if operator == "+=":
            value = ops.arithmetic("+", self.expression(target), value)
        self.assign_to(target, value, line)
        return value

    def assign_to(self, target, value, line: int) -> None:
        kind = target.type
        if kind == "variable":
            self.set_variable(_variable_name(target), value, line)
        elif kind == "cast_expression":
            type_node, inner = syntax.named(target)[0], syntax.unwrap(syntax.named(target)[1])
            if inner.type != "variable":
                raise Unsupported("a cast on the left of '='", line)
            info = types.lookup(_type_literal_name(type_node), line)
            self.set_variable(_variable_name(inner), value, line, constraint=info)
        elif kind == "member_access":
            obj = self.expression(syntax.named(target)[0])
            name = _member_name(target)
            self.set_member(obj, name, value, line)
        elif kind == "element_access":
            obj = self.expression(syntax.named(target)[0])
            index = self.expression(syntax.named(target)[1])
            self.set_element(obj, index, value, line)
        elif kind == "array_literal_expression":
            names = [syntax.unwrap(k) for k in syntax.named(target)]
            items = v.enumerate_value(value) if v.is_collection(value) else [value]
            for i, name_node in enumerate(names):
                if i == len(names) - 1:
                    rest = items[i:]
                    self.assign_to(name_node, rest[0] if len(rest) == 1 else (v.PSArray(rest) if rest else None),
                                   line)
                else:
                    self.assign_to(name_node, items[i] if i < len(items) else None, line)
        else:
            raise Unsupported("assignment to %s" % kind.replace("_", " "), line)

    def set_member(self, obj, name: str, value, line: int) -> None:
        if isinstance(obj, types.TypeInfo):
            setter = obj.static_setter(name)
            if setter is None:
                raise Unsupported("setting the static member [%s]::%s" % (obj.full_name, name), line)
            try:
                setter(self.ctx, value)
            except DotNetError as exc:
                raise self.method_error(exc, "set_" + name, 1, line) from None
            return
        if isinstance(obj, v.PSDict):
            obj[name] = value
        elif isinstance(obj, v.DotNetObject) and obj.can_set(name):
            try:
                obj.set_property(name, value)
            except DotNetError as exc:
                raise self.method_error(exc, "set_" + name, 1, line) from None
        elif obj is None:
            raise self.runtime_error("The property '%s' cannot be found on this object. Verify that the property "
                                     "exists and can be set." % name, "PropertyNotFound", "InvalidOperation", line)
        else:
            raise Unsupported("setting the property %s of [%s]" % (name, v.type_name(obj)), line)

    def set_element(self, obj, index, value, line: int) -> None:
        if isinstance(obj, v.PSDict):
            if index is None:
                raise self.runtime_error("Index operation failed; the array index evaluated to null.",
                                         "NullArrayIndex", "InvalidOperation", line)
            obj[index] = value
        elif isinstance(obj, list):
            i = int(v.to_integer(index, v.Int32))
            if not -len(obj) <= i < len(obj):
                raise self.runtime_error("Index was outside the bounds of the array.", "IndexOutOfRange",
                                         "InvalidOperation", line)
            obj[i] = value
        elif obj is None:
            raise self.runtime_error("Cannot index into a null array.", "NullArray", "InvalidOperation", line)
        else:
            raise Unsupported("assigning an element of [%s]" % v.type_name(obj), line)

    # -- expressions -----------------------------------------------------------------
    def expression(self, node):
        node = syntax.unwrap(node)
        handler = getattr(self, "x_" + node.type, None)
        if handler is None:
            raise Unsupported(node.type.replace("_", " "), syntax.line(node))
        return handler(node)

    def x_pipeline(self, node):
        return self.pipeline_value(node)

    def x_variable(self, node):
        name = _variable_name(node)
        return self.get_variable(name, syntax.line(node))

    def x_integer_literal(self, node):
        text = syntax.text(node).lower()
        if re.fullmatch(r"0x[0-9a-f]+", text):
            number = int(text, 16)
            if number <= 0xFFFFFFFF:  # a hexadecimal literal of 32 bits is an Int32 (0xFFFFFFFF is -1)
                return v.Int32.wrap(number)
            return v.Int64.wrap(number)
        if re.fullmatch(r"\d+", text):
            return v.integer(int(text))
        raise Unsupported("the number literal %s" % text, syntax.line(node))

    def x_real_literal(self, node):
        text = syntax.text(node)
        try:
            return float(text)
        except ValueError:
            raise Unsupported("the number literal %s" % text, syntax.line(node)) from None

    def x_string_literal(self, node):
        inner = node.children[0] if node.children else node
        kind = inner.type
        raw = syntax.text(inner)
        if kind == "verbatim_string_characters":
            return raw[1:-1].replace("''", "'")
        if kind == "verbatim_here_string_characters":
            return _here_body(raw)
        if kind in ("expandable_string_literal", "expandable_here_string_literal"):
            return self.expand(inner, here=kind == "expandable_here_string_literal")
        raise Unsupported(kind.replace("_", " "), syntax.line(node))

    def expand(self, node, here: bool) -> str:
        """about_Quoting_Rules: expand variables and sub-expressions, process backtick escapes."""
        source = node.text
        start = node.start_byte
        body_start = 3 if here else 1
        body_end = len(source) - (2 if here else 1)
        if here:  # the body starts after the first line break and ends before the last one
            body_start = source.index(b"\n") + 1
            body_end = source.rindex(b"\n")
            if body_end > 0 and source[body_end - 1:body_end] == b"\r":
                body_end -= 1
        out, pos = [], body_start
        for child in node.named_children:
            offset = child.start_byte - start
            if offset < pos:
                continue
            out.append(_unescape(source[pos:offset].decode("utf-8"), here))
            if child.type == "variable":
                out.append(v.to_string(self.x_variable(child), v.to_string(self.get_variable("OFS"))))
            elif child.type == "sub_expression":
                out.append(v.to_string(collect(self.run_block(child)), " "))
            else:
                raise Unsupported("%s in a string" % child.type, syntax.line(child))
            pos = child.end_byte - start
        out.append(_unescape(source[pos:body_end].decode("utf-8"), here))
        return "".join(out)

    def x_sub_expression(self, node):
        return collect(self.run_block(node))

    def x_array_expression(self, node):
        """``@(...)``: the output of the statements, always as an array (about_Arrays)."""
        return v.PSArray(self.run_block(node))

    def x_parenthesized_expression(self, node):
        return self.pipeline_value(syntax.named(node)[0])

    def x_array_literal_expression(self, node):
        return v.PSArray([self.expression(k) for k in syntax.named(node)])

    def x_hash_literal_expression(self, node):
        return self._hash_literal(node, "hashtable")

    def _hash_literal(self, node, kind: str):
        """about_Hash_Tables: ``@{ key = value; ... }``; a key is a name, a string or a number; a duplicate key
        is an error."""
        table = v.PSDict(kind)
        body = syntax.child_of_type(node, "hash_literal_body")
        for entry in (syntax.named(body) if body is not None else []):
            kids = syntax.named(entry)
            key_node = syntax.unwrap(kids[0])
            key = syntax.text(key_node) if key_node.type == "simple_name" else self.expression(key_node)
            if key in table:
                raise self.runtime_error("Duplicate keys '%s' are not allowed in hash literals." % key,
                                         "DuplicateKeyInHashLiteral", "ParserError", syntax.line(entry))
            table[key] = self.pipeline_value(kids[1]) if kids[1].type == "pipeline" else self.expression(kids[1])
        return table

    def x_script_block_expression(self, node):
        return ScriptBlock(node, self)

    def x_type_literal(self, node):
        return types.lookup(_type_literal_name(node), syntax.line(node))

    def x_cast_expression(self, node):
        type_node, operand = syntax.named(node)[0], syntax.unwrap(syntax.named(node)[1])
        name = _type_literal_name(type_node).lower()
        line = syntax.line(node)
        if name in ("ordered", "system.collections.specialized.ordereddictionary"):
            if operand.type != "hash_literal_expression":
                raise self.runtime_error("The ordered attribute can be specified only on a hash literal node.",
                                         "OrderedAttributeOnlyOnHashLiteralNode", "ParserError", line)
            return self._hash_literal(operand, "ordered")
        if name == "pscustomobject" and operand.type == "hash_literal_expression":
            table = self._hash_literal(operand, "ordered")
            return v.PSCustomObject(dict(table.items()))
        value = self.expression(operand)
        if name in ("void", "system.void"):
            return VOID
        if value is VOID:
            value = None
        return self.convert(types.lookup(_type_literal_name(type_node), line), value, line)

    def x_expression_with_unary_operator(self, node):
        kids = node.children
        op = kids[0].type if not kids[0].is_named else None
        line = syntax.line(node)
        if op is None:
            return self.expression(kids[0])
        operand = self.expression(kids[1])
        if op in ("-not", "!"):
            return not v.to_bool(operand)
        if op == "-":
            return ops.arithmetic("-", v.Int32(0), operand)
        if op == "+":
            return operand
        if op == ",":
            return v.PSArray([operand])
        if op == "-join":
            return ops.binary("join", operand, "")
        if op == "-split":
            return ops.binary("split", v.to_string(operand).strip(), r"\s+")
        raise Unsupported("the unary operator %s" % op, line)

    def _binary_chain(self, node):
        kids = node.children
        left = self.expression(kids[0])
        i = 1
        while i < len(kids):
            op_node, right_node = kids[i], kids[i + 1]
            op = syntax.text(op_node).strip()
            low = op.lower().lstrip("-")
            if low == "and" and not v.to_bool(left):
                left, i = False, i + 2
                continue
            if low == "or" and v.to_bool(left):
                left, i = True, i + 2
                continue
            right = self.expression(right_node)
            try:
                arithmetic = op in ("+", "-", "*", "/", "%")  # "-" is subtraction, not an operator name
                left = ops.binary(op if arithmetic or not op.startswith("-") else low, left, right, self)
            except KeyError:
                raise Unsupported("the operator %s" % op, syntax.line(op_node)) from None
            except DotNetError as exc:
                raise TerminatingError(self.record_for(exc, exc.TYPE.rsplit(".", 1)[-1], "InvalidOperation",
                                                       syntax.line(op_node)), statement=True) from None
            if low in ("and", "or", "xor"):
                left = v.to_bool(left)
            i += 2
        return left

    x_comparison_expression = _binary_chain
    x_logical_expression = _binary_chain
    x_bitwise_expression = _binary_chain
    x_additive_expression = _binary_chain
    x_multiplicative_expression = _binary_chain
    x_format_expression = _binary_chain
    # Method arguments use the same chain without the comma operator (argument_expression_list).
    x_logical_argument_expression = x_bitwise_argument_expression = x_comparison_argument_expression = _binary_chain
    x_additive_argument_expression = x_multiplicative_argument_expression = _binary_chain
    x_format_argument_expression = _binary_chain

    def x_range_argument_expression(self, node):
        return self.x_range_expression(node)

    def x_range_expression(self, node):
        kids = syntax.named(node)
        low = int(v.to_integer(self.expression(kids[0]), v.Int32))
        high = int(v.to_integer(self.expression(kids[1]), v.Int32))
        step = 1 if high >= low else -1
        return v.PSArray([v.Int32(i) for i in range(low, high + step, step)])

    # -- members ---------------------------------------------------------------------
    def x_member_access(self, node):
        kids = node.children
        line = syntax.line(node)
        name = _member_name(node)
        static = any(c.type == "::" for c in kids)
        target = syntax.unwrap(kids[0])
        if static:
            info = self.expression(target)
            getter = info.static_property(name) if isinstance(info, types.TypeInfo) else None
            if getter is None:
                raise Unsupported("the static member [%s]::%s" % (getattr(info, "full_name", "?"), name), line)
            return self._guard(lambda: getter(self.ctx), name, 0, line, getter=True)
        return self.get_member(self.expression(target), name, line)

    def get_member(self, obj, name: str, line: int):
        low = name.lower()
        if obj is None:
            return None
        if isinstance(obj, v.PSDict):
            if name in obj:
                return obj[name]
            if low in ("keys", "values"):
                return v.PSArray(obj.keys() if low == "keys" else obj.values())
            if low == "count":
                return v.Int32(len(obj))
            return None
        if isinstance(obj, list):
            if low in ("count", "length"):
                return v.Int32(len(obj))
            found = [self.get_member(item, name, line) for item in obj]  # member enumeration
            found = [f for f in found if f is not None]
            return collect(found)
        if isinstance(obj, str):
            if low == "length":
                return v.Int32(len(obj))
            if low == "count":
                return v.Int32(1)
            return None
        if isinstance(obj, ErrorRecord):
            props = {"exception": lambda: types.ExceptionObject(obj.exception), "targetobject": lambda: obj.target,
                     "fullyqualifiederrorid": lambda: obj.fqid, "errordetails": lambda: None,
                     "scriptstacktrace": lambda: "at <ScriptBlock>, <No file>: line %d" % obj.line}
            if low not in props:
                raise Unsupported("the property %s of an ErrorRecord" % name, line)
            return props[low]()
        if isinstance(obj, v.EnumValue):
            if low == "value__":
                return v.Int32(obj.value)
            return v.Int32(1) if low == "count" else None
        if isinstance(obj, v.DotNetObject):
            if obj.has_property(name):
                return self._guard(lambda: obj.get_property(name), name, 0, line, getter=True)
            if isinstance(obj, (v.PSCustomObject, ErrorRecord)) or low in ("count", "length"):
                return v.Int32(1) if low in ("count", "length") else None
            raise Unsupported("the property %s of [%s]" % (name, obj.type_name), line)
        if isinstance(obj, types.TypeInfo):
            if low == "fullname":
                return obj.full_name
            if low == "name":
                return obj.full_name.rsplit(".", 1)[-1]
            raise Unsupported("the property %s of a type" % name, line)
        return v.Int32(1) if low in ("count", "length") else None

    def x_invokation_expression(self, node):
        kids = node.children
        line = syntax.line(node)
        name = _member_name(node)
        static = any(c.type == "::" for c in kids)
        args_node = syntax.child_of_type(node, "argument_list")
        arg_list = syntax.child_of_type(args_node, "argument_expression_list") if args_node is not None else None
        target = syntax.unwrap(kids[0])
        obj = self.expression(target)
        args = [self.expression(a) for a in (syntax.named(arg_list) if arg_list is not None else [])]
        args = [None if a is VOID else a for a in args]
        if static:
            if not isinstance(obj, types.TypeInfo):
                raise Unsupported("a static call on a non-type", line)
            if name.lower() == "new" and obj.new is not None:
                return self._guard(lambda: obj.new(self.ctx, *args), ".ctor", len(args), line)
            fn = obj.static(name)
            if fn is None:
                raise Unsupported("the static method [%s]::%s" % (obj.full_name, name), line)
            return self._guard(lambda: fn(self.ctx, *args), name, len(args), line)
        return self.call_method(obj, name, args, line)

    def call_method(self, obj, name: str, args: list, line: int):
        low = name.lower()
        if obj is None:
            raise self.runtime_error("You cannot call a method on a null-valued expression.", "InvokeMethodOnNull",
                                     "InvalidOperation", line)
        if isinstance(obj, str):
            return self._guard(lambda: string_method(obj, low, args, line), name, len(args), line)
        if isinstance(obj, v.PSDict):
            return self._guard(lambda: dict_method(obj, low, args, line), name, len(args), line)
        if isinstance(obj, list):
            if low == "tostring":
                return v.type_name(obj) if isinstance(obj, v.PSArray) else "System.Object[]"
            if low == "contains" and len(args) == 1:
                return any(ops.equals(x, args[0], True) for x in obj)
            results = [self.call_method(item, name, args, line) for item in obj]  # member enumeration
            return collect([r for r in results if r is not VOID])
        if isinstance(obj, ErrorRecord):
            if low == "tostring":
                return obj.message
            raise Unsupported("the method %s of an ErrorRecord" % name, line)
        if isinstance(obj, v.EnumValue):
            if low == "tostring" and not args:
                return obj.name
            if low == "hasflag" and len(args) == 1:
                flag = types.lookup(obj.type_name).convert(args[0])
                return obj.value & flag.value == flag.value
            raise Unsupported("the method %s of an enum" % name, line)
        if isinstance(obj, (bool, int, float)):
            if low == "tostring":
                if args:
                    return ops.format_string("{0:%s}" % v.to_string(args[0]), [obj])
                return v.to_string(obj)
            if low == "equals" and len(args) == 1:
                return ops.equals(obj, args[0], True)
            raise Unsupported("the method %s of [%s]" % (name, v.type_name(obj)), line)
        if isinstance(obj, v.DotNetObject):
            if not obj.has_method(name):
                raise Unsupported("the method %s of [%s]" % (name, obj.type_name), line)
            return self._guard(lambda: obj.call_method(name, args), name, len(args), line)
        raise Unsupported("calling %s on [%s]" % (name, v.type_name(obj)), line)

    def _guard(self, call, name: str, count: int, line: int, getter: bool = False):
        """A .NET exception thrown by a member reaches the script as MethodInvocationException (or, from a
        property, GetValueInvocationException) with the original as InnerException (specification 7.1.3)."""
        try:
            result = call()
        except DotNetError as exc:
            raise self.method_error(exc, name, count, line, getter) from None
        except OverflowError as exc:
            raise self.runtime_error(str(exc), "RuntimeException", "InvalidOperation", line) from None
        return VOID if result is None and not getter else result

    def method_error(self, exc: DotNetError, name: str, count: int, line: int, getter: bool = False):
        if getter:
            wrapper = dotnet_error("System.Management.Automation.GetValueInvocationException",
                                   'Exception getting "%s": "%s"' % (name, exc.message), exc)
        elif exc.TYPE in ("System.Management.Automation.RuntimeException",
                          "System.Management.Automation.PSInvalidCastException"):
            wrapper = exc
        else:
            wrapper = dotnet_error("System.Management.Automation.MethodInvocationException",
                                   'Exception calling "%s" with "%d" argument(s): "%s"' % (name, count, exc.message),
                                   exc)
        fqid = exc.FQID or exc.TYPE.rsplit(".", 1)[-1]
        return TerminatingError(self.record_for(wrapper, fqid, "NotSpecified", line), statement=True)

    def x_element_access(self, node):
        kids = syntax.named(node)
        obj = self.expression(kids[0])
        index = self.expression(kids[1])
        line = syntax.line(node)
        if obj is None:
            raise self.runtime_error("Cannot index into a null array.", "NullArray", "InvalidOperation", line)
        if isinstance(obj, v.PSDict):
            return obj[index]
        if isinstance(obj, (list, str)):
            if v.is_collection(index):
                return v.PSArray([self._index(obj, i) for i in v.enumerate_value(index)])
            return self._index(obj, index)
        if isinstance(obj, v.DotNetObject) and obj.has_method("get_Item"):
            return self._guard(lambda: obj.call_method("get_Item", [index]), "get_Item", 1, line)
        raise Unsupported("indexing [%s]" % v.type_name(obj), line)

    @staticmethod
    def _index(obj, index):
        i = int(v.to_integer(index, v.Int32))
        if -len(obj) <= i < len(obj):
            return obj[i]
        return None


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def collect(items: list):
    """What ``$x = <command>`` stores: ``$null``, the one object, or an ``Object[]``."""
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    return v.PSArray(items)


def _split_scope(name: str, line: int):
    if ":" in name:
        scope, bare = name.split(":", 1)
        if scope.lower() in ("global", "script", "local", "env"):
            return scope.lower(), bare
        raise Unsupported("the variable $%s" % name, line)
    return None, name


def _variable_name(node) -> str:
    text = syntax.text(node)
    if text.startswith("${") and text.endswith("}"):
        return text[2:-1]
    if text.startswith("@"):
        raise Unsupported("splatting (%s)" % text, syntax.line(node))
    name = text[1:]
    if name.lower() == "psitem":
        return "_"
    return name


def _member_name(node) -> str:
    member = syntax.child_of_type(node, "member_name")
    if member is None or member.named_child_count and member.named_children[0].type != "simple_name":
        raise Unsupported("a computed member name", syntax.line(node))
    return syntax.text(member)


def _type_literal_name(node) -> str:
    spec = syntax.child_of_type(node, "type_spec") if node.type == "type_literal" else node
    return syntax.text(spec if spec is not None else node).strip("[]") if spec is None else syntax.text(spec)


def _here_body(raw: str) -> str:
    body = raw[raw.index("\n") + 1:raw.rindex("\n")]
    return body[:-1] if body.endswith("\r") else body


def _unescape(text: str, here: bool) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "`" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and i + 2 < len(text) and text[i + 2] == "{":
                raise Unsupported("the escape `u (a code point; PowerShell 6 and later)", 0)
            out.append(ESCAPES.get(nxt, nxt))
            i += 2
            continue
        if not here and ch == '"' and text[i + 1:i + 2] == '"':
            out.append('"')
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def string_method(s: str, name: str, args: list, line: int):
    """The ``System.String`` methods scripts commonly call."""
    texts = [v.to_string(a) for a in args]
    simple = {
        "tostring": lambda: s, "tolower": s.lower, "tolowerinvariant": s.lower,
        "toupper": s.upper, "toupperinvariant": s.upper,
        "trim": lambda: s.strip(texts[0]) if texts else s.strip(),
        "trimend": lambda: s.rstrip(texts[0]) if texts else s.rstrip(),
        "trimstart": lambda: s.lstrip(texts[0]) if texts else s.lstrip(),
        "replace": lambda: s.replace(texts[0], texts[1]),
        "startswith": lambda: s.startswith(texts[0]), "endswith": lambda: s.endswith(texts[0]),
        "contains": lambda: texts[0] in s, "indexof": lambda: v.Int32(s.find(texts[0])),
        "substring": lambda: s[int(args[0]):] if len(args) == 1 else s[int(args[0]):int(args[0]) + int(args[1])],
        "equals": lambda: s == texts[0], "split": lambda: v.string_array(_split_chars(s, texts)),
    }
    if name in simple:
        if name in ("replace",) and texts[0] == "":
            raise dotnet_error("System.ArgumentException", "String cannot be of zero length.\r\nParameter name: "
                                                           "oldValue")
        return simple[name]()
    raise Unsupported("the method %s of [System.String]" % name, line)


def _split_chars(s: str, separators: list) -> list:
    chars = "".join(separators) or " "
    return re.split("[%s]" % re.escape(chars), s)


def dict_method(d: v.PSDict, name: str, args: list, line: int):
    if name == "add":
        if args[0] in d:
            raise dotnet_error("System.ArgumentException", "Item has already been added. Key in dictionary: '%s'  "
                                                           "Key being added: '%s'" % (args[0], args[0]))
        d[args[0]] = args[1]
        return None
    if name in ("containskey", "contains"):
        return args[0] in d
    if name == "remove":
        if args[0] in d:
            key = next(k for k in d.keys() if (k.lower() if d.case_insensitive and isinstance(k, str) else k)
                       == (args[0].lower() if d.case_insensitive and isinstance(args[0], str) else args[0]))
            rest = [(k, val) for k, val in d.items() if k != key]
            d._data.clear()
            for k, val in rest:
                d[k] = val
        return None
    if name == "tostring":
        return d.type_name
    raise Unsupported("the method %s of [%s]" % (name, d.type_name), line)

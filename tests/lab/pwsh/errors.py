# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
""".NET exceptions, PowerShell error records, and the ways an error stops a script.

TEST ONLY. PowerShell has three kinds of errors (about_Try_Catch_Finally, about_Throw, about_CommonParameters,
https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_try_catch_finally?view=powershell-5.1):

* **non-terminating**: a cmdlet reports it (``Get-Service -Name nosuch``) and goes on. ``-ErrorAction`` or, without
  it, ``$ErrorActionPreference`` decides: ``Continue`` writes it to the error stream, ``SilentlyContinue`` only
  to ``$Error``, ``Ignore`` nowhere, ``Stop`` turns it into a terminating error (about_Preference_Variables,
  https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_preference_variables?view=powershell-5.1);
* **statement-terminating**: a .NET method throws, a conversion fails, a method is called on ``$null``. The
  statement stops (an assignment does not happen, so the variable keeps its old value) and, outside ``try``,
  the script goes on with the next statement, the error written like a non-terminating one (under ``Stop`` it
  ends the script);
* **script-terminating**: ``throw`` (about_Throw), and a non-terminating error under ``Stop``: the script ends
  unless a ``try`` catches it. win_powershell then sets ``failed`` and adds the error record to ``error``
  (win_powershell.ps1 lines 843-853).

Every error record carries the exception; a .NET exception thrown inside a method call reaches the script
wrapped in a ``MethodInvocationException`` ("Exception calling "Open" with "4" argument(s): "..."") whose
``InnerException`` is the original (the PowerShell Language Specification 3.0, 7.1.3 and 8.7).
"""

from __future__ import annotations


class DotNetError(Exception):
    """A .NET exception raised by the type table (or by the interpreter). ``TYPE`` and ``BASES`` are its class
    and base classes (for ``catch [T]`` and ``-is``); ``inner`` its ``InnerException``."""

    TYPE = "System.Exception"
    BASES: tuple = ()
    FQID = ""
    CATEGORY = "NotSpecified"
    HRESULT = -2146233088

    def __init__(self, message: str, inner: DotNetError | None = None, type_name: str | None = None,
                 bases: tuple | None = None, hresult: int | None = None):
        super().__init__(message)
        self.message = message
        self.inner = inner
        if type_name:
            self.TYPE = type_name
        if bases is not None:
            self.BASES = bases
        if hresult is not None:
            self.HRESULT = hresult

    def type_names(self) -> list:
        names = [self.TYPE, *self.BASES]
        if "System.Exception" not in names:
            names.append("System.Exception")
        return names + ["System.Object"]


def dotnet_error(type_name: str, message: str, inner=None) -> DotNetError:
    """A .NET exception of a known class (the base classes of each come from :data:`HIERARCHY`)."""
    bases = HIERARCHY.get(type_name, ("System.SystemException", "System.Exception"))
    return DotNetError(message, inner, type_name, bases)


HIERARCHY = {
    "System.IO.IOException": ("System.SystemException", "System.Exception"),
    "System.IO.FileNotFoundException": ("System.IO.IOException", "System.SystemException", "System.Exception"),
    "System.IO.DirectoryNotFoundException": ("System.IO.IOException", "System.SystemException", "System.Exception"),
    "System.UnauthorizedAccessException": ("System.SystemException", "System.Exception"),
    "System.Security.SecurityException": ("System.SystemException", "System.Exception"),
    "System.InvalidOperationException": ("System.SystemException", "System.Exception"),
    "System.FormatException": ("System.SystemException", "System.Exception"),
    "System.ArgumentException": ("System.SystemException", "System.Exception"),
    "System.ArgumentNullException": ("System.ArgumentException", "System.SystemException", "System.Exception"),
    "System.ObjectDisposedException": ("System.InvalidOperationException", "System.SystemException",
                                       "System.Exception"),
    "System.Reflection.TargetInvocationException": ("System.ApplicationException", "System.Exception"),
    "System.Management.Automation.RuntimeException": ("System.SystemException", "System.Exception"),
    "System.Management.Automation.MethodInvocationException": (
        "System.Management.Automation.MethodException", "System.Management.Automation.RuntimeException",
        "System.SystemException", "System.Exception"),
    "System.Management.Automation.GetValueInvocationException": (
        "System.Management.Automation.GetValueException", "System.Management.Automation.RuntimeException",
        "System.SystemException", "System.Exception"),
    "System.Management.Automation.ItemNotFoundException": (
        "System.Management.Automation.SessionStateException", "System.Management.Automation.RuntimeException",
        "System.SystemException", "System.Exception"),
    "System.Management.Automation.ParameterBindingException": (
        "System.Management.Automation.RuntimeException", "System.SystemException", "System.Exception"),
    "Microsoft.PowerShell.Commands.ServiceCommandException": ("System.SystemException", "System.Exception"),
    "Microsoft.PowerShell.Commands.ProcessCommandException": ("System.SystemException", "System.Exception"),
    "System.Management.Automation.ActionPreferenceStopException": (
        "System.Management.Automation.RuntimeException", "System.SystemException", "System.Exception"),
    "System.Management.Automation.CommandNotFoundException": (
        "System.Management.Automation.RuntimeException", "System.SystemException", "System.Exception"),
}


class ErrorRecord:
    """``System.Management.Automation.ErrorRecord``: what ``$_`` is in a ``catch`` block and what win_powershell
    turns into one ``error`` entry (win_powershell.ps1 lines 909-935)."""

    type_name = "System.Management.Automation.ErrorRecord"

    def type_names(self) -> list:
        return [self.type_name, "System.Object"]

    def __init__(self, exception: DotNetError, fqid: str, category: str = "NotSpecified", target=None,
                 line: int = 0, column: int = 0, line_text: str = "", command: str = "", activity: str = ""):
        self.exception = exception
        self.fqid = fqid
        self.category = category
        self.target = target
        self.line, self.column, self.line_text = line, column, line_text
        self.command = command
        self.activity = activity

    @property
    def message(self) -> str:
        return self.exception.message

    def output(self) -> str:
        """``$_ | Out-String`` in Windows PowerShell 5.1's NormalView."""
        where = ""
        if self.line:
            marker = " " * max(self.column - 1, 0) + "~" * max(1, len(self.line_text.strip()) and 1)
            where = "\nAt line:%d char:%d\n+ %s\n+ %s" % (self.line, self.column, self.line_text.rstrip(), marker)
        command = ("%s : " % self.command) if self.command else ""
        reason = self.exception.TYPE.rsplit(".", 1)[-1]
        target = "" if self.target is None else str(self.target)
        return ("%s%s%s\n    + CategoryInfo          : %s: (%s:%s) [%s], %s\n    + FullyQualifiedErrorId : %s\n \n"
                % (command, self.message, where, self.category, target, "String" if target else "",
                   self.activity or self.command, reason, self.fqid))


class TerminatingError(Exception):
    """An error that stops a statement (``statement=True``) or the script. Python-side control flow only."""

    def __init__(self, record: ErrorRecord, statement: bool):
        super().__init__(record.message)
        self.record = record
        self.statement = statement


class Unsupported(Exception):
    """The script uses something the lab does not emulate: ``unsupported in the lab: <construct> at line N``."""

    def __init__(self, construct: str, line: int):
        super().__init__("unsupported in the lab: %s at line %d" % (construct, line))
        self.construct, self.line = construct, line


class ScriptSyntaxError(Exception):
    """The script does not parse (win_powershell would fail it with a ParseException)."""


class FlowSignal(Exception):
    """``break``, ``continue`` and ``return`` (about_Break, about_Continue, about_Return)."""

    def __init__(self, kind: str, value=None):
        super().__init__(kind)
        self.kind, self.value = kind, value

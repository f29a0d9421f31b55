# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runspace pools: scripts run side by side in one process, each in its own runspace (TEST ONLY).

What a script may use, as the PowerShell SDK documents it
(https://learn.microsoft.com/dotnet/api/system.management.automation.runspaces.runspacepool and
https://learn.microsoft.com/dotnet/api/system.management.automation.powershell):

* ``[InitialSessionState]::Create()``: an empty session state: no commands, no providers, and the language mode
  ``NoLanguage`` (the class's field default in Windows PowerShell 5.1's System.Management.Automation; only
  ``CreateDefault``/``CreateDefault2`` set ``FullLanguage``), so a script runs only once ``LanguageMode`` is set to
  ``FullLanguage``; ``CreateDefault()``/``CreateDefault2()`` have the built-in commands;
* ``[RunspaceFactory]::CreateRunspacePool(iss)`` (one runspace) or ``(min, max)``; ``SetMaxRunspaces(n)``,
  ``Open()``, ``Close()`` (waits for the running pipelines), ``BeginClose(callback, state)``, ``Dispose()``;
* ``[PowerShell]::Create()``, ``.RunspacePool``, ``AddScript(text)`` (a script block converts to its text),
  ``AddParameter(name, value)``, ``AddArgument(value)`` (each returns the PowerShell object), ``BeginInvoke()``
  (an ``IAsyncResult``: ``AsyncWaitHandle.WaitOne(ms)``, ``IsCompleted``), ``EndInvoke(result)`` (the output; a
  script-terminating error rethrown), ``Invoke()``, ``Streams.Error``, ``HadErrors``, ``Stop()``, ``BeginStop()``,
  ``Dispose()``.

Each ``BeginInvoke`` runs the script text in a new :class:`..interpreter.Session` (a runspace of its own: no variable
of the caller, not even ``$Ansible``) on a Python thread, at most the pool's maximum at once; the threads share the
host context (the same process, so the same account), and what they wait for (sockets) runs side by side. A pool
from an empty session state refuses every command ("The term 'X' is not recognized ..."), as Windows PowerShell
does. Anything the lab does not emulate inside a runspace (``Unsupported``) is raised again by ``EndInvoke``, so
the test fails instead of the script going on.
"""

from __future__ import annotations

import threading

from tests.lab.pwsh import syntax
from tests.lab.pwsh import values as v
from tests.lab.pwsh.errors import (
    DotNetError,
    FlowSignal,
    ScriptSyntaxError,
    TerminatingError,
    Unsupported,
    dotnet_error,
)
from tests.lab.pwsh.surface import types

LANGUAGE_MODE = types.register("System.Management.Automation.PSLanguageMode", enum={
    "FullLanguage": 0, "RestrictedLanguage": 1, "NoLanguage": 2, "ConstrainedLanguage": 3})
NO_LANGUAGE = ("The syntax is not supported by this runspace. This can occur if the runspace is in no-language "
               "mode.")


class InitialSessionState(v.DotNetObject):
    TYPE = "System.Management.Automation.Runspaces.InitialSessionState"

    def __init__(self, commands: bool, language: str):
        self.commands = commands
        self.language = LANGUAGE_MODE.convert(language)

    def p_LanguageMode(self):
        return self.language

    def set_LanguageMode(self, value):
        self.language = LANGUAGE_MODE.convert(value)


class RunspacePool(v.DotNetObject):
    TYPE = "System.Management.Automation.Runspaces.RunspacePool"
    BASES = ("System.IDisposable",)

    def __init__(self, state: InitialSessionState, minimum: int = 1, maximum: int = 1):
        self.state = state
        self.minimum, self.maximum = int(minimum), int(maximum)
        self.opened = False
        self.closed = False
        self.slots = None
        self.running: list = []

    def m_SetMaxRunspaces(self, count):
        count = int(v.to_integer(count, v.Int32))
        if count < self.minimum or self.opened:
            return False
        self.maximum = count
        return True

    def m_SetMinRunspaces(self, count):
        count = int(v.to_integer(count, v.Int32))
        if count < 1 or count > self.maximum or self.opened:
            return False
        self.minimum = count
        return True

    def m_GetMaxRunspaces(self):
        return v.Int32(self.maximum)

    def m_Open(self):
        self.opened = True
        self.slots = threading.BoundedSemaphore(self.maximum)

    def m_Close(self):
        for pipeline in list(self.running):
            pipeline.done.wait()
        self.closed = True

    def m_BeginClose(self, callback=None, state=None):
        self.closed = True
        return AsyncResult(threading.Event())

    def m_Dispose(self):
        self.m_Close()


class WaitHandle(v.DotNetObject):
    TYPE = "System.Threading.WaitHandle"
    BASES = ("System.IDisposable",)

    def __init__(self, event: threading.Event):
        self.event = event

    def m_WaitOne(self, milliseconds=None):
        if milliseconds is None:
            return self.event.wait()
        ms = int(v.to_integer(milliseconds, v.Int32))
        return self.event.wait(None if ms == -1 else max(ms, 0) / 1000.0)


class AsyncResult(v.DotNetObject):
    TYPE = "System.Management.Automation.PowerShellAsyncResult"
    BASES = ("System.IAsyncResult",)

    def __init__(self, event: threading.Event, pipeline=None):
        self.event = event
        self.pipeline = pipeline

    def p_AsyncWaitHandle(self):
        return WaitHandle(self.event)

    def p_IsCompleted(self):
        return self.event.is_set()


class Streams(v.DotNetObject):
    TYPE = "System.Management.Automation.PSDataStreams"

    def __init__(self):
        self.errors = v.PSArray()

    def p_Error(self):
        return self.errors


class PowerShell(v.DotNetObject):
    TYPE = "System.Management.Automation.PowerShell"
    BASES = ("System.IDisposable",)

    def __init__(self, ctx):
        self.ctx = ctx
        self.pool = None
        self.text = None
        self.root = None
        self.parameters: dict = {}
        self.arguments: list = []
        self.streams = Streams()
        self.output = None
        self.failure = None
        self.crash = None
        self.done = threading.Event()
        self.started = False
        self.stop_requested = False

    # -- building the command ------------------------------------------------------------
    def p_RunspacePool(self):
        return self.pool

    def set_RunspacePool(self, pool):
        if pool is not None and not isinstance(pool, RunspacePool):
            raise v._cast_error(pool, RunspacePool.TYPE)
        self.pool = pool

    def m_AddScript(self, script, *rest):
        if self.text is not None:
            raise Unsupported("a second AddScript on one PowerShell object (AddStatement)", 0)
        self.text = v.to_string(script)
        try:
            self.root = syntax.parse(self.text)
        except ScriptSyntaxError as exc:
            self.root = exc
        return self

    def m_AddParameter(self, name, value=True):
        self.parameters[v.to_string(name)] = value
        return self

    def m_AddArgument(self, value):
        raise Unsupported("PowerShell.AddArgument (positional parameters of a script)", 0)

    # -- running it ------------------------------------------------------------------------
    def m_BeginInvoke(self, *args):
        if args:
            raise Unsupported("BeginInvoke with input or output collections", 0)
        if self.pool is None:
            raise Unsupported("a PowerShell object without a RunspacePool", 0)
        if not self.pool.opened or self.pool.closed:
            raise dotnet_error("System.InvalidOperationException",
                               "The state of the current RunspacePool is not valid for this operation.")
        if self.text is None:
            raise dotnet_error("System.InvalidOperationException", "No commands are specified.")
        if self.started:
            raise dotnet_error("System.InvalidOperationException",
                               "The operation cannot be performed because the pipeline is already running.")
        self.started = True
        self.pool.running.append(self)
        threading.Thread(target=self._run, daemon=True, name="lab-runspace").start()
        return AsyncResult(self.done, self)

    def _run(self):
        from tests.lab.pwsh.interpreter import Session
        from tests.lab.pwsh.runner import bind_parameters

        with self.pool.slots:
            try:
                if self.pool.state.language.name == "NoLanguage":
                    raise TerminatingError(_record(dotnet_error(
                        "System.Management.Automation.PSInvalidOperationException", NO_LANGUAGE)), statement=False)
                if isinstance(self.root, ScriptSyntaxError):
                    raise TerminatingError(_record(dotnet_error(
                        "System.Management.Automation.ParseException", str(self.root))), statement=False)
                session = Session(self.text, self.ctx, "Continue")
                session.commands = self.pool.state.commands
                self.session = session
                bind_parameters(session, self.root, dict(self.parameters))
                try:
                    self.output = session.run_block(self.root)
                except FlowSignal as signal:
                    if signal.kind != "return":
                        raise Unsupported("%s outside a loop in a runspace script" % signal.kind, 0) from None
                    self.output = signal.value or []
                self.streams.errors.extend(session.errors)
            except TerminatingError as exc:
                self.failure = exc
                self.streams.errors.append(exc.record)
            except (Unsupported, Exception) as exc:  # raised again in the caller's thread by EndInvoke
                self.crash = exc
            finally:
                self.done.set()
                if self in self.pool.running:
                    self.pool.running.remove(self)

    def m_EndInvoke(self, result):
        if not isinstance(result, AsyncResult) or result.pipeline is not self:
            raise dotnet_error("System.ArgumentException", "The IAsyncResult object provided does not match this "
                                                           "PowerShell object.")
        self.done.wait()
        if self.crash is not None:
            raise self.crash
        if self.failure is not None:
            error = self.failure.record.exception
            raise DotNetError(error.message, error.inner, error.TYPE, error.BASES)
        return v.PSArray(self.output or [])

    def m_Invoke(self, *args):
        return self.m_EndInvoke(self.m_BeginInvoke(*args))

    def m_Stop(self):
        self.stop_requested = True
        self.done.wait()

    def m_BeginStop(self, callback=None, state=None):
        self.stop_requested = True
        return AsyncResult(self.done)

    def p_Streams(self):
        return self.streams

    def p_HadErrors(self):
        return bool(self.streams.errors) or self.failure is not None

    def m_Dispose(self):
        return None


def _record(error):
    from tests.lab.pwsh.errors import ErrorRecord

    return ErrorRecord(error, error.TYPE.rsplit(".", 1)[-1], "InvalidOperation")


def _create_pool(ctx, *args):
    if len(args) == 1 and isinstance(args[0], InitialSessionState):
        return RunspacePool(args[0])
    if len(args) == 2:
        return RunspacePool(InitialSessionState(True, "FullLanguage"), v.to_integer(args[0], v.Int32),
                            v.to_integer(args[1], v.Int32))
    raise Unsupported("RunspaceFactory.CreateRunspacePool with %d argument(s)" % len(args), 0)


types.register(InitialSessionState.TYPE, statics={
    "Create": lambda ctx: InitialSessionState(False, "NoLanguage"),
    "CreateDefault": lambda ctx: InitialSessionState(True, "FullLanguage"),
    "CreateDefault2": lambda ctx: InitialSessionState(True, "FullLanguage")}, aliases=("initialsessionstate",))
types.register("System.Management.Automation.Runspaces.RunspaceFactory", statics={"CreateRunspacePool": _create_pool},
               aliases=("runspacefactory",))
types.register(RunspacePool.TYPE)
types.register(PowerShell.TYPE, statics={"Create": lambda ctx, *args: PowerShell(ctx)}, aliases=("powershell",))
types.register("System.IAsyncResult")
types.register(WaitHandle.TYPE)

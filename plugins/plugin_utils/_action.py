# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base class of every atp.sensor_proxy action plugin (in the manner of microsoft.ad's
``plugin_utils/_module_with_reboot.py``).

It is the one place that knows the Ansible runtime; the logic it calls lives in the pure modules
beside it. A subclass sets ``DOCUMENTATION`` (imported from its doc stub) and implements one hook,
:meth:`AtpAction.act`. The base:

* sets ``_supports_check_mode`` / ``_supports_async`` before ``super().run()``;
* builds the argument spec from the stub's DOCUMENTATION with its doc fragments merged
  (:mod:`_common._argspec`: suboptions and ``NO_LOG`` included) and validates the task's arguments;
* builds the counting executor every remote call goes through (:mod:`_host._remote`);
* maps errors: :class:`UsageError` and :class:`RemoteError` to ``failed`` with their message (also
  in ``error``, which a ``failed_when`` keyword does not overwrite),
  :class:`ChangeError` to ``failed`` plus its details, :class:`ConnectionDropped` to an
  ``unreachable`` result that keeps what was done before the drop, ``AnsibleConnectionFailure``
  to ``unreachable``, and anything unexpected to ``failed`` with ``exception`` (shown at -vvv);
* adds ``round_trips`` and ``check_mode`` to every result, and removes the remote temporary folder.
"""

from __future__ import annotations

import importlib
import traceback

import yaml
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import fragment_loader

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _argspec
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import (
    ChangeError,
    ConnectionDropped,
    Disconnected,
    RemoteError,
    UsageError,
)
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._plain import plain
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _file_write as file_write
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host._remote import CountingExecutor

# libyaml's loader when PyYAML has it (ten times faster than the pure-Python loader).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Fragments that only document attributes: they add no option, so the spec does not need them.
_ATTRIBUTE_FRAGMENTS = ("ansible.builtin.action_common_attributes",)
_OWN_PREFIX = "atp.sensor_proxy."


def _fragment_options(slug: str) -> dict:
    """The ``options`` a doc fragment adds (``ns.coll.name`` or ``ns.coll.name.var``)."""
    name, var = slug, "DOCUMENTATION"
    if slug.startswith(_OWN_PREFIX):
        parts = slug[len(_OWN_PREFIX):].split(".")
        if len(parts) == 2:
            name, var = _OWN_PREFIX + parts[0], parts[1].upper()
        module = importlib.import_module(
            "ansible_collections.atp.sensor_proxy.plugins.doc_fragments." + name[len(_OWN_PREFIX):])
        text = getattr(module.ModuleDocFragment, var)
    elif slug.split(".flow")[0] in _ATTRIBUTE_FRAGMENTS:
        return {}
    else:  # another collection's fragment: ask Ansible's loader, as ansible-doc does
        cls = fragment_loader.get(slug) or (fragment_loader.get(slug.rsplit(".", 1)[0]) if "." in slug else None)
        if cls is None:
            raise _argspec.SpecError("unknown doc fragment %s" % slug)
        text = getattr(cls, "DOCUMENTATION" if fragment_loader.get(slug) else slug.rsplit(".", 1)[1].upper())
    return (yaml.load(text, Loader=_LOADER) or {}).get("options") or {}


def merged_doc(documentation: str) -> dict:
    """The stub's DOCUMENTATION with the options of its doc fragments merged; the stub's own options win,
    as in ``ansible.utils.plugin_docs.add_fragments``."""
    doc = yaml.load(documentation, Loader=_LOADER)
    options = {}
    for slug in doc.pop("extends_documentation_fragment", None) or []:
        options.update(_fragment_options(slug.strip()))
    options.update(doc.get("options") or {})
    doc["options"] = options
    return plain(doc)


class AtpAction(ActionBase):
    """Subclasses set ``DOCUMENTATION`` and implement :meth:`act`."""

    DOCUMENTATION = ""
    NO_LOG: tuple = ()
    MUTUALLY_EXCLUSIVE: tuple = ()
    REQUIRED_TOGETHER: tuple = ()
    REQUIRED_IF: tuple = ()
    REQUIRED_BY: dict = {}
    TRANSFERS_FILES = False
    # What the action does, for the "unexpected error ..." message.
    WHAT = "running the task"
    _spec = None

    def __init_subclass__(cls, **kwargs):
        """Build the spec when the plugin is imported. ansible-core's strategy imports an action plugin in the
        controller's main process before it forks the task's workers (``action_loader.get(..., class_only=True)``
        in plugins/strategy/linear.py, for ``BYPASS_HOST_LOOP``), so every worker inherits the spec instead of
        parsing the documentation again: once per run, not once per host and task."""
        super().__init_subclass__(**kwargs)
        if cls.DOCUMENTATION:
            cls.argument_spec()

    @classmethod
    def argument_spec(cls) -> dict:
        """Built once per class from the documentation (the one source of truth)."""
        if cls.__dict__.get("_spec") is None:
            doc = merged_doc(cls.DOCUMENTATION)
            spec = _argspec.from_doc(doc, cls.NO_LOG)
            _argspec.check_names(spec, "MUTUALLY_EXCLUSIVE", cls.MUTUALLY_EXCLUSIVE)
            _argspec.check_names(spec, "REQUIRED_TOGETHER", cls.REQUIRED_TOGETHER)
            _argspec.check_names(spec, "REQUIRED_BY", [[k] + list(v) for k, v in cls.REQUIRED_BY.items()])
            cls._spec = spec
        return cls._spec

    # -- the hook ---------------------------------------------------------
    def act(self, args: dict, execute: CountingExecutor, task_vars: dict) -> dict:  # pragma: no cover - abstract
        """Do the work; return the result fields. Raise the errors of :mod:`_common._errors`."""
        raise NotImplementedError

    def arguments(self, given: dict) -> dict:
        """The task's arguments to validate, from those the task gives (a subclass may expand one argument into
        several, as ``atp_endpoint_probe`` expands its ``plan``). Raise :class:`UsageError` for bad input."""
        return given

    def usage_failure(self, exc: UsageError, secrets=()) -> dict:
        """The result of a :class:`UsageError` (bad input: nothing was done on the host), ``secrets`` masked."""
        msg = redaction.redact(str(exc), secrets)
        return {"failed": True, "changed": False, "msg": msg, "error": msg}

    # -- helpers for subclasses -----------------------------------------
    @property
    def check_mode(self) -> bool:
        return bool(self._task.check_mode)

    def _execute_or_disconnect(self, module_name=None, module_args=None, task_vars=None):
        """``_execute_module`` for pure code: a broken connection becomes :class:`Disconnected`."""
        try:
            return self._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            raise Disconnected(str(exc)) from exc

    def _win_copy(self, args: dict, task_vars: dict, execute) -> dict:
        """Run the real ``ansible.windows.win_copy`` action with ``args`` on this task's connection."""
        task = self._task.copy()
        task.args = args
        action = self._shared_loader_obj.action_loader.get(
            "ansible.windows.win_copy", task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        try:
            return action.run(task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            raise Disconnected(str(exc)) from exc
        finally:
            execute.count("ansible.windows.win_copy")

    def _remote_copy(self, src: str, dest: str, task_vars: dict, execute) -> dict:
        """Copy a file on the host with the win_copy action and ``remote_src: true``.

        The action runs the module once in its ``remote`` mode (win_copy.py lines 387-401, win_copy.ps1
        lines 363-425); nothing crosses the wire but the two paths (1 WinRM command). Raises :class:`Disconnected`.
        """
        return self._win_copy({"src": src, "dest": dest, "remote_src": True}, task_vars, execute)

    @staticmethod
    def uploader(execute):
        """``upload(files, dest)`` for the pure write paths: ``files`` (name -> bytes) written as new files into the
        folder ``dest`` in one ``ansible.windows.win_powershell`` run of :mod:`_host._file_write` (1 WinRM command);
        returns :func:`_host._file_write.outcome`. Raises :class:`Disconnected`."""
        return lambda files, dest: file_write.write(execute, dest, files)

    def remote_copier(self, task_vars: dict, execute):
        """``remote_copy(src, dest)`` for the pure write paths."""
        return lambda src, dest: self._remote_copy(src, dest, task_vars, execute)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        result["changed"] = False
        # The task's secrets as given (its no_log options, the password of any URL among them), masked out of every
        # message below: a message may quote an argument, and no_log does not reach inside messages.
        secrets = redaction.secrets_in(self._task.args, self.NO_LOG)
        try:
            self._task.args = self.arguments(dict(self._task.args))
        except UsageError as exc:
            result.update(self.usage_failure(exc, secrets), round_trips=0, check_mode=self.check_mode)
            return result
        try:
            args = self.validate_argument_spec(
                argument_spec=self.argument_spec(),
                mutually_exclusive=list(self.MUTUALLY_EXCLUSIVE) or None,
                required_together=list(self.REQUIRED_TOGETHER) or None,
                required_if=list(self.REQUIRED_IF) or None,
                required_by=dict(self.REQUIRED_BY) or None,
            )[1]
        except AnsibleActionFail as exc:
            # ansible-core raises it with obj=self._task.args (plugins/action/__init__.py validate_argument_spec),
            # and 2.19 shows that object, no_log options in clear, with the message: the message alone, masked.
            result.update(self.usage_failure(UsageError(str(exc)), secrets), round_trips=0, check_mode=self.check_mode)
            return result
        secrets = sorted(set(secrets) | set(redaction.secrets_in(args, self.NO_LOG)), key=lambda t: (-len(t), t))
        execute = CountingExecutor(self._execute_or_disconnect, task_vars)
        try:
            result.update(self.act(args, execute, task_vars))
        except UsageError as exc:
            result.update(self.usage_failure(exc, secrets))
        except RemoteError as exc:
            result.update(failed=True, changed=False, msg=str(exc), error=str(exc))
        except ChangeError as exc:
            result.update(exc.details)
            result.update(failed=True, msg=str(exc), error=str(exc))
        except ConnectionDropped as exc:
            # Ansible marks the host unreachable; the registered result keeps what had been done.
            result.update(exc.details)
            result.update(unreachable=True, msg=str(exc))
        except Disconnected as exc:
            result.update(unreachable=True, msg=str(exc))
        except AnsibleConnectionFailure:
            raise
        except Exception as exc:  # never a bare traceback for the user, nor a secret an error quoted
            msg = redaction.redact("unexpected error %s: %s" % (self.WHAT, exc), secrets)
            result.update(failed=True, changed=False, msg=msg, error=msg,
                          exception=redaction.redact(traceback.format_exc(), secrets))
        finally:
            if self._connection is not None and getattr(self._connection, "_shell", None) is not None:
                try:
                    self._remove_tmp_path(self._connection._shell.tmpdir)
                except AnsibleConnectionFailure:
                    pass  # the connection is gone; the result already says so
        result["round_trips"] = len(execute.calls)
        result["check_mode"] = self.check_mode
        return result

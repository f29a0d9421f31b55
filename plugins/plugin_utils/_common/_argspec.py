# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs built from a plugin's documentation: the one source of truth for its options.

Pure Python, no Ansible imports. :func:`from_doc` turns the ``options`` of a ``DOCUMENTATION``
(with its doc fragments already merged, as ``ansible-doc`` shows it) into the
``argument_spec`` that ``ActionBase.validate_argument_spec`` takes, suboptions included, in the
manner of ansible.utils' ``AnsibleArgSpecValidator(schema_format="doc")``.

The documentation schema of ``ansible-test validate-modules`` has no ``no_log`` key, so the
options that hold secrets are named by the plugin (``NO_LOG``) and checked here against the
documentation: a name that is not a documented option, at any depth, is an error at import time,
so the two cannot drift apart.
"""

from __future__ import annotations

# Keys of a documented option that AnsibleModule's argument spec understands as they are.
_COPIED = ("type", "default", "choices", "elements", "required", "aliases")


class SpecError(ValueError):
    """The documentation and the plugin's spec extras disagree (a bug in the plugin, not in a playbook)."""


def _option(name: str, doc: dict, path: str, no_log: set, seen: set) -> dict:
    entry = {key: doc[key] for key in _COPIED if key in doc}
    entry.setdefault("type", "str")
    if isinstance(entry.get("choices"), dict):  # documented as {choice: description}
        entry["choices"] = list(entry["choices"])
    if path in no_log:
        entry["no_log"] = True
        seen.add(path)
    elif entry["type"] in ("str", "raw") and "password" in name.lower() and "choices" not in entry:
        # AnsibleModule would warn "Module did not set no_log for ..." at run time: say it here instead.
        raise SpecError("option %s looks like a secret but is not in NO_LOG" % path)
    subs = doc.get("suboptions")
    if subs:
        entry["options"] = {k: _option(k, v, "%s.%s" % (path, k), no_log, seen) for k, v in subs.items()}
    return entry


def from_doc(doc: dict, no_log=()) -> dict:
    """``argument_spec`` from a parsed DOCUMENTATION dict (fragments merged).

    ``no_log``: option paths that hold secrets (``proxy_password``, ``settings.password``).
    """
    wanted = set(no_log)
    seen: set = set()
    spec = {name: _option(name, option, name, wanted, seen) for name, option in (doc.get("options") or {}).items()}
    missing = sorted(wanted - seen)
    if missing:
        raise SpecError("NO_LOG names %s, which the documentation does not have" % ", ".join(missing))
    return spec


def check_names(spec: dict, kind: str, groups) -> None:
    """Every option named in a conditional (``mutually_exclusive`` and the like) must be documented."""
    names = set(spec)
    for group in groups or ():
        items = group if isinstance(group, (list, tuple)) else [group]
        flat = []
        for item in items:
            flat.extend(item if isinstance(item, (list, tuple)) else [item])
        unknown = [n for n in flat if isinstance(n, str) and n not in names]
        if unknown:
            raise SpecError("%s names %s, which the documentation does not have" % (kind, ", ".join(unknown)))


def namer(prefix: str):
    """How a message names an option: ``namer("atp_proxy_")("settings")`` -> ``atp_proxy_settings`` (the role's
    variable, when a role runs the logic), ``namer("")("settings")`` -> ``settings`` (the module option, in a task)."""
    return lambda option: (prefix or "") + option

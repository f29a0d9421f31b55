# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The atp_proxy role's variables: types and choices, then what types and choices cannot express.

No Ansible runtime imports (only ``ansible.module_utils``' ArgumentSpecValidator, the library modules
themselves use). :func:`check_role_variables` takes the role's variables (every ``atp_proxy_*`` variable the
host sees) and returns ``(problems, warnings, validated values)``: types and choices against the role's
``meta/argument_specs.yml``, then :func:`problems`: codecs, accounts, cross-variable rules, then the rules of the
job's parts (:func:`parts_problems`: Defender for Endpoint, the sensor's own proxy, state against source). Each
problem names the variable and says what to write instead, and never quotes a secret. It is the one entry point:
the role's job action refuses exactly what the ``atp.sensor_proxy.atp_proxy_problems`` filter returns.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _verdict as cloud_verdict
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _argspec as argspec
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _options as options
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _endpoints as endpoints
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _after as sensor_after
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_plan as config_plan
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _compare as compare

ROLE_SPECS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "atp_proxy", "meta", "argument_specs.yml")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ten times faster, and this runs in every fork
_cache: dict = {}


def role_spec(path: str = ROLE_SPECS) -> dict:
    """The role's main entry point as an argument spec, from meta/argument_specs.yml (the one source of truth)."""
    if path not in _cache:
        with open(path, encoding="utf-8") as handle:
            doc = yaml.load(handle, Loader=_LOADER)["argument_specs"]["main"]
        _cache[path] = argspec.from_doc(doc, [n for n, option in doc["options"].items() if option.get("no_log")])
    return _cache[path]


PREFIX = options.PREFIX
# Variables the role and its playbooks set or register themselves: never a user's typo.
RESULTS = frozenset({
    "atp_proxy_result", "atp_proxy_summary", "atp_proxy_probe_results", "atp_proxy_mde_result",
    "atp_proxy_host_summary", "atp_proxy_fleet", "atp_proxy_fleet_summary",
    "atp_proxy_report_hosts",
})


# How alike an unknown atp_proxy_* name and a variable of the role must be (difflib's ratio) to be taken for a typo of
# it: atp_proxy_tragets 0.94, atp_proxy_backupdir 0.97; atp_proxy_workspace_name 0.88 and atp_proxy_my_custom 0.76
# are names of their own, only warned about.
TYPO = 0.9

# Windows paths the role takes. Windows reads "/" as "\\" in a path, and so do these (the host gets backslashes, the
# manifest compares them): "-e name=C:/ProgramData/..." is a form of the command line that survives ansible-core.
PATH_VARIABLES = ("atp_proxy_backup_file", "atp_proxy_backup_dir", "atp_proxy_mde_backup_dir",
                  "atp_proxy_restore_file")
FILE_VARIABLES = ("atp_proxy_backup_file", "atp_proxy_restore_file")  # empty: the newest backup
# ansible-core reads "-e name=value" with parse_kv, which decodes backslash escapes in the value (ansible/parsing/
# splitter.py, _decode_escapes: \a \b \f \n \r \t \v and \xHH, \uHHHH, \N{...} through Python's
# unicode-escape codec): "C:\ProgramData\atp.sensor_proxy" arrives as "C:\ProgramData" BEL "tp.sensor_proxy".
# No Windows path holds a character below 0x20, so one there means the path was decoded that way.
_UNESCAPE = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _path_problems(value, variable: str) -> list:
    """A path that -e name=value mangled: say so, with what was typed and the forms that work."""
    if not isinstance(value, str) or not any(ord(c) < 0x20 for c in value):
        return []
    typed = "".join(_UNESCAPE.get(c, "\\x%02x" % ord(c) if ord(c) < 0x20 else c) for c in value)
    return ["%s holds control characters: ansible-core's '-e name=value' form decodes backslash escapes in the value "
            "(\\a, \\b, \\f, \\n, \\r, \\t, \\v, \\x..), so %s did not arrive as typed. Give it with forward slashes "
            "(-e %s=%s) or as JSON (-e '{\"%s\": \"%s\"}')"
            % (variable, typed, variable, typed.replace("\\", "/"), variable, typed.replace("\\", "\\\\"))]


_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:\\|\\\\[^\\]+\\[^\\]+)")  # C:\... or \\server\share


def _absolute_problems(value, variable: str) -> list:
    """A folder or file on the host must be an absolute Windows path: an empty one fell back to the default on some
    hosts and failed on others, a relative one only after the host was read ("no message")."""
    if value is None or (isinstance(value, str) and _WINDOWS_ABSOLUTE.match(value)):
        return []
    if not isinstance(value, str):
        return []  # the type check names it
    return ["%s: %s; give an absolute path on the host, such as C:\\ProgramData\\atp.sensor_proxy\\backups"
            % (variable, "empty" if not value.strip() else "%r is not an absolute path" % value)]


def _report_dir_problems(value, variable: str = "atp_proxy_report_dir") -> list:
    """The fleet report is written on the controller after every host ran: a folder the controller cannot write must
    stop the run before any host is read, not fail once the hosts were changed. As the report module reads it (its
    ``dest`` is a path: ``~`` and ``$VARS`` expanded, relative to the controller's working folder)."""
    if not isinstance(value, str) or not value.strip():
        return []
    path = os.path.abspath(os.path.expanduser(os.path.expandvars(value)))
    if os.path.exists(path) and not os.path.isdir(path):
        return ["%s: %s is a file on the controller, not a folder; give the folder the report goes into" % (variable, path)]
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return ["%s: %s cannot be created on the controller: %s is a file" % (variable, path, existing)]
    if not os.access(existing, os.W_OK | os.X_OK):
        return ["%s: the controller cannot write into %s (%s is not writable for this user)"
                % (variable, path, existing)]
    try:  # what access() cannot know: a read-only or pseudo file system (/proc), an ACL, a full disk
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return ["%s: the controller cannot write into %s (%s: %s)" % (variable, path, existing, exc.strerror or exc)]
    return []


def normalize_paths(values: dict) -> dict:
    """``values`` with the role's Windows paths written with backslashes (``C:/x`` -> ``C:\\x``)."""
    out = dict(values)
    for name in PATH_VARIABLES:
        if isinstance(out.get(name), str) and "/" in out[name]:
            out[name] = out[name].replace("/", "\\")
    return out


def _given(value) -> bool:
    return value not in (None, "", [], {})


def _settings_problems(settings, variable: str, written: bool = False) -> list:
    """``written``: the settings are what the run writes (``atp_proxy_source=settings``), so they must name a proxy."""
    if not isinstance(settings, dict):
        return []
    clean = {k: v for k, v in settings.items() if v is not None}
    try:
        value = wininet.settings_from_spec(clean)
    except wininet.WinInetSettingsError as exc:
        return ["%s.%s" % (variable, exc)]
    problem = compare.no_proxy_problem(clean, value, lambda option: PREFIX + option) if written else None
    return [problem] if problem else []


def _proxy_problems(text, variable: str) -> list:
    try:
        wininet.validate_proxy_server(text, variable)
    except wininet.WinInetSettingsError as exc:
        return [str(exc)]
    return []


def _bypass_problems(items, variable: str) -> list:
    try:
        wininet.validate_bypass(items, variable)
    except wininet.WinInetSettingsError as exc:
        return [str(exc)]
    return []


def _probe_products(values: dict, workspace: str = "") -> list:
    """The products the probe covers: each only when something selects its endpoints. The role configures
    products without probe variables (Defender for Identity's accounts need no workspace name, Defender for
    Endpoint is set from atp_proxy_mde_proxy_server alone); probing one needs them (probe_plan warns)."""
    products = [p for p in (values.get("atp_proxy_products") or ["mdi"]) if isinstance(p, str)]
    if "mdi" in products and not (values.get("atp_proxy_workspace") or workspace or values.get("atp_proxy_regions")):
        products = [p for p in products if p != "mdi"]
    if "mde" in products and not (values.get("atp_proxy_mde_urls") or values.get("atp_proxy_mde_sets")):
        products = [p for p in products if p != "mde"]
    return products


def probe_selection(values: dict, workspace: str = "") -> dict:
    """The catalogue's arguments (``_endpoints.probe_problems``/``has_endpoints``) from the role's variables;
    ``workspace``, the one the host's sensor is configured for, is the one probed: it stands in for an empty
    ``atp_proxy_workspace``, and wins over a different one (:func:`workspace_mismatch` says so)."""
    out = {option: values.get(variable) for option, variable in endpoints.ROLE_VARIABLES.items() if variable in values}
    out["products"] = _probe_products(values, workspace)
    if workspace and (not values.get("atp_proxy_workspace") or workspace_mismatch(values, workspace)):
        out["workspace"] = workspace
    return out


def workspace_mismatch(values: dict, workspace: str, sensor_api: str = "") -> str:
    """A warning when ``atp_proxy_workspace`` is not the workspace the host's sensor talks to (``workspace``, from its
    SensorConfiguration.json), '' otherwise. The probe then tests the sensor's own."""
    given = str(values.get("atp_proxy_workspace") or "").strip()
    if not given or not workspace or given.lower() == workspace.lower():
        return ""
    return ("atp_proxy_workspace is %s, but this sensor's SensorConfiguration.json points at %s (workspace %s): the "
            "sensor talks to %s, so that is the workspace probed; check that the sensor belongs to the intended "
            "workspace, or correct atp_proxy_workspace"
            % (given, sensor_api or "%ssensorapi.%s" % (workspace, endpoints.SENSOR_DOMAINS.get(
                str(values.get("atp_proxy_cloud") or "commercial"), endpoints.SENSOR_DOMAINS["commercial"])),
               workspace, workspace))


def probe_plan(values: dict, workspace: str = "") -> dict:
    """What the role's probe does this run: ``{"run", "workspace", "products", "warnings"}``.

    It does not run when probing is off, or when nothing selects a service endpoint (the CRL hosts alone do
    not tell whether the sensor reaches its service); each such choice is a warning naming the variables."""
    plan = {"run": False, "workspace": "", "products": [], "warnings": [],
            "workspace_mismatch": workspace_mismatch(values, workspace)}
    if not values.get("atp_proxy_probe"):
        return plan
    selection = probe_selection(values, workspace)
    plan.update(workspace=selection.get("workspace") or "", products=selection["products"])
    if "mde" in (values.get("atp_proxy_products") or []) and "mde" not in plan["products"]:
        plan["warnings"].append(
            "atp_proxy_products includes mde, but no Defender for Endpoint URL is probed: set atp_proxy_mde_sets "
            "(with atp_proxy_mde_geo) or atp_proxy_mde_urls to probe them")
    if endpoints.has_endpoints(**selection):
        plan["run"] = True
    else:
        plan["warnings"].append(
            "atp_proxy_probe: nothing to probe, so the probe is skipped: set atp_proxy_workspace (your Defender for "
            "Identity workspace name), atp_proxy_regions, atp_proxy_mde_urls, atp_proxy_mde_sets or "
            "atp_proxy_probe_urls, or set atp_proxy_probe: false")
    return plan


def playbook_problems(v: dict) -> list:
    """What a variable given on the command line would change in a playbook's promise (``atp_proxy_playbook``, set by
    the collection's playbooks; ``-e`` wins over their own variables): the check writes nothing, the restore restores."""
    playbook = v.get("atp_proxy_playbook")
    mode = v.get("atp_proxy_mode") or "configure"
    source = v.get("atp_proxy_source") or "current_user"
    if playbook == "check" and mode != "check":
        return ["atp_proxy_mode: %r, but check_atp_proxy.yml writes nothing (it runs with atp_proxy_mode=check); "
                "give no atp_proxy_mode, or run configure_atp_proxy.yml to write" % mode]
    if playbook == "restore" and source != "backup":
        return ["atp_proxy_source: %r, but restore_atp_proxy.yml restores a backup (atp_proxy_source=backup); give "
                "no atp_proxy_source, or run configure_atp_proxy.yml" % source]
    return []


def problems(values: dict, known: set) -> tuple:
    """``(problems, warnings)`` for the role variables in ``values``; ``known``: the documented names."""
    v = dict(values)
    out: list = []
    warnings: list = []

    writes = (v.get("atp_proxy_mode") or "configure") != "check"
    for name in sorted(n for n in v if n.startswith(PREFIX) and n not in known and n not in RESULTS):
        close = difflib.get_close_matches(name, sorted(known), n=1)
        if writes and difflib.get_close_matches(name, sorted(known), n=1, cutoff=TYPO):
            # atp_proxy_tragets: the run would write the default accounts, the ones the admin meant to leave out.
            out.append("%s is not a variable of the atp.sensor_proxy.atp_proxy role; did you mean %s? A run that "
                       "writes stops on a misspelt variable" % (name, close[0]))
            continue
        warnings.append("%s is not a variable of the atp.sensor_proxy.atp_proxy role and is ignored%s"
                        % (name, "; did you mean %s?" % close[0] if close else ""))

    out += playbook_problems(v)
    for name in PATH_VARIABLES:
        value = v.get(name)
        if name in FILE_VARIABLES and not value:
            continue  # no file: the newest backup the collection wrote
        out += _path_problems(value, name) or _absolute_problems(value, name)
    out += _report_dir_problems(v.get("atp_proxy_report_dir"))
    out += accounts.problems(v.get("atp_proxy_targets") or [], "atp_proxy_targets")
    if not v.get("atp_proxy_targets"):
        out.append("atp_proxy_targets: give at least one account, for example [S-1-5-18, S-1-5-19]")
    if v.get("atp_proxy_probe"):
        out += accounts.problems(v.get("atp_proxy_probe_accounts") or [], "atp_proxy_probe_accounts", "become")
    # The probe's variables are checked whether or not this run probes: a typo shows now, not when probing is on.
    out += endpoints.probe_problems(**probe_selection(v))
    out += outcomes.issuer_problems(v.get("atp_proxy_expected_issuers"), "atp_proxy_expected_issuers")

    source = v.get("atp_proxy_source")
    if source == "sid":
        if not _given(v.get("atp_proxy_source_sid")):
            out.append("atp_proxy_source_sid: required with atp_proxy_source=sid, for example S-1-5-20")
        else:
            out += accounts.problems(v["atp_proxy_source_sid"], "atp_proxy_source_sid")
    if source == "value":
        if not _given(v.get("atp_proxy_source_value")):
            out.append("atp_proxy_source_value: required with atp_proxy_source=value (a DefaultConnectionSettings "
                       "blob in hex)")
        else:
            try:
                wininet.decode(v["atp_proxy_source_value"])
            except wininet.WinInetCodecError as exc:
                out.append("atp_proxy_source_value: not a valid WinINet settings value: %s" % exc)
    if source == "settings":
        if not _given(v.get("atp_proxy_settings")):
            out.append("atp_proxy_settings: required with atp_proxy_source=settings, for example "
                       "{proxy_server: proxy.corp.example:8080, bypass: ['<local>']}")
        else:
            out += _settings_problems(v["atp_proxy_settings"], "atp_proxy_settings",
                                      written=v.get("atp_proxy_state") != "absent")
    elif _given(v.get("atp_proxy_settings")) and source != "backup":
        out += _settings_problems(v["atp_proxy_settings"], "atp_proxy_settings")
    if source != "backup" and _given(v.get("atp_proxy_backup_file")):
        out.append("atp_proxy_backup_file: only used with atp_proxy_source=backup (a restore)")

    keep = v.get("atp_proxy_backup_keep")
    if isinstance(keep, int) and not isinstance(keep, bool) and keep < 1:
        out.append("atp_proxy_backup_keep: %d; keep at least 1 backup" % keep)
    timeout = v.get("atp_proxy_probe_timeout")
    if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout < 1:
        out.append("atp_proxy_probe_timeout: %d; give at least 1 second" % timeout)

    if "mde" in (v.get("atp_proxy_products") or []) and v.get("atp_proxy_mode") == "configure":
        mde_proxy = v.get("atp_proxy_mde_proxy_server") or ((v.get("atp_proxy_settings") or {}).get("proxy_server")
                                                            if isinstance(v.get("atp_proxy_settings"), dict) else "")
        if not mde_proxy:
            out.append("atp_proxy_mde_proxy_server: required when atp_proxy_products contains mde (or set "
                       "atp_proxy_settings.proxy_server), for example proxy.corp.example:8080")
        elif v.get("atp_proxy_mde_proxy_server"):
            out += _proxy_problems(v["atp_proxy_mde_proxy_server"], "atp_proxy_mde_proxy_server")
        out += _bypass_problems(v.get("atp_proxy_mde_bypass") or [], "atp_proxy_mde_bypass")
    return out, warnings


# The 0.1.0 names of the restore playbook's variables: given, they stand for the current ones.
ALIASES = {"atp_proxy_restore_file": "atp_proxy_backup_file", "atp_proxy_restore_targets": "atp_proxy_targets"}


_KINDS = ((bool, "true or false"), (dict, "a dictionary"), ((list, tuple), "a list"))


def _kind(value) -> str:
    return next((name for cls, name in _KINDS if isinstance(value, cls)), type(value).__name__)


def type_problems(given: dict, spec: dict) -> list:
    """The values Ansible's validator would convert instead of refusing: a dictionary, a list or a boolean for a
    string (it writes its Python text, ``{'name': 'x'}``, to the host), a boolean for a number (``true`` is 1), and
    the same for the elements of a list of strings. Each names its variable."""
    out = []
    for name, value in sorted(given.items()):
        option = spec.get(name) or {}
        kind = option.get("type", "str")
        if value is None:
            continue
        if kind == "str" and isinstance(value, (dict, list, tuple, bool)):
            out.append("%s: must be a string, got %s" % (name, _kind(value)))
        elif kind == "int" and isinstance(value, bool):
            out.append("%s: must be a number, got %s" % (name, _kind(value)))
        elif kind == "list" and option.get("elements") == "str" and isinstance(value, (list, tuple)):
            wrong = [item for item in value if isinstance(item, (dict, list, tuple, bool))]
            if wrong:
                out.append("%s: each entry must be a string, got %s" % (name, _kind(wrong[0])))
    return out


def check_role_variables(values: dict, environ=None) -> tuple:
    """``(problems, warnings, validated values)`` of the role's variables (see the module docstring); ``environ``
    is the controller's environment, where the cloud's verdict may find its Graph credential (``ATP_GRAPH_*``)."""
    values = normalize_paths(values)
    for old, new in ALIASES.items():
        if _given(values.get(old)):
            values[new] = values[old]
    spec = role_spec()
    given = {k: v for k, v in values.items() if k in spec and v is not None}  # null: the default (the validator
    # turns a null string into '', which is no default)
    result = ArgumentSpecValidator(spec).validate(given)
    found = type_problems(given, spec) + [str(e) for e in result.error_messages]
    checked = resolve_defaults(dict(values, **result.validated_parameters), spec) if not found else dict(values)
    more, warnings = problems(checked, set(spec))
    if not found:  # the parts' rules read typed values
        more = _once_per_variable(more, parts_problems(checked) + cloud_verdict.problems(checked, environ or {}))
    return _once_per_variable(found, more), warnings, checked


_NAMED = re.compile(r"^(?:value of )?(atp_proxy_\w+)")


def _once_per_variable(earlier: list, later: list) -> list:
    """``earlier`` and the messages of ``later`` about a variable no earlier message names: the checks overlap (the
    argument spec and the catalogue both know the clouds, the variable check and the Defender for Endpoint part both
    read its proxy), and one problem said twice in one message reads as two."""
    named = {m.group(1) for m in map(_NAMED.match, earlier) if m}
    out = list(earlier)
    for message in later:
        match = _NAMED.match(message)
        if message in out or (match and match.group(1) in named):
            continue
        out.append(message)
    return out


def resolve_defaults(checked: dict, spec: dict) -> dict:
    """``checked`` with every variable the role's argument spec gives a default: the validator fills the ones not given,
    this the ones given as null (as the role's ``defaults/main.yml`` would), so that the job reads ``v[name]`` and
    states no default of its own."""
    for name, option in spec.items():
        if checked.get(name) is None and option.get("default") is not None:
            checked[name] = option["default"]
    return checked


def parts_problems(v: dict) -> list:
    """What the checked variables cannot do in the job's parts, before anything is read (each names its variable)."""
    out = []
    opts = options.mde_options(v)
    if opts is not None:
        try:
            options.mde_wanted(v)  # kept in ``v`` for the job: computed once
        except UsageError as exc:
            out.append(str(exc))
        if opts.get("winhttp_source") == "ie":
            out += accounts.problems(v[options.mde_var("winhttp_ie_account")], options.mde_var("winhttp_ie_account"))
    names = options.SENSOR_NAMES
    url = v.get(names["url"])
    if url:
        try:
            config_plan.validate_url(url, names["url"])
        except UsageError as exc:
            out.append(str(exc))
    if v.get(names["password"]) and not v.get(names["username"]):
        out.append("%s is set but %s is not: the sensor keeps a proxy password only together with a user name "
                   "(Set-MDISensorProxyConfiguration -ProxyCredential)" % (names["password"], names["username"]))
    if options.absent(v) and options.restore(v):
        out.append("atp_proxy_state: absent clears the proxy, but atp_proxy_source=backup restores a backup; choose one")
    # The parts' own refusals end "Nothing was changed."; the role's message says that once, at its start.
    return [m[:-len(_NOTHING)].rstrip() if m.endswith(_NOTHING) else m for m in out + sensor_after.problems(v)]


_NOTHING = " Nothing was changed."

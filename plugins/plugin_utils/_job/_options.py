# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's variables as each part's options, and how a message names a variable.

The role's variables arrive checked and resolved (:func:`_job._variables.check_role_variables`): every variable of
``roles/atp_proxy/meta/argument_specs.yml`` is present, and the ones left unset hold the default stated there, the
one place defaults are stated. So this module reads ``v[name]`` and states no default of its own.

Names: a message names the variable the user set. The parts take a ``name`` function (option -> the name to print),
built by :func:`_common._argspec.namer`: :data:`var` for the role's ``atp_proxy_*`` variables, :data:`mde_var` for the
``atp_proxy_mde_*`` ones; the sensor's own proxy variables, whose names are not prefix + option, are
:data:`_sensor._change.ROLE_NAMES`.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _argspec as argspec
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _catalogue as mde
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _desired as mde_desired
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _after as sensor_after
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _change as sensor_apply
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _compare as compare

PREFIX = "atp_proxy_"
MDE_PREFIX = PREFIX + "mde_"
var = argspec.namer(PREFIX)
mde_var = argspec.namer(MDE_PREFIX)
SENSOR_NAMES = sensor_apply.ROLE_NAMES


def read_only(v: dict) -> bool:
    """``atp_proxy_mode: check``, a drift report: every part plans as in check mode and reports ``changed: false``.
    The one place the role decides it; the parts receive it as their ``read_only`` option."""
    return v[var("mode")] == "check"


def absent(v: dict) -> bool:
    return v[var("state")] == "absent"


def restore(v: dict) -> bool:
    return v[var("source")] == "backup"


def wininet_args(v: dict, targets=None) -> dict:
    """The options of the WinINet write path (win_wininet_proxy's), from the role's variables."""
    options = ("source", "targets", "value_names", "load_hive", "backup_dir", "backup_keep")
    args = {option: v[var(option)] for option in options}
    args.update(read_only=read_only(v), name_prefix=PREFIX, exact=False)
    if targets is not None:
        args["targets"] = list(targets)
    if absent(v):
        # Direct access, encoded on top of each account's value: its counter goes on, its detection cache stays.
        args.update(source="settings", settings={"auto_detect": False})
        return args
    # Only the variable of the chosen source is passed on (the others keep their role defaults, '' or {}).
    option = compare.SOURCE_OPTION.get(args["source"])
    if option and v.get(var(option)) not in ("", {}, None):
        args[option] = v[var(option)]
    return args


def machine_options(v: dict) -> dict:
    """The options every machine-wide change shares (Defender for Endpoint, the v3 sensor's values, .NET TLS)."""
    return {"backup_dir": v[mde_var("backup_dir")], "backup_keep": v[var("backup_keep")], "read_only": read_only(v),
            "name_prefix": MDE_PREFIX}


def mde_options(v: dict) -> dict | None:
    """win_mde_proxy's options from the atp_proxy_mde_* variables; None when Defender for Endpoint is not managed."""
    if "mde" not in (v[var("products")] or []):
        return None
    opts = {option: v[mde_var(option)] for option in mde.DEFAULTS if mde_var(option) in v}
    if not opts.get("proxy_server"):
        settings = v.get(var("settings"))
        opts["proxy_server"] = (settings.get("proxy_server") or "") if isinstance(settings, dict) else ""
    opts.update(machine_options(v))
    return opts


# Not a role variable (the role's are atp_proxy_*): where the checked values keep what the atp_proxy_mde_* options
# want, computed once (:func:`mde_wanted`).
MDE_WANTED = "__atp_proxy_mde_wanted"


def mde_wanted(v: dict) -> list | None:
    """What the atp_proxy_mde_* options want (:func:`_mde._desired.desired`: validated, one
    :class:`_mde._catalogue.Wanted` per setting), None when Defender for Endpoint is not managed. Computed once per
    run: the variables' check computes it (a bad option is reported there, before anything is read) and the checked
    values keep it, so that the job's reads and its plan take it from there. Raises UsageError."""
    if MDE_WANTED not in v:
        opts = mde_options(v)
        v[MDE_WANTED] = None if opts is None else mde_desired.desired(opts, mde_var)
    return v[MDE_WANTED]


def ie_account(v: dict) -> str:
    """The SID whose WinINet value WinHTTP copies (``atp_proxy_mde_winhttp_source: ie``)."""
    return accounts.resolve_sid(v[mde_var("winhttp_ie_account")], mde_var("winhttp_ie_account"))


def sensor_options(v: dict, url, stamp: str) -> dict:
    """The options of the v2 sensor's write path (:func:`_sensor._change.run`)."""
    names = SENSOR_NAMES
    opts = {"url": url, "username": v.get(names["username"]) or None, "password": v.get(names["password"]) or None,
            "password_update": v[names["password_update"]],
            # A user and password the file holds stay unless new ones are given or clearing them is asked for.
            "keep_credentials": not v[names["clear_credentials"]],
            "state": v[var("state")], "restart": bool(v[var("restart_services")]),
            "backup_dir": v[var("backup_dir")], "backup_keep": v[var("backup_keep")], "when": stamp,
            "watch": watch_seconds(v)}
    if restore(v):
        opts.update(source="backup", backup_file=v.get(var("backup_file")) or None)
    return opts


def watch_seconds(v: dict) -> int | None:
    """How long to watch the services after a restart (atp_proxy_sensor_start_timeout), None: do not."""
    return sensor_after.watch_seconds(v)


def log_files(v: dict, discovery: dict) -> list:
    return sensor_after.log_files(v, discovery)

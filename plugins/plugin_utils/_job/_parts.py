# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The steps of the role's job that belong to one part each, outside the parts' own write paths: the sensor's proxy
URL from the WinINet source, a v3 sensor's values (Set-MDISensorProxyConfiguration's), the opt-in .NET TLS values and
their change when Defender for Endpoint is not managed. :mod:`_job._job` calls them in order."""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import ChangeError, UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _preconditions as preconditions
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _options as options
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _catalogue as mde
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _desired as mde_desired
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde._result import MdeResult
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_plan as config_plan
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _readiness as readiness
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _v3 as sensor_v3
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _compare as compare
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _registry_change as apply

var = options.var
URL = options.SENSOR_NAMES["url"]


def sensor_url(v: dict, execute, snapshot) -> str | None:
    """The sensor's own proxy URL: atp_proxy_sensor_proxy_url, else the WinINet source's proxy as http://host:port."""
    given = v.get(URL)
    if given or options.absent(v):
        return given or None
    args = options.wininet_args(v)
    if args["source"] == "backup":
        return None
    name = options.var
    try:
        settings = compare.clean_settings(args.get("settings"))
        kind = compare.infer_source_kind(args["source"], dict(args, settings=settings), name)
        source = compare.load_source(execute, kind, args.get("source_sid"), args.get("source_value"), settings, name,
                                     snapshot=snapshot)
    except UsageError as exc:
        raise UsageError("%s is empty, and the WinINet source cannot give the sensor's proxy: %s" % (URL, exc)) from None
    settings = source.settings
    server = settings.proxy_server if settings.flags["proxy"] else ""
    if not server or "=" in server or ";" in server:
        raise UsageError(
            "%s is empty, and the WinINet source (%s=%s: %s) has no single proxy server to give the sensor; set %s to "
            "a URL such as http://proxy.corp.example:8080" % (URL, var("source"), kind, wininet.describe(settings), URL))
    return "http://" + server


def sensor_v3_options(v: dict, discovery: dict, execute, snapshot, host: str) -> tuple:
    """``(options for _mde._run.run, wanted URL or None, warnings, wanted settings)`` of a v3 sensor's proxy (method
    ``mde``): the atp_proxy_mde_* options (or only the sensor's two values when Defender for Endpoint is not managed)
    with the values Set-MDISensorProxyConfiguration writes, and what they want together (the options' own, as the
    variables' check computed it, merged with the sensor's: :func:`_mde._desired.merged`); checked before anything
    is written. ``(None, None, [], None)`` for a restore (atp_proxy_source=backup): the restore playbook puts the
    backups back."""
    generation = discovery["sensor"].get("generation")
    if generation != "v3":
        raise UsageError("atp_proxy_method=mde sets the proxy of a Defender for Identity sensor v3 (SenseIdentity "
                         "inside Defender for Endpoint), but %s has %s. Nothing was changed. Use atp_proxy_method: "
                         "auto, which keeps the method the host uses."
                         % (host, "a sensor %s" % generation if generation else "no Defender for Identity sensor"))
    if options.restore(v):
        return None, None, [], None
    url = None
    if not options.absent(v):  # absent: both values removed, as Clear- does
        url = config_plan.validate_url(sensor_url(v, execute, snapshot), URL)
    opts = options.mde_options(v)
    if opts is None:  # Defender for Endpoint is not managed: only what the cmdlet writes for the sensor
        opts = dict(options.machine_options(v), winhttp_source="unmanaged", telemetry=False, prefer_static_proxy=False)
        own = mde_desired.desired(opts, options.mde_var)
    else:
        own = options.mde_wanted(v)
    opts["also"] = sensor_v3.wanted(url, sensor_v3.owner(v))
    # one setting, one owner: a conflict stops here, nothing written
    wanted = mde_desired.merged(own, opts["also"], options.mde_var)
    warning = sensor_v3.credentials_warning(v, host)
    return opts, url, [warning] if warning else [], wanted


def tls_items(v: dict, discovery: dict, snapshot) -> list:
    """The opt-in .NET TLS values (atp_proxy_fix_tls) as pending registry writes."""
    found = discovery.get("readiness")
    if not v[var("fix_tls")] or not found:
        return []
    items = []
    for path, name, data in readiness.tls_fix_values(found):
        key = snapshot.key(path)
        old = key.get(name) if key.exists else None
        if old is not None and old.type != "REG_DWORD":
            raise ChangeError("%s\\%s is %s, not REG_DWORD, so atp_proxy_fix_tls does not overwrite it. Nothing was "
                              "changed. Delete the value or set it to 1 as a DWORD." % (path, name, old.type),
                              changed=False)
        items.append(apply.Pending(None, path, name, None if old is None else old.value,
                                   "missing" if old is None else "different", data, key=mde.reg_key(path),
                                   label="%s (%s)" % (name, path.split(":\\", 1)[-1])))
    return items


def machine_change(execute, upload, items: list, v: dict, predicted: bool, host: str, snapshot,
                   stamp: str) -> MdeResult:
    """The opt-in machine-wide values without Defender for Endpoint (atp_proxy_fix_tls alone)."""
    out = MdeResult(extra=list(items), predicted=predicted, changed=bool(items) and not options.read_only(v))
    if not items or predicted:
        return out
    preconditions.require_administrator(snapshot.user, "the .NET TLS values under HKLM need local administrator rights",
                                        sid=False, fix="")
    machine = options.machine_options(v)
    change = apply.Change(execute, upload, items, backup_dir=machine["backup_dir"] or mde.DEFAULT_BACKUP_DIR,
                          keep=machine["backup_keep"], comment="atp.sensor_proxy backup of %s (.NET TLS values)" % host,
                          when=stamp, manifest=backup.manifest_from(snapshot.key(backup.MANIFEST_PATH)))
    out.done(change.run())
    out.warnings = list(change.warnings)
    return out

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's job result: the parts as the run holds them (:class:`JobResult`: the WinINet, sensor file and Defender
for Endpoint parts, each typed), the ONE place that makes the flat result the action returns
(:func:`to_result`, also what a failing part carries of the earlier ones: :meth:`JobResult.failed`), what is still
pending, the host as this run leaves it (the discovery's snapshot with the values written, for the effective
proxy), and what the probe takes from the result (the workspace, a v3 sensor's channel, the route through the
sensor's proxy)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _options as options
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _catalogue as mde
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde._result import MdeResult
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _endpoints as endpoints
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sensor_config
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor._result import SensorResult
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _winhttp as winhttp
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet._result import WininetResult

WININET, SENSOR_CONFIG, MDE = "wininet", "sensor_config", "mde"
var = options.var


@dataclass
class JobResult:
    """The job on one host, part by part, as the run fills it in (what a failing part leaves is what it got to).

    ``wininet`` is the WinINet part (:class:`_wininet._result.WininetResult`; when another method is the host's,
    its "not run, because ..." state), ``None`` until the run gets to the proxy part. ``sensor_config`` is the
    sensor's file change (:class:`_sensor._result.SensorResult`), ``mde`` the Defender for Endpoint / .NET TLS values
    change (:class:`_mde._result.MdeResult`), each ``None`` when the part did not run. ``restart`` and the fields
    after it are the end of the run (``done``).
    """

    method: str = ""
    method_reason: str = ""
    sensor_info: dict = field(default_factory=dict)
    wininet: WininetResult | None = None
    stig_note: str = ""
    sensor_config: SensorResult | None = None
    mde: MdeResult | None = None
    sensor_v3: dict | None = None
    warnings: list = field(default_factory=list)  # the job's own (the WinINet part keeps its own)
    done: bool = False
    restart: dict = field(default_factory=dict)
    after_run: dict = field(default_factory=dict)  # sensor_watch, sensor_logs (:func:`_sensor._after.after_run`)
    effective_proxy: dict = field(default_factory=dict)
    readiness: dict | None = None

    def failed(self, part: str, exc) -> None:
        """Add what was done before ``part`` failed to ``exc.details``; the part's own record goes under its name
        (the WinINet part's fields at the top, as its result has them)."""
        own = dict(exc.details)
        merged = to_result(self)
        if part == WININET:
            merged.update(own)
        else:
            merged[part] = dict(own, failed=True, error=str(exc))
            merged["changed"] = bool(merged.get("changed")) or bool(own.get("changed"))
            for name in ("written", "maybe_written", "backup_file", "dropped_at"):
                merged.setdefault(name, [] if name in ("written", "maybe_written") else "")
        merged["failed_part"] = part
        exc.details.clear()
        exc.details.update(merged)


def to_result(job: JobResult) -> dict:
    """The job's result as ``atp_proxy_job`` returns it (its documented RETURN): the WinINet part's fields at the
    top, the sensor's file change under ``sensor_config``, Defender for Endpoint and the TLS values under ``mde``,
    every part's actions, diffs and warnings in one list each. A run that stopped in a part gives what it got to."""
    out = {"method": job.method, "method_reason": job.method_reason, "sensor_info": job.sensor_info}
    wininet = job.wininet
    if wininet is None:
        return out
    out.update(wininet.to_result())
    if job.stig_note:
        out["stig_note"] = job.stig_note
    sensor = job.sensor_config.to_result() if job.sensor_config is not None else None
    if sensor is not None:
        out[SENSOR_CONFIG] = sensor
        # A restore names the backup it used (the WinINet restore's fields, at the top).
        out.update({k: sensor[k] for k in ("restored_from", "trusted_because") if sensor.get(k)})
    mde_part = job.mde.to_result() if job.mde is not None else None
    if mde_part is not None:
        out[MDE] = mde_part
    # --diff shows every file and value the run changes (or would): the WinINet values, the sensor's file, Defender
    # for Endpoint and the .NET TLS values, each decoded.
    diffs = wininet.diffs() + ([sensor["diff"]] if (sensor or {}).get("diff") else [])
    diffs += list((mde_part or {}).get("diff") or [])
    if diffs or wininet.planned or mde_part is not None:
        out["diff"] = diffs
    if job.sensor_v3 is not None:
        out["sensor_v3"] = job.sensor_v3
    if not job.done:
        return out
    out["restart"] = job.restart
    out.update(job.after_run)
    out["actions"] = list(wininet.actions) + list((sensor or {}).get("actions") or []) + \
        list((mde_part or {}).get("actions") or []) + list(job.restart.get("actions") or [])
    out["effective_proxy"] = job.effective_proxy
    out["readiness"] = job.readiness
    out["changed"] = wininet.changed or bool((sensor or {}).get("changed")) or bool(
        (mde_part or {}).get("changed")) or bool(job.restart.get("restarted"))
    out["in_sync"] = wininet.in_sync and not pending(sensor) and not pending(mde_part, True)
    out["pending_changes"] = pending_labels(sensor, mde_part)
    out["warnings"] = list(dict.fromkeys(list(wininet.warnings or []) + job.warnings))
    return out


# ---------------------------------------------------------------------------
# What is still pending
# ---------------------------------------------------------------------------
def pending(part: dict | None, machine: bool = False) -> bool:
    if not part:
        return False
    if machine:
        return bool(part.get("changed_settings"))
    return bool(part.get("pending") or part.get("changed"))


def pending_labels(sensor_result, mde_result) -> list:
    """What differs besides the WinINet accounts (predicted runs) or what was written (others)."""
    out = []
    if pending(sensor_result):
        out.append(sensor_config.FILE_NAME)
    out += list((mde_result or {}).get("changed_settings") or [])
    return out


# ---------------------------------------------------------------------------
# After the writes: what the host holds, for the effective proxy
# ---------------------------------------------------------------------------
def _patch(snapshot, path: str, name: str, kind: str, data) -> None:
    key = snapshot.keys.get(path.lower())
    if key is None:
        return
    key.exists = True
    if data is None:
        key.values.pop(name.lower(), None)
    elif isinstance(data, (bytes, bytearray)):
        key.values[name.lower()] = remote.RegValue(name, kind, bytes(data))
    else:
        key.values[name.lower()] = remote.RegValue(name, kind, None, data)


def written_wininet(snapshot, items: list, sids) -> None:
    """The WinINet values of ``items`` (the write path's plan, bytes as written) for the accounts ``sids``, as
    written: the SIDs the result says were written, or in check mode the ones it would write."""
    chosen = set(sids or [])
    for item in items:
        if item.sid is not None and item.sid in chosen:
            _patch(snapshot, item.path, item.name, "REG_BINARY", item.wanted)


def _written_machine(snapshot, the_plan, items: list) -> None:
    for entry in the_plan.settings if the_plan is not None else []:
        if not entry.changed:
            continue
        wanted = winhttp.winhttp_bytes(entry.wanted) if entry.setting is mde.WINHTTP else entry.wanted
        _patch(snapshot, entry.setting.path, entry.setting.value_name, entry.setting.reg_type, wanted)
    for item in items:
        _patch(snapshot, item.path, item.name, "REG_DWORD", item.wanted)


def after(discovery, wininet: WininetResult, mde_plan, machine_items, mde_result):
    """The discovery's snapshot with what this run wrote (verified by each part's read back)."""
    out = copy.deepcopy(discovery.snapshot)
    written_wininet(out, wininet.items, wininet.written)
    if mde_result is not None and mde_result.written:
        _written_machine(out, mde_plan, machine_items)
    return out


# ---------------------------------------------------------------------------
# What the probe takes from the result
# ---------------------------------------------------------------------------
def sensor_workspace(result: dict, v: dict) -> str:
    """The workspace of the v2 sensor's SensorConfiguration.json (its sensor API address), '' when unknown."""
    config = (result.get("sensor_info") or {}).get("sensor_config") or {}
    return endpoints.workspace_of(config.get("sensor_api"), v[var("cloud")])


def sensor_v3_geo_url(result: dict) -> str:
    """The ``geoLocationUrl`` of Defender for Endpoint's onboarding info on a sensor v3 host ('' otherwise): the probe
    tests ``<geoLocationUrl>cnc/identity/api`` there, as Test-MDISensorApiConnection does."""
    info = result.get("sensor_info") or {}
    if (info.get("sensor") or {}).get("generation") != "v3":
        return ""
    return str((info.get("mde") or {}).get("geo_location_url") or "")


def probe_route(result: dict, v: dict) -> dict:
    """How the probe sends its requests so that it tests the proxy the sensor uses (the job's method):
    ``{"modes", "proxy", "proxy_username", "proxy_password", "proxy_source"}``. WinINet: the account's own proxy (mode
    ``default``). The sensor's own setting, or Defender for Endpoint's static proxy for a v3 sensor: that proxy,
    named (mode ``named``), with the sensor's proxy user and the password when the run was given it."""
    modes = list(v[var("probe_modes")] or ["default"])
    entry = (result.get("effective_proxy") or {}).get("sensor") or {}
    method = result.get("method")
    # Where the sensor takes its proxy from, so that the probe's hints name that setting (the method the host uses).
    source = method if method in (SENSOR_CONFIG, MDE) else (
        "wininet_machine" if entry.get("source") == "wininet_machine" else "wininet_per_account")
    route = {"modes": modes, "proxy": "", "proxy_username": "", "proxy_password": "", "proxy_source": source,
             "direct_fallback": False}
    if method not in (SENSOR_CONFIG, MDE) or not entry.get("proxy"):
        return route
    proxy = str(entry["proxy"])
    route["proxy"] = proxy if "://" in proxy else "http://" + proxy
    route["modes"] = ["named"] + [m for m in modes if m != "default"]
    if method == MDE:
        # Defender for Endpoint falls back to a direct connection when its static proxy fails (verify-connectivity):
        # probe direct too, so that a broken proxy hidden by open direct egress is 'works_only_direct'.
        route["modes"] += [] if "direct" in route["modes"] else ["direct"]
        route["direct_fallback"] = True
    if method == SENSOR_CONFIG:
        names = options.SENSOR_NAMES
        route["proxy_username"] = v.get(names["username"]) or ""
        route["proxy_password"] = v.get(names["password"]) or ""
    return route

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which proxy each part of the Defender for Identity sensor uses, from which source, and the method a host uses now.

Pure Python, no Ansible imports, nothing read: the inputs are what :mod:`_sensor._discovery` decoded (the sensor's own
setting, WinINet per account or per machine, WinHTTP, the Defender for Endpoint policies). Sources:
docs/dev/sensor_sources.md.
"""

from __future__ import annotations

import re

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _services as services

SOURCES = ("sensor_config", "wininet_per_account", "wininet_machine", "mde")


def endpoint(text: str | None) -> str | None:
    """``host:port`` (lower case, port 80 when none) of a proxy URL or WinINet/WinHTTP proxy string, for HTTPS.

    A per-protocol list (``http=a:1;https=b:2``) gives its ``https=`` entry, else an entry without a
    protocol. Used only to tell whether two sources name the same proxy.
    """
    if not text or not text.strip():
        return None
    entries = [e.strip() for e in text.split(";") if e.strip()]
    chosen = None
    for entry in entries:
        if entry.lower().startswith("https="):
            chosen = entry.split("=", 1)[1]
            break
    if chosen is None:
        plain = [e for e in entries if "=" not in e.split("://", 1)[0]]
        chosen = plain[0] if plain else None
    if chosen is None:
        return None
    chosen = re.sub(r"^[a-z][a-z0-9+.-]*://", "", chosen.strip(), flags=re.IGNORECASE).rstrip("/").lower()
    if not re.search(r":\d+$", chosen):
        chosen += ":80"
    return chosen


def _wininet_identity(entry: dict):
    """What a WinINet value does for HTTPS: ('proxy', host:port), ('pac', url), ('auto_detect',) or None (direct)."""
    if entry.get("state") != "ok" or not entry.get("uses_proxy"):
        return None
    if entry.get("proxy_server"):
        return ("proxy", endpoint(entry["proxy_server"]))
    if entry.get("auto_config_url"):
        return ("pac", entry["auto_config_url"].strip().lower())
    return ("auto_detect",)


def _candidate(source: str, proxy, summary: str, where: str, identity) -> dict:
    return {"source": source, "proxy": proxy, "summary": summary, "where": where, "configured": identity is not None,
            "_identity": identity}


def effective_proxy(sensor: dict, config: dict | None, wininet_info: dict, winhttp_info: dict,
                    mde: dict | None) -> tuple:
    """``(effective_proxy, warnings)``: per sensor component, the proxy it will use and its source.

    v2 (components ``sensor`` = AATPSensor as LocalService, ``updater`` = AATPSensorUpdater as
    LocalSystem): the candidates are the sensor's own setting (``sensor_config``) and WinINet of the
    component's account, which is the machine value under ProxySettingsPerUser=0
    (``wininet_machine``), else the account's own value (``wininet_per_account``). No public source
    says which of the two a v2 sensor prefers: when both are set and differ, the result names the
    sensor's own setting (the method Microsoft recommends) with ``ambiguous: true`` and a warning
    names both. Without a sensor_config proxy, WinINet decides (``direct`` included).

    v3 (component ``sensor`` = SenseIdentity inside Defender for Endpoint, LocalSystem): source
    ``mde``: ``TelemetryProxyServer``, else the Windows Defender ``ProxyServer`` policy, else WinHTTP;
    a warning when two of them are set and differ.
    """
    warnings = []
    components = {}
    if sensor.get("generation") == "v2":
        json_proxy = (config or {}).get("proxy") or {}
        json_url = json_proxy.get("url") if json_proxy.get("configured") else None
        for component, service_name in (("sensor", services.SENSOR_SERVICE), ("updater", services.UPDATER_SERVICE)):
            service = sensor["services"].get(service_name)
            if service is None:
                continue
            sid = service.get("sid")
            if wininet_info["per_user_policy"]["per_machine"]:
                value, source = wininet_info["machine"], "wininet_machine"
            else:
                value = wininet_info["accounts"].get(sid) if sid else None
                source = "wininet_per_account"
                if value is None:
                    value = {"path": "", "state": "not_read", "summary": "(account %s not read)" % service.get("username"),
                             "uses_proxy": False}
            candidates = []
            if config is not None and config.get("exists"):
                candidates.append(_candidate("sensor_config", json_url,
                                             "proxy %s" % json_url if json_url else "not set",
                                             (config or {}).get("path") or "", ("proxy", endpoint(json_url)) if json_url else None))
            wi = _wininet_identity(value)
            candidates.append(_candidate(source, value.get("proxy_server") or value.get("auto_config_url") or None,
                                         value.get("summary", ""), value.get("path", ""), wi))
            chosen = candidates[0] if json_url else candidates[-1]
            configured = [c for c in candidates if c["configured"]]
            ambiguous = len(configured) == 2 and configured[0]["_identity"] != configured[1]["_identity"]
            label = "%s (%s)" % (service_name, service.get("account"))
            if ambiguous:
                warnings.append(
                    "%s: the sensor's own proxy %s (sensor_config, %s) and its WinINet proxy %s (%s, %s) differ; no "
                    "public source says which one a v2 sensor uses, so make them agree or clear one"
                    % (label, configured[0]["summary"], configured[0]["where"], configured[1]["summary"],
                       configured[1]["source"], configured[1]["where"]))
            components[component] = {
                "component": component, "service": service_name, "account": service.get("account"), "sid": sid,
                "source": chosen["source"], "proxy": chosen["proxy"], "summary": chosen["summary"],
                "ambiguous": ambiguous,
                "candidates": [{k: v for k, v in c.items() if not k.startswith("_")} for c in candidates],
                "_identity": chosen["_identity"],
            }
        pair = [components.get("sensor"), components.get("updater")]
        if all(pair) and not json_url and pair[0]["_identity"] != pair[1]["_identity"]:
            warnings.append("the sensor %s uses %s (%s) but its updater %s uses %s (%s); both need the proxy"
                            % (pair[0]["account"], pair[0]["summary"], pair[0]["source"], pair[1]["account"],
                               pair[1]["summary"], pair[1]["source"]))
    elif sensor.get("generation") == "v3":
        mde = mde or {}
        options = [
            ("TelemetryProxyServer", mde.get("telemetry_proxy_server"), mde.get("telemetry_proxy_server_path")),
            ("Windows Defender ProxyServer", mde.get("proxy_server"), mde.get("proxy_server_path")),
            ("WinHTTP", winhttp_info.get("proxy_server") or None, winhttp_info.get("path")),
        ]
        candidates = [{"source": "mde", "setting": name, "proxy": value, "where": where,
                       "summary": "proxy %s" % value if value else "not set", "configured": bool(value)}
                      for name, value, where in options]
        configured = [c for c in candidates if c["configured"]]
        for i, first in enumerate(configured):
            for second in configured[i + 1:]:
                if endpoint(first["proxy"]) != endpoint(second["proxy"]):
                    warnings.append("sensor v3 (Defender for Endpoint): %s is %s (%s) but %s is %s (%s); make them agree"
                                    % (first["setting"], first["proxy"], first["where"], second["setting"],
                                       second["proxy"], second["where"]))
        chosen = configured[0] if configured else None
        components["sensor"] = {
            "component": "sensor", "service": None, "process": services.V3_PROCESS, "account": accounts.SYSTEM.name,
            "sid": accounts.SYSTEM.sid, "source": "mde", "proxy": chosen["proxy"] if chosen else None,
            "summary": "%s %s" % (chosen["setting"], chosen["proxy"]) if chosen else "direct (no proxy)",
            "ambiguous": False, "candidates": candidates,
        }
    for entry in components.values():
        entry.pop("_identity", None)
    return components, warnings


def method_in_use(info: dict) -> str:
    """How the host's sensor gets its proxy today: ``sensor_config``, ``wininet``, ``mde`` or ``none``."""
    generation = info["sensor"]["generation"]
    if generation == "v3":
        return "mde"
    if generation != "v2":
        return "none"
    proxy = (info.get("sensor_config") or {}).get("proxy") or {}
    if proxy.get("configured"):
        return "sensor_config"
    for component in info["effective_proxy"].values():
        if any(c["configured"] for c in component["candidates"] if c["source"].startswith("wininet")):
            return "wininet"
    return "none"


def auto_method(info: dict) -> str:
    """``atp_proxy_method: auto``: keep the method the host uses, as Microsoft asks ("use the same method
    you used originally", configure-proxy.md); a v2 sensor without any gets ``sensor_config``; a v3
    sensor ``mde``; a host without a sensor ``wininet`` (the classic per-account copy)."""
    in_use = method_in_use(info)
    if in_use != "none":
        return in_use
    return "sensor_config" if info["sensor"]["generation"] == "v2" else "wininet"

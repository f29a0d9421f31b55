# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy of a Defender for Identity sensor v3, where Microsoft's own cmdlet puts it, and what a run says
about it.

Pure Python, no Ansible imports and no remote access: the role's job (:mod:`_job._job`) writes these values through
the Defender for Endpoint write path (:func:`_mde._run.run`: one backup, one ``reg import``, read back, roll back).
Sources (docs/dev/sensor_sources.md, "Sensor v3.x"):

* [DFI-3] the DefenderForIdentity module, ``Set-MDISensorProxyConfiguration`` when ``SenseIdentity`` runs:
  ``New-ItemProperty HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection TelemetryProxyServer
  -PropertyType String -Value $ProxyUrl.Replace('http://', '')`` and ``HKLM:\\SOFTWARE\\Policies\\Microsoft\\
  Windows Defender ProxyServer -Value $ProxyUrl``; ``-ProxyCredential`` is not used there; ``Clear-`` (``-ProxyUrl
  $null``) removes both with ``Remove-ItemProperty ... -ErrorAction Stop`` in one ``try``, so when the first is
  absent the second stays: here each is removed on its own. It restarts no service on v3 (its v2 branch stops and
  starts AATPSensorUpdater). ``Replace('http://', '')`` leaves ``https://`` in TelemetryProxyServer; here the
  value is always ``host:port``, which is what Microsoft documents for it.
* [proxy] defender-endpoint/configure-proxy-internet.md: ``TelemetryProxyServer`` is ``servername:port or
  ip:port`` (REG_SZ); Defender Antivirus' ``ProxyServer`` "must have either http:// or https://".
* [connectivity] defender-endpoint/configure-device-connectivity.md: "Enforcing proxy (user) authentication
  breaks connectivity": the sensor's proxy user and password cannot be used on a v3 host.
* [verify] defender-endpoint/verify-connectivity.md: "When the TelemetryProxyServer is set in the registry or
  via Group Policy, Defender for Endpoint falls back to direct connectivity if Defender for Endpoint fails to
  access the defined proxy."
* **When the change is read.** No Microsoft page says when SENSE (and SenseIdentity inside it) or Defender
  Antivirus read a changed static proxy, or that a restart is needed; [proxy] says only that Defender Antivirus
  "caches the last known working proxy", and Microsoft's cmdlet restarts nothing. So nothing is restarted, and
  the line says that the change applies when Defender for Endpoint next reads it (:data:`NEXT_READ`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _catalogue as mde
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_plan as config_plan

URL_VARIABLE = config_plan.ROLE_VARIABLES["url"]
CREDENTIAL_VARIABLES = (config_plan.ROLE_VARIABLES["username"], config_plan.ROLE_VARIABLES["password"])
SETTINGS = (mde.TELEMETRY_PROXY_SERVER, mde.AV_PROXY_SERVER)  # what Set-MDISensorProxyConfiguration writes for v3
CONNECTIVITY_PAGE = "learn.microsoft.com/defender-endpoint/configure-device-connectivity"
NEXT_READ = ("Defender for Endpoint takes it when it next reads its static proxy (Microsoft documents no restart "
             "for it; Set-MDISensorProxyConfiguration restarts nothing on a sensor v3)")


def telemetry_value(url: str) -> str:
    """``TelemetryProxyServer`` for a proxy URL: ``host:port`` ([proxy]), the scheme's default port when the URL
    has none (``http://proxy.corp`` -> ``proxy.corp:80``)."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if parts.port is None:
        netloc += ":%d" % (443 if parts.scheme.lower() == "https" else 80)
    return netloc


def av_value(url: str) -> str:
    """Defender Antivirus' ``ProxyServer`` for a proxy URL: the URL with its scheme ([proxy]), no trailing slash, and the
    port :func:`telemetry_value` gives when the URL has none (defender-docs configure-proxy-internet: the format is
    ``<server name or ip>:<port>``; ``http://proxy.corp`` -> ``http://proxy.corp:80``, which the collection's own check
    of that setting accepts, and the two values name the same port)."""
    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.port is None and parts.netloc:
        return "%s://%s" % (parts.scheme, telemetry_value(text))
    return text


def wanted(url: str | None, owner: str) -> list:
    """What the sensor v3's proxy needs, as :class:`_mde._catalogue.Wanted` for ``options["also"]`` of :func:`_mde._run.run`:
    both values for ``url``, or both removed (``None``: ``atp_proxy_state: absent``)."""
    if url is None:
        return [mde.Wanted(setting, None, owner=owner) for setting in SETTINGS]
    return [mde.Wanted(mde.TELEMETRY_PROXY_SERVER, telemetry_value(url), owner=owner),
            mde.Wanted(mde.AV_PROXY_SERVER, av_value(url), owner=owner)]


def owner(v: dict) -> str:
    """Which role variable gives the sensor v3's proxy, for the messages: the sensor's proxy URL, the WinINet
    source, or ``atp_proxy_state=absent``."""
    if (v.get("atp_proxy_state") or "present") == "absent":
        return "atp_proxy_state=absent on this sensor v3 host"
    if v.get(URL_VARIABLE):
        return "the sensor v3's proxy (%s)" % URL_VARIABLE
    source = v.get("atp_proxy_source") or "current_user"
    if source == "settings":
        return "the sensor v3's proxy (atp_proxy_settings.proxy_server)"
    return "the sensor v3's proxy (the proxy server of atp_proxy_source=%s)" % source


def credentials_warning(v: dict, host: str) -> str:
    """A warning when the sensor's proxy credentials are given for a v3 host ('' otherwise); never quotes them."""
    given = [name for name in CREDENTIAL_VARIABLES if v.get(name)]
    if not given or (v.get("atp_proxy_state") or "present") == "absent":
        return ""
    return ("%s %s not used on %s: its sensor v3 connects through Defender for Endpoint, which cannot use an "
            "authenticating proxy (Microsoft, %s: \"Enforcing proxy (user) authentication breaks connectivity\"; "
            "Set-MDISensorProxyConfiguration does not use -ProxyCredential for a sensor v3). Let the proxy allow "
            "the domain controller's traffic to the Defender for Endpoint URLs without authentication"
            % (" and ".join(given), "is" if len(given) == 1 else "are", host, CONNECTIVITY_PAGE))


def fix(url: str | None) -> str:
    """The one-sentence fix of a drifted v3 host."""
    if url is None:
        return "run the configure playbook with atp_proxy_state: absent, or Clear-MDISensorProxyConfiguration on the host"
    return "run the configure playbook, or Set-MDISensorProxyConfiguration -ProxyUrl '%s' on the host" % av_value(url)


def record(url: str | None, changed_settings: list) -> dict:
    """The ``sensor_v3`` part of the job's result: the wanted proxy, the two values, which of them differ(ed)
    (``pending``, from the Defender for Endpoint part's ``changed_settings``), the fix and when the change applies."""
    names = [s.name for s in SETTINGS]
    changed = [n for n in changed_settings if n in names]
    return {
        "proxy": av_value(url) if url else None,
        "values": {w.setting.label: w.value for w in wanted(url, "")},
        "pending": changed,
        "fix": fix(url) if changed else "",
        "applies": NEXT_READ if changed else "",
    }

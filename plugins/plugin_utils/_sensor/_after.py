# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role job's checks of the sensor itself, after its proxy is set: the watch after a restart and the error log
lines (:mod:`_sensor._watch`, :mod:`_sensor._logs`), and the STIG note of the machine-wide WinINet key.

Pure Python, no Ansible imports. Role variables (roles/atp_proxy/meta/argument_specs.yml):

* ``atp_proxy_sensor_start_timeout`` (default 60): after a restart of a v2 sensor's services, how many seconds the
  watch reads them (every 5 s) before it decides ``running``, ``stopped again`` or ``not started``; 0 reads once;
* ``atp_proxy_sensor_logs`` (default true): read the sensor's two error logs, the lines written during the watch
  after a restart, the recent ones in a check run (``--check``, or the check playbook);
* ``atp_proxy_stig_warning`` (default true): the STIG note below.

**STIG note.** DISA's Internet Explorer STIG requires the policy "Make proxy settings per-machine (rather than
per-user)" *disabled*, i.e. ``ProxySettingsPerUser`` = 1 (IE8 STIG DTBI367, "Internet Explorer is not configured to
disable making Proxy Settings Per Machine"; the IE STIGs' vulnerability V-3430). A hardened host found with
``ProxySettingsPerUser=0`` is therefore likely to be set back to 1 by the next Group Policy refresh, and then every
account reads its own value again, not the machine-wide one this run wrote. The note says so whenever the
collection writes (or in check mode would write) the machine-wide key.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _logs as sensor_logs
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _watch as sensor_watch

PREFIX = "atp_proxy_"
DEFAULT_START_TIMEOUT = 60
MAX_START_TIMEOUT = 600

STIG_NOTE = ("STIG: this host has ProxySettingsPerUser=0 and the machine-wide WinINet key was the target, but DISA's "
             "Internet Explorer STIG (V-3430, DTBI367) requires ProxySettingsPerUser=1: on a hardened host a Group "
             "Policy refresh may set it back, and then each account reads its own value again; set the per-account "
             "values too (atp_proxy_method: sensor_config avoids WinINet), or silence this with "
             "atp_proxy_stig_warning: false")


def watch_seconds(v: dict) -> int:
    """``atp_proxy_sensor_start_timeout`` (checked by :func:`problems`)."""
    value = v.get(PREFIX + "sensor_start_timeout")
    return DEFAULT_START_TIMEOUT if value is None else int(value)


def problems(v: dict) -> list:
    value = v.get(PREFIX + "sensor_start_timeout")
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_START_TIMEOUT:
        return ["atp_proxy_sensor_start_timeout: %d; give 0 to %d seconds (0 reads the services once)"
                % (value, MAX_START_TIMEOUT)]
    return []


SECRET_SUFFIXES = ("_password", "_secret", "_token")


def secrets(v: dict) -> list:
    """Every secret the run was given, masked out of the log lines wherever it appears: each ``atp_proxy_*_password``,
    ``*_secret`` or ``*_token`` value, the password inside any ``atp_proxy_*`` URL, and a proxy user's credentials as
    a request line carries them (``Proxy-Authorization: Basic``, ``<name>_username`` with ``<name>_password``); each
    as given and URL-quoted (as a proxy URL in a log line carries it)."""
    found = []
    for name, value in v.items():
        if not name.startswith(PREFIX) or not isinstance(value, str) or not value:
            continue
        if name.endswith(SECRET_SUFFIXES):
            found.append(value)
            user = v.get(name[:-len("password")] + "username") if name.endswith("_password") else None
            if isinstance(user, str) and user:
                found.append(base64.b64encode(("%s:%s" % (user, value)).encode()).decode())
        password = redaction.userinfo_secret(value)
        if password:
            found.append(password)
    return sorted({form for value in found for form in (value, quote(value, safe=""), quote(value))})


def log_files(v: dict, discovery: dict) -> list:
    """The error logs of a v2 sensor (none when ``atp_proxy_sensor_logs`` is false or there is no v2 sensor)."""
    found = (discovery or {}).get("sensor") or {}
    if not v.get(PREFIX + "sensor_logs", True) or found.get("generation") != "v2":
        return []
    return sensor_watch.log_paths(found.get("install_folder"))


def _public(watched: dict) -> dict:
    return {k: val for k, val in (watched or {}).items() if k not in ("samples", "logs")}


def after_run(execute, v: dict, discovery: dict, watched: dict, predicted: bool) -> dict:
    """``{sensor_watch, sensor_logs}`` for the job's result: what the watch after a restart saw, or, in a check
    run (nothing restarted), the recent error lines (1 round trip, v2 sensors only). Raises Disconnected."""
    if watched:
        return {"sensor_watch": _public(watched), "sensor_logs": watched.get("logs") or {}}
    files = log_files(v, discovery)
    if not predicted or not files:
        return {"sensor_watch": {}, "sensor_logs": {}}
    recent = sensor_watch.read(execute, [], files, 0, secrets(v), since_start=False)
    return {"sensor_watch": {}, "sensor_logs": recent["logs"]}


def logs_text(logs: dict) -> str:
    """The host line's clause for the logs ('' when none was read or nothing was found)."""
    if (logs or {}).get("error"):
        return "sensor logs not read: %s" % logs["error"]
    found = sensor_logs.text(logs)
    if not found:
        return ""
    return "sensor log%s: %s" % (" since the restart" if logs.get("since_restart") else " (recent)", found)

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sensor's error log lines, read by :mod:`_sensor._watch`: parsed into entries, matched against the failures
Microsoft documents, each with an outcome and a one-sentence fix; any other error shown truncated and masked.

Pure Python, no Ansible imports. Sources (docs/troubleshooting.md "The sensor's own logs"):

* *Troubleshooting Microsoft Defender for Identity known issues* (``MicrosoftDocs/defender-docs``
  ``defender-for-identity/troubleshooting-known-issues.md``, ms.date 02/04/2026):

  - "Sensor failure communication error": ``System.Net.WebException: Unable to connect to the remote server``
    -> "Make sure that communication isn't blocked for localhost, TCP port 444";
  - "Proxy authentication problem presents as a licensing error": ``validateCreateSensorResult=LicenseInvalid``,
    the proxy "might respond ... with error 401 or 403 instead of error 407", which the sensor "interprets ... as a
    licensing issue";
  - "Proxy authentication problem presents as a connection error": "The sensor failed to connect to service.",
    caused when "the trusted root certification authorities certificates required by Defender for Identity are
    missing";
  - "ApplyInternal failed two way SSL connection to service error": "The issue can be caused by a proxy with SSL
    inspection enabled", or when ``SystemDefaultTlsVersions`` or ``SchUseStrongCrypto`` are not 1.

* *Troubleshooting ... using the Defender for Identity logs* (``troubleshooting-using-logs.md``, ms.date
  06/15/2026): where the logs are, and that the ``*-Errors.log`` files hold "just the errors".

An entry starts with ``yyyy-mm-dd hh:mm:ss.ffff <Level> <Source>`` (the known-issues page's samples, e.g.
``2021-01-19 03:45:00.0000 Error CommunicationWebClient...``); the lines after it (a stack trace, the rest of a
message) belong to it. Text before the first entry in a tail (the end of an entry cut by the byte bound) is dropped.
"""

from __future__ import annotations

import re

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction

MASK = redaction.MASK
MAX_LINE = 300  # characters of an unknown error shown
MAX_UNKNOWN = 3  # unknown errors shown per run (the newest); the count says how many there were
RECENT = 20  # entries kept per file in a check run (the newest)

ENTRY = re.compile(r"^(?P<when>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?)\s+(?P<level>[A-Za-z]+)\s+(?P<rest>.*)$")

# (outcome, what the log says, case-insensitive pattern, the cause, one-sentence fix)
KNOWN = (
    ("proxy_auth_as_license", "validateCreateSensorResult=LicenseInvalid",
     re.compile(r"validateCreateSensorResult=LicenseInvalid", re.I),
     "the proxy answered 401 or 403 instead of 407, which the sensor reads as a licensing error",
     "Let the sensor reach *.atp.azure.com through the proxy without authentication, or make the proxy answer "
     "407 to an unauthenticated request (Microsoft: troubleshooting-known-issues, 'Proxy authentication problem "
     "presents as a licensing error')."),
    ("missing_root_ca", "The sensor failed to connect to service",
     re.compile(r"The sensor failed to connect to service", re.I),
     "the trusted root certificates Defender for Identity needs are missing",
     "Import DigiCert Global Root G2 (commercial) or DigiCert Global Root CA (GCC High) into "
     "Cert:\\LocalMachine\\Root (the readiness check names the missing one)."),
    ("two_way_ssl", "ApplyInternal failed two way SSL connection to service",
     re.compile(r"ApplyInternal failed two way SSL connection to service", re.I),
     "a proxy inspects TLS, or the .NET SystemDefaultTlsVersions or SchUseStrongCrypto values are not 1",
     "Exempt *.atp.azure.com from TLS inspection on the proxy, and set SystemDefaultTlsVersions and "
     "SchUseStrongCrypto to 1 under HKLM\\SOFTWARE\\(WOW6432Node\\)Microsoft\\.NETFramework\\v4.0.30319 "
     "(atp_proxy_fix_tls: true sets them)."),
    ("localhost_444_blocked", "Unable to connect to the remote server",
     re.compile(r"Unable to connect to the remote server", re.I),
     "the sensor cannot reach its own local service on localhost TCP port 444",
     "Allow localhost TCP 444 on the domain controller (host firewall, endpoint protection), then restart "
     "AATPSensor."),
)


def mask(text: str, secrets=()) -> str:
    """Credentials out of a log line: ``http://user:pass@proxy`` -> ``http://user:********@proxy``, the value of a
    password-like ``key=value``, and every given secret wherever it appears (:mod:`_common._redaction`)."""
    text = redaction.redact(text, secrets)
    return redaction.mask_key_values(redaction.mask_credentials(text))


def entries(data: bytes) -> list:
    """``[{when, level, text}]`` in file order: each entry's first line and its continuation lines joined."""
    text = (data or b"").decode("utf-8", errors="replace").replace("\r\n", "\n")
    out = []
    for raw in text.split("\n"):
        match = ENTRY.match(raw)
        if match:
            out.append({"when": match.group("when"), "level": match.group("level"),
                        "text": match.group("rest").strip()})
        elif out and raw.strip():
            out[-1]["text"] += " " + raw.strip()
    return out


def _short(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[:MAX_LINE - 3] + "..."


def classify(logs: dict, since_restart: bool, secrets=()) -> dict:
    """From ``{path: bytes}`` (the watch's ``logs``): ``{read, since_restart, entries, known: [...],
    unknown: [...], unknown_count, files: {path: entries}}``.

    ``known`` has one item per documented failure seen (``outcome``, ``says``, ``cause``, ``fix``, ``count``,
    ``last``: when, ``file``); ``unknown`` the newest other error entries, masked and cut to :data:`MAX_LINE`
    characters; nothing is dropped without being counted. A check run keeps the newest :data:`RECENT` entries of
    each file; after a restart, every entry written since."""
    known, unknown, files, total = {}, [], {}, 0
    for path, data in (logs or {}).items():
        found = entries(data)
        if not since_restart:
            found = found[-RECENT:]
        files[path] = len(found)
        total += len(found)
        name = path.rsplit("\\", 1)[-1]
        for entry in found:
            for outcome, says, pattern, cause, fix in KNOWN:
                if pattern.search(entry["text"]):
                    item = known.setdefault(outcome, {"outcome": outcome, "says": says, "cause": cause, "fix": fix,
                                                      "count": 0, "last": "", "file": name})
                    item["count"] += 1
                    item["last"] = max(item["last"], entry["when"])
                    break
            else:
                if entry["level"].lower() in ("error", "fatal", "warn", "warning"):
                    unknown.append({"when": entry["when"], "level": entry["level"], "file": name,
                                    "text": _short(mask(entry["text"], secrets))})
    unknown.sort(key=lambda e: e["when"])
    return {"read": bool(logs), "since_restart": since_restart, "entries": total, "files": files,
            "known": sorted(known.values(), key=lambda k: k["last"], reverse=True),
            "unknown": unknown[-MAX_UNKNOWN:], "unknown_count": len(unknown)}


def text(result: dict) -> str:
    """One clause for the host line: the documented failures with their fix, then how many other errors."""
    if not result or not result.get("read"):
        return ""
    parts = ["%s (%s): %s" % (k["says"], k["cause"], k["fix"]) for k in result.get("known") or []]
    if result.get("unknown_count"):
        newest = (result.get("unknown") or [{}])[-1]
        parts.append("%d other error(s), newest: %s" % (result["unknown_count"], newest.get("text", "")))
    return "; ".join(parts)

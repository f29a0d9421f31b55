# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readiness checks of a Defender for Identity sensor host, each with a one-line fix.

Pure Python, no Ansible imports: the checks take what the collection's state query returned
(:mod:`_host._state_query`, read by :mod:`_sensor._discovery`). Sources (docs/dev/sensor_sources.md):

* **Root CAs.** Microsoft's troubleshooting page ("Proxy authentication problem presents as a
  connection error", defender-for-identity/troubleshooting-known-issues.md) says the sensor fails
  to connect when the trusted roots it needs are missing from ``Cert:\\LocalMachine\\Root``:
  *DigiCert Global Root G2* for commercial customers, *DigiCert Global Root CA* for US Government
  GCC High. That page shows placeholder thumbprints; Test-MdiReadiness.ps1
  (microsoft/Microsoft-Defender-for-Identity, ``$settings.RootCertificates``, lines 124-127) has the
  real ones and passes when at least one of them is present (``Get-mdiCertReadiness``, lines 405-419).
* **.NET TLS.** The same page ("ApplyInternal failed two way SSL connection to service") says the
  sensor fails when ``SystemDefaultTlsVersions`` or ``SchUseStrongCrypto`` are not 1 under
  ``HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319`` and its ``WOW6432Node`` twin.
  Test-MdiReadiness.ps1 does not check these. ``v2.0.50727`` (.NET 2.0-3.5 applications,
  KB3154518) is not named by any Defender for Identity page; it is checked only when asked for.
* **Localhost TCP 444** (v2 sensors). The same page ("Sensor failure communication error": "Unable to connect to
  the remote server") says: "Make sure that communication isn't blocked for localhost, TCP port 444". The state
  query lists the TCP listeners on that port (``IPGlobalProperties.GetActiveTcpListeners()``) and the enabled
  *block* rules of the Windows Firewall (``HNetCfg.FwPolicy2``); the check passes when something listens on the
  loopback or any address and no enabled block rule covers TCP 444 for 127.0.0.1. A stopped ``AATPSensor`` listens
  on nothing, so the fix then starts it.
"""

from __future__ import annotations

ROOT_CERTIFICATES = (
    {"thumbprint": "DF3C24F9BFD666761B268073FE06D1CC8D4F82A4", "name": "DigiCert Global Root G2",
     "cloud": "commercial", "url": "https://cacerts.digicert.com/DigiCertGlobalRootG2.crt",
     "file": "DigiCertGlobalRootG2.crt"},
    {"thumbprint": "A8985D3A65E5E5C4B2D7D66D40C6DD2FB19C5436", "name": "DigiCert Global Root CA",
     "cloud": "gcc_high", "url": "https://cacerts.digicert.com/DigiCertGlobalRootCA.crt",
     "file": "DigiCertGlobalRootCA.crt"},
)

DOTNET_VERSIONS = ("v4.0.30319",)  # the versions Microsoft's troubleshooting page names
KNOWN_DOTNET_VERSIONS = ("v4.0.30319", "v2.0.50727")
TLS_VALUES = ("SchUseStrongCrypto", "SystemDefaultTlsVersions")


def tls_key_paths(versions=DOTNET_VERSIONS) -> list:
    """Registry paths of the .NET Framework keys to check: native and WOW6432Node, per version."""
    paths = []
    for version in versions:
        paths.append("HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\%s" % version)
        paths.append("HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\%s" % version)
    return paths


def _reg_path(path: str) -> str:
    return path.replace("HKLM:\\", "HKLM\\", 1)


def check_root_certificates(present: dict) -> dict:
    """From the state query's ``root_certificates``: thumbprint -> whether ``Cert:\\LocalMachine\\Root\\<thumbprint>``
    exists (``Test-Path``, :mod:`_host._state_query`), for the thumbprints of :data:`ROOT_CERTIFICATES`.

    ``ok`` as Test-MdiReadiness decides it: at least one of the documented roots is present.
    """
    found = {str(t).upper() for t, there in (present or {}).items() if there}
    roots = []
    for root in ROOT_CERTIFICATES:
        entry = {"thumbprint": root["thumbprint"], "name": root["name"], "cloud": root["cloud"],
                 "present": root["thumbprint"] in found, "fix": ""}
        if not entry["present"]:
            entry["fix"] = ("Download %s and run: Import-Certificate -FilePath %s -CertStoreLocation "
                            "Cert:\\LocalMachine\\Root" % (root["url"], root["file"]))
        roots.append(entry)
    return {"ok": any(r["present"] for r in roots), "store": "LocalMachine\\Root", "roots": roots}


def check_tls(keys: dict) -> dict:
    """From ``{path: (exists, {lower name: (type, value)})}`` of each :func:`tls_key_paths` key.

    A value is ``ok`` when it is the DWORD 1; ``not_set`` when absent (the .NET default then depends
    on the application's target framework); ``wrong`` otherwise.
    """
    values = []
    for path, (exists, found) in keys.items():
        for name in TLS_VALUES:
            kind, data = found.get(name.lower(), (None, None)) if exists else (None, None)
            if kind is None:
                state = "not_set"
            elif kind == "REG_DWORD" and data == 1:
                state = "ok"
            else:
                state = "wrong"
            values.append({
                "path": path, "name": name, "state": state, "type": kind,
                "value": data, "expected": 1,
                "fix": "" if state == "ok" else
                'reg add "%s" /v %s /t REG_DWORD /d 1 /f' % (_reg_path(path), name),
            })
    return {"ok": all(v["state"] == "ok" for v in values), "values": values}


SENSOR_PORT = 444
LOOPBACK_OR_ANY = ("127.0.0.1", "0.0.0.0", "::", "::1")
_ANY = ("*", "", "any")


def _ports_cover(ports: str, port: int) -> bool:
    """Whether a firewall rule's ``LocalPorts`` (``*``, ``444``, ``443-445``, ``80,444``) includes ``port``."""
    for part in str(ports or "*").replace(" ", "").split(","):
        if part.lower() in _ANY:
            return True
        low, dummy, high = part.partition("-")
        if low.isdigit() and (high or low).isdigit() and int(low) <= port <= int(high or low):
            return True
    return False


def _addresses_cover(addresses: str, address: str = "127.0.0.1") -> bool:
    parts = [p.strip().lower() for p in str(addresses or "*").split(",")]
    return any(p in _ANY or p.split("/")[0] in (address, "127.0.0.0", "::1") for p in parts)


def check_localhost_port(listeners: list, firewall: dict | None, port: int = SENSOR_PORT) -> dict:
    """From the state query's ``tcp_listeners`` (``[{address, port}]``) and ``firewall`` (``{block_rules: [...]}``):
    ``{ok, port, listening: [addresses], blocked_by: [rule names], fix}``."""
    listening = sorted({str(item.get("address")) for item in listeners or []
                        if int(item.get("port") or 0) == port and str(item.get("address")) in LOOPBACK_OR_ANY})
    blocked = [str(rule.get("name")) for rule in (firewall or {}).get("block_rules") or []
               if int(rule.get("protocol") or 0) in (6, 256) and _ports_cover(rule.get("local_ports"), port)
               and _addresses_cover(rule.get("remote_addresses")) and _addresses_cover(rule.get("local_addresses"))]
    fix = ""
    if not listening:
        fix = ("Nothing listens on localhost TCP %d, which the sensor needs (Microsoft: 'Sensor failure communication "
               "error'): start AATPSensor (Start-Service AATPSensor) and check what holds the port "
               "(Get-NetTCPConnection -LocalPort %d)" % (port, port))
    elif blocked:
        fix = ("The Windows Firewall rule '%s' blocks TCP %d for localhost: allow localhost TCP %d (for example "
               "Disable-NetFirewallRule -DisplayName '%s', or narrow the rule so it does not cover 127.0.0.1)"
               % (blocked[0], port, port, blocked[0]))
    return {"ok": bool(listening) and not blocked, "port": port, "listening": listening, "blocked_by": blocked,
            "fix": fix}


def summarize(root: dict | None, tls: dict | None, local_port: dict | None = None) -> dict:
    """The readiness result: each check, ``ok`` over all of them, and the fixes as one list."""
    checks = {k: v for k, v in (("root_certificates", root), ("tls", tls), ("localhost_444", local_port))
              if v is not None}
    fixes = []
    if local_port is not None and local_port["fix"]:
        fixes.append(local_port["fix"])
    if root is not None and not root["ok"]:
        fixes += [r["fix"] for r in root["roots"]]
    if tls is not None:
        fixes += [v["fix"] for v in tls["values"] if v["fix"]]
    return dict(checks, ok=all(c["ok"] for c in checks.values()), fixes=fixes)


def tls_fix_values(readiness: dict) -> list:
    """The (path, name, data) DWORD writes that make the TLS check pass (for an opt-in ``win_regedit``)."""
    tls = readiness.get("tls") or {"values": []}
    return [(v["path"], v["name"], 1) for v in tls["values"] if v["state"] != "ok"]

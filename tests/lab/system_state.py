# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Emulated Windows system state beyond the registry and files: services, processes, certificate stores.

TEST ONLY. Kept out of ``state.py`` in its own per-host file::

    <lab>/hosts/<name>/system.json   {"services": {lower name: service}, "processes": [...],
                                      "stores": {"LocalMachine\\My": [cert], "LocalMachine\\Root": [cert]},
                                      "faults": {"service_fails_to_start": [lower name]}}
    <lab>/hosts/<name>/lab_keys/<thumbprint>.pem   private keys the tests hold (never on the "host")

A host without ``system.json`` has no services, no processes, an empty ``LocalMachine\\My`` and the
two root CAs Microsoft documents for Defender for Identity in ``LocalMachine\\Root`` (as a Windows
Server with root auto-update has them). The stand-ins ``win_service_info``, ``win_service``,
``win_certificate_info`` and ``win_powershell`` read and change it; the registry and the file system
stay in ``state.py`` (``Host.set_value``, ``Host.write_file``).

Seeding helpers build the host kinds the role handles: :func:`seed_v2_sensor` (services, a realistic
``SensorConfiguration.json`` under the install folder and the sensor's certificate, whose private key
the test keeps), :func:`seed_v3_sensor`, :func:`seed_per_machine_policy`, :func:`seed_missing_root_ca`
and :func:`seed_tls`. No Ansible imports.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from tests.lab import state

SYSTEM_FILE = "system.json"
FAULTS = {"service_fails_to_start": "list of service names: Start-Service fails for them ('cannot be started')",
          "service_stops_again": "service name -> N: it runs after a start, and stops N seconds later (a sensor "
                                 "that cannot connect stops again; seen by a script that waits, Start-Sleep)",
          "sensor_log_on_start": "service name -> [lines]: written to its error log after each start",
          "service_fails_to_start_times": "service name -> N: its next N starts fail, later ones succeed"}

SENSOR_VERSION = "2.250.18972.54612"
INSTALL_ROOT = "C:\\Program Files\\Azure Advanced Threat Protection Sensor"
SENSOR_SERVICE = "AATPSensor"
UPDATER_SERVICE = "AATPSensorUpdater"
SENSOR_DISPLAY = "Azure Advanced Threat Protection Sensor"
UPDATER_DISPLAY = "Azure Advanced Threat Protection Sensor Updater"
MDE_FOLDER = "C:\\Program Files\\Windows Defender Advanced Threat Protection"
POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings"
MACHINE_CONNECTIONS = "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections"
ATP_POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection"
DEFENDER_POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Defender"
DATACOLLECTION_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection"
DOTNET_KEYS = ("HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319",
               "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319")

# The root CAs Defender for Identity needs (troubleshooting-known-issues.md; thumbprints from
# Test-MdiReadiness.ps1 $settings.RootCertificates): the public certificates, as Windows ships them.
DIGICERT_GLOBAL_ROOT_G2 = """\
-----BEGIN CERTIFICATE-----
MIIDjjCCAnagAwIBAgIQAzrx5qcRqaC7KGSxHQn65TANBgkqhkiG9w0BAQsFADBh
MQswCQYDVQQGEwJVUzEVMBMGA1UEChMMRGlnaUNlcnQgSW5jMRkwFwYDVQQLExB3
d3cuZGlnaWNlcnQuY29tMSAwHgYDVQQDExdEaWdpQ2VydCBHbG9iYWwgUm9vdCBH
MjAeFw0xMzA4MDExMjAwMDBaFw0zODAxMTUxMjAwMDBaMGExCzAJBgNVBAYTAlVT
MRUwEwYDVQQKEwxEaWdpQ2VydCBJbmMxGTAXBgNVBAsTEHd3dy5kaWdpY2VydC5j
b20xIDAeBgNVBAMTF0RpZ2lDZXJ0IEdsb2JhbCBSb290IEcyMIIBIjANBgkqhkiG
9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuzfNNNx7a8myaJCtSnX/RrohCgiN9RlUyfuI
2/Ou8jqJkTx65qsGGmvPrC3oXgkkRLpimn7Wo6h+4FR1IAWsULecYxpsMNzaHxmx
1x7e/dfgy5SDN67sH0NO3Xss0r0upS/kqbitOtSZpLYl6ZtrAGCSYP9PIUkY92eQ
q2EGnI/yuum06ZIya7XzV+hdG82MHauVBJVJ8zUtluNJbd134/tJS7SsVQepj5Wz
tCO7TG1F8PapspUwtP1MVYwnSlcUfIKdzXOS0xZKBgyMUNGPHgm+F6HmIcr9g+UQ
vIOlCsRnKPZzFBQ9RnbDhxSJITRNrw9FDKZJobq7nMWxM4MphQIDAQABo0IwQDAP
BgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBhjAdBgNVHQ4EFgQUTiJUIBiV
5uNu5g/6+rkS7QYXjzkwDQYJKoZIhvcNAQELBQADggEBAGBnKJRvDkhj6zHd6mcY
1Yl9PMWLSn/pvtsrF9+wX3N3KjITOYFnQoQj8kVnNeyIv/iPsGEMNKSuIEyExtv4
NeF22d+mQrvHRAiGfzZ0JFrabA0UWTW98kndth/Jsw1HKj2ZL7tcu7XUIOGZX1NG
Fdtom/DzMNU+MeKNhJ7jitralj41E6Vf8PlwUHBHQRFXGU7Aj64GxJUTFy8bJZ91
8rGOmaFvE7FBcf6IKshPECBV1/MUReXgRPTqh5Uykw7+U0b6LJ3/iyK5S9kJRaTe
pLiaWN0bfVKfjllDiIGknibVb63dDcY3fe0Dkhvld1927jyNxF1WW6LZZm6zNTfl
MrY=
-----END CERTIFICATE-----
"""

DIGICERT_GLOBAL_ROOT_CA = """\
-----BEGIN CERTIFICATE-----
MIIDrzCCApegAwIBAgIQCDvgVpBCRrGhdWrJWZHHSjANBgkqhkiG9w0BAQUFADBh
MQswCQYDVQQGEwJVUzEVMBMGA1UEChMMRGlnaUNlcnQgSW5jMRkwFwYDVQQLExB3
d3cuZGlnaWNlcnQuY29tMSAwHgYDVQQDExdEaWdpQ2VydCBHbG9iYWwgUm9vdCBD
QTAeFw0wNjExMTAwMDAwMDBaFw0zMTExMTAwMDAwMDBaMGExCzAJBgNVBAYTAlVT
MRUwEwYDVQQKEwxEaWdpQ2VydCBJbmMxGTAXBgNVBAsTEHd3dy5kaWdpY2VydC5j
b20xIDAeBgNVBAMTF0RpZ2lDZXJ0IEdsb2JhbCBSb290IENBMIIBIjANBgkqhkiG
9w0BAQEFAAOCAQ8AMIIBCgKCAQEA4jvhEXLeqKTTo1eqUKKPC3eQyaKl7hLOllsB
CSDMAZOnTjC3U/dDxGkAV53ijSLdhwZAAIEJzs4bg7/fzTtxRuLWZscFs3YnFo97
nh6Vfe63SKMI2tavegw5BmV/Sl0fvBf4q77uKNd0f3p4mVmFaG5cIzJLv07A6Fpt
43C/dxC//AH2hdmoRBBYMql1GNXRor5H4idq9Joz+EkIYIvUX7Q6hL+hqkpMfT7P
T19sdl6gSzeRntwi5m3OFBqOasv+zbMUZBfHWymeMr/y7vrTC0LUq7dBMtoM1O/4
gdW7jVg/tRvoSSiicNoxBN33shbyTApOB6jtSj1etX+jkMOvJwIDAQABo2MwYTAO
BgNVHQ8BAf8EBAMCAYYwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUA95QNVbR
TLtm8KPiGxvDl7I90VUwHwYDVR0jBBgwFoAUA95QNVbRTLtm8KPiGxvDl7I90VUw
DQYJKoZIhvcNAQEFBQADggEBAMucN6pIExIK+t1EnE9SsPTfrgT1eXkIoyQY/Esr
hMAtudXH/vTBH1jLuG2cenTnmCmrEbXjcKChzUyImZOMkXDiqw8cvpOp/2PV5Adg
06O/nVsJ8dWO41P0jmP6P6fbtGbfYmbW0W5BjfIttep3Sp+dWOIrWcBAI+0tKIJF
PnlUkiaY4IBIqDfv8NZ5YBberOgOzW6sRBc4L0na4UU+Krk2U886UAb3LujEV0ls
YSEY1QSteDwsOoBrp+uvFRTp2InBuThs4pFsiv9kuXclVzDAGySj4dzp30d8tbQk
CAUw7C29C79Fv1C5qfPrmAESrciIxpg0X40KPMbp1ZWVbd4=
-----END CERTIFICATE-----
"""

ROOT_CERTIFICATES = {
    "DF3C24F9BFD666761B268073FE06D1CC8D4F82A4": DIGICERT_GLOBAL_ROOT_G2,
    "A8985D3A65E5E5C4B2D7D66D40C6DD2FB19C5436": DIGICERT_GLOBAL_ROOT_CA,
}


def _root_store() -> list:
    return [{"pem": pem, "has_private_key": False, "friendly_name": name, "archived": False}
            for pem, name in ((DIGICERT_GLOBAL_ROOT_G2, "DigiCert Global Root G2"),
                              (DIGICERT_GLOBAL_ROOT_CA, "DigiCert"))]


def new_system() -> dict:
    return {"services": {}, "processes": [], "faults": {},
            "stores": {"LocalMachine\\My": [], "LocalMachine\\Root": _root_store()}}


# ---------------------------------------------------------------------------
# The per-host file
# ---------------------------------------------------------------------------
def system_path(host: state.Host) -> Path:
    return host.dir / SYSTEM_FILE


def read(host: state.Host) -> dict:
    return state.read_json(system_path(host), default=new_system)


def transaction(host: state.Host, write: bool = True):
    """The host's system.json under its lock (the stand-ins change it through this)."""
    return state.locked_json(system_path(host), default=new_system, write=write)


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------
def add_service(host: state.Host, name: str, display_name: str, path: str, username: str, state_: str = "started",
                start_mode: str = "auto", dependencies=(), description: str = "") -> None:
    """An installed service. ``username`` is the SCM's StartName (``LocalSystem``, ``NT AUTHORITY\\LocalService``)."""
    with transaction(host) as system:
        system["services"][name.lower()] = {
            "name": name, "display_name": display_name, "path": path, "username": username, "state": state_,
            "start_mode": start_mode, "dependencies": list(dependencies), "description": description or display_name,
            "process_id": 0,
        }
        if state_ == "started":
            system["services"][name.lower()]["process_id"] = _next_pid(system)


def _next_pid(system: dict) -> int:
    used = {s.get("process_id") for s in system["services"].values()} | {p["pid"] for p in system["processes"]}
    pid = 4100
    while pid in used:
        pid += 4
    return pid


def service(host: state.Host, name: str) -> dict | None:
    return read(host)["services"].get(name.lower())


def service_state(host: state.Host, name: str) -> str | None:
    entry = service(host, name)
    return entry["state"] if entry else None


def set_service(host: state.Host, name: str, **changes) -> None:
    with transaction(host) as system:
        system["services"][name.lower()].update(changes)


def fail_to_start(host: state.Host, name: str, on: bool = True, times: int | None = None) -> None:
    """Fault: ``Start-Service`` of ``name`` fails ("cannot be started due to the following error"); with ``times``,
    only its next ``times`` starts fail (a service that a rollback brings back)."""
    with transaction(host) as system:
        if times is not None:
            counts = system["faults"].setdefault("service_fails_to_start_times", {})
            counts[name.lower()] = int(times) if on else 0
            return
        names = set(system["faults"].get("service_fails_to_start", []))
        names = names | {name.lower()} if on else names - {name.lower()}
        system["faults"]["service_fails_to_start"] = sorted(names)


def stop_again(host: state.Host, name: str, seconds: int | None = 30) -> None:
    """Fault: ``name`` starts (``win_service`` reports it started and it runs) but stops again ``seconds`` after each
    start, as a sensor that cannot reach its service does. A script that waits (``Start-Sleep``, whose seconds the
    lab's PowerShell executor counts without sleeping) sees it stop, and from then on it is stopped.
    ``seconds=None`` clears the fault."""
    with transaction(host) as system:
        faults = system["faults"].setdefault("service_stops_again", {})
        if seconds is None:
            faults.pop(name.lower(), None)
        else:
            faults[name.lower()] = int(seconds)
            entry = system["services"].get(name.lower())
            if entry is not None and entry.get("state") == "started" and not entry.get("started_at"):
                entry["started_at"] = time.time()


def observe(host: state.Host, name: str, now: float) -> str | None:
    """The state of ``name`` at ``now`` (the executor's clock): a ``service_stops_again`` service past its seconds
    is stopped from then on (written, so every later read agrees). A ``sensor_log_on_start`` service has written its
    lines to its error log once after each start (the first read at least LOG_DELAY seconds after the start writes
    them: a read right after the start finds nothing yet, as on Windows)."""
    with transaction(host) as system:
        entry = system["services"].get(name.lower())
        if entry is None:
            return None
        lines = (system["faults"].get("sensor_log_on_start") or {}).get(name.lower())
        started = float(entry.get("started_at") or now)
        if lines and entry.get("state") == "started" and entry.get("log_pending") and now - started >= LOG_DELAY:
            entry["log_pending"] = False
            write_sensor_log(host, lines, updater=name.lower() == UPDATER_SERVICE.lower(), entry=entry)
        seconds = (system["faults"].get("service_stops_again") or {}).get(name.lower())
        if seconds is not None and entry.get("state") == "started" and now - float(entry.get("started_at") or now) \
                >= seconds:
            entry.update(state="stopped", process_id=0)
        return entry["state"]


LOG_DELAY = 5  # seconds after a start before a sensor_log_on_start service writes its lines


def log_on_start(host: state.Host, name: str, lines) -> None:
    """Fault: after each start, ``name`` writes ``lines`` (messages, e.g. "Error CommunicationWebClient ...
    ApplyInternal failed two way SSL connection to service.") to its error log, as a sensor that cannot connect does.
    ``lines=None`` clears it."""
    with transaction(host) as system:
        faults = system["faults"].setdefault("sensor_log_on_start", {})
        if lines is None:
            faults.pop(name.lower(), None)
        else:
            faults[name.lower()] = list(lines)
            entry = system["services"].get(name.lower())
            if entry is not None and entry.get("state") == "started":
                entry["log_pending"] = True  # as if it had just started
                entry.setdefault("started_at", time.time())


def sensor_log_path(host: state.Host, updater: bool = False, entry: dict | None = None) -> str:
    """``<version folder>\\Logs\\Microsoft.Tri.Sensor[.Updater]-Errors.log`` of the host's v2 sensor
    (troubleshooting-using-logs.md: the Logs folder of the version folder)."""
    entry = entry or service(host, SENSOR_SERVICE) or {}
    folder = str(entry.get("path") or "").strip('"').rsplit("\\", 1)[0]
    name = "Microsoft.Tri.Sensor.Updater-Errors.log" if updater else "Microsoft.Tri.Sensor-Errors.log"
    return "%s\\Logs\\%s" % (folder, name)


def write_sensor_log(host: state.Host, lines, updater: bool = False, entry: dict | None = None,
                     when: datetime.datetime | None = None) -> str:
    """Append ``lines`` to the sensor's error log as entries ``yyyy-mm-dd hh:mm:ss.ffff <line>`` (UTC, the format
    of the known-issues page's samples; a line that starts with a date is written as it is). Returns the path."""
    path = sensor_log_path(host, updater, entry)
    stamp = (when or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-2]
    text = "".join((line if re.match(r"^\d{4}-\d{2}-\d{2} ", line) else "%s %s" % (stamp, line)) + "\r\n"
                   for line in lines)
    local = host.path(path)
    local.parent.mkdir(parents=True, exist_ok=True)
    with open(local, "ab") as handle:
        handle.write(text.encode("utf-8"))
    return path


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------
def add_process(host: state.Host, name: str, path: str | None, owner: str = "NT AUTHORITY\\SYSTEM") -> int:
    with transaction(host) as system:
        pid = _next_pid(system)
        system["processes"].append({"name": name, "pid": pid, "path": path, "owner": owner})
    return pid


def remove_process(host: state.Host, name: str) -> None:
    with transaction(host) as system:
        system["processes"] = [p for p in system["processes"] if p["name"].lower() != name.lower()]


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------
def _der(pem: str) -> bytes:
    body = re.sub(r"-----[A-Z ]+-----|\s", "", pem)
    return base64.b64decode(body)


def thumbprint(pem: str) -> str:
    """What Windows calls the thumbprint: the SHA-1 of the DER certificate, upper-case hex."""
    return hashlib.sha1(_der(pem)).hexdigest().upper()


def add_certificate(host: state.Host, store: str, pem: str, has_private_key: bool = False,
                    friendly_name: str = "") -> str:
    """Put a certificate into ``LocalMachine\\<store>``; returns its thumbprint."""
    key = "LocalMachine\\" + store
    with transaction(host) as system:
        entries = system["stores"].setdefault(key, [])
        entries[:] = [c for c in entries if thumbprint(c["pem"]) != thumbprint(pem)]
        entries.append({"pem": pem, "has_private_key": has_private_key, "friendly_name": friendly_name,
                        "archived": False})
    return thumbprint(pem)


def remove_certificate(host: state.Host, store: str, thumb: str) -> None:
    with transaction(host) as system:
        entries = system["stores"].get("LocalMachine\\" + store, [])
        entries[:] = [c for c in entries if thumbprint(c["pem"]) != thumb.upper()]


def certificates(host: state.Host, store: str, location: str = "LocalMachine") -> list:
    return list(read(host)["stores"].get("%s\\%s" % (location, store), []))


def _crypto():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.x509.oid import NameOID

    return x509, hashes, serialization, padding, rsa, NameOID


def new_sensor_certificate(common_name: str = "Azure ATP Sensor"):
    """(private key, PEM) of a self-signed RSA 2048 certificate, like the one the sensor installs in LocalMachine\\My."""
    x509, hashes, serialization, padding, rsa, NameOID = _crypto()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=730))
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                         data_encipherment=True, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


def keep_private_key(host: state.Host, thumb: str, key) -> Path:
    """Store the private key with the test side of the lab (not in the host's file system)."""
    x509, hashes, serialization, padding, rsa, NameOID = _crypto()
    folder = host.dir / "lab_keys"
    folder.mkdir(exist_ok=True)
    path = folder / ("%s.pem" % thumb)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def private_key(host: state.Host, thumb: str):
    x509, hashes, serialization, padding, rsa, NameOID = _crypto()
    return serialization.load_pem_private_key((host.dir / "lab_keys" / ("%s.pem" % thumb.upper())).read_bytes(), None)


def encrypt_for(key, password: str) -> str:
    """What the sensor and the DefenderForIdentity module store: Base64(RSA-OAEP-SHA256(UTF-16LE password))."""
    x509, hashes, serialization, padding, rsa, NameOID = _crypto()
    cipher = key.public_key().encrypt(password.encode("utf-16-le"), padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    return base64.b64encode(cipher).decode()


def decrypt(host: state.Host, thumb: str, encrypted_bytes: str) -> str:
    """Decrypt ``EncryptedBytes`` with the private key of the certificate ``thumb`` (what the sensor does)."""
    x509, hashes, serialization, padding, rsa, NameOID = _crypto()
    plain = private_key(host, thumb).decrypt(base64.b64decode(encrypted_bytes), padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    return plain.decode("utf-16-le")


# ---------------------------------------------------------------------------
# Host kinds
# ---------------------------------------------------------------------------
@dataclass
class SensorSeed:
    install_folder: str
    config_path: str
    thumbprint: str  # SecretManagerConfigurationCertificateThumbprint
    password_thumbprint: str | None  # the certificate the stored password is encrypted with


ENCODINGS = {
    "ascii": (b"", "ascii"), "utf-8": (b"", "utf-8"), "utf-8-bom": (b"\xef\xbb\xbf", "utf-8"),
    "utf-16-le": (b"\xff\xfe", "utf-16-le"), "utf-16-be": (b"\xfe\xff", "utf-16-be"), "ansi": (b"", "cp1252"),
}


def sensor_configuration(thumb: str, proxy: dict | None, workspace: str = "contoso-corp") -> dict:
    """The content of a SensorConfiguration.json the sensor wrote, in its member order (a file of
    thalpius/Microsoft-Defender-for-Identity-Encrypted-Password, README.md @ 0c44e32)."""
    return {
        "$type": "SensorMandatoryConfiguration",
        "SecretManagerConfigurationCertificateThumbprint": thumb,
        "SensorProxyConfiguration": proxy,
        "WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint": {
            "$type": "EndpointData", "Address": "%ssensorapi.atp.azure.com" % workspace, "Port": 443},
    }


def seed_v2_sensor(host: state.Host, proxy: dict | None = None, version: str = SENSOR_VERSION,
                   encoding: str = "utf-8", newline: str = "\r\n", password_certificate: str = "secret_manager",
                   running: bool = True, workspace: str = "contoso-corp") -> SensorSeed:
    """A Defender for Identity sensor v2.x: AATPSensor (LocalService) and AATPSensorUpdater (LocalSystem)
    in ``<INSTALL_ROOT>\\<version>\\``, its SensorConfiguration.json and its certificate in LocalMachine\\My.

    ``proxy``: None (``"SensorProxyConfiguration": null``) or ``{url, username, password}``; a password is
    stored encrypted as the sensor does. ``password_certificate="other"`` encrypts it with a second
    certificate, as files the sensor wrote itself have been seen to do.
    """
    folder = "%s\\%s\\" % (INSTALL_ROOT, version)
    key, pem = new_sensor_certificate()
    thumb = add_certificate(host, "My", pem, has_private_key=True)
    keep_private_key(host, thumb, key)
    password_thumb = None
    value = None
    if proxy:
        value = {"$type": "SensorProxyConfiguration", "Url": proxy["url"]}
        if proxy.get("username"):
            value["UserName"] = proxy["username"]
            enc_key, password_thumb = key, thumb
            if password_certificate == "other":
                enc_key, other_pem = new_sensor_certificate("Azure ATP Sensor (renewed)")
                password_thumb = add_certificate(host, "My", other_pem, has_private_key=True)
                keep_private_key(host, password_thumb, enc_key)
            value["EncryptedUserPasswordData"] = {"$type": "EncryptedData",
                                                  "EncryptedBytes": encrypt_for(enc_key, proxy["password"]),
                                                  "CertificateThumbprint": password_thumb, "SecretVersion": None}
    for program in ("Microsoft.Tri.Sensor.exe", "Microsoft.Tri.Sensor.Updater.exe"):  # what the services run
        host.write_file(folder + program, b"MZ lab placeholder")
    text = json.dumps(sensor_configuration(thumb, value, workspace), indent=2, ensure_ascii=False)
    bom, codec = ENCODINGS[encoding]
    host.write_file(folder + "SensorConfiguration.json", bom + text.replace("\n", newline).encode(codec))
    add_service(host, SENSOR_SERVICE, SENSOR_DISPLAY, '"%sMicrosoft.Tri.Sensor.exe"' % folder,
                "NT AUTHORITY\\LocalService", "started" if running else "stopped")
    add_service(host, UPDATER_SERVICE, UPDATER_DISPLAY, '"%sMicrosoft.Tri.Sensor.Updater.exe"' % folder,
                "LocalSystem", "started" if running else "stopped")
    listen(host, "127.0.0.1", SENSOR_PORT, SENSOR_SERVICE)  # the sensor's local endpoint, while AATPSensor runs
    return SensorSeed(folder, folder + "SensorConfiguration.json", thumb, password_thumb)


# ---------------------------------------------------------------------------
# TCP listeners and the Windows Firewall (tests/lab/pwsh/surface/network.py reads them)
# ---------------------------------------------------------------------------
SENSOR_PORT = 444  # troubleshooting-known-issues.md: "communication isn't blocked for localhost, TCP port 444"


def listen(host: state.Host, address: str, port: int, service: str | None = None) -> None:
    """A listening TCP socket; with ``service``, only while that service runs."""
    with transaction(host) as system:
        system.setdefault("tcp_listeners", []).append({"address": address, "port": int(port), "service": service})


def stop_listening(host: state.Host, port: int) -> None:
    """Fault: nothing listens on ``port`` any more (another program took it, or the sensor never opened it)."""
    with transaction(host) as system:
        system["tcp_listeners"] = [t for t in system.get("tcp_listeners") or [] if int(t["port"]) != int(port)]


def block_tcp(host: state.Host, name: str, ports: str, remote_addresses: str = "*", direction: int = 1) -> None:
    """Fault: an enabled Windows Firewall rule ``name`` that blocks TCP ``ports`` (``LocalPorts`` syntax)."""
    with transaction(host) as system:
        firewall = system.setdefault("firewall", {"profiles": {"1": True, "2": True, "4": True}, "current": 1,
                                                  "rules": []})
        firewall["rules"].append({"name": name, "enabled": True, "direction": direction, "action": 0, "protocol": 6,
                                  "local_ports": ports, "local_addresses": "*", "remote_addresses": remote_addresses})


def seed_v3_sensor(host: state.Host, telemetry_proxy: str | None = None, defender_proxy: str | None = None,
                   org_id: str = "4f8e2a6b-lab-org") -> None:
    """A Defender for Identity sensor v3.x: Defender for Endpoint (the Sense service, onboarded) running
    SenseIdentity, and the proxy policies Set-MDISensorProxyConfiguration sets for it."""
    host.write_file("%s\\MsSense.exe" % MDE_FOLDER, b"MZ lab placeholder")
    add_service(host, "Sense", "Windows Defender Advanced Threat Protection Service", '"%s\\MsSense.exe"' % MDE_FOLDER,
                "LocalSystem")
    add_process(host, "SenseIdentity", "%s\\SenseIdentity.exe" % MDE_FOLDER)
    body = json.dumps({"orgId": org_id, "geoLocationUrl": "https://lab.endpoint.security.microsoft.com/",
                       "datacenter": "LabDc"})
    host.set_value(ATP_POLICY_KEY, "OnboardingInfo", "REG_SZ", json.dumps({"body": body, "sig": "lab"}))
    if telemetry_proxy:
        host.set_value(DATACOLLECTION_KEY, "TelemetryProxyServer", "REG_SZ", telemetry_proxy)
    if defender_proxy:
        host.set_value(DEFENDER_POLICY_KEY, "ProxyServer", "REG_SZ", defender_proxy)


def seed_per_machine_policy(host: state.Host, spec: dict | None, value: int = 0) -> None:
    """``ProxySettingsPerUser`` (0 = per machine) and the machine-wide WinINet value ``spec`` (None: none)."""
    host.set_value(POLICY_KEY, "ProxySettingsPerUser", "REG_DWORD", value)
    if spec is not None:
        host.set_value(MACHINE_CONNECTIONS, "DefaultConnectionSettings", "REG_BINARY", state.codec().encode(spec).hex())


def seed_missing_root_ca(host: state.Host, thumbprints=tuple(ROOT_CERTIFICATES)) -> None:
    """Take the documented root CAs (all by default) out of LocalMachine\\Root."""
    for thumb in thumbprints:
        remove_certificate(host, "Root", thumb)


def seed_tls(host: state.Host, value: int = 1, keys=DOTNET_KEYS) -> None:
    """``SchUseStrongCrypto`` and ``SystemDefaultTlsVersions`` = ``value`` in the .NET v4.0.30319 keys."""
    for key in keys:
        host.set_value(key, "SchUseStrongCrypto", "REG_DWORD", value)
        host.set_value(key, "SystemDefaultTlsVersions", "REG_DWORD", value)


# ---------------------------------------------------------------------------
# Files other processes hold open, and the FIPS policy
# ---------------------------------------------------------------------------
def hold_file(host: state.Host, path: str, holder: str, service: str | None = None) -> None:
    """``holder`` has ``path`` open without sharing write or delete (reads still work), while ``service`` runs
    (always when None): a write or delete of it fails with "The process cannot access the file '<path>' because
    it is being used by another process." (``IOException``)."""
    with transaction(host) as system:
        system.setdefault("file_locks", {})[path.lower()] = {"path": path, "holder": holder, "service": service}


def release_file(host: state.Host, path: str) -> None:
    with transaction(host) as system:
        system.setdefault("file_locks", {}).pop(path.lower(), None)


def lock_holder(host: state.Host, path: str, system: dict | None = None) -> str | None:
    """Who holds ``path`` open now (a lock tied to a service holds only while that service runs), or None."""
    system = system or read(host)
    lock = (system.get("file_locks") or {}).get(path.lower().replace("/", "\\"))
    if lock is None:
        return None
    if lock.get("service"):
        entry = system["services"].get(lock["service"].lower())
        if not entry or entry["state"] != "started":
            return None
    return lock["holder"]


FIPS_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\FipsAlgorithmPolicy"
NDP_KEY = "HKLM:\\SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full"
DOTNET_48 = 528040  # the first Release value of .NET Framework 4.8


def seed_fips(host: state.Host, enabled: bool = True, dotnet_release: int | None = 461814) -> None:
    """The "System cryptography: Use FIPS compliant algorithms" policy (``FipsAlgorithmPolicy\\Enabled``) and the
    .NET Framework 4 ``Release`` (461814 is 4.7.2, as Windows Server 2019 ships; 528040 and later are 4.8, whose
    managed hash classes no longer throw under the policy)."""
    host.set_value(FIPS_KEY, "Enabled", "REG_DWORD", 1 if enabled else 0)
    if dotnet_release is not None:
        host.set_value(NDP_KEY, "Release", "REG_DWORD", dotnet_release)


# ---------------------------------------------------------------------------
# The services' registry keys (the SCM keeps each service's configuration in the registry)
# ---------------------------------------------------------------------------
SERVICES_KEY = "SYSTEM\\CurrentControlSet\\Services"
START_VALUES = {"auto": 2, "delayed": 2, "manual": 3, "disabled": 4}


def with_service_keys(host_state: dict, system: dict) -> dict:
    """``host_state`` with ``HKLM\\SYSTEM\\CurrentControlSet\\Services\\<name>`` of every service in ``system``:
    ``ImagePath`` (REG_EXPAND_SZ), ``ObjectName``, ``Start`` (2 automatic, 3 manual, 4 disabled),
    ``DependOnService`` (REG_MULTI_SZ), ``DisplayName``, ``Type`` 16 (own process), as the SCM stores them.
    The lab keeps services in system.json (what win_service changes); this is the same data as the registry
    shows it, for readers of the registry (the PowerShell executor, win_reg_stat). A key the host state holds
    already is left as it is."""
    out = dict(host_state, hives=dict(host_state["hives"]))
    hklm = out["hives"]["HKLM"] = dict(host_state["hives"]["HKLM"], keys=dict(host_state["hives"]["HKLM"]["keys"]))
    for svc in system["services"].values():
        sub = "%s\\%s" % (SERVICES_KEY, svc["name"])
        if sub.lower() in hklm["keys"]:
            continue
        values = {"imagepath": ("ImagePath", "REG_EXPAND_SZ", svc["path"]),
                  "objectname": ("ObjectName", "REG_SZ", svc["username"]),
                  "start": ("Start", "REG_DWORD", START_VALUES.get(svc.get("start_mode"), 3)),
                  "displayname": ("DisplayName", "REG_SZ", svc.get("display_name") or svc["name"]),
                  "type": ("Type", "REG_DWORD", 16)}
        if svc.get("start_mode") == "delayed":
            values["delayedautostart"] = ("DelayedAutostart", "REG_DWORD", 1)
        if svc.get("dependencies"):
            values["dependonservice"] = ("DependOnService", "REG_MULTI_SZ", list(svc["dependencies"]))
        hklm["keys"][sub.lower()] = {"path": sub, "values": {k: {"name": n, "type": t, "data": d}
                                                             for k, (n, t, d) in values.items()}}
    return out

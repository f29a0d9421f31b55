# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fake hosts with a Defender for Identity sensor: discovery's reads (:class:`FakeSensorHost`) and the sensor_config
write path (:class:`WriteHost`), with a v2 sensor install to start from.

Every answer has the shape of the real module's return (ansible.windows 3.3.0):

* ``win_powershell.ps1`` lines 55-63 and 891-942 running the collection's state query
  (plugins/plugin_utils/_host/_state_query.py): ``result`` is the script's ``$Ansible.Result``: ``keys`` (path ->
  ``{exists, values: {name: {type, value}}, sub_keys}``, .NET RegistryValueKind names, binary values base64,
  ``hive_loaded`` for an absent HKU key), ``processes`` (``Get-Process``: ``{name, id}``), ``services`` (asked
  name -> ``{name, status, dependents, path, account, start, dependencies}``: ``Get-Service`` and the service's
  key, ``ImagePath``, ``ObjectName`` such as ``LocalSystem`` or ``NT AUTHORITY\\LocalService``, ``Start``,
  ``DependOnService``), ``root_certificates`` (thumbprint -> ``Test-Path``) and ``user``.
* ``slurp.ps1``: ``content`` (base64) and ``encoding``; ``Path <src> is not found`` when missing.
* ``win_certificate_info.ps1`` lines 92-113: ``certificates`` by thumbprint, each with ``public_key`` (line 39,
  Base64 of the PKCS#1 RSAPublicKey) and ``raw``;
* ``win_powershell`` running the collection's file write (:func:`.host.file_write`: the backup folder's files in
  one command, each read back with its SHA-256);
* ``win_copy`` through its action: a ``remote_src`` copy (win_copy.ps1 ``remote`` mode: ``checksum`` is the SHA-1 of
  the source, ``operation: file_copy``); a failed one is ``failed`` with the module's message;
* ``win_command`` ``reg.exe import <file> /reg:64``: rc 0 and "The operation completed successfully." on stderr;
* ``win_stat.ps1``: ``stat.exists`` and ``stat.checksum`` (lower-case hex, ``checksum_algorithm: sha256``);
* ``win_service.ps1`` lines 850-852: ``Restart-Service -Force`` stops the running dependents, stops the service,
  starts what it stopped; a start that fails fails the module with "Unhandled exception while executing module:
  Service '<display> (<name>)' cannot be started ..." and leaves it stopped;
* ``win_file``, ``win_owner``, ``win_acl``, ``win_acl_inheritance``: ``changed``.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import Disconnected
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _backup as backup
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w

from .host import IMPORTED, FakeHost

# A v2 sensor install as the tests start from it: its folder, its configuration file, its secret certificate.
CONN = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"
FOLDER = "C:\\Program Files\\Azure Advanced Threat Protection Sensor\\2.250.18972.54612\\"
CONFIG = FOLDER + "SensorConfiguration.json"
SECRET_MANAGER = "E44826515D2778493F7F1B44A4F0A435832C657B"
G2 = "DF3C24F9BFD666761B268073FE06D1CC8D4F82A4"
ENCRYPTED = "bvzMONrdkD+/3T3cGzi5+vQp0ksjLrk2MQPv5IFKKTVMgdK6QEbpNTXyf"


def service(name, path, account, status="Running", dependencies=(), start=2):
    """One entry as the state query builds it (Get-Service, and ImagePath/ObjectName/Start/DependOnService)."""
    return {"name": name, "status": status, "dependents": [], "path": path, "account": account, "start": start,
            "dependencies": list(dependencies)}


V2_SERVICES = [
    service("AATPSensor", '"%sMicrosoft.Tri.Sensor.exe"' % FOLDER, "NT AUTHORITY\\LocalService"),
    service("AATPSensorUpdater", '"%sMicrosoft.Tri.Sensor.Updater.exe"' % FOLDER, "LocalSystem"),
]


def config_json(proxy="null"):
    return ("{\r\n  \"$type\": \"SensorMandatoryConfiguration\",\r\n"
            "  \"SecretManagerConfigurationCertificateThumbprint\": \"%s\",\r\n"
            "  \"SensorProxyConfiguration\": %s,\r\n"
            "  \"WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint\": {\r\n"
            "    \"$type\": \"EndpointData\",\r\n    \"Address\": \"contoso-corpsensorapi.atp.azure.com\",\r\n"
            "    \"Port\": 443\r\n  }\r\n}" % (SECRET_MANAGER, proxy)).encode()


JSON_PROXY = ('{"$type": "SensorProxyConfiguration", "Url": "http://proxy.corp:8080", "UserName": "CORP\\\\svc", '
              '"EncryptedUserPasswordData": {"$type": "EncryptedData", "EncryptedBytes": "%s", '
              '"SecretVersion": null, "CertificateThumbprint": "%s"}}' % (ENCRYPTED, SECRET_MANAGER))


class FakeSensorHost(FakeHost):
    """Answers the state query and slurp the way ansible.windows 3.3.0 does (see the module docstring)."""

    file_key = staticmethod(str.lower)

    def __init__(self):
        super().__init__()
        self.unloaded = set()
        self.roots = {G2}
        for path in ("HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319",
                     "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v4.0.30319"):
            self.set(path, "SchUseStrongCrypto", "REG_DWORD", 1)
            self.set(path, "SystemDefaultTlsVersions", "REG_DWORD", 1)

    def set(self, path, name, kind, value):
        self.registry.set(path, name, kind, value)

    def set_proxy(self, sid_or_hklm, spec):
        path = "HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections" \
            if sid_or_hklm == "HKLM" else "HKU:\\%s\\%s" % (sid_or_hklm, CONN)
        self.set(path, "DefaultConnectionSettings", "REG_BINARY", w.encode(spec))

    def key_entry(self, path):
        if path.upper().startswith("HKU:\\"):
            sid = path.split("\\")[1].upper()
            if sid in self.unloaded:
                return {"exists": False, "values": {}, "sub_keys": [], "hive_loaded": False}
        entry = self.registry.entry(path)
        if not entry["exists"] and path.upper().startswith("HKU:\\"):
            entry["hive_loaded"] = True
        return entry

    def win_powershell(self, args):
        return self.state_query(args)

    def slurp(self, args):
        data = self.files.get(args["src"].lower())
        if data is None:
            return {"changed": False, "failed": True, "msg": "Path %s is not found" % args["src"]}
        return {"changed": False, "content": base64.b64encode(data).decode(), "encoding": "base64"}


def certificate(key, thumbprint=SECRET_MANAGER):
    pkcs1 = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return {"archived": False, "dns_names": ["Azure ATP Sensor"], "extensions": [], "friendly_name": "",
            "has_private_key": True, "issued_by": "Azure ATP Sensor", "issued_to": "Azure ATP Sensor",
            "issuer": "CN=Azure ATP Sensor", "public_key": base64.b64encode(pkcs1).decode(), "raw": "",
            "serial_number": "07", "signature_algorithm": "sha256RSA", "subject": "CN=Azure ATP Sensor",
            "thumbprint": thumbprint, "valid_from": 1.7e9, "valid_from_iso8601": "2026-01-01T00:00:00Z",
            "valid_to": 1.8e9, "valid_to_iso8601": "2028-01-01T00:00:00Z", "version": 3}


class WriteHost(FakeSensorHost):
    """A v2 sensor host that also answers the write path's modules (see the module docstring)."""

    DISPLAY = {"AATPSensor": "Azure Advanced Threat Protection Sensor",
               "AATPSensorUpdater": "Azure Advanced Threat Protection Sensor Updater"}

    def __init__(self, key=None):
        super().__init__()
        self.services = [dict(s) for s in V2_SERVICES]
        self.files[CONFIG.lower()] = config_json()
        self.my = [certificate(key)] if key else []
        self.admin = True
        self.failing = set()  # services whose every start fails
        self.fail_times = {}  # service -> the next N starts fail
        self.mangle_copy = False  # the copy writes other bytes (a filter driver, a full disk)
        self.drop_at = None  # (module, n): the n-th call of that module raises Disconnected
        self.counts = {}

    def __call__(self, module, args):
        self.counts[module] = self.counts.get(module, 0) + 1
        if self.drop_at and self.drop_at == (module, self.counts[module]):
            self.calls.append((module, dict(args)))
            raise Disconnected("ssl: the connection was reset")
        return super().__call__(module, args)

    def service(self, name):
        return next(s for s in self.services if s["name"].lower() == name.lower())

    # -- reads ----------------------------------------------------------------
    def win_powershell(self, args):
        written = self.written(args)
        if written is not None:
            return written
        return super().win_powershell(args)

    def win_certificate_info(self, args):
        assert (args["store_name"], args["store_location"]) == ("My", "LocalMachine")
        found = [c for c in self.my if c["thumbprint"] == args["thumbprint"].upper()]
        return {"changed": False, "exists": bool(found), "certificates": found}

    def win_stat(self, args):
        data = self.files.get(args["path"].lower())
        if data is None:
            return {"changed": False, "stat": {"exists": False}}
        assert args["checksum_algorithm"] == "sha256"
        return {"changed": False, "stat": {"exists": True, "isdir": False, "size": len(data),
                                           "checksum": hashlib.sha256(data).hexdigest()}}

    # -- writes ---------------------------------------------------------------
    def remote_copy(self, src, dest):
        self.calls.append(("ansible.windows.win_copy", {"src": src, "dest": dest, "remote_src": True}))
        data = self.files.get(src.lower())
        if data is None:
            return {"failed": True, "msg": "Cannot copy src file: '%s' as it does not exist" % src}
        self.files[dest.lower()] = data + b" " if self.mangle_copy else data
        return {"changed": True, "src": src, "dest": dest, "operation": "file_copy", "size": len(data),
                "checksum": hashlib.sha1(data).hexdigest(), "original_basename": src.rsplit("\\", 1)[1]}

    def win_command(self, args):
        for key, name, kind, data in self.imported(args):
            assert key.upper() == backup.MANIFEST_REG_KEY.upper(), key  # the sensor path writes the manifest only
            if kind == "DELETE":
                self.registry.delete(backup.MANIFEST_PATH, name)
            elif name is not None:
                self.registry.set(backup.MANIFEST_PATH, name, kind, data)
        return dict(IMPORTED)

    def win_file(self, args):
        if args["state"] == "directory":
            return {"changed": True}
        assert args["state"] == "absent"
        for name in [n for n in self.files if n == args["path"].lower() or n.startswith(args["path"].lower() + "\\")]:
            del self.files[name]
        return {"changed": True}

    def _start(self, svc):
        name = svc["name"]
        if name in self.failing or self.fail_times.get(name, 0) > 0:
            self.fail_times[name] = max(self.fail_times.get(name, 0) - 1, 0)
            raise RuntimeError("Service '%s (%s)' cannot be started due to the following error: Cannot start "
                               "service %s on computer '.'." % (self.DISPLAY[name], name, name))
        svc["status"] = "Running"

    def win_service(self, args):
        svc = self.service(args["name"])
        if args["state"] == "started":  # Start-Service: the SCM starts its dependencies first
            try:
                for s in [self.service(d) for d in svc["dependencies"]] + [svc]:
                    if s["status"] != "Running":
                        self._start(s)
            except RuntimeError as exc:
                return {"failed": True, "changed": False, "msg": "Unhandled exception while executing module: %s" % exc}
            return {"changed": True, "name": svc["name"], "state": "running"}
        if args["state"] == "stopped":  # Stop-Service -Force: the running services that depend on it stop first
            assert args["force_dependent_services"] is True, args
            for s in [s for s in self.services if svc["name"] in s["dependencies"]] + [svc]:
                s["status"] = "Stopped"
            return {"changed": True, "name": svc["name"], "state": "stopped"}
        assert (args["state"], args["force_dependent_services"]) == ("restarted", True), args
        stopped = [s for s in self.services if s["status"] == "Running"
                   and svc["name"] in s["dependencies"]] + [svc]
        for s in stopped:
            s["status"] = "Stopped"
        try:  # the SCM starts a dependent's dependency first: the service, then its dependents
            for s in [svc] + stopped[:-1]:
                self._start(s)
        except RuntimeError as exc:
            return {"failed": True, "changed": False, "msg": "Unhandled exception while executing module: %s" % exc}
        return {"changed": True, "name": svc["name"], "state": "running"}

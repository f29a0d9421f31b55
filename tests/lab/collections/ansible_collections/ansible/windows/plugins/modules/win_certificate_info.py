# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_certificate_info (TEST ONLY). Mirrors plugins/modules/win_certificate_info.ps1:

* options ``thumbprint``, ``store_name`` (default ``My``), ``store_location`` (``LocalMachine`` default,
  ``CurrentUser``) (lines 77-84); ``FindByThumbprint`` when a thumbprint is given, any case (line 100);
* ``exists`` and ``certificates`` sorted by thumbprint (lines 95-109), empty for an empty store;
* each entry as Get-CertificateInfo builds it (lines 18-73): ``thumbprint`` (SHA-1 of the DER, upper
  case), ``subject``/``issuer`` in .NET's order (most specific first, ``", "``), ``valid_from``/``valid_to``
  (seconds since the epoch) and their ``_iso8601`` forms (``yyyy-MM-ddTHH:mm:ssZ``, line 15),
  ``serial_number`` (upper-case hex), ``has_private_key``, ``issued_by``/``issued_to`` (the CN),
  ``signature_algorithm`` (``sha256RSA``), ``dns_names`` (``issued_to`` plus the DNS SANs), ``raw``
  (Base64 of the DER certificate, line 38; RETURN documents it as ``cert_data``), ``public_key``
  (Base64 of ``GetPublicKey()``, line 39: for RSA the PKCS#1 RSAPublicKey), ``extensions`` and the
  conditional ``is_ca``, ``path_length_constraint``, ``key_usages``, ``intended_purposes``, ``ski``.
Certificates live in the host's ``system.json`` (tests/lab/system_state.py) as PEM.
Approximate: an extension's ``value`` is a short rendering, not .NET's ``Format($false)``.
"""

DOCUMENTATION = r"""
---
module: win_certificate_info
short_description: Lab stand-in for ansible.windows.win_certificate_info (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

import base64
import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context

# X509KeyUsageFlags in ascending value order (what .NET's flags ToString() lists).
KEY_USAGES = (("encipher_only", "EncipherOnly"), ("crl_sign", "CrlSign"), ("key_cert_sign", "KeyCertSign"),
              ("key_agreement", "KeyAgreement"), ("data_encipherment", "DataEncipherment"),
              ("key_encipherment", "KeyEncipherment"), ("content_commitment", "NonRepudiation"),
              ("digital_signature", "DigitalSignature"), ("decipher_only", "DecipherOnly"))
SIGNATURES = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512", "md5": "md5"}


def dotnet_name(name):
    """X500DistinguishedName.Name: the RDNs most specific first, joined with ', '."""
    return ", ".join(rdn.rfc4514_string() for rdn in reversed(name.rdns))


def common_name(name, oid):
    found = name.get_attributes_for_oid(oid)
    return found[0].value if found else dotnet_name(name)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def info(stored):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtensionOID, NameOID

    cert = x509.load_pem_x509_certificate(stored["pem"].encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        public = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    else:  # GetPublicKey() of other keys: the subjectPublicKey bit string's content
        public = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    hash_name = cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else ""
    key_name = "RSA" if isinstance(key, rsa.RSAPublicKey) else "ECDSA"
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    entry = {
        "friendly_name": stored.get("friendly_name", ""),
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex().upper(),
        "subject": dotnet_name(cert.subject),
        "issuer": dotnet_name(cert.issuer),
        "valid_from": (cert.not_valid_before_utc - epoch).total_seconds(),
        "valid_from_iso8601": iso(cert.not_valid_before_utc),
        "valid_to": (cert.not_valid_after_utc - epoch).total_seconds(),
        "valid_to_iso8601": iso(cert.not_valid_after_utc),
        "serial_number": "%X" % cert.serial_number if cert.serial_number >= 0 else "00",
        "archived": bool(stored.get("archived")),
        "version": 3,
        "has_private_key": bool(stored.get("has_private_key")),
        "issued_by": common_name(cert.issuer, NameOID.COMMON_NAME),
        "issued_to": common_name(cert.subject, NameOID.COMMON_NAME),
        "signature_algorithm": "%s%s" % (SIGNATURES.get(hash_name, hash_name), key_name),
        "raw": base64.b64encode(der).decode(),
        "public_key": base64.b64encode(public).decode(),
        "extensions": [],
    }
    entry["dns_names"] = [entry["issued_to"]]
    if len(entry["serial_number"]) % 2:
        entry["serial_number"] = "0" + entry["serial_number"]
    for ext in cert.extensions:
        value = ext.value
        field = ext.oid._name if hasattr(ext.oid, "_name") else ext.oid.dotted_string
        text = ""
        if ext.oid == ExtensionOID.BASIC_CONSTRAINTS:
            entry["is_ca"] = value.ca
            entry["path_length_constraint"] = value.path_length or 0
            field, text = "Basic Constraints", "Subject Type=%s" % ("CA" if value.ca else "End Entity")
        elif ext.oid == ExtensionOID.KEY_USAGE:
            usages = []
            for attr, dotnet in KEY_USAGES:
                try:
                    if getattr(value, attr):
                        usages.append(dotnet)
                except ValueError:  # encipher_only/decipher_only without key_agreement
                    continue
            entry["key_usages"] = usages
            field, text = "Key Usage", ", ".join(reversed(usages))
        elif ext.oid == ExtensionOID.EXTENDED_KEY_USAGE:
            entry["intended_purposes"] = [u._name for u in value]
            field, text = "Enhanced Key Usage", ", ".join(entry["intended_purposes"])
        elif ext.oid == ExtensionOID.SUBJECT_KEY_IDENTIFIER:
            entry["ski"] = value.digest.hex().upper()
            field, text = "Subject Key Identifier", " ".join("%02x" % b for b in value.digest)
        elif ext.oid == ExtensionOID.SUBJECT_ALTERNATIVE_NAME:
            entry["dns_names"] += value.get_values_for_type(x509.DNSName)
            field = "Subject Alternative Name"
            text = ", ".join("DNS Name=%s" % n for n in value.get_values_for_type(x509.DNSName))
        entry["extensions"].append({"critical": ext.critical, "field": field, "value": text})
    return entry


def main():
    module = AnsibleModule(
        argument_spec=dict(thumbprint=dict(type="str"), store_name=dict(type="str", default="My"),
                           store_location=dict(type="str", default="LocalMachine",
                                               choices=["CurrentUser", "LocalMachine"])),
        supports_check_mode=True,
    )
    p = module.params
    st, host, user = context(module)
    from tests.lab import system_state  # importable once context() has put the checkout on sys.path

    found = [info(c) for c in system_state.certificates(host, p["store_name"], p["store_location"])]
    if p["thumbprint"] is not None:
        found = [c for c in found if c["thumbprint"] == p["thumbprint"].strip().upper()]
    module.exit_json(changed=False, exists=bool(found), certificates=sorted(found, key=lambda c: c["thumbprint"]))


if __name__ == "__main__":
    main()

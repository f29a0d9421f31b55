# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The certificate credential of an application: its key and certificate, and the signed client assertion.

Pure Python, no Ansible imports; needs the ``cryptography`` library (guarded: a clear error names it).

The assertion follows MicrosoftDocs/entra-docs ``docs/identity-platform/certificate-credentials.md``
("Assertion format"): a JWT whose header is ``alg: PS256``, ``typ: JWT`` and ``x5t#S256`` (the base64url SHA-256
thumbprint of the certificate's DER encoding), whose claims are ``aud`` (the token endpoint), ``iss`` and ``sub``
(the client id), ``jti`` (a fresh GUID), ``nbf``/``iat`` (now) and ``exp`` (a few minutes later), signed with
RSA-PSS ("Use PSS padding") over SHA-256 with a 32-byte salt (RFC 7518 3.5: the salt is as long as the hash).
Nothing in it uses SHA-1 or PKCS#1 v1.5, so it works on a controller in FIPS mode; the older form (``RS256`` with
the SHA-1 ``x5t``) is not produced.

The key and certificate come from one file: PEM (the private key and its certificate, in any order, the key
optionally encrypted with ``certificate_password``), or PKCS#12 (``.pfx``/``.p12``, as Windows exports it). Under
FIPS, OpenSSL refuses PKCS#12 files protected with the legacy RC2/3DES and SHA-1 MAC; export with AES-256 and
SHA-256 or use PEM.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _libraries as libraries
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._libraries import (
    hashes,
    padding,
    pkcs12,
    rsa,
    serialization,
    x509,
)

ALGORITHM = "PS256"
LIFETIME = 600  # seconds; "at most 5-10 minutes after nbf" (certificate-credentials.md, exp)
SALT_LENGTH = 32


class CertificateError(ValueError):
    """The certificate file cannot be used; the message names the option and never a password."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class ClientCertificate:
    """An RSA private key and the certificate holding its public key."""

    key: object
    certificate: object

    @property
    def thumbprint_sha256(self) -> str:
        """Hex SHA-256 thumbprint of the certificate's DER encoding (as Entra ID shows it)."""
        return self.certificate.fingerprint(hashes.SHA256()).hex().upper()

    @property
    def x5t_s256(self) -> str:
        return b64url(self.certificate.fingerprint(hashes.SHA256()))

    def describe(self) -> dict:
        """What the result may show about the certificate: never the key."""
        try:
            not_after = self.certificate.not_valid_after_utc
        except AttributeError:  # cryptography < 42
            not_after = self.certificate.not_valid_after
        return {"subject": self.certificate.subject.rfc4514_string(), "thumbprint_sha256": self.thumbprint_sha256,
                "not_after": not_after.strftime("%Y-%m-%dT%H:%M:%SZ")}


def require_cryptography() -> None:
    if not libraries.HAS_CRYPTOGRAPHY:
        raise CertificateError(libraries.missing("cryptography", "certificate_path"))


def _password(password: str | None):
    return password.encode("utf-8") if password else None


def load(path: str, password: str | None = None) -> ClientCertificate:
    """The key and certificate of ``path`` (PEM or PKCS#12). Raises :class:`CertificateError`."""
    require_cryptography()
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise CertificateError("certificate_path: cannot read '%s': %s" % (path, exc.strerror or exc)) from None
    if not data.strip():
        raise CertificateError("certificate_path: '%s' is empty" % path)
    if b"-----BEGIN" in data:
        key, certificates = _load_pem(path, data, password)
    else:
        key, certificates = _load_pkcs12(path, data, password)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError("certificate_path: the key in '%s' is not an RSA key; Microsoft Entra ID signs "
                               "client assertions with PS256 (RSA)" % path)
    wanted = key.public_key().public_numbers()
    for certificate in certificates:
        public = certificate.public_key()
        if isinstance(public, rsa.RSAPublicKey) and public.public_numbers() == wanted:
            return ClientCertificate(key, certificate)
    raise CertificateError("certificate_path: '%s' has no certificate for its private key (%d certificate(s) "
                           "found); put the application's certificate next to the key" % (path, len(certificates)))


def _load_pem(path: str, data: bytes, password: str | None) -> tuple:
    certificates = x509.load_pem_x509_certificates(data) if b"CERTIFICATE-----" in data else []
    blocks = _key_blocks(data)
    if not blocks:
        raise CertificateError("certificate_path: '%s' holds no private key (PEM with the key and the "
                               "certificate, or a PKCS#12 file)" % path)
    try:
        key = serialization.load_pem_private_key(blocks[0], password=_password(password))
    except TypeError as exc:
        raise CertificateError("certificate_password: %s" % _password_problem(exc, password)) from None
    except ValueError as exc:
        raise CertificateError("certificate_path: cannot read the private key in '%s' (%s)"
                               % (path, _password_problem(exc, password))) from None
    return key, certificates


_KEY_BLOCK = re.compile(rb"-----BEGIN ((?:RSA |ENCRYPTED |EC )?PRIVATE KEY)-----.+?-----END \1-----", re.S)


def _key_blocks(data: bytes) -> list:
    """The PEM private key blocks of a bundle, in order (the first one is used)."""
    return [match.group(0) for match in _KEY_BLOCK.finditer(data)]


def _load_pkcs12(path: str, data: bytes, password: str | None) -> tuple:
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(data, _password(password))
    except (ValueError, TypeError) as exc:
        raise CertificateError("certificate_path: cannot open '%s' as PEM or PKCS#12 (%s); under FIPS, export "
                               "the PKCS#12 file with AES-256 and SHA-256, or use PEM"
                               % (path, _password_problem(exc, password))) from None
    if key is None:
        raise CertificateError("certificate_path: the PKCS#12 file '%s' holds no private key" % path)
    return key, [c for c in [certificate, *(extra or [])] if c is not None]


def _password_problem(exc: Exception, password: str | None) -> str:
    text = str(exc).lower()
    if "password" in text or "decrypt" in text or "mac" in text:
        return ("the key is encrypted: give certificate_password" if not password
                else "wrong certificate_password, or a format this controller cannot read")
    return str(exc).split("\n", maxsplit=1)[0]


def assertion(cert: ClientCertificate, client_id: str, audience: str, now: float | None = None) -> str:
    """A signed client assertion for ``audience`` (the token endpoint URL), valid for :data:`LIFETIME` seconds."""
    require_cryptography()
    issued = int(time.time() if now is None else now)
    header = {"alg": ALGORITHM, "typ": "JWT", "x5t#S256": cert.x5t_s256}
    claims = {"aud": audience, "iss": client_id, "sub": client_id, "jti": str(uuid.uuid4()),
              "nbf": issued, "iat": issued, "exp": issued + LIFETIME}
    signing_input = "%s.%s" % (b64url(json.dumps(header, separators=(",", ":")).encode()),
                               b64url(json.dumps(claims, separators=(",", ":")).encode()))
    signature = cert.key.sign(signing_input.encode("ascii"),
                              padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=SALT_LENGTH),
                              hashes.SHA256())
    return signing_input + "." + b64url(signature)

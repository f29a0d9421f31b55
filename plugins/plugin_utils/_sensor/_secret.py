# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sensor's proxy password, encrypted on the controller with the host certificate's public key.

Pure Python, no Ansible imports. The sensor stores ``EncryptedUserPasswordData.EncryptedBytes`` in
``SensorConfiguration.json`` (:mod:`_sensor._config_file`): Base64 of RSA-OAEP-SHA256 over the UTF-16LE password,
encrypted with the public key of its SecretManager certificate (``LocalMachine\\My``), as the
DefenderForIdentity module's Get-MDIEncryptedPassword does. Nothing here ever decrypts.
"""

from __future__ import annotations

import base64

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor._config_file import SECRET_MANAGER_KEY
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor._config_plan import ROLE_VARIABLES

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - ansible-core itself requires cryptography
    HAS_CRYPTOGRAPHY = False


def _require_cryptography(variable: str) -> None:
    if not HAS_CRYPTOGRAPHY:  # pragma: no cover
        raise UsageError("encrypting %s needs the Python package 'cryptography' on the controller "
                         "(it comes with ansible-core; pip install cryptography)" % variable)


def public_key(certificate):
    """The RSA public key of a certificate: a ``win_certificate_info`` entry (``public_key``, else ``raw``),
    PEM or DER certificate bytes, or an RSA public key object."""
    _require_cryptography(ROLE_VARIABLES["password"])
    if isinstance(certificate, rsa.RSAPublicKey):
        return certificate
    if isinstance(certificate, dict):
        # win_certificate_info.ps1 line 39: public_key = Base64(X509Certificate.GetPublicKey()), the DER
        # RSAPublicKey (PKCS#1); line 38: raw = Base64(GetRawCertData()), the whole DER certificate.
        if certificate.get("public_key"):
            try:
                key = serialization.load_der_public_key(base64.b64decode(certificate["public_key"]))
            except (ValueError, TypeError):
                key = None
            if key is not None:
                return _rsa_only(key)
        if certificate.get("raw") or certificate.get("cert_data"):
            data = base64.b64decode(certificate.get("raw") or certificate.get("cert_data"))
            return _rsa_only(x509.load_der_x509_certificate(data).public_key())
        raise UsageError("the certificate %s has neither public_key nor raw data" % certificate.get("thumbprint"))
    data = bytes(certificate)
    cert = x509.load_pem_x509_certificate(data) if data.lstrip().startswith(b"-----") \
        else x509.load_der_x509_certificate(data)
    return _rsa_only(cert.public_key())


def _rsa_only(key):
    if not isinstance(key, rsa.RSAPublicKey):
        raise UsageError("the sensor's certificate has a %s key; the sensor encrypts with RSA only" % type(key).__name__)
    return key


def encrypt_password(password: str, certificate, variable: str = ROLE_VARIABLES["password"]) -> str:
    """``EncryptedBytes`` for ``password``: Base64 of RSA-OAEP-SHA256 over its UTF-16LE bytes.

    The same as the DefenderForIdentity module's Get-MDIEncryptedPassword
    (``[System.Text.Encoding]::Unicode.GetBytes(...)``, ``Encrypt(..., RSAEncryptionPadding.OaepSHA256)``,
    ``ToBase64String``). OAEP is randomised: every call gives other bytes for the same password.
    """
    if not isinstance(password, str) or not password:
        raise UsageError("%s is empty" % variable)
    key = public_key(certificate)
    plain = password.encode("utf-16-le")
    limit = key.key_size // 8 - 2 * 32 - 2
    if len(plain) > limit:
        raise UsageError("%s is too long for the sensor certificate's %d-bit RSA key: at most %d characters"
                         % (variable, key.key_size, limit // 2))
    cipher = key.encrypt(plain, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()),
                                             algorithm=hashes.SHA256(), label=None))
    return base64.b64encode(cipher).decode("ascii")


def encryptor(password: str, certificate: dict | None, host: str = "the host",
              variable: str = ROLE_VARIABLES["password"]):
    """The ``encrypt`` callable for :func:`plan`, bound to the SecretManager certificate's
    ``win_certificate_info`` entry (``win_mdi_sensor_info``'s ``certificates.secret_manager``, or
    :func:`_sensor._discovery.read_certificate`). A missing certificate fails when a password must be encrypted,
    naming the variable; nothing is encrypted when the plan keeps the stored password."""

    def encrypt(thumbprint: str) -> str:
        if not certificate or certificate.get("present") is False:
            raise UsageError("%s cannot be encrypted: the certificate %s (%s) is not in LocalMachine\\My on %s"
                             % (variable, thumbprint, SECRET_MANAGER_KEY, host))
        return encrypt_password(password, certificate, variable)

    return encrypt

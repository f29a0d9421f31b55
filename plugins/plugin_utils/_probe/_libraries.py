# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The optional third-party libraries of the controller-side probe and of the Graph client, imported once.

Pure Python, no Ansible imports. Each import is guarded, as ansible-test's import sanity test requires of a plugin
(and as microsoft.ad guards its own): the plugin still loads without the library, and the code that needs it says
which library is missing, with the import error, instead of a traceback.

* ``requests`` (and the ``urllib3`` it ships with): the ``via: controller`` prober (:mod:`_probe._controller`).
* ``cryptography``: reading a certificate's issuer (:mod:`_probe._issuer`, :mod:`_probe._facts`) and the
  certificate credential of the Graph client (:mod:`_cloud._graph_assertion`). ansible-core itself requires it, so
  it is missing only on an unusual controller.
"""

from __future__ import annotations

__all__ = ("CRYPTOGRAPHY_IMPORT_ERROR", "HAS_CRYPTOGRAPHY", "HAS_REQUESTS", "HTTPConnection", "HTTPConnectionPool",
           "HTTPSConnection", "HTTPSConnectionPool", "REQUESTS_IMPORT_ERROR", "hashes", "missing", "padding", "pkcs12",
           "requests", "rsa", "serialization", "urllib3", "x509")

try:
    import requests
    import urllib3
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without requests
    requests = urllib3 = HTTPConnection = HTTPSConnection = HTTPConnectionPool = HTTPSConnectionPool = None
    REQUESTS_IMPORT_ERROR = exc

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - ansible-core requires cryptography
    x509 = hashes = serialization = padding = rsa = pkcs12 = None
    CRYPTOGRAPHY_IMPORT_ERROR = exc

HAS_REQUESTS = REQUESTS_IMPORT_ERROR is None
HAS_CRYPTOGRAPHY = CRYPTOGRAPHY_IMPORT_ERROR is None


def missing(library: str, needed_for: str) -> str:
    """The message for a missing library: what needs it, how to install it, and the import error."""
    error = REQUESTS_IMPORT_ERROR if library == "requests" else CRYPTOGRAPHY_IMPORT_ERROR
    return "%s needs the Python library '%s' on the controller (pip install %s): %s" % (
        needed_for, library, library, error)

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the Graph client's requests travel: the urllib opener, its proxy and its TLS context.

Pure Python, no Ansible imports, no third-party HTTP library (``urllib.request``).

* **Transport**: TLS verified by default against the system's trust store (plus ``ca_path``), redirects never
  followed (a bearer token must not travel to another host), the proxy given or the environment's
  (``https_proxy``/``no_proxy``, as ``ansible.builtin.uri`` with ``use_proxy``), credentials in the proxy URL sent
  as ``Proxy-Authorization: Basic`` on the CONNECT only.
"""

from __future__ import annotations

import ssl
import urllib.request
from urllib.parse import quote, urlsplit, urlunsplit

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _proxy_auth as proxy_auth


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: the answer is returned (and reported) as it is."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def proxy_url(proxy: str, username: str | None, password: str | None) -> str:
    """The proxy URL urllib's ProxyHandler takes, credentials URL-quoted in it (it sends them as Basic)."""
    parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    netloc = proxy_auth.url_host(parts)
    if parts.port:
        netloc += ":%d" % parts.port
    if username is not None:
        netloc = "%s:%s@%s" % (quote(username, safe=""), quote(password or "", safe=""), netloc)
    return urlunsplit((parts.scheme, netloc, "", "", ""))


def tls_context(validate_certs: bool = True, ca_path: str | None = None) -> ssl.SSLContext:
    """The system's trust store, plus ``ca_path`` when given; no verification at all with ``validate_certs``
    false. Raises ValueError naming the file when ``ca_path`` cannot be read as PEM."""
    context = ssl.create_default_context()
    if ca_path:
        try:
            context.load_verify_locations(cafile=ca_path)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError("ca_path: cannot load '%s' as PEM CA certificates: %s" % (ca_path, exc)) from None
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def build_opener(*, use_proxy: bool = True, proxy: str | None = None, proxy_username: str | None = None,
                 proxy_password: str | None = None, validate_certs: bool = True, ca_path: str | None = None):
    """The urllib opener every request goes through (see the module docstring)."""
    if proxy:
        proxies = {"https": proxy_url(proxy, proxy_username, proxy_password)}
        handler = urllib.request.ProxyHandler(proxies)
    elif use_proxy:
        handler = urllib.request.ProxyHandler()  # https_proxy / no_proxy from the environment
    else:
        handler = urllib.request.ProxyHandler({})
    return urllib.request.build_opener(
        handler, urllib.request.HTTPSHandler(context=tls_context(validate_certs, ca_path)), _NoRedirect)

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy's credentials, whichever way an operator gives them, and every form they take in text.

Pure Python, no Ansible imports. The credentials come as ``proxy_username``/``proxy_password`` or as
``user:password@`` in the proxy URL (as requests and curl accept them); they are one pair, used for every request
(the probe and the issuer check) and redacted, in every form (:func:`credential_secrets`), from everything
returned. The Graph client (:mod:`_cloud`) reads its proxy through the same rules.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _outcomes as outcomes

DIRECT = outcomes.DIRECT
ProbeError = outcomes.ProbeError


def with_scheme(proxy: str) -> str:
    return proxy if "://" in proxy else "http://" + proxy


def split_proxy(proxy: str, option: str = "proxy", password_option: str | None = "proxy_password"):
    """``urlsplit`` of the proxy URL (``http://`` added when it has no scheme), port checked. Raises
    :class:`ProbeError` naming ``option``, never quoting the password: a ``/``, ``?`` or ``#`` left unencoded in it
    ends the URL's authority there, and the parser then takes the password for the port. ``password_option``: where
    the password may be given on its own instead (None: nowhere)."""
    url = with_scheme(proxy)
    userinfo = url.partition("://")[2].rsplit("@", 1)[0] if "@" in url else ""
    if any(c in userinfo for c in "/?#"):
        raise ProbeError("%s: the user or password in the proxy URL holds '/', '?' or '#': URL-encode them (%%2F, "
                         "%%3F, %%23)%s" % (option, ", or give the password on its own (%s)" % password_option
                                            if password_option else ""))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number or out of range
    except ValueError:
        raise ProbeError("%s: '%s' is not a proxy URL (http://host:port)"
                         % (option, redaction.masked_url(proxy))) from None
    return parts


def url_host(parts) -> str:
    """The host of a split URL as a URL writes it: an IPv6 address in brackets (``urlsplit`` drops them)."""
    host = parts.hostname or ""
    return "[%s]" % host if ":" in host else host


def proxy_display(proxy: str | None) -> str:
    """``http://user:pw@proxy:8080`` -> ``http://proxy:8080``; None -> ``direct``. Raises :class:`ProbeError` for
    a URL it cannot read (:func:`split_proxy`)."""
    if not proxy:
        return DIRECT
    parts = split_proxy(proxy)
    netloc = url_host(parts)
    if parts.port:
        netloc = "%s:%d" % (netloc, parts.port)
    return urlunsplit((parts.scheme, netloc, "", "", ""))


def proxy_credentials(proxy: str | None, username: str | None, password: str | None) -> tuple:
    """(proxy URL without credentials, username, password), whichever way the credentials were given.

    Raises :class:`ProbeError` naming the options when they are given twice or incompletely.
    """
    if password is not None and username is None:
        raise ProbeError("proxy_password needs proxy_username")
    if not proxy:
        if username is not None:
            raise ProbeError("proxy_username/proxy_password need proxy")
        return None, None, None
    parts = split_proxy(proxy)
    if parts.username is not None or parts.password is not None:
        if username is not None:
            raise ProbeError("proxy: credentials are given both in the proxy URL and in proxy_username; give them once")
        username, password = unquote(parts.username or ""), unquote(parts.password or "")
        if not username:
            raise ProbeError("proxy: the proxy URL has a password but no user name (http://user:password@host:port)")
    if not parts.hostname:
        raise ProbeError("proxy: '%s' is not a proxy URL (http://host:port)" % proxy_display(proxy))
    return proxy_display(proxy), username, password


def credential_secrets(proxy: str | None, username: str | None, password: str | None) -> list:
    """Every string that would reveal the password: as given, as written in the URL, inside Basic."""
    secrets = []
    if password:
        secrets.append(password)
        secrets.append(base64.b64encode(("%s:%s" % (username or "", password)).encode()).decode())
    raw = redaction.userinfo_secret(proxy)  # by hand: this runs before the URL is checked
    if raw:
        secrets.append(raw)
    return secrets


def proxy_with_auth(proxy: str, username: str | None, password: str | None) -> str:
    parts = urlsplit(with_scheme(proxy))
    if username is None:
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    netloc = "%s:%s@%s" % (quote(username, safe=""), quote(password or "", safe=""), url_host(parts))
    if parts.port:
        netloc += ":%d" % parts.port
    return urlunsplit((parts.scheme, netloc, "", "", ""))

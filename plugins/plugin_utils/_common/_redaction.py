# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets out of text and results: the one masking rule of the collection.

Pure Python, no Ansible imports. Ansible's ``no_log`` keeps a secret argument out of the task's output, but not a
secret that comes back inside a value (an error message quoting a proxy URL, a log line, a probe's exception); so
every text the collection shows or saves goes through here first, and a secret is always replaced by :data:`MASK`:

* :func:`redact`: every form of the given secrets (as given, URL-quoted, URL-unquoted: a password inside a proxy URL
  or a Basic credential is quoted) wherever it appears;
* :func:`mask_credentials`: the password of a URL's userinfo (``http://user:pass@proxy:8080`` ->
  ``http://user:********@proxy:8080``, with or without a scheme, RFC 3986 section 3.2.1 deprecates it for that
  reason);
* :func:`mask_key_values`: the value of a password-like ``key=value`` or ``key: value`` (the sensor's own logs);
* :func:`scrub_secrets` and :func:`scrub`: the same, through every string of a nested result (``scrub`` also masks
  the value of any password-like key);
* :func:`masked_url`: the shorter form a message quotes, everything before the authority's last ``@`` hidden;
* :func:`userinfo_secret` and :func:`secrets_in`: the password a URL carries before its last ``@``, whatever
  characters it has (a ``/``, ``?`` or ``#`` in it breaks a URL parser, which then quotes it as a host or port), and
  every such password and ``no_log`` value in a task's arguments.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

MASK = "********"

# Keys whose string value is a secret, whatever it looks like.
SECRET_KEY = re.compile(r"passw(or)?d|secret|token|credential|api_?key", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s/@:]*):[^\s/@]*@", re.IGNORECASE)
_BARE_USERINFO = re.compile(r"(?P<head>(?<![\w/:@])[\w.%-]+):[^\s/@:]+@(?=[\w-]+(?:\.[\w-]+)*(?::\d+)?\b)")
_KEY_VALUE = re.compile(r"(?P<head>\b[\w.-]*(?:password|passwd|pwd|secret|accesskey|access_key|token)[\w.-]*"
                        r"[\"']?\s*[=:]\s*)(?P<q>[\"']?)[^\s\"',;\]]+", re.I)


def secret_forms(secrets) -> list:
    """Every form a secret can take in text: as given, URL-quoted (both ways), and URL-unquoted; longest first."""
    forms = set()
    for secret in secrets or ():
        if secret:
            secret = str(secret)
            forms.update({secret, quote(secret, safe=""), quote(secret), unquote(secret)})
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact(text, secrets):
    """Remove every form of the secrets (plain, URL-quoted, inside Basic credentials) from ``text``."""
    if text is None:
        return None
    text = str(text)
    for form in secret_forms(secrets):
        text = text.replace(form, MASK)
    return text


def mask_credentials(text: str) -> str:
    """``http://user:pass@proxy:8080`` -> ``http://user:********@proxy:8080`` (also without a scheme)."""
    if "@" not in text:
        return text
    text = _URL_USERINFO.sub(lambda m: m.group("head") + ":" + MASK + "@", text)
    return _BARE_USERINFO.sub(lambda m: m.group("head") + ":" + MASK + "@", text)


def mask_key_values(text: str) -> str:
    """``proxyPassword=abc`` -> ``proxyPassword=********``: the value of a password-like key in free text."""
    return _KEY_VALUE.sub(lambda m: m.group("head") + m.group("q") + MASK, text)


def masked_url(text: str) -> str:
    """``http://user:password@proxy:8080`` -> ``http://***@proxy:8080``: what a message may quote (everything
    before the last ``@`` of the authority is masked, whatever characters the password has)."""
    if "@" not in text:
        return text
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    return (scheme + sep if sep else "") + "***@" + rest.rsplit("@", 1)[1]


def userinfo_secret(text) -> str | None:
    """The password of a URL's userinfo (``http://user:p/ss@proxy:8080`` -> ``p/ss``), taken up to the authority's
    last ``@`` by hand, not by a URL parser: a ``/``, ``?`` or ``#`` in it ends the authority for the parser, which
    then reads the password as a port and quotes it in its error. None when the text carries none."""
    if not isinstance(text, str) or "@" not in text or any(c.isspace() for c in text.strip()):
        return None
    rest = text.strip().partition("://")[2] or text.strip()
    userinfo = rest.rsplit("@", 1)[0]
    user, sep, password = userinfo.partition(":")
    return password if sep and password else None


def secrets_in(args, names=()) -> list:
    """Every secret of a task's arguments: the values of the options ``names`` (its ``no_log`` ones, also inside a
    ``plan``) and the password of any URL among them (:func:`userinfo_secret`), at any depth. Names are matched
    exactly: ``password_update`` is a choice, not a secret."""
    found = []

    def walk(value, key=""):
        if isinstance(value, dict):
            for k, item in value.items():
                walk(item, "" if k is None else str(k))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item, key)
        elif isinstance(value, str) and value:
            if key in names:
                found.append(value)
            password = userinfo_secret(value)
            if password:
                found.append(password)

    walk(args)
    return sorted(set(found), key=lambda text: (-len(text), text))  # longest first: a secret inside another


def scrub_secrets(value, secrets):
    """:func:`redact` applied to every string of a nested result (dicts, lists, tuples become lists)."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: scrub_secrets(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_secrets(v, secrets) for v in value]
    return value


def scrub(value):
    """A deep copy with every secret masked: credentials in URLs, and the value of any password-like key."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            key = "" if key is None else str(key)
            if SECRET_KEY.search(key) and isinstance(item, str) and item:
                out[key] = MASK
            else:
                out[key] = scrub(item)
        return out
    if isinstance(value, (list, tuple)):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return mask_credentials(value)
    return value

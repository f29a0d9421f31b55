# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one masking rule for secrets in text: every form a secret can take, replaced by one mask.

Pure Python, no Ansible imports. A proxy password can come back quoted in a URL, URL-quoted either way, or inside
Basic credentials (:func:`_probe._proxy_auth.credential_secrets` lists those forms); the probe results, its error
messages and the Graph client's messages all go through :func:`redact` or :func:`scrub` before anything is returned,
so that no secret is echoed back, whatever library wrote the text.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

MASK = "********"


def secret_forms(secrets) -> list:
    """Every form a secret can take in text: as given, URL-quoted (both ways), and URL-unquoted."""
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


def scrub(value, secrets):
    """``redact`` applied to every string of a nested result."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, secrets) for v in value]
    return value

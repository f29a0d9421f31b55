# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe's names for the collection's one masking rule (:mod:`_common._redaction`): every form a secret can
take, replaced by one mask.

Pure Python, no Ansible imports. A proxy password can come back quoted in a URL, URL-quoted either way, or inside
Basic credentials (:func:`_probe._proxy_auth.credential_secrets` lists those forms); the probe results, its error
messages and the Graph client's messages all go through :func:`redact` or :func:`scrub` before anything is returned,
so that no secret is echoed back, whatever library wrote the text.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction

# The rule itself is _common._redaction's (the sensor's logs and the fleet report use it too); the probe, its
# controller and the Graph client call it through these names.
MASK = redaction.MASK
secret_forms = redaction.secret_forms
redact = redaction.redact
scrub = redaction.scrub_secrets

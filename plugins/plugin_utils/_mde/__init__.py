# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Defender for Endpoint and Defender Antivirus proxy settings: what Microsoft documents, what the host holds,
and what to write (``_settings``).

Imports :mod:`.._common`, :mod:`.._host` and :mod:`.._wininet`."""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release (as microsoft.ad says of its
# plugin_utils/_ldap). PUBLIC_MODULES names the modules other packages may import; the rest are this package's own
# (tests/unit/plugins/plugin_utils/test_layout.py holds both rules, and the order of the packages).

PUBLIC_MODULES = ("_settings",)

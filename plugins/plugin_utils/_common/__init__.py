# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every layer shares: the errors and how actions report them (``_errors``), plain values from Ansible's
lazy containers (``_plain``), argument specs built from a plugin's documentation (``_argspec``), and the one
masking rule for secrets in text and results (``_redaction``).

The lowest layer: imports nothing of the collection."""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release (as microsoft.ad says of its
# plugin_utils/_ldap). PUBLIC_MODULES names the modules other packages may import; the rest are this package's own
# (tests/unit/plugins/plugin_utils/test_layout.py holds both rules, and the order of the packages).

PUBLIC_MODULES = ("_argspec", "_errors", "_plain", "_redaction")

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cloud's verdict: a small Microsoft Graph client (``_graph_client``), the identity and cloud it reads with
(``_graph_identity``), its transport (``_graph_transport``) and certificate credential (``_graph_assertion``), which
sensor in Graph is the host's and whether it is connected (``_sensor_health``), the read as one call
(``_health_check``), and that verdict in the playbooks (``_verdict``).

Imports :mod:`.._probe` (the proxy's credentials, the masking of secrets, the optional libraries) and
:mod:`.._common`."""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release (as microsoft.ad says of its
# plugin_utils/_ldap). PUBLIC_MODULES names the modules other packages may import; the rest are this package's own
# (tests/unit/plugins/plugin_utils/test_layout.py holds both rules, and the order of the packages).

PUBLIC_MODULES = ("_graph_assertion", "_graph_client", "_graph_identity", "_graph_transport", "_health_check",
                  "_sensor_health", "_verdict")

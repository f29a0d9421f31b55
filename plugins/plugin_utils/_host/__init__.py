# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows host, as the collection reaches it: the remote executor over documented ``ansible.windows`` modules
(``_remote``), the one read-only state query (``_state_query``), the one PowerShell file write (``_file_write``), the
service accounts and their registry paths (``_accounts``), ``.reg`` files (``_regfile``) and the secured backup
folders (``_backup``), and what must hold before any write (``_preconditions``: administrator rights, a drop
before the first write).

Imports only :mod:`.._common`."""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release (as microsoft.ad says of its
# plugin_utils/_ldap). PUBLIC_MODULES names the modules other packages may import; the rest are this package's own
# (tests/unit/plugins/plugin_utils/test_layout.py holds both rules, and the order of the packages).

PUBLIC_MODULES = ("_accounts", "_backup", "_file_write", "_preconditions", "_regfile", "_remote", "_state_query")

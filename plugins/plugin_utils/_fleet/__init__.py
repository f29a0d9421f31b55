# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's outcome and the fleet's: the status model, one-line texts and totals (``_summary``), the fleet
report's content (``_view``), its HTML and Markdown (``_render`` and the ``_report.*`` templates) and its files
(``_files``).

Imports :mod:`.._common`, :mod:`.._host`, :mod:`.._mde`, :mod:`.._sensor` and :mod:`.._cloud`."""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release (as microsoft.ad says of its
# plugin_utils/_ldap). PUBLIC_MODULES names the modules other packages may import; the rest are this package's own
# (tests/unit/plugins/plugin_utils/test_layout.py holds both rules, and the order of the packages).

PUBLIC_MODULES = ("_files", "_render", "_summary")

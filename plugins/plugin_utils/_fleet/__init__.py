# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's outcome and the fleet's: the statuses and how a host ends (``_status``), the host's summary, built
once (``_summary``), its one line (``_line``), the fleet's totals and set_stats (``_totals``); the fleet report's
rows (``_rows``), content (``_view``, its ``_causes``), HTML and Markdown (``_render`` and the ``_report.*``
templates) and files (``_files``).

Imports :mod:`.._common`, :mod:`.._host`, :mod:`.._mde`, :mod:`.._sensor` and :mod:`.._cloud`."""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release (as microsoft.ad says of its
# plugin_utils/_ldap). PUBLIC_MODULES names the modules other packages may import; the rest are this package's own
# (tests/unit/plugins/plugin_utils/test_layout.py holds both rules, and the order of the packages).

PUBLIC_MODULES = ("_files", "_line", "_render", "_status", "_summary", "_totals")

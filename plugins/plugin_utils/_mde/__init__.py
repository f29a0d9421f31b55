# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Defender for Endpoint and Defender Antivirus proxy settings: what Microsoft documents (``_catalogue``: each
value, its key and its source), what the options want (``_desired``: validation, one owner per setting), what
differs on the host (``_plan``), the write (``_run``: one backup, one ``reg import``, read back), what it did
(``_result``) and the host summary's ``mde`` part (``_summary``). The WinHTTP value itself is read by
:mod:`.._wininet._winhttp`.

Imports :mod:`.._common`, :mod:`.._host` and :mod:`.._wininet`."""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release (as microsoft.ad says of its
# plugin_utils/_ldap). PUBLIC_MODULES names the modules other packages may import; the rest are this package's own
# (tests/unit/plugins/plugin_utils/test_layout.py holds both rules, and the order of the packages).

PUBLIC_MODULES = ("_catalogue", "_desired", "_plan", "_result", "_run", "_summary")

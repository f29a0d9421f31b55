# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WinINet: the ``DefaultConnectionSettings`` codec (``_codec``, the WinHTTP blob too), the WinHTTP proxy as
``win_http_proxy`` sees and sets it (``_winhttp``), comparing accounts with a
source (``_compare``), the registry change every registry write goes through (``_registry_change``: back up, one
``reg import``, read back, roll back; Defender for Endpoint and the TLS values reuse it), the WinINet write path
(``_write``), what it did as one typed value (``_result``: the result fields made at the edge) and restore
(``_restore``).

Imports :mod:`.._common` and :mod:`.._host`."""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release (as microsoft.ad says of its
# plugin_utils/_ldap). PUBLIC_MODULES names the modules other packages may import; the rest are this package's own
# (tests/unit/plugins/plugin_utils/test_layout.py holds both rules, and the order of the packages).

PUBLIC_MODULES = ("_codec", "_compare", "_registry_change", "_result", "_winhttp", "_write")

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Defender for Identity sensor: discovery and the effective proxy of each component (``_discovery``),
``SensorConfiguration.json``, what to write into it and its password (``_config_file``, ``_config_plan``, ``_secret``), the sensor_config write path and
restarts (``_change``), the watch after a restart and the error logs (``_watch``, ``_logs``, ``_after``), a v3
sensor's proxy (``_v3``), readiness (``_readiness``) and "sensor connected?" (``_connected``).

Imports :mod:`.._common`, :mod:`.._host`, :mod:`.._wininet` and :mod:`.._mde`."""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release (as microsoft.ad says of its
# plugin_utils/_ldap). PUBLIC_MODULES names the modules other packages may import; the rest are this package's own
# (tests/unit/plugins/plugin_utils/test_layout.py holds both rules, and the order of the packages).

PUBLIC_MODULES = ("_after", "_change", "_config_file", "_config_plan", "_connected", "_discovery", "_readiness", "_services", "_v3")

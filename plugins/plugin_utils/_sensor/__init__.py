# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Defender for Identity sensor: discovery (``_discovery``), what is installed (``_services``) and the
effective proxy of each component (``_effective``); ``SensorConfiguration.json`` (``_config_file``), what to write
into it (``_config_plan``) and its password (``_secret``); the sensor_config method (``_change``, its entry point
``set_proxy``; what it did: ``_result``), its write with backup and rollback (``_file_change``) and its backups (``_file_backup``); the
restarts (``_restart``), the watch after a restart and the error logs (``_watch``, ``_logs``, ``_after``), a v3
sensor's proxy (``_v3``), readiness (``_readiness``) and "sensor connected?" (``_connected``).

Imports :mod:`.._common`, :mod:`.._host`, :mod:`.._wininet` and :mod:`.._mde`."""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release (as microsoft.ad says of its
# plugin_utils/_ldap). PUBLIC_MODULES names the modules other packages may import; the rest are this package's own
# (tests/unit/plugins/plugin_utils/test_layout.py holds both rules, and the order of the packages).

PUBLIC_MODULES = ("_after", "_change", "_config_file", "_config_plan", "_connected", "_discovery", "_readiness",
                  "_restart", "_result", "_services", "_v3")

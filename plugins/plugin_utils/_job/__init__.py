# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The atp_proxy role: its variables (``_variables``: defaults from argument_specs.yml, every rule, the one check),
the parts' options and the variables' names in messages (``_options``), its job on one host (``_job``: every part
from one state query; ``_parts``: the steps that belong to one part; ``_result``: the result, what is pending, the
host after the writes, what the probe takes from it), the probe plan the job returns (``_probe_plan``: every option
the role's probe task passes, stated once) and the real-host self-check (``_self_check``).

The top layer: may import every other package."""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release (as microsoft.ad says of its
# plugin_utils/_ldap). PUBLIC_MODULES names the modules other packages may import; the rest are this package's own
# (tests/unit/plugins/plugin_utils/test_layout.py holds both rules, and the order of the packages).

PUBLIC_MODULES = ("_job", "_options", "_probe_plan", "_result", "_self_check", "_variables")

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The endpoint probe: Microsoft's published endpoints (``_urls``) and the catalogue built from them
(``_endpoints``), the outcomes, hints and TLS-inspection rule both sides apply (``_outcomes``), the proxy's
credentials (``_proxy_auth``), the target-side probe script and its facts (``_script``, ``_facts``), ``win_uri``'s
results (``_target``), the issuer check (``_issuer``), the controller-side prober (``_controller``), the reports
(``_report``), the optional libraries (``_libraries``), the job's plan as options (``_plan``), the probe as one
call (``_run``) and what it found (``_result``).

Imports :mod:`.._common` and :mod:`.._host`."""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release (as microsoft.ad says of its
# plugin_utils/_ldap). PUBLIC_MODULES names the modules other packages may import; the rest are this package's own
# (tests/unit/plugins/plugin_utils/test_layout.py holds both rules, and the order of the packages).

PUBLIC_MODULES = ("_controller", "_endpoints", "_facts", "_issuer", "_libraries", "_outcomes", "_plan", "_proxy_auth",
                  "_report", "_result", "_run", "_target", "_urls")

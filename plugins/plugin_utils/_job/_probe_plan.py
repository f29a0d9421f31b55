# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe plan the job returns (its result's ``probe``): whether the role probes this host, and every option of
``atp_endpoint_probe`` the role's probe task passes, stated once here rather than templated by the task.

The role's probe task passes this dict whole as the probe's ``plan`` (``roles/atp_proxy/tasks/probe.yml``); the probe
expands it (:mod:`_probe._plan`). Its options:

* what to probe: the workspace (the sensor's own when its SensorConfiguration.json names one), the products, the
  regions, the URLs, the Defender for Endpoint sets and geography, a sensor v3's identity channel, the CRL and Azure
  PKI hosts (:func:`_job._variables.probe_plan`, :func:`_job._result.sensor_v3_geo_url`);
* how to send the requests so that they go the sensor's way: its modes, named proxy and user, and where the sensor
  takes its proxy from (:func:`_job._result.probe_route`);
* the probe's own settings: engine, timeout, TLS inspection check, expected issuers, certificate validation;
* ``accounts``: whom to probe as (``atp_proxy_probe_accounts``, checked by the job), each in turn in the one task;
* ``expected_proxies``: the proxy each account uses after this run, by SID (:func:`_fleet._summary.expected_proxies`).

The password is never in it: ``proxy_password_given`` says whether the run was given one, and the task passes it
apart (``no_log``). Pure Python, no Ansible imports.
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _summary as summary
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _result as job_result
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _variables as validate

# atp_endpoint_probe option -> the role variable it comes from, unchanged.
FROM_VARIABLES = {
    "cloud": "atp_proxy_cloud",
    "regions": "atp_proxy_regions",
    "urls": "atp_proxy_probe_urls",
    "mde_urls": "atp_proxy_mde_urls",
    "mde_sets": "atp_proxy_mde_sets",
    "mde_geo": "atp_proxy_mde_geo",
    "include_crl": "atp_proxy_probe_include_crl",
    "include_azure_pki": "atp_proxy_probe_include_azure_pki",
    "engine": "atp_proxy_probe_engine",
    "tls_inspection_check": "atp_proxy_probe_tls_inspection_check",
    "timeout": "atp_proxy_probe_timeout",
    "expected_issuers": "atp_proxy_expected_issuers",
    "validate_certs": "atp_proxy_validate_certs",
    "accounts": "atp_proxy_probe_accounts",
}


# Whom the probe runs as when atp_proxy_probe_accounts is empty: the accounts the host's sensor connects as. A v2
# sensor runs as LocalService and its updater as LocalSystem; a v3 sensor runs inside Defender for Endpoint's SENSE
# service, as LocalSystem (the DefenderForIdentity module's Test-MDISensorApiConnection tests it as SYSTEM). A host
# without a sensor is probed as a v2 sensor would be, ready for one.
V2_ACCOUNTS = ("LocalService", "SYSTEM")
V3_ACCOUNTS = ("SYSTEM",)


def sensor_accounts(result: dict) -> list:
    """The accounts the host's sensor connects as (see :data:`V2_ACCOUNTS`), from the job's discovery."""
    generation = ((result.get("sensor_info") or {}).get("sensor") or {}).get("generation")
    return list(V3_ACCOUNTS if generation == "v3" else V2_ACCOUNTS)


def plan(result: dict, checked: dict) -> tuple:
    """``(plan, warnings)`` for the job's ``result`` on one host and the checked role variables ``checked``.

    The warnings (nothing to probe, a workspace that is not the sensor's) are for the action to show.
    """
    # An empty atp_proxy_workspace probes the workspace the host's sensor is configured for.
    probe = validate.probe_plan(checked, job_result.sensor_workspace(result, checked))
    geo = job_result.sensor_v3_geo_url(result) if checked.get("atp_proxy_probe") else ""
    if geo and not probe["run"]:  # a v3 sensor's own channel is a service endpoint to probe by itself
        probe["run"] = True
        probe["warnings"] = [w for w in probe["warnings"] if not w.startswith("atp_proxy_probe: nothing to probe")]
    warnings = probe.pop("warnings") + [probe["workspace_mismatch"]] * bool(probe["workspace_mismatch"])
    route = job_result.probe_route(result, checked)
    secret = route.pop("proxy_password")
    probe.update(route, proxy_password_given=bool(secret), v3_geo_url=geo)
    probe.update({option: checked.get(name) for option, name in FROM_VARIABLES.items()})
    probe["accounts"] = list(probe["accounts"] or sensor_accounts(result))
    # No issuers given: the probe's default, the issuers of the cloud's services (an empty list is not "none").
    probe["expected_issuers"] = probe["expected_issuers"] or None
    probe["expected_proxies"] = summary.expected_proxies(result) if probe["run"] else {}
    return probe, warnings

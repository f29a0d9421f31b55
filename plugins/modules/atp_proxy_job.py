# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: atp_proxy_job
short_description: The atp.sensor_proxy.atp_proxy role's job on one host, as one task
version_added: 0.2.0
description:
  - "The engine of the C(atp.sensor_proxy.atp_proxy) role; the role's variables are its input (it reads every
    C(atp_proxy_*) variable the host sees, as documented by C(ansible-doc -t role atp.sensor_proxy.atp_proxy))."
  - "One task, so that a converged host costs one worker on the controller and one round trip on the host (two
    with a Defender for Identity sensor v2: its C(SensorConfiguration.json)). It checks the role's variables (types
    and choices from the role's C(meta/argument_specs.yml), then codecs, accounts and cross-variable rules; each
    problem names its variable, nothing is read from the host), reads everything in one read-only state query
    (the WinINet values, the sensor's services and process, the ProxySettingsPerUser policy, WinHTTP, the Defender
    for Endpoint and readiness keys, the backup manifest, the administrator check), and runs, as the host needs:"
  - "the method (C(atp_proxy_method); C(auto) keeps the method the host uses, see docs/sensor.md); the WinINet write
    path of M(atp.sensor_proxy.win_wininet_proxy) (per account, or the machine-wide value under the policy), or the
    sensor's own setting of M(atp.sensor_proxy.win_mdi_sensor_proxy), or for a sensor v3 the two values
    C(Set-MDISensorProxyConfiguration) writes for it (C(TelemetryProxyServer) as host:port, Defender Antivirus'
    C(ProxyServer) as the URL); the Defender for Endpoint settings of M(atp.sensor_proxy.win_mde_proxy), the v3
    sensor's values and the opt-in .NET TLS values, in one backed-up write; one restart of the sensor's services
    when a change needs it; then the proxy each sensor component uses after the run."
  - "With C(atp_proxy_mode=check) it is the read-only drift report: it compares every part and writes nothing."
  - Returns the fields of M(atp.sensor_proxy.win_wininet_proxy) for the WinINet part, the other parts under their
    names, C(summary) (the host's summary before the probe; the role's last step adds the probe with
    M(atp.sensor_proxy.atp_proxy_host_summary)) and C(probe), how the role's probe runs.
  - "A failure (bad variables, a failed change) is returned with C(failed) and C(error); the role registers it
    with C(failed_when: false) so that the failure is reported once, by the summary. A dropped connection is an
    C(unreachable) result that keeps what was written and where the backup is."
options: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - atp.sensor_proxy.attributes
  - atp.sensor_proxy.attributes.change
notes:
  - Meant to be run by the C(atp.sensor_proxy.atp_proxy) role (C(tasks/run.yml)); use M(atp.sensor_proxy.win_wininet_proxy)
    and M(atp.sensor_proxy.win_wininet_proxy_compare) in your own tasks.
seealso:
  - module: atp.sensor_proxy.win_wininet_proxy
  - module: atp.sensor_proxy.atp_proxy_host_summary
author:
  - atp.sensor_proxy contributors (@atp-sensor-proxy)
"""

EXAMPLES = r"""
# What the role's tasks/run.yml does
- name: Find the sensor, then check, back up, set and verify its proxy
  atp.sensor_proxy.atp_proxy_job:
  register: atp_proxy_result
  failed_when: false
  ignore_unreachable: true
"""

RETURN = r"""
summary:
  description: The host's summary before the probe (schema in C(docs/dev/contracts.md)).
  returned: always
  type: dict
method:
  description: The method the run used for the Defender for Identity sensor, V(wininet), V(sensor_config) or V(mde).
  returned: success
  type: str
method_reason:
  description: Why (C(atp_proxy_method), or the rule of C(auto) that applied).
  returned: success
  type: str
sensor_info:
  description: The discovery, as M(atp.sensor_proxy.win_mdi_sensor_info) returns it (sensor, sensor_config, wininet,
    winhttp, mde, readiness), with C(effective_proxy) after the run.
  returned: success
  type: dict
effective_proxy:
  description: Per sensor component (C(sensor), C(updater)), the proxy it uses after the run and its source
    (C(sensor_config), C(wininet_per_account), C(wininet_machine) or C(mde)).
  returned: success
  type: dict
readiness:
  description: The readiness checks (root CAs, .NET TLS values, and on a v2 sensor host localhost TCP 444) with their
    fixes; null when C(atp_proxy_readiness) is off.
  returned: success
  type: dict
sensor_watch:
  description: After a restart of a v2 sensor's services, what the watch saw over C(atp_proxy_sensor_start_timeout)
    seconds, C(seconds), C(verdicts) (per service V(running), V(stopped again) or V(not started)), C(stopped_at) (the
    second a service was first seen stopped after it ran) and C(error) (why the watch could not run); empty otherwise.
  returned: success
  type: dict
sensor_logs:
  description: The v2 sensor's error log lines, read after a restart (written during the watch) or in a check run (the
    recent ones), C(read), C(since_restart), C(known) (the failures Microsoft documents, each with C(outcome),
    C(says), C(cause), C(fix), C(count), C(last)), C(unknown) (the newest other errors, masked and cut),
    C(unknown_count), C(files_read), C(files_missing); empty when nothing was read (see docs/troubleshooting.md).
  returned: success
  type: dict
stig_note:
  description: The STIG note when the machine-wide WinINet key was written (or would be) under
    C(ProxySettingsPerUser=0) and C(atp_proxy_stig_warning) is on.
  returned: when it applies
  type: str
sensor_config:
  description: The result of the sensor's own setting (as M(atp.sensor_proxy.win_mdi_sensor_proxy) returns it), with
    the method sensor_config.
  returned: when the method is sensor_config
  type: dict
mde:
  description: The Defender for Endpoint (and .NET TLS) result, as M(atp.sensor_proxy.win_mde_proxy) returns it; for a
    sensor v3 it has the sensor's two static proxy values too.
  returned: when C(atp_proxy_products) contains V(mde), C(atp_proxy_fix_tls) is on, or the method is mde
  type: dict
sensor_v3:
  description: A sensor v3's proxy (method mde), C(proxy) (the URL wanted, null with C(atp_proxy_state=absent)),
    C(values) (C(TelemetryProxyServer), Defender Antivirus C(ProxyServer)), C(pending) (those that differ, or were
    written), C(fix) (one sentence) and C(applies) (when Defender for Endpoint takes the change).
  returned: when the method is mde
  type: dict
restart:
  description: The refresh, C(services) it planned, C(restarted), C(actions), C(reasons), C(restart_needed) (opt-out).
  returned: success
  type: dict
pending_changes:
  description: What differs besides the WinINet accounts (C(SensorConfiguration.json), Defender for Endpoint settings).
  returned: success
  type: list
  elements: str
probe:
  description:
    - How the role probes this host, the plan the role's probe task passes whole to
      M(atp.sensor_proxy.atp_endpoint_probe) as its O(atp.sensor_proxy.atp_endpoint_probe#module:plan).
    - C(run) (whether the role probes), C(workspace_mismatch) (a warning, or empty) and C(proxy_password_given)
      (never the password).
    - The probe's options, as the job decided them for this host, C(workspace), C(products), C(modes), C(proxy),
      C(proxy_username), C(proxy_source), C(direct_fallback), C(v3_geo_url), and from the role's variables C(cloud),
      C(regions), C(urls), C(mde_urls), C(mde_sets), C(mde_geo), C(include_crl), C(include_azure_pki), C(engine),
      C(tls_inspection_check), C(timeout), C(expected_issuers), C(validate_certs).
    - C(expected_proxies), the proxy each account uses after this run, by account SID (C(HKLM) for the machine-wide
      value), empty when the role does not probe.
  returned: success
  type: dict
summary_options:
  description: What the summary depends on besides the results (C(mode), C(fail_on_unreachable), C(fail_on_drift)).
  returned: always
  type: dict
error:
  description: The failure's message (also in C(msg)), when the job failed.
  returned: on failure
  type: str
changed_sids:
  description: As in M(atp.sensor_proxy.win_wininet_proxy).
  returned: success
  type: list
  elements: str
backup_file:
  description: As in M(atp.sensor_proxy.win_wininet_proxy).
  returned: success
  type: str
round_trips:
  description: Remote commands this task made on the host.
  returned: always
  type: int
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
"""

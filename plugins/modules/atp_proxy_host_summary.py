# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: atp_proxy_host_summary
short_description: Record one host's atp.sensor_proxy outcome, print it as one line, and end the host accordingly
version_added: 0.2.0
description:
  - "The last step of the C(atp.sensor_proxy.atp_proxy) role. It turns the role's registered results into the host's
    C(atp_proxy_summary) fact (schema in C(docs/dev/contracts.md)): its status (in_sync, changed, would_change,
    drifted, hive_not_loaded, failed, unreachable), each account's current and wanted proxy, what was written and
    where the backup is, and the probe's outcomes with their hints."
  - Its C(msg) is the host's one-line summary, the line the playbooks print for the fleet.
  - With O(fail=true) a failed host fails here with that one line, and a host whose connection dropped ends
    C(unreachable) with the line that says what was written before the drop and where the backup is. The
    playbooks call it a second time with O(summary) and O(fail=true) after the fleet summary and report are
    written, so that those cover every host. A host it ends returns only that line (C(msg)), since Ansible keeps
    no facts of a failed task and prints its whole result.
  - Runs on the controller only; it never connects to the host.
options:
  mode:
    description: The role's mode, V(configure) or V(check) (a read-only drift report).
    type: str
    choices: [configure, check]
    default: configure
  proxy:
    description: The registered result of M(atp.sensor_proxy.win_wininet_proxy).
    type: dict
    default: {}
  probes:
    description:
      - The probe results, one M(atp.sensor_proxy.atp_endpoint_probe) result per account, as its
        O(atp.sensor_proxy.atp_endpoint_probe#module:accounts) gives them in
        RV(atp.sensor_proxy.atp_endpoint_probe#module:accounts), or as a C(loop) over C(become_user) gives them in
        C(results).
    type: list
    elements: dict
    default: []
  mde:
    description: The registered result of the Defender for Endpoint step, when it ran.
    type: dict
    default: {}
  error:
    description: The message of a step that failed outside the WinINet task, if any.
    type: str
    default: ''
  fail_on_unreachable:
    description: With O(fail=true), also fail the host when an endpoint is not reachable.
    type: bool
    default: false
  fail_on_drift:
    description:
      - With O(fail=true), also fail the host when it drifted, would change, could not be checked (hive not loaded)
        or was unreachable. The scheduled drift check sets it so that the job fails and AWX notifies.
    type: bool
    default: false
  summary:
    description:
      - A summary this module recorded earlier; with it, the module only ends the host as O(fail) says, without
        rebuilding anything.
    type: dict
  fail:
    description:
      - End the host as its summary says; failed when the run failed, unreachable when the connection dropped.
      - Otherwise only record and print.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - atp.sensor_proxy.attributes
  - atp.sensor_proxy.attributes.read
attributes:
  check_mode:
    support: full
    details: Records the summary in check mode too (it writes nothing anywhere).
author:
  - atp.sensor_proxy contributors (@atp-sensor-proxy)
"""

EXAMPLES = r"""
- name: Summarize this host and end it as the run went
  atp.sensor_proxy.atp_proxy_host_summary:
    proxy: "{{ atp_proxy_result }}"
    probes: "{{ atp_proxy_probe_results.accounts | default([]) }}"
    fail: true

- name: Later, after the fleet report, fail the hosts whose run failed
  atp.sensor_proxy.atp_proxy_host_summary:
    summary: "{{ atp_proxy_summary }}"
    fail: true
"""

RETURN = r"""
summary:
  description: The host's summary (also set as the fact C(atp_proxy_summary)).
  returned: unless O(fail=true) ends the host failed or unreachable
  type: dict
  contains:
    status:
      description: One of in_sync, changed, would_change, drifted, hive_not_loaded, failed, unreachable.
      type: str
    line:
      description: The one-line text.
      type: str
    connected:
      description: '"Sensor connected?": C(connected) (V(yes), V(likely), V(no), V(unknown), V(n/a)), C(why) and
        C(evidence) (C(service), C(log), C(probe), C(cloud), each C(ok) and C(text), or null); see
        docs/dev/contracts.md.'
      type: dict
msg:
  description: The host's one-line summary.
  returned: always
  type: str
  sample: "dc01: changed; wrote LocalService (S-1-5-19): proxy old.corp:3128 -> proxy proxy.corp:8080; backup C:\\..."
"""

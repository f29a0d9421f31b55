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
  - "One task, so that a converged host costs one worker on the controller and one round trip on the host:
    it checks the role's variables (types and choices from the role's C(meta/argument_specs.yml), then codecs,
    accounts and cross-variable rules; each problem names its variable, nothing is read from the host), reads
    everything it needs in one read-only state query, and runs the WinINet write path of
    M(atp.sensor_proxy.win_wininet_proxy) (the same code: compare, administrator check, hive load, backup, one
    C(reg import), read back, rollback, retention), or its read-only report with C(atp_proxy_mode=check)."
  - Returns the same fields as M(atp.sensor_proxy.win_wininet_proxy), plus C(summary), the host's summary before
    the probe (the role's last step adds the probe with M(atp.sensor_proxy.atp_proxy_host_summary)).
  - "A failure (bad variables, a failed change) is returned with C(failed) and C(error); the role registers it
    with C(failed_when: false) so that the failure is reported once, by the summary. A dropped connection is an
    C(unreachable) result that keeps what was written and where the backup is."
options: {}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: windows
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
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
- name: Check the variables, compare, back up, write and verify this host
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

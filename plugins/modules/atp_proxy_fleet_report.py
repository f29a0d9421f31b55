# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: atp_proxy_fleet_report
short_description: Write the fleet report of a run (HTML, Markdown and the rows as JSON) on the controller
version_added: 0.2.0
description:
  - "Takes the host summaries of a run (C(atp_proxy_summary), schema in C(docs/dev/contracts.md), as
    P(atp.sensor_proxy.fleet_rows#filter) returns them) and writes three files into O(dest) on the controller,
    each atomically (a temporary file in the same folder, then a rename): C(atp_proxy_report.html), a
    self-contained page (inline style and script allowed by their hashes in its Content-Security-Policy, nothing
    loaded from anywhere, every value escaped, sort and filter); C(atp_proxy_report.md), its Markdown twin; and
    C(atp_proxy_fleet.json), the rows themselves, which a later run of this module merges with others through
    O(files)."
  - The report shows, per host, the status, each account's current value against the wanted one, the backup,
    a partial write, the sensor's method and effective proxy, Defender for Endpoint and every probed endpoint;
    each distinct cause (a probe outcome with its hint, an error, a failing rule) is explained once, with the
    hosts it affects. Totals at the top come from the collection's one status model.
  - "Merges the rows of several jobs: O(rows), O(slices) (the C(atp_proxy_rows_<job id>) variables AWX passes a
    workflow node after the jobs of a sliced job template) and O(files). A host found more than once keeps its
    last row."
  - Secrets never reach a file; credentials in URLs and the values of password-like keys are masked.
  - Runs on the controller only and never connects to a host.
  - Reports C(changed=false), because it writes only the controller's report files, never a managed host, so a
    converged run stays green.
options:
  rows:
    description:
      - Host summaries, one per host. A summary without a C(status) (the host recorded none) is reported as
        unreachable.
    type: list
    elements: dict
    default: []
  slices:
    description:
      - "Rows published by other jobs: a mapping of names to lists of host summaries (ordered by the number at the
        end of each name, the AWX job id of C(atp_proxy_rows_<job id>)), or a list of such lists."
      - In a workflow node after a sliced job template, pass the mapping of those variables' names to their values,
        as C(playbooks/merge_fleet_report.yml) does (it finds the names with the C(ansible.builtin.varnames) lookup
        and the values with C(ansible.builtin.vars)).
    type: raw
    default: {}
  files:
    description:
      - C(atp_proxy_fleet.json) files to merge (paths, folders holding one, or glob patterns, on the controller).
      - A pattern that matches nothing, or a file that cannot be read, fails the task, so a missing slice is never
        silently left out.
    type: list
    elements: path
    default: []
  dest:
    description:
      - The folder to write the three files into, created if missing. Without it nothing is written; the task
        still returns the totals, the C(set_stats) data and the lines.
    type: path
  title:
    description: Title of the report.
    type: str
    default: atp.sensor_proxy fleet report
  generated:
    description: Time stamp shown under the title. Defaults to now, in UTC.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - atp.sensor_proxy.attributes
attributes:
  check_mode:
    support: full
    details:
      - Writes the report files in check mode too. They are the controller's own output, never a change on a
        managed host, so an AWX job template of type C(Check) (C(--check)) still leaves its report; tasks marked
        C(check_mode=false) would be skipped there instead (U(https://github.com/ansible/awx/issues/15162)).
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Call it once per run, with C(run_once=true) and C(delegate_to=localhost), after the fleet summary.
  - AWX passes a workflow node the C(set_stats) artifacts of the jobs before it, merged key by key (a later
    job's key replaces an earlier one's), so each job of a sliced run publishes its rows under its own key,
    C(atp_proxy_rows_<awx_job_id>); see C(docs/awx.md).
seealso:
  - name: AWX job slicing
    description: How AWX runs one job template as several jobs over parts of the inventory.
    link: https://docs.ansible.com/projects/awx/en/24.6.1/userguide/job_slices.html
author:
  - atp.sensor_proxy contributors (@atp-sensor-proxy)
"""

EXAMPLES = r"""
- name: Write the fleet report of this run
  atp.sensor_proxy.atp_proxy_fleet_report:
    rows: "{{ hostvars | atp.sensor_proxy.fleet_rows(ansible_play_hosts_all) }}"
    dest: /var/lib/atp_proxy/reports
  run_once: true
  delegate_to: localhost

- name: Merge the reports of two runs over two halves of the fleet
  atp.sensor_proxy.atp_proxy_fleet_report:
    files:
      - /srv/reports/site1/atp_proxy_fleet.json
      - /srv/reports/site2
    dest: /srv/reports/all

- name: In an AWX workflow node after a sliced job template, merge what the slices published
  vars:
    names: "{{ query('ansible.builtin.varnames', '^atp_proxy_rows_[0-9]+$') }}"
  atp.sensor_proxy.atp_proxy_fleet_report:
    slices: "{{ dict(names | zip(query('ansible.builtin.vars', *names))) }}"
    dest: "{{ atp_proxy_report_dir }}"
  register: atp_proxy_merged
"""

RETURN = r"""
files:
  description: The files written (empty without O(dest)).
  returned: always
  type: dict
  contains:
    html:
      description: Path of C(atp_proxy_report.html).
      type: str
      sample: /var/lib/atp_proxy/reports/atp_proxy_report.html
    markdown:
      description: Path of C(atp_proxy_report.md).
      type: str
    json:
      description: Path of C(atp_proxy_fleet.json), the rows for a later merge.
      type: str
hosts:
  description: Number of hosts reported.
  returned: always
  type: int
  sample: 500
sources:
  description: Number of row lists merged (O(rows), each slice and each file).
  returned: always
  type: int
  sample: 2
duplicates:
  description: Hosts found in more than one source (each keeps its last row).
  returned: always
  type: list
  elements: str
totals:
  description: Counts per status, partial writes, backups written, probe failures (the report's tiles).
  returned: always
  type: dict
  sample: {hosts: 3, in_sync: 1, changed: 2, partial: 0, backups_written: 2, probe_failed: 0}
stats:
  description: The C(atp_proxy_fleet) data to publish with C(set_stats) (hosts per status, failing probes, backups,
    totals).
  returned: always
  type: dict
lines:
  description: One line per host, the text an admin can act on.
  returned: always
  type: list
  elements: str
failing:
  description: The hosts whose run ends failed (failed, unreachable, or a failing rule such as
    C(atp_proxy_fail_on_drift)).
  returned: always
  type: list
  elements: str
"""

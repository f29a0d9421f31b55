# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_wininet_proxy
short_description: Copy a WinINet proxy to LocalSystem and LocalService, with backup and verification
version_added: 0.1.0
description:
  - Makes the WinINet C(DefaultConnectionSettings) (and optionally C(SavedLegacySettings)) of each target SID
    match a source, as in Microsoft's Defender for Identity proxy procedure (copy the admin's value to
    S-1-5-18 and S-1-5-19), safely.
  - Compares first, exactly as M(atp.sensor_proxy.win_wininet_proxy_compare) does. Only targets that are
    C(different) or C(missing) are written. C(equivalent) targets (same effective settings, another change
    counter) are in sync and left alone, so a second run reports no change.
  - Before any write, backs up the previous value of everything about to change into one C(.reg) file on the
    host (see O(backup_dir)).
  - Writes the exact source bytes (a copied value keeps its detection cache), then reads every written value
    back. If a write fails or a value does not read back as written, every value already written is put back
    to its previous bytes and the task fails, saying so. The registry is never left half-written.
  - Fails, writing nothing, when a target hive is not loaded.
  - In check mode nothing is written (no backup either); the result lists the SIDs that would change.
    With C(--diff), the decoded before and after of each changed value are shown (flags, proxy server,
    bypass, PAC URL), not raw hex.
  - Remote cost per host is the compare's (see M(atp.sensor_proxy.win_wininet_proxy_compare)) when nothing
    changes; a change adds 1 (backup folder) + the M(ansible.windows.win_copy) of the backup (2 module
    executions plus a file transfer) + 1 per value written + 1 per written key read back.
  - This is an action plugin. It runs on the controller and uses M(ansible.windows.win_reg_stat),
    M(ansible.windows.win_regedit), M(ansible.windows.win_file) and M(ansible.windows.win_copy).
options:
  backup_dir:
    description:
      - Folder on the host for the C(.reg) backup written before any change. It is created when missing.
      - One file per run that changes something, named C(atp_proxy_<UTC timestamp>.reg), holding the previous
        value of every value about to change (absent values as C("Name"=-)). C(reg import <file>) on the host
        restores exactly the state before, which is what the C(atp.sensor_proxy.restore_atp_proxy) playbook does.
    type: str
    default: C:\ProgramData\atp.sensor_proxy\backups
  exact:
    description:
      - Also rewrite targets that are V(equivalent), so that every target ends byte-identical to the source.
      - Used to restore a backup exactly. By default an equivalent target is in sync and left alone.
    type: bool
    default: false
extends_documentation_fragment:
  - atp.sensor_proxy.wininet_source
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
  - Writing C(HKU\<SID>) needs local administrator rights on the host.
seealso:
  - module: atp.sensor_proxy.win_wininet_proxy_compare
  - module: atp.sensor_proxy.atp_endpoint_probe
  - module: ansible.windows.win_inet_proxy
    description: Sets the WinINet proxy of the connection user only, from settings.
author:
  - atp.sensor_proxy contributors (@atp-sensor-proxy)
"""

EXAMPLES = r"""
- name: Copy the admin's proxy to LocalSystem and LocalService (Microsoft's procedure)
  atp.sensor_proxy.win_wininet_proxy:
  register: atp_apply

- name: Set a declarative proxy on the sensor accounts, keeping backups in a custom folder
  atp.sensor_proxy.win_wininet_proxy:
    settings:
      proxy_server: proxy.corp.example:8080
      bypass: ['<local>', '*.corp.example']
    targets: [LocalSystem, LocalService]
    value_names: [DefaultConnectionSettings, SavedLegacySettings]
    backup_dir: D:\Backups\atp_proxy

- name: Show where the backup went
  ansible.builtin.debug:
    msg: "{{ atp_apply.changed_sids }} changed, backup {{ atp_apply.backup_file }}"
"""

RETURN = r"""
changed_sids:
  description: SIDs that were (in check mode, would be) written.
  returned: always
  type: list
  elements: str
  sample: [S-1-5-19]
backup_file:
  description: Path of the C(.reg) backup on the host; empty when nothing changed or in check mode.
  returned: always
  type: str
  sample: C:\ProgramData\atp.sensor_proxy\backups\atp_proxy_20261122T101500123456Z.reg
backups:
  description: What the backup holds, also in the job output, one entry per changed value.
  returned: always
  type: list
  elements: dict
  contains:
    sid:
      description: Target SID.
      type: str
    account:
      description: Account name.
      type: str
    name:
      description: Value name.
      type: str
    old_hex:
      description: Previous bytes in hex, or null when the value did not exist.
      type: str
    state:
      description: Compare state before the change (V(different) or V(missing)).
      type: str
verified:
  description: True when every written value read back exactly as written.
  returned: when something was written
  type: bool
  sample: true
source:
  description: The source, decoded; as in M(atp.sensor_proxy.win_wininet_proxy_compare).
  returned: success
  type: dict
targets:
  description: The state of each target before the change; as in M(atp.sensor_proxy.win_wininet_proxy_compare).
  returned: success
  type: list
  elements: dict
in_sync:
  description: Whether the targets were in sync before this task.
  returned: success
  type: bool
check_mode:
  description:
    - Whether the task ran in check mode (from C(--check) or a task's C(check_mode) keyword; roles use
      this rather than C(ansible_check_mode), which only reflects C(--check)).
  returned: always
  type: bool
  sample: false
round_trips:
  description: Remote module executions this task made on the host.
  returned: always
  type: int
  sample: 3
"""

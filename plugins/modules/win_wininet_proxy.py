# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_wininet_proxy
short_description: Copy a WinINet proxy to LocalSystem and LocalService, with backup, one-step write and verification
version_added: 0.1.0
description:
  - Makes the WinINet C(DefaultConnectionSettings) (and optionally C(SavedLegacySettings)) of each target SID
    match a source, as in Microsoft's Defender for Identity proxy procedure (copy the admin's value to
    S-1-5-18 and S-1-5-19), safely. With O(source=backup) it restores a backup instead.
  - "The whole write path is this one task: compare (as M(atp.sensor_proxy.win_wininet_proxy_compare) does);
    check that the connection user is a local administrator; load an unloaded LocalService or NetworkService
    hive from its profile when O(load_hive=true); back up; write; read back; roll back on failure; keep the
    newest O(backup_keep) backups."
  - Only targets that are C(different) or C(missing) are written. C(equivalent) targets (same effective
    settings, another change counter) are in sync and left alone, so a second run reports no change.
  - "Backup: every change gets a folder C(<backup_dir>\\atp_proxy_<UTC timestamp>) with C(before.reg), the
    previous value of everything about to change (absent values as C(\"Name\"=-)), and C(after.reg), what was
    written. C(reg import before.reg) on the host restores exactly the state before."
  - "Write: all values are written by one C(reg.exe import after.reg) (through M(ansible.windows.win_command)),
    so every account changes in the same step on the host: a connection that drops can leave the host with the
    old values or the new ones, not LocalSystem new and LocalService old. Every written key is then read back;
    if the import failed part way or a value reads back differently, C(before.reg) is imported again and read
    back, and the task fails saying what the host holds now."
  - "Trust: the backup folder is secured the first time it is used (owner Administrators, full control for
    SYSTEM and Administrators only, no inherited entries), and the SHA-256 of every C(before.reg) is recorded
    under C(HKLM\\SOFTWARE\\atp.sensor_proxy\\Backups), which only administrators can write. A restore only
    uses backups listed there with that hash, or a file O(backup_file) owned by Administrators or SYSTEM
    (such as a C(reg export) an administrator made). A planted file is refused, naming its owner."
  - "If the connection drops part way, the task returns an C(unreachable) result that keeps C(written),
    C(maybe_written), C(backup_file) and C(dropped_at), and its message says the same; Ansible keeps that
    result in the registered variable. A rerun compares first, so it finishes the change or reports the host
    in sync."
  - In check mode nothing is written (no backup, no hive loaded); the result lists the SIDs that would change
    and C(actions) says what would happen, in the future tense ("would load the hive ... and write").
    With C(--diff), the decoded before and after of each changed value are shown (flags, proxy server,
    bypass, PAC URL), not raw hex.
  - "Remote cost per host: one read-only state query (M(ansible.windows.win_powershell) running the
    collection's query) reads the source, every target, the backup manifest and whether the caller is an
    administrator, so a host in sync costs 1. A change adds the backup write 1 (C(before.reg) and C(after.reg)
    in one M(ansible.windows.win_powershell) run of the collection's file write, each file read back with its
    SHA-256), the import 1 and the read back 1 (lab ledger: 4); the first change in a backup folder adds 5 to
    create and secure it, loading hives adds one C(reg load) each and one read of what they hold, and each backup
    pruned adds 1."
  - This is an action plugin. It runs on the controller and uses M(ansible.windows.win_powershell),
    M(ansible.windows.win_command), M(ansible.windows.win_file), M(ansible.windows.win_owner),
    M(ansible.windows.win_acl), M(ansible.windows.win_acl_inheritance), M(ansible.windows.slurp) and
    M(ansible.windows.win_stat).
options:
  source:
    description:
      - Where the wanted settings come from.
      - V(current_user) reads the connection user's C(HKCU), as in Microsoft's procedure.
      - V(sid) reads C(HKU\<source_sid>). V(value) takes the blob in O(source_value).
        V(settings) encodes the declarative O(settings).
      - V(backup) restores a backup, byte for byte, deletions included; O(backup_file), or the newest
        backup the manifest lists for O(backup_dir) that was written before a change, never one a restore wrote
        (a restore backs up what it replaces into a folder ending in C(_restore)), so a second restore changes
        nothing. No backup at all is not an error (nothing to restore), unless O(backup_file) names one.
      - When omitted, it is inferred from which of O(source_sid), O(source_value), O(settings) or O(backup_file)
        is given, and is V(current_user) when none is.
    type: str
    choices: [current_user, sid, value, settings, backup]
  backup_file:
    description:
      - With O(source=backup), the C(.reg) file on the host to restore, instead of the newest backup.
      - A C(before.reg) this module wrote, or any C(.reg) file owned by Administrators or SYSTEM, for example
        one written by C(reg export) or regedit (UTF-16LE), or by hand (ASCII or UTF-8).
      - Only the WinINet values of the O(targets) in it are restored; other keys are ignored. C(HKEY_USERS\.DEFAULT)
        is LocalSystem's own hive (S-1-5-18). An export of C(HKEY_CURRENT_USER) does not say whose it is, so it
        restores nothing; a file that holds nothing for any of the O(targets) is refused, naming the keys it
        holds, and nothing is changed. Comments after values (C(;)) are read as regedit reads them.
    type: str
  backup_dir:
    description:
      - Folder on the host for the backups. It is created and secured the first time a change is backed up.
    type: str
    default: C:\ProgramData\atp.sensor_proxy\backups
  backup_keep:
    description:
      - Keep the newest this many backups in O(backup_dir); older backup folders are deleted after a change.
      - A restore's backups (folders ending C(_restore)) are counted apart from the backups of changes.
    type: int
    default: 10
  load_hive:
    description:
      - When a target hive (LocalService, NetworkService) is not loaded, load it from the account's profile
        (C(reg load HKU\S-1-5-19 C:\Windows\ServiceProfiles\LocalService\NTUSER.DAT)) and write, instead of failing.
      - The hive is loaded whenever a service runs as that account, which is the usual state on a sensor DC.
    type: bool
    default: false
  exact:
    description:
      - Also rewrite targets that are V(equivalent), so that every target ends byte-identical to the source.
      - A restore (O(source=backup)) is always exact.
    type: bool
    default: false
  read_only:
    description:
      - "Never write, in any mode: compare and report what a change would do (C(actions), C(changed_sids), C(diff)),
        as in check mode, but with C(changed=false) and without the administrator check or loading a hive."
      - The C(atp.sensor_proxy.atp_proxy) role's drift report (O(read_only=true) when C(atp_proxy_mode=check)).
    type: bool
    default: false
  name_prefix:
    description:
      - Prefix for option names in messages, so that a role can report its own variables (the
        C(atp.sensor_proxy.atp_proxy) role passes V(atp_proxy_), and C(settings) is then reported as
        C(atp_proxy_settings)).
    type: str
    default: ''
extends_documentation_fragment:
  - atp.sensor_proxy.wininet_source
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - atp.sensor_proxy.attributes
  - atp.sensor_proxy.attributes.change
notes:
  - Writing C(HKU\<SID>) and C(HKLM\SOFTWARE) needs local administrator rights on the host.
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

- name: Show what changed and where the backup went
  ansible.builtin.debug:
    msg: "{{ atp_apply.changed_sids }} changed, backup {{ atp_apply.backup_file }}"

- name: Set a declarative proxy on the sensor accounts, loading the LocalService hive if needed
  atp.sensor_proxy.win_wininet_proxy:
    settings:
      proxy_server: proxy.corp.example:8080
      bypass: ['<local>', '*.corp.example']
    targets: [LocalSystem, LocalService]
    value_names: [DefaultConnectionSettings, SavedLegacySettings]
    load_hive: true
    backup_dir: D:\Backups\atp_proxy

- name: Put the newest backup back (a second run changes nothing)
  atp.sensor_proxy.win_wininet_proxy:
    source: backup

- name: Restore LocalService from a reg export an administrator made
  atp.sensor_proxy.win_wininet_proxy:
    source: backup
    backup_file: C:\Temp\localservice-connections.reg
    targets: [LocalService]
"""

RETURN = r"""
changed_sids:
  description: SIDs that were (in check mode, would be) written.
  returned: always
  type: list
  elements: str
  sample: [S-1-5-19]
actions:
  description: What was done (in check mode, what would be done), one sentence each, decoded.
  returned: always
  type: list
  elements: str
  sample: ["wrote DefaultConnectionSettings of LocalService (S-1-5-19): proxy old.corp:3128 -> proxy proxy.corp:8080"]
backup_file:
  description: The C(before.reg) of this change on the host; empty when nothing was written or in check mode.
  returned: always
  type: str
  sample: C:\ProgramData\atp.sensor_proxy\backups\atp_proxy_20261201T081500123456Z\before.reg
applied_file:
  description: The C(after.reg) that was imported; empty when nothing was written.
  returned: always
  type: str
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
      description: Compare state before the change (V(different), V(missing) or V(hive_not_loaded)).
      type: str
written:
  description: SIDs whose values were written and read back as written (after a failed change, the ones left written).
  returned: always
  type: list
  elements: str
maybe_written:
  description: After a dropped connection, SIDs whose values may have been written (the import may have run).
  returned: when the connection dropped
  type: list
  elements: str
dropped_at:
  description: After a dropped connection, the step it dropped in.
  returned: when the connection dropped
  type: str
  sample: after reg import, before the values were read back
verified:
  description: True when every written value read back exactly as written.
  returned: when something was written
  type: bool
  sample: true
rolled_back:
  description: SIDs whose values were put back to their previous bytes after a failed change.
  returned: when a change was rolled back
  type: list
  elements: str
hives_loaded:
  description: SIDs whose hive this task loaded from the profile (O(load_hive)).
  returned: always
  type: list
  elements: str
pruned:
  description: Backup folders deleted because they were older than the newest O(backup_keep).
  returned: always
  type: list
  elements: str
backup_dir_secured:
  description: True when this task created and secured the backup folder (the first change backed up there).
  returned: when something was written
  type: bool
restored_from:
  description: With O(source=backup), the backup file used; empty when there was nothing to restore.
  returned: with source=backup
  type: str
trusted_because:
  description: With O(source=backup), why the backup was trusted (in the manifest with its SHA-256, or its owner).
  returned: with source=backup, when a backup was found
  type: str
nothing_to_restore:
  description: With O(source=backup), true when there was no backup.
  returned: with source=backup
  type: bool
restore_skipped:
  description: With O(source=backup), the targets the backup holds nothing for; they keep what they hold.
  returned: with source=backup, when some target is not in the backup
  type: list
  elements: str
restore_not_targeted:
  description: With O(source=backup), the accounts the backup holds that are not in O(targets); they keep their value.
  returned: with source=backup, when the backup holds an account that is not a target
  type: list
  elements: str
restore_note:
  description: With O(source=backup), what the backup left out or what it holds beyond the targets, as one sentence.
  returned: with source=backup, when some target is not in the backup, or the backup holds another account
  type: str
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
  description: Remote module executions this task made on the host (every WinRM command counts).
  returned: always
  type: int
  sample: 3
"""

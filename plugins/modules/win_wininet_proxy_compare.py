# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_wininet_proxy_compare
short_description: Compare the WinINet proxy settings of LocalSystem and LocalService with a source
version_added: 0.1.0
description:
  - Reads the REG_BINARY C(DefaultConnectionSettings) value (and optionally C(SavedLegacySettings)) under
    C(HKU\<SID>\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections) of each target
    account and compares it with a source, the way Microsoft's Defender for Identity proxy procedure
    does with C(reg compare), but on the effective settings rather than the raw bytes.
  - The Defender for Identity sensor service runs as LocalService (S-1-5-19) and its updater as
    LocalSystem (S-1-5-18); both take their proxy from these per-account WinINet values.
  - A raw byte compare lies, because the change counter differs between otherwise equal values.
    This module reports C(identical) (same bytes), C(equivalent) (same effective settings; only the
    counter, the version, the detection cache or strings whose flag is off differ) or C(different)
    (with the differing fields).
  - Strictly read-only, C(changed) is always false, and it runs in check mode (AWX "Check" jobs).
  - Remote cost, in module executions (round trips) per host, is 1 for a registry source (0 for
    O(source_value) or O(settings)), plus 1 per target SID, plus 1 per target whose key is absent
    (to tell C(missing) from C(hive_not_loaded)). The result returns the count as RV(round_trips).
  - This is an action plugin. It runs on the controller and reads the registry with
    M(ansible.windows.win_reg_stat).
extends_documentation_fragment:
  - atp.sensor_proxy.wininet_source
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - atp.sensor_proxy.attributes
  - atp.sensor_proxy.attributes.read
notes:
  - An unloaded hive or an absent value is a state in the result (V(hive_not_loaded), V(missing)),
    not a failure. A source that cannot be read or decoded fails the task with a message saying why.
  - A target value that cannot be decoded is V(different) with C(malformed) in its differences.
seealso:
  - module: atp.sensor_proxy.win_wininet_proxy
  - module: atp.sensor_proxy.atp_endpoint_probe
  - module: ansible.windows.win_reg_stat
  - name: Configure endpoint proxy and Internet connectivity settings (Microsoft Defender for Identity)
    description: Microsoft's manual procedure this module automates.
    link: https://learn.microsoft.com/defender-for-identity/deploy/configure-proxy
author:
  - atp.sensor_proxy contributors (@atp-sensor-proxy)
"""

EXAMPLES = r"""
- name: Compare LocalSystem and LocalService with the admin's own proxy (Microsoft's procedure)
  atp.sensor_proxy.win_wininet_proxy_compare:
  register: atp_compare

- name: Fail when the sensor accounts drifted
  ansible.builtin.assert:
    that: atp_compare.in_sync
    fail_msg: "{{ atp_compare.targets | selectattr('state', 'in', ['different', 'missing']) | map(attribute='account') }} drifted"

- name: Compare against a declarative proxy, including SavedLegacySettings and NetworkService
  atp.sensor_proxy.win_wininet_proxy_compare:
    settings:
      proxy_server: proxy.corp.example:8080
      bypass: ['<local>', '*.corp.example']
    targets: [LocalSystem, LocalService, NetworkService]
    value_names: [DefaultConnectionSettings, SavedLegacySettings]

- name: Compare against a value exported with reg.exe
  atp.sensor_proxy.win_wininet_proxy_compare:
    source_value: >-
      hex:46,00,00,00,02,00,00,00,03,00,00,00,0f,00,00,00,70,72,6f,78,79,2e,63,6f,72,70,3a,38,30,38,30,
      07,00,00,00,3c,6c,6f,63,61,6c,3e,00,00,00,00
"""

RETURN = r"""
source:
  description: The source, decoded.
  returned: success
  type: dict
  contains:
    kind:
      description: V(current_user), V(sid), V(value) or V(settings).
      type: str
      sample: current_user
    hex:
      description: The source bytes in lower-case hex.
      type: str
      sample: "4600000002000000030000000f00000070726f78792e636f72703a38303830070000003c6c6f63616c3e00000000"
    decoded:
      description: The decoded value, with the keys of the P(atp.sensor_proxy.wininet_decode#filter) filter.
      type: dict
      sample: {"version": 70, "counter": 2, "flags": {"direct": true, "proxy": true, "auto_config_url": false, "auto_detect": false},
               "proxy_server": "proxy.corp:8080", "bypass": ["<local>"], "auto_config_url": "", "length": 46}
    summary:
      description: One human-readable line.
      type: str
      sample: proxy proxy.corp:8080, bypass <local>
    path:
      description: Registry path read, for registry sources.
      type: str
      sample: HKCU:\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections
targets:
  description: One entry per target SID.
  returned: success
  type: list
  elements: dict
  contains:
    sid:
      description: The target SID.
      type: str
      sample: S-1-5-19
    account:
      description: The well-known account name, or the SID.
      type: str
      sample: LocalService
    path:
      description: The registry key read.
      type: str
      sample: HKU:\S-1-5-19\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections
    state:
      description:
        - The worst state over O(value_names), among V(identical), V(equivalent), V(different),
          V(missing) and V(hive_not_loaded).
      type: str
      sample: equivalent
    hex:
      description: The target's current bytes of the first value name, empty when absent.
      type: str
      sample: "46000000050000000300000014000000..."
    decoded:
      description: The target's current first value, decoded, or null when absent or malformed.
      type: dict
    differences:
      description: Differing effective fields, for example C(proxy_server), C(bypass), C(flags.proxy), C(malformed).
      type: list
      elements: str
      sample: [proxy_server]
    values:
      description: Per value name, the same fields plus C(wanted_hex), the exact bytes a copy would write.
      type: dict
in_sync:
  description: True when every target is V(identical) or V(equivalent).
  returned: success
  type: bool
  sample: false
needs_write:
  description: SIDs that are V(different) or V(missing).
  returned: success
  type: list
  elements: str
  sample: [S-1-5-19]
hive_not_loaded:
  description: SIDs whose hive is not loaded.
  returned: success
  type: list
  elements: str
  sample: []
check_mode:
  description:
    - Whether the task ran in check mode (from C(--check) or a task's C(check_mode) keyword; roles use
      this rather than C(ansible_check_mode), which only reflects C(--check)).
  returned: always
  type: bool
  sample: false
round_trips:
  description: Number of remote module executions this task made on the host.
  returned: always
  type: int
  sample: 3
"""

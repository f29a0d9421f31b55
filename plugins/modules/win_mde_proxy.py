# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_mde_proxy
short_description: Set the Defender for Endpoint and Defender Antivirus proxy settings Microsoft documents, with backup
version_added: 0.2.0
description:
  - Makes a Windows host's Microsoft Defender for Endpoint (EDR sensor) and Microsoft Defender Antivirus proxy
    settings what Microsoft documents in C(configure-proxy-internet.md), writing only the values that differ.
  - "The machine-wide WinHTTP proxy (the sensor runs as LocalSystem and uses WinHTTP), set by
    M(ansible.windows.win_http_proxy) from O(proxy_server) and O(bypass), or copied from a WinINet setting with
    its option C(source=ie) (O(winhttp_source=ie))."
  - "The registry-based static proxy of the sensor: C(TelemetryProxyServer) (O(proxy_server)) and
    C(DisableEnterpriseAuthProxy=1) under C(HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection)
    (O(telemetry)), and C(PreferStaticProxyForHttpRequest=1) under
    C(HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection) (O(prefer_static_proxy))."
  - "Defender Antivirus' own proxy, under C(HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender):
    C(ProxyServer) (O(av_proxy_server)), C(ProxyPacUrl) (O(av_proxy_pac_url)), C(ProxyBypass)
    (O(av_proxy_bypass)), and C(Spynet\\SSLOptions=2) (O(av_disable_crl_check)). These are off unless given."
  - A setting that is not asked for is not read and not touched.
  - "Every change is backed up first: a folder C(<backup_dir>\\atp_proxy_<UTC timestamp>) with C(before.reg)
    (the previous value of everything about to change, absent values as C(\"Name\"=-)) and C(after.reg); then
    the registry values are written by one C(reg.exe import after.reg), the WinHTTP proxy by
    M(ansible.windows.win_http_proxy), and everything is read back. If anything fails or reads back
    differently, C(before.reg) is imported again and the task fails saying what the host holds now.
    C(reg import before.reg) on the host restores exactly the previous values."
  - In check mode nothing is written; C(actions) says what would be set, one sentence per setting (that
    TelemetryProxyServer would go from absent to proxy.corp:8080, for example), and C(--diff) shows the decoded
    before and after of each value.
  - Bad input fails before anything is read from the host, naming the option (or, with O(name_prefix), the
    role variable) and the fix. A user and password in a proxy string are refused and never quoted back.
  - "Remote cost per host: one read-only state query (M(ansible.windows.win_powershell) running the
    collection's read-only query) reads every registry key of the settings asked for, the backup manifest and
    whether the caller is an administrator, so a converged host costs 1. A change adds the backup write 1 (the
    two backup files in one M(ansible.windows.win_powershell) run of the collection's file write), the import 1,
    M(ansible.windows.win_http_proxy) 1 when WinHTTP changes, and the read back 1 (one more state query); the
    first change in a backup folder adds 5 to create and secure it, and each backup pruned adds 1 (lab ledger: 10
    for a first change, 5 later, 1 converged)."
  - This is an action plugin. It runs on the controller and uses M(ansible.windows.win_powershell),
    M(ansible.windows.win_command), M(ansible.windows.win_file),
    M(ansible.windows.win_owner), M(ansible.windows.win_acl), M(ansible.windows.win_acl_inheritance) and
    M(ansible.windows.win_http_proxy).
options:
  proxy_server:
    description:
      - The proxy of Defender for Endpoint, C(host:port) (for example V(proxy.corp.example:8080)).
      - It is the WinHTTP proxy with O(winhttp_source=proxy_server), and C(TelemetryProxyServer) with
        O(telemetry=true); it is required by either. C(TelemetryProxyServer) takes one C(servername:port) or
        C(ip:port), so a per-protocol list (V(http=a:8080;https=b:8443)) is only accepted for WinHTTP alone.
      - No C(http://), no user or password (proxy authentication breaks Defender for Endpoint connectivity).
    type: str
    default: ''
  bypass:
    description:
      - The WinHTTP bypass list (for example V(<local>) and V(*.corp.example)), with
        O(winhttp_source=proxy_server). No empty entries.
    type: list
    elements: str
    default: []
  winhttp_source:
    description:
      - How the machine-wide WinHTTP proxy is set.
      - V(proxy_server) sets it to O(proxy_server) and O(bypass) (C(netsh winhttp set proxy)).
      - "V(ie) copies a WinINet proxy with M(ansible.windows.win_http_proxy) C(source=ie)
        (C(netsh winhttp import proxy source=ie)): the module calls C(WinHttpGetIEProxyConfigForCurrentUser),
        so it copies the WinINet setting (C(HKCU\\...\\Connections\\DefaultConnectionSettings)) of B(the account the
        task runs as): the connection user, or the task's C(become_user). To copy LocalSystem's (which the
        sensor's own WinINet calls use), run the task with C(become: true), C(become_method: ansible.builtin.runas)
        and C(become_user: SYSTEM). Only the proxy server and bypass list are copied, not a PAC URL or
        auto-detect; an account with a PAC URL or auto-detect and no proxy server, or with no WinINet setting
        at all, is refused before anything is written."
      - V(unmanaged) leaves WinHTTP alone.
    type: str
    choices: [proxy_server, ie, unmanaged]
    default: proxy_server
  telemetry:
    description:
      - Set the sensor's registry-based static proxy, C(TelemetryProxyServer=<proxy_server>) and
        C(DisableEnterpriseAuthProxy=1) under C(HKLM\SOFTWARE\Policies\Microsoft\Windows\DataCollection), as the
        C(atp.sensor_proxy.atp_proxy) role always did.
    type: bool
    default: true
  prefer_static_proxy:
    description:
      - With O(telemetry=true), also set C(PreferStaticProxyForHttpRequest=1) under
        C(HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection), so that the sensor uses the static
        proxy for its HTTP requests (certificate revocation lists included) on a device that cannot reach the
        internet otherwise. Microsoft documents it for MsSense.exe 10.8210.* and later, or 10.8049.* and later;
        older sensors ignore it.
      - V(false) opts out (the value is then left alone). Ignored with O(telemetry=false).
    type: bool
    default: true
  av_proxy_server:
    description:
      - Defender Antivirus' static proxy, C(ProxyServer) under C(HKLM\SOFTWARE\Policies\Microsoft\Windows Defender)
        (the "Define proxy server for connecting to the network" policy), as a URL with C(http://) or
        C(https://) and a port, for example V(http://proxy.corp.example:8080).
      - Empty leaves it alone.
    type: str
    default: ''
  av_proxy_pac_url:
    description:
      - Defender Antivirus' proxy auto-config URL, C(ProxyPacUrl) ("Define proxy auto-config (.pac) for
        connecting to the network"), an C(http://) or C(https://) URL. Empty leaves it alone.
    type: str
    default: ''
  av_proxy_bypass:
    description:
      - Addresses Defender Antivirus reaches without its proxy, C(ProxyBypass) ("Define addresses to bypass proxy
        server"), written as one C(;)-separated string. Needs O(av_proxy_server) or O(av_proxy_pac_url).
        No empty entries. Empty leaves it alone.
    type: list
    elements: str
    default: []
  av_disable_crl_check:
    description:
      - Set C(SSLOptions=2) under C(HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\Spynet), so that Defender
        Antivirus' cloud connection skips certificate revocation checks (pinning stays on). Microsoft requires it with a
        static proxy on devices that are otherwise offline (they cannot fetch CRLs), and calls it "not best
        practice" otherwise. V(false) leaves the value alone.
    type: bool
    default: false
  backup_dir:
    description:
      - Folder on the host for the backups; created and secured the first time a change is backed up.
      - Its own folder by default, so that a restore of the newest WinINet backup
        (M(atp.sensor_proxy.win_wininet_proxy) C(source=backup)) never picks a Defender for Endpoint one.
    type: str
    default: C:\ProgramData\atp.sensor_proxy\mde_backups
  backup_keep:
    description:
      - Keep the newest this many backups in O(backup_dir); older backup folders are deleted after a change.
    type: int
    default: 10
  read_only:
    description:
      - Never write, in any mode. Report what a change would do (C(actions), C(changed_settings), C(diff)), as in
        check mode, but with C(changed=false). For drift reports.
    type: bool
    default: false
  name_prefix:
    description:
      - Prefix for option names in messages, so that a role can report its own variables (the
        C(atp.sensor_proxy.atp_proxy) role passes V(atp_proxy_mde_), and O(av_proxy_server) is then reported as
        C(atp_proxy_mde_av_proxy_server)).
    type: str
    default: ''
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - atp.sensor_proxy.attributes
  - atp.sensor_proxy.attributes.change
notes:
  - Writing C(HKLM\SOFTWARE\Policies) and the WinHTTP proxy needs local administrator rights on the host.
  - Group Policy may own the same policy values; a GPO that sets them differently puts its own values back at
    the next refresh, and the next run of this module reports the drift.
  - Sources, quoted in the collection's C(docs/mde.md) - Microsoft Learn, C(configure-proxy-internet.md)
    (Defender for Endpoint, "Configure your devices to connect to the Defender for Endpoint service using a
    proxy"), C(configure-device-connectivity.md) (streamlined connectivity),
    C(configure-network-connections-microsoft-defender-antivirus.md) (C(SSLOptions) values), and
    ansible.windows' C(win_http_proxy.ps1).
seealso:
  - module: ansible.windows.win_http_proxy
  - module: atp.sensor_proxy.win_wininet_proxy
  - module: atp.sensor_proxy.atp_endpoint_probe
author:
  - atp.sensor_proxy contributors (@atp-sensor-proxy)
"""

EXAMPLES = r"""
- name: WinHTTP, TelemetryProxyServer, DisableEnterpriseAuthProxy and PreferStaticProxyForHttpRequest
  atp.sensor_proxy.win_mde_proxy:
    proxy_server: proxy.corp.example:8080
    bypass: ['<local>', '*.corp.example']
  register: mde

- name: Show what changed and where the backup went
  ansible.builtin.debug:
    msg: "{{ mde.changed_settings }} changed, backup {{ mde.backup_file }}"

- name: Copy LocalSystem's WinINet proxy to WinHTTP (netsh winhttp import proxy source=ie, as SYSTEM)
  atp.sensor_proxy.win_mde_proxy:
    winhttp_source: ie
    proxy_server: proxy.corp.example:8080
  become: true
  become_method: ansible.builtin.runas
  become_user: SYSTEM

- name: Defender Antivirus too, on devices that are otherwise offline
  atp.sensor_proxy.win_mde_proxy:
    proxy_server: proxy.corp.example:8080
    av_proxy_server: http://proxy.corp.example:8080
    av_proxy_bypass: ['*.corp.example']
    av_disable_crl_check: true

- name: Only Defender Antivirus' PAC URL
  atp.sensor_proxy.win_mde_proxy:
    winhttp_source: unmanaged
    telemetry: false
    av_proxy_pac_url: http://wpad.corp.example/proxy.pac
"""

RETURN = r"""
changed_settings:
  description: Names of the settings that were (in check mode, would be) written.
  returned: always
  type: list
  elements: str
  sample: [winhttp, telemetry_proxy_server]
settings:
  description: Every setting asked for, before this task, decoded.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description:
        - V(winhttp), V(telemetry_proxy_server), V(disable_enterprise_auth_proxy), V(prefer_static_proxy),
          V(av_proxy_server), V(av_proxy_pac_url), V(av_proxy_bypass) or V(av_ssl_options).
      type: str
    label:
      description: The name Microsoft uses (C(TelemetryProxyServer), C(WinHTTP proxy), ...).
      type: str
    path:
      description: The registry key.
      type: str
    value_name:
      description: The registry value.
      type: str
    type:
      description: Its registry type (C(REG_BINARY) for WinHTTP, which M(ansible.windows.win_http_proxy) writes).
      type: str
    current:
      description: What the host held, decoded (C((absent)) when the value did not exist).
      type: str
      sample: (absent)
    wanted:
      description: What it should hold.
      type: str
      sample: proxy.corp:8080
    changed:
      description: Whether it differed (and was, or in check mode would be, written).
      type: bool
    source:
      description: Where Microsoft documents it.
      type: str
actions:
  description: What was done (in check mode, what would be done), one sentence per setting, decoded.
  returned: always
  type: list
  elements: str
  sample: ["would set TelemetryProxyServer: (absent) -> proxy.corp:8080"]
backup_file:
  description: The C(before.reg) of this change on the host; empty when nothing was written or in check mode.
  returned: always
  type: str
  sample: C:\ProgramData\atp.sensor_proxy\mde_backups\atp_proxy_20261201T081500123456Z\before.reg
applied_file:
  description: The C(after.reg) that was imported; empty when nothing was written.
  returned: always
  type: str
backups:
  description: What the backup holds, one entry per changed value.
  returned: success
  type: list
  elements: dict
  contains:
    label:
      description: The setting's name (as in RV(settings[].name)).
      type: str
    path:
      description: The registry key.
      type: str
    name:
      description: The registry value.
      type: str
    old:
      description: The previous value (bytes in hex for WinHTTP), or null when it did not exist.
      type: raw
    state:
      description: V(missing) or V(different).
      type: str
    sid:
      description: Always null (machine-wide values).
      type: str
    account:
      description: Always empty (machine-wide values).
      type: str
written:
  description: Settings written and read back as written (after a failed change, the ones left written).
  returned: always
  type: list
  elements: str
maybe_written:
  description: After a dropped connection, settings that may have been written.
  returned: when the connection dropped
  type: list
  elements: str
dropped_at:
  description: After a dropped connection, the step it dropped in.
  returned: when the connection dropped
  type: str
verified:
  description: True when every written value read back as written.
  returned: when something was written
  type: bool
rolled_back:
  description: Settings put back to their previous values after a failed change.
  returned: when a change was rolled back
  type: list
  elements: str
mismatched:
  description: After a failed change, the settings that read back differently from what was written.
  returned: when a change failed
  type: list
  elements: str
rollback_problems:
  description: After a failed change, the settings that could not be put back (restore them from RV(backup_file)).
  returned: when a change failed
  type: list
  elements: str
pruned:
  description: Backup folders deleted because they were older than the newest O(backup_keep).
  returned: always
  type: list
  elements: str
backup_dir_secured:
  description: True when this task created and secured the backup folder.
  returned: when something was written
  type: bool
winhttp_copied_from:
  description: With O(winhttp_source=ie), the account whose WinINet setting win_http_proxy copies (the task's
    C(become_user), or the connection user); empty otherwise.
  returned: always
  type: str
  sample: SYSTEM
check_mode:
  description: Whether the task ran in check mode (from C(--check) or a task's C(check_mode) keyword).
  returned: always
  type: bool
round_trips:
  description: Remote module executions this task made on the host (the upload counts as 5).
  returned: always
  type: int
  sample: 3
"""

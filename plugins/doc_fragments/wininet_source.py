# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """Options shared by win_wininet_proxy_compare and win_wininet_proxy: the source and the targets."""

    DOCUMENTATION = r"""
options:
  source:
    description:
      - Where the wanted settings come from.
      - V(current_user) reads the connection user's C(HKCU), as in Microsoft's procedure.
      - V(sid) reads C(HKU\<source_sid>). V(value) takes the blob in O(source_value).
        V(settings) encodes the declarative O(settings).
      - When omitted, it is inferred from which of O(source_sid), O(source_value) or O(settings) is given,
        and is V(current_user) when none is.
    type: str
    choices: [current_user, sid, value, settings]
  source_sid:
    description:
      - SID (or V(LocalSystem), V(LocalService), V(NetworkService)) whose loaded hive is the source.
    type: str
  source_value:
    description:
      - A C(DefaultConnectionSettings) blob, in any form the P(atp.sensor_proxy.wininet_decode#filter)
        filter accepts (hex string with or without commas or a C(hex:) prefix, list of ints, list of
        C("0x46") strings as M(ansible.windows.win_reg_stat) returns).
    type: raw
  settings:
    description:
      - A declarative proxy specification, encoded on the controller for each target on top of the value the
        target holds (its change counter goes on, its detection cache is kept), so that the bytes compared are the
        bytes a write would leave.
    type: dict
    suboptions:
      proxy_server:
        description:
          - C(host:port), or per-protocol C(http=host:port;https=host:port). No scheme, no spaces,
            a port from 1 to 65535. Non-ASCII host names must be given in punycode.
          - Given empty, with no C(auto_config_url) or C(auto_detect) in its place, it is refused (it would set the
            accounts to direct). To go direct on purpose give only C(auto_detect) V(false), without C(proxy_server);
            the C(atp.sensor_proxy.atp_proxy) role does that with C(atp_proxy_state=absent).
        type: str
      bypass:
        description:
          - Hosts that bypass the proxy, for example V(<local>) and V(*.corp.example). Entries may also
            be given as one C(;)-separated string.
        type: list
        elements: str
      auto_config_url:
        description:
          - URL of a proxy auto-config (PAC) script.
        type: str
      auto_detect:
        description:
          - Whether WPAD auto-detection is on.
        type: bool
        default: false
  targets:
    description:
      - SIDs of the accounts to compare or set. The names V(LocalSystem) (or V(SYSTEM)), V(LocalService) and
        V(NetworkService) are accepted too, with or without C(NT AUTHORITY\).
      - V(HKLM) is the machine-wide value (C(HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet
        Settings\Connections)), the one every account uses under the C(ProxySettingsPerUser=0) policy.
    type: list
    elements: str
    default: [S-1-5-18, S-1-5-19]
  value_names:
    description:
      - Values to compare or set in each target. The source is always the source's C(DefaultConnectionSettings).
    type: list
    elements: str
    default: [DefaultConnectionSettings]
    choices: [DefaultConnectionSettings, SavedLegacySettings]
"""

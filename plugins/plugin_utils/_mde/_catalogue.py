# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Defender for Endpoint and Defender Antivirus proxy settings Microsoft documents: where each value lives,
its type and its source, the role-style options' defaults, and :class:`Wanted` (one setting and the value it
should hold). The registry keys are stated here once; discovery (:mod:`_sensor._discovery`) reads the same keys.

Pure Python, no Ansible imports, nothing read or written.

Sources (MicrosoftDocs/defender-docs, ``defender-endpoint/``; shown on learn.microsoft.com):

* [proxy] ``configure-proxy-internet.md`` (ms.date 07/01/2024), "Configure your devices to connect to the
  Defender for Endpoint service using a proxy": the EDR sensor uses WinHTTP as LocalSystem; the
  registry-based static proxy is ``TelemetryProxyServer`` (``servername:port or ip:port``, REG_SZ) and
  ``DisableEnterpriseAuthProxy`` = 1 (REG_DWORD) under ``HKLM\\Software\\Policies\\Microsoft\\Windows\\
  DataCollection``; a device that is otherwise offline also needs ``PreferStaticProxyForHttpRequest`` = 1
  under ``HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection``, which "is applicable only
  starting with MsSense.exe version 10.8210.* and later, or version 10.8049.* and later"; Defender
  Antivirus has its own static proxy, ``ProxyServer`` (REG_SZ) under ``HKLM\\Software\\Policies\\Microsoft\\
  Windows Defender``, where "the URL must have either http:// or https://" (example ``http://10.0.0.6:8080``),
  plus ``ProxyPacUrl`` and ``ProxyBypass`` (the same as ``Set-MpPreference -ProxyPacUrl/-ProxyBypass``); an
  otherwise offline device also needs ``SSLOptions`` = 2 (DWORD) under ``...\\Windows Defender\\Spynet``;
  ``netsh winhttp set proxy`` sets the machine-wide WinHTTP proxy.
* [avnet] ``configure-network-connections-microsoft-defender-antivirus.md``: ``SSLOptions`` values, 0 disable
  pinning and revocation checks, 1 disable pinning, **2 disable revocation checks only**, 3 both on (default);
  "not best practice since you'll no longer check for revoked certificates".
* [csp] Policy CSP ``ADMX_MicrosoftDefenderAntivirus`` (MicrosoftDocs/windows-itpro-docs): ``ProxyServer``
  ("should be proceeded with either http:// or https://"), ``ProxyPacUrl`` (the URL of a proxy .pac file),
  ``ProxyBypass`` ("Define addresses to bypass proxy server"), all from ``WindowsDefender.admx``.
* [connectivity] ``configure-device-connectivity.md`` (ms.date 09/29/2025): "Enforcing proxy (user)
  authentication breaks connectivity" and "Traffic inspection is not supported": proxy strings with a user and
  password are refused here (and never quoted back).
* [winhttp] ansible.windows 3.3.0 ``plugins/modules/win_http_proxy.ps1``: ``proxy``/``bypass`` or
  ``source: ie`` (mutually exclusive, lines 15-21); the bypass list is joined with ``;`` (line 64);
  ``source: ie`` calls ``WinHttpGetIEProxyConfigForCurrentUser`` (lines 194-209, 222-227), i.e. the WinINet
  setting of **the account the module runs as** (the connection user, or the task's ``become_user``), and
  only its proxy and bypass list (not its PAC URL or auto-detect); the current and wanted values are compared
  with PowerShell's case-insensitive ``-ne`` after mapping empty to ``$null`` (lines 229-240).
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts

WINHTTP_MODULE = "ansible.windows.win_http_proxy"

WINHTTP_PATH = accounts.MACHINE_CONNECTIONS  # [proxy]: netsh winhttp set proxy; the value is WinHttpSettings
DATA_COLLECTION_PATH = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\DataCollection"
ATP_POLICY_PATH = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
DEFENDER_POLICY_PATH = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender"
SPYNET_POLICY_PATH = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows Defender\Spynet"
# The WinINet setting win_http_proxy source=ie copies: the HKCU of whoever the task runs as.
CURRENT_USER_CONNECTIONS = accounts.connections_path(None)

# A folder of its own: a restore of the WinINet backups ("the newest backup in backup_dir") must not pick an
# MDE backup, and _backup.Manifest.in_dir matches by prefix, so it is a sibling of ...\backups, not a child.
DEFAULT_BACKUP_DIR = "C:\\ProgramData\\atp.sensor_proxy\\mde_backups"
DEFAULT_KEEP = 10

WINHTTP_SOURCES = ("proxy_server", "ie", "unmanaged")
DEFAULTS = {
    "proxy_server": "",
    "bypass": [],
    "winhttp_source": "proxy_server",
    "telemetry": True,
    "prefer_static_proxy": True,
    "av_proxy_server": "",
    "av_proxy_pac_url": "",
    "av_proxy_bypass": [],
    "av_disable_crl_check": False,
}
SSL_OPTIONS_NO_REVOCATION_CHECK = 2  # [avnet]: "2 - disable revocation checks only"


@dataclass(frozen=True)
class Setting:
    """One documented value: where it lives, its type, and how it is shown."""

    name: str  # the machine name (result, summary): winhttp, telemetry_proxy_server, ...
    label: str  # the human name in sentences
    path: str  # win_reg_stat form
    value_name: str
    reg_type: str  # REG_SZ, REG_DWORD, or REG_BINARY (WinHTTP, written by win_http_proxy)
    source: str  # where Microsoft documents it

    @property
    def reg_key(self) -> str:
        return reg_key(self.path)


WINHTTP = Setting("winhttp", "WinHTTP proxy", WINHTTP_PATH, "WinHttpSettings", "REG_BINARY",
                  "configure-proxy-internet.md: netsh winhttp set proxy (machine-wide WinHTTP, used as LocalSystem)")
TELEMETRY_PROXY_SERVER = Setting(
    "telemetry_proxy_server", "TelemetryProxyServer", DATA_COLLECTION_PATH, "TelemetryProxyServer", "REG_SZ",
    "configure-proxy-internet.md: Configure connected user experiences and telemetry (servername:port)")
DISABLE_ENTERPRISE_AUTH_PROXY = Setting(
    "disable_enterprise_auth_proxy", "DisableEnterpriseAuthProxy", DATA_COLLECTION_PATH, "DisableEnterpriseAuthProxy",
    "REG_DWORD", "configure-proxy-internet.md: Configure authenticated proxy usage ... (1 = disable)")
PREFER_STATIC_PROXY = Setting(
    "prefer_static_proxy", "PreferStaticProxyForHttpRequest", ATP_POLICY_PATH, "PreferStaticProxyForHttpRequest",
    "REG_DWORD", "configure-proxy-internet.md: offline devices, MsSense 10.8210.*+ or 10.8049.*+")
AV_PROXY_SERVER = Setting(
    "av_proxy_server", "Defender Antivirus ProxyServer", DEFENDER_POLICY_PATH, "ProxyServer", "REG_SZ",
    "configure-proxy-internet.md: Define proxy server for connecting to the network (http:// or https://)")
AV_PROXY_PAC_URL = Setting(
    "av_proxy_pac_url", "Defender Antivirus ProxyPacUrl", DEFENDER_POLICY_PATH, "ProxyPacUrl", "REG_SZ",
    "configure-proxy-internet.md / ADMX_MicrosoftDefenderAntivirus: Define proxy auto-config (.pac)")
AV_PROXY_BYPASS = Setting(
    "av_proxy_bypass", "Defender Antivirus ProxyBypass", DEFENDER_POLICY_PATH, "ProxyBypass", "REG_SZ",
    "configure-proxy-internet.md / ADMX_MicrosoftDefenderAntivirus: Define addresses to bypass proxy server")
AV_SSL_OPTIONS = Setting(
    "av_ssl_options", "Defender Antivirus SSLOptions", SPYNET_POLICY_PATH, "SSLOptions", "REG_DWORD",
    "configure-proxy-internet.md and configure-network-connections-microsoft-defender-antivirus.md "
    "(2 = disable revocation checks only)")
SETTINGS = (WINHTTP, TELEMETRY_PROXY_SERVER, DISABLE_ENTERPRISE_AUTH_PROXY, PREFER_STATIC_PROXY, AV_PROXY_SERVER,
            AV_PROXY_PAC_URL, AV_PROXY_BYPASS, AV_SSL_OPTIONS)


def reg_key(path: str) -> str:
    """``HKLM:\\SOFTWARE\\X`` -> ``HKEY_LOCAL_MACHINE\\SOFTWARE\\X`` (the .reg form)."""
    root, sep, rest = path.partition(":\\")
    long = {"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER", "HKU": "HKEY_USERS"}[root.upper()]
    return long + ("\\" + rest if rest else "")


FROM_IE = "ie"  # the wanted WinHTTP value comes from the account's WinINet setting (known after the read)


@dataclass(frozen=True)
class Wanted:
    setting: Setting
    value: object  # str / int, a WinHttp, or FROM_IE; None: the value is removed
    module_args: dict | None = None  # WinHTTP: the win_http_proxy arguments
    owner: str = ""  # another part of the run that wants this value (options["also"]): the variable that says so

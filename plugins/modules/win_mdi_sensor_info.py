# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_mdi_sensor_info
short_description: Find the Defender for Identity sensor on a host and where each of its parts takes its proxy
version_added: 0.2.0
description:
  - Read-only discovery of the Microsoft Defender for Identity sensor on a Windows domain controller.
    C(changed) is always false, and it runs in check mode (AWX "Check" jobs).
  - "Generation: V(v3) when the C(SenseIdentity) process runs (the test of the DefenderForIdentity
    PowerShell module); V(v2) when the C(AATPSensor) service exists, with the version taken from its
    install folder; otherwise no sensor. The markers found are listed in RV(sensor.markers)."
  - For a v2 sensor it reads C(SensorConfiguration.json) from the folder of C(Microsoft.Tri.Sensor.exe)
    (the service's binary path) and reports its C(SensorProxyConfiguration) URL, user name and whether
    a password is stored, never the password nor its encrypted bytes; and the thumbprints of the
    certificates that encrypt it. It does not read C(LocalMachine\My); only a write that encrypts a new
    password needs the certificate (M(atp.sensor_proxy.win_mdi_sensor_proxy) reads it then).
  - It reads the C(ProxySettingsPerUser) policy, the machine-wide WinINet value and the WinHTTP proxy,
    and, where per-user settings apply, the WinINet values of the sensor's accounts.
  - RV(effective_proxy) gives each sensor component the proxy it will use and its source
    (V(sensor_config), V(wininet_per_account), V(wininet_machine) or V(mde)); RV(sensor_warnings)
    names two sources that disagree. No public source says whether a v2 sensor prefers its own proxy
    or WinINet when both are set, so that case is V(ambiguous) and warned about.
  - With O(readiness), it checks the root CAs Microsoft documents in C(LocalMachine\Root) and the .NET
    C(SchUseStrongCrypto) and C(SystemDefaultTlsVersions) values, each with a one-line fix; on a v2 sensor host also
    localhost TCP 444 (something listens there and no enabled Windows Firewall block rule covers it).
  - "Remote cost, in module executions (round trips): 1 for a host without a sensor or with a v3 sensor,
    2 for a v2 sensor (the state query and the JSON file), with or without O(readiness). One more when a v2
    service runs as an account other than LocalService or LocalSystem. RV(round_trips) returns the count."
  - This is an action plugin. It runs on the controller and calls M(ansible.windows.win_powershell) once,
    with the collection's one fixed, read-only state query (the services, the C(SenseIdentity) process,
    every registry key above and the root CAs, in one round trip, because no module reads several keys or
    lists processes), and M(ansible.windows.slurp) for the JSON file.
options:
  readiness:
    description:
      - Also check the documented root CAs and the .NET TLS registry values (RV(readiness)).
    type: bool
    default: true
  dotnet_versions:
    description:
      - The C(HKLM\SOFTWARE\Microsoft\.NETFramework) versions whose TLS values O(readiness) checks, each in
        the native and the C(WOW6432Node) key. Microsoft's troubleshooting page names V(v4.0.30319) only;
        V(v2.0.50727) matters for .NET 3.5 applications.
    type: list
    elements: str
    choices: [v4.0.30319, v2.0.50727]
    default: [v4.0.30319]
  ansi_encoding:
    description:
      - The host's ANSI code page, as a Python codec name, for a C(SensorConfiguration.json) without a byte
        order mark that is not UTF-8 (Windows PowerShell 5.1's C(Set-Content) writes ANSI).
    type: str
    default: cp1252
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - atp.sensor_proxy.attributes
  - atp.sensor_proxy.attributes.read
notes:
  - A running service keeps the proxy it read at start; this module reports the configuration, not
    what a running process has loaded.
  - Defender for Endpoint falls back to a direct connection when its proxy fails; a v3 sensor's RV(effective_proxy)
    names the configured proxy.
seealso:
  - module: atp.sensor_proxy.win_wininet_proxy_compare
  - module: atp.sensor_proxy.atp_endpoint_probe
  - module: atp.sensor_proxy.win_mdi_sensor_proxy
  - name: Connect to the Defender for Identity service (Microsoft Defender for Identity)
    description: The proxy methods, the sensor's own setting and the legacy WinINet and registry methods.
    link: https://learn.microsoft.com/defender-for-identity/deploy/configure-proxy
  - name: Troubleshooting Microsoft Defender for Identity known issues
    description: The root CAs and the .NET TLS values the readiness checks come from.
    link: https://learn.microsoft.com/defender-for-identity/troubleshooting-known-issues
author:
  - atp.sensor_proxy contributors (@atp-sensor-proxy)
"""

EXAMPLES = r"""
- name: Find the sensor and its proxy
  atp.sensor_proxy.win_mdi_sensor_info:
  register: atp_sensor

- name: Show what each part of the sensor uses
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.summary }} ({{ item.value.source }})"
  loop: "{{ atp_sensor.effective_proxy | dict2items }}"

- name: Stop when the sensor's own proxy and WinINet disagree
  ansible.builtin.assert:
    that: atp_sensor.sensor_warnings | length == 0
    fail_msg: "{{ atp_sensor.sensor_warnings }}"

- name: Discovery only, no readiness checks (still 1 or 2 round trips)
  atp.sensor_proxy.win_mdi_sensor_info:
    readiness: false

- name: Also check the .NET 2.0-3.5 TLS values
  atp.sensor_proxy.win_mdi_sensor_info:
    dotnet_versions: [v4.0.30319, v2.0.50727]
"""

RETURN = r"""
sensor:
  description: The installed sensor.
  returned: success
  type: dict
  contains:
    installed:
      description: Whether a Defender for Identity sensor is installed.
      type: bool
      sample: true
    generation:
      description: V(v2), V(v3) or null.
      type: str
      sample: v2
    markers:
      description: The markers found (C(process SenseIdentity running), C(service AATPSensor), C(service AATPSensorUpdater)).
      type: list
      elements: str
      sample: [service AATPSensor, service AATPSensorUpdater]
    version:
      description: The v2 sensor's version (the name of its install folder), or null.
      type: str
      sample: 2.250.18972.54612
    install_folder:
      description: The folder of C(Microsoft.Tri.Sensor.exe), with a trailing backslash.
      type: str
      sample: C:\Program Files\Azure Advanced Threat Protection Sensor\2.250.18972.54612\
    config_path:
      description: The path of C(SensorConfiguration.json).
      type: str
      sample: C:\Program Files\Azure Advanced Threat Protection Sensor\2.250.18972.54612\SensorConfiguration.json
    services:
      description:
        - C(AATPSensor) and C(AATPSensorUpdater) when installed, each with C(name), C(state) (V(started),
          V(stopped), V(start_pending), ... as M(ansible.windows.win_service_info) names them), C(status) (the
          C(ServiceControllerStatus) name, V(Running), V(Stopped), ...), C(running), C(start_mode) (V(auto),
          V(manual), V(disabled), ...), C(username) (the service key's C(ObjectName)), C(account), C(sid),
          C(path) (its C(ImagePath)), C(dependencies) and C(dependency_of) (the services that depend on it).
      type: dict
    processes:
      description: The running C(SenseIdentity) processes (C(name), C(pid)).
      type: list
      elements: dict
sensor_config:
  description:
    - The v2 sensor's own proxy setting in C(SensorConfiguration.json); null for other hosts.
  returned: success
  type: dict
  contains:
    path:
      description: The file.
      type: str
    exists:
      description: Whether the file exists.
      type: bool
    encoding:
      description: V(ascii), V(utf-8), V(utf-8-bom), V(utf-16-le), V(utf-16-be), V(utf-32-le), V(utf-32-be) or V(ansi).
      type: str
      sample: utf-8
    line_ending:
      description: V(crlf), V(lf), V(cr) or V(none).
      type: str
      sample: crlf
    secret_manager_thumbprint:
      description: C(SecretManagerConfigurationCertificateThumbprint), the certificate a new password is encrypted with.
      type: str
    proxy:
      description:
        - C(state) (V(set), V(null), V(empty) or V(absent)), C(configured), C(url), C(username), C(password_set)
          and C(certificate_thumbprint) (the certificate the stored password was encrypted with).
      type: dict
      sample: {"state": "set", "configured": true, "url": "http://proxy.corp.example:8080", "username": "CORP\\svc-proxy",
               "password_set": true, "certificate_thumbprint": "E44826515D2778493F7F1B44A4F0A435832C657B"}
    password_certificate_is_secret_manager:
      description:
        - Whether the stored password's certificate is the SecretManager certificate (null when either is unknown).
          Files the sensor wrote itself have been seen with two different certificates.
      type: bool
    error:
      description: Why the file could not be read, when it could not.
      type: str
wininet:
  description: The WinINet settings that apply to the sensor's accounts.
  returned: success
  type: dict
  contains:
    per_user_policy:
      description:
        - C(ProxySettingsPerUser) under C(HKLM\SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\Internet Settings),
          its C(value) and C(per_machine) (true when it is 0, so the per-account values have no effect).
      type: dict
    effective_key:
      description: The key WinINet uses, the machine Connections key under the policy, else each account's own.
      type: str
    machine:
      description: The machine-wide C(DefaultConnectionSettings), decoded (C(state), C(summary), C(proxy_server), ...).
      type: dict
    accounts:
      description: SID -> the account's C(DefaultConnectionSettings), decoded; read only when per-user settings apply.
      type: dict
winhttp:
  description: The machine WinHTTP proxy (C(netsh winhttp)), C(proxy_server), C(bypass), C(summary).
  returned: success
  type: dict
mde:
  description:
    - For a v3 sensor, the Defender for Endpoint settings it connects with, C(onboarded), C(org_id),
      C(proxy_server) (Windows Defender C(ProxyServer) policy, a URL) and C(telemetry_proxy_server)
      (C(TelemetryProxyServer), host:port); null for other hosts.
  returned: success
  type: dict
effective_proxy:
  description:
    - Per sensor component (C(sensor), and C(updater) for v2), the proxy it will use, C(source), C(proxy), C(summary),
      C(account), C(sid), C(ambiguous) and every C(candidates) entry considered.
  returned: success
  type: dict
  sample: {"sensor": {"component": "sensor", "service": "AATPSensor", "account": "LocalService", "sid": "S-1-5-19",
                      "source": "sensor_config", "proxy": "http://proxy.corp.example:8080",
                      "summary": "proxy http://proxy.corp.example:8080", "ambiguous": false, "candidates": []}}
method_in_use:
  description: How the sensor gets its proxy today, V(sensor_config), V(wininet), V(mde) or V(none).
  returned: success
  type: str
  sample: sensor_config
auto_method:
  description:
    - The method C(atp_proxy_method=auto) picks, the one in use, else V(sensor_config) for a v2 sensor,
      V(wininet) for a host without a sensor.
  returned: success
  type: str
  sample: sensor_config
message:
  description: For a v3 sensor, that it connects through Defender for Endpoint.
  returned: when the sensor is v3
  type: str
readiness:
  description:
    - With O(readiness), C(ok), C(root_certificates) (C(ok), C(roots) with C(thumbprint), C(name), C(present), C(fix)),
      C(tls) (C(ok), C(values) with C(path), C(name), C(state) V(ok)/V(not_set)/V(wrong), C(fix)), on a v2 sensor
      host C(localhost_444) (C(ok), C(port), C(listening) addresses, C(blocked_by) firewall rule names, C(fix)), and
      C(fixes);
      null without.
  returned: success
  type: dict
sensor_warnings:
  description: Disagreements and problems found, each naming its sources (also shown as warnings).
  returned: success
  type: list
  elements: str
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
  sample: false
round_trips:
  description: Number of remote module executions this task made on the host.
  returned: always
  type: int
  sample: 2
"""

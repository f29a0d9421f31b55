# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: win_mdi_sensor_proxy
short_description: Set the Defender for Identity sensor's own proxy, with backup, verification, restart and rollback
version_added: 0.2.0
description:
  - Sets the proxy of a Microsoft Defender for Identity sensor v2 in its own setting, C(SensorProxyConfiguration)
    in C(SensorConfiguration.json) (the folder of C(Microsoft.Tri.Sensor.exe)), the way the DefenderForIdentity
    PowerShell module's C(Set-MDISensorProxyConfiguration) does, and clears it with O(state=absent) as
    C(Clear-MDISensorProxyConfiguration) does (it writes C(null) there). Microsoft calls this the
    sensor's own proxy setting; WinINet is the legacy method (M(atp.sensor_proxy.win_wininet_proxy)).
  - "Only that member changes, and only when it differs: every other byte of the file stays as it was (encoding,
    byte order mark, line endings, indentation), where Microsoft's cmdlet rewrites the whole file. URLs compare by
    scheme, host and port; user names in any case."
  - "The password is encrypted on the controller, as C(Get-MDIEncryptedPassword) does (RSA-OAEP-SHA256 of the
    UTF-16LE password) with the public key of the certificate named by C(SecretManagerConfigurationCertificateThumbprint),
    read from C(LocalMachine\\My) with M(ansible.windows.win_certificate_info) only when a password must be
    encrypted. A missing certificate fails before anything is written, naming the option and the thumbprint.
    Nothing ever decrypts; the password is in no result, message, backup or log. O(password_update) decides
    whether a stored password of the same user is kept (V(on_create)) or encrypted again on every run (V(always))."
  - "Backup: every change gets a folder C(<backup_dir>\\atp_proxy_<UTC timestamp>) with C(SensorConfiguration.json),
    the exact previous bytes, C(SensorConfiguration.new.json), what was written, and C(manifest.reg). The folder is
    secured the first time it is used, and the SHA-256 of the backup is recorded under
    C(HKLM\\SOFTWARE\\atp.sensor_proxy\\Backups) before the sensor's file is touched (the same trust as the WinINet
    backups). Copying that file back over the sensor's file undoes the change."
  - "Write: the new bytes cross the wire once, into the backup folder with the previous bytes and the manifest
    entry (one M(ansible.windows.win_powershell) run of the collection's file write, each file created new and read
    back with its SHA-256); a copy on the host (M(ansible.windows.win_copy), C(remote_src)) then puts them over the
    sensor's file, and its SHA-256 is read back (M(ansible.windows.win_stat))."
  - "Restart: when something changed, C(AATPSensorUpdater) is restarted as Microsoft's cmdlet does
    (C(Stop-Service -Force), C(Start-Service)): M(ansible.windows.win_service) with C(state=restarted) and
    C(force_dependent_services=true), which restarts the running services that depend on it too. Then
    C(AATPSensorUpdater) and every sensor service that ran before must be running again. If they are not, the
    previous file is put back and read back, the updater restarted again, and the task fails saying what the host
    holds now. With O(restart=false) nothing is restarted and a warning says that the running sensor keeps its
    old proxy."
  - "In check mode nothing is written or restarted; C(actions) and C(msg) say what would happen
    (C(would write SensorConfiguration.json: proxy (none) -> http://proxy.corp:8080; would restart AATPSensorUpdater)).
    With C(--diff), the proxy member before and after is shown (URL, user, whether a password is set), never its
    encrypted bytes."
  - "If the connection drops part way, the task returns an C(unreachable) result that keeps C(written),
    C(maybe_written), C(backup_file), C(restarted) and C(dropped_at); a rerun reads the file first."
  - "Remote cost per host, in module executions: 2 when nothing changes (the state query and the file, as
    M(atp.sensor_proxy.win_mdi_sensor_info) reads them); a change adds 6 (the backup write 1, the manifest entry 1, the
    copy 1, the read back 1, the restart 1, the check that the services run 1), 5 more the first time a backup
    folder is used, 1 when a password is encrypted, and 1 per backup pruned."
  - This is an action plugin. It runs on the controller and uses M(ansible.windows.win_powershell) (the collection's
    read-only state query and its file write), M(ansible.windows.slurp), M(ansible.windows.win_certificate_info),
    M(ansible.windows.win_copy), M(ansible.windows.win_command) (C(reg.exe import)), M(ansible.windows.win_stat),
    M(ansible.windows.win_service), M(ansible.windows.win_file), M(ansible.windows.win_owner),
    M(ansible.windows.win_acl) and M(ansible.windows.win_acl_inheritance).
options:
  url:
    description:
      - The proxy the sensor uses, a URL with its scheme, V(http://proxy.corp.example:8080)
        (C(Set-MDISensorProxyConfiguration -ProxyUrl)). Required with O(state=present).
    type: str
  username:
    description:
      - The proxy user, V(CORP\\svc-proxy). Without it, no user or password is stored.
    type: str
  password:
    description:
      - The proxy user's password; requires O(username). Encrypted on the controller, never sent or stored in clear.
      - Without it, a password the file already holds for the same O(username) is kept.
    type: str
  password_update:
    description:
      - V(on_create) keeps a stored password of the same user (nothing can tell whether it is still the wanted one
        without decrypting it); V(always) encrypts O(password) again, so the task reports a change every run.
    type: str
    choices: [always, on_create]
    default: on_create
  state:
    description:
      - V(present) sets the proxy; V(absent) clears it (C(SensorProxyConfiguration) becomes C(null)).
    type: str
    choices: [present, absent]
    default: present
  restart:
    description:
      - Restart C(AATPSensorUpdater) after a change (and check that the sensor's services run again), as
        Microsoft's cmdlet does. A running sensor keeps the proxy it read at start.
    type: bool
    default: true
  backup_dir:
    description:
      - Folder on the host for the backups. It is created and secured the first time a change is backed up.
    type: str
    default: C:\ProgramData\atp.sensor_proxy\backups
  backup_keep:
    description:
      - Keep the newest this many backups of the sensor's file in O(backup_dir); older ones are deleted after a
        change.
    type: int
    default: 10
  name_prefix:
    description:
      - Prefix for option names in messages, so that a caller can report its own variables (with
        V(atp_proxy_sensor_proxy_), O(password) is reported as C(atp_proxy_sensor_proxy_password)).
    type: str
    default: ''
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - atp.sensor_proxy.attributes
  - atp.sensor_proxy.attributes.change
notes:
  - Only a sensor v2 has this setting. A host with a sensor v3 (which connects through Defender for Endpoint) or
    without a sensor fails with a message saying so, and nothing is changed.
  - The copy replaces the file (C(Remove-Item), C(Copy-Item) in win_copy.ps1), so the new file takes the
    permissions the install folder gives it, where C(Set-Content) would keep the old file's own.
  - A file without a byte order mark that is not UTF-8 is read as Windows-1252 (ANSI on English and Western
    European Windows).
seealso:
  - module: atp.sensor_proxy.win_mdi_sensor_info
  - module: atp.sensor_proxy.win_wininet_proxy
  - name: Connect to the Defender for Identity service (Microsoft Defender for Identity)
    description: The sensor's own proxy setting, and the legacy WinINet and registry methods.
    link: https://learn.microsoft.com/defender-for-identity/deploy/configure-proxy
author:
  - atp.sensor_proxy contributors (@atp-sensor-proxy)
"""

EXAMPLES = r"""
- name: Give the sensor its own proxy
  atp.sensor_proxy.win_mdi_sensor_proxy:
    url: http://proxy.corp.example:8080

- name: With a proxy user (the password is encrypted on the controller)
  atp.sensor_proxy.win_mdi_sensor_proxy:
    url: http://proxy.corp.example:8080
    username: CORP\svc-mdi-proxy
    password: "{{ vault_mdi_proxy_password }}"

- name: Clear it, as Clear-MDISensorProxyConfiguration does
  atp.sensor_proxy.win_mdi_sensor_proxy:
    state: absent

- name: See what would change, without writing or restarting anything
  atp.sensor_proxy.win_mdi_sensor_proxy:
    url: http://proxy.corp.example:8080
  check_mode: true
  diff: true
  register: atp_sensor_proxy

- name: Write now, restart in a maintenance window
  atp.sensor_proxy.win_mdi_sensor_proxy:
    url: http://proxy.corp.example:8080
    restart: false
"""

RETURN = r"""
changed:
  description: Whether the file was written (in check mode, would be).
  returned: always
  type: bool
actions:
  description: What was done (in check mode, what would be), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["wrote SensorConfiguration.json: proxy (none) -> http://proxy.corp:8080", "restarted AATPSensorUpdater"]
msg:
  description: The actions as one line, or why nothing was needed.
  returned: always
  type: str
  sample: "SensorConfiguration.json: the sensor proxy is already set"
config_path:
  description: The sensor's C(SensorConfiguration.json).
  returned: success
  type: str
backup_file:
  description: The backup of the previous file (copy it back over RV(config_path) to undo), or empty.
  returned: always
  type: str
  sample: C:\ProgramData\atp.sensor_proxy\backups\atp_proxy_20261201T081500123456Z\SensorConfiguration.json
written:
  description: The files written and read back as written (RV(config_path), or none).
  returned: always
  type: list
  elements: str
maybe_written:
  description: After a dropped connection, the files that may have been written.
  returned: when the connection dropped
  type: list
  elements: str
dropped_at:
  description: The step the connection dropped in.
  returned: when the connection dropped
  type: str
restarted:
  description: The services this task restarted (the dependents Restart-Service restarted with them are not listed).
  returned: always
  type: list
  elements: str
restart_needed:
  description: With O(restart=false), the services to restart for the running sensor to use the new proxy.
  returned: when changed and O(restart=false)
  type: list
  elements: str
verified:
  description: The file was read back as written and the services run again.
  returned: always
  type: bool
services:
  description: The status of each sensor service after the restart (V(Running), V(Stopped), ...).
  returned: when restarted
  type: dict
  sample: {"AATPSensor": "Running", "AATPSensorUpdater": "Running"}
proxy:
  description:
    - The plan, C(changed), C(reason), C(before) and C(after) (each with C(state), C(configured), C(url), C(username),
      C(password_set), C(certificate_thumbprint)), C(password_encrypted), C(password_kept) and
      C(certificate_thumbprint) (the certificate the stored password is encrypted with).
  returned: success
  type: dict
rolled_back:
  description: After a failed restart or read back, whether the previous file was put back and read back.
  returned: when the change failed
  type: bool
diff:
  description: The proxy member before and after (C(--diff)).
  returned: when changed
  type: dict
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
round_trips:
  description: Number of remote module executions this task made on the host.
  returned: always
  type: int
  sample: 12
"""

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# One concern: this file is the module's documentation only (DOCUMENTATION, EXAMPLES, RETURN; the action plugin of the
# same name runs it). Its length is the documented options and return values, which ansible-doc shows whole.

DOCUMENTATION = r"""
---
module: mdi_sensor_health
short_description: Ask Microsoft Graph whether each host's Defender for Identity sensor is connected
version_added: 0.2.0
description:
  - "The cloud's verdict: reads the Defender for Identity sensors (C(GET /security/identities/sensors)) and the
    open health issues (C(GET /security/identities/healthIssues?$filter=Status eq 'open')) from Microsoft Graph v1.0
    with app-only credentials, matches each host of O(hosts) to its sensor, and returns per host the sensor's health
    status, deployment status and version, the open connectivity issues with Microsoft's recommendations, and a
    verdict (RV(hosts.connected), RV(hosts.evidence)). A host without a sensor in Graph is reported as
    V(no_sensor), never dropped."
  - "Matching, case-insensitive: O(sensor_names) first; else the host's names (the inventory name, then
    C(ansible_host) and C(ansible_fqdn) when they are names) against each sensor's DNS names (C(displayName), or
    C(displayName.domainName), and a domain controller sensor's C(settings.domainControllerDnsNames)); else a name
    without a dot (C(dc01)) against the first label of one sensor. Two candidates make the host V(ambiguous)."
  - "Verdict: V(not_connected) when Graph's C(deploymentStatus) is V(disconnected), V(startFailure) or
    V(unreachable), or a connectivity issue is open (O(connectivity_issues)); V(connected) for the other documented
    statuses without such an issue; V(unknown) for an undocumented status."
  - "A well-behaved Graph client on the standard library: one token per run (client credentials grant, a client
    secret or a certificate), every page (C(@odata.nextLink), only on the Graph endpoint itself), 429/503/504 retried
    after C(Retry-After) at most O(max_retries) times and never past O(total_timeout), redirects never followed,
    TLS verified. A refused read (HTTP 403) names the application permission it needs; both reads are tried first,
    so one message names both when both are missing."
  - "Application permissions (Microsoft Graph, type Application, with admin consent), least privileged per
    Microsoft's reference pages: C(SecurityIdentitiesSensors.Read.All) (list sensors) and
    C(SecurityIdentitiesHealth.Read.All) (list health issues)."
  - "Runs on the controller only, never connects to a host (C(_requires_connection = False)), writes nothing and
    reports C(changed=false). Call it once for the play: C(run_once: true)."
  - "Secrets (O(client_secret), O(certificate_password), O(proxy_password), the access token, the signed assertion)
    are never returned nor shown, at any verbosity."
  - Sources, shapes and the matching rules in detail are in C(docs/cloud_health.md).
options:
  tenant_id:
    description:
      - The Microsoft Entra tenant, as its directory (tenant) ID or a verified domain name.
      - When not given, the environment variable C(ATP_GRAPH_TENANT_ID) (what the collection's AWX credential type
        injects, see C(docs/awx.md)).
    type: str
  client_id:
    description:
      - The application (client) ID of the app registration.
      - When not given, C(ATP_GRAPH_CLIENT_ID).
    type: str
  client_secret:
    description:
      - A client secret of the application (its Value, not its Secret ID). Mutually exclusive with
        O(certificate_path).
      - When neither O(client_secret) nor O(certificate_path) is given, the credential comes from the environment,
        C(ATP_GRAPH_CLIENT_SECRET) or C(ATP_GRAPH_CERTIFICATE_PATH) (with C(ATP_GRAPH_CERTIFICATE_PASSWORD)), all or
        nothing, so a task never mixes the two sources.
      - Never returned or logged.
    type: str
  certificate_path:
    description:
      - "A file on the controller with the application's certificate and its RSA private key, PEM (key and
        certificate in one file) or PKCS#12 (C(.pfx)). The module signs a client assertion with it (C(PS256) and
        C(x5t#S256), SHA-256 only, usable on a FIPS controller); the certificate's public part must be uploaded to
        the app registration."
      - Needs the Python library C(cryptography) on the controller (ansible-core depends on it).
    type: path
  certificate_password:
    description:
      - The password of an encrypted private key or PKCS#12 file. Never returned or logged.
    type: str
  cloud:
    description:
      - The Microsoft cloud of the tenant; it chooses the token service and the Graph endpoint.
      - V(commercial) and V(gcc) use C(https://login.microsoftonline.com) and C(https://graph.microsoft.com) (GCC
        keeps the worldwide endpoints); V(gcc_high) (US Government L4) uses C(https://login.microsoftonline.us)
        and C(https://graph.microsoft.us); V(dod) (L5) uses C(https://login.microsoftonline.us) and
        C(https://dod-graph.microsoft.us).
      - Microsoft documents these two APIs as not available in the China cloud operated by 21Vianet, so it is not
        offered.
      - When not given, C(ATP_GRAPH_CLOUD), else V(commercial). The same names as the role's C(atp_proxy_cloud).
    type: str
    choices: [commercial, gcc, gcc_high, dod]
  graph_endpoint:
    description:
      - Replaces the Graph root of O(cloud) (C(https://host[:port]), no version), for another sovereign endpoint or
        a test server. The token's scope follows it (C(<graph_endpoint>/.default)).
    type: str
  authority:
    description:
      - Replaces the token service root of O(cloud) (C(https://host[:port])); the token is requested from
        C(<authority>/<tenant_id>/oauth2/v2.0/token).
    type: str
  api_version:
    description:
      - The Graph version. Both APIs are in V(v1.0); V(beta) is Microsoft's preview, unsupported in production.
    type: str
    choices: [v1.0, beta]
    default: v1.0
  hosts:
    description:
      - The inventory hosts to report on. Defaults to the hosts of the play's current batch
        (C(ansible_play_batch)); with O(hosts) a play on C(localhost) can report on a group, for example
        C("{{ groups['atp_sensors'] }}").
      - Names that are not in the inventory are matched as they are.
    type: list
    elements: str
  sensor_names:
    description:
      - The override of the matching, inventory host to the sensor's DNS name, display name or Graph id, for hosts
        whose inventory names are not their DNS names (an alias, an address).
    type: dict
    default: {}
  connectivity_issues:
    description:
      - The display names of the health issues that mean the sensor does not reach its cloud (case-insensitive).
        The defaults are the three of Defender for Identity's health issue list that say so.
    type: list
    elements: str
    default: [Sensor stopped communicating, Sensor service failed to start, Sensor outdated]
  validate_certs:
    description:
      - Verify the TLS certificates of the token service and Graph. Set to V(false) only for a test endpoint.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file on the controller with CA certificates to trust in addition to the system's trust store, for
        example the CA of a proxy that inspects TLS (as C(ca_path) of M(ansible.builtin.uri), but added to the
        default trust store rather than replacing it).
    type: path
  use_proxy:
    description:
      - Without O(proxy), V(true) uses the controller's C(https_proxy) and C(no_proxy) environment variables, as
        M(ansible.builtin.uri) does; V(false) always connects directly.
    type: bool
    default: true
  proxy:
    description:
      - The proxy every request goes through, C(http://host:port), with optional credentials as
        C(http://user:password@host:port) or with O(proxy_username) and O(proxy_password), not both. In the URL, a
        C(/), C(?) or C(#) of the user or password must be URL-encoded (C(%2F), C(%3F), C(%23)); a URL with one
        left as it is is refused without quoting it.
    type: str
  proxy_username:
    description:
      - User name for the proxy's basic authentication.
    type: str
  proxy_password:
    description:
      - Password for the proxy's basic authentication. Never returned or logged.
    type: str
  timeout:
    description:
      - Seconds to wait for each answer.
    type: int
    default: 30
  total_timeout:
    description:
      - Seconds one reading may take, retries and their waits included. A C(Retry-After) longer than the time left
        ends the task at once, saying so.
    type: int
    default: 120
  max_retries:
    description:
      - How often one request is retried after HTTP 429, 503 or 504.
    type: int
    default: 5
  wait_timeout:
    description:
      - Seconds to keep reading until every host of O(wait_for) that has a sensor is V(connected), for example after the sensors'
        proxy changed and their services restarted. V(0) reads once. Graph notices a sensor that stopped
        communicating after about 5 to 10 minutes, and one that came back only after its next contact.
    type: int
    default: 0
  wait_interval:
    description:
      - Seconds between two readings while waiting.
    type: int
    default: 30
  wait_for:
    description:
      - The hosts of O(hosts) the wait (O(wait_timeout)) waits for, for example the hosts whose sensor was just
        restarted; the verdict of every host of O(hosts) is still returned. Default, every host of O(hosts). An empty
        list reads once.
    type: list
    elements: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - atp.sensor_proxy.attributes
attributes:
  check_mode:
    support: full
    details:
      - Read-only; it reads Graph in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Call it once per play with C(run_once=true); it needs no connection to the hosts, and one reading covers them
    all (two listings, whatever the number of hosts).
  - Graph notices a sensor that stopped communicating after about 5 minutes ("Sensor stopped communicating") and
    marks it C(disconnected) after 10 (Microsoft's descriptions); right after a proxy change the verdict can still
    be the old one. Use O(wait_timeout) to wait for the new one.
seealso:
  - name: List sensors (Microsoft Graph v1.0)
    description: The sensors API, its permission and national cloud availability.
    link: https://learn.microsoft.com/en-us/graph/api/security-identitycontainer-list-sensors
  - name: List healthIssues (Microsoft Graph v1.0)
    description: The health issues API, its permission and filters.
    link: https://learn.microsoft.com/en-us/graph/api/security-identitycontainer-list-healthissues
  - name: Microsoft Defender for Identity health issues
    description: Every health issue, its cause and resolution.
    link: https://learn.microsoft.com/en-us/defender-for-identity/health-alerts
  - module: atp.sensor_proxy.atp_endpoint_probe
author:
  - atp.sensor_proxy contributors (@atp-sensor-proxy)
"""

EXAMPLES = r"""
# After playbooks/configure_atp_proxy.yml (or the atp_proxy role) set the proxy on the domain controllers:
# ask the cloud whether each sensor connected. The credential comes from the AWX credential type
# "Microsoft Graph - Defender for Identity health" (environment variables), or from a vault as below.
- name: The cloud's verdict on each domain controller's sensor
  hosts: atp_sensors
  gather_facts: false
  tasks:
    - name: Read the sensors and their open health issues from Microsoft Graph
      atp.sensor_proxy.mdi_sensor_health:
        tenant_id: contoso.onmicrosoft.com
        client_id: 00000000-0000-0000-0000-000000000000
        client_secret: "{{ vault_mdi_graph_client_secret }}"
        proxy: http://proxy.corp.example:8080
        wait_timeout: 900            # the sensors restarted: wait up to 15 minutes for them to reconnect
      run_once: true
      register: mdi_health

    - name: One line per host
      ansible.builtin.debug:
        msg: "{{ mdi_health.hosts[inventory_hostname].verdict }}: {{ mdi_health.hosts[inventory_hostname].evidence }}"

    - name: Fail the hosts whose sensor the cloud does not see connected
      ansible.builtin.assert:
        that: mdi_health.hosts[inventory_hostname].connected is not false
        fail_msg: "{{ mdi_health.hosts[inventory_hostname].connectivity_issues | map(attribute='recommendations')
                      | flatten | join(' ') }}"

- name: From localhost, in a GCC High tenant, with a certificate, for a group whose inventory names are aliases
  atp.sensor_proxy.mdi_sensor_health:
    cloud: gcc_high
    tenant_id: 11111111-2222-3333-4444-555555555555
    client_id: 00000000-0000-0000-0000-000000000000
    certificate_path: /etc/pki/atp/mdi-health-app.pem
    hosts: "{{ groups['atp_sensors'] }}"
    sensor_names:
      dc-east: DC01.corp.example.gov
  delegate_to: localhost
  run_once: true
  register: mdi_health
"""

RETURN = r"""
hosts:
  description: One entry per host of O(hosts), in that order, each host's verdict with its evidence.
  returned: success
  type: dict
  contains:
    verdict:
      description: V(connected), V(not_connected), V(unknown), V(no_sensor) (no sensor in Graph for this host) or
        V(ambiguous) (several sensors match; see RV(hosts.candidates)).
      type: str
      sample: connected
    connected:
      description: V(true) for V(connected), V(false) for V(not_connected), else null. The cloud's answer to
        "is the sensor connected?".
      type: bool
    evidence:
      description: One sentence, the facts the verdict rests on (Graph's statuses and the open connectivity
        issues, or which names found no sensor).
      type: str
      sample: "Graph: sensor DC01 (domainControllerIntegrated, 2.239.18124.58593) deploymentStatus upToDate,
        healthStatus healthy, no open connectivity issue"
    matched_by:
      description: How the sensor was found, V(override) (O(sensor_names)), V(dns_name) or V(short_name); null when
        no sensor was found.
      type: str
    match_name:
      description: The name (or O(sensor_names) value) that matched.
      type: str
    health_status:
      description: Graph's C(healthStatus) of the sensor (V(healthy), V(notHealthyLow), V(notHealthyMedium),
        V(notHealthyHigh)), null without a sensor.
      type: str
    deployment_status:
      description: Graph's C(deploymentStatus) (V(upToDate), V(outdated), V(updating), V(updateFailed),
        V(notConfigured), V(unreachable), V(disconnected), V(startFailure), V(syncing)), null without a sensor.
      type: str
    version:
      description: The sensor's version as Graph reports it, if any.
      type: str
      sample: 2.239.18124.58593
    sensor:
      description: The matched sensor (Graph's fields in snake case), null without one.
      type: dict
      contains:
        id:
          description: Graph's id of the sensor.
          type: str
        display_name:
          description: C(displayName).
          type: str
        domain_name:
          description: C(domainName).
          type: str
        dns_names:
          description: The DNS names the sensor was matched by (lower case).
          type: list
          elements: str
        sensor_type:
          description: C(sensorType), for example V(domainControllerIntegrated).
          type: str
        version:
          description: C(version).
          type: str
        health_status:
          description: C(healthStatus).
          type: str
        deployment_status:
          description: C(deploymentStatus).
          type: str
        open_health_issues_count:
          description: C(openHealthIssuesCount).
          type: int
        created:
          description: C(createdDateTime).
          type: str
    connectivity_issues:
      description: The sensor's open health issues named in O(connectivity_issues), with Microsoft's
        recommendations.
      type: list
      elements: dict
      contains:
        id:
          description: Graph's id of the health issue.
          type: str
        display_name:
          description: C(displayName), for example C(Sensor stopped communicating).
          type: str
        connectivity:
          description: Whether the issue is one of O(connectivity_issues).
          type: bool
        severity:
          description: V(low), V(medium) or V(high).
          type: str
        status:
          description: V(open).
          type: str
        health_issue_type:
          description: C(healthIssueType), V(sensor) or V(global).
          type: str
        issue_type_id:
          description: C(issueTypeId).
          type: str
        description:
          description: C(description).
          type: str
        recommendations:
          description: C(recommendations), what to do.
          type: list
          elements: str
        recommended_action_commands:
          description: C(recommendedActionCommands), PowerShell commands that fix it, if any.
          type: list
          elements: str
        additional_information:
          description: C(additionalInformation).
          type: list
          elements: str
        sensor_dns_names:
          description: C(sensorDNSNames).
          type: list
          elements: str
        created:
          description: C(createdDateTime).
          type: str
        last_modified:
          description: C(lastModifiedDateTime).
          type: str
    other_issues:
      description: The sensor's other open health issues, in the same shape as RV(hosts.connectivity_issues).
      type: list
      elements: dict
    candidates:
      description: For V(ambiguous), the sensors that matched (as RV(hosts.sensor)).
      type: list
      elements: dict
summary:
  description: The hosts per verdict.
  returned: success
  type: dict
  sample: {connected: [dc01], not_connected: [dc02], unknown: [], no_sensor: [dc03], ambiguous: []}
lines:
  description: "One line per host, C(<host>: <verdict>; <evidence>)."
  returned: success
  type: list
  elements: str
sensors_total:
  description: The number of sensors Graph listed.
  returned: success
  type: int
open_issues_total:
  description: The number of open health issues Graph listed (all sensors, global ones included).
  returned: success
  type: int
sensors_not_in_hosts:
  description: The sensors (a DNS name each) that no host of O(hosts) matched.
  returned: success
  type: list
  elements: str
waited_for:
  description: The hosts the wait waited for (O(wait_for), else every host of O(hosts)).
  returned: success
  type: list
  elements: str
readings:
  description: How many times both collections were read (more than one while waiting).
  returned: success
  type: int
waited:
  description: Seconds spent waiting between readings (O(wait_timeout)).
  returned: success
  type: float
settled:
  description: Whether every host of O(wait_for) with a sensor ended V(connected) (what O(wait_timeout) waits for).
  returned: success
  type: bool
endpoints:
  description: Where the module went.
  returned: always
  type: dict
  sample: {cloud: commercial, authority: "https://login.microsoftonline.com", graph: "https://graph.microsoft.com",
           api_version: v1.0}
credential:
  description: Which credential was used, V(client_secret) or V(certificate), where it came from (V(task) or
    V(environment)), and for a certificate its subject, SHA-256 thumbprint and expiry. Never a secret.
  returned: always
  type: dict
client:
  description: What the client did, for every reading together.
  returned: always
  type: dict
  contains:
    requests:
      description: HTTP requests sent (token requests and retries included).
      type: int
    retries:
      description: Requests retried after 429, 503 or 504.
      type: int
    waited:
      description: Seconds slept on C(Retry-After) or back-off.
      type: float
    pages:
      description: Pages read.
      type: int
    throttled:
      description: Each throttled answer, C({what, status, retry_after}).
      type: list
      elements: dict
missing_permissions:
  description: On a refused read (HTTP 403), the application permissions Graph needs for it.
  returned: failure
  type: list
  elements: str
  sample: [SecurityIdentitiesHealth.Read.All]
"""

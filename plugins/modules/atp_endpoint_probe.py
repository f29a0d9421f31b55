# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: atp_endpoint_probe
short_description: Prove that a Defender for Identity sensor can reach its cloud service, the way the sensor would
version_added: 0.1.0
description:
  - Probes the Microsoft Defender for Identity sensor API, the certificate revocation hosts, Defender for Endpoint
    URLs and extra URLs, and tells for each URL whether the service itself answered, and if not exactly why
    (C(outcome)) and what to change (C(hint)).
  - "With O(via=target) (the default) the requests run on the Windows host as the task's user, through
    M(ansible.windows.win_uri). With C(become: true), C(become_method: runas) and C(become_user: LocalService)
    (or C(SYSTEM)) that is the sensor's service account, and the request uses that account's own WinINet proxy
    (C(HKU\\S-1-5-19) or C(HKU\\S-1-5-18)), exactly as the sensor does."
  - Target mode costs one round trip (one C(win_uri) call) per URL, because a WinRM connection executes one
    module at a time; the result reports C(round_trips). Target mode cannot see the certificate chain, so
    C(tls_issuer) is null there and a certificate problem is reported as C(tls_error).
  - With O(via=controller) the URLs are probed from the Ansible controller (or the delegate) with the Python
    C(requests) library, all concurrently, optionally through O(proxy). This is a pre-flight check before
    touching any domain controller; it also sees the certificate issuer and so detects SSL inspection.
  - Read-only; never reports C(changed). Runs in check mode (AWX "Check" jobs) exactly as in normal mode.
  - "Which HTTP answers count as C(reachable): the sensor API ping route
    C(https://<workspace>sensorapi.atp.azure.com/tri/sensor/api/ping) only with 200; the legacy regional
    sensor API hosts (probed at C(/), the historical check) only with 503; the CRL hosts with any 2xx, 3xx or
    404 from the origin; Defender for Endpoint and extra URLs with any HTTP answer from the service itself, that
    is not a proxy-generated 403, 407 or 5xx. See C(docs/troubleshooting.md) for every outcome."
author:
  - atp.sensor_proxy contributors (@atp-sensor-proxy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: full
    details: Read-only; probes run in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: windows
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
options:
  via:
    description:
      - Where the requests run from.
      - C(target) runs them on the Windows host as the task's (become) user, with that user's WinINet proxy.
      - C(controller) runs them on the Ansible controller with C(requests), concurrently.
    type: str
    choices: [target, controller]
    default: target
  workspace:
    description:
      - Defender for Identity workspace name; probes C(https://<workspace>sensorapi.atp.azure.com/tri/sensor/api/ping).
    type: str
  regions:
    description:
      - Legacy regional sensor API hosts to probe (at C(/), expecting 503).
      - C(us) is C(triprd1wcusw1sensorapi.atp.azure.com), C(triprd1wcuswb1sensorapi.atp.azure.com),
        C(triprd1wcuse1sensorapi.atp.azure.com) and C(triprd1wcuse1sensorapi.eastus.cloudapp.azure.com);
        C(eu) is C(triprd1wceun1sensorapi.atp.azure.com) and C(triprd1wceuw1sensorapi.atp.azure.com);
        C(asia) is C(triprd1wcasse1sensorapi.atp.azure.com).
    type: list
    elements: str
    default: []
  products:
    description:
      - C(mdi) needs O(workspace) or O(regions). C(mde) needs O(mde_urls).
      - Use an empty list to probe only O(urls) (and the CRL hosts when O(include_crl=true)).
    type: list
    elements: str
    choices: [mdi, mde]
    default: [mdi]
  mde_urls:
    description:
      - Defender for Endpoint URLs to probe (from Microsoft's URL list for your region).
      - Wildcard entries such as C(*.ods.opinsights.azure.com) cannot be probed; the task fails naming the entry.
    type: list
    elements: str
    default: []
  urls:
    description:
      - Extra URLs to probe; any HTTP answer from the service counts as reachable.
    type: list
    elements: str
    default: []
  include_crl:
    description:
      - Also probe C(http://crl.microsoft.com) and C(http://ctldl.windowsupdate.com) (certificate revocation and
        trust lists, over plain HTTP, as Windows fetches them).
    type: bool
    default: true
  timeout:
    description:
      - Per-URL timeout in seconds (connect and read).
    type: int
    default: 10
  validate_certs:
    description:
      - Validate the TLS certificates. Turning it off still detects SSL inspection from the issuer (controller).
    type: bool
    default: true
  ca_path:
    description:
      - O(via=controller) only. A PEM bundle on the controller with extra CA certificates to trust, in addition
        to the default bundle of C(requests).
    type: path
  expected_issuers:
    description:
      - Fragments of the certificate issuer names that are genuine (case-insensitive substring match on the
        issuer's RFC 4514 name). A certificate issued by anyone else means SSL inspection (C(tls_intercepted)).
      - Only O(via=controller) can see the issuer.
    type: list
    elements: str
    default: [Microsoft, DigiCert]
  expected_proxy:
    description:
      - O(via=target) only. The proxy the probed account is expected to use (for example C(proxy.corp:8080)),
        or C(direct).
      - C(win_uri) does not tell whether a request went through a proxy. With this option the results report it
        as C(proxy), and "Unable to connect to the remote server" is classified as C(proxy_unreachable) instead of
        C(connection_refused). Without it, C(proxy) is null unless the failure itself names it.
    type: str
  proxy:
    description:
      - O(via=controller) only. Proxy URL, for example C(http://proxy.corp:8080). Without it the controller
        connects directly (environment variables such as C(HTTPS_PROXY) are ignored on purpose).
    type: str
  proxy_username:
    description:
      - O(via=controller) only. User name for the proxy's basic authentication.
    type: str
  proxy_password:
    description:
      - O(via=controller) only. Password for the proxy's basic authentication. Never returned or logged.
    type: str
  fail_on_unreachable:
    description:
      - Fail the task when any URL is not C(reachable); the message lists each failing URL with its outcome.
    type: bool
    default: false
  report_json:
    description:
      - "Path on the controller of a JSON report, C({\"hosts\": {<inventory_hostname>: <result>}})."
      - Several hosts writing the same file merge into it safely (a lock file C(<path>.lock)). A directory
        (existing, or given with a trailing slash) gets one C(<inventory_hostname>.json) per host instead.
    type: path
  report_junit:
    description:
      - Path on the controller of a JUnit XML report, one C(testsuite) per host and one C(testcase) per
        host and URL; unreachable URLs are failures whose message is the outcome and the hint.
      - Merging and directories as for O(report_json).
    type: path
notes:
  - The certificate issuer check matters because the sensor uses mutual TLS with its cloud service, which
    breaks when a proxy re-signs the traffic (SSL inspection).
  - In target mode, a request that ends in "Unable to connect to the remote server" may come from the proxy
    (when the account has one) or from the service; set O(expected_proxy) to tell them apart.
seealso:
  - module: ansible.windows.win_uri
  - module: atp.sensor_proxy.win_wininet_proxy
"""

EXAMPLES = r"""
- name: Can LocalService reach the sensor API through its own proxy? (as the sensor does)
  atp.sensor_proxy.atp_endpoint_probe:
    workspace: contoso
    expected_proxy: proxy.corp:8080
  become: true
  become_method: ansible.builtin.runas
  become_user: LocalService
  register: probe_localservice

- name: Pre-flight from the controller through the corporate proxy, failing with the list of problems
  atp.sensor_proxy.atp_endpoint_probe:
    via: controller
    workspace: contoso
    regions: [eu]
    products: [mdi, mde]
    mde_urls:
      - https://winatp-gw-weu.microsoft.com/test
      - https://events.data.microsoft.com/ping
    proxy: http://proxy.corp:8080
    proxy_username: svc-atp
    proxy_password: "{{ vault_proxy_password }}"
    fail_on_unreachable: true
    report_json: /var/tmp/atp_probe/
    report_junit: /var/tmp/atp_probe.xml
  delegate_to: localhost
"""

RETURN = r"""
results:
  description: One entry per probed URL, in catalogue order.
  returned: success
  type: list
  elements: dict
  contains:
    url:
      description: The URL probed.
      type: str
      sample: https://contososensorapi.atp.azure.com/tri/sensor/api/ping
    endpoint:
      description:
        - Catalogue id. C(mdi_workspace), C(mdi_<region>_<n>), C(crl_microsoft), C(crl_ctldl), C(mde_<n>) and
          C(url_<n>) (numbered in the order given).
      type: str
      sample: mdi_workspace
    status:
      description:
        - HTTP status received, from the service or from the proxy (407, a CONNECT refused with 403 or 502);
          null when no HTTP answer came back.
      type: int
      sample: 200
    elapsed:
      description: Seconds spent on this URL.
      type: float
      sample: 0.183
    proxy:
      description:
        - The proxy used (without credentials) or C(direct). In target mode O(expected_proxy) when given, else
          null unless the failure names it.
      type: str
      sample: http://proxy.corp:8080
    tls_issuer:
      description: Issuer (RFC 4514) of the certificate presented, where visible (controller mode, HTTPS), else null.
      type: str
      sample: CN=Microsoft Azure RSA TLS Issuing CA 03,O=Microsoft Corporation,C=US
    outcome:
      description: Exactly one of the outcomes; see C(docs/troubleshooting.md).
      type: str
      choices: [reachable, proxy_auth_required, blocked_by_proxy, tls_intercepted, tls_error, dns_failure,
                connection_refused, timeout, proxy_unreachable]
      sample: reachable
    hint:
      description: One sentence telling what to change; empty when reachable.
      type: str
      sample: "Allow anonymous (unauthenticated) access to *.atp.azure.com on the proxy: ..."
    error:
      description: Raw error message (credentials removed), or null.
      type: str
all_reachable:
  description: True when every URL is reachable.
  returned: success
  type: bool
failing:
  description: The URLs that are not reachable.
  returned: success
  type: list
  elements: dict
  contains:
    url:
      description: The URL.
      type: str
    endpoint:
      description: Catalogue id.
      type: str
    outcome:
      description: Its outcome.
      type: str
    hint:
      description: What to change.
      type: str
elapsed_total:
  description: Wall-clock seconds for the whole probe.
  returned: success
  type: float
via:
  description: C(target) or C(controller).
  returned: success
  type: str
account:
  description:
    - The account the requests ran as. Target mode, the become user (with become) or else the connection user;
      controller mode, the local user of the controller.
  returned: success
  type: str
  sample: LocalService
round_trips:
  description: Number of modules executed on the target (one C(win_uri) per URL in target mode, 0 for controller).
  returned: success
  type: int
report_json:
  description: The JSON report file written, when O(report_json) is set.
  returned: when report_json is set
  type: str
report_junit:
  description: The JUnit report file written, when O(report_junit) is set.
  returned: when report_junit is set
  type: str
"""

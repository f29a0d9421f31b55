# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# One concern: this file is the module's documentation only (DOCUMENTATION, EXAMPLES, RETURN; the action plugin of the
# same name runs it). Its length is the documented options and return values, which ansible-doc shows whole.

DOCUMENTATION = r"""
---
module: atp_endpoint_probe
short_description: Prove that a Defender for Identity sensor can reach its cloud service, the way the sensor would
version_added: 0.1.0
description:
  - Probes the Microsoft Defender for Identity sensor API, the certificate revocation hosts, Defender for Endpoint
    URLs and extra URLs, and tells for each URL whether the service itself answered, and if not exactly why
    (C(outcome)) and what to change (C(hint)).
  - "With O(via=target) (the default) the requests run on the Windows host as the task's user. With C(become: true),
    C(become_method: runas) and C(become_user: LocalService) (or C(SYSTEM)) that is the sensor's service account,
    and the request uses that account's own WinINet proxy (C(HKU\\S-1-5-19) or C(HKU\\S-1-5-18)), exactly as the
    sensor does."
  - "Target mode, O(engine=script) (the default): one M(ansible.windows.win_powershell) run probes every URL and mode
    at once, each request in a runspace of its own with C(System.Net.HttpWebRequest), the .NET class
    M(ansible.windows.win_uri) uses, set up as win_uri sets it up (proxy, timeout, no redirects, TLS 1.2): one round
    trip per account whatever the number of URLs, and the whole probe takes about as long as the slowest URL.
    A per-request certificate validation callback sees the certificate chain as the host received it, so each HTTPS
    result says whether a proxy re-signed the traffic (C(tls_intercepted)), from the host's own point of view, and
    lists the chain (C(tls_chain)). The script returns raw facts only; every outcome is decided on the controller.
    The named proxy's password reaches the host as a C(sensitive_parameters) credential (C(no_log)), never in the
    script or its output."
  - "Target mode, O(engine=win_uri): one M(ansible.windows.win_uri) call per URL and probe mode (one round trip
    each), for sites that allow no script of their own. win_uri does not return the certificate chain: to still
    detect SSL inspection, the controller looks at the certificate through the same proxy (O(tls_inspection_check)),
    once per proxy and host per run, shared by every host and fork of the run. It sees what that proxy does to the
    controller's connection; it cannot see policies that treat the domain controllers differently, a transparent
    inspection device between the host and the proxy, or a host that goes direct. Both engines give the same outcome
    and hint for the same answer. The result reports C(round_trips)."
  - With O(via=controller) the URLs are probed from the Ansible controller (or the delegate) with the Python
    C(requests) library, all concurrently, optionally through O(proxy). This is a pre-flight check before
    touching any domain controller; it also sees the certificate issuer and so detects SSL inspection.
  - Read-only; never reports C(changed). Runs in check mode (AWX "Check" jobs) exactly as in normal mode.
  - "Which HTTP answers count as C(reachable), from Microsoft's pages: the sensor API ping route
    C(https://<workspace>sensorapi.<domain>/tri/sensor/api/ping) with 200, or 503 from an older workspace
    (ATADocs test-connectivity.md); the regional sensor API hosts (probed at C(/)) with 503; the CRL hosts with
    any 2xx, 3xx or 404 from the origin; OCSP responders with any answer; the catalogue's Defender for Endpoint
    URLs with the status Microsoft's connectivity tests expect; URLs you list with any answer from the service
    itself. An answer the proxy generated itself never counts. See C(docs/troubleshooting.md) for every outcome."
author:
  - atp.sensor_proxy contributors (@atp-sensor-proxy)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - atp.sensor_proxy.attributes
  - atp.sensor_proxy.attributes.read
attributes:
  check_mode:
    support: full
    details: Read-only; probes run in check mode too.
options:
  via:
    description:
      - Where the requests run from.
      - C(target) runs them on the Windows host as the task's (become) user, with that user's WinINet proxy.
      - C(controller) runs them on the Ansible controller with C(requests), concurrently.
    type: str
    choices: [target, controller]
    default: target
  cloud:
    description:
      - The Microsoft cloud of the tenant; it chooses the sensor API domain and the regional hosts.
      - C(commercial) is C(<workspace>sensorapi.atp.azure.com), C(gcc) is C(<workspace>sensorapi.gcc.atp.azure.com),
        C(gcc_high) and C(dod) are C(<workspace>sensorapi.atp.azure.us) (ATADocs us-govt-gcc-high.md).
    type: str
    choices: [commercial, gcc, gcc_high, dod]
    default: commercial
  workspace:
    description:
      - Defender for Identity workspace name; probes C(https://<workspace>sensorapi.<domain>/tri/sensor/api/ping).
    type: str
  regions:
    description:
      - Regional sensor API hosts to probe (at C(/), expecting 503), for workspaces that predate workspace names.
      - Commercial cloud, the 2020 names (ATADocs commit 420c2e8a) C(us), C(eu) (alias C(europe)), C(asia) (alias
        C(apac)), C(uk); the original 2018 names C(us_2018), C(eu_2018), C(asia_2018). GCC C(gcc); GCC High and
        DoD C(usgov), and the 2020 name C(usgov_2020).
    type: list
    elements: str
    default: []
  products:
    description:
      - C(mdi) needs O(workspace) or O(regions). C(mde) needs O(mde_urls) or O(mde_sets).
      - Use an empty list to probe only O(urls) (and the CRL hosts when O(include_crl=true)).
    type: list
    elements: str
    choices: [mdi, mde]
    default: [mdi]
  mde_urls:
    description:
      - Defender for Endpoint URLs to probe (for example the host names of your onboarding package); any answer
        from the service itself counts.
      - Wildcard entries such as C(*.ods.opinsights.azure.com) cannot be probed; the task fails naming the entry.
    type: list
    elements: str
    default: []
  mde_sets:
    description:
      - Defender for Endpoint URL sets from the catalogue, with the concrete test URLs Microsoft's connectivity
        tests use (commercial cloud only); needs O(mde_geo).
      - C(standard) is the standard set (C(winatp-gw-*), C(*.events.data.microsoft.com), C(*.cp.wd.microsoft.com)).
      - C(streamlined) is the streamlined set under C(*.endpoint.security.microsoft.com)
        (defender-docs configure-device-connectivity.md).
    type: list
    elements: str
    choices: [standard, streamlined]
    default: []
  mde_geo:
    description:
      - The tenant's Defender for Endpoint geography for O(mde_sets).
      - C(au) exists for the streamlined set only.
    type: str
    choices: [us, eu, uk, au]
  v3_geo_url:
    description:
      - The C(geoLocationUrl) of Defender for Endpoint's onboarding info on a host with the Defender for Identity
        sensor v3 (C(HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection) C(OnboardingInfo)),
        for example C(https://winatp-gw-eus.microsoft.com/). Probes the sensor v3's identity channel,
        C(<geoLocationUrl>cnc/identity/api), first, as the DefenderForIdentity module's C(Test-MDISensorApiConnection)
        does on a v3 host, where only HTTP 500 from the service counts as reachable.
      - The C(atp.sensor_proxy.atp_proxy) role passes the value it read on the host.
    type: str
  urls:
    description:
      - Extra URLs to probe; any HTTP answer from the service counts as reachable.
    type: list
    elements: str
    default: []
  include_crl:
    description:
      - Also probe the certificate revocation and trust list hosts Microsoft lists for the sensor
        (C(crl.microsoft.com), C(ctldl.windowsupdate.com), C(www.microsoft.com/pkiops/*), C(www.microsoft.com/pki/*)),
        over plain HTTP, as Windows fetches them.
    type: bool
    default: true
  include_azure_pki:
    description:
      - Also probe the AIA, CRL and OCSP hosts of the Azure certificate authorities (DigiCert, C(mscrl.microsoft.com),
        C(oneocsp.microsoft.com), C(ocsp.msocsp.com); azure-docs azure-CA-details.md).
    type: bool
    default: false
  engine:
    description:
      - O(via=target) only. How the host makes the requests.
      - C(script) runs the collection's read-only probe script with M(ansible.windows.win_powershell) once for all URLs
        and modes (one round trip), concurrently, and sees the certificate chain the host received.
      - C(win_uri) makes one M(ansible.windows.win_uri) call per URL and mode, for sites that forbid custom scripts;
        TLS inspection is then judged from the controller (O(tls_inspection_check)).
    type: str
    choices: [script, win_uri]
    default: script
  timeout:
    description:
      - Per-URL timeout in seconds (the whole request).
      - With O(engine=script) the requests run side by side, and the whole run ends at most 5 s after the timeout of
        its last wave (up to 32 requests at once); a request still running then is reported C(timeout).
    type: int
    default: 10
  validate_certs:
    description:
      - Validate the TLS certificates. Turning it off still detects SSL inspection from the issuer.
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
      - Without it, the issuers of O(cloud)'s services, C(Microsoft) and C(DigiCert) in all four clouds (azure-docs
        azure-CA-details.md lists the CAs Azure uses, government clouds included).
      - The hints name these. An empty entry is refused, as it is part of every issuer's name; a list of nothing but
        empty entries (an empty survey field) is no list.
    type: list
    elements: str
  proxy_source:
    description:
      - O(via=target) only. Where the host's sensor takes its proxy from, so that each hint names the setting to change
        there, V(wininet_per_account) (the probed account's WinINet value), V(wininet_machine) (the machine-wide
        value under C(ProxySettingsPerUser=0)), V(sensor_config) (the sensor's own C(SensorConfiguration.json)) or
        V(mde) (Defender for Endpoint's proxy, for a sensor v3). The role passes the method the host uses.
    type: str
    choices: [wininet_per_account, wininet_machine, sensor_config, mde]
    default: wininet_per_account
  expected_proxy:
    description:
      - O(via=target) only. The proxy the probed account is configured with (its WinINet C(proxy_server), for
        example C(proxy.corp:8080) or C(http=a:80;https=b:8080)), or C(direct).
      - C(win_uri) does not tell whether a request went through a proxy. With this option the results report it
        as C(proxy), "Unable to connect to the remote server" is classified as C(proxy_unreachable) instead of
        C(connection_refused), and the TLS inspection check knows which proxy to look through.
    type: str
  modes:
    description:
      - O(via=target) only. How to send each request, as the Defender for Endpoint Client Analyzer tests a URL.
      - C(default) is .NET's default proxy, the account's WinINet setting (what the Defender for Identity sensor
        uses; C(win_uri)'s default). C(direct) is no proxy (C(win_uri) with C(use_proxy=false)). C(named) is
        O(proxy), bypassed for local names only (C(win_uri) with C(proxy_url=)O(proxy)).
      - C(winhttp) and C(wpad) are reported under C(not_tested) with the reason, because .NET's C(HttpWebRequest)
        (both engines) cannot use the WinHTTP proxy or force auto-discovery.
      - A URL is reachable when any tested mode reaches it; C(working_modes) lists them.
    type: list
    elements: str
    choices: [default, direct, named, winhttp, wpad]
    default: [default]
  direct_fallback:
    description:
      - O(via=target) with O(modes) C(named) and C(direct). The client falls back to a direct connection when the
        named proxy fails, as Defender for Endpoint does with its static proxy (C(TelemetryProxyServer));
        a URL that mode C(named) does not reach but mode C(direct) does is C(works_only_direct), a warning with the
        fix (its C(direct) result), never C(reachable); C(all_reachable) is false and C(works_only_direct) lists it.
    type: bool
    default: false
  tls_inspection_check:
    description:
      - O(via=target) and O(engine=win_uri) only. Look at the certificate from the controller through the proxy the
        host uses (O(expected_proxy), or O(proxy) for mode C(named)), once per proxy and host per run, to tell
        C(intercepted) from C(not intercepted). When off, or when the proxy is not known, C(tls_inspection) is
        C(unknown) with the reason.
      - O(engine=script) needs no such check, the host's own view of the chain decides.
    type: bool
    default: true
  proxy:
    description:
      - O(via=controller), the proxy URL every request uses, for example C(http://proxy.corp:8080). Without it the
        controller connects directly (environment variables such as C(HTTPS_PROXY) are ignored on purpose).
      - O(via=target), the named proxy of mode C(named) (C(win_uri) C(proxy_url)).
      - Credentials may be given here as C(http://user:password@proxy:8080) or with O(proxy_username) and
        O(proxy_password), not both; either way they are used for every request and never returned. In the URL, a
        C(/), C(?) or C(#) of the user or password must be URL-encoded (C(%2F), C(%3F), C(%23)); a URL with one
        left as it is is refused without quoting it.
    type: str
  proxy_username:
    description:
      - User name for the proxy's basic authentication (controller mode, and mode C(named)).
    type: str
  proxy_password:
    description:
      - Password for the proxy's basic authentication. Never returned or logged.
    type: str
  accounts:
    description:
      - "With O(via=target): probe as each of these accounts in turn, in this one task, instead of a C(loop) over
        C(become_user). Before each account's probe the task's become user is set to that account, as a loop sets it
        for each item, so each account is probed with its own WinINet proxy and its own run (one round trip per
        account with O(engine=script)). The task needs C(become: true) and C(become_method: ansible.builtin.runas);
        its own C(become_user) is not used."
      - Each account's result is the one the task would return with C(become_user) set to that account alone; they
        are in RV(accounts). A loop costs the controller a templated task and a result for each account; this costs
        one of each.
      - Only names runas can log on as are accepted (V(SYSTEM), V(LocalService), V(NetworkService), with or without
        C(NT AUTHORITY\)), all checked before anything runs on the host.
      - When the connection drops during one account's probe, the accounts after it are not probed; each says so,
        and the task is C(unreachable).
    type: list
    elements: str
  plan:
    description:
      - The probe plan an M(atp.sensor_proxy.atp_proxy_job) result returns as C(probe), given whole, so that one
        argument carries what the job decided for this host (the role's probe task templates this one argument,
        and O(proxy_password) when the run was given it, instead of some twenty).
      - Each key of the plan that names an option of this module sets that option, unless the task sets the option
        itself (the task wins). A key whose value is null or an empty string leaves the option at its default.
      - Its C(expected_proxies), the proxy each account uses after the job by account SID (C(HKLM) for the
        machine-wide value under C(ProxySettingsPerUser=0), which then is every account's), sets O(expected_proxy)
        for the account the task runs as (its C(become_user)), unless the task sets O(expected_proxy).
      - Its C(accounts), whom to probe as (the role's C(atp_proxy_probe_accounts)), sets O(accounts) unless the task
        sets it, so the task probes as each of them in turn.
      - Its C(run), C(workspace_mismatch) and C(proxy_password_given) are the job's notes and are not options; any
        other key is refused, naming it. O(proxy_password) is never in a plan.
    type: dict
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
        host and URL (and mode); a URL no mode reached is a failure whose message is the outcome and the hint.
      - Merging and directories as for O(report_json).
    type: path
notes:
  - The certificate issuer check matters because the sensor uses mutual TLS with its cloud service, which
    breaks when a proxy re-signs the traffic (SSL inspection), even when the inspection CA is trusted.
  - In target mode a C(become_user) that C(runas) cannot log on as (a SID, C(LocalSystem)) is refused before
    anything runs on the host; use C(SYSTEM), C(LocalService) or C(NetworkService).
seealso:
  - module: ansible.windows.win_powershell
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

- name: Which way reaches Defender for Endpoint as SYSTEM? (the Client Analyzer's question)
  atp.sensor_proxy.atp_endpoint_probe:
    products: [mde]
    mde_sets: [streamlined]
    mde_geo: eu
    include_crl: false
    modes: [default, direct, named]
    proxy: http://proxy.corp:8080
    expected_proxy: proxy.corp:8080
  become: true
  become_method: ansible.builtin.runas
  become_user: SYSTEM
  register: probe_mde

- name: Both of the sensor's accounts in one task (one round trip each; the summary of each in probe.accounts)
  atp.sensor_proxy.atp_endpoint_probe:
    workspace: contoso
    accounts: [LocalService, SYSTEM]
  become: true
  become_method: ansible.builtin.runas
  register: probe

- name: The same where no custom script may run on a DC (one win_uri call per URL)
  atp.sensor_proxy.atp_endpoint_probe:
    workspace: contoso
    engine: win_uri
    expected_proxy: proxy.corp:8080
  become: true
  become_method: ansible.builtin.runas
  become_user: LocalService

- name: Pre-flight from the controller through the corporate proxy, failing with the list of problems
  atp.sensor_proxy.atp_endpoint_probe:
    via: controller
    workspace: contoso
    regions: [eu]
    products: [mdi, mde]
    mde_sets: [standard]
    mde_geo: eu
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
  description: One entry per probed URL and mode, in catalogue order (each URL's modes in the order asked).
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
        - Catalogue id. C(mdi_workspace), C(mdi_v3_identity) (O(v3_geo_url)), C(mdi_<region>_<n>), C(crl_microsoft), C(crl_ctldl), C(crl_pkiops),
          C(crl_pki), C(pki_<name>), C(mde_std_<n>), C(mde_sl_<n>), C(mde_<n>) and C(url_<n>) (numbered in the order
          given).
      type: str
      sample: mdi_workspace
    mode:
      description: How the request went, C(default), C(direct) or C(named) (target), C(controller) (controller).
      type: str
      sample: default
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
        - The proxy used (without credentials) or C(direct). In target mode O(expected_proxy) for mode C(default)
          when given, else null unless the failure names it.
      type: str
      sample: http://proxy.corp:8080
    tls_issuer:
      description: Issuer (RFC 4514) of the certificate presented, where seen (HTTPS), else null.
      type: str
      sample: CN=Microsoft Azure RSA TLS Issuing CA 03,O=Microsoft Corporation,C=US
    tls_chain:
      description:
        - O(engine=script), HTTPS. The certificate chain as the host built it from what the server (or the
          inspecting proxy) sent, server certificate first, each as Windows names it; empty when not seen.
      type: list
      elements: dict
      returned: via is target and engine is script
      contains:
        subject:
          description: The certificate's subject (.NET's form, C(CN=..., O=..., C=...)).
          type: str
        issuer:
          description: Its issuer.
          type: str
        thumbprint:
          description: Its SHA-1 thumbprint, as Windows shows it.
          type: str
    tls_chain_status:
      description:
        - O(engine=script), HTTPS. The chain's status flags on the host (C(X509ChainStatus)), for example
          C(UntrustedRoot) or C(PartialChain); empty for a valid chain.
      type: list
      elements: dict
      returned: via is target and engine is script
      contains:
        status:
          description: The C(X509ChainStatusFlags) name.
          type: str
        information:
          description: Windows' text for it.
          type: str
    tls_policy_errors:
      description:
        - O(engine=script), HTTPS. The host's C(SslPolicyErrors) for the certificate (C(None),
          C(RemoteCertificateChainErrors), C(RemoteCertificateNameMismatch)); null when no certificate was seen.
          With O(validate_certs) anything but C(None) makes the result C(tls_error) (or C(tls_intercepted)).
      type: str
      returned: via is target and engine is script
    tls_inspection:
      description:
        - C(intercepted) (the issuer is none of O(expected_issuers)), C(not intercepted) (it is one), or C(unknown)
          (not seen; C(tls_inspection_detail) says why).
      type: str
      choices: [intercepted, not intercepted, unknown]
      sample: not intercepted
    tls_inspection_detail:
      description: The issuer and how it was seen, or why it could not be seen.
      type: str
    outcome:
      description: Exactly one of the outcomes; see C(docs/troubleshooting.md).
      type: str
      choices: [reachable, proxy_auth_required, blocked_by_proxy, tls_intercepted, tls_error, dns_failure,
                connection_refused, timeout, proxy_unreachable, become_failed, unknown, works_only_direct]
      sample: reachable
    cause:
      description:
        - A finer cause where the structure of the answer shows one, else null. C(tls_error) C(trust) or
          C(handshake); C(become_failed) C(account), C(secondary_logon), C(admin_rights) or C(other);
          C(connection_refused) C(reset).
      type: str
    hint:
      description: One sentence telling what to change; empty when reachable.
      type: str
      sample: "Allow anonymous (unauthenticated) access to *.atp.azure.com on the proxy: ..."
    error:
      description: Raw error message (credentials removed), or null.
      type: str
all_reachable:
  description:
    - True when every URL is reachable (in at least one tested mode).
    - With O(accounts), true when every account was probed and reached every URL.
  returned: success
  type: bool
accounts:
  description:
    - With O(accounts), one result per account, in the order given. Each is what the task returns when it runs as
      that account alone (RV(results), RV(all_reachable), RV(account), RV(round_trips), ...), or C(failed) with
      C(msg), or C(unreachable) with C(msg) for the account whose probe lost the connection and each account after it
      (C(msg) says it was not probed).
    - The other return values listed here are then each account's, in its entry; the task's own are only
      RV(accounts), RV(all_reachable), RV(round_trips) (the sum) and RV(check_mode).
  returned: when accounts is set
  type: list
  elements: dict
  sample:
    - {"account": "LocalService", "all_reachable": true, "round_trips": 1, "results": []}
    - {"account": "SYSTEM", "all_reachable": false, "round_trips": 1, "results": []}
failing:
  description: The URLs no tested mode reached, with the outcome and hint of the first mode.
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
    mode:
      description: The mode whose outcome is shown.
      type: str
    outcome:
      description: Its outcome.
      type: str
    hint:
      description: What to change.
      type: str
working_modes:
  description:
    - For each URL, the modes that reached it (empty list when none did).
    - With O(direct_fallback), a URL only mode C(direct) reached has none (it is in RV(works_only_direct)).
  returned: success
  type: dict
  sample: {"https://contososensorapi.atp.azure.com/tri/sensor/api/ping": [default, named]}
works_only_direct:
  description:
    - With O(direct_fallback), the URLs mode C(named) (the client's proxy) did not reach but mode C(direct) did, each
      with the outcome of mode C(named) and the fix; their C(direct) result has the outcome C(works_only_direct).
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
    proxy_outcome:
      description: The outcome of mode C(named), through the proxy.
      type: str
    hint:
      description: What to change.
      type: str
modes:
  description: The modes asked for (target mode).
  returned: via is target
  type: list
  elements: str
not_tested:
  description: The modes asked for that were not tested, each with why.
  returned: via is target
  type: list
  elements: dict
  contains:
    mode:
      description: The mode.
      type: str
    why:
      description: Why it could not be tested faithfully.
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
ran_as:
  description:
    - Target mode, O(engine=script), whom the probe script ran as on the host (C(WindowsIdentity.GetCurrent())), so
      the result says whose network path it saw, not only whom it was asked to run as. V(null) with O(engine=win_uri)
      (ansible.windows.win_uri returns no identity) and when the script ended before saying it.
    - When the task becomes a well-known service account (V(SYSTEM), V(LocalService), V(NetworkService), also with
      O(accounts)) and the script ran as anyone else, become did not take effect for that run. Its results are then
      someone else's, so the task fails saying whom it ran as, RV(all_reachable) is V(false), and the results are kept
      as they were seen. Another become user (a domain account) or none (the connection user) is reported, not
      judged.
  returned: via=target
  type: dict
  contains:
    name:
      description: The identity's name as Windows gives it.
      type: str
      sample: NT AUTHORITY\LOCAL SERVICE
    sid:
      description: Its SID.
      type: str
      sample: S-1-5-19
round_trips:
  description:
    - Number of remote commands run on the target (O(engine=script) 1, O(engine=win_uri) one per URL and mode;
      0 for controller). With O(accounts), the sum over the accounts.
  returned: always
  type: int
check_mode:
  description: Whether the task ran in check mode (the probe runs all the same).
  returned: always
  type: bool
report_json:
  description: The JSON report file written, when O(report_json) is set.
  returned: when report_json is set
  type: str
report_junit:
  description: The JUnit report file written, when O(report_junit) is set.
  returned: when report_junit is set
  type: str
"""

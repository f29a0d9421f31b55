# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real ansible-playbook runs of atp.sensor_proxy.mdi_sensor_health against a local HTTPS token service and Graph
(tests/network/graph_server.py), through a real authenticating proxy, at -vvvv, with canary secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from .conftest import PROXY_PASSWORD, PROXY_USER
from .graph_server import FakeGraph, health_issue, sensor

pytestmark = pytest.mark.network

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".build" / "collections"
SECRET = "Cnry!Graph 7;x=@q+"
WRONG_SECRET = "Wr0ng!Cnry;=@"
KEY_PASSWORD = "K3y!Cnry pw"
CANARIES = (SECRET, WRONG_SECRET, KEY_PASSWORD, PROXY_PASSWORD)
STOPPED = "Sensor stopped communicating"
ADVICE = "Check the communication between the Defender for Identity sensor and the cloud service isn't blocked."

INVENTORY = """
[atp_sensors]
dc01
dc02.corp.example
dc03
edge ansible_host=10.0.0.4
web ansible_host=DC05.corp.example

[atp_sensors:vars]
ansible_connection=local
ansible_python_interpreter={python}
"""

PLAYBOOK = """
- name: The cloud's verdict after the proxy change
  hosts: atp_sensors
  gather_facts: false
  vars:
    app: &app
      tenant_id: "{{ tenant }}"
      client_id: "{{ client_id }}"
    main: &main
      <<: *app
      graph_endpoint: "{{ graph_url }}"
      authority: "{{ graph_url }}"
      ca_path: "{{ graph_ca }}"
  tasks:
    - name: Read the sensors and their health through the corporate proxy
      atp.sensor_proxy.mdi_sensor_health:
        <<: *app
        graph_endpoint: "{{ graph_url }}"
        authority: "{{ graph_url }}"
        ca_path: "{{ graph_ca }}"
        client_secret: "{{ graph_secret }}"
        proxy: "{{ proxy_url }}"
        proxy_username: "{{ proxy_user }}"
        proxy_password: "{{ proxy_password }}"
        sensor_names:
          edge: DC04.corp.example
      run_once: true
      register: cloud

    - name: Every host sees the one reading
      ansible.builtin.debug:
        msg: "{{ inventory_hostname }} {{ cloud.hosts[inventory_hostname].verdict }}"

    - name: The same in check mode
      atp.sensor_proxy.mdi_sensor_health:
        <<: *main
        client_secret: "{{ graph_secret }}"
        hosts: [dc01]
      check_mode: true
      run_once: true
      register: cloud_check

    - name: An application without the health permission
      atp.sensor_proxy.mdi_sensor_health:
        <<: *app
        graph_endpoint: "{{ limited_url }}"
        authority: "{{ limited_url }}"
        ca_path: "{{ limited_ca }}"
        client_secret: "{{ graph_secret }}"
      run_once: true
      register: forbidden
      ignore_errors: true

    - name: A wrong client secret
      atp.sensor_proxy.mdi_sensor_health:
        <<: *main
        client_secret: "{{ wrong_secret }}"
      run_once: true
      register: refused
      ignore_errors: true

    - name: A certificate instead of a secret, and a wait for the sensors to reconnect
      atp.sensor_proxy.mdi_sensor_health:
        <<: *app
        graph_endpoint: "{{ waiting_url }}"
        authority: "{{ waiting_url }}"
        ca_path: "{{ waiting_ca }}"
        certificate_path: "{{ certificate }}"
        certificate_password: "{{ key_password }}"
        hosts: [dc01, dc02.corp.example]
        wait_timeout: 30
        wait_interval: 1
      run_once: true
      register: waited

    - name: Nothing but the task's own verdict is needed to fail a host
      ansible.builtin.assert:
        that: cloud.hosts[inventory_hostname].connected is not false
        fail_msg: "{{ cloud.hosts[inventory_hostname].connectivity_issues | map(attribute='recommendations') | flatten
                      | join(' ') }}"
      register: gate
      ignore_errors: true

    - name: Save what the tasks returned
      ansible.builtin.copy:
        content: "{{ {'cloud': cloud, 'cloud_check': cloud_check, 'forbidden': forbidden, 'refused': refused,
                      'waited': waited} | to_json }}"
        dest: "{{ out_dir }}/registered.json"
        mode: "0600"
      run_once: true
      check_mode: false
"""


def run_playbook(tmp_path: Path, extra: dict, secrets: dict, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "inventory.ini").write_text(INVENTORY.format(python=sys.executable))
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    (tmp_path / "secrets.json").write_text(json.dumps(secrets))  # as a vault or an AWX credential would give them
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
               ANSIBLE_STDOUT_CALLBACK="default")
    for name in [n for n in env if n.startswith("ATP_GRAPH_") or n.lower() in ("https_proxy", "all_proxy")]:
        del env[name]
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inventory.ini"),
            "-e", "@%s" % (tmp_path / "extra.json"), "-e", "@%s" % (tmp_path / "secrets.json"),
            str(tmp_path / "play.yml"), *args]
    return subprocess.run(argv, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def _certificate(tmp_path: Path):
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    leaf = ca.issue_cert("mdi-health.corp.example", key_type=trustme.KeyType.RSA)
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    path = tmp_path / "mdi-health-app.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(KEY_PASSWORD.encode()))
                     + leaf.cert_chain_pems[0].bytes())
    return leaf.cert_chain_pems[0].bytes(), path


@pytest.fixture
def graphs(tmp_path):
    sensors = [
        sensor("DC01"),
        sensor("DC02", status="disconnected", health="notHealthyMedium", issues=1),
        sensor("DC04"),
        sensor("DC05", status="updating"),
        sensor("DC06"),
    ]
    issues = [
        health_issue(STOPPED, ["DC02.corp.example"], recommendation=ADVICE),
        health_issue(STOPPED, ["DC01.corp.example"], status="closed"),
        health_issue("Power mode is not configured for optimal processor performance", ["DC05.corp.example"],
                     severity="low"),
    ]
    pem, certificate = _certificate(tmp_path)
    main = FakeGraph(tmp_path / "main", client_secret=SECRET, sensors=sensors, issues=issues, page_size=2).start()
    main.fault("sensors", (429, {"Retry-After": "1"}))
    limited = FakeGraph(tmp_path / "limited", client_id=main.client_id, client_secret=SECRET, sensors=sensors,
                        roles={"SecurityIdentitiesSensors.Read.All"}).start()
    waiting = FakeGraph(tmp_path / "waiting", client_id=main.client_id, certificate=pem,
                        sensors=[sensor("DC01"), sensor("DC02", status="disconnected")],
                        issues=[health_issue(STOPPED, ["DC02.corp.example"], recommendation=ADVICE)]).start()

    def reconnect(route, count):  # the third reading finds DC02 back: the issue closed, the status upToDate
        if route == "security/identities/sensors" and count == 3:
            waiting.sensors = [sensor("DC01"), sensor("DC02")]
            waiting.issues = []

    waiting.on_read = reconnect
    yield {"main": main, "limited": limited, "waiting": waiting, "certificate": certificate,
           "pem": x509.load_pem_x509_certificate(pem)}
    for server in (main, limited, waiting):
        server.stop()


def test_playbook_end_to_end(tmp_path, graphs, start_proxy):
    main, limited, waiting = graphs["main"], graphs["limited"], graphs["waiting"]
    proxy = start_proxy(basic_auth="%s:%s" % (PROXY_USER, PROXY_PASSWORD))
    extra = {"tenant": main.tenant, "client_id": main.client_id, "graph_url": main.url, "graph_ca": str(main.ca_file),
             "limited_url": limited.url, "limited_ca": str(limited.ca_file), "waiting_url": waiting.url,
             "waiting_ca": str(waiting.ca_file), "certificate": str(graphs["certificate"]), "proxy_url": proxy.url,
             "proxy_user": PROXY_USER, "out_dir": str(tmp_path)}
    secrets = {"graph_secret": SECRET, "wrong_secret": WRONG_SECRET, "key_password": KEY_PASSWORD,
               "proxy_password": PROXY_PASSWORD}
    proc = run_playbook(tmp_path, extra, secrets, "-vvvv")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]  # the refusals and the gate on dc02 fail, ignored
    registered = json.loads((tmp_path / "registered.json").read_text())
    cloud = registered["cloud"]

    # One reading for the five hosts, every page, after the 429 (Retry-After: 1).
    assert not cloud.get("failed") and cloud["changed"] is False
    assert list(cloud["hosts"]) == ["dc01", "dc02.corp.example", "dc03", "edge", "web"]
    reading = ["token", "sensors", "sensors", "sensors", "healthIssues"]
    # The first reading (after one 429), the check-mode reading, the refused token request: nothing else.
    assert main.routes() == ["token", "sensors"] + reading[1:] + reading + ["token"]
    assert cloud["client"]["retries"] == 1 and cloud["client"]["throttled"][0]["retry_after"] == "1"
    assert cloud["client"]["pages"] == 4 and cloud["sensors_total"] == 5

    hosts = cloud["hosts"]
    assert (hosts["dc01"]["verdict"], hosts["dc01"]["connected"], hosts["dc01"]["matched_by"]) == (
        "connected", True, "short_name")
    assert hosts["dc01"]["health_status"] == "healthy" and hosts["dc01"]["version"] == "2.239.18124.58593"
    dc02 = hosts["dc02.corp.example"]
    assert (dc02["verdict"], dc02["connected"], dc02["deployment_status"], dc02["health_status"]) == (
        "not_connected", False, "disconnected", "notHealthyMedium")
    assert [(i["display_name"], i["recommendations"]) for i in dc02["connectivity_issues"]] == [(STOPPED, [ADVICE])]
    assert dc02["evidence"].startswith("Graph: sensor DC02 (domainControllerIntegrated, 2.239.18124.58593) "
                                       "deploymentStatus disconnected")
    dc03 = hosts["dc03"]
    assert (dc03["verdict"], dc03["connected"], dc03["sensor"]) == ("no_sensor", None, None)
    assert hosts["edge"]["matched_by"] == "override" and hosts["edge"]["sensor"]["display_name"] == "DC04"
    assert hosts["web"]["match_name"] == "dc05.corp.example" and hosts["web"]["verdict"] == "connected"
    assert [i["display_name"] for i in hosts["web"]["other_issues"]] == [
        "Power mode is not configured for optimal processor performance"]
    assert cloud["summary"]["not_connected"] == ["dc02.corp.example"] and cloud["summary"]["no_sensor"] == ["dc03"]
    assert cloud["sensors_not_in_hosts"] == ["dc06.corp.example"]
    assert cloud["msg"] == "5 host(s): 3 connected, 1 not connected, 1 no sensor"
    assert cloud["credential"] == {"type": "client_secret", "source": "task"}
    assert "dc02.corp.example not_connected" in proc.stdout  # the registered reading reached every host

    # Check mode reads the same (nothing is written anywhere).
    check = registered["cloud_check"]
    assert list(check["hosts"]) == ["dc01"] and check["hosts"]["dc01"]["verdict"] == "connected"

    # 403: the permission is named; the sensors were readable.
    forbidden = registered["forbidden"]
    assert forbidden["failed"] is True and forbidden["missing_permissions"] == ["SecurityIdentitiesHealth.Read.All"]
    assert "application permission SecurityIdentitiesHealth.Read.All, granted with admin consent" in forbidden["msg"]
    assert limited.routes() == ["token", "sensors", "healthIssues"]

    refused = registered["refused"]
    assert refused["failed"] is True and "AADSTS7000215: Invalid client secret provided" in refused["msg"]

    # The certificate's PS256 assertion was accepted; the wait saw DC02 come back at the third reading.
    waited = registered["waited"]
    assert waited["credential"]["type"] == "certificate"
    assert waited["credential"]["certificate"]["thumbprint_sha256"] == graphs["pem"].fingerprint(
        hashes.SHA256()).hex().upper()
    assert (waited["readings"], waited["settled"]) == (3, True) and waited["waited"] >= 2
    assert waited["hosts"]["dc02.corp.example"]["verdict"] == "connected"
    assert waiting.routes().count("token") == 1  # one token for the three readings

    # The gate fails exactly the host the cloud does not see, with Microsoft's recommendation.
    assert "fatal: [dc02.corp.example]" in proc.stdout and ADVICE in proc.stdout

    # No secret, in any form, anywhere.
    texts = {"stdout": proc.stdout, "stderr": proc.stderr, "registered": json.dumps(registered)}
    forms = [f for c in CANARIES for f in (c, quote(c, safe=""), quote_plus(c))]
    assert [(name, form) for name, text in texts.items() for form in forms if form in text] == []

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real ansible-playbook runs of atp.sensor_proxy.atp_endpoint_probe (via: controller, localhost)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest

from .conftest import PROXY_PASSWORD, PROXY_USER

pytestmark = pytest.mark.network

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".build" / "collections"

PLAYBOOK = """
- hosts: all
  gather_facts: false
  vars:
    probe_common: &common
      via: controller
      products: []
      include_crl: false
      ca_path: "{{ ca_pem }}"
      expected_issuers: ["{{ ca_issuer }}"]
      timeout: 5
  tasks:
    - name: Anonymous through the authenticating proxy
      atp.sensor_proxy.atp_endpoint_probe:
        <<: *common
        urls: ["{{ sensor_url }}"]
        proxy: "{{ proxy_url }}"
      register: anon

    - name: With the proxy credentials, writing the reports
      atp.sensor_proxy.atp_endpoint_probe:
        <<: *common
        urls: ["{{ sensor_url }}", "{{ sensor_root_url }}"]
        proxy: "{{ proxy_url }}"
        proxy_username: "{{ proxy_user }}"
        proxy_password: "{{ proxy_password }}"
        report_json: "{{ report_dir }}/json/"
        report_junit: "{{ report_dir }}/probe.xml"
      register: authed

    - name: Credentials in the proxy URL instead
      atp.sensor_proxy.atp_endpoint_probe:
        <<: *common
        urls: ["{{ sensor_url }}"]
        proxy: "{{ proxy_url_with_credentials }}"
      register: in_url

    - name: fail_on_unreachable lists the failing URLs
      atp.sensor_proxy.atp_endpoint_probe:
        <<: *common
        urls: ["{{ sensor_url }}", "{{ closed_url }}"]
        proxy: "{{ proxy_url }}"
        proxy_username: "{{ proxy_user }}"
        proxy_password: "{{ proxy_password }}"
        fail_on_unreachable: true
      register: strict
      ignore_errors: true

    - name: Wildcards cannot be probed
      atp.sensor_proxy.atp_endpoint_probe:
        via: controller
        products: [mde]
        mde_urls: ["https://*.ods.opinsights.azure.com"]
      register: wildcard
      ignore_errors: true

    - name: Save what the tasks returned
      ansible.builtin.copy:
        content: "{{ {'anon': anon, 'authed': authed, 'in_url': in_url, 'strict': strict, 'wildcard': wildcard} | to_json }}"
        dest: "{{ report_dir }}/registered.json"
        mode: "0600"
      check_mode: false
"""


def url_with_credentials(port: int) -> str:
    return "http://%s:%s@127.0.0.1:%d" % (PROXY_USER, quote(PROXY_PASSWORD, safe=""), port)


def run_playbook(tmp_path: Path, extra: dict, *args: str, playbook: str = "play.yml") -> subprocess.CompletedProcess:
    if playbook == "play.yml":
        (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "inventory.ini").write_text(
        "dc01 ansible_connection=local ansible_python_interpreter=%s\n"
        "dc02 ansible_connection=local ansible_python_interpreter=%s\n" % (sys.executable, sys.executable)
    )
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_HOST_KEY_CHECKING="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_STDOUT_CALLBACK="default",
    )
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inventory.ini")]
    argv += ["-e", "@%s" % (tmp_path / "extra.json"), str(tmp_path / playbook), *args]
    return subprocess.run(argv, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=240,
                          check=False)


@pytest.fixture
def extra(tmp_path, sensor_api, test_ca, start_proxy, closed_port):
    proxy = start_proxy(basic_auth="%s:%s" % (PROXY_USER, PROXY_PASSWORD))
    port = sensor_api.server_port
    report_dir = tmp_path / "reports"
    report_dir.mkdir()
    return {
        "ca_pem": test_ca.pem,
        "ca_issuer": test_ca.issuer,
        "sensor_url": "https://localhost:%d/tri/sensor/api/ping" % port,
        "sensor_root_url": "https://127.0.0.1:%d/" % port,
        "closed_url": "https://127.0.0.1:%d/" % closed_port,
        "proxy_url": proxy.url,
        "proxy_url_with_credentials": url_with_credentials(proxy.port),
        "proxy_user": PROXY_USER,
        "proxy_password": PROXY_PASSWORD,
        "report_dir": str(report_dir),
    }


@pytest.mark.parametrize("check", [False, True], ids=["run", "check_mode"])
def test_playbook_end_to_end(tmp_path, extra, check):
    args = ["-vvvv"] + (["--check"] if check else [])
    proc = run_playbook(tmp_path, extra, *args)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert PROXY_PASSWORD not in output, "the proxy password leaked into the -vvvv output"
    assert quote(PROXY_PASSWORD, safe="") not in output, "the URL-quoted password leaked into the -vvvv output"

    registered = json.loads((Path(extra["report_dir"]) / "registered.json").read_text())
    anon, authed, in_url, strict, wildcard = (registered[k] for k in ("anon", "authed", "in_url", "strict", "wildcard"))
    assert anon["changed"] is False and anon["via"] == "controller"
    assert anon["results"][0]["outcome"] == "proxy_auth_required"
    assert anon["results"][0]["status"] == 407
    assert anon["all_reachable"] is False and anon["failing"][0]["outcome"] == "proxy_auth_required"
    assert not anon.get("failed")

    assert authed["all_reachable"] is True
    assert [r["outcome"] for r in authed["results"]] == ["reachable", "reachable"]
    assert [r["status"] for r in authed["results"]] == [200, 503]
    assert authed["results"][0]["proxy"] == extra["proxy_url"]
    assert authed["results"][0]["tls_issuer"] == extra["ca_issuer"]

    assert [r["outcome"] for r in in_url["results"]] == ["reachable"]
    assert in_url["results"][0]["proxy"] == extra["proxy_url"]
    assert in_url["results"][0]["tls_inspection"] == "not intercepted"

    assert strict["failed"] is True
    assert strict["msg"] == "1 of 2 endpoint(s) not reachable: %s (blocked_by_proxy)" % extra["closed_url"]
    assert "endpoint(s) not reachable" in output

    assert wildcard["failed"] is True
    assert "https://*.ods.opinsights.azure.com" in wildcard["msg"] and "cannot be probed" in wildcard["msg"]

    # Reports: one JSON per host in the directory, one merged JUnit file for both hosts.
    json_dir = Path(extra["report_dir"]) / "json"
    assert sorted(p.name for p in json_dir.glob("*.json")) == ["dc01.json", "dc02.json"]
    report = json.loads((json_dir / "dc01.json").read_text())
    assert report["hosts"]["dc01"]["all_reachable"] is True
    assert [r["url"] for r in report["hosts"]["dc01"]["results"]] == [extra["sensor_url"], extra["sensor_root_url"]]
    root = ET.parse(Path(extra["report_dir"]) / "probe.xml").getroot()
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert sorted(suites) == ["dc01", "dc02"]
    assert root.get("tests") == "4" and root.get("failures") == "0"
    cases = suites["dc02"].findall("testcase")
    assert [c.get("name") for c in cases] == ["url_1 %s" % extra["sensor_url"], "url_2 %s" % extra["sensor_root_url"]]
    for path in [*json_dir.glob("*"), Path(extra["report_dir"]) / "probe.xml", Path(extra["report_dir"]) / "registered.json"]:
        assert PROXY_PASSWORD not in path.read_text() and quote(PROXY_PASSWORD, safe="") not in path.read_text()


INSPECTED = """
- hosts: dc01
  gather_facts: false
  tasks:
    - name: through an authenticating SSL-inspection proxy, credentials in the URL
      atp.sensor_proxy.atp_endpoint_probe:
        via: controller
        products: []
        include_crl: false
        urls: ["{{ sensor_url }}"]
        proxy: "{{ proxy_url_with_credentials }}"
        ca_path: "{{ ca_pem }}"
        expected_issuers: ["{{ ca_issuer }}"]
        timeout: 5
      register: inspected

    - name: Save what the task returned
      ansible.builtin.copy:
        content: "{{ inspected | to_json }}"
        dest: "{{ report_dir }}/inspected.json"
        mode: "0600"
"""


def test_credentials_in_the_proxy_url_reach_the_issuer_check(tmp_path, sensor_api, test_ca, intercept_ca, both_cas,
                                                             auth_mitm_proxy):
    # With the credentials in the proxy URL (user:password@), the issuer check must send them too: without them the
    # proxy answers its CONNECT with 407 and the TLS inspection goes unseen.
    report_dir = tmp_path / "reports"
    report_dir.mkdir()
    extra = {
        "sensor_url": "https://contososensorapi.atp.azure.com:%d/tri/sensor/api/ping" % sensor_api.server_port,
        "proxy_url_with_credentials": url_with_credentials(auth_mitm_proxy.port),
        "ca_pem": both_cas, "ca_issuer": test_ca.issuer, "report_dir": str(report_dir),
    }
    (tmp_path / "inspected.yml").write_text(INSPECTED)
    proc = run_playbook(tmp_path, extra, "-vvvv", playbook="inspected.yml")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    [result] = json.loads((report_dir / "inspected.json").read_text())["results"]
    assert (result["status"], result["outcome"], result["tls_issuer"]) == (200, "tls_intercepted", intercept_ca.issuer)
    assert result["proxy"] == "http://127.0.0.1:%d" % auth_mitm_proxy.port
    for text in (output, json.dumps(result)):
        assert PROXY_PASSWORD not in text and quote(PROXY_PASSWORD, safe="") not in text

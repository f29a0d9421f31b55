# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets are never echoed: a canary password through every entry point, every output channel grepped for it.

Entry points: the role's WinINet proxy (``atp_proxy_settings.proxy_server``), the Defender for Endpoint proxy
(``atp_proxy_mde_proxy_server``), the sensor's own proxy URL and password, and the probe's proxy credentials
(controller mode with JSON and JUnit reports, target mode ``named``). Channels: stdout and stderr at ``-vvvv``, every
task result (the summary and ``atp_proxy_fleet`` rows included), the report files (HTML, Markdown, the rows JSON,
probe JSON and JUnit) and every file the run left on the host (backups). The canary is looked for as given, URL-quoted
(as a proxy URL carries it), and hex-encoded (as a .reg backup would).

Secrets reach the run from a vars file, as vault or an AWX credential would: ``ansible-playbook -vvvv`` echoes its
own command line, ``--extra-vars`` included.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.lab import system_state as ss
from tests.lab.network import WORKSPACE_NAME, ProxyPy

from .conftest import CHECK, CONFIGURE, NO_PROBE, PROXY, summary_lines

pytestmark = [pytest.mark.lab]

CANARY = "Cnry!Pw 7;x=@q"  # a space, ';', '=' and '@': what naive masking gets wrong
FORMS = (CANARY, quote(CANARY, safe=""), quote(CANARY), CANARY.encode().hex(), CANARY.encode("utf-16-le").hex(),
         "Cnry!Pw", "7;x=@q")


@pytest.fixture
def canary_proxy(tmp_path, lab):
    """A real proxy.py that wants ``lab`` and the canary (answers 407 otherwise)."""
    server = ProxyPy(tmp_path / "canary_proxy", lab.lab.dir, basic_auth="lab:" + CANARY).start()
    server.username = "lab"
    yield server
    server.stop()


def leaks(texts: dict) -> list:
    return [(channel, form) for channel, text in texts.items() for form in FORMS if form in text]


def channels(lab, run, report_dir=None) -> dict:
    found = {"stdout": run.stdout, "stderr": run.stderr, "results": json.dumps(run.results)}
    if report_dir is not None and report_dir.exists():
        for path in report_dir.rglob("*"):
            if path.is_file():
                found[str(path)] = path.read_bytes().decode("latin-1")
    for name in lab.host_names:
        host = lab.host(name)
        for path in host.find_files("C:\\ProgramData"):
            found["%s:%s" % (name, path)] = (host.read_file(path) or b"").decode("latin-1")
    return found


def secrets_file(tmp_path, values: dict):
    path = tmp_path / ("secrets_%d.json" % len(list(tmp_path.glob("secrets_*.json"))))
    path.write_text(json.dumps(values))
    return ["-e", "@%s" % path]


@pytest.mark.parametrize("values, variable", [
    ({"atp_proxy_source": "settings", "atp_proxy_settings": {"proxy_server": "lab:%s@proxy.corp:8080" % CANARY}},
     "atp_proxy_settings.proxy_server"),
    ({"atp_proxy_products": ["mdi", "mde"], "atp_proxy_mde_proxy_server": "lab:%s@proxy.corp:8080" % CANARY},
     "atp_proxy_mde_proxy_server"),
    ({"atp_proxy_sensor_proxy_url": "http://lab:%s@proxy.corp:8080" % quote(CANARY, safe="")},
     "atp_proxy_sensor_proxy_url"),
    ({"atp_proxy_mde_av_proxy_server": "http://lab:%s@proxy.corp:8080" % CANARY,
      "atp_proxy_products": ["mdi", "mde"], "atp_proxy_mde_proxy_server": "proxy.corp:8080"},
     "atp_proxy_mde_av_proxy_server"),
])
def test_a_rejected_proxy_with_credentials_is_never_quoted(lab, tmp_path, values, variable):
    lab.host("dc01").set_proxy("user", PROXY)
    report = tmp_path / "report"
    run = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_report_dir=str(
        report)), verbosity=4, extra_args=secrets_file(tmp_path, values))
    assert run.rc != 0
    line = next(text for text in summary_lines(run) if text.startswith("dc01:"))
    assert variable in line and "***@proxy.corp:8080" in line, line
    assert (report / "atp_proxy_report.html").is_file()  # the report was written, and is clean
    assert leaks(channels(lab, run, report)) == []


def test_the_sensor_password_and_the_probe_credentials_leak_nowhere(lab, tmp_path, sensor_api, canary_proxy):
    """A v2 sensor gets its own proxy with a user and the canary password; the probe then goes through that
    (authenticating) proxy, named, with the same credentials; the reports and backups are written."""
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host, workspace=WORKSPACE_NAME)
    report = tmp_path / "report"
    url = "http://%s:%d" % ("127.0.0.1", canary_proxy.port)
    extra = dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_probe=True, atp_proxy_probe_include_crl=False,
                 atp_proxy_probe_accounts=["SYSTEM"], atp_proxy_report_dir=str(report),
                 # the lab sensor API's CA, seen through the proxy, is named like Microsoft's (the default issuers)
                 atp_proxy_source="settings", atp_proxy_settings=PROXY, atp_proxy_sensor_proxy_url=url,
                 atp_proxy_sensor_proxy_username=canary_proxy.username)
    run = lab.run_playbook(CONFIGURE, extra_vars=extra, verbosity=4, diff=True,
                           extra_args=secrets_file(tmp_path, {"atp_proxy_sensor_proxy_password": CANARY}))
    assert run.rc == 0, run.stdout[-3000:]
    stored = json.loads(host.read_file(seed.config_path).decode("utf-8-sig"))["SensorProxyConfiguration"]
    assert ss.decrypt(host, seed.thumbprint, stored["EncryptedUserPasswordData"]["EncryptedBytes"]) == CANARY
    probe = [r for r in run.results if r["host"] == "dc01" and r["task"].endswith("Probe the Defender endpoints as "
                                                                                  "each service account")]
    assert probe and probe[-1]["status"] == "ok"
    found = channels(lab, run, report)
    found["sensor file"] = host.read_file(seed.config_path).decode("latin-1")  # only the ciphertext
    assert leaks(found) == []
    assert any(r["result"]["accounts"][0]["all_reachable"] for r in probe), [
        {k: v for k, v in x.items() if k in ("outcome", "tls_inspection", "tls_inspection_detail", "hint", "mode")}
        for x in probe[-1]["result"]["accounts"][0]["results"]]


def test_the_probe_module_reports_never_carry_its_proxy_password(lab, tmp_path, sensor_api, canary_proxy):
    """atp_endpoint_probe from the controller through an authenticating proxy: JSON and JUnit reports, -vvvv."""
    report = tmp_path / "probe"
    play = """
- hosts: dc01
  gather_facts: false
  tasks:
    - name: Probe through the proxy
      atp.sensor_proxy.atp_endpoint_probe:
        via: controller
        workspace: %s
        include_crl: false
        proxy: "http://%s:{{ probe_password }}@127.0.0.1:%d"
        report_json: "%s/probe.json"
        report_junit: "%s/probe.xml"
      register: probed
    - name: Probe as SYSTEM through the named proxy
      atp.sensor_proxy.atp_endpoint_probe:
        via: target
        workspace: %s
        include_crl: false
        modes: [named]
        proxy: "http://127.0.0.1:%d"
        proxy_username: "%s"
        proxy_password: "{{ probe_password }}"
      become: true
      become_method: ansible.builtin.runas
      become_user: SYSTEM
""" % (WORKSPACE_NAME, canary_proxy.username, canary_proxy.port, report, report, WORKSPACE_NAME, canary_proxy.port,
       canary_proxy.username)
    run = lab.run_playbook(play, verbosity=4, extra_args=secrets_file(tmp_path, {"probe_password": quote(
        CANARY, safe="")}))
    assert run.rc == 0, run.stdout[-3000:]
    assert (report / "probe.json").is_file() and (report / "probe.xml").is_file()
    assert leaks(channels(lab, run, report)) == []


def test_the_sensor_password_in_its_own_log_lines_is_never_quoted(lab, tmp_path):
    """The sensor's error log quotes its proxy URL with the password, raw and URL-quoted; the run reads those lines
    (after a restart, and in a check run) and shows unknown errors: the canary must be masked everywhere, the report
    files and the failure message of a sensor that stops again included."""
    host = lab.host("dc01")
    ss.seed_v2_sensor(host, workspace=WORKSPACE_NAME)
    lines = ["Error WebClient proxy http://svc:%s@proxy.corp:8080 refused" % quote(CANARY, safe=""),
             "Error WebClient ProxyUserPassword=%s rejected" % CANARY]
    ss.write_sensor_log(host, lines)
    report = tmp_path / "report"
    extra = dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_report_dir=str(report), atp_proxy_source="settings",
                 atp_proxy_settings=PROXY, atp_proxy_sensor_proxy_url="http://proxy.corp:8080",
                 atp_proxy_sensor_proxy_username="svc")
    given = secrets_file(tmp_path, {"atp_proxy_sensor_proxy_password": CANARY})
    check = lab.run_playbook(CHECK, extra_vars=extra, verbosity=2, extra_args=given)
    assert check.rc == 0, check.stdout[-3000:]
    text = next(t for t in summary_lines(check) if t.startswith("dc01:"))
    assert "sensor log (recent): 2 other error(s)" in text, text
    assert leaks(channels(lab, check, report)) == []
    ss.stop_again(host, ss.UPDATER_SERVICE, 10)
    ss.log_on_start(host, ss.UPDATER_SERVICE, lines)
    run = lab.run_playbook(CONFIGURE, extra_vars=extra, verbosity=2, extra_args=given)
    assert run.rc != 0 and "AATPSensorUpdater stopped again" in run.stdout, run.stdout[-3000:]
    assert leaks(channels(lab, run, report)) == []  # the host's files under ProgramData: the backups

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``lab seed-sensor`` and ``lab show`` as tests/lab/README.md walks through them (a subprocess per command), and the
README's own claims about the lab checked against the code (the demo's DCs, every command in its table)."""

from __future__ import annotations

import json
import re

import pytest

from tests.lab import cli as lab_cli
from tests.lab import system_state as ss
from tests.lab.state import REPO_ROOT, Lab

from .test_lab_cli import cli, ok, show_json

pytestmark = [pytest.mark.lab]

README = (REPO_ROOT / "tests" / "lab" / "README.md").read_text()
CANARY = "Canary-Pr0xy-9f3b"


@pytest.fixture
def lab_dir(tmp_path):
    """A lab folder (these tests start no cloud in it)."""
    return tmp_path / "lab"


def test_seed_sensor_v2_v3_and_show_say_what_each_service_does(lab_dir):
    ok(lab_dir, "create", "--hosts", "3")
    ok(lab_dir, "seed-sensor", "dc01", "--stopped-service", "AATPSensorUpdater")
    shown = ok(lab_dir, "seed-sensor", "dc02", "--proxy", "http://old.corp:3128", "--username", "CORP\\svc-mdi",
               "--password", CANARY, "--workspace", "fabrikam").stdout
    assert "SensorConfiguration.json proxy http://old.corp:3128 as CORP\\svc-mdi (password set); sensor API " \
           "fabrikamsensorapi.atp.azure.com" in shown, shown
    assert CANARY not in shown
    ok(lab_dir, "seed-sensor", "dc03", "--v3", "--proxy", "proxy.corp:8080")

    text = ok(lab_dir, "show", "dc01").stdout
    # The updater is stopped: show says so, not "v2 (started)".
    assert "(AATPSensor started, AATPSensorUpdater stopped)" in text, text
    hosts = show_json(lab_dir)["hosts"]
    assert hosts["dc01"]["sensor"]["services"] == {"AATPSensor": "started", "AATPSensorUpdater": "stopped"}
    assert hosts["dc02"]["sensor"]["proxy"] == {"url": "http://old.corp:3128", "username": "CORP\\svc-mdi",
                                                "password_set": True}
    assert hosts["dc03"]["sensor"] == {"generation": "v3", "services": {"Sense": "started"},
                                       "telemetry_proxy": "proxy.corp:8080"}
    # What the collection reads on the emulated hosts: the seeded password decrypts with the sensor's own key.
    lab = Lab(lab_dir / "lab")
    config = hosts["dc02"]["sensor"]["config_path"]
    stored = json.loads(lab.host("dc02").read_file(config).decode("utf-8-sig"))["SensorProxyConfiguration"]
    data = stored["EncryptedUserPasswordData"]
    assert ss.decrypt(lab.host("dc02"), data["CertificateThumbprint"], data["EncryptedBytes"]) == CANARY


@pytest.mark.parametrize("args, message", [
    (["seed-sensor", "dc01", "--proxy", "proxy.corp:8080"], "--proxy is the sensor's own proxy URL with its scheme"),
    (["seed-sensor", "dc01", "--proxy", "http://p:1", "--username", "u"], "--username and --password go together"),
    (["seed-sensor", "dc01", "--v3", "--username", "u", "--password", "p"], "--v3 takes only --proxy"),
    (["seed-sensor", "dc09"], "no host 'dc09' in the lab"),
])
def test_seed_sensor_bad_input_is_one_line_and_exit_2(lab_dir, args, message):
    ok(lab_dir, "create", "--hosts", "1")
    proc = cli(lab_dir, *args)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc
    assert ok(lab_dir, "show", "--json").stdout and show_json(lab_dir)["hosts"]["dc01"]["sensor"] is None


def test_the_readme_walkthrough_of_a_sensor_host(lab_dir):
    """The README's sensor block, command for command: the configure run takes the sensor's own method and keeps its
    proxy user (real ansible-playbook through ``lab run``)."""
    block = README.split("lab create --hosts 4", 1)[1].split("```", 1)[0]
    assert "lab seed-sensor dc04" in block
    ok(lab_dir, "create", "--hosts", "4")
    ok(lab_dir, "seed", "dc04", "--proxy", "proxy.corp:8080", "--bypass", "<local>")
    ok(lab_dir, "seed-sensor", "dc04", "--proxy", "http://old.corp:3128", "--username", "CORP\\svc-mdi",
       "--password", "Example-Pa55")
    proc = cli(lab_dir, "run", "--", "ansible-playbook", "-i", "{inventory}", "playbooks/configure_atp_proxy.yml",
               "-e", "atp_proxy_workspace={workspace}", "-e", "atp_proxy_probe=false", "-l", "dc04", timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "dc04: changed; method sensor_config; wrote SensorConfiguration.json: proxy http://old.corp:3128 as " \
           "CORP\\\\svc-mdi (password set) -> http://proxy.corp:8080 as CORP\\\\svc-mdi (password set)" in proc.stdout
    sensor = show_json(lab_dir, "dc04")["hosts"]["dc04"]["sensor"]
    assert sensor["proxy"] == {"url": "http://proxy.corp:8080", "username": "CORP\\svc-mdi", "password_set": True}


def test_the_readme_says_what_the_lab_is():
    """The demo's DCs, and a row in the command table for every command the CLI has."""
    demo = (REPO_ROOT / "tests" / "lab" / "demo.py").read_text()
    hosts = int(re.search(r"LabEnv\(.*hosts=(\d+)", demo).group(1))
    assert re.search(r"make demo\s+# %d DCs" % hosts, README), "tests/lab/README.md: make demo has %d DCs" % hosts
    commands = lab_cli.build_parser()._subparsers._group_actions[0].choices
    table = [line for line in README.splitlines() if line.startswith("| `")]
    for name in commands:
        assert any(line.startswith("| `%s" % name) or "/ `%s" % name in line for line in table), name

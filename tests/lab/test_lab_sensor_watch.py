# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sensor watch (_sensor._watch.SCRIPT) run for real by the lab's PowerShell executor and read by the collection's
own Python: the services over time (the ``service_stops_again`` fault, Start-Sleep's virtual clock), the error logs
(the lines written during the watch, or the tail), and a sensor that holds its log open."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _watch as watch
from tests.lab import state
from tests.lab import system_state as ss
from tests.lab.pwsh import runner

SENSORS = [ss.UPDATER_SERVICE, ss.SENSOR_SERVICE]


@pytest.fixture
def host(tmp_path):
    found = state.Lab.create(tmp_path / "lab", hosts=1).host("dc01")
    ss.seed_v2_sensor(found)
    return found


def executor(host):
    def execute(module, args):
        assert module == "ansible.windows.win_powershell"
        return runner.run(args["script"], host, runner.lab_account(host, None), args.get("parameters") or {},
                          args.get("depth", 2), args.get("error_action", "continue"), False)

    return execute


def logs(host) -> list:
    folder = ss.sensor_log_path(host).rsplit("\\", 2)[0] + "\\"
    return watch.log_paths(folder)


def test_a_running_sensor_is_running_and_a_clean_log_has_nothing(host):
    got = watch.read(executor(host), SENSORS, logs(host), 60)
    assert got["error"] == "" and got["verdicts"] == {n: "running" for n in SENSORS}
    assert [s["second"] for s in got["samples"]] == list(range(0, 65, 5))  # 13 reads over 60 s, no real wait
    assert got["logs"]["read"] is True and got["logs"]["files_missing"] == logs(host) and not got["logs"]["known"]


def test_a_sensor_that_stops_again_is_seen_and_its_new_log_lines_are_named(host):
    ss.write_sensor_log(host, ["Error Old Unable to connect to the remote server"])  # before the restart
    ss.stop_again(host, ss.SENSOR_SERVICE, 20)
    ss.log_on_start(host, ss.SENSOR_SERVICE, ["Error CommunicationWebClient ApplyInternal failed two way SSL "
                                              "connection to service. [Url=http://svc:Pa55@proxy.corp:8080]"])
    got = watch.read(executor(host), SENSORS, logs(host), 60, secrets=["Pa55"])
    assert got["verdicts"] == {ss.UPDATER_SERVICE: "running", ss.SENSOR_SERVICE: "stopped again"}
    assert got["stopped_at"] == {ss.SENSOR_SERVICE: 20}
    assert ss.service_state(host, ss.SENSOR_SERVICE) == "stopped"  # and every later read agrees
    found = got["logs"]
    assert found["since_restart"] and [k["outcome"] for k in found["known"]] == ["two_way_ssl"]  # not the old line
    assert "Pa55" not in repr(got)


def test_a_check_read_returns_the_recent_entries_bounded(host):
    ss.write_sensor_log(host, ["Error Old%03d Something failed password=Hunter2 http://u:pw@p:1" % i
                               for i in range(2000)])
    ss.write_sensor_log(host, ["Error X validateCreateSensorResult=LicenseInvalid"], updater=True)
    got = watch.read(executor(host), [], logs(host), 0, since_start=False)
    found = got["logs"]
    assert not found["since_restart"] and [k["outcome"] for k in found["known"]] == ["proxy_auth_as_license"]
    assert found["unknown_count"] == 20 and len(found["unknown"]) == 3  # the newest 20 entries, 3 shown
    assert all("Hunter2" not in u["text"] and ":pw@" not in u["text"] for u in found["unknown"])
    assert found["unknown"][-1]["text"].startswith("Old1999")


def test_the_log_is_read_although_the_sensor_holds_it_open(host):
    path = ss.write_sensor_log(host, ["Error X The sensor failed to connect to service."])
    ss.hold_file(host, path, "Microsoft.Tri.Sensor.exe", service=ss.SENSOR_SERVICE)
    got = watch.read(executor(host), [], logs(host), 0, since_start=False)
    assert got["error"] == "" and [k["outcome"] for k in got["logs"]["known"]] == ["missing_root_ca"]


def test_a_service_that_never_runs_is_not_started(host):
    ss.set_service(host, ss.SENSOR_SERVICE, state="stopped")
    got = watch.read(executor(host), SENSORS, [], 10)
    assert got["verdicts"][ss.SENSOR_SERVICE] == "not started"

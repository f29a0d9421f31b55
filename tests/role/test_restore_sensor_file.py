# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restoring the sensor's own proxy (method sensor_config), end to end: what a review found.

* A named backup that is not a SensorConfiguration.json (a WinINet ``before.reg``, an empty file) was written over the
  sensor's file, rc 0: the sensor could not start. It is refused now, changing nothing.
* A restore put the whole saved file back, so a member the sensor had rewritten since (here its API address) went
  back too, unseen in the diff. Only the proxy member is restored now; every other byte stays.
"""

from __future__ import annotations

import json

import pytest

from tests.lab import system_state as ss

from .conftest import CONFIGURE, NO_PROBE, RESTORE, backups, summary_lines

pytestmark = [pytest.mark.lab]

OLD = "http://old.corp:3128"
NEW = "http://proxy.corp:8080"
RUN = dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_sensor_proxy_url=NEW)
API = "WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint"


def document(host, seed) -> dict:
    return json.loads(host.read_file(seed.config_path).decode("utf-8-sig"))


def line(run) -> str:
    return next(text for text in summary_lines(run) if text.startswith("dc01:"))


def configured(lab):
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host, proxy={"url": OLD})
    run = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert run.rc == 0 and document(host, seed)["SensorProxyConfiguration"]["Url"] == NEW, run.stdout[-3000:]
    return host, seed


def test_a_restore_puts_back_the_proxy_and_keeps_what_the_sensor_changed_since(lab):
    host, seed = configured(lab)
    doc = document(host, seed)
    doc[API]["Address"] = "contoso-corp-renewed.atp.azure.com"  # the sensor rewrote its file after the change
    host.write_file(seed.config_path, json.dumps(doc, indent=2).encode("utf-8"))
    run = lab.run_playbook(RESTORE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01"), diff=True)
    assert run.rc == 0, run.stdout[-3000:]
    after = document(host, seed)
    assert after["SensorProxyConfiguration"]["Url"] == OLD
    assert after[API]["Address"] == "contoso-corp-renewed.atp.azure.com"
    assert "wrote SensorConfiguration.json: proxy %s -> %s" % (NEW, OLD) in line(run), line(run)


@pytest.mark.parametrize("what", ["a WinINet backup", "an empty file"])
def test_a_named_backup_that_is_no_sensor_file_is_refused_and_changes_nothing(lab, what):
    host, seed = configured(lab)
    if what == "an empty file":
        named = "C:\\Temp\\empty.json"
        host.write_file(named, b"")
    else:  # a configure run with the WinINet method wrote a before.reg in the same backup folder
        host.set_proxy("user", {"proxy_server": "proxy.corp:8080"})
        wininet = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01",
                                                              atp_proxy_method="wininet"))
        assert wininet.rc == 0, wininet.stdout[-3000:]
        named = next(path for path in backups(host) if path.lower().endswith(".reg"))
    before = host.read_file(seed.config_path)
    run = lab.run_playbook(RESTORE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_method="sensor_config",
                                                    atp_proxy_backup_file=named))
    assert run.rc == 2, run.stdout[-3000:]
    assert "atp_proxy_backup_file: refusing to restore %s: it is not a SensorConfiguration.json" % named \
        in run.stdout, run.stdout[-3000:]
    assert host.read_file(seed.config_path) == before


def test_a_default_restore_undoes_the_last_change_whichever_method_made_it(lab):
    """A review found a restore on a sensor_config host put back (or found "already as in") the sensor file's older
    backup, while the last change had been a WinINet one: it now takes the method of the newest backup."""
    host, seed = configured(lab)  # the sensor's own proxy, then a WinINet change on top
    host.set_proxy("user", {"proxy_server": "proxy.corp:8080"})
    before = {sid: host.proxy_value(sid) for sid in ("S-1-5-18", "S-1-5-19")}
    wininet = lab.run_playbook(CONFIGURE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_method="wininet"))
    assert wininet.rc == 0 and host.proxy_value("S-1-5-18") != before["S-1-5-18"], wininet.stdout[-3000:]
    report = lab.dir / "report"
    run = lab.run_playbook(RESTORE, extra_vars=dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_report_dir=str(report)))
    assert run.rc == 0, run.stdout[-3000:]
    text = line(run)
    assert text.startswith("dc01: changed;") and "method wininet" in text and "restored from " in text, text
    restored = text.split("restored from ", 1)[1].split(";", 1)[0]
    assert restored.endswith("before.reg"), text
    # the report says it too, beside the backup the restore itself wrote
    assert "restored from %s" % restored.replace("\\", "\\\\") in (report / "atp_proxy_report.md").read_text()
    assert "restored from" in (report / "atp_proxy_report.html").read_text()
    assert {sid: host.proxy_value(sid) for sid in before} == before
    assert document(host, seed)["SensorProxyConfiguration"]["Url"] == NEW  # the sensor's own change stays

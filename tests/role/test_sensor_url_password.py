# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A password a host already keeps in clear in its sensor's proxy Url (``http://user:password@proxy:port`` in
SensorConfiguration.json, not the encrypted EncryptedUserPasswordData) never leaves the job: not in the host's line,
the failure that ends a drifted host, the job's result, the diff, the reports, at any verbosity. A review found it
printed three times at default verbosity (the line, [ERROR], fatal) and 46 times at -vvv."""

from __future__ import annotations

import json

import pytest

from tests.lab import system_state as ss

from .conftest import CHECK, CONFIGURE, NO_PROBE, summary_lines

pytestmark = [pytest.mark.lab]

CANARY = "Uq-SECRET-3141"
OLD = "http://bob:%s@old.corp:3128" % CANARY


@pytest.mark.parametrize("playbook", [CHECK, CONFIGURE])
def test_a_password_in_the_sensors_current_url_is_masked_everywhere(lab, tmp_path, playbook):
    host = lab.host("dc01")
    ss.seed_v2_sensor(host, proxy={"url": OLD})
    report = tmp_path / "report"
    run = lab.run_playbook(playbook, diff=True, verbosity=3, extra_vars=dict(
        NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_fail_on_drift=True, atp_proxy_report_dir=str(report),
        atp_proxy_source="settings", atp_proxy_settings={"proxy_server": "proxy.corp:8080"}))
    line = next(text for text in summary_lines(run) if text.startswith("dc01:"))
    # the line still says what the Url was and what it becomes, the password masked
    assert "proxy http://bob:********@old.corp:3128 -> http://proxy.corp:8080" in line, line
    assert run.rc == (2 if playbook == CHECK else 0), run.stdout[-3000:]  # a drift check fails the drifted host
    files = "".join(path.read_text() for path in report.iterdir())
    for where, text in (("stdout", run.stdout), ("stderr", run.stderr), ("results", json.dumps(run.results)),
                        ("reports", files)):
        assert CANARY not in text, where

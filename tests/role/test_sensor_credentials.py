# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sensor's own proxy through the role: credentials the file holds stay unless the run gives new ones or asks to
clear them (a drift check does not call them drift); and ``--diff`` shows the sensor's file like any other value."""

from __future__ import annotations

import json

import pytest

from tests.lab import system_state as ss

from .conftest import CHECK, CONFIGURE, NO_PROBE, summary_lines

pytestmark = [pytest.mark.lab]

URL = "http://proxy.corp:8080"
CANARY = "Canary-Pr0xy-9f3b"
RUN = dict(NO_PROBE, atp_proxy_hosts="dc01", atp_proxy_source="settings",
           atp_proxy_settings={"proxy_server": "proxy.corp:8080", "bypass": ["<local>"]})


def proxy_member(host, seed) -> dict:
    return json.loads(host.read_file(seed.config_path).decode("utf-8-sig"))["SensorProxyConfiguration"]


def line(run) -> str:
    return next(text for text in summary_lines(run) if text.startswith("dc01:"))


def test_stored_credentials_are_kept_unless_asked(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host, proxy={"url": URL, "username": "CORP\\svc-mdi", "password": CANARY})
    stored = proxy_member(host, seed)

    # Same proxy, no user given: nothing to do, and the drift check agrees.
    run = lab.run_playbook(CONFIGURE, extra_vars=RUN)
    assert run.rc == 0 and run.stats["dc01"]["changed"] == 0, run.stdout[-3000:]
    assert proxy_member(host, seed) == stored and line(run).startswith("dc01: in_sync")
    check = lab.run_playbook(CHECK, extra_vars=RUN)
    assert check.rc == 0 and line(check).startswith("dc01: in_sync"), line(check)

    # A new proxy address keeps the user and the encrypted password as they were.
    moved = dict(RUN, atp_proxy_settings={"proxy_server": "proxy2.corp:3128"})
    run = lab.run_playbook(CONFIGURE, extra_vars=moved)
    assert run.rc == 0 and run.stats["dc01"]["changed"] == 1, run.stdout[-3000:]
    now = proxy_member(host, seed)
    assert now["Url"] == "http://proxy2.corp:3128" and now["UserName"] == "CORP\\svc-mdi"
    assert now["EncryptedUserPasswordData"] == stored["EncryptedUserPasswordData"]
    assert ss.decrypt(host, seed.password_thumbprint, now["EncryptedUserPasswordData"]["EncryptedBytes"]) == CANARY
    assert "wrote SensorConfiguration.json: proxy %s as CORP\\svc-mdi (password set) -> http://proxy2.corp:3128 as " \
           "CORP\\svc-mdi (password set)" % URL in line(run), line(run)

    # Clearing them is asked for by name.
    cleared = lab.run_playbook(CONFIGURE, extra_vars=dict(moved, atp_proxy_sensor_proxy_clear_credentials=True))
    assert cleared.rc == 0 and cleared.stats["dc01"]["changed"] == 1
    assert proxy_member(host, seed) == {"$type": "SensorProxyConfiguration", "Url": "http://proxy2.corp:3128"}
    assert CANARY not in cleared.stdout + run.stdout + check.stdout


def test_diff_shows_the_sensor_file_through_the_role(make_lab):
    lab = make_lab(1)
    host = lab.host("dc01")
    seed = ss.seed_v2_sensor(host, proxy={"url": "http://old.corp:3128"})
    before = host.read_file(seed.config_path)
    run = lab.run_playbook(CONFIGURE, extra_vars=RUN, check=True, diff=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert host.read_file(seed.config_path) == before
    out = run.stdout
    assert "--- before: %s" % seed.config_path in out and "+++ after: %s" % seed.config_path in out, out[-4000:]
    assert "-url: http://old.corp:3128" in out and "+url: %s" % URL in out
    assert line(run).startswith("dc01: would_change; method sensor_config")

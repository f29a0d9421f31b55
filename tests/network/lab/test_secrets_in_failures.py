# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A task with a bad argument fails naming it, and no secret of the task appears anywhere: real ansible-playbook at
-vvv against the emulated lab, its output and the results the lab's callback saved searched for each canary.

ansible-core's ``validate_argument_spec`` raises ``AnsibleActionFail(msg, obj=self._task.args)``, and ansible-core
2.19 prints that object (every argument, ``no_log`` ones in clear) with the message at default verbosity; a proxy
URL whose password holds an unencoded ``/`` made the URL parser quote the password as a port."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.lab]

PROBE_SECRET = "Pw-SECRET-4432"
URL_SECRET = "Gs-SECRET-9090"
SENSOR_SECRET = "Zq-SECRET-7781"
GRAPH_SECRET = "Cp-SECRET-5150"
CANARIES = ("SECRET-4432", "SECRET-9090", "SECRET-7781", "SECRET-5150")

PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: probe with a misspelt mode
      atp.sensor_proxy.atp_endpoint_probe:
        workspace: contoso
        modes: [nammed]
        proxy: http://proxy.corp:8080
        proxy_username: probeuser
        proxy_password: "{{ probe_password }}"
      ignore_errors: true
    - name: probe through a proxy URL whose password holds a slash
      atp.sensor_proxy.atp_endpoint_probe:
        workspace: contoso
        modes: [named]
        proxy: "http://probeuser:{{ url_password }}/x@proxy.corp:8080"
      ignore_errors: true
    - name: sensor proxy with a choice that does not exist
      atp.sensor_proxy.win_mdi_sensor_proxy:
        proxy_url: http://proxy.corp:8080
        username: CORP\\svc-mdi
        password: "{{ sensor_password }}"
        password_update: sometimes
      ignore_errors: true
    - name: cloud verdict with an option that does not exist
      atp.sensor_proxy.mdi_sensor_health:
        tenant_id: t
        client_id: c
        client_secret: "{{ graph_secret }}"
        clowd: public
      ignore_errors: true
"""


def test_bad_arguments_fail_naming_them_and_quote_no_secret(lab):
    variables = lab.dir / "secrets.json"
    variables.write_text(json.dumps({"probe_password": PROBE_SECRET, "url_password": URL_SECRET,
                                     "sensor_password": SENSOR_SECRET, "graph_secret": GRAPH_SECRET}))
    run = lab.run_playbook(PLAY, limit="dc01", verbosity=3, extra_args=["--extra-vars", "@%s" % variables])
    assert run.rc == 0, run  # every task failed and was ignored
    failed = {r["task"]: r["result"] for r in run.results if r["host"] == "dc01"}
    assert len(failed) == 4 and all(r.get("failed") for r in failed.values()), failed
    assert "modes" in failed["probe with a misspelt mode"]["msg"]
    assert "URL-encode them" in failed["probe through a proxy URL whose password holds a slash"]["msg"]
    assert "password_update" in failed["sensor proxy with a choice that does not exist"]["msg"]
    assert "clowd" in failed["cloud verdict with an option that does not exist"]["msg"]
    saved = json.dumps(run.results)
    for canary in CANARIES:
        assert canary not in run.stdout and canary not in run.stderr, canary
        assert canary not in saved, canary
    assert lab.round_trips().get("dc01", 0) == 0  # nothing ran on the host

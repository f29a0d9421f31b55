# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The documentation users read is unchanged unless a change means it: ``ansible-doc --json`` of every module,
filter and role, against the committed snapshot (see ``ansible_doc_snapshot.py``)."""

from __future__ import annotations

import json

from tests.packaging import ansible_doc_snapshot as snapshot


def test_ansible_doc_matches_the_snapshot():
    recorded = json.loads(snapshot.SNAPSHOT.read_text())
    now = json.loads(json.dumps(snapshot.current(), sort_keys=True))
    for kind in snapshot.TYPES:
        assert sorted(now[kind]) == sorted(recorded[kind]), kind
        for name in recorded[kind]:
            assert now[kind][name] == recorded[kind][name], (
                "%s %s: its ansible-doc changed; if that is meant, run "
                "'.venv/bin/python tests/packaging/ansible_doc_snapshot.py --write'" % (kind, name))


def test_the_snapshot_covers_every_module_filter_and_the_role():
    recorded = json.loads(snapshot.SNAPSHOT.read_text())
    assert len(recorded["module"]) == 10 and "atp.sensor_proxy.atp_proxy_job" in recorded["module"]
    assert "atp.sensor_proxy.wininet_decode" in recorded["filter"]
    assert list(recorded["role"]) == ["atp.sensor_proxy.atp_proxy"]
    assert recorded["role"]["atp.sensor_proxy.atp_proxy"]["entry_points"]["main"]["options"]

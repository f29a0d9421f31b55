# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The unit tests' fake hosts (tests/unit/fakes/) keep one registry shape (tests/unit/fakes/registry.py): a value
seeded through any host's own helper is what the collection's state query reads back, with Windows' case rules."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _remote as remote
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.mde import MdeHost
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.registry import Registry
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.sensor import FakeSensorHost, WriteHost
from ansible_collections.atp.sensor_proxy.tests.unit.fakes.windows import FakeWindows, WinInetHost

CONN = "HKU:\\S-1-5-19\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections"
DATA = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection"
HOSTS = [FakeWindows, WinInetHost, FakeSensorHost, WriteHost, MdeHost]


def seed(host) -> None:
    """Each host through its own helper: the connections value of LocalService and one HKLM policy value."""
    if isinstance(host, FakeWindows):
        host.set_value("S-1-5-19", "DefaultConnectionSettings", b"\x46\x00")
        host.registry.set(DATA, "TelemetryProxyServer", "REG_SZ", "proxy.corp:8080")
    else:
        host.set(CONN, "DefaultConnectionSettings", "REG_BINARY", b"\x46\x00")
        host.set(DATA, "TelemetryProxyServer", "REG_SZ", "proxy.corp:8080")


@pytest.mark.parametrize("make", HOSTS, ids=[h.__name__ for h in HOSTS])
def test_every_fake_host_keeps_one_registry_shape_that_the_state_query_reads(make):
    host = make()
    seed(host)
    assert isinstance(host.registry, Registry)
    assert host.registry.get(CONN.upper(), "defaultconnectionsettings") == ("REG_BINARY", b"\x46\x00")
    snapshot = remote.read_state(host, [CONN.lower(), DATA])
    value = snapshot.key(CONN).get("DefaultConnectionSettings")
    assert value.type == "REG_BINARY" and value.data == b"\x46\x00"
    assert snapshot.key(DATA).get("telemetryproxyserver").value == "proxy.corp:8080"


def test_names_keep_their_first_spelling_and_a_key_outlives_its_last_value():
    registry = Registry()
    registry.set(DATA, "TelemetryProxyServer", "REG_SZ", "a")
    registry.set(DATA.upper(), "TELEMETRYPROXYSERVER", "REG_SZ", "b")
    assert registry.as_dict() == {DATA: {"TelemetryProxyServer": ("REG_SZ", "b")}}
    assert registry.delete(DATA, "telemetryproxyserver") is True and registry.delete(DATA, "x") is False
    assert registry.entry(DATA) == {"exists": True, "values": {}, "sub_keys": []}
    registry.delete_key(DATA)
    assert registry.entry(DATA)["exists"] is False

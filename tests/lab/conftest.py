# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pytest fixtures of the emulated Windows lab (documented in tests/lab/README.md).

Other test folders can use them with ``pytest_plugins = ["tests.lab.conftest"]`` in their own conftest.py.
"""

from __future__ import annotations

import pytest

from tests.lab.fixtures import LabEnv
from tests.lab.network import SENSOR_HOST, WORKSPACE_NAME, CrlServer, ProxyPy, SensorApi

__all__ = ["SENSOR_HOST", "WORKSPACE_NAME", "auth_proxy", "crl_server", "lab", "make_lab", "proxy", "sensor_api"]


@pytest.fixture
def make_lab(tmp_path):
    """Factory: ``make_lab(hosts=3, prefix='dc', host_vars=None) -> LabEnv`` in a fresh tmp dir."""
    counter = {"n": 0}

    def factory(hosts=3, prefix="dc", host_vars=None):
        counter["n"] += 1
        return LabEnv(tmp_path / ("lab%d" % counter["n"]), hosts=hosts, prefix=prefix, host_vars=host_vars)

    return factory


@pytest.fixture
def lab(make_lab):
    """A lab with 3 fresh hosts dc01..dc03 (every hive loaded and empty)."""
    return make_lab(3)


@pytest.fixture
def sensor_api(tmp_path, lab):
    """The HTTPS sensor API on 127.0.0.1, its CA installed as the lab's machine trust store.

    ``SENSOR_HOST`` resolves to it only through the proxy (``proxy_dns``): the DCs' own DNS
    does not know Internet names, so a direct request fails with "could not be resolved".
    """
    api = SensorApi(tmp_path / "sensor_api").start()
    lab.lab.update_config(ca_file=str(api.ca_file))
    lab.lab.add_dns("%s:443" % SENSOR_HOST, "127.0.0.1:%d" % api.port, proxy_only=True)
    yield api
    api.stop()


@pytest.fixture
def crl_server(lab):
    """The CRL/CTL hosts of the probe's catalogue (``http://crl.microsoft.com/...``,
    ``http://ctldl.windowsupdate.com/...``) on plain HTTP, 127.0.0.1; 200 for the catalogue's files.

    Like the sensor API, the names resolve only through the proxy (``proxy_dns``).
    """
    server = CrlServer().start()
    server.register(lab.lab)
    yield server
    server.stop()


@pytest.fixture
def proxy(tmp_path, lab):
    """A real proxy.py on 127.0.0.1; ``proxy.corp:8080`` resolves to it in the DCs' DNS."""
    server = ProxyPy(tmp_path / "proxy", lab.lab.dir).start()
    lab.lab.add_dns("proxy.corp:8080", "127.0.0.1:%d" % server.port)
    yield server
    server.stop()


@pytest.fixture
def auth_proxy(tmp_path, lab):
    """A real proxy.py with ``--basic-auth lab:secret`` (answers 407); ``authproxy.corp:8080`` names it."""
    server = ProxyPy(tmp_path / "auth_proxy", lab.lab.dir, basic_auth="lab:secret").start()
    lab.lab.add_dns("authproxy.corp:8080", "127.0.0.1:%d" % server.port)
    yield server
    server.stop()

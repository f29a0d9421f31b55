# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulated Windows lab's fixtures (tests/lab/conftest.py) for the probe's lab tests.

They replace tests/network/conftest.py's ``sensor_api`` in this folder: here the sensor API is the
lab's, reachable only through the lab's proxy."""

from tests.lab.conftest import auth_proxy, crl_server, lab, make_lab, proxy, sensor_api  # noqa: F401

__all__ = ["auth_proxy", "crl_server", "lab", "make_lab", "proxy", "sensor_api"]  # re-exported lab fixtures

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared unit-test helpers: fixtures and a recorded-shape stand-in for win_reg_stat."""

from __future__ import annotations

import json
import pathlib

import pytest

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"


def load_fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def wininet_values():
    return load_fixture("wininet_values.json")


@pytest.fixture
def malformed_values():
    return load_fixture("malformed_values.json")

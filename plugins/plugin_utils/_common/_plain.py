# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain Python values from what Ansible hands plugins: hostvars and templated values are lazy containers, and
YAML from Ansible's loader is tagged. Pure Python, no Ansible imports."""

from __future__ import annotations

from collections.abc import Mapping


def plain(value):
    """A deep copy into plain dict, list, str, int, float, bool and None."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)

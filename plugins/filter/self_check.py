# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the real-host self-check (the role's ``self_check.yml``). Documented in the ``.yml`` files beside this
one; the rules are in ``plugin_utils/_job/_self_check.py``."""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._plain import plain
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _self_check as self_check


def self_check_query(readiness=True):
    """The ansible.windows.win_powershell arguments of the collection's state query, with what the check reads."""
    return self_check.query_args(bool(readiness))


def self_check_paths(query_result):
    """The files the state query's answer points at (services' programs, the sensor's configuration file)."""
    return self_check.paths(plain(query_result))


def self_check_report(query_result, reg_stats, service_infos, certificates, stats, whoami):
    """Every difference between the state query and the documented modules, with both answers."""
    return self_check.differences(plain(query_result), plain(reg_stats), plain(service_infos), plain(certificates),
                                  plain(stats), plain(whoami))


class FilterModule:
    def filters(self):
        return {"self_check_query": self_check_query, "self_check_paths": self_check_paths,
                "self_check_report": self_check_report}

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the atp_proxy role and playbooks call instead of holding rules in Jinja.

Documented in the ``.yml`` files beside this one. The rules are in plugin_utils: accounts in
``_host/_accounts.py``, role variables in ``_job/_variables.py``, host summaries in ``_fleet/_summary.py``, their lines in
``_fleet/_line.py``, fleet totals in ``_fleet/_totals.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._plain import plain
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _line as lines
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _summary as summary
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _totals as totals
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._job import _variables as validate

_display = Display()


def atp_proxy_problems(values):
    """Problems with the role's variables (a dict of every atp_proxy_* variable), each naming its variable."""
    if not isinstance(values, Mapping):
        raise AnsibleFilterError("atp_proxy_problems expects a dict of the role's variables")
    problems, warnings, dummy = validate.check_role_variables(plain(values), os.environ)
    for warning in warnings:
        _display.warning(warning)
    return problems


def account_info(name, kind="registry"):
    """Everything the collection knows about an account (``kind``: registry target or become user)."""
    try:
        return accounts.info(name, kind)
    except accounts.AccountError as exc:
        raise AnsibleFilterError("account_info: %s" % exc) from exc


def account_problems(names, variable="accounts", kind="registry"):
    """Messages for the entries of ``names`` that are not accounts of ``kind`` (empty when all are)."""
    return accounts.problems(plain(names), variable, kind)


def expected_proxy(proxy_result, account):
    """The proxy ``account`` uses after this run (host:port or ``direct``), from a win_wininet_proxy result; '' when
    it cannot be known (a PAC script or WPAD decides, or the account is not a target)."""
    if not isinstance(proxy_result, Mapping):
        return ""
    return accounts.expected_proxy(summary.expected_proxies(plain(proxy_result)), plain(account))


# What a host registered or set itself (results of our own modules: data, never templates), read untemplated; a
# user's variable (atp_proxy_mode) is read templated.
_REGISTERED = ("atp_proxy_summary", "atp_proxy_result", "atp_proxy_probe_results")


def _host_values(hostvars, host: str) -> dict:
    """The variables :func:`_summary.row_for` reads, for one host of ``hostvars``.

    ``HostVars.raw_get`` (ansible-core's hostvars.py: "not run through the templating engine") gives the registered
    results as they were stored: templating them again, value by value, is the costliest part of a fleet summary
    with ansible-core 2.19's lazy templating (``bench/fleet.py``), and changes nothing (a registered result is never
    a template). A plain mapping (a test, or a Templar without HostVars) is read as it is.
    """
    try:
        item = hostvars[host]
    except Exception:  # a host missing from the inventory
        return {}
    if not isinstance(item, Mapping):
        return {}
    raw_get = getattr(hostvars, "raw_get", None)
    raw = raw_get(host) if callable(raw_get) else item
    raw = raw if isinstance(raw, Mapping) else item
    wanted = {k: raw.get(k) for k in _REGISTERED if k in raw}
    if "atp_proxy_mode" in item:
        wanted["atp_proxy_mode"] = item.get("atp_proxy_mode")
    return wanted


def fleet_rows(hostvars, hosts):
    """One atp_proxy_summary per host of ``hosts``: the one the role recorded, or the job's with the probe's results
    (``_summary.row_for``)."""
    return [summary.row_for(host, plain(_host_values(hostvars, host))) for host in [str(h) for h in hosts or []]]


def fleet_cloud(rows, reading, fail=False):
    """The rows with the cloud's verdict of one atp.sensor_proxy.mdi_sensor_health reading in each host's summary
    and line."""
    return totals.with_cloud(plain(rows), plain(reading), bool(fail))


def fleet_lines(rows):
    """The one-line text of each row."""
    return lines.lines_of(plain(rows))


def fleet_stats(rows):
    """The atp_proxy_fleet data for set_stats: hosts per status, failing probes, backups, totals."""
    return totals.stats(plain(rows))


def fleet_summary(rows):
    """The rows, their index by host, the hosts that end failed, the lines and the set_stats data, in one pass
    (``_totals.fleet_summary``)."""
    return totals.fleet_summary(plain(rows))


class FilterModule:
    def filters(self):
        return {
            "atp_proxy_problems": atp_proxy_problems,
            "account_info": account_info,
            "account_problems": account_problems,
            "expected_proxy": expected_proxy,
            "fleet_rows": fleet_rows,
            "fleet_cloud": fleet_cloud,
            "fleet_lines": fleet_lines,
            "fleet_stats": fleet_stats,
            "fleet_summary": fleet_summary,
        }

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``plan`` option of ``atp_endpoint_probe``: the probe plan an ``atp_proxy_job`` result returns (its ``probe``)
turned into the module's options, before they are validated.

Why one argument: the role's probe task used to template some twenty arguments, each from the job's result or a role
variable, in every worker process, for every host and account. Templating is most of what a converged run's
controller spends (``bench/fleet.py`` prints its CPU), so the job now states the options once, in its result, and the
task passes that dict whole. Pure Python, no Ansible imports.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts

OPTION = "plan"
# What the job says about its plan that is not an option: whether the probe runs, the workspace warning, and whether
# the run was given the sensor proxy's password (the password itself is never in a plan).
NOTES = ("run", "workspace_mismatch", "proxy_password_given")
EXPECTED = "expected_proxies"
# Never taken from a plan: where the requests run from, the plan itself, and the secret.
NOT_FROM_PLAN = ("via", OPTION, "proxy_password")
ACCOUNTS = "accounts"


def accounts(given: Mapping):
    """The ``accounts`` option of the task's arguments, else its ``plan``'s (None when neither names any): the action
    reads it before it expands the plan, once per account."""
    if given.get(ACCOUNTS) is not None:
        return given[ACCOUNTS]
    plan = given.get(OPTION)
    return plan.get(ACCOUNTS) if isinstance(plan, Mapping) else None


def arguments(given: Mapping, options, account: str | None) -> dict:
    """The task's arguments with its ``plan`` (when given) turned into options.

    Args:
        given: the task's arguments as written (``plan`` among them or not).
        options: the names of the module's options.
        account: the user the probe runs as (the become user, or the connection's), for ``expected_proxies``.

    Returns:
        The arguments to validate: every option the plan names, then the task's own (which win); without ``plan``
        the task's arguments unchanged.

    Raises:
        UsageError: a plan that is not a dict, or that names something that is no option of this module.
    """
    args = dict(given)
    plan = args.pop(OPTION, None)
    if plan is None:
        return args
    if not isinstance(plan, Mapping):
        raise UsageError("%s: a dict, the probe plan of an atp.sensor_proxy.atp_proxy_job result (its probe); got %s"
                         % (OPTION, type(plan).__name__))
    known = set(options) - set(NOT_FROM_PLAN)
    wrong = sorted(str(k) for k in plan if k not in known and k not in NOTES and k != EXPECTED)
    if wrong:
        raise UsageError("%s: %s %s no option of atp.sensor_proxy.atp_endpoint_probe that a plan may set (it may set "
                         "%s)" % (OPTION, ", ".join(wrong), "is" if len(wrong) == 1 else "are", ", ".join(sorted(known))))
    merged = {k: v for k, v in plan.items() if k in known and v is not None and v != ""}
    expected = plan.get(EXPECTED)
    if expected is not None and not isinstance(expected, Mapping):
        raise UsageError("%s.%s: a dict of account SID to proxy; got %s" % (OPTION, EXPECTED, type(expected).__name__))
    proxy = _accounts.expected_proxy(expected or {}, account)
    if proxy:
        merged["expected_proxy"] = proxy
    merged.update(args)
    return merged

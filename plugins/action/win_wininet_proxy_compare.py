# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.win_wininet_proxy_compare (read-only)."""

from __future__ import annotations

import traceback

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _registry as registry


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(registry.SOURCE_ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp

        args = self.validate_argument_spec(argument_spec=registry.SOURCE_ARGUMENT_SPEC)[1]
        execute = registry.CountingExecutor(self._execute_module, task_vars or {})
        try:
            result.update(registry.compare_all(execute, args))
        except registry.UsageError as exc:
            result.update(failed=True, msg=str(exc))
        except registry.RemoteError as exc:
            result.update(failed=True, msg=str(exc))
        except AnsibleConnectionFailure:
            raise
        except Exception as exc:  # never a bare traceback for the user
            result.update(failed=True, msg="unexpected error comparing WinINet settings: %s" % exc,
                          exception=traceback.format_exc())
        result["changed"] = False
        result["round_trips"] = len(execute.calls)
        result["check_mode"] = bool(self._task.check_mode)
        return result

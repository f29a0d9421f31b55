# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build an action plugin around a mocked Task, the way ansible.windows' unit tests do."""

from __future__ import annotations

from unittest.mock import MagicMock

from ansible.playbook.task import Task


def build_action(action_class, args: dict, execute_module, check_mode=False, diff=False, become_user=None,
                 remote_user="CORP\\ansible"):
    """``execute_module`` replaces ``_execute_module`` (keyword arguments module_name, module_args, task_vars)."""
    task = MagicMock(Task)
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    task.diff = diff
    play_context = MagicMock()
    play_context.check_mode = check_mode
    play_context.become = become_user is not None
    play_context.become_user = become_user
    play_context.remote_user = remote_user
    connection = MagicMock()
    connection._shell.tmpdir = "C:\\Windows\\Temp\\ansible-tmp-unit"  # no remote temp dir is made
    plugin = action_class(task, connection, play_context, loader=None, templar=None, shared_loader_obj=None)
    plugin._execute_module = execute_module
    plugin._remove_tmp_path = MagicMock()
    return plugin

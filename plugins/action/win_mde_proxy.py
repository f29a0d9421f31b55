# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for atp.sensor_proxy.win_mde_proxy: the Defender for Endpoint and Defender Antivirus proxy
settings, backed up, written only where they differ, read back.

Glue only: it maps the task to :func:`plugin_utils._mde._run.run` (Args and Returns listed there), which validates
(``_mde/_desired.py``, against ``_mde/_catalogue.py``), plans (``_mde/_plan.py``) and writes through
``_wininet/_registry_change.py`` (the backup, the one reg import, the win_http_proxy call, the read back and the
rollback).
"""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.modules.win_mde_proxy import DOCUMENTATION
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._action import AtpAction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._mde import _run as mde


class ActionModule(AtpAction):
    DOCUMENTATION = DOCUMENTATION
    # No file is transferred: the backups travel in the arguments of one win_powershell run (_host/_file_write.py),
    # so no task costs a temporary-folder round trip.
    TRANSFERS_FILES = False
    WHAT = "applying Defender for Endpoint proxy settings"

    def act(self, args, execute, task_vars):
        """The task's arguments (checked against ``DOCUMENTATION``) -> the fields of :func:`_mde._run.run`'s result;
        the backups are written by :meth:`uploader`, and ``winhttp_source=ie`` names the account of
        :meth:`_runs_as`."""
        host = task_vars.get("inventory_hostname", "host")
        return mde.run(execute, self.uploader(execute), args,
                       self.check_mode, host=host, runs_as=self._runs_as()).to_result()

    def _runs_as(self) -> str:
        """The account the modules run as: the task's become_user, else the connection user."""
        context = self._play_context
        if getattr(context, "become", False) and getattr(context, "become_user", None):
            return str(context.become_user)
        user = getattr(context, "remote_user", None)
        return "the connection user %s" % user if user else "the connection user"

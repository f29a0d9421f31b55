# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's logic, on the controller: pure Python with no Ansible runtime imports, except ``_action.py``
(the base of every action plugin). Remote work goes through an injected executor (``_host._remote``).

One package per domain, each importing only the packages before it in :data:`LAYERS`:

``_common``   errors, plain values, argument specs from docs
``_host``     the remote executor, the state query, the file write, accounts, ``.reg`` files, backups
``_wininet``  the WinINet codec, compare, the registry change, the WinINet write path, restore
``_probe``    endpoints, outcomes, the probe script and its facts, win_uri's results, the controller's prober
``_mde``      Defender for Endpoint and Defender Antivirus settings
``_sensor``   the Defender for Identity sensor: discovery, its file, its write path, restarts, logs, v3, readiness
``_cloud``    Microsoft Graph: the cloud's verdict on each sensor
``_fleet``    host summaries, the fleet's totals and its report
``_job``      the role: its variables, its job on one host, the self-check
"""

# FOR INTERNAL COLLECTION USE ONLY: these interfaces may change in any release.

LAYERS = ("_common", "_host", "_wininet", "_probe", "_mde", "_sensor", "_cloud", "_fleet", "_job")

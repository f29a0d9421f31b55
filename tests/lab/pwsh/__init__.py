# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's PowerShell executor (TEST ONLY): it runs the exact script text ``win_powershell`` receives.

``runner.run(script, host, account, parameters, depth, error_action, check_mode)`` parses the script with
tree-sitter-powershell (``syntax.py``), runs it with Windows PowerShell 5.1's semantics (``interpreter.py``,
``operators.py``, ``values.py``, ``errors.py``) against the lab host's state through the table of .NET types and
cmdlets in ``surface/``, and returns what ``ansible.windows.win_powershell`` returns. A construct outside what is
emulated raises :class:`errors.Unsupported` ("unsupported in the lab: <construct> at line N"); nothing is
guessed. ``lint.py`` holds the static checks ``make test`` runs on every script the collection sends.
"""

from tests.lab.pwsh.errors import ScriptSyntaxError, Unsupported  # noqa: F401
from tests.lab.pwsh.runner import run  # noqa: F401

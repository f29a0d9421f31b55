# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """The attributes every action of the collection shares (with ansible.builtin.action_common_attributes and
    its .flow fragment, which define them): an action plugin that runs per host and is never async. A module
    adds one of the fragments below, and keeps its own entries where it has details to give."""

    DOCUMENTATION = r"""
options: {}
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
"""

    # The task changes a Windows host: check mode and --diff are supported in full.
    CHANGE = r"""
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: windows
"""

    # The task reads a Windows host: it runs in check mode too, and has no diff.
    READ = r"""
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: windows
"""

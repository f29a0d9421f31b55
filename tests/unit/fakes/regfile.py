# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The .reg reader the unit tests' fake hosts apply ``reg.exe import`` with.

It is the lab's own reader (tests/lab/collections/.../module_utils/_lab_regfile.py), loaded by path: the stand-in for
``reg import`` must not share the collection's ``_host/_regfile.py``, the code these tests check, or a bug in the
writer would be read back by the same bug and pass.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

LAB_REGFILE = (Path(__file__).resolve().parents[2]
               / "lab/collections/ansible_collections/ansible/windows/plugins/module_utils/_lab_regfile.py")


def _load():
    spec = importlib.util.spec_from_file_location("lab_regfile_for_unit_fakes", LAB_REGFILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_reg_file


parse_reg_file = _load()

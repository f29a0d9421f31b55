# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doc stubs and the argument specs the action plugins validate with must not drift apart."""

from __future__ import annotations

import importlib

import pytest
import yaml

from ansible_collections.atp.sensor_proxy.plugins.action import win_wininet_proxy
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _registry

SPECS = {
    "win_wininet_proxy_compare": _registry.SOURCE_ARGUMENT_SPEC,
    "win_wininet_proxy": win_wininet_proxy.ARGUMENT_SPEC,
}


def _normalize(spec: dict) -> dict:
    out = {}
    for name, option in spec.items():
        entry = {key: option.get(key) for key in ("type", "default", "choices", "elements")}
        entry["type"] = entry["type"] or "str"
        if option.get("options") or option.get("suboptions"):
            entry["options"] = _normalize(option.get("options") or option.get("suboptions"))
        out[name] = entry
    return out


@pytest.mark.parametrize("module", sorted(SPECS))
def test_documented_options_match_the_validated_spec(module):
    doc = yaml.safe_load(importlib.import_module(
        "ansible_collections.atp.sensor_proxy.plugins.modules.%s" % module).DOCUMENTATION)
    for fragment in doc.get("extends_documentation_fragment", []):
        if fragment.startswith("atp.sensor_proxy."):
            shared = yaml.safe_load(importlib.import_module(
                "ansible_collections.atp.sensor_proxy.plugins.doc_fragments.%s" % fragment.split(".")[2]
            ).ModuleDocFragment.DOCUMENTATION)
            doc["options"] = dict(shared["options"], **doc.get("options", {}))
    assert _normalize(doc["options"]) == _normalize(SPECS[module])
    assert doc["attributes"]["check_mode"]["support"] == "full"

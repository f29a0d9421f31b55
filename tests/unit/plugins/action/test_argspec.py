# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every action's argument spec comes from its documentation (fragments, suboptions, NO_LOG): one mechanism."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
import yaml

from ansible_collections.atp.sensor_proxy.plugins import action as actions
from ansible_collections.atp.sensor_proxy.plugins.action.win_wininet_proxy import ActionModule as Write
from ansible_collections.atp.sensor_proxy.plugins.action.win_wininet_proxy_compare import ActionModule as Compare
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _argspec as argspec

ACTIONS = sorted(m.name for m in pkgutil.iter_modules(actions.__path__))


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_builds_its_spec_from_its_documentation(name):
    module = importlib.import_module("ansible_collections.atp.sensor_proxy.plugins.action." + name)
    spec = module.ActionModule.argument_spec()
    doc = importlib.import_module("ansible_collections.atp.sensor_proxy.plugins.modules." + name)
    assert module.ActionModule.DOCUMENTATION == doc.DOCUMENTATION  # the stub is the source
    documented = yaml.safe_load(doc.DOCUMENTATION)
    options = dict(documented.get("options") or {})
    for fragment in documented.get("extends_documentation_fragment") or []:
        if fragment.startswith("atp.sensor_proxy."):
            frag = importlib.import_module("ansible_collections.atp.sensor_proxy.plugins.doc_fragments."
                                           + fragment.split(".")[2])
            options.update(yaml.safe_load(frag.ModuleDocFragment.DOCUMENTATION).get("options") or {})
    assert sorted(spec) == sorted(options), name  # every documented option, nothing else


def test_fragment_options_and_suboptions_reach_the_spec():
    spec = Write.argument_spec()
    # from the wininet_source fragment, with its suboptions and defaults
    assert spec["settings"]["type"] == "dict"
    assert spec["settings"]["options"]["bypass"] == {"type": "list", "elements": "str"}
    assert spec["targets"]["default"] == ["S-1-5-18", "S-1-5-19"]
    # the module's own source option wins over the fragment's (it adds backup)
    assert "backup" in spec["source"]["choices"] and "backup" not in Compare.argument_spec()["source"]["choices"]


def test_no_log_is_declared_by_name_and_checked_against_the_documentation():
    doc = {"options": {"user": {"description": "x"}, "auth": {"type": "dict", "description": "x",
                                                              "suboptions": {"secret": {"description": "x"}}}}}
    spec = argspec.from_doc(doc, ["auth.secret"])
    assert spec["auth"]["options"]["secret"]["no_log"] is True and "no_log" not in spec["user"]
    with pytest.raises(argspec.SpecError, match="NO_LOG names auth.token"):
        argspec.from_doc(doc, ["auth.token"])
    with pytest.raises(argspec.SpecError, match="looks like a secret"):
        argspec.from_doc({"options": {"proxy_password": {"description": "x"}}})

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX survey and job templates in awx/: valid AWX survey schema, and every variable lands on a role variable."""

from __future__ import annotations

import json
import re

import yaml

from ._helpers import REPO, ansible_env, run, tool

QUESTION_KEYS = {"question_name", "question_description", "required", "type", "variable", "min", "max",
                 "default", "choices", "new_question"}
TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


def _survey():
    return json.loads((REPO / "awx" / "survey_configure.json").read_text())


def _role_variables():
    specs = yaml.safe_load((REPO / "roles" / "atp_proxy" / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"]["main"]["options"]


def _templates():
    return yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())["atp_awx_job_templates"]


def test_survey_follows_the_awx_schema():
    survey = _survey()
    assert set(survey) == {"name", "description", "spec"} and survey["name"] and isinstance(survey["spec"], list)
    variables = []
    for question in survey["spec"]:
        assert set(question) == QUESTION_KEYS, question["variable"]
        assert question["type"] in TYPES
        assert isinstance(question["required"], bool) and question["question_name"]
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", question["variable"])
        if question["type"] in ("multiplechoice", "multiselect"):
            choices = question["choices"]
            assert isinstance(choices, list) and choices
            defaults = [d for d in str(question["default"]).split("\n") if d]
            assert set(defaults) <= set(choices)
        else:
            assert isinstance(question["min"], int) and isinstance(question["max"], int)
            assert question["min"] <= len(str(question["default"])) <= question["max"] or question["default"] == ""
        variables.append(question["variable"])
    assert len(variables) == len(set(variables))


def test_survey_covers_the_issue_fields_and_maps_onto_role_variables():
    role = _role_variables()
    survey_vars = {q["variable"]: q for q in _survey()["spec"]}
    assert survey_vars["atp_proxy_products"]["choices"] == role["atp_proxy_products"]["choices"]
    for template in _templates():
        for name in template["extra_vars"]:
            assert name in role or name.startswith("atp_proxy_restore_"), name
        if template.get("survey") != "survey_configure.json":
            continue
        mapping = yaml.safe_dump(template["extra_vars"])
        settings = template["extra_vars"]["atp_proxy_settings"]
        assert set(settings) <= set(role["atp_proxy_settings"]["options"])
        for variable in survey_vars:
            # Either a role variable as it is, or used by the template's mapping onto one.
            assert variable in role or variable in mapping, "%s reaches no role variable" % variable
    asked = " ".join(q["question_name"].lower() for q in _survey()["spec"])
    for field in ("proxy server", "bypass", "pac url", "products", "workspace"):
        assert field in asked


def test_templates_cover_configure_check_and_restore():
    templates = {t["playbook"]: t for t in _templates()}
    assert set(templates) == {"configure_atp_proxy.yml", "check_atp_proxy.yml", "restore_atp_proxy.yml"}
    assert templates["check_atp_proxy.yml"]["job_type"] == "check" and "rrule" in templates["check_atp_proxy.yml"]["schedule"]
    assert templates["configure_atp_proxy.yml"]["job_type"] == "run"
    for playbook in templates:
        assert (REPO / "playbooks" / playbook).is_file()


def test_awx_setup_playbook_syntax(tmp_path):
    """awx/configure_awx.yml is valid against the awx.awx collection shipped with the ansible package."""
    proc = run([tool("ansible-playbook"), "--syntax-check", REPO / "awx" / "configure_awx.yml"],
               env=ansible_env(tmp=tmp_path), cwd=tmp_path)
    assert "configure_awx.yml" in proc.stdout
    docs = json.loads(run([tool("ansible-doc"), "--json", "awx.awx.job_template"], env=ansible_env(tmp=tmp_path)).stdout)
    options = docs["awx.awx.job_template"]["doc"]["options"]
    task = yaml.safe_load((REPO / "awx" / "configure_awx.yml").read_text())[0]["tasks"][2]["awx.awx.job_template"]
    assert set(task) <= set(options)

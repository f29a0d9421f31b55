# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX survey and job templates in awx/: valid AWX survey schema, and every variable lands on a role variable."""

from __future__ import annotations

import json
import re

import yaml

from tests._helpers import REPO, ansible_env, run, tool

from . import _awx

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


def test_templates_cover_configure_check_restore_and_the_merge():
    templates = {t["playbook"]: t for t in _templates()}
    assert set(templates) == {"configure_atp_proxy.yml", "check_atp_proxy.yml", "restore_atp_proxy.yml",
                              "merge_fleet_report.yml"}
    assert templates["check_atp_proxy.yml"]["job_type"] == "check" and "rrule" in templates["check_atp_proxy.yml"]["schedule"]
    assert templates["configure_atp_proxy.yml"]["job_type"] == "run"
    for playbook in templates:
        assert (REPO / "playbooks" / playbook).is_file()


def test_the_sliced_workflow_merges_after_every_slice():
    """The drift check sliced, then the merge node on an "always" link (a drifted slice fails); the drift check lets
    the workflow set its slice count; the names are the job templates'."""
    data = yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())
    names = {t["name"]: t for t in data["atp_awx_job_templates"]}
    (workflow,) = data["atp_awx_workflows"]
    nodes = {n["identifier"]: n for n in workflow["workflow_nodes"]}
    drift, merge = nodes["drift-check"], nodes["merge"]
    assert names[drift["unified_job_template"]["name"]]["playbook"] == "check_atp_proxy.yml"
    assert names[merge["unified_job_template"]["name"]]["playbook"] == "merge_fleet_report.yml"
    assert drift["job_slice_count"] > 1 and names[drift["unified_job_template"]["name"]]["ask_job_slice_count_on_launch"]
    assert drift["related"] == {"always_nodes": [{"identifier": "merge"}]}
    assert workflow["survey"] == "survey_configure.json"
    alerts = {n["name"] for n in _awx.load_awx_yaml(REPO / "awx" / "notification_templates.yml")[
        "atp_awx_notification_templates"]}
    for template in data["atp_awx_job_templates"]:
        assert set(template.get("notification_templates_error", [])) <= alerts


def _module_options(module: str, tmp_path) -> dict:
    docs = json.loads(run([tool("ansible-doc"), "--json", module], env=ansible_env(tmp=tmp_path)).stdout)
    return docs[module]["doc"]["options"]


def test_awx_setup_playbook_syntax(tmp_path):
    """awx/configure_awx.yml is valid against the awx.awx collection shipped with the ansible package, and every
    option it (and the data it loops over) gives a module is one the module has."""
    proc = run([tool("ansible-playbook"), "--syntax-check", REPO / "awx" / "configure_awx.yml"],
               env=ansible_env(tmp=tmp_path), cwd=tmp_path)
    assert "configure_awx.yml" in proc.stdout
    tasks = yaml.safe_load((REPO / "awx" / "configure_awx.yml").read_text())[0]["tasks"]
    used = {}
    for task in tasks:
        module = next(k for k in task if k.startswith("awx.awx."))
        used[module] = task[module]
        assert set(task[module]) <= set(_module_options(module, tmp_path)), module
    assert {"awx.awx.notification_template", "awx.awx.job_template", "awx.awx.workflow_job_template"} <= set(used)
    assert used["awx.awx.job_template"]["notification_templates_error"].startswith("{{ item.notification_templates")
    nodes = _module_options("awx.awx.workflow_job_template", tmp_path)["workflow_nodes"]["suboptions"]
    for node in yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())["atp_awx_workflows"][0][
            "workflow_nodes"]:
        assert set(node) <= set(nodes)
        assert set(node["unified_job_template"]) <= set(nodes["unified_job_template"]["suboptions"])
    alert = _awx.load_awx_yaml(REPO / "awx" / "notification_templates.yml")["atp_awx_notification_templates"][0]
    choices = _module_options("awx.awx.notification_template", tmp_path)["notification_type"]["choices"]
    assert alert["notification_type"] in choices
    # The webhook backend's parameters (awx/main/notifications/webhook_backend.py, init_parameters).
    assert set(alert["notification_configuration"]) == {"url", "http_method", "disable_ssl_verification", "username",
                                                        "password", "headers"}

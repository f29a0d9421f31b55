# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What AWX does around a job, done here the same way, for ansible-runner jobs against the lab.

Each function names the AWX source it follows (github.com/ansible/awx, commit e21dd0a, October 2024):

* :func:`extravars`: ``awx/main/tasks/jobs.py`` ``RunJob.build_extra_vars_file``: the job template's extra vars,
  then ``awx_meta_vars()`` (``awx_job_id``, ``awx_workflow_job_id``, ...), written by ``safe_dump``
  (``awx/main/utils/safe_yaml.py``), which tags every string ``!unsafe`` except the top-level keys whose value is
  exactly the job template's own (ALLOW_JINJA_IN_EXTRA_VARS = "template", the default).
* :func:`slices`: ``awx/main/models/inventory.py`` ``get_sliced_hosts``: slice *n* of *k* gets
  ``hosts[n - 1::k]``.
* :func:`artifacts_for_next_node`: ``awx/main/models/workflow.py`` ``WorkflowJob.get_effective_artifacts``: a
  sliced job's workflow hands the next node its slices' artifacts merged with ``dict.update`` in the order the
  jobs finished, so a key two slices share keeps only the last one's value; ``WorkflowJobNode.get_job_kwargs``
  then adds them to the next job's extra vars (passed whatever the job template prompts for).
* :func:`render_notification`: ``awx/main/models/notifications.py`` ``JobNotificationMixin``: a message is
  rendered in ``jinja2.sandbox.ImmutableSandboxedEnvironment`` with ``job`` (its fields, ``artifacts`` among
  them), ``url`` and ``job_friendly_name``; ``awx/api/serializers.py`` ``validate_messages`` renders it first
  against ``context_stub()`` with a StrictUndefined, and ``webhook_backend.py`` posts the body only if it is a
  JSON object.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import jinja2
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment


class _SafeStringDumper(yaml.SafeDumper):
    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super().represent_data(data)


def safe_dump(data: dict, safe_dict: dict) -> str:
    """``awx/main/utils/safe_yaml.py`` ``safe_dump``."""
    out = []
    for key, value in data.items():
        dumper = yaml.SafeDumper if key in safe_dict and safe_dict[key] == value else _SafeStringDumper
        out.append(yaml.dump_all([{key: value}], None, Dumper=dumper, default_flow_style=False))
    return "".join(out)


def meta_vars(job_id: int, workflow_job_id: int | None = None, template_name: str = "") -> dict:
    """``awx_meta_vars()`` of a job (the ``tower_`` twins too)."""
    out = {}
    for prefix in ("awx", "tower"):
        out["%s_job_id" % prefix] = job_id
        out["%s_job_launch_type" % prefix] = "workflow" if workflow_job_id else "manual"
        if template_name:
            out["%s_job_template_name" % prefix] = template_name
        if workflow_job_id:
            out["%s_workflow_job_id" % prefix] = workflow_job_id
    return out


def extravars(template_vars: dict, *others: dict) -> str:
    """env/extravars: the template's extra vars (trusted), then everything else (survey, artifacts, meta vars)."""
    data = dict(template_vars)
    for other in others:
        data.update(other)
    return safe_dump(data, template_vars)


def slices(hosts: list, count: int) -> list:
    """The hosts of each slice of a job template with ``job_slice_count = count``."""
    ordered = sorted(hosts)
    return [ordered[number - 1::count] for number in range(1, count + 1)]


def artifacts_for_next_node(jobs_in_finished_order: list) -> dict:
    merged: dict = {}
    for artifacts in jobs_in_finished_order:
        merged.update(artifacts)
    return merged


def context_stub() -> dict:
    """The parts of ``JobNotificationMixin.context_stub()`` a message can use (a job without artifacts)."""
    return {"job": {"id": 42, "name": "Stub JobTemplate", "status": "running", "artifacts": {}, "failed": False,
                    "job_slice_count": 1, "job_slice_number": 0, "limit": "bar_limit", "playbook": "ping.yml",
                    "created": datetime.datetime(2018, 11, 13, 6, 4, tzinfo=datetime.timezone.utc),  # noqa: UP017
                    "host_status_counts": {"ok": 5, "changed": 3, "failures": 0, "dark": 0}},
            "job_friendly_name": "Job", "url": "https://platformhost/#/jobs/playbook/1010",
            "job_metadata": "{}"}


class _DescriptiveUndefined(jinja2.StrictUndefined):
    __repr__ = __str__ = jinja2.StrictUndefined._fail_with_undefined_error


def validate_message(template: str) -> str:
    """Render as AWX does when the notification template is saved; raises on an undefined field."""
    env = ImmutableSandboxedEnvironment(undefined=_DescriptiveUndefined)
    return env.from_string(template).render(context_stub())


def render_notification(template: str, job: dict, url: str = "https://awx.corp.example/#/jobs/playbook/7") -> str:
    """Render as AWX does when it sends the notification of a finished job."""
    env = ImmutableSandboxedEnvironment(undefined=jinja2.ChainableUndefined)
    return env.from_string(template).render(job=job, url=url, job_friendly_name="Job")


def webhook_body(rendered: str) -> dict:
    """``WebhookBackend.format_body``: a JSON object, or nothing is posted but ``{}``."""
    body = json.loads(rendered)
    assert isinstance(body, dict), "AWX posts {} for a body that is not a JSON object"
    return body


class _UnsafeLoader(yaml.SafeLoader):
    pass


_UnsafeLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load_awx_yaml(path) -> dict:
    """An awx/*.yml vars file (``!unsafe`` values read as the plain strings Ansible hands to the module)."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_UnsafeLoader)  # noqa: S506 (a SafeLoader)

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX credential type of atp.sensor_proxy.mdi_sensor_health (awx/credential_types.yml): valid AWX input, handed
to AWX untemplated, and, injected the way AWX injects it, enough for the module to read Graph in an ansible-runner
job without a credential option in the task.

AWX's side, followed here (github.com/ansible/awx): ``awx/main/fields.py`` ``CredentialTypeInputField`` (the keys a
field may have: ``id``, ``label``, ``type``, ``help_text``, ``secret``, ``multiline``, ``choices``, ``format``,
``ask_at_runtime``; ``id`` a variable name; ``tower`` reserved) and ``CredentialType.inject_credential`` (the
namespace holds only the fields that have a value; each ``file`` template is rendered in an
``ImmutableSandboxedEnvironment`` into a private file under ``env/`` (mode 0600) whose path is ``tower.filename``;
each ``env`` template is rendered the same way into the job's environment, which ansible-runner takes from
``env/envvars``).
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from pathlib import Path

import pytest
import trustme
import yaml
from cryptography.hazmat.primitives import serialization
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ansible_collections.atp.sensor_proxy.plugins.modules import mdi_sensor_health as doc
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_identity as graph
from tests._helpers import REPO, ansible_env, run, tool
from tests.network.graph_server import FakeGraph, health_issue, sensor

from . import _awx
from ._runner import host_results, run_job

FIELD_KEYS = {"id", "label", "type", "help_text", "secret", "multiline", "choices", "format", "ask_at_runtime"}
SECRET = "Cnry!AWX cred;=@"
KEY_PASSWORD = "Cnry!AWX key pw"


def _credential_type() -> dict:
    return _awx.load_awx_yaml(REPO / "awx" / "credential_types.yml")["atp_awx_credential_types"][0]


def inject(credential_type: dict, inputs: dict, private_data_dir: Path) -> dict:
    """The environment AWX gives the job for a credential of this type with these inputs."""
    namespace = {k: v for k, v in inputs.items() if v}
    sandbox = ImmutableSandboxedEnvironment()
    tower = type("Tower", (), {})()
    for label, template in (credential_type["injectors"].get("file") or {}).items():
        (private_data_dir / "env").mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(dir=private_data_dir / "env")
        with os.fdopen(fd, "w") as handle:
            handle.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        assert "." not in label  # a single file: tower.filename is its path
        tower.filename = path
    namespace["tower"] = tower
    return {name: sandbox.from_string(template).render(**namespace)
            for name, template in credential_type["injectors"]["env"].items()}


def test_the_credential_type_is_valid_awx_input_and_injects_what_the_module_reads():
    ctype = _credential_type()
    assert ctype["kind"] == "cloud"
    fields = ctype["inputs"]["fields"]
    ids = [f["id"] for f in fields]
    for field in fields:
        assert set(field) <= FIELD_KEYS and {"id", "label"} <= set(field), field
        assert re.fullmatch(r"[a-zA-Z_]+[a-zA-Z0-9_]*", field["id"]) and field["id"] != "tower"
        assert field.get("type", "string") in ("string", "boolean")
    assert len(ids) == len(set(ids)) and set(ctype["inputs"]["required"]) <= set(ids)
    assert {f["id"] for f in fields if f.get("secret")} == {"client_secret", "certificate", "certificate_password"}
    options = yaml.safe_load(doc.DOCUMENTATION)["options"]
    cloud = next(f for f in fields if f["id"] == "cloud")
    assert cloud["choices"] == options["cloud"]["choices"]
    assert set(ctype["injectors"]["env"]) == set(graph.ENV.values())  # every variable the module reads, no other
    for variable in graph.ENV.values():
        assert variable in doc.DOCUMENTATION, "%s is not documented" % variable


def test_configure_awx_hands_awx_the_injectors_untemplated(tmp_path):
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{
        "name": "The data configure_awx.yml hands awx.awx.credential_type", "hosts": "localhost",
        "gather_facts": False, "vars_files": [str(REPO / "awx" / "credential_types.yml")],
        "tasks": [{"name": "Injectors", "ansible.builtin.debug": {"msg": "{{ item.injectors }}"},
                   "loop": "{{ atp_awx_credential_types }}"}]}]))
    proc = run([tool("ansible-playbook"), "-i", "localhost,", tmp_path / "play.yml"],
               env=ansible_env(tmp=tmp_path, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json"), cwd=tmp_path)
    tasks = json.loads(proc.stdout[proc.stdout.index("{"):])["plays"][0]["tasks"]
    injectors = tasks[0]["hosts"]["localhost"]["results"][0]["msg"]
    assert injectors == _credential_type()["injectors"]
    assert injectors["env"]["ATP_GRAPH_CERTIFICATE_PATH"] == "{% if certificate %}{{ tower.filename }}{% endif %}"
    configure = (REPO / "awx" / "configure_awx.yml").read_text()
    assert "credential_types.yml" in configure and "awx.awx.credential_type:" in configure


PLAY = """
- name: The cloud's verdict with the AWX credential
  hosts: atp_sensors
  gather_facts: false
  tasks:
    - name: Read Graph with what the credential injected
      atp.sensor_proxy.mdi_sensor_health:
        graph_endpoint: "{{ graph_url }}"
        authority: "{{ graph_url }}"
        ca_path: "{{ graph_ca }}"
      run_once: true
      register: cloud
"""


def _job(tmp_path: Path, fake: FakeGraph, inputs: dict, ident: str) -> dict:
    pdd = tmp_path / ident
    (pdd / "project").mkdir(parents=True)
    (pdd / "project" / "play.yml").write_text(PLAY)
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts").write_text("[atp_sensors]\ndc01\ndc02\n\n[atp_sensors:vars]\n"
                                             "ansible_connection=local\n")
    env = inject(_credential_type(), inputs, pdd)
    base = {k: v for k, v in ansible_env(tmp=tmp_path).items() if k.startswith("ANSIBLE_")}
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(dict(base, **env)))
    (pdd / "env" / "extravars").write_text(yaml.safe_dump({"graph_url": fake.url, "graph_ca": str(fake.ca_file)}))
    job = run_job(pdd, "play.yml", ident)
    job["env"] = env
    return job


@pytest.fixture
def fake(tmp_path):
    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert("mdi-health.corp.example", key_type=trustme.KeyType.RSA)
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    server = FakeGraph(tmp_path / "graph", client_secret=SECRET, certificate=leaf.cert_chain_pems[0].bytes(),
                       sensors=[sensor("DC01"), sensor("DC02", status="disconnected")],
                       issues=[health_issue("Sensor stopped communicating", ["DC02.corp.example"])]).start()
    server.pem = leaf.cert_chain_pems[0].bytes().decode() + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(KEY_PASSWORD.encode())).decode()
    yield server
    server.stop()


@pytest.mark.parametrize("kind", ["client_secret", "certificate"])
def test_a_job_with_the_credential_reads_graph(tmp_path, fake, kind):
    inputs = {"tenant_id": fake.tenant, "client_id": fake.client_id, "cloud": ""}
    if kind == "client_secret":
        inputs["client_secret"] = SECRET
    else:
        inputs.update(certificate=fake.pem, certificate_password=KEY_PASSWORD)
    job = _job(tmp_path, fake, inputs, "job_" + kind)
    assert job["rc"] == 0, job["stdout"][-3000:]
    assert (job["env"]["ATP_GRAPH_CERTIFICATE_PATH"] != "") is (kind == "certificate")
    cloud = next(iter(host_results(job["events"], action="atp.sensor_proxy.mdi_sensor_health").values()))
    assert cloud["credential"]["type"] == kind and cloud["credential"]["source"] == "environment"
    assert cloud["endpoints"]["cloud"] == "commercial"  # the empty Cloud field means the default
    assert [cloud["hosts"][h]["verdict"] for h in ("dc01", "dc02")] == ["connected", "not_connected"]
    everything = job["stdout"] + json.dumps(job["events"])
    for secret in (SECRET, KEY_PASSWORD, "PRIVATE KEY"):
        assert secret not in everything

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab fleet behind a real proxy and sensor API, and ansible-runner jobs over any part of it, as AWX runs them
(a private data dir per job: project/, inventory/ with the job's hosts, env/extravars, env/envvars)."""

from __future__ import annotations

import contextlib
import shutil

import yaml

from tests._helpers import REPO
from tests.lab.fixtures import LabEnv
from tests.lab.network import ProxyPy, SensorApi

from . import _awx
from ._runner import run_job

WORKSPACE = "contoso-corp"
SENSOR_HOST = WORKSPACE + "sensorapi.atp.azure.com"
WANTED = {"proxy_server": "proxy.corp:8080", "bypass": ["<local>", "*.corp.example"]}
SURVEY_ANSWERS = {
    "atp_proxy_survey_proxy_server": "proxy.corp:8080",
    "atp_proxy_survey_bypass": "<local>\n*.corp.example\n",
    "atp_proxy_survey_auto_config_url": "",
    "atp_proxy_products": ["mdi"],
    "atp_proxy_workspace": WORKSPACE,
}
ENV_KEYS_PREFIXES = ("ANSIBLE_", "ATP_", "PYTHONPATH")


@contextlib.contextmanager
def lab_fleet(directory, hosts: int, drifted=("dc01",), unloaded=("dc03",)):
    """DCs in sync with the survey's proxy, except ``drifted`` (both accounts empty) and ``unloaded`` (LocalService's
    hive not loaded)."""
    lab = LabEnv(directory / "lab", hosts=hosts)
    api = SensorApi(directory / "sensor_api").start()
    lab.lab.update_config(ca_file=str(api.ca_file))
    lab.lab.add_dns("%s:443" % SENSOR_HOST, "127.0.0.1:%d" % api.port, proxy_only=True)
    proxy = ProxyPy(directory / "proxy", lab.lab.dir).start()
    lab.lab.add_dns("proxy.corp:8080", "127.0.0.1:%d" % proxy.port)
    try:
        for name in lab.host_names:
            lab.host(name).seed({"user": WANTED})
            if name not in drifted:
                lab.host(name).seed({"S-1-5-18": WANTED, "S-1-5-19": WANTED})
            if name in unloaded:
                lab.host(name).seed({"unloaded": ["S-1-5-19"]})
        yield lab
    finally:
        proxy.stop()
        api.stop()


def template(name: str) -> dict:
    data = yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())["atp_awx_job_templates"]
    return next(t for t in data if t["name"] == name)


def data_dir(base, lab: LabEnv, hosts: list, extravars: str):
    """A private data dir for one job: its hosts in atp_sensors (the slice AWX gives it), the lab's connection."""
    base.mkdir(parents=True)
    shutil.copytree(REPO / "playbooks", base / "project")
    (base / "inventory").mkdir()
    inventory = {"all": {"children": {"atp_sensors": {"vars": lab.inventory_vars(),
                                                      "hosts": {name: {} for name in hosts}}}}}
    (base / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (base / "env").mkdir()
    env = {k: v for k, v in lab.env().items() if k.startswith(ENV_KEYS_PREFIXES)}
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)  # the runner's own event callback is what AWX reads
    env.pop("ANSIBLE_CALLBACK_PLUGINS", None)
    (base / "env" / "envvars").write_text(yaml.safe_dump(env))
    (base / "env" / "extravars").write_text(extravars)
    (base / "env" / "settings").write_text(yaml.safe_dump({"idle_timeout": 600, "job_timeout": 900}))
    return base


def dc_job(base, lab, hosts, template_name: str, playbook: str, ident: str, meta: dict, extra: dict,
           check: bool = False) -> dict:
    """A job of a job template of awx/job_templates.yml with the survey answers, over ``hosts``."""
    vars_ = template(template_name)["extra_vars"]
    pdd = data_dir(base, lab, hosts, _awx.extravars(vars_, SURVEY_ANSWERS, meta, extra))
    job = run_job(pdd, playbook, ident, check=check)
    job["pdd"] = pdd
    return job

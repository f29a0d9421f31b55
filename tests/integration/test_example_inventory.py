# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""inventories/example: loads with ansible-inventory, connects the documented way, holds no secret.

Builds pywinrm and pypsrp client objects from each host's variables, offline (nothing connects),
so a typo in a transport/auth name or in a connection variable fails here and not on a DC.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventories" / "example"
BIN = Path(sys.executable).parent
VAULT_REF = re.compile(r"^\{\{\s*vault_[a-z0-9_]+\s*\}\}$")
PLACEHOLDER = re.compile(r"CHANGE-ME")
SECRET_KEY = re.compile(r"pass(word)?|secret|token|key_pem", re.IGNORECASE)


@pytest.fixture(scope="module")
def inventory() -> dict:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)  # must load without any vault password
    proc = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(EXAMPLE / "hosts.yml"), "--list"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def _group_hosts(inv: dict, group: str) -> set:
    hosts = set(inv.get(group, {}).get("hosts", []))
    for child in inv.get(group, {}).get("children", []):
        hosts |= _group_hosts(inv, child)
    return hosts


def _hostvars(inv: dict) -> dict:
    return inv["_meta"]["hostvars"]


def test_every_host_is_an_atp_sensor(inventory):
    all_hosts = set(_hostvars(inventory))
    assert len(all_hosts) >= 4
    assert _group_hosts(inventory, "atp_sensors") == all_hosts


def test_there_is_a_kerberos_an_ntlm_and_a_psrp_host(inventory):
    kinds = set()
    for hv in _hostvars(inventory).values():
        if hv["ansible_connection"] == "psrp":
            kinds.add("psrp-" + hv["ansible_psrp_auth"])
        else:
            kinds.add("winrm-" + hv["ansible_winrm_transport"])
    assert {"winrm-kerberos", "winrm-ntlm", "psrp-kerberos"} <= kinds


def test_connection_variables_are_set_https_and_validating(inventory):
    for host, hv in _hostvars(inventory).items():
        assert hv["ansible_connection"] in ("winrm", "psrp"), host
        assert hv["ansible_user"], host
        assert VAULT_REF.match(hv["ansible_password"]), "%s: the password must come from vault" % host
        if hv["ansible_connection"] == "winrm":
            assert hv["ansible_port"] == 5986 and hv["ansible_winrm_scheme"] == "https", host
            assert hv["ansible_winrm_server_cert_validation"] == "validate", host
        else:
            assert hv["ansible_psrp_port"] == 5986 and hv["ansible_psrp_protocol"] == "https", host
            assert hv["ansible_psrp_cert_validation"] == "validate", host


def _plugin_vars(name: str) -> set:
    """Every variable name a connection plugin's DOCUMENTATION declares."""
    module = __import__("ansible.plugins.connection.%s" % name, fromlist=["DOCUMENTATION"])
    doc = yaml.safe_load(module.DOCUMENTATION)
    return {v["name"] for opt in doc["options"].values() for v in opt.get("vars", [])}


def test_connection_variable_names_exist(inventory):
    """A misspelt ansible_winrm_*/ansible_psrp_* variable is silently ignored by Ansible: catch it here."""
    from winrm.protocol import Protocol

    winrm_known = _plugin_vars("winrm") | {"ansible_winrm_%s" % a for a in inspect.signature(Protocol).parameters}
    psrp_known = _plugin_vars("psrp")
    for host, hv in _hostvars(inventory).items():
        for var in hv:
            if var.startswith("ansible_winrm_"):
                assert var in winrm_known, "%s: unknown variable %s" % (host, var)
            if var.startswith("ansible_psrp_"):
                assert var in psrp_known, "%s: unknown variable %s" % (host, var)


def _winrm_kwargs(host: str, hv: dict) -> dict:
    """What ansible's winrm plugin passes to winrm.Protocol (ansible_winrm_* vars minus its own options)."""
    own = {"scheme", "transport", "kinit_mode", "kinit_cmd", "kinit_args", "kerberos_delegation",
           "connection_timeout", "path", "host", "port", "user", "pass", "password", "kinit_env_vars"}
    kwargs = {k[len("ansible_winrm_"):]: v for k, v in hv.items() if k.startswith("ansible_winrm_")}
    kwargs = {k: v for k, v in kwargs.items() if k not in own}
    kwargs.update(
        endpoint="%s://%s:%s/wsman" % (hv["ansible_winrm_scheme"], host, hv["ansible_port"]),
        transport=hv["ansible_winrm_transport"],
        username=hv["ansible_user"],
        password="not-used-offline",
    )
    return kwargs


def test_pywinrm_protocol_and_session_build_offline(inventory):
    import winrm
    from winrm.exceptions import WinRMError
    from winrm.protocol import Protocol

    winrm_hosts = {h: hv for h, hv in _hostvars(inventory).items() if hv["ansible_connection"] == "winrm"}
    assert winrm_hosts
    for host, hv in winrm_hosts.items():
        protocol = Protocol(**_winrm_kwargs(host, hv))
        assert protocol.transport.endpoint.startswith("https://%s:5986/" % host)
        assert protocol.transport.server_cert_validation == "validate"
        try:
            session = protocol.transport.build_session()
        except WinRMError as exc:
            # Kerberos needs pykerberos (pip install pywinrm[kerberos], which needs libkrb5-dev);
            # the message proves the transport name itself was understood.
            assert "pykerberos is not installed" in str(exc), "%s: %s" % (host, exc)
        else:
            assert session.verify is not False, host
        # The high-level Session accepts the same names.
        winrm.Session("https://%s:5986/wsman" % host, auth=(hv["ansible_user"], "x"),
                      transport=hv["ansible_winrm_transport"], server_cert_validation="validate")


def test_pywinrm_rejects_a_misspelt_transport():
    """The check above would catch a typo: pywinrm refuses an unknown transport when building the session."""
    from winrm.exceptions import WinRMError
    from winrm.protocol import Protocol

    with pytest.raises(WinRMError, match="unsupported auth method"):
        Protocol("https://dc01:5986/wsman", transport="kerberose", username="u", password="p").transport.build_session()


def test_pypsrp_client_builds_offline(inventory):
    from pypsrp.client import Client
    from pypsrp.wsman import WSMan

    psrp_hosts = {h: hv for h, hv in _hostvars(inventory).items() if hv["ansible_connection"] == "psrp"}
    assert psrp_hosts
    for host, hv in psrp_hosts.items():
        common = dict(
            port=hv["ansible_psrp_port"], ssl=hv["ansible_psrp_protocol"] == "https", auth=hv["ansible_psrp_auth"],
            username=hv["ansible_user"], password="not-used-offline",
            cert_validation=hv["ansible_psrp_cert_validation"] == "validate",
            encryption=hv.get("ansible_psrp_message_encryption", "auto"),
            operation_timeout=hv.get("ansible_psrp_operation_timeout", 20),
        )
        client = Client(host, **common)
        assert client.wsman.transport.endpoint == "https://%s:5986/wsman" % host
        assert client.wsman.transport.cert_validation is True
        WSMan(host, **common)
    with pytest.raises(ValueError, match="not supported"):
        WSMan("dc01", auth="kerb")


def _walk(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, path + (str(key),))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, path + (str(index),))
    else:
        yield path, node


def test_no_password_in_clear_text_anywhere():
    files = [p for p in EXAMPLE.rglob("*") if p.is_file()]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not text.startswith("$ANSIBLE_VAULT"), "%s: commit no real (even encrypted) vault in the example" % path
        for keys, value in _walk(yaml.safe_load(text) or {}):
            if not keys or not SECRET_KEY.search(keys[-1]) or value in (None, ""):
                continue
            value = str(value)
            if path.name.endswith(".example"):
                assert PLACEHOLDER.search(value), "%s: %s must be an obvious placeholder" % (path, "/".join(keys))
            else:
                assert VAULT_REF.match(value), "%s: %s is not a vault reference" % (path, "/".join(keys))
        # Also catch INI-style or inline secrets the YAML walk would not see as keys.
        for line in text.splitlines():
            match = re.search(r"(password|pass)\s*[=:]\s*(\S+)", line, re.IGNORECASE)
            if match and not line.lstrip().startswith("#"):
                assert VAULT_REF.match(match.group(2).strip("'\"")) or PLACEHOLDER.search(line) \
                    or match.group(2).startswith('"{{'), "%s: %s" % (path, line)


def test_vault_example_defines_what_the_inventory_references(inventory):
    example = yaml.safe_load((EXAMPLE / "vault.yml.example").read_text(encoding="utf-8"))
    referenced = {VAULT_REF.match(hv["ansible_password"]).group(0).strip("{} ") for hv in _hostvars(inventory).values()}
    assert referenced <= set(example)

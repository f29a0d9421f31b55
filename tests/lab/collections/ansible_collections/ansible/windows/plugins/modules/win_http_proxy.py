# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_http_proxy (TEST ONLY).

Stores the WinHTTP settings as the ``WinHttpSettings`` REG_BINARY value under
``HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections`` (version 0x28
layout, read by the project's ``decode_winhttp``). Mirrors plugins/modules/win_http_proxy.ps1:
dict ``proxy`` validation and ordering (lines 31-58), ``bypass`` needs ``proxy`` (lines 60-65),
diff ``before``/``after`` with ``proxy``/``bypass`` (null when unset, lines 217-266), change
detection and check mode (lines 237-260). ``source: ie`` copies the connection user's WinINet proxy.
RETURN is empty (only ``changed``).
"""

DOCUMENTATION = r"""
---
module: win_http_proxy
short_description: Lab stand-in for ansible.windows.win_http_proxy (test only)
description: See tests/lab/README.md of atp.sensor_proxy.
author: atp.sensor_proxy contributors
"""

import struct

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ansible.windows.plugins.module_utils._lab import context

VALID_KEYS = ["http", "https", "ftp", "socks"]


def encode_winhttp(proxy, bypass, counter):
    """Version 0x28, counter, flags (1 direct, 3 named proxy), proxy and bypass strings."""
    proxy_b = (proxy or "").encode("latin-1")
    bypass_b = (bypass or "").encode("latin-1")
    flags = 3 if proxy else 1
    return (struct.pack("<III", 0x28, counter, flags) + struct.pack("<I", len(proxy_b)) + proxy_b
            + struct.pack("<I", len(bypass_b)) + bypass_b)


def main():
    module = AnsibleModule(
        argument_spec=dict(bypass=dict(type="list", elements="str"), proxy=dict(type="raw"),
                           source=dict(type="str", choices=["ie"])),
        mutually_exclusive=[["proxy", "source"]],
        supports_check_mode=True,
    )
    p = module.params
    proxy, bypass = p["proxy"], p["bypass"]
    if isinstance(proxy, dict):
        invalid = sorted(k for k in proxy if k not in VALID_KEYS)
        if invalid:
            module.fail_json(msg="Invalid keys found in proxy: %s. Valid keys are %s."
                                 % (", ".join(invalid), ", ".join(VALID_KEYS)))
        proxy = ";".join("%s=%s" % (k, proxy[k]) for k in VALID_KEYS if k in proxy)
    elif proxy is not None:
        proxy = str(proxy)
    if bypass:
        if not proxy:
            module.fail_json(msg="missing parameter(s) required by ''bypass'': proxy")
        bypass = ";".join(bypass)
    st, host, account = context(module)
    codec = st.codec()
    if p["source"] == "ie":
        value = host.get_value(host.connections_path(account["sid"]), "DefaultConnectionSettings")
        settings = codec.decode(bytes.fromhex(value["data"])) if value else None
        proxy = settings.proxy_server if settings and settings.flags["proxy"] else None
        bypass = settings.bypass_string if settings and settings.flags["proxy"] else None
    proxy = proxy or None
    bypass = bypass or None
    result = {"changed": False}
    with host.transaction() as state:
        reg = st.Registry(state, account["sid"])
        current = reg.get_value(st.WINHTTP_PATH, st.WINHTTP_VALUE)
        before = {"proxy": None, "bypass": None}
        counter = 0
        if current is not None:
            decoded = codec.decode_winhttp(bytes.fromhex(current["data"]))
            counter = decoded["counter"]
            if decoded["flags"] & 2:
                before = {"proxy": decoded["proxy_server"] or None, "bypass": decoded["bypass_string"] or None}
        if before["proxy"] != proxy or before["bypass"] != bypass:
            if not module.check_mode:
                reg.set_value(st.WINHTTP_PATH, st.WINHTTP_VALUE, "REG_BINARY",
                              encode_winhttp(proxy, bypass, counter + 1).hex())
            result["changed"] = True
    if module._diff:
        result["diff"] = {"before": before, "after": {"proxy": proxy, "bypass": bypass}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

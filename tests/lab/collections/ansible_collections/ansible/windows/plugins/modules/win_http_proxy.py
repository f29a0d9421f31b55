# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (Ansible plugin layout: DOCUMENTATION comes before the imports)
"""Lab stand-in for ansible.windows.win_http_proxy (TEST ONLY).

Stores the WinHTTP settings as the ``WinHttpSettings`` REG_BINARY value under
``HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections`` (version 0x28
layout, read by the project's ``decode_winhttp``). Mirrors plugins/modules/win_http_proxy.ps1 of
ansible.windows 3.3.0 line by line:

* the spec (lines 9-23): ``bypass`` list of str, ``proxy`` raw, ``source`` choice ``ie``;
  ``mutually_exclusive`` proxy/source **and** bypass/source; ``required_by`` bypass -> proxy. Ansible.Basic
  checks them on the keys given (``param.Contains``), with its own wording
  (ansible-core ``Ansible.Basic.cs`` CheckMutuallyExclusive / CheckRequiredBy:
  ``parameters are mutually exclusive: a, b`` and ``missing parameter(s) required by 'bypass': proxy``);
* a dict ``proxy``: invalid keys fail (lines 32-45), the string is built in the order http, https, ftp, socks
  (lines 47-54); anything else is ``ToString()`` (line 57);
* a non-empty ``bypass`` without a proxy fails ``missing parameter(s) required by ''bypass'': proxy``
  (lines 60-63, the doubled quotes are literal in the PowerShell string); the list is joined with ``;`` (line 64);
* diff ``before`` is the current proxy/bypass (null when unset, lines 217-220), ``after`` what was asked for
  (lines 262-265); Ansible.Basic returns ``diff`` only in diff mode;
* ``source: ie`` (lines 222-227) takes the proxy and bypass of ``WinHttpGetIEProxyConfigForCurrentUser``,
  i.e. the WinINet ``DefaultConnectionSettings`` of **the account the module runs as** (the connection user's
  HKCU, or the become user's hive): its proxy server only when the "use a proxy server" flag is on
  (WINHTTP_CURRENT_USER_IE_PROXY_CONFIG, learn.microsoft.com), its bypass list with it; never the PAC URL or
  auto-detect. An account with no value makes the function fail (its documentation: "If the Internet Explorer
  settings are not configured for these system accounts, the call ... will fail", ERROR_FILE_NOT_FOUND), and the
  C# ``Win32Exception`` (lines 130-142) escapes the script: ansible-core's ``module_wrapper.ps1`` (line 86) reports
  ``Unhandled exception while executing module: Exception calling "GetIEProxyConfig" with "0" argument(s): ...``;
* empty strings become null (lines 232-238) and the comparison is PowerShell's case-insensitive ``-ne``
  (line 240); check mode reports ``changed`` and writes nothing (lines 244-259);
* the write (``WinHttpSetDefaultProxyConfiguration``, lines 162-180) needs an administrator: without one (the
  lab's ``not_admin`` fault, or LocalService / NetworkService) it throws ``Access is denied``, reported like the
  failure above with ``"Set"``.

RETURN is empty (``#``): only ``changed`` (and ``diff``). Approximate: the auto-detect/PAC part of WinHTTP is not
modelled, nor the read-back-and-revert of lines 247-256 (the lab's WinHTTP never refuses a value), nor the
``ProxySettingsPerUser`` machine-wide WinINet policy for ``source: ie``; a malformed WinINet value counts as none.
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
UNHANDLED = 'Unhandled exception while executing module: Exception calling "%s" with "0" argument(s): "%s"'
IE_FAILED = "WinHttpGetIEProxyConfigForCurrentUser() failed (The system cannot find the file specified, " \
            "Win32ErrorCode 2)"
SET_FAILED = "WinHttpSetDefaultProxyConfiguration() failed (Access is denied, Win32ErrorCode 5)"


def encode_winhttp(proxy, bypass, counter):
    """Version 0x28, counter, flags (1 no proxy, 3 named proxy), proxy and bypass strings (lines 162-180)."""
    proxy_b = (proxy or "").encode("latin-1")
    bypass_b = ((bypass or "") if proxy else "").encode("latin-1")
    flags = 3 if proxy else 1
    return (struct.pack("<III", 0x28, counter, flags) + struct.pack("<I", len(proxy_b)) + proxy_b
            + struct.pack("<I", len(bypass_b)) + bypass_b)


def same(a, b):
    """PowerShell's ``-eq`` on two strings (or $null): case-insensitive (line 240 uses ``-ne``)."""
    if a is None or b is None:
        return a is None and b is None
    return a.lower() == b.lower()


def main():
    module = AnsibleModule(
        argument_spec=dict(bypass=dict(type="list", elements="str"), proxy=dict(type="raw"),
                           source=dict(type="str", choices=["ie"])),
        supports_check_mode=True,
    )
    given = {k for k in ("bypass", "proxy", "source") if module.params.get(k) is not None}
    for check in (["proxy", "source"], ["bypass", "source"]):  # lines 15-18
        if len(given.intersection(check)) > 1:
            module.fail_json(msg="parameters are mutually exclusive: %s" % ", ".join(check))
    if "bypass" in given and "proxy" not in given:  # lines 19-21
        module.fail_json(msg="missing parameter(s) required by 'bypass': proxy")

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
        try:
            settings = codec.decode(bytes.fromhex(value["data"])) if value else None
        except ValueError:
            settings = None
        if settings is None:
            module.fail_json(msg=UNHANDLED % ("GetIEProxyConfig", IE_FAILED))
        proxy = settings.proxy_server if settings.flags["proxy"] else None
        bypass = settings.bypass_string if settings.flags["proxy"] else None
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
        if not same(before["proxy"], proxy) or not same(before["bypass"], bypass):
            if not module.check_mode:
                admin = not state["faults"].get("not_admin") and account["sid"] not in (st.SID_LOCAL_SERVICE,
                                                                                        st.SID_NETWORK_SERVICE)
                if not admin:
                    module.fail_json(msg=UNHANDLED % ("Set", SET_FAILED))
                reg.set_value(st.WINHTTP_PATH, st.WINHTTP_VALUE, "REG_BINARY",
                              encode_winhttp(proxy, bypass, counter + 1).hex())
            result["changed"] = True
    if module._diff:
        result["diff"] = {"before": before, "after": {"proxy": proxy, "bypass": bypass}}
    module.exit_json(**result)


if __name__ == "__main__":
    main()

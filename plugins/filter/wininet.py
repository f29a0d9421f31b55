# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for WinINet / WinHTTP proxy settings blobs. Documentation: the ``.yml`` files beside this one."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _accounts as accounts
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._host import _regfile as regfile
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _compare as compare


def _fail(name: str, exc: Exception):
    raise AnsibleFilterError("%s: %s" % (name, exc))


def wininet_decode(value):
    """Decode a DefaultConnectionSettings / SavedLegacySettings value."""
    try:
        return wininet.decode(value).to_dict()
    except wininet.WinInetCodecError as exc:
        _fail("wininet_decode", exc)


def winhttp_decode(value):
    """Decode a WinHttpSettings value (netsh winhttp)."""
    try:
        return wininet.decode_winhttp(value)
    except wininet.WinInetCodecError as exc:
        _fail("winhttp_decode", exc)


def wininet_encode(settings, previous=None):
    """Encode a settings dict; ``previous`` (any input form) continues its counter."""
    try:
        return wininet.encode(settings, previous).hex()
    except (wininet.WinInetCodecError, wininet.WinInetSettingsError) as exc:
        _fail("wininet_encode", exc)


def wininet_compare(source, target):
    """Compare two values: ``{state: identical|equivalent|different, differences: [...]}``."""
    try:
        return wininet.compare(source, target)
    except wininet.WinInetCodecError as exc:
        _fail("wininet_compare", exc)


def wininet_settings_problems(settings, name="settings"):
    """List what is wrong with a settings spec, each message prefixed with ``name`` (empty when valid)."""
    try:
        wininet.settings_from_spec(compare.clean_settings(settings) or {})
    except wininet.WinInetSettingsError as exc:
        return ["%s.%s" % (name, exc)]
    return []


def wininet_proxy_problems(text, name="proxy_server"):
    """List what is wrong with a proxy string such as ``proxy.corp:8080`` (empty when valid)."""
    try:
        wininet.validate_proxy_server(text, name)
    except wininet.WinInetSettingsError as exc:
        return [str(exc)]
    return []


def wininet_value_problems(value, name="value"):
    """List why ``value`` is not a decodable WinINet settings blob (empty when it is)."""
    try:
        wininet.decode(value)
    except wininet.WinInetCodecError as exc:
        return ["%s: not a valid WinINet settings value: %s" % (name, exc)]
    return []


def wininet_sid_problems(sids, name="targets"):
    """List the entries of ``sids`` that are neither SIDs nor well-known account names."""
    return accounts.problems(list(sids) if isinstance(sids, (list, tuple)) else [sids], name)


def _hexed(data):
    if isinstance(data, bytes):
        return data.hex()
    if isinstance(data, dict):
        return {"type": data["type"], "hex": data["data"].hex()}
    return data


def wininet_reg_parse(data):
    """Parse a .reg file (text, or bytes in any encoding reg export writes) into ``{key: {value_name: hex | None}}``."""
    try:
        parsed = regfile.parse(data)
    except regfile.RegFileError as exc:
        _fail("wininet_reg_parse", exc)
    return {
        key: ({name: _hexed(value) for name, value in values.items()} if values is not None else None)
        for key, values in parsed.items()
    }


class FilterModule:
    def filters(self):
        return {
            "wininet_decode": wininet_decode,
            "wininet_encode": wininet_encode,
            "winhttp_decode": winhttp_decode,
            "wininet_compare": wininet_compare,
            "wininet_settings_problems": wininet_settings_problems,
            "wininet_sid_problems": wininet_sid_problems,
            "wininet_proxy_problems": wininet_proxy_problems,
            "wininet_value_problems": wininet_value_problems,
            "wininet_reg_parse": wininet_reg_parse,
        }

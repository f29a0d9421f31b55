# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The machine-wide WinHTTP proxy (``WinHttpSettings`` under ``HKLM\\...\\Internet Settings\\Connections``), as
``ansible.windows.win_http_proxy`` sets and compares it: a proxy and a bypass string.

Pure Python, no Ansible imports. The blob is read by :func:`_codec.decode_winhttp` (version 0x28, the WinINet
header with two strings and no PAC URL; it stays in ``_codec``, which the lab loads by path to stand in for
Windows). Here: :class:`WinHttp` (what win_http_proxy keeps), :func:`winhttp_of` (the blob -> what win_http_proxy
sees) and :func:`winhttp_bytes` (what WinHttpSetDefaultProxyConfiguration stores, for the backup listing).

Source: ansible.windows 3.3.0 ``plugins/modules/win_http_proxy.ps1``: the bypass list is joined with ``;``
(line 64); it writes a named proxy or WinHTTP's NO_PROXY access type (lines 166-175); the current and wanted
values are compared with PowerShell's case-insensitive ``-ne`` after mapping empty to ``$null`` (lines 229-240).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as wininet


@dataclass(frozen=True)
class WinHttp:
    """What win_http_proxy sets: proxy and bypass strings (None = not set), as win_http_proxy.ps1 keeps them."""

    proxy: str | None
    bypass: str | None

    def same_as(self, other: WinHttp) -> bool:
        """win_http_proxy.ps1 line 240: ``$previous_proxy -ne $proxy -or $previous_bypass -ne $bypass``
        (PowerShell's -ne ignores case; empty strings were made $null on lines 232-238)."""
        return ((self.proxy or "").lower() == (other.proxy or "").lower()
                and (self.bypass or "").lower() == (other.bypass or "").lower())

    def text(self) -> str:
        if not self.proxy:
            return "direct (no proxy)"
        return self.proxy + (", bypass %s" % self.bypass if self.bypass else "")


def winhttp_of(data) -> WinHttp | None:
    """The proxy and bypass win_http_proxy sees in a ``WinHttpSettings`` value (None when it is malformed).

    An absent value, or flags without the named-proxy bit (0x2), is no proxy: WinHTTP's NO_PROXY access
    type (win_http_proxy.ps1 lines 166-175 write one or the other).
    """
    if data is None:
        return WinHttp(None, None)
    try:
        decoded = wininet.decode_winhttp(bytes(data))
    except (wininet.WinInetCodecError, TypeError, ValueError):
        return None
    if not decoded["flags"] & wininet.FLAG_PROXY or not decoded["proxy_server"]:
        return WinHttp(None, None)
    return WinHttp(decoded["proxy_server"], decoded["bypass_string"] or None)


def winhttp_bytes(value: WinHttp, previous=None) -> bytes:
    """The ``WinHttpSettings`` value WinHttpSetDefaultProxyConfiguration stores for ``value`` (version 0x28,
    counter, flags 3 named proxy / 1 no proxy, then the two length-prefixed strings): the expected bytes,
    for the backup listing only (the read back compares the decoded proxy and bypass, not bytes)."""
    counter = 1
    if previous:
        try:
            counter = (wininet.decode_winhttp(bytes(previous))["counter"] + 1) & wininet.MAX_COUNTER
        except (wininet.WinInetCodecError, TypeError, ValueError):
            counter = 1
    proxy = (value.proxy or "").encode("latin-1", "replace")
    bypass = (value.bypass or "").encode("latin-1", "replace") if value.proxy else b""
    flags = 3 if value.proxy else 1
    return (struct.pack("<III", wininet.VERSION_WINHTTP, counter, flags) + struct.pack("<I", len(proxy)) + proxy
            + struct.pack("<I", len(bypass)) + bypass)

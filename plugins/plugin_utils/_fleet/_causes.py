# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The causes of a fleet report: each distinct reason (a probe outcome with its hint, an error, a failing rule, an
unloaded hive, a readiness fix) explained once, with the hosts, endpoints and accounts it affects; the report's
cells refer to a cause by its number.

Pure Python, no Ansible imports. Used by :mod:`_fleet._view`, which finds the causes while it builds each host's
record.
"""

from __future__ import annotations

from collections import OrderedDict


class Cause:
    """One distinct reason (a probe outcome with its hint, an error, ...) and the hosts it affects."""

    def __init__(self, kind: str, title: str, text: str, css: str):
        self.kind, self.title, self.text, self.css = kind, title, text, css
        self.hosts: list = []
        self.endpoints: list = []
        self.accounts: list = []
        self.number = 0

    def touch(self, host: str, endpoint: str = "", account: str = "") -> Cause:
        for bucket, value in ((self.hosts, host), (self.endpoints, endpoint), (self.accounts, account)):
            if value and value not in bucket:
                bucket.append(value)
        return self


class CauseGroup:
    """Causes shown as one entry: the same outcome on the same hosts (a proxy that blocks four CRL hosts for one
    site is one problem), each with its own hint. Every member refers to the group's number."""

    def __init__(self, members: list, number: int):
        head = members[0]
        self.kind, self.title, self.css, self.number = head.kind, head.title, head.css, number
        self.hosts = list(head.hosts)
        self.endpoints = list(OrderedDict.fromkeys(e for m in members for e in m.endpoints))
        self.accounts = list(OrderedDict.fromkeys(a for m in members for a in m.accounts))
        # (endpoints, text): one line per distinct hint; the endpoints only when there are several lines.
        texts: OrderedDict = OrderedDict()
        for member in members:
            texts.setdefault(member.text, []).extend(member.endpoints)
        self.lines = [(eps if len(texts) > 1 else [], text) for text, eps in texts.items() if text]
        for member in members:
            member.number = number


class Causes:
    def __init__(self):
        self._by_key: OrderedDict = OrderedDict()

    def add(self, key: tuple, title: str, text: str, css: str, host: str, endpoint: str = "",
            account: str = "") -> Cause:
        cause = self._by_key.get(key)
        if cause is None:
            cause = self._by_key[key] = Cause(key[0], title, text, css)
        return cause.touch(host, endpoint, account)

    def numbered(self) -> list:
        """The causes as groups (one per probe outcome and set of hosts), most hosts first, numbered 1..n."""
        groups: OrderedDict = OrderedDict()
        for index, cause in enumerate(self._by_key.values()):
            key = (cause.title, cause.css, frozenset(cause.hosts)) if cause.kind == "probe" else index
            groups.setdefault(key, []).append(cause)
        ordered = sorted(groups.values(), key=lambda members: -len(members[0].hosts))
        return [CauseGroup(members, number) for number, members in enumerate(ordered, 1)]

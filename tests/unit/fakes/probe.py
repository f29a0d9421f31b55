# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fake hosts for the endpoint probe on the target: recorded answers, one per URL (and mode).

* :class:`UriHost`: ``ansible.windows.win_uri``, one call per URL (win_uri.ps1 lines 49-50, 104-123, 203; a failed
  request is ``failed`` with WebRequest.psm1's "Unhandled exception occurred when sending web request" message).
* :class:`ProbeScriptHost`: one ``ansible.windows.win_powershell`` run of the probe script
  (plugins/plugin_utils/_probe/_script.py); ``result`` is its ``$Ansible.Result`` with the facts given per
  (url, mode), or ``raw`` is returned as the whole answer (a failed ``become``, a terminating error).
"""

from __future__ import annotations

from .host import FakeHost


class UriHost(FakeHost):
    """Answers win_uri per URL (and per mode, when the answer is a dict of modes); records every module call.
    An answer that is an exception is raised (a dropped connection)."""

    def __init__(self, answers):
        super().__init__()
        self.answers = answers

    def win_uri(self, args):
        answer = self.answers[args["url"]]
        if isinstance(answer, dict) and "by_mode" in answer:
            mode = "named" if "proxy_url" in args else "direct" if args.get("use_proxy") is False else "default"
            answer = answer["by_mode"][mode]
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)


class ProbeScriptHost(FakeHost):
    """Answers the probe script's run with the facts given (per url and mode); records every module call."""

    def __init__(self, answers, raw=None):
        super().__init__()
        self.answers = answers
        self.raw = raw

    def win_powershell(self, args):
        if self.raw is not None:
            return dict(self.raw)
        found = [self.answers[(item["url"], item["mode"])] for item in args["parameters"]["Probe"]]
        return {"changed": False, "result": {"facts": found, "unfinished": 0, "elapsed": 0.3,
                                             "user": {"name": "NT AUTHORITY\\LOCAL SERVICE", "sid": "S-1-5-19"}},
                "output": [], "error": [], "host_out": "", "host_err": ""}

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""proxy.py plugin of the lab: the proxy's own DNS (lab.json ``proxy_dns`` then ``dns``) and a request log.

Loaded into a real ``proxy.py`` process with ``--plugins tests.lab.proxy_plugin.LabProxyPlugin``.
Names that neither table knows get a 502 (a real proxy's "DNS lookup failed"); the lab never
falls back to real DNS. Hosts in lab.json ``proxy_deny`` get a plain ``403 Forbidden`` (CONNECT
included) with no marker header at all (no Proxy-Agent, Via or X-Squid-Error), as some corporate
proxies answer. Every request (method, host, port, whether it carried Proxy-Authorization, whether it
was denied) is appended as one JSON line to ``ATP_LAB_PROXY_LOG``.
"""

from __future__ import annotations

import json
import os

from proxy.http.exception import HttpRequestRejected
from proxy.http.proxy import HttpProxyBasePlugin

from tests.lab.state import read_json, resolve_name


def _config() -> dict:
    lab_dir = os.environ.get("ATP_LAB_DIR", "")
    return read_json(os.path.join(lab_dir, "lab.json"), default=dict) if lab_dir else {}


def _lookup(host: str, port: int, config=None):
    config = _config() if config is None else config
    return resolve_name(config, host, port, "proxy_dns") or resolve_name(config, host, port, "dns")


class LabProxyPlugin(HttpProxyBasePlugin):
    def before_upstream_connection(self, request):
        host = (request.host or b"").decode("latin-1")
        port = int(request.port or (443 if request.is_https_tunnel else 80))
        method = (request.method or b"").decode("latin-1")
        config = _config()
        denied = host.lower() in (config.get("proxy_deny") or {})
        target = None if denied else _lookup(host, port, config)
        log = os.environ.get("ATP_LAB_PROXY_LOG")
        if log:
            with open(log, "a") as handle:
                handle.write(json.dumps({"method": method, "host": host, "port": port,
                                         "resolved": list(target) if target else None,
                                         "proxy_authorization": request.has_header(b"proxy-authorization"),
                                         "denied": denied}) + "\n")
        if denied:
            raise HttpRequestRejected(status_code=403, reason=b"Forbidden", body=b"")
        if target is None:
            raise HttpRequestRejected(status_code=502, reason=b"Bad Gateway",
                                      body=b"lab proxy: DNS lookup failed for " + host.encode())
        self._lab_target = target
        request.port = target[1]
        return request

    def resolve_dns(self, host, port):
        target = getattr(self, "_lab_target", None) or _lookup(host, port)
        return (target[0] if target else None), None

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""proxy.py plugin loaded by the test proxies (``--plugins atp_probe_proxy_plugins.MapAndDenyPlugin``).

* ``ATP_TEST_DNS_MAP`` (JSON ``{"name": "127.0.0.1"}``): the proxy's own resolver for the fake
  Microsoft names (the real ones must not be resolved here);
* ``ATP_TEST_DENY`` (comma-separated host names): an ACL; the proxy refuses those hosts with its own
  403 page, CONNECT included, like a corporate proxy's category block.
"""

import json
import os

from proxy.http.exception import HttpRequestRejected
from proxy.http.proxy import HttpProxyBasePlugin


def _text(value) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray, memoryview)) else str(value)


class MapAndDenyPlugin(HttpProxyBasePlugin):
    def resolve_dns(self, host, port):
        mapping = json.loads(os.environ.get("ATP_TEST_DNS_MAP", "{}"))
        return mapping.get(_text(host).lower()), None

    def before_upstream_connection(self, request):
        deny = {h.strip().lower() for h in os.environ.get("ATP_TEST_DENY", "").split(",") if h.strip()}
        if request.host and _text(request.host).lower() in deny:
            raise HttpRequestRejected(
                status_code=403,
                reason=b"Forbidden",
                headers={b"Proxy-Agent": b"atp-test-acl", b"Content-Type": b"text/plain"},
                body=b"Access denied by the proxy's policy\n",
            )
        return request

    def handle_client_request(self, request):
        return request

    def handle_upstream_chunk(self, chunk):
        return chunk

    def on_upstream_connection_close(self):
        pass

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Catalogue of the cloud endpoints a Defender for Identity sensor (and Defender for Endpoint) needs.

Pure Python, no Ansible imports. :func:`build_catalogue` turns the probe's options
(``workspace``, ``regions``, ``products``, ``mde_urls``, ``urls``, ``include_crl``) into an
ordered, de-duplicated list of :class:`Endpoint`.

Every endpoint carries a ``rule`` saying which HTTP answers prove that *the service itself*
answered (see :data:`RULES` and ``docs/troubleshooting.md``):

``sensor_ping``
    ``https://<workspace>sensorapi.atp.azure.com/tri/sensor/api/ping``: only **200** counts.
    The ping route is anonymous and answers 200 ("OK") when the request reached the sensor
    API; Microsoft documents it as the connectivity test for the workspace form.
``sensor_root``
    ``https://<legacy regional host>/``: only **503** counts. The root of the sensor API has
    no content and the service answers "503 Service Unavailable"; this is the historical
    check ("browse to the URL, you should get error 503"). Any other code, 200 included, came
    from something else (a proxy block page, a captive portal).
``crl``
    ``http://crl.microsoft.com/...`` and ``http://ctldl.windowsupdate.com/...`` (plain HTTP, as
    Windows fetches them): any **2xx, 3xx or 404** from the origin counts. The exact file may
    move (404) or be redirected to a CDN (3xx), but the host answered. 403/407/5xx are what a
    proxy sends when it blocks or cannot forward.
``service``
    Defender for Endpoint URLs and any extra URL: **any HTTP answer from the service** counts,
    because those endpoints answer an anonymous GET with 200, 400, 401, 403 or 404 depending on
    the route. Only what the proxy generated itself (407, a CONNECT refused with 403/5xx, or a
    403/5xx carrying the proxy's own markers such as ``X-Squid-Error`` or ``Via``) does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

SENSOR_API_DOMAIN = "atp.azure.com"
SENSOR_PING_PATH = "/tri/sensor/api/ping"

# Legacy regional sensor API hosts (before workspace-specific names), by region.
LEGACY_REGIONS: dict[str, tuple[str, ...]] = {
    "us": (
        "triprd1wcusw1sensorapi.atp.azure.com",
        "triprd1wcuswb1sensorapi.atp.azure.com",
        "triprd1wcuse1sensorapi.atp.azure.com",
        "triprd1wcuse1sensorapi.eastus.cloudapp.azure.com",
    ),
    "eu": (
        "triprd1wceun1sensorapi.atp.azure.com",
        "triprd1wceuw1sensorapi.atp.azure.com",
    ),
    "asia": ("triprd1wcasse1sensorapi.atp.azure.com",),
}
REGION_ALIASES = {"europe": "eu", "apac": "asia"}

# Certificate revocation / trust list hosts the sensor (and Windows) fetch over plain HTTP.
CRL_URLS: tuple[tuple[str, str], ...] = (
    ("crl_microsoft", "http://crl.microsoft.com/pki/crl/products/MicRooCerAut2011_2011_03_22.crl"),
    ("crl_ctldl", "http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/authrootstl.cab"),
)

PRODUCTS = ("mdi", "mde")

RULES: dict[str, str] = {
    "sensor_ping": "200 from /tri/sensor/api/ping",
    "sensor_root": "503 from / (the historical check)",
    "crl": "any 2xx, 3xx or 404 from the origin",
    "service": "any HTTP answer from the service itself (not a proxy-generated 403/407/5xx)",
}

_WORKSPACE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class CatalogueError(ValueError):
    """Options that do not describe a probe-able set of endpoints."""


@dataclass(frozen=True)
class Endpoint:
    """One URL to probe. ``id`` is stable and documented; ``rule`` is a key of :data:`RULES`."""

    id: str
    url: str
    rule: str
    product: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def allow_pattern(self) -> str:
        """What an admin should allow / exclude on the proxy for this endpoint."""
        if self.host.endswith("." + SENSOR_API_DOMAIN):
            return "*." + SENSOR_API_DOMAIN
        return self.host


def workspace_url(workspace: str) -> str:
    """``https://<workspace>sensorapi.atp.azure.com/tri/sensor/api/ping``."""
    return "https://%ssensorapi.%s%s" % (workspace, SENSOR_API_DOMAIN, SENSOR_PING_PATH)


def _check_url(url: str, option: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise CatalogueError("%s: empty URL" % option)
    url = url.strip()
    if "*" in url:
        raise CatalogueError(
            "%s: '%s' is a wildcard; wildcards cannot be probed, list concrete URLs instead "
            "(e.g. https://<workspace-id>.ods.opinsights.azure.com/)" % (option, url)
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CatalogueError("%s: '%s' is not an http(s) URL" % (option, url))
    return url


def build_catalogue(
    workspace: str | None = None,
    regions=None,
    products=None,
    mde_urls=None,
    urls=None,
    include_crl: bool = True,
) -> list[Endpoint]:
    """Return the endpoints selected by the probe's options, in a stable order, without duplicates."""
    products = list(products if products is not None else ["mdi"])
    for product in products:
        if product not in PRODUCTS:
            raise CatalogueError("products: unknown product '%s' (choose from %s)" % (product, ", ".join(PRODUCTS)))
    regions = [REGION_ALIASES.get(str(r).lower(), str(r).lower()) for r in (regions or [])]
    for region in regions:
        if region not in LEGACY_REGIONS:
            raise CatalogueError(
                "regions: unknown region '%s' (choose from %s)" % (region, ", ".join(sorted(LEGACY_REGIONS)))
            )

    endpoints: list[Endpoint] = []
    if "mdi" in products:
        if workspace:
            ws = str(workspace).strip().lower()
            if ws.endswith("sensorapi.atp.azure.com") or not _WORKSPACE_RE.match(ws):
                raise CatalogueError(
                    "workspace: '%s' is not a workspace name (give 'contoso' for "
                    "https://contososensorapi.atp.azure.com)" % workspace
                )
            endpoints.append(Endpoint("mdi_workspace", workspace_url(ws), "sensor_ping", "mdi"))
        elif not regions:
            raise CatalogueError(
                "products includes 'mdi': set workspace (the Defender for Identity workspace name) "
                "or regions (%s), or leave 'mdi' out of products" % ", ".join(sorted(LEGACY_REGIONS))
            )
        for region in regions:
            for index, host in enumerate(LEGACY_REGIONS[region], start=1):
                endpoints.append(Endpoint("mdi_%s_%d" % (region, index), "https://%s/" % host, "sensor_root", "mdi"))
    if "mde" in products and not mde_urls:
        raise CatalogueError("products includes 'mde': list the Defender for Endpoint URLs to probe in mde_urls")
    for index, url in enumerate(mde_urls or [], start=1):
        endpoints.append(Endpoint("mde_%d" % index, _check_url(url, "mde_urls"), "service", "mde"))
    if include_crl:
        for ident, url in CRL_URLS:
            endpoints.append(Endpoint(ident, url, "crl", "mdi" if "mdi" in products else "mde"))
    for index, url in enumerate(urls or [], start=1):
        endpoints.append(Endpoint("url_%d" % index, _check_url(url, "urls"), "service", "extra"))

    seen: set[str] = set()
    unique = []
    for endpoint in endpoints:
        if endpoint.url not in seen:
            seen.add(endpoint.url)
            unique.append(endpoint)
    if not unique:
        raise CatalogueError("nothing to probe: set workspace, regions, mde_urls or urls")
    return unique

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Catalogue of the cloud endpoints a Defender for Identity sensor (and Defender for Endpoint) needs.

Pure Python, no Ansible imports. :func:`build_catalogue` turns the probe's options into an ordered,
de-duplicated list of :class:`Endpoint`; :func:`probe_problems` and :func:`has_endpoints` answer the
same questions for the ``atp_proxy`` role's variables, naming the role variable in each problem.

Every endpoint carries a ``rule`` saying which HTTP answers prove that *the service itself*
answered (:data:`RULES`, ``docs/troubleshooting.md``), each from Microsoft's own pages:

``sensor_ping``
    ``https://<workspace>sensorapi.<domain>/tri/sensor/api/ping``: **200**, or **503**.
    ATADocs ``ATPDocs/deploy/test-connectivity.md`` (2024): "You should get an *Ok* message displayed
    (HTTP status 200) ... For some older workspaces, the message returned could be *Error 503 The
    service is unavailable*. This is a temporary state that still indicates success."
``sensor_root``
    ``https://<regional host>/``: **503**. The check Microsoft documented for the regional hosts
    (ATADocs commit 7d114951, 2018, ``configure-proxy.md``: "you should get error 503") and for the
    workspace root until 2023 (``test-connectivity.md`` before the ``/tri/sensor/api/ping`` route).
``crl``
    ``http://`` certificate revocation lists, trust lists and CA certificates (plain HTTP, as
    Windows fetches them): any **2xx, 3xx or 404** from the origin. The file may move (404) or be
    redirected to a CDN (3xx), but the host answered.
``ocsp``
    ``http://`` OCSP responders: any HTTP answer from the responder itself (a bare GET is not an
    OCSP request, so 200, 400, 404 and 405 all prove the responder was reached).
``mde``
    Defender for Endpoint URLs of the catalogue: the status Microsoft's own connectivity tools
    expect from that URL (``expect``), 200 unless said otherwise. ``verify-connectivity.md``: "If
    any one of the connectivity options returns a (200) status, then the Defender for Endpoint
    client can communicate with the tested URL".
``v3_identity``
    ``<geoLocationUrl>cnc/identity/api``, the sensor v3's identity channel (``geoLocationUrl`` from Defender for
    Endpoint's onboarding info on the host): **500**. The DefenderForIdentity module's ``Test-MDISensorApiConnection``
    (the copy in ``FFFreak/defenderforidentity``, stored file 67283140011, "Connectivity helper functions") builds
    ``'{0}{1}' -f $sensorConfiguration.geoLocationUrl, 'cnc/identity/api'`` when SenseIdentity runs, sends it
    through the proxy ``Get-MDISensorConfiguration`` reads for v3 (Defender Antivirus' ``ProxyServer``), and counts
    only ``$_.Exception.Response.StatusCode -eq 'InternalServerError'`` as success (any other answer, 200 included,
    is ``$false``).
``service``
    URLs the user lists (``mde_urls``, ``urls``): any HTTP answer from the service itself; we do
    not know which route of it was chosen, so 200, 400, 401, 403 and 404 all prove it was reached.

A proxy-generated answer never counts (see ``_probe._outcomes.classify_http``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe._urls import (
    AZURE_PKI_URLS,
    CLOUDS,
    CRL_URLS,
    MDE_GEOS,
    MDE_SETS,
    MDE_STANDARD,
    MDE_STREAMLINED,
    MDE_STREAMLINED_DOMAIN,
    MDE_STREAMLINED_GOV_DOMAIN,
    PRODUCTS,
    REGION_ALIASES,
    REGIONS,
    SENSOR_DOMAINS,
    SENSOR_PING_PATH,
    V3_IDENTITY_PATH,
)

RULES: dict[str, str] = {
    "sensor_ping": "200 (or 503 from an older workspace) from /tri/sensor/api/ping",
    "sensor_root": "503 from / (the regional hosts' documented check)",
    "crl": "any 2xx, 3xx or 404 from the origin",
    "ocsp": "any HTTP answer from the responder itself",
    "mde": "the status Microsoft's connectivity test expects",
    "v3_identity": "500 from <geoLocationUrl>cnc/identity/api (Test-MDISensorApiConnection's success)",
    "service": "any HTTP answer from the service itself (not a proxy-generated 403/407/5xx)",
}

# Option name -> the atp_proxy role variable that feeds it (role validation names these).
ROLE_VARIABLES = {
    "workspace": "atp_proxy_workspace",
    "regions": "atp_proxy_regions",
    "cloud": "atp_proxy_cloud",
    "products": "atp_proxy_products",
    "mde_urls": "atp_proxy_mde_urls",
    "mde_sets": "atp_proxy_mde_sets",
    "mde_geo": "atp_proxy_mde_geo",
    "urls": "atp_proxy_probe_urls",
    "include_crl": "atp_proxy_probe_include_crl",
    "include_azure_pki": "atp_proxy_probe_include_azure_pki",
}
OPTION_NAMES = {name: name for name in ROLE_VARIABLES}

_WORKSPACE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class CatalogueError(ValueError):
    """Options that do not describe a probe-able set of endpoints. ``problems`` lists every one."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Endpoint:
    """One URL to probe. ``id`` is stable and documented; ``rule`` is a key of :data:`RULES`.

    ``expect``: for rule ``mde``, the statuses that prove the service answered (empty: any answer
    from the service itself).
    """

    id: str
    url: str
    rule: str
    product: str
    expect: tuple = field(default=())

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
        host = self.host
        for domain in sorted(set(SENSOR_DOMAINS.values()), key=len, reverse=True):
            if host.endswith("." + domain):
                return "*." + domain
        for domain in (MDE_STREAMLINED_DOMAIN, MDE_STREAMLINED_GOV_DOMAIN):
            if host.endswith("." + domain):
                return "*." + domain
        if host == "www.microsoft.com":
            path = urlsplit(self.url).path
            for prefix in ("/pkiops/", "/pki/"):
                if path.startswith(prefix):
                    return "www.microsoft.com%s*" % prefix
        return host


def workspace_url(workspace: str, cloud: str = "commercial") -> str:
    """``https://<workspace>sensorapi.<cloud's domain>/tri/sensor/api/ping``."""
    return "https://%ssensorapi.%s%s" % (workspace, SENSOR_DOMAINS[cloud], SENSOR_PING_PATH)


def _url_problem(url, option: str) -> str | None:
    if not isinstance(url, str) or not url.strip():
        return "%s: empty URL" % option
    url = url.strip()
    if "*" in url:
        return (
            "%s: '%s' is a wildcard; wildcards cannot be probed, list concrete URLs instead "
            "(e.g. https://<workspace-id>.ods.opinsights.azure.com/)" % (option, url)
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "%s: '%s' is not an http(s) URL" % (option, url)
    return None


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _select(workspace, regions, cloud, products, mde_urls, mde_sets, mde_geo, urls, include_crl,
            include_azure_pki, names) -> tuple[list, list]:
    """(endpoints, problems); ``names`` maps each option to the name to report (option or role variable)."""
    problems: list[str] = []
    endpoints: list[Endpoint] = []
    cloud = str(cloud or "commercial").strip().lower()
    if cloud not in CLOUDS:
        problems.append("%s: unknown cloud '%s' (choose from %s)" % (names["cloud"], cloud, ", ".join(CLOUDS)))
        cloud = "commercial"
    products = [str(p).strip().lower() for p in (_as_list(products) if products is not None else ["mdi"])]
    for product in products:
        if product not in PRODUCTS:
            problems.append("%s: unknown product '%s' (choose from %s)" % (names["products"], product, ", ".join(PRODUCTS)))
    table = REGIONS[cloud]
    wanted_regions = []
    for region in _as_list(regions):
        key = REGION_ALIASES.get(str(region).strip().lower(), str(region).strip().lower())
        if key not in table:
            problems.append("%s: unknown region '%s' for the %s cloud (choose from %s)"
                            % (names["regions"], region, cloud, ", ".join(sorted(table))))
        else:
            wanted_regions.append(key)

    if "mdi" in products:
        ws = str(workspace).strip().lower() if workspace else ""
        if ws:
            if not _WORKSPACE_RE.match(ws):
                problems.append(
                    "%s: '%s' is not a workspace name (give 'contoso' for https://contososensorapi.%s)"
                    % (names["workspace"], workspace, SENSOR_DOMAINS[cloud]))
            else:
                endpoints.append(Endpoint("mdi_workspace", workspace_url(ws, cloud), "sensor_ping", "mdi"))
        elif not wanted_regions and not _as_list(regions):
            problems.append(
                "%s includes 'mdi': set %s (the Defender for Identity workspace name) or %s (%s), or leave "
                "'mdi' out of %s" % (names["products"], names["workspace"], names["regions"],
                                     ", ".join(sorted(table)), names["products"]))
        for region in wanted_regions:
            for index, host in enumerate(table[region], start=1):
                endpoints.append(Endpoint("mdi_%s_%d" % (region, index), "https://%s/" % host, "sensor_root", "mdi"))
    elif workspace or _as_list(regions):
        problems.append("%s/%s: set, but 'mdi' is not in %s" % (names["workspace"], names["regions"], names["products"]))

    sets = [str(s).strip().lower() for s in _as_list(mde_sets)]
    geo = str(mde_geo).strip().lower() if mde_geo else ""
    for name in sets:
        if name not in MDE_SETS:
            problems.append("%s: unknown set '%s' (choose from %s)" % (names["mde_sets"], name, ", ".join(MDE_SETS)))
    if "mde" in products:
        if not _as_list(mde_urls) and not sets:
            problems.append("%s includes 'mde': list the Defender for Endpoint URLs in %s, or choose %s (%s)"
                            % (names["products"], names["mde_urls"], names["mde_sets"], ", ".join(MDE_SETS)))
        if sets and cloud != "commercial":
            problems.append(
                "%s: Microsoft publishes concrete Defender for Endpoint test URLs for the commercial cloud only "
                "(for %s only the wildcard *.%s); list the host names of your onboarding package in %s"
                % (names["mde_sets"], cloud, MDE_STREAMLINED_GOV_DOMAIN, names["mde_urls"]))
        elif sets and not geo:
            problems.append("%s: needs %s (%s)" % (names["mde_sets"], names["mde_geo"], ", ".join(MDE_GEOS)))
        elif sets and geo not in MDE_GEOS:
            problems.append("%s: unknown geography '%s' (choose from %s)" % (names["mde_geo"], mde_geo, ", ".join(MDE_GEOS)))
        elif sets:
            if "standard" in sets:
                if geo not in MDE_STANDARD:
                    problems.append("%s: the standard set has no published test URLs for '%s' (choose from %s)"
                                    % (names["mde_geo"], geo, ", ".join(g for g in MDE_STANDARD if g != "common")))
                else:
                    for index, (url, expect) in enumerate(MDE_STANDARD["common"] + MDE_STANDARD[geo], start=1):
                        endpoints.append(Endpoint("mde_std_%d" % index, url, "mde", "mde", tuple(expect)))
            if "streamlined" in sets:
                for index, (url, expect) in enumerate(MDE_STREAMLINED[geo], start=1):
                    rule = "mde" if expect else "service"
                    endpoints.append(Endpoint("mde_sl_%d" % index, url, rule, "mde", tuple(expect)))
    elif _as_list(mde_urls) or sets:
        problems.append("%s/%s: set, but 'mde' is not in %s" % (names["mde_urls"], names["mde_sets"], names["products"]))
    for index, url in enumerate(_as_list(mde_urls), start=1):
        problem = _url_problem(url, names["mde_urls"])
        if problem:
            problems.append(problem)
        elif "mde" in products:
            endpoints.append(Endpoint("mde_%d" % index, url.strip(), "service", "mde"))

    product = "mdi" if "mdi" in products else ("mde" if "mde" in products else "extra")
    if include_crl:
        for ident, url in CRL_URLS:
            endpoints.append(Endpoint(ident, url, "crl", product))
    if include_azure_pki:
        for ident, url, rule in AZURE_PKI_URLS:
            endpoints.append(Endpoint(ident, url, rule, product))
    for index, url in enumerate(_as_list(urls), start=1):
        problem = _url_problem(url, names["urls"])
        if problem:
            problems.append(problem)
        else:
            endpoints.append(Endpoint("url_%d" % index, url.strip(), "service", "extra"))

    seen: set[str] = set()
    unique = []
    for endpoint in endpoints:
        if endpoint.url not in seen:
            seen.add(endpoint.url)
            unique.append(endpoint)
    return unique, problems


def build_catalogue(
    workspace: str | None = None,
    regions=None,
    products=None,
    mde_urls=None,
    urls=None,
    include_crl: bool = True,
    *,
    cloud: str = "commercial",
    mde_sets=None,
    mde_geo: str | None = None,
    include_azure_pki: bool = False,
    v3_geo_url: str | None = None,
) -> list[Endpoint]:
    """The endpoints the probe's options select, in a stable order, without duplicates; ``v3_geo_url`` (the
    onboarding info's ``geoLocationUrl``) adds the sensor v3's identity channel first.

    Raises :class:`CatalogueError` listing every problem, each naming the module option.
    """
    endpoints, problems = _select(workspace, regions, cloud, products, mde_urls, mde_sets, mde_geo, urls,
                                  include_crl, include_azure_pki, OPTION_NAMES)
    if v3_geo_url:
        problem = _url_problem(v3_geo_url, "v3_geo_url")
        if problem:
            problems.append(problem)
        else:
            endpoints.insert(0, v3_identity(v3_geo_url))
    if not problems and not endpoints:
        problems.append("nothing to probe: set workspace, regions, mde_urls, mde_sets or urls")
    if problems:
        raise CatalogueError(problems)
    return endpoints


def v3_identity(geo_location_url: str) -> Endpoint:
    """The sensor v3's identity channel, ``<geoLocationUrl>cnc/identity/api`` (the module joins them without a
    separator: the onboarding info's URL ends with '/')."""
    base = geo_location_url.strip()
    return Endpoint("mdi_v3_identity", base + ("" if base.endswith("/") else "/") + V3_IDENTITY_PATH, "v3_identity",
                    "mdi")


def workspace_of(sensor_api: str | None, cloud: str = "commercial") -> str:
    """The workspace name in a sensor API host name of ``cloud`` (``contososensorapi.atp.azure.com`` -> ``contoso``),
    '' for anything else (a regional host, another cloud's domain)."""
    suffix = "sensorapi." + SENSOR_DOMAINS.get(str(cloud or "commercial").lower(), SENSOR_DOMAINS["commercial"])
    host = str(sensor_api or "").strip().lower()
    name = host[:-len(suffix)] if host.endswith(suffix) else ""
    return name if _WORKSPACE_RE.match(name) else ""


_SELECTION = ("workspace", "regions", "cloud", "products", "mde_urls", "mde_sets", "mde_geo", "urls", "include_crl",
              "include_azure_pki")
_SELECTION_DEFAULTS = {"cloud": "commercial", "include_crl": True, "include_azure_pki": False}


def _selected(options: dict, variables: dict, service_only: bool = False) -> tuple:
    """``_select`` on the options named in :data:`_SELECTION` (the role's probe variables, by option name)."""
    unknown = set(options) - set(_SELECTION)
    if unknown:
        raise TypeError("unknown probe selection options: %s" % ", ".join(sorted(unknown)))
    values = dict(_SELECTION_DEFAULTS, **options)
    if service_only:
        values.update(include_crl=False, include_azure_pki=False)
    return _select(*[values.get(option) for option in _SELECTION], variables)


def probe_problems(names: dict | None = None, **options) -> list[str]:
    """The problems of the role's probe variables (``workspace``, ``regions``, ``cloud``, ``products``,
    ``mde_urls``, ``mde_sets``, ``mde_geo``, ``urls``, ``include_crl``, ``include_azure_pki``), each naming its
    role variable; ``[]`` when fine.

    ``names`` overrides :data:`ROLE_VARIABLES` (option -> variable name). "Nothing to probe" is not a
    problem here: ask :func:`has_endpoints`.
    """
    return _selected(options, dict(ROLE_VARIABLES, **(names or {})))[1]


def has_endpoints(**options) -> bool:
    """True when the variables (as for :func:`probe_problems`) select a service endpoint to probe: the workspace, a
    region, a Defender for Endpoint URL or set, or an extra URL. The CRL/PKI hosts do not count: they are probed
    alongside a service, never as the only reason to probe. Problems (see :func:`probe_problems`) do not raise."""
    return bool(_selected(options, ROLE_VARIABLES, service_only=True)[0])

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft's published endpoints, as data: the sensor API domains per cloud, the regional hosts, the certificate
revocation and trust list hosts, the Azure CAs' own lists, and Defender for Endpoint's test URLs per geography.

Pure Python, no Ansible imports. Each table names the Microsoft page it comes from; :mod:`_probe._endpoints` turns
them into the probe's catalogue (which URLs an option selects, and which answer proves the service answered).
"""

from __future__ import annotations

SENSOR_PING_PATH = "/tri/sensor/api/ping"
V3_IDENTITY_PATH = "cnc/identity/api"  # Test-MDISensorApiConnection, sensor v3 (see the rule v3_identity)

# Which Microsoft cloud the tenant lives in. ATADocs ``ATPDocs/us-govt-gcc-high.md`` ("URLs"):
# GCC ``<workspace>sensorapi.gcc.atp.azure.com``; GCC High and DoD ``<workspace>sensorapi.atp.azure.us``.
CLOUDS = ("commercial", "gcc", "gcc_high", "dod")
SENSOR_DOMAINS = {
    "commercial": "atp.azure.com",
    "gcc": "gcc.atp.azure.com",
    "gcc_high": "atp.azure.us",
    "dod": "atp.azure.us",
}
# The proxy rule an admin writes for the sensor API (ATPDocs/deploy/configure-proxy.md; GCC: "Make sure
# sensors have access to *.gcc.atp.azure.com" in us-govt-gcc-high.md).
SENSOR_API_DOMAIN = SENSOR_DOMAINS["commercial"]

# Regional sensor API hosts, from the days before workspace names (probed at "/", expecting 503).
# Current names: ATADocs commits 420c2e8a and 31ec3323 (July 2020, configure-proxy.md "Service
# location" table), GCC High 2021 (c7854e87), GCC 2021 (453fe5f8). The "_2018" names are the original
# table (7d114951, April 2018); Microsoft replaced them in 2020 but some old workspaces may still use
# them, so they stay selectable. The table was dropped from the docs in November 2021 (04e376c9),
# in favour of the workspace name, which maps to the right location by itself.
REGIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "commercial": {
        "us": (
            "triprd1wcusw2sensorapi.atp.azure.com",
            "triprd1wcuswb3sensorapi.atp.azure.com",
            "triprd1wcuse3sensorapi.atp.azure.com",
        ),
        "eu": ("triprd1wceun2sensorapi.atp.azure.com", "triprd1wceuw3sensorapi.atp.azure.com"),
        "asia": ("triprd1wcasse2sensorapi.atp.azure.com",),
        "uk": ("triprd1wcuks2sensorapi.atp.azure.com",),
        "us_2018": (
            "triprd1wcusw1sensorapi.atp.azure.com",
            "triprd1wcuswb1sensorapi.atp.azure.com",
            "triprd1wcuse1sensorapi.atp.azure.com",
            "triprd1wcuse1sensorapi.eastus.cloudapp.azure.com",
        ),
        "eu_2018": ("triprd1wceun1sensorapi.atp.azure.com", "triprd1wceuw1sensorapi.atp.azure.com"),
        "asia_2018": ("triprd1wcasse1sensorapi.atp.azure.com",),
    },
    "gcc": {"gcc": ("trigcc1wcaz1sensorapi.gcc.atp.azure.com",)},
    "gcc_high": {
        "usgov": ("triff1wcva2sensorapi.atp.azure.us",),
        "usgov_2020": ("triff1wcva1sensorapi.atp.azure.us",),
    },
}
REGIONS["dod"] = REGIONS["gcc_high"]
REGION_ALIASES = {"europe": "eu", "apac": "asia", "europe_2018": "eu_2018", "apac_2018": "asia_2018"}

# Certificate revocation and trust list hosts the sensor (and Windows) fetch over plain HTTP.
# ATADocs ATPDocs/deploy/configure-proxy.md (commit bf39a41a, December 2023): "crl.microsoft.com,
# ctldl.windowsupdate.com, www.microsoft.com/pkiops/*, www.microsoft.com/pki/*"; the same four in
# defender-docs defender-endpoint/streamlined-device-connectivity-urls-gov.md ("URLs used for
# certificate validation checks", port 80). One concrete file under each:
CRL_URLS: tuple[tuple[str, str], ...] = (
    ("crl_microsoft", "http://crl.microsoft.com/pki/crl/products/MicRooCerAut2011_2011_03_22.crl"),
    ("crl_ctldl", "http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/authrootstl.cab"),
    ("crl_pkiops", "http://www.microsoft.com/pkiops/crl/Microsoft%20Azure%20RSA%20TLS%20Issuing%20CA%2003.crl"),
    ("crl_pki", "http://www.microsoft.com/pki/certs/MicRooCerAut2011_2011_03_22.crt"),
)
# The Azure certificate authorities' own lists (azure-docs articles/security/fundamentals/azure-CA-details.md,
# "Certificate downloads and revocation lists": AIA, CRL and OCSP hosts), for include_azure_pki.
AZURE_PKI_URLS: tuple[tuple[str, str, str], ...] = (
    ("pki_cacerts_digicert", "http://cacerts.digicert.com/DigiCertGlobalRootG2.crt", "crl"),
    ("pki_crl3_digicert", "http://crl3.digicert.com/DigiCertGlobalRootG2.crl", "crl"),
    ("pki_crl4_digicert", "http://crl4.digicert.com/DigiCertGlobalRootG2.crl", "crl"),
    ("pki_mscrl", "http://mscrl.microsoft.com/pki/mscorp/crl/Microsoft%20RSA%20TLS%20CA%2001.crl", "crl"),
    ("pki_ocsp_digicert", "http://ocsp.digicert.com/", "ocsp"),
    ("pki_oneocsp", "http://oneocsp.microsoft.com/ocsp", "ocsp"),
    ("pki_ocsp_msocsp", "http://ocsp.msocsp.com/", "ocsp"),
)

# Defender for Endpoint, commercial cloud, concrete URLs with the status a healthy route gets.
# Standard set: the URLs of "mdatp connectivity test" (defender-docs defender-endpoint/
# linux-support-connectivity.md, "Expected output", each "[OK]").
MDE_GEOS = ("us", "eu", "uk", "au")
MDE_STANDARD: dict[str, tuple[tuple[str, tuple[int, ...]], ...]] = {
    "common": (
        ("https://x.cp.wd.microsoft.com/api/report", (200,)),
        ("https://cdn.x.cp.wd.microsoft.com/ping", (200,)),
        ("https://v20.events.data.microsoft.com/ping", (200,)),
    ),
    "us": (
        ("https://winatp-gw-cus.microsoft.com/test", (200,)),
        ("https://winatp-gw-eus.microsoft.com/test", (200,)),
        ("https://wu-cdn.x.cp.wd.microsoft.com/ping", (200,)),
        ("https://us-v20.events.data.microsoft.com/ping", (200,)),
    ),
    "eu": (
        ("https://winatp-gw-weu.microsoft.com/test", (200,)),
        ("https://winatp-gw-neu.microsoft.com/test", (200,)),
        ("https://eu-cdn.x.cp.wd.microsoft.com/ping", (200,)),
        ("https://eu-v20.events.data.microsoft.com/ping", (200,)),
    ),
    "uk": (
        ("https://winatp-gw-ukw.microsoft.com/test", (200,)),
        ("https://winatp-gw-uks.microsoft.com/test", (200,)),
        ("https://uk-v20.events.data.microsoft.com/ping", (200,)),
    ),
}
# Streamlined set: one domain, *.endpoint.security.microsoft.com (defender-docs defender-endpoint/
# configure-device-connectivity.md). Concrete routes: migrate-devices-streamlined.md ("Expect two results
# for /storage, and one result each for /mdav, /xplat, and /packages. For example:
# https://mdav.us.endpoint.security.microsoft.com/storage"); the EDR hosts edr-<datacenter>.<geo>... and the
# status codes are those of the XMDE Client Analyzer's connectivity test (mde_tools, "urls_map", GW_US,
# GW_EU, GW_UK, GW_AU: /mdav/test 404, /xplat/api/report 200, /edr/commands/test 200); the cyber-data
# collector is the "vortexServerUrl" of Microsoft's streamlined onboarding packages.
MDE_STREAMLINED_DOMAIN = "endpoint.security.microsoft.com"
MDE_STREAMLINED_GOV_DOMAIN = "endpoint.security.microsoft.us"
_EDR_DATACENTERS = {
    "us": ("cus", "eus", "cus3", "eus3"),
    "eu": ("weu", "neu", "weu3", "neu3"),
    "uk": ("uks", "ukw"),
    "au": ("aus", "aue"),
}


def _streamlined(geo: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    base = "%s.%s" % (geo, MDE_STREAMLINED_DOMAIN)
    urls = [
        ("https://mdav.%s/mdav/test" % base, (404,)),
        ("https://mdav.%s/xplat/api/report" % base, (200,)),
    ]
    urls += [("https://edr-%s.%s/edr/commands/test" % (dc, base), (200,)) for dc in _EDR_DATACENTERS[geo]]
    urls.append(("https://%s-v20.events.%s/OneCollector/1.0" % (geo, MDE_STREAMLINED_DOMAIN), ()))
    return tuple(urls)


MDE_STREAMLINED = {geo: _streamlined(geo) for geo in MDE_GEOS}
MDE_SETS = ("standard", "streamlined")

PRODUCTS = ("mdi", "mde")

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The endpoint catalogue: which URLs the probe's options select, and the role's validation of its variables."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _endpoints as e


def urls(endpoints):
    return [x.url for x in endpoints]


def test_workspace_form_and_the_four_crl_hosts_by_default():
    got = e.build_catalogue(workspace="contoso")
    assert [(x.id, x.url, x.rule) for x in got] == [
        ("mdi_workspace", "https://contososensorapi.atp.azure.com/tri/sensor/api/ping", "sensor_ping"),
        ("crl_microsoft", "http://crl.microsoft.com/pki/crl/products/MicRooCerAut2011_2011_03_22.crl", "crl"),
        ("crl_ctldl", "http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/authrootstl.cab", "crl"),
        ("crl_pkiops", "http://www.microsoft.com/pkiops/crl/Microsoft%20Azure%20RSA%20TLS%20Issuing%20CA%2003.crl",
         "crl"),
        ("crl_pki", "http://www.microsoft.com/pki/certs/MicRooCerAut2011_2011_03_22.crt", "crl"),
    ]
    assert [x.allow_pattern for x in got[3:]] == ["www.microsoft.com/pkiops/*", "www.microsoft.com/pki/*"]


@pytest.mark.parametrize("cloud, url", [
    ("commercial", "https://contososensorapi.atp.azure.com/tri/sensor/api/ping"),
    ("gcc", "https://contososensorapi.gcc.atp.azure.com/tri/sensor/api/ping"),
    ("gcc_high", "https://contososensorapi.atp.azure.us/tri/sensor/api/ping"),
    ("dod", "https://contososensorapi.atp.azure.us/tri/sensor/api/ping"),
])
def test_cloud_chooses_the_sensor_domain(cloud, url):
    [ping] = e.build_catalogue(workspace="contoso", cloud=cloud, include_crl=False)
    assert ping.url == url
    assert ping.allow_pattern == "*." + url.split("sensorapi.", 1)[1].split("/", 1)[0]


def test_regions_are_the_2020_names_with_the_2018_ones_kept():
    got = e.build_catalogue(regions=["us", "EU", "asia", "uk"], include_crl=False)
    assert urls(got) == [
        "https://triprd1wcusw2sensorapi.atp.azure.com/",
        "https://triprd1wcuswb3sensorapi.atp.azure.com/",
        "https://triprd1wcuse3sensorapi.atp.azure.com/",
        "https://triprd1wceun2sensorapi.atp.azure.com/",
        "https://triprd1wceuw3sensorapi.atp.azure.com/",
        "https://triprd1wcasse2sensorapi.atp.azure.com/",
        "https://triprd1wcuks2sensorapi.atp.azure.com/",
    ]
    assert {x.rule for x in got} == {"sensor_root"}
    assert [x.id for x in got][:2] == ["mdi_us_1", "mdi_us_2"]
    legacy = e.build_catalogue(regions=["us_2018", "europe_2018"], include_crl=False)
    assert "https://triprd1wcusw1sensorapi.atp.azure.com/" in urls(legacy)
    assert "https://triprd1wceuw1sensorapi.atp.azure.com/" in urls(legacy)
    gov = e.build_catalogue(regions=["usgov"], cloud="gcc_high", include_crl=False)
    assert urls(gov) == ["https://triff1wcva2sensorapi.atp.azure.us/"]


def test_mde_sets_have_concrete_urls():
    standard = e.build_catalogue(products=["mde"], mde_sets=["standard"], mde_geo="eu", include_crl=False)
    assert "https://winatp-gw-weu.microsoft.com/test" in urls(standard)
    assert "https://eu-v20.events.data.microsoft.com/ping" in urls(standard)
    assert {x.rule for x in standard} == {"mde"} and all(x.expect == (200,) for x in standard)
    streamlined = e.build_catalogue(products=["mde"], mde_sets=["streamlined"], mde_geo="us", include_crl=False)
    assert all(x.host.endswith(".endpoint.security.microsoft.com") for x in streamlined)
    assert all("*" not in x.url for x in streamlined)
    by_url = {x.url: x for x in streamlined}
    assert by_url["https://mdav.us.endpoint.security.microsoft.com/mdav/test"].expect == (404,)
    assert by_url["https://edr-cus.us.endpoint.security.microsoft.com/edr/commands/test"].expect == (200,)
    assert streamlined[0].allow_pattern == "*.endpoint.security.microsoft.com"


def test_mde_and_extra_urls_in_order_without_duplicates():
    got = e.build_catalogue(
        workspace="contoso",
        products=["mdi", "mde"],
        mde_urls=["https://winatp-gw-weu.microsoft.com/test", "https://winatp-gw-weu.microsoft.com/test"],
        urls=["https://contososensorapi.atp.azure.com/tri/sensor/api/ping", "http://example.test/"],
        include_crl=False,
    )
    assert [(x.id, x.rule, x.product) for x in got] == [
        ("mdi_workspace", "sensor_ping", "mdi"),
        ("mde_1", "service", "mde"),
        ("url_2", "service", "extra"),
    ]


def test_azure_pki_list():
    got = e.build_catalogue(products=[], include_crl=False, include_azure_pki=True)
    hosts = {x.host for x in got}
    assert {"crl3.digicert.com", "crl4.digicert.com", "oneocsp.microsoft.com", "ocsp.digicert.com",
            "cacerts.digicert.com", "mscrl.microsoft.com", "ocsp.msocsp.com"} == hosts
    assert {x.rule for x in got} == {"crl", "ocsp"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "set workspace"),
        ({"products": ["mde"]}, "list the Defender for Endpoint URLs in mde_urls, or choose mde_sets"),
        ({"products": ["mde"], "mde_urls": ["https://*.ods.opinsights.azure.com"]},
         "'https://*.ods.opinsights.azure.com' is a wildcard; wildcards cannot be probed"),
        ({"products": [], "urls": ["ftp://x.test/"]}, "not an http(s) URL"),
        ({"workspace": "contososensorapi.atp.azure.com"}, "not a workspace name"),
        ({"regions": ["mars"]}, "unknown region 'mars'"),
        ({"regions": ["us"], "cloud": "gcc_high"}, "unknown region 'us' for the gcc_high cloud"),
        ({"products": ["mdx"]}, "unknown product"),
        ({"products": [], "include_crl": False}, "nothing to probe"),
        ({"products": ["mde"], "mde_sets": ["streamlined"]}, "mde_sets: needs mde_geo"),
        ({"products": ["mde"], "mde_sets": ["standard"], "mde_geo": "au"}, "no published test URLs for 'au'"),
        ({"products": ["mde"], "mde_sets": ["streamlined"], "mde_geo": "us", "cloud": "dod"},
         "*.endpoint.security.microsoft.us"),
        ({"products": ["mdi"], "workspace": "x", "mde_urls": ["https://a.test/"]}, "'mde' is not in products"),
        ({"cloud": "moon", "workspace": "x"}, "unknown cloud 'moon'"),
    ],
)
def test_usage_errors_say_what_is_wrong(kwargs, message):
    with pytest.raises(e.CatalogueError) as info:
        e.build_catalogue(**kwargs)
    assert message in str(info.value)


def test_only_crl_when_products_empty():
    assert [x.id for x in e.build_catalogue(products=[])] == ["crl_microsoft", "crl_ctldl", "crl_pkiops", "crl_pki"]


def test_role_problems_name_the_role_variables():
    # The role's defaults: probe on, products [mdi], no workspace, no regions.
    problems = e.probe_problems(workspace="", regions=[], products=["mdi"])
    assert problems == [
        "atp_proxy_products includes 'mdi': set atp_proxy_workspace (the Defender for Identity workspace name) or "
        "atp_proxy_regions (asia, asia_2018, eu, eu_2018, uk, us, us_2018), or leave 'mdi' out of atp_proxy_products"
    ]
    assert e.has_endpoints(workspace="", regions=[], products=["mdi"]) is False
    assert e.probe_problems(workspace="contoso", products=["mdi"]) == []
    assert e.has_endpoints(workspace="contoso") is True
    many = e.probe_problems(workspace="a.b", regions=["mars"], products=["mdi", "mde"], mde_urls=["*.x"],
                            urls=["ftp://y"])
    assert [p.split(":")[0] for p in many] == [
        "atp_proxy_regions", "atp_proxy_workspace", "atp_proxy_mde_urls", "atp_proxy_probe_urls"]
    # CRL hosts alone are no reason to probe
    assert e.has_endpoints(products=[], include_crl=True) is False
    assert e.has_endpoints(products=[], urls=["https://x.test/"]) is True
    renamed = e.probe_problems(products=["mdi"], names={"workspace": "my_ws"})
    assert "set my_ws" in renamed[0]

# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The endpoint catalogue: which URLs the probe's options select."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils import _endpoints as e


def urls(endpoints):
    return [x.url for x in endpoints]


def test_workspace_form_and_crl_by_default():
    got = e.build_catalogue(workspace="contoso")
    assert [(x.id, x.url, x.rule) for x in got] == [
        ("mdi_workspace", "https://contososensorapi.atp.azure.com/tri/sensor/api/ping", "sensor_ping"),
        ("crl_microsoft", "http://crl.microsoft.com/pki/crl/products/MicRooCerAut2011_2011_03_22.crl", "crl"),
        ("crl_ctldl", "http://ctldl.windowsupdate.com/msdownload/update/v3/static/trustedr/en/authrootstl.cab", "crl"),
    ]


def test_regions_select_the_legacy_hosts_at_root():
    got = e.build_catalogue(regions=["us", "EU", "asia"], include_crl=False)
    assert urls(got) == [
        "https://triprd1wcusw1sensorapi.atp.azure.com/",
        "https://triprd1wcuswb1sensorapi.atp.azure.com/",
        "https://triprd1wcuse1sensorapi.atp.azure.com/",
        "https://triprd1wcuse1sensorapi.eastus.cloudapp.azure.com/",
        "https://triprd1wceun1sensorapi.atp.azure.com/",
        "https://triprd1wceuw1sensorapi.atp.azure.com/",
        "https://triprd1wcasse1sensorapi.atp.azure.com/",
    ]
    assert {x.rule for x in got} == {"sensor_root"}
    assert [x.id for x in got][:2] == ["mdi_us_1", "mdi_us_2"]


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


def test_allow_pattern():
    got = e.build_catalogue(workspace="contoso", regions=["us"])
    assert got[0].allow_pattern == "*.atp.azure.com"
    assert [x for x in got if x.id == "mdi_us_4"][0].allow_pattern == "triprd1wcuse1sensorapi.eastus.cloudapp.azure.com"
    assert got[-1].allow_pattern == "ctldl.windowsupdate.com"
    assert got[0].port == 443 and got[-1].port == 80


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "set workspace"),
        ({"products": ["mde"]}, "mde_urls"),
        ({"products": [], "mde_urls": ["https://*.ods.opinsights.azure.com"]},
         "'https://*.ods.opinsights.azure.com' is a wildcard; wildcards cannot be probed"),
        ({"products": [], "urls": ["ftp://x.test/"]}, "not an http(s) URL"),
        ({"workspace": "contososensorapi.atp.azure.com"}, "not a workspace name"),
        ({"regions": ["mars"]}, "unknown region 'mars'"),
        ({"products": ["mdx"]}, "unknown product"),
        ({"products": [], "include_crl": False}, "nothing to probe"),
    ],
)
def test_usage_errors_say_what_is_wrong(kwargs, message):
    with pytest.raises(e.CatalogueError) as info:
        e.build_catalogue(**kwargs)
    assert message in str(info.value)


def test_only_crl_when_products_empty():
    assert [x.id for x in e.build_catalogue(products=[])] == ["crl_microsoft", "crl_ctldl"]

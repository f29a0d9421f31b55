# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinINet codec against real values written by Windows, and our own cases."""

from __future__ import annotations

import pytest

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w

CONTRACT_KEYS = {"version", "counter", "flags", "proxy_server", "bypass", "auto_config_url", "length"}


def test_every_shared_fixture_decodes_exactly(wininet_values):
    assert len(wininet_values) >= 16
    for entry in wininet_values:
        expected = entry["expected"]
        if expected is None:
            with pytest.raises(w.WinInetCodecError):
                w.decode(entry["hex"])
            continue
        if entry["kind"] == "WinHttpSettings":
            got = w.decode_winhttp(entry["hex"])
        else:
            value = w.decode(entry["hex"])
            got = value.to_dict()
            assert value.to_bytes().hex() == entry["hex"], entry["id"]  # byte-exact round trip
            assert CONTRACT_KEYS <= set(got)
        for key, want in expected.items():
            assert got[key] == want, (entry["id"], key)


def test_contract_types():
    got = w.decode("46000000400000000f0000000d000000676f6f676c652e636f6d3a34320b0000004c6f6c3b3c6c6f63616c3e"
                   "11000000687474703a2f2f676f6f676c652e66722f" + "00" * 32).to_dict()
    assert isinstance(got["version"], int) and isinstance(got["counter"], int)
    assert set(got["flags"]) == {"direct", "proxy", "auto_config_url", "auto_detect"}
    assert all(isinstance(v, bool) for v in got["flags"].values())
    assert got["bypass"] == ["Lol", "<local>"] and isinstance(got["proxy_server"], str)
    assert got["length"] == 97


def test_malformed_values_raise_codec_error_naming_offset(malformed_values):
    for entry in malformed_values:
        with pytest.raises(w.WinInetCodecError) as err:
            w.decode(entry["hex"])
        assert "offset" in str(err.value) or "empty" in str(err.value), entry["id"]


@pytest.mark.parametrize("text", [
    "46,00,00,00,01,00,00,00,01,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00",
    "hex:46,00,00,00,01,00,00,00,01,00,00,00,\\\n  00,00,00,00,00,00,00,00,00,00,00,00",
    'hex(3):46,00,00,00,01,00,00,00,01,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00',
    '"DefaultConnectionSettings"=hex:46,00,00,00,01,00,00,00,01,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00',
    "46 00 00 00 01 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
    "460000000100000001000000000000000000000000000000".upper(),
    "0x460000000100000001000000000000000000000000000000",
    [0x46, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0] + [0] * 12,
    ["0x46", "0x00", "0x00", "0x00", "0x01", "0x00", "0x00", "0x00", "0x01"] + ["0x00"] * 15,
])
def test_input_forms(text):
    value = w.decode(text)
    assert (value.version, value.counter, value.flags_value, value.proxy_server) == (0x46, 1, 1, "")


@pytest.mark.parametrize("bad,needle", [
    ("4x", "character"), ("460", "odd"), ([300], "0..255"), (["zz"], "hex byte"), ({"a": 1}, "expected"),
    ([True], "boolean"),
])
def test_bad_input_forms(bad, needle):
    with pytest.raises(w.WinInetCodecError, match=needle):
        w.decode(bad)


def test_encode_new_value_like_the_dialog():
    data = w.encode({"proxy_server": "proxy.corp:8080", "bypass": ["<local>", "*.corp"]})
    value = w.decode(data)
    assert value.version == 0x46 and value.counter == 1
    assert value.flags == {"direct": True, "proxy": True, "auto_config_url": False, "auto_detect": False}
    assert value.proxy_server == "proxy.corp:8080" and value.bypass_string == "<local>;*.corp"
    assert value.cache == bytes(32)


def test_encode_continues_counter_and_keeps_cache(wininet_values):
    previous = next(e["hex"] for e in wininet_values if e["id"] == "v07")  # real value with WPAD cache
    old = w.decode(previous)
    new = w.decode(w.encode({"proxy_server": "p:3128", "auto_detect": True}, previous))
    assert new.counter == old.counter + 1 and new.cache == old.cache
    assert new.flags_value == 0x1 | 0x2 | 0x8
    wrapped = w.settings_from_spec({"proxy_server": "p:1"}, w.decode("46000000ffffffff01000000" + "00" * 12))
    assert wrapped.counter == 0


def test_encode_pac_and_auto_detect():
    value = w.decode(w.encode({"auto_config_url": "http://wpad.corp/proxy.pac", "auto_detect": True}))
    assert value.flags == {"direct": True, "proxy": False, "auto_config_url": True, "auto_detect": True}
    assert value.auto_config_url == "http://wpad.corp/proxy.pac"


@pytest.mark.parametrize("spec,field,needle", [
    ({"proxy_server": "proxy.corp"}, "proxy_server", "no port"),
    ({"proxy_server": "proxy.corp:70000"}, "proxy_server", "between 1 and 65535"),
    ({"proxy_server": "proxy.corp:0"}, "proxy_server", "between 1 and 65535"),
    ({"proxy_server": "http://proxy.corp:8080"}, "proxy_server", "scheme"),
    ({"proxy_server": "proxy corp:8080"}, "proxy_server", "white space"),
    ({"proxy_server": "user:pw@proxy:8080"}, "proxy_server", "credentials"),
    ({"proxy_server": "prøxy.corp:8080"}, "proxy_server", "punycode"),
    ({"proxy_server": "gopher=proxy:8080"}, "proxy_server", "protocol"),
    ({"proxy_server": "proxy:80x"}, "proxy_server", "not a number"),
    ({"proxy_server": "-bad-.corp:80"}, "proxy_server", "host name"),
    ({"proxy_server": "p:1", "bypass": ["bad entry"]}, "bypass", "white space"),
    ({"proxy_server": "p:1", "bypass": ["exämple"]}, "bypass", "punycode"),
    ({"bypass": ["<local>"]}, "bypass", "proxy_server is empty"),
    ({"auto_config_url": "wpad.corp/x.pac"}, "auto_config_url", "URL"),
    ({"auto_detect": "yes"}, "auto_detect", "true or false"),
    ({"proxy": "p:1"}, "settings", "unknown key"),
    ({"direct": False}, "direct", "cannot be false"),
])
def test_bad_settings_name_the_field(spec, field, needle):
    with pytest.raises(w.WinInetSettingsError) as err:
        w.encode(spec)
    assert err.value.field == field and needle in str(err.value) and str(err.value).startswith(field + ":")


def test_valid_proxy_forms():
    for text in ("proxy:8080", "10.0.0.1:3128", "[fe80::1]:8080", "http=p:80;https=p:443", "xn--prxy-hra.corp:8080"):
        assert w.validate_proxy_server(text) == text


def test_compare_states(wininet_values):
    by_id = {e["id"]: e["hex"] for e in wininet_values}
    assert w.compare(by_id["v14"], by_id["v14"]) == {"state": "identical", "differences": []}
    # v00 and v03: same settings (auto-detect), different counter -> a byte compare lies
    assert w.compare(by_id["v00"], by_id["v03"])["state"] == "equivalent"
    # v01 vs v00: different detection cache and counter only
    assert w.compare(by_id["v01"], by_id["v00"])["state"] == "equivalent"
    # v13 (direct, nothing) vs v15 (direct, strings kept while disabled): equivalent
    assert w.compare(by_id["v13"], by_id["v15"])["state"] == "equivalent"
    # v14 (proxy on) vs v15 (same strings, flags off): different
    result = w.compare(by_id["v14"], by_id["v15"])
    assert result["state"] == "different"
    assert set(result["differences"]) == {"flags.proxy", "flags.auto_config_url", "flags.auto_detect",
                                          "proxy_server", "bypass", "auto_config_url"}
    # IE6 0x3C vs 0x46 with the same effective settings
    assert w.compare(by_id["v12"], by_id["v00"])["state"] == "equivalent"


def test_compare_bypass_order_and_case_do_not_matter():
    a = w.encode({"proxy_server": "Proxy.Corp:8080", "bypass": ["<local>", "*.corp"]})
    b = w.encode({"proxy_server": "proxy.corp:8080", "bypass": ["*.CORP", "<local>"]})
    assert w.compare(a, b)["state"] == "equivalent"
    c = w.encode({"proxy_server": "proxy.corp:8081", "bypass": ["<local>"]})
    assert w.compare(a, c) == {"state": "different", "differences": ["proxy_server", "bypass"]}


def test_winhttp_rejects_wininet_and_vice_versa():
    with pytest.raises(w.WinInetCodecError, match="0x28"):
        w.decode("28000000000000000100000000000000000000000000")
    with pytest.raises(w.WinInetCodecError, match="WinHttpSettings"):
        w.decode_winhttp("46000000010000000100000000000000000000000000000000")


def test_describe():
    assert w.describe(w.decode(w.encode({}))) == "direct (no proxy)"
    assert w.describe(w.decode(w.encode({"proxy_server": "p:1", "bypass": "<local>"}))) == "proxy p:1, bypass <local>"

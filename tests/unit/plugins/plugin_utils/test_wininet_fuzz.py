# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests: the codec raises WinInetCodecError or returns, nothing else escapes.

An ordinary run uses a few thousand cases; ``make fuzz`` sets ATP_FUZZ_EXAMPLES=100000.
"""

from __future__ import annotations

import json
import os
import pathlib
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._wininet import _codec as w

EXAMPLES = int(os.environ.get("ATP_FUZZ_EXAMPLES", "2000"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
SEEDS = [bytes.fromhex(e["hex"]) for e in json.loads(
    (pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "wininet_values.json").read_text())]


def _check(data) -> None:
    try:
        value = w.decode(data)
    except w.WinInetCodecError as exc:
        assert str(exc)
        return
    # whatever decodes re-encodes byte for byte and compares identical with itself
    assert value.to_bytes() == w.to_bytes(data)
    assert w.compare(value, value)["state"] == "identical"
    value.to_dict()
    w.describe(value)


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _unused in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "truncate", "extend", "length"]))
        if op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[draw(st.integers(0, len(data))):]
        elif op == "extend":
            data += draw(st.binary(max_size=16))
        elif op == "length" and len(data) >= 16:
            offset = draw(st.sampled_from([o for o in (0, 12, 16, 20, len(data) - 4) if o + 4 <= len(data)]))
            struct.pack_into("<I", data, offset, draw(st.integers(0, 0xFFFFFFFF)))
    return bytes(data)


@st.composite
def structured(draw):
    version = draw(st.sampled_from([0x46, 0x3C, 0x28, draw(st.integers(0, 0xFFFFFFFF))]))
    head = struct.pack("<III", version, draw(st.integers(0, 0xFFFFFFFF)), draw(st.integers(0, 0xFFFFFFFF)))
    body = b""
    for _unused in range(draw(st.integers(0, 3))):
        text = draw(st.binary(max_size=40))
        claimed = draw(st.one_of(st.just(len(text)), st.integers(0, 0xFFFFFFFF)))
        body += struct.pack("<I", claimed) + text
    return head + body + draw(st.binary(max_size=40))


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data):
    _check(data)


@FUZZ
@given(mutated())
def test_mutated_real_values(data):
    _check(data)


@FUZZ
@given(structured())
def test_structured_values(data):
    _check(data)


@FUZZ
@given(st.one_of(st.text(max_size=80), st.lists(st.one_of(st.integers(-5, 300), st.text(max_size=5)), max_size=40)))
def test_other_input_forms(value):
    try:
        w.decode(value)
    except w.WinInetCodecError:
        pass


@settings(max_examples=max(200, EXAMPLES // 10), deadline=None, database=None)
@given(
    proxy=st.one_of(st.just(""), st.from_regex(r"\A[a-z]([a-z0-9-]{0,18}[a-z0-9])?(\.[a-z]{2,6}){0,2}:[1-9][0-9]{0,3}\Z")),
    bypass=st.lists(st.from_regex(r"\A[<>a-z*.]{1,12}\Z"), max_size=4),
    pac=st.one_of(st.just(""), st.from_regex(r"\Ahttp://[a-z]{1,10}/[a-z]{1,8}\.pac\Z")),
    auto=st.booleans(),
)
def test_encode_decode_round_trip(proxy, bypass, pac, auto):
    spec = {"proxy_server": proxy, "bypass": bypass if proxy else [], "auto_config_url": pac, "auto_detect": auto}
    value = w.decode(w.encode(spec))
    assert value.proxy_server == proxy and value.auto_config_url == pac
    assert value.bypass == (list(bypass) if proxy else [])
    assert value.flags == {"direct": True, "proxy": bool(proxy), "auto_config_url": bool(pac), "auto_detect": auto}

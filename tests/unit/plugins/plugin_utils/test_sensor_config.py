# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SensorConfiguration.json: reading every encoding, rewriting only the proxy value, encrypting on the controller."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common._errors import UsageError
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_file as sc
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_plan as cp
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _secret as secret

SECRET_MANAGER = "E44826515D2778493F7F1B44A4F0A435832C657B"
OTHER = "B6DED748E000B5A62D3F4C45058E1DCF64BB55B9"
CANARY = "Canary-Pa55-7f3e"

# The shape of a file the sensor wrote itself (thalpius/Microsoft-Defender-for-Identity-Encrypted-Password,
# README.md @ 0c44e32): two-space indentation, "$type" members, the password encrypted with a certificate
# other than SecretManagerConfigurationCertificateThumbprint.
SENSOR_WRITTEN = """{
  "$type": "SensorMandatoryConfiguration",
  "SecretManagerConfigurationCertificateThumbprint": "%s",
  "SensorProxyConfiguration": {
    "$type": "SensorProxyConfiguration",
    "Url": "http://localhost:8080",
    "UserName": "thalpius.local\\\\thalpius",
    "EncryptedUserPasswordData": {
      "$type": "EncryptedData",
      "EncryptedBytes": "bvzMONrdkD+/3T3cGzi5+vQp0ksjLrk2MQPv5IFKKTVMgdK6QEbpNTXyf+V1khMasBxD/zXJ5W65+c79+7Gow==",
      "CertificateThumbprint": "%s",
      "SecretVersion": null
    }
  },
  "WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint": {
    "$type": "EndpointData",
    "Address": "thalpius-onmicrosoft-comsensorapi.atp.azure.com",
    "Port": 443
  }
}""" % (SECRET_MANAGER, OTHER)

NO_PROXY = """{
  "$type": "SensorMandatoryConfiguration",
  "SecretManagerConfigurationCertificateThumbprint": "%s",
  "SensorProxyConfiguration": null,
  "WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint": {
    "$type": "EndpointData",
    "Address": "contoso-corpsensorapi.atp.azure.com",
    "Port": 443
  }
}""" % SECRET_MANAGER


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def fixed(thumbprint):
    return "RU5DUllQVEVE"  # "ENCRYPTED": a stand-in for the ciphertext where its value does not matter


def request(**kwargs):
    return cp.ProxyRequest(**kwargs)


def outside_value_unchanged(old: bytes, new: bytes, cfg: sc.SensorConfigFile) -> None:
    """Every byte before and after the proxy value is as it was."""
    span = next(m for m in cfg._members if m.key == "SensorProxyConfiguration")
    head = cfg.bom + cfg.encode(cfg.text[:span.value_start])
    tail = cfg.encode(cfg.text[span.value_end:])
    assert new.startswith(head) and new.endswith(tail)
    assert old.startswith(head) and old.endswith(tail)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------
def test_sensor_written_file_reads_its_proxy_without_the_password():
    cfg = sc.parse(crlf(SENSOR_WRITTEN).encode(), r"C:\S\SensorConfiguration.json")
    assert cfg.encoding == "ascii" and cfg.newline == "\r\n"
    assert cfg.proxy.to_dict() == {"state": "set", "configured": True, "url": "http://localhost:8080",
                                   "username": "thalpius.local\\thalpius", "password_set": True,
                                   "certificate_thumbprint": OTHER}
    summary = cfg.summary()
    assert summary["secret_manager_thumbprint"] == SECRET_MANAGER
    assert summary["password_certificate_is_secret_manager"] is False  # seen in the wild: never assume equal
    assert "bvzMONrdkD" not in json.dumps(summary)  # the encrypted bytes never leave the parser


@pytest.mark.parametrize("encoding, encode, label", [
    ("ascii", lambda t: t.encode("ascii"), "ascii"),
    ("utf-8", lambda t: t.encode("utf-8"), "utf-8"),
    ("utf-8-bom", lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"), "utf-8-bom"),
    ("utf-16-le", lambda t: b"\xff\xfe" + t.encode("utf-16-le"), "utf-16-le"),
    ("utf-16-be", lambda t: b"\xfe\xff" + t.encode("utf-16-be"), "utf-16-be"),
    ("utf-16-le-nobom", lambda t: t.encode("utf-16-le"), "utf-16-le"),
    ("utf-32-le", lambda t: b"\xff\xfe\x00\x00" + t.encode("utf-32-le"), "utf-32-le"),
    ("ansi", lambda t: t.encode("cp1252"), "ansi"),
])
def test_every_encoding_is_read_and_rewritten_in_place(encoding, encode, label):
    text = crlf(NO_PROXY)
    if encoding in ("utf-8", "utf-8-bom", "ansi", "utf-16-le", "utf-16-be", "utf-32-le", "utf-16-le-nobom"):
        text = text.replace("contoso-corp", "contoso-caf\u00e9")  # a non-ASCII byte elsewhere in the file
    raw = encode(text)
    cfg = sc.parse(raw)
    assert cfg.encoding == label and cfg.proxy.to_dict()["state"] == "null"
    result = cp.plan(cfg, request(url="http://proxy.corp:8080"))
    assert result.changed
    outside_value_unchanged(raw, result.data, cfg)
    again = sc.parse(result.data)
    assert again.encoding == label and again.proxy.url == "http://proxy.corp:8080"
    assert again.data["WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint"]["Address"] == \
        cfg.data["WorkspaceApplicationSensorApiWebClientConfigurationServiceEndpoint"]["Address"]


def test_case_insensitive_member_names_as_powershell_reads_them():
    text = NO_PROXY.replace('"SensorProxyConfiguration": null',
                            '"sensorproxyconfiguration": {"url": "http://p:1", "username": "u"}')
    cfg = sc.parse(text.encode())
    assert (cfg.proxy.url, cfg.proxy.username, cfg.proxy.password_set) == ("http://p:1", "u", False)


def test_members_differing_only_in_case_are_refused():
    text = NO_PROXY.replace('"SensorProxyConfiguration": null',
                            '"SensorProxyConfiguration": null, "sensorProxyConfiguration": null')
    with pytest.raises(sc.SensorConfigError, match="differ only in case"):
        sc.parse(text.encode())


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "not a JSON object"),
    (NO_PROXY.replace("null", '"http://p:1"', 1).encode(), "not an object or null"),
    (b"\xff\xfe{", "byte order mark"),
])
def test_unreadable_files_say_why(data, message):
    with pytest.raises(sc.SensorConfigError, match=message):
        sc.parse(data)


# ---------------------------------------------------------------------------
# Writing the value the way Set-MDISensorProxyConfiguration formats it
# ---------------------------------------------------------------------------
def test_new_value_is_formatted_like_format_json_in_its_position_and_line_endings():
    raw = crlf(NO_PROXY).encode()
    cfg = sc.parse(raw)
    result = cp.plan(cfg, request(url="http://proxy.corp:8080", username="CORP\\svc-proxy", password=CANARY),
                     encrypt=fixed)
    expected_value = (
        '{\r\n'
        '    "$type": "SensorProxyConfiguration",\r\n'
        '    "Url": "http://proxy.corp:8080",\r\n'
        '    "UserName": "CORP\\\\svc-proxy",\r\n'
        '    "EncryptedUserPasswordData": {\r\n'
        '      "$type": "EncryptedData",\r\n'
        '      "EncryptedBytes": "RU5DUllQVEVE",\r\n'
        '      "SecretVersion": null,\r\n'
        '      "CertificateThumbprint": "%s"\r\n'
        '    }\r\n'
        '  }' % SECRET_MANAGER)
    assert result.data == raw.replace(b"null", expected_value.encode(), 1)
    assert result.thumbprint == SECRET_MANAGER and result.encrypted


def test_lf_file_and_four_space_indent_keep_their_style():
    text = NO_PROXY.replace("\n  ", "\n    ")  # an indent of four
    result = cp.plan(sc.parse(text.encode()), request(url="http://p.corp:3128"))
    assert b'"SensorProxyConfiguration": {\n        "$type": "SensorProxyConfiguration",\n        "Url": ' \
           b'"http://p.corp:3128"\n    },' in result.data
    assert b"\r" not in result.data


def test_one_line_file_gets_a_one_line_value():
    text = json.dumps(json.loads(NO_PROXY), separators=(",", ":"))
    result = cp.plan(sc.parse(text.encode()), request(url="http://p.corp:3128"))
    assert result.data == text.replace('"SensorProxyConfiguration":null', '"SensorProxyConfiguration":{"$type": '
                                       '"SensorProxyConfiguration", "Url": "http://p.corp:3128"}').encode()


def test_powershell_51_string_escapes():
    assert sc.js_string("a<b>&'\"\\\t\x01") == '"a\\u003cb\\u003e\\u0026\\u0027\\"\\\\\\t\\u0001"'
    assert sc.js_string("caf\u00e9") == '"caf\u00e9"'
    assert sc.js_string("caf\u00e9\U0001f600", ascii_only=True) == '"caf\\u00e9\\ud83d\\ude00"'


def test_non_ascii_user_in_an_ansi_file_is_escaped_in_a_utf8_file_kept():
    ansi = sc.parse(crlf(NO_PROXY).replace("contoso-corp", "caf\u00e9").encode("cp1252"))
    user = "CORP\\J\u00fcrgen"
    written = cp.plan(ansi, request(url="http://p:1", username=user, password=CANARY), encrypt=fixed).data
    assert b'"UserName": "CORP\\\\J\\u00fcrgen"' in written and b"caf\xe9" in written
    assert sc.parse(written).proxy.username == user
    utf8 = sc.parse(crlf(NO_PROXY).replace("contoso-corp", "caf\u00e9").encode("utf-8"))
    written = cp.plan(utf8, request(url="http://p:1", username=user, password=CANARY), encrypt=fixed).data
    assert '"UserName": "CORP\\\\J\u00fcrgen"'.encode("utf-8") in written


def test_deeper_objects_elsewhere_stay_byte_for_byte():
    """Microsoft's cmdlet would turn objects below depth 2 into strings; an in-place edit never touches them."""
    text = NO_PROXY.replace('"Port": 443', '"Port": 443,\n    "Extra": {"Deep": {"Deeper": {"x": 1}}}')
    raw = text.encode()
    cfg = sc.parse(raw)
    result = cp.plan(cfg, request(url="http://p:1"))
    outside_value_unchanged(raw, result.data, cfg)
    assert b'"Extra": {"Deep": {"Deeper": {"x": 1}}}' in result.data


def test_missing_member_is_appended_at_the_end():
    text = crlf(NO_PROXY.replace('  "SensorProxyConfiguration": null,\n', ""))
    cfg = sc.parse(text.encode())
    assert cfg.proxy.to_dict()["state"] == "absent"
    assert not cp.plan(cfg, request(state="absent")).changed
    data = cp.plan(cfg, request(url="http://p:1")).data
    assert data.startswith(text[:text.rindex("\r\n}")].encode())
    assert data.endswith(b'    "Port": 443\r\n  },\r\n  "SensorProxyConfiguration": {\r\n    "$type": '
                         b'"SensorProxyConfiguration",\r\n    "Url": "http://p:1"\r\n  }\r\n}')


# ---------------------------------------------------------------------------
# Idempotence and validation
# ---------------------------------------------------------------------------
def test_clear_writes_null_and_is_then_in_sync():
    cfg = sc.parse(crlf(SENSOR_WRITTEN).encode())
    cleared = cp.plan(cfg, request(state="absent"))
    assert cleared.changed and cleared.after["state"] == "null"
    outside_value_unchanged(cfg.raw, cleared.data, cfg)
    assert b'"SensorProxyConfiguration": null,' in cleared.data
    second = cp.plan(sc.parse(cleared.data), request(state="absent"))
    assert not second.changed and second.data is None


def test_same_proxy_other_spelling_is_in_sync():
    cfg = sc.parse(cp.plan(sc.parse(NO_PROXY.encode()), request(url="http://Proxy.Corp:80")).data)
    assert not cp.plan(cfg, request(url="http://proxy.corp/")).changed
    assert cp.plan(cfg, request(url="https://proxy.corp")).changed


def test_on_create_keeps_the_stored_password_of_the_same_user_and_never_encrypts():
    cfg = sc.parse(crlf(SENSOR_WRITTEN).encode())

    def must_not_encrypt(thumbprint):
        raise AssertionError("encrypted although the password is kept")

    same = cp.plan(cfg, request(url="http://localhost:8080", username="THALPIUS.LOCAL\\thalpius", password=CANARY),
                   encrypt=must_not_encrypt)
    assert not same.changed and same.kept_password and same.thumbprint == OTHER
    moved = cp.plan(cfg, request(url="http://newproxy:3128", username="thalpius.local\\thalpius", password=CANARY),
                    encrypt=must_not_encrypt)
    assert moved.changed and moved.kept_password and moved.after["certificate_thumbprint"] == OTHER
    stored = json.loads(moved.data)["SensorProxyConfiguration"]["EncryptedUserPasswordData"]
    assert stored == json.loads(SENSOR_WRITTEN)["SensorProxyConfiguration"]["EncryptedUserPasswordData"]


def test_always_encrypts_again_with_the_secret_manager_certificate():
    cfg = sc.parse(crlf(SENSOR_WRITTEN).encode())
    used = []
    result = cp.plan(cfg, request(url="http://localhost:8080", username="thalpius.local\\thalpius", password=CANARY,
                                  password_update="always"), encrypt=lambda t: used.append(t) or "TkVX")
    assert used == [SECRET_MANAGER] and result.changed and result.encrypted
    assert "always" in result.reason
    assert json.loads(result.data)["SensorProxyConfiguration"]["EncryptedUserPasswordData"] == {
        "$type": "EncryptedData", "EncryptedBytes": "TkVX", "SecretVersion": None,
        "CertificateThumbprint": SECRET_MANAGER}


def test_user_without_password_uses_the_stored_one_or_is_refused():
    cfg = sc.parse(crlf(SENSOR_WRITTEN).encode())
    kept = cp.plan(cfg, request(url="http://other:1", username="thalpius.local\\thalpius"))
    assert kept.changed and kept.kept_password
    with pytest.raises(UsageError, match="atp_proxy_sensor_proxy_username is set but atp_proxy_sensor_proxy_password"):
        cp.plan(cfg, request(url="http://other:1", username="CORP\\someone-else"))


def test_dropping_the_user_removes_user_and_password():
    cfg = sc.parse(crlf(SENSOR_WRITTEN).encode())
    result = cp.plan(cfg, request(url="http://localhost:8080"))
    assert result.changed and result.after == {"state": "set", "configured": True, "url": "http://localhost:8080",
                                               "username": None, "password_set": False, "certificate_thumbprint": None}


@pytest.mark.parametrize("kwargs, message", [
    ({"url": "proxy.corp:8080"}, "atp_proxy_sensor_proxy_url: 'proxy.corp:8080' has no scheme"),
    ({"url": ""}, "atp_proxy_sensor_proxy_url is required"),
    ({"url": "ftp://p:21"}, "http:// or https://"),
    ({"url": "http://user:pw@p:8080"}, "contains credentials"),
    ({"url": "http://p:99999"}, "port"),
    ({"url": "http://p:8080/path"}, "path"),
    ({"url": "http://pr\u00f6xy:8080"}, "punycode"),
    ({"url": "http://p:1", "password": CANARY}, "atp_proxy_sensor_proxy_password is set but "
                                                "atp_proxy_sensor_proxy_username is not"),
    ({"url": "http://p:1", "password_update": "sometimes"}, "atp_proxy_sensor_proxy_password_update"),
    ({"state": "gone"}, "atp_proxy_state"),
])
def test_bad_requests_name_the_variable(kwargs, message):
    with pytest.raises(UsageError) as info:
        cp.plan(sc.parse(NO_PROXY.encode()), request(**kwargs), encrypt=fixed)
    assert message in str(info.value)
    assert CANARY not in str(info.value)


def test_module_option_names_replace_the_role_variables():
    with pytest.raises(UsageError, match="^url: 'p:1' has no scheme"):
        cp.plan(sc.parse(NO_PROXY.encode()), request(url="p:1"), names={"url": "url"})


def test_password_without_a_secret_manager_certificate_is_refused():
    cfg = sc.parse(NO_PROXY.replace('"SecretManagerConfigurationCertificateThumbprint": "%s",' % SECRET_MANAGER,
                                    "").encode(), "C:\\x\\SensorConfiguration.json")
    with pytest.raises(UsageError, match="has no SecretManagerConfigurationCertificateThumbprint"):
        cp.plan(cfg, request(url="http://p:1", username="u", password=CANARY), encrypt=fixed)


def test_the_password_is_in_no_repr_result_or_file():
    cfg = sc.parse(NO_PROXY.encode())
    req = request(url="http://p:1", username="u", password=CANARY)
    result = cp.plan(cfg, req, encrypt=fixed)
    for text in (repr(req), repr(result), json.dumps(result.to_result()), result.data.decode()):
        assert CANARY not in text


def test_verify_reads_back():
    cfg = sc.parse(NO_PROXY.encode())
    result = cp.plan(cfg, request(url="http://p:1"))
    assert cp.verify(result.data, result)
    assert not cp.verify(cfg.raw, result)
    assert not cp.verify(b"garbage", result)


# ---------------------------------------------------------------------------
# Encryption
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def decrypt(private_key, encrypted: str) -> str:
    plain = private_key.decrypt(base64.b64decode(encrypted), padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    return plain.decode("utf-16-le")


def test_encrypts_as_get_mdiencryptedpassword_does(key):
    # win_certificate_info.ps1 line 39: public_key is Base64(GetPublicKey()), the PKCS#1 RSAPublicKey DER.
    entry = {"thumbprint": SECRET_MANAGER, "public_key": base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1)).decode()}
    first = secret.encrypt_password(CANARY, entry)
    assert decrypt(key, first) == CANARY
    assert secret.encrypt_password(CANARY, entry) != first  # OAEP is randomised
    assert len(base64.b64decode(first)) == 256


def test_encrypts_from_the_raw_certificate_too(key):
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Azure ATP Sensor")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    assert decrypt(key, secret.encrypt_password(CANARY, {"raw": base64.b64encode(der).decode()})) == CANARY
    assert decrypt(key, secret.encrypt_password(CANARY, cert.public_bytes(serialization.Encoding.PEM))) == CANARY


def test_a_password_too_long_for_the_key_is_refused_naming_the_variable(key):
    with pytest.raises(UsageError, match=r"atp_proxy_sensor_proxy_password is too long .* at most 95 characters"):
        secret.encrypt_password("x" * 96, key.public_key())
    assert decrypt(key, secret.encrypt_password("x" * 95, key.public_key())) == "x" * 95


def test_a_non_rsa_certificate_is_refused():
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(UsageError, match="RSA only"):
        secret.encrypt_password(CANARY, {"public_key": base64.b64encode(ec_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()})


def test_encryptor_refuses_a_missing_certificate_only_when_it_must_encrypt(key):
    cfg = sc.parse(crlf(SENSOR_WRITTEN).encode())
    missing = secret.encryptor(CANARY, {"thumbprint": SECRET_MANAGER, "present": False}, "dc01")
    kept = cp.plan(cfg, request(url="http://localhost:8080", username="thalpius.local\\thalpius", password=CANARY),
                   encrypt=missing)
    assert not kept.changed  # the stored password is kept: no certificate needed
    with pytest.raises(UsageError, match=r"atp_proxy_sensor_proxy_password cannot be encrypted: the certificate "
                                         r"E448\w+ \(SecretManagerConfigurationCertificateThumbprint\) is not in "
                                         r"LocalMachine\\My on dc01"):
        cp.plan(cfg, request(url="http://localhost:8080", username="CORP\\new", password=CANARY), encrypt=missing)
    entry = {"present": True, "public_key": base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1)).decode()}
    result = cp.plan(cfg, request(url="http://localhost:8080", username="CORP\\new", password=CANARY),
                     encrypt=secret.encryptor(CANARY, entry))
    stored = json.loads(result.data)["SensorProxyConfiguration"]["EncryptedUserPasswordData"]
    assert decrypt(key, stored["EncryptedBytes"]) == CANARY and stored["CertificateThumbprint"] == SECRET_MANAGER


@pytest.mark.parametrize("url, shown", [
    ("http://bob:Pa55-word@old.corp:3128", "http://bob:********@old.corp:3128"),
    ("http://bob:p/ss@w#rd@old.corp:3128", "http://bob:********@old.corp:3128"),  # the URL parser's port: by hand
    ("http://old.corp:3128", "http://old.corp:3128"),
])
def test_a_password_in_the_stored_url_is_never_carried(url, shown):
    doc = {"SensorProxyConfiguration": {"$type": "SensorProxyConfiguration", "Url": url}}
    cfg = sc.parse(json.dumps(doc).encode())
    assert cfg.proxy.url == shown and cfg.summary()["proxy"]["url"] == shown


def test_a_restore_over_an_unreadable_file_needs_a_sensors_file():
    from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _file_backup as fb

    sensors = json.dumps({sc.SENSOR_API_KEY: {"Address": "contoso-corpsensorapi.atp.azure.com"},
                          "SensorProxyConfiguration": None}).encode()
    assert fb.restored_bytes(sensors, "C:\\b\\SensorConfiguration.json", None, "cp1252", "the newest backup") == sensors
    with pytest.raises(UsageError, match="names no sensor API"):
        fb.restored_bytes(b"{}", "C:\\b\\x.json", None, "cp1252", "atp_proxy_backup_file")
    with pytest.raises(UsageError, match="^the newest backup: refusing to restore C:.b.x.reg: it is not a Sensor"):
        fb.restored_bytes(b"Windows Registry Editor Version 5.00\r\n", "C:\\b\\x.reg", None, "cp1252",
                          "the newest backup")

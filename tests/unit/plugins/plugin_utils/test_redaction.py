# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one masking rule (``_common._redaction``): what it masks, and that every place that masks secrets (the
probe, the Graph client, the sensor's logs, the sensor's URL messages, the fleet report) goes through it."""

from __future__ import annotations

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._cloud import _graph_client as graph_client
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _render as render
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _rows as rows
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _controller as probe_controller
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._probe import _run as probe_run
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _config_plan as config_plan
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _logs as logs

SECRET = "p@ss w/rd"


def test_every_form_of_a_given_secret_is_redacted():
    text = "Basic user:%s, in a URL http://user:%s@proxy:8080" % (SECRET, "p%40ss%20w%2Frd")
    assert redaction.redact(text, [SECRET]) == "Basic user:********, in a URL http://user:********@proxy:8080"
    assert redaction.redact(None, [SECRET]) is None
    scrubbed = redaction.scrub_secrets({"a": [SECRET, (SECRET,)], "n": 1}, [SECRET])
    assert scrubbed == {"a": ["********", ["********"]], "n": 1}


def test_url_credentials_and_password_like_keys_are_masked():
    assert redaction.mask_credentials("via http://svc:hunter2@proxy.corp:8080/x") == \
        "via http://svc:********@proxy.corp:8080/x"
    assert redaction.mask_credentials("svc:hunter2@proxy.corp:8080") == "svc:********@proxy.corp:8080"
    assert redaction.mask_credentials("no credentials at proxy.corp:8080") == "no credentials at proxy.corp:8080"
    assert redaction.mask_key_values('proxyPassword="hunter2"; token: abc') == 'proxyPassword="********"; token: ********'
    assert redaction.scrub({"proxy_password": "hunter2", "url": "http://u:hunter2@p:1", "n": [None, 2]}) == \
        {"proxy_password": "********", "url": "http://u:********@p:1", "n": [None, 2]}
    assert redaction.masked_url("http://u:p@ss@proxy:8080") == "http://***@proxy:8080"


def test_every_caller_masks_with_the_one_rule(monkeypatch):
    """Change the mask in _common._redaction and every caller shows the new one: none keeps a copy of the rule."""
    monkeypatch.setattr(redaction, "MASK", "<hidden>")
    assert logs.mask("2021-01-19 Error http://u:hunter2@proxy:8080 password=x " + SECRET, [SECRET]) == \
        "2021-01-19 Error http://u:<hidden>@proxy:8080 password=<hidden> <hidden>"
    for probe_module in (probe_controller, probe_run, graph_client):
        assert probe_module.redaction.redact("auth %s" % SECRET, [SECRET]) == "auth <hidden>"
        assert probe_module.redaction.scrub_secrets({"e": [SECRET]}, [SECRET]) == {"e": ["<hidden>"]}
    row = rows.rows_of([{"host": "dc01", "status": "failed", "error": "via http://u:hunter2@proxy:8080",
                         "proxy_password": "hunter2"}])[0]
    assert (row["error"], row["proxy_password"]) == ("via http://u:<hidden>@proxy:8080", "<hidden>")
    assert render.md("http://u:hunter2@proxy:8080") == "http://u:&lt;hidden&gt;@proxy:8080"  # Markdown-escaped
    assert config_plan.masked_url("http://u:hunter2@proxy:8080") == "http://***@proxy:8080"


def test_a_urls_password_is_found_whatever_characters_it_has():
    # A '/', '?' or '#' ends the authority for a URL parser, which then reads the password as the port.
    for password in ("Gs-SECRET/9090", "Gs#SECRET", "a?b", "p@ss", "plain"):
        assert redaction.userinfo_secret("http://probeuser:%s@proxy.corp:8080" % password) == password
        assert redaction.userinfo_secret("probeuser:%s@proxy.corp:8080" % password) == password
    for text in ("http://proxy.corp:8080", "http://user@proxy.corp:8080", "a@b.example", "", None, 5,
                 "two words:x@y"):
        assert redaction.userinfo_secret(text) is None


def test_the_secrets_of_a_tasks_arguments_are_its_no_log_values_and_url_passwords():
    args = {"proxy": "http://u:Gs-SECRET/1@p:8080", "proxy_password": "Pw-SECRET", "password_update": "always",
            "plan": {"proxy_password": "Plan-SECRET", "urls": ["https://a.example/x"]}, "timeout": 5}
    assert redaction.secrets_in(args, ("proxy_password",)) == ["Gs-SECRET/1", "Plan-SECRET", "Pw-SECRET"]


def test_a_json_password_key_is_masked_in_free_text():
    # The sensor writes its configuration as JSON; a log line quoting it has the key in quotes.
    assert redaction.mask_key_values('{"ProxyPassword":"Zq-SECRET-7781","Url":"http://p:1"}') == \
        '{"ProxyPassword":"********","Url":"http://p:1"}'


def test_the_sensor_logs_lose_every_secret_the_run_was_given():
    from base64 import b64encode

    from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._sensor import _after as after

    v = {"atp_proxy_sensor_proxy_username": "CORP\\svc", "atp_proxy_sensor_proxy_password": "Zq-SECRET",
         "atp_proxy_graph_client_secret": "Cp-SECRET", "atp_proxy_graph_proxy": "http://u:Gs-SECRET/9@p:8080",
         "atp_proxy_sensor_proxy_password_update": "always", "other_password": "not ours"}
    secrets = after.secrets(v)
    basic = b64encode(b"CORP\\svc:Zq-SECRET").decode()
    line = ("Proxy-Authorization: Basic %s; client secret Cp-SECRET; via http://u:Gs-SECRET%%2F9@p:8080; "
            "password_update always; not ours" % basic)
    masked = logs.mask(line, secrets)
    assert "SECRET" not in masked and basic not in masked, masked
    assert "password_update always; not ours" in masked

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

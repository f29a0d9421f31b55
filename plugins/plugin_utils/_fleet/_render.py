# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as an HTML page and its Markdown twin, from Jinja2 templates.

Pure Python, no Ansible imports (Jinja2 ships with ansible-core). The templates sit next to this file:
``_report.html.j2`` (autoescaped: every value is HTML-escaped unless the template marks it safe, which
only the page's own stylesheet and script are), ``_report.md.j2`` (every value goes through the ``md``
filter), ``_report.css`` and ``_report.js``.

The page loads nothing: its style and script are inline, and its Content-Security-Policy allows exactly
those two by their SHA-256 hashes (``default-src 'none'``), so no other script, style, image, font or
connection can run, even one smuggled into the data. The script only reads the page (sort, filter, the
state in the URL's ``#fragment``); the data never enters it, so its hash is fixed.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re

import jinja2
import markupsafe

from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._common import _redaction as redaction
from ansible_collections.atp.sensor_proxy.plugins.plugin_utils._fleet import _view as report

HERE = os.path.dirname(os.path.abspath(__file__))
HTML_TEMPLATE = "_report.html.j2"
MARKDOWN_TEMPLATE = "_report.md.j2"
FORMATS = {"html": "html", "htm": "html", "markdown": "markdown", "md": "markdown"}
MARK = {"ok": "✅", "change": "🔄", "warn": "⚠️", "bad": "❌", "off": "➖", "neutral": "", "zero": ""}


def _asset(name: str) -> str:
    with open(os.path.join(HERE, name), encoding="utf-8") as handle:
        return handle.read().strip()


def _sha256(text: str) -> str:
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


CSS = _asset("_report.css")
SCRIPT = _asset("_report.js")
CSP = ("default-src 'none'; script-src %s; style-src %s; img-src 'none'; base-uri 'none'; form-action 'none'"
       % (_sha256(SCRIPT), _sha256(CSS)))


def md(value) -> str:
    """A value as plain text in Markdown (a table cell or a list item): no markup, no pipes, no line breaks."""
    text = redaction.mask_credentials("" if value is None else str(value)).replace("\r", " ").replace("\n", " ")
    text = html.escape(text, quote=False)
    for char in "\\`*[]|":
        text = text.replace(char, "\\" + char)
    # An underscore inside a word never emphasises (GFM); escape only the others.
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md
    env.globals.update(mark=MARK, css=markupsafe.Markup(CSS),
                       script=markupsafe.Markup(SCRIPT), csp=CSP)
    return env


_ENVIRONMENTS: dict = {}


def environment(fmt: str) -> jinja2.Environment:
    """The Jinja2 environment of a format (HTML: autoescaped), built once."""
    if fmt not in _ENVIRONMENTS:
        _ENVIRONMENTS[fmt] = _environment(autoescape=fmt == "html")
    return _ENVIRONMENTS[fmt]


def render_view(view: dict, fmt: str) -> str:
    """The page of a view from :func:`_fleet._view.build`."""
    kind = FORMATS.get(report._text(fmt).lower())
    if kind is None:
        raise ValueError("format must be 'html' or 'markdown', got %r" % fmt)
    template = environment(kind).get_template(HTML_TEMPLATE if kind == "html" else MARKDOWN_TEMPLATE)
    return template.render(r=view)


def render(rows, fmt: str = "html", title: str = report.TITLE, generated: str = "", sources: int = 0) -> str:
    """The report of ``rows`` (host summaries) in ``fmt``: ``html`` or ``markdown``."""
    if report._text(fmt).lower() not in FORMATS:
        raise ValueError("format must be 'html' or 'markdown', got %r" % fmt)
    return render_view(report.build(rows, title=title, generated=generated, sources=sources), fmt)

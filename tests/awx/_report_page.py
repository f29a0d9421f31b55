# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the fleet report the way a person does: the tiles, the causes, the table's cells, and Chromium."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

from tests._helpers import run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


class Page(HTMLParser):
    """tiles {key: (class, value)}, causes [{number, class, text, hosts}], headers [(text, attrs)], rows
    {host: {"attrs": tr attrs, "cells": [(class, attrs, text)]}}, tags [(tag, attrs)], scripts, styles."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.tiles, self.causes, self.headers, self.rows, self.tags = {}, [], [], {}, []
        self.scripts, self.styles = [], []
        self._stack = []
        self._row = self._cell = self._tile = self._cause = self._head = None
        self._raw = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag in ("script", "style"):
            self._raw = (tag, [])
        elif tag == "li" and "data-total" in attrs:
            self._tile = (attrs["data-total"], attrs.get("class", ""), [])
        elif tag == "li" and "data-cause" in attrs:
            self._cause = {"number": attrs["data-cause"], "class": attrs.get("class", ""), "text": []}
        elif tag == "tr" and "data-host" in attrs:
            self._row = attrs["data-host"]
            self.rows[self._row] = {"attrs": attrs, "cells": []}
        elif tag == "th" and self._row is None:
            self._head = (attrs, [])
        elif tag == "td" and self._row is not None:
            self._cell = (attrs, [])

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._raw:
            (self.scripts if tag == "script" else self.styles).append("".join(self._raw[1]))
            self._raw = None
        elif tag == "li" and self._tile:
            key, css, text = self._tile
            self.tiles[key] = (css, text[0] if text else "")
            self._tile = None
        elif tag == "li" and self._cause:
            self._cause["text"] = " ".join(self._cause["text"])
            self.causes.append(self._cause)
            self._cause = None
        elif tag == "th" and self._head:
            self.headers.append((" ".join(self._head[1]).replace("_ ", "_"), self._head[0]))
            self._head = None
        elif tag == "td" and self._cell:
            attrs, text = self._cell
            self.rows[self._row]["cells"].append((attrs.get("class", ""), attrs, " ".join(text)))
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._raw:
            self._raw[1].append(data)
            return
        text = data.strip()
        if not text:
            return
        for item in (self._tile[2] if self._tile else None, self._cause["text"] if self._cause else None,
                     self._head[1] if self._head else None, self._cell[1] if self._cell else None):
            if item is not None:
                item.append(text)

    def cell(self, host: str, **match) -> tuple:
        """(class, text) of the host's cell whose attributes match (``data_sid="S-1-5-19"``)."""
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in match.items()}
        for css, attrs, text in self.rows[host]["cells"]:
            if all(attrs.get(k) == v for k, v in wanted.items()):
                return css, text
        raise AssertionError("no cell %r for %s in %r" % (wanted, host, self.rows[host]["cells"]))

    def cause_of(self, fragment: str) -> dict:
        found = [c for c in self.causes if fragment in c["text"]]
        assert len(found) == 1, (fragment, [c["text"] for c in self.causes])
        return found[0]


def chromium(args, user_data_dir: Path, timeout: int = 120):
    return run([CHROMIUM] + CHROMIUM_FLAGS + ["--user-data-dir=%s" % user_data_dir] + list(args), timeout=timeout,
               check=False)


def screenshot(page: Path, png: Path, user_data_dir: Path, size=(1400, 1000), fragment: str = "") -> Path:
    proc = chromium(["--screenshot=%s" % png, "--window-size=%d,%d" % size, "--hide-scrollbars",
                     page.as_uri() + fragment], user_data_dir)
    assert png.exists(), "chromium wrote no screenshot: rc=%s\n%s" % (proc.returncode, proc.stderr[-3000:])
    return png


def dump_dom(page: Path, user_data_dir: Path, fragment: str = "") -> str:
    """The DOM after the page's own script ran (Chromium --dump-dom)."""
    proc = chromium(["--dump-dom", "--virtual-time-budget=5000", page.as_uri() + fragment], user_data_dir)
    assert "<html" in proc.stdout, proc.stderr[-3000:]
    return proc.stdout


def pixel_share(rows, colour, box=None, tolerance=4, step=3) -> float:
    """Share of the sampled pixels (every ``step``-th, inside ``box`` = (x0, y0, x1, y1)) that are ``colour``."""
    x0, y0, x1, y1 = box or (0, 0, len(rows[0]), len(rows))
    hits = total = 0
    for row in rows[y0:y1:step]:
        for pixel in row[x0:x1:step]:
            total += 1
            if all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True)):
                hits += 1
    return hits / max(total, 1)


GREEN, BLUE, AMBER, RED = (0xDA, 0xFB, 0xE1), (0xDD, 0xF4, 0xFF), (0xFF, 0xF8, 0xC5), (0xFF, 0xEB, 0xE9)

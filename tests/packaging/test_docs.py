# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The committed docs are what antsibull-docs (make docs: hack/docs.py) makes of the plugins' DOCUMENTATION, and
every page is linked."""

from __future__ import annotations

import ast
import json
import re
import sys

import yaml

from tests._helpers import REPO, run

DOCS = REPO / "docs"


def _generate(tmp_path):
    out = tmp_path / "docs"
    run([sys.executable, REPO / "hack" / "docs.py", "--output", out])
    return out


def test_generated_reference_pages_are_up_to_date(tmp_path):
    out = _generate(tmp_path)
    generated = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.md"))
    committed = sorted(p.relative_to(DOCS).as_posix() for folder in ("modules", "roles")
                       for p in (DOCS / folder).glob("*.md"))
    assert "index.md" in generated
    assert [g for g in generated if g != "index.md"] == committed, "run `make docs` and commit docs/"
    stale = [name for name in generated if (out / name).read_text() != (DOCS / name).read_text()]
    assert stale == [], "docs out of date (run `make docs`): %s" % ", ".join(stale)


def _read_module(path):
    """DOCUMENTATION (with this collection's doc fragments' options), EXAMPLES and RETURN of a doc stub."""
    names = ("DOCUMENTATION", "EXAMPLES", "RETURN")
    found = {node.targets[0].id: node.value.value for node in ast.parse(path.read_text()).body
             if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in names}
    doc = yaml.safe_load(found.get("DOCUMENTATION") or "") or {}
    for name in doc.get("extends_documentation_fragment") or []:
        if name.startswith("atp.sensor_proxy."):
            parts = name.split(".")
            source = (REPO / "plugins" / "doc_fragments" / (parts[2] + ".py")).read_text()
            constant = parts[3].upper() if len(parts) > 3 else "DOCUMENTATION"
            text = next(node.value.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Assign)
                        and any(getattr(t, "id", None) == constant for t in node.targets))
            doc["options"] = dict((yaml.safe_load(text) or {}).get("options") or {}, **(doc.get("options") or {}))
    return {"doc": doc, "examples": (found.get("EXAMPLES") or "").strip("\n"),
            "returns": yaml.safe_load(found.get("RETURN") or "") or {}}


def _module_docs():
    for path in sorted((REPO / "plugins" / "modules").glob("*.py")):
        if path.name != "__init__.py":
            yield path.stem, _read_module(path)
    for path in sorted((REPO / "plugins" / "filter").glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        examples = data.get("EXAMPLES") or ""
        yield path.stem, {"doc": data["DOCUMENTATION"], "returns": data.get("RETURN") or {},
                          "examples": (examples if isinstance(examples, str) else yaml.safe_dump(examples)).strip("\n")}


def _option_names(options, prefix="", key="suboptions"):
    """Full option paths as antsibull-docs anchors them: ``a/b`` for suboption b of a."""
    for name, spec in (options or {}).items():
        yield prefix + name
        yield from _option_names((spec or {}).get(key) or (spec or {}).get("options"), prefix + name + "/", key)


def test_every_option_and_return_value_is_on_its_page():
    names = []
    for name, docs in _module_docs():
        page = (DOCS / "modules" / ("%s.md" % name)).read_text()
        names.append(name)
        assert docs["doc"]["short_description"].split("`")[0][:30] in page.replace("`", "")
        # antsibull-docs anchors every option and return value (suboptions as a/b); a filter's input is _input.
        for option in _option_names(docs["doc"].get("options")):
            assert 'id="parameter-%s"' % option in page, "%s: option %s missing" % (name, option)
        for key in _option_names(docs["returns"], key="contains"):
            assert 'id="return-%s"' % key in page, "%s: return value %s missing" % (name, key)
        if docs["examples"]:
            assert docs["examples"].strip().splitlines()[0].strip() in page
    assert {"fleet_report", "win_wininet_proxy"} <= set(names)
    for spec_file in REPO.glob("roles/*/meta/argument_specs.yml"):
        role = spec_file.parent.parent.name
        page = (DOCS / "roles" / ("%s.md" % role)).read_text()
        specs = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]
        for option in _option_names(specs["options"], key="options"):
            assert 'id="parameter-main--%s"' % option in page, "%s: variable %s missing" % (role, option)


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_index_links_every_page_and_every_link_resolves():
    index = (DOCS / "index.md").read_text()
    linked = {(DOCS / target).resolve() for target in LINK.findall(index) if "://" not in target}
    pages = {p.resolve() for p in DOCS.rglob("*.md") if p.name != "index.md"}
    missing = sorted(str(p.relative_to(DOCS)) for p in pages - linked)
    assert missing == [], "pages not linked from docs/index.md: %s" % missing
    broken = []
    for page in DOCS.rglob("*.md"):
        for target in LINK.findall(page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append("%s -> %s" % (page.relative_to(DOCS), target))
    assert broken == []


def test_wininet_format_page_cites_every_fixture_source():
    page = (DOCS / "wininet_format.md").read_text()
    values = json.loads((REPO / "tests" / "fixtures" / "wininet_values.json").read_text())
    for value in values:
        repo_commit, dummy, path = value["source"].partition(" : ")
        repo, dummy, commit = repo_commit.partition(" @")
        path = path.split(" (")[0]
        assert repo in page and commit[:12] in page and path in page, value["id"]
    for term in ("0x46", "0x3C", "0x28", "change counter", "detection cache", "identical", "equivalent",
                 "different", "flag is off"):
        assert term in page, term


def test_screenshot_for_the_docs_is_a_real_png():
    png = DOCS / "images" / "fleet_report.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert "images/fleet_report.png" in (DOCS / "awx.md").read_text()

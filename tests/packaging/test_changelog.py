# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""antsibull-changelog: the fragments lint clean and a release changelog can be generated from them."""

from __future__ import annotations

import re

import yaml

from tests._helpers import REPO, ansible_env, clean_copy, galaxy_version, run, tool


def _fragment_entries(root):
    entries = []
    for path in sorted((root / "changelogs" / "fragments").glob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        for section, items in data.items():
            for item in items if isinstance(items, list) else [items]:
                entries.append((path.name, section, " ".join(str(item).split())))
    return entries


def test_changelog_lint():
    proc = run([tool("antsibull-changelog"), "lint"], cwd=REPO, env=ansible_env())
    assert proc.stdout.strip() == "", proc.stdout


def test_release_changelog_contains_every_fragment(tmp_path):
    # antsibull-changelog runs ansible-doc on the collection: it must sit under ansible_collections/atp/.
    root = tmp_path / "ansible_collections" / "atp" / "sensor_proxy"
    clean_copy(root)
    entries = _fragment_entries(root)
    assert entries, "no changelog fragment: every user-visible change needs one"
    env = ansible_env(collections_path=tmp_path, tmp=tmp_path)
    version = galaxy_version()
    run([tool("antsibull-changelog"), "release", "--version", version, "--date", "2026-12-01"], cwd=root, env=env)
    changelog = (root / "CHANGELOG.rst").read_text()
    flat = " ".join(changelog.split())
    assert "v%s" % version in changelog
    for name, section, text in entries:
        if section == "trivial":  # recorded in changelog.yaml, never rendered (changelogs/config.yaml)
            continue
        assert text in flat, "%s (%s) is missing from CHANGELOG.rst" % (name, section)
    # Fragments are consumed into changelogs/changelog.yaml.
    assert not list((root / "changelogs" / "fragments").glob("*.yml"))
    release = yaml.safe_load((root / "changelogs" / "changelog.yaml").read_text())["releases"][version]
    assert sorted(release["fragments"]) == sorted({name for name, _s, _t in entries})
    # New plugins are announced: every filter with a doc file appears under "New Plugins" (of its release).
    for doc in sorted((root / "plugins" / "filter").glob("*.yml")):
        assert re.search(r"- atp\.sensor_proxy\.%s - " % re.escape(doc.stem), changelog), doc.stem

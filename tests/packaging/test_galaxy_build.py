# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Distribution: build the Galaxy tarball from a clean copy, install it into a clean path, use it by FQCN.

Modules, filters, roles and playbooks are discovered from the tarball, so new ones are covered.
ansible.windows comes from the venv's ``ansible`` package (Galaxy is not reachable here).
"""

from __future__ import annotations

import json
import tarfile
from pathlib import PurePosixPath

import pytest
import yaml

from tests._helpers import SITE_COLLECTIONS, ansible_env, build_collection, galaxy_version, run, tool

NAMESPACE = "atp.sensor_proxy"
NOT_SHIPPED = ("tests", "bench", "hack", ".build", ".venv", ".ci", ".git", ".cache", ".pytest_cache")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    work = tmp_path_factory.mktemp("galaxy")
    tarball = build_collection(work)
    with tarfile.open(tarball) as tar:
        names = [n[2:] if n.startswith("./") else n for n in tar.getnames()]
    clean = work / "clean"
    env = ansible_env(collections_path=clean, tmp=work)
    run([tool("ansible-galaxy"), "collection", "install", "--no-deps", "-p", clean, tarball], env=env)
    installed = clean / "ansible_collections" / "atp" / "sensor_proxy"
    assert (installed / "MANIFEST.json").is_file()
    return {"tarball": tarball, "names": names, "clean": clean, "env": env, "work": work, "src": work / "src"}


def _discover(names, folder, suffix, depth=1):
    found = []
    for name in names:
        path = PurePosixPath(name)
        if len(path.parts) == folder.count("/") + 1 + depth and name.startswith(folder + "/") and name.endswith(suffix):
            found.append(path)
    return sorted(found)


def test_tarball_has_no_tests_lab_bench_or_dev_files(built):
    assert built["tarball"].name == "atp-sensor_proxy-%s.tar.gz" % galaxy_version()
    leaked = [n for n in built["names"] if PurePosixPath(n).parts and PurePosixPath(n).parts[0] in NOT_SHIPPED]
    assert leaked == []
    assert not [n for n in built["names"] if "tests/lab" in n or n.endswith((".pyc", ".tar.gz"))]
    for dev_file in ("Makefile", "requirements-dev.txt", "requirements-dev.lock", "pyproject.toml", ".ansible-lint", ".gitignore"):
        assert dev_file not in built["names"]
    for shipped in ("MANIFEST.json", "FILES.json", "README.md", "COPYING", "meta/runtime.yml",
                    "meta/execution-environment.yml", "requirements.txt", "bindep.txt",
                    "plugins/plugin_utils/_wininet/_codec.py", "plugins/filter/fleet_report.py"):
        assert shipped in built["names"], shipped


def test_every_shipped_playbook_and_plugin_was_packed(built):
    """Nothing the checkout has under plugins/, roles/ or playbooks/ is missing from the tarball."""
    src = built["src"]
    for folder in ("plugins", "roles", "playbooks", "meta"):
        for path in (src / folder).rglob("*") if (src / folder).exists() else []:
            if path.is_file() and "__pycache__" not in path.parts:
                assert str(path.relative_to(src)) in built["names"]


def test_ansible_doc_of_every_module_and_filter_by_fqcn(built):
    modules = [p.stem for p in _discover(built["names"], "plugins/modules", ".py") if p.stem != "__init__"]
    filter_docs = [p.stem for p in _discover(built["names"], "plugins/filter", ".yml")]
    assert "fleet_report" in filter_docs
    env = built["env"]

    # What ansible itself finds in the installed collection matches what the tarball ships.
    listed = json.loads(run([tool("ansible-doc"), "-t", "filter", "-l", NAMESPACE, "--json"], env=env).stdout)
    assert sorted(listed) == sorted("%s.%s" % (NAMESPACE, f) for f in filter_docs)
    if modules:
        listed = json.loads(run([tool("ansible-doc"), "-t", "module", "-l", NAMESPACE, "--json"], env=env).stdout)
        assert sorted(listed) == sorted("%s.%s" % (NAMESPACE, m) for m in modules)

    for kind, names in (("module", modules), ("filter", filter_docs)):
        if not names:
            continue
        fqcns = ["%s.%s" % (NAMESPACE, n) for n in names]
        proc = run([tool("ansible-doc"), "-t", kind, "--json", *fqcns], env=env)
        docs = json.loads(proc.stdout)
        assert "[WARNING]" not in proc.stderr, proc.stderr
        for fqcn in fqcns:
            doc = docs[fqcn]["doc"]
            assert doc["short_description"], fqcn
            assert docs[fqcn]["examples"], "%s has no EXAMPLES" % fqcn
            assert str(doc["filename"]).startswith(str(built["clean"])), "%s not from the clean path" % fqcn
        # And the text rendering users read works.
        text = run([tool("ansible-doc"), "-t", kind, *fqcns], env=env).stdout
        for fqcn in fqcns:
            assert fqcn in text


def test_ansible_doc_of_every_role(built):
    roles = [p.parts[1] for p in _discover(built["names"], "roles", "argument_specs.yml", depth=3)]
    for role in roles:
        proc = run([tool("ansible-doc"), "-t", "role", "--json", "%s.%s" % (NAMESPACE, role)], env=built["env"])
        doc = json.loads(proc.stdout)["%s.%s" % (NAMESPACE, role)]
        assert doc["entry_points"]["main"]["options"], role


def test_syntax_check_of_every_playbook_by_fqcn(built):
    playbooks = [p.stem for p in _discover(built["names"], "playbooks", ".yml")]
    src_playbooks = sorted(p.stem for p in (built["src"] / "playbooks").glob("*.yml")) \
        if (built["src"] / "playbooks").is_dir() else []
    assert sorted(playbooks) == src_playbooks
    if not playbooks:
        pytest.fail("no playbooks/*.yml in the collection yet")
    inventory = built["work"] / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"atp_sensors": {"hosts": {"dc01": {}}}}))
    fqcns = ["%s.%s" % (NAMESPACE, p) for p in playbooks]
    proc = run([tool("ansible-playbook"), "--syntax-check", "-i", inventory, *fqcns], env=built["env"], cwd=built["work"])
    assert "ERROR" not in proc.stderr


def test_clean_path_really_is_the_only_atp_collection(built):
    """The checks above ran against the installed tarball, not this checkout."""
    proc = run([tool("ansible-galaxy"), "collection", "list", NAMESPACE, "--format", "json"], env=built["env"])
    found = json.loads(proc.stdout)
    assert list(found) == [str(built["clean"] / "ansible_collections")]
    assert SITE_COLLECTIONS.exists()

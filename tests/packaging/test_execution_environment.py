# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""execution-environment.yml -> ansible-builder build context, and the builder's own introspection.

No container engine runs here, so ``ansible-builder build`` is not possible; everything up to it is:
``ansible-builder create``, the galaxy stage's collection install and the builder stage's
``introspect.py`` (which reads our ``meta/execution-environment.yml``) run for real.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile

import pytest
import yaml
from packaging.requirements import Requirement

from tests._helpers import REPO, ansible_env, build_collection, galaxy_version, run, tool


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    work = tmp_path_factory.mktemp("ee")
    tarball = build_collection(work)
    project = work / "project"
    project.mkdir()
    for name in ("execution-environment.yml", "bindep.txt", "requirements.txt"):
        shutil.copy(REPO / name, project / name)
    # Where docs/execution-environment.md tells people to build it: next to the EE file.
    shutil.copy(tarball, project / tarball.name)
    ctx = work / "context"
    proc = run([tool("ansible-builder"), "create", "-f", project / "execution-environment.yml", "-c", ctx,
                "--output-filename", "Containerfile", "-v3"], cwd=project, env=ansible_env(tmp=work))
    assert "No matches" not in proc.stdout + proc.stderr
    return {"dir": ctx, "work": work, "tarball": tarball}


def test_definition_is_schema_v3_with_the_windows_transports():
    definition = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert definition["version"] == 3
    deps = definition["dependencies"]
    assert deps["system"] == "bindep.txt"
    reqs = {Requirement(line).name.lower(): Requirement(line) for line in deps["python"]}
    assert reqs["pywinrm"].extras == {"kerberos", "credssp"}
    assert reqs["pypsrp"].extras == {"kerberos", "credssp"}
    assert "requests" in reqs
    assert [c["name"] for c in deps["galaxy"]["collections"]] == ["ansible.windows"]


def test_containerfile_installs_base_ansible_and_our_collection(context):
    containerfile = (context["dir"] / "Containerfile").read_text()
    definition = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert 'ARG EE_BASE_IMAGE="%s"' % definition["images"]["base_image"]["name"] in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    refs = re.search(r'ARG ANSIBLE_INSTALL_REFS="([^"]+)"', containerfile).group(1)
    assert "ansible-core" in refs and "ansible-runner" in refs
    stages = re.split(r"^FROM ", containerfile, flags=re.M)
    galaxy = next(s for s in stages if s.startswith("base AS galaxy"))
    builder = next(s for s in stages if s.startswith("base AS builder"))
    final = next(s for s in stages if s.startswith("base AS final"))
    assert "COPY _build/atp_collection/ /build/atp_collection/" in galaxy
    assert "-r requirements.yml" in galaxy  # ansible.windows
    assert re.search(r"ansible-galaxy collection install .*--no-deps -p /usr/share/ansible/collections "
                     r"/build/atp_collection/atp-sensor_proxy-\*\.tar\.gz", galaxy)
    assert "python3.11-devel" in builder and "introspect.py introspect" in builder
    assert "COPY --from=galaxy /usr/share/ansible /usr/share/ansible" in final
    assert "install-from-bindep" in final


def test_build_context_files(context):
    build = context["dir"] / "_build"
    assert (build / "bindep.txt").read_text().strip() == (REPO / "bindep.txt").read_text().strip()
    pip = [Requirement(line) for line in (build / "requirements.txt").read_text().split("\n") if line.strip()]
    assert {r.name.lower() for r in pip} == {"pywinrm", "pypsrp", "requests"}
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    assert galaxy["collections"][0]["name"] == "ansible.windows"
    copied = build / "atp_collection" / context["tarball"].name
    assert copied.name == "atp-sensor_proxy-%s.tar.gz" % galaxy_version()
    with tarfile.open(copied) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        names = set(tar.getnames())
    assert manifest["collection_info"]["namespace"] == "atp" and manifest["collection_info"]["name"] == "sensor_proxy"
    assert {"meta/execution-environment.yml", "requirements.txt", "bindep.txt"} <= names
    for script in ("assemble", "introspect.py", "install-from-bindep", "entrypoint"):
        assert (build / "scripts" / script).is_file()


def test_builder_introspection_reads_our_collection_metadata(context, tmp_path):
    """The galaxy stage installs the tarball; the builder stage's introspect.py merges its EE metadata."""
    share = tmp_path / "usr_share_ansible_collections"
    tarball = context["dir"] / "_build" / "atp_collection" / context["tarball"].name
    # The checkout's own atp.sensor_proxy must not be on the path, or galaxy says "nothing to do".
    run([tool("ansible-galaxy"), "collection", "install", "--no-deps", "-p", share, tarball],
        env=ansible_env(collections_path=share, tmp=tmp_path))
    build = context["dir"] / "_build"
    pip_out, bindep_out = tmp_path / "pip.txt", tmp_path / "bindep.txt"
    run([tool("python"), build / "scripts" / "introspect.py", "introspect",
         "--user-pip=%s" % (build / "requirements.txt"), "--user-bindep=%s" % (build / "bindep.txt"),
         "--write-pip", pip_out, "--write-bindep", bindep_out, share])
    pip = pip_out.read_text().splitlines()
    ours = [line for line in pip if line.endswith("# from collection atp.sensor_proxy")]
    # requirements.txt minus what ansible-builder always excludes (ansible-core).
    wanted = [line for line in (REPO / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#") and not line.startswith("ansible-core")]
    assert [line.split("  #")[0] for line in ours] == wanted
    assert "pywinrm[kerberos,credssp]>=0.4.3  # from collection user" in pip
    system = bindep_out.read_text()
    assert "libkrb5-dev [platform:dpkg]  # from collection atp.sensor_proxy" in system
    assert "krb5-devel [platform:rpm]  # from collection atp.sensor_proxy" in system
    # bindep itself resolves the merged file (on this Debian machine: the dpkg entries).
    listed = run([tool("bindep"), "-l", "newline", "-f", bindep_out, "compile"]).stdout.split()
    assert {"libkrb5-dev", "krb5-user", "python3-dev", "build-essential"} <= set(listed)


def test_collection_metadata_points_at_existing_files():
    meta = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert meta == {"version": 1, "dependencies": {"python": "requirements.txt", "system": "bindep.txt"}}
    for name in meta["dependencies"].values():
        assert (REPO / name).is_file()


def test_the_image_tag_the_docs_build_and_awx_uses_is_this_collection_version():
    # The image holds this collection: its tag in the docs, the EE file and the AWX configuration is the version that
    # goes into it (it said 0.1.0 after galaxy.yml went to 0.2.0).
    version = galaxy_version()
    tags = {}
    for name in ("execution-environment.yml", "docs/execution-environment.md", "docs/awx.md", "awx/configure_awx.yml"):
        for tag in re.findall(r"atp-sensor-proxy-ee:([0-9A-Za-z.\-]+)", (REPO / name).read_text(encoding="utf-8")):
            tags.setdefault(tag.rstrip("."), []).append(name)
    assert tags and set(tags) == {version}, tags

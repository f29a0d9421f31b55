# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What users read with ``ansible-doc``: every module, filter and role of the collection as ``ansible-doc --json``
prints it, with the machine's paths taken out.

The snapshot in ``ansible_doc.json`` is the interface the collection promises; ``test_ansible_doc.py`` fails when a
change alters it by accident (a moved file, a refactored argument spec). When a change to the docs is meant, run
``.venv/bin/python tests/packaging/ansible_doc_snapshot.py --write`` and commit the new snapshot with the change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = Path(__file__).with_name("ansible_doc.json")
TYPES = ("module", "filter", "role")
_MACHINE_KEYS = ("filename", "path")


def _ansible_doc(*args: str) -> dict:
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"), ANSIBLE_NOCOLOR="1")
    out = subprocess.run([str(bin_dir / "ansible-doc"), *args, "--json"], capture_output=True, text=True, env=env,
                         timeout=300, check=True).stdout
    return json.loads(out)


def _without_machine_paths(value):
    if isinstance(value, dict):
        return {k: _without_machine_paths(v) for k, v in value.items() if k not in _MACHINE_KEYS}
    if isinstance(value, list):
        return [_without_machine_paths(v) for v in value]
    return value


def current() -> dict:
    """The documentation of every plugin and role of the collection, keyed by type and then by name."""
    docs = {}
    for kind in TYPES:
        names = sorted(_ansible_doc("-t", kind, "-l", "atp.sensor_proxy"))
        docs[kind] = _without_machine_paths(_ansible_doc("-t", kind, *names))
    return docs


def main(argv: list) -> int:
    docs = current()
    if "--write" in argv:
        SNAPSHOT.write_text(json.dumps(docs, indent=1, sort_keys=True) + "\n")
        print("wrote %s" % SNAPSHOT.relative_to(REPO))
    else:
        print(json.dumps(docs, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

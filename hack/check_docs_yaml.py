# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse every DOCUMENTATION, EXAMPLES and RETURN of plugins/modules and plugins/doc_fragments, and every role's
meta/argument_specs.yml, as YAML; exit 1 naming each bad one."""

import ast
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
bad = 0
for path in sorted((ROOT / "plugins").glob("*/*.py")):
    if path.parent.name not in ("modules", "doc_fragments"):
        continue
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
            try:
                yaml.safe_load(node.value.value)
            except yaml.YAMLError as exc:
                bad += 1
                print("%s %s: %s" % (path.relative_to(ROOT), node.targets[0].id, str(exc).splitlines()[0]))
for path in sorted((ROOT / "roles").glob("*/meta/argument_specs.yml")):
    try:
        yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        bad += 1
        print("%s: %s" % (path.relative_to(ROOT), " ".join(str(exc).split())))
sys.exit(1 if bad else 0)

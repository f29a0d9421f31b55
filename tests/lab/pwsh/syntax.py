# Copyright: (c) 2026, atp.sensor_proxy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse a script with tree-sitter-powershell and walk its syntax tree.

TEST ONLY. The grammar (the ``tree-sitter-powershell`` wheel pinned in ``requirements-dev.lock``) follows the
PowerShell Language Specification 3.0 chapter 7 ("Expressions") precedence chain: every expression is nested
``logical_expression > bitwise_expression > comparison_expression > additive_expression > ... >
unary_expression``, each with one child when its operator is absent. :func:`unwrap` skips those one-child
links, so the interpreter sees the node that does something.

A script that does not parse is a :class:`ScriptSyntaxError`: win_powershell would fail it with PowerShell's
ParseException before running a line (win_powershell.ps1 lines 550-566 only use the parse for
``SupportsShouldProcess``; ``$ps.Invoke()`` then throws the parse error).
"""

from __future__ import annotations

import functools

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

from tests.lab.pwsh.errors import ScriptSyntaxError

# The one-child links of the precedence chain (and the pipeline wrappers around a lone expression).
CHAIN = frozenset({
    "logical_expression", "bitwise_expression", "comparison_expression", "additive_expression",
    "multiplicative_expression", "format_expression", "range_expression", "array_literal_expression",
    "unary_expression", "key_expression", "pipeline_chain", "expression_with_unary_operator",
    "left_assignment_expression", "argument_expression", "logical_argument_expression",
    "bitwise_argument_expression", "comparison_argument_expression", "additive_argument_expression",
    "multiplicative_argument_expression", "format_argument_expression", "range_argument_expression",
})


@functools.lru_cache(maxsize=1)
def parser() -> Parser:
    return Parser(Language(tree_sitter_powershell.language()))


def parse(script: str) -> Node:
    """The root node of ``script``; raises :class:`ScriptSyntaxError` naming the first error and its line."""
    root, error = _parsed(script)
    if error is not None:
        raise ScriptSyntaxError(error)
    return root


@functools.lru_cache(maxsize=128)
def _parsed(script: str) -> tuple:
    """``(root, None)`` or ``(None, message)``, once per script text and process. A syntax tree is immutable (the
    interpreter only reads it), so a script run again (the probe's per-URL script block, added to one runspace per
    URL) reuses the tree of the exact same text instead of parsing and checking it again."""
    root = parser().parse(script.encode("utf-8")).root_node
    bad = first_error(root)
    if bad is not None:
        return None, ("the script does not parse: %s at line %d: %s"
                      % ("missing " + bad.type if bad.is_missing else "unexpected text", line(bad),
                         text(bad)[:60] or bad.type))
    return root, None


def first_error(node: Node):
    if node.type == "ERROR" or node.is_missing:
        return node
    if not node.has_error:
        return None
    for child in node.children:
        found = first_error(child)
        if found is not None:
            return found
    return None


def unwrap(node: Node) -> Node:
    while node.type in CHAIN and node.named_child_count == 1 and node.child_count == 1:
        node = node.children[0]
    return node


def line(node: Node) -> int:
    return node.start_point[0] + 1


def column(node: Node) -> int:
    return node.start_point[1] + 1


def text(node: Node) -> str:
    return node.text.decode("utf-8")


def named(node: Node) -> list:
    """The named children, without comments."""
    return [c for c in node.named_children if c.type != "comment"]


def child_of_type(node: Node, *types):
    for c in node.children:
        if c.type in types:
            return c
    return None


def walk(node: Node):
    yield node
    for child in node.children:
        yield from walk(child)

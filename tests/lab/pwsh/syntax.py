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


def parse(script: str) -> SyntaxNode:
    """The root node of ``script``; raises :class:`ScriptSyntaxError` naming the first error and its line."""
    root, error = _parsed(script)
    if error is not None:
        raise ScriptSyntaxError(error)
    return root


@functools.lru_cache(maxsize=128)
def _parsed(script: str) -> tuple:
    """``(root, None)`` or ``(None, message)``, once per script text and process. A syntax tree is immutable (the
    interpreter only reads it), so a script run again (the probe's per-URL script block, added to one runspace per
    URL) reuses the tree of the exact same text instead of parsing and checking it again; the lab's agent parses the
    collection's own scripts once before it forks (``preparse``), as Windows PowerShell caches the compiled script
    block of a script text it has run (``ScriptBlock``'s cache of parsed scripts, keyed by their text)."""
    root = parser().parse(script.encode("utf-8")).root_node
    bad = first_error(root)
    if bad is not None:
        return None, ("the script does not parse: %s at line %d: %s"
                      % ("missing " + bad.type if bad.is_missing else "unexpected text", line(bad),
                         text(bad)[:60] or bad.type))
    return SyntaxNode.of(root), None


def preparse(*scripts: str) -> None:
    """Parse ``scripts`` now, into this process's cache (the agent, before it forks its module calls), and the text
    of each script block literal in them (what ``[ScriptBlock].ToString()`` gives, which ``PowerShell.AddScript``
    parses again: the probe's per-URL request)."""
    for script in scripts:
        root, dummy = _parsed(script)
        for node in walk(root) if root is not None else ():
            if node.type == "script_block_expression":
                _parsed(text(node)[1:-1])


class SyntaxNode:
    """A read-only copy of one tree-sitter node and its subtree, with the attributes the executor reads (the same
    names as :class:`tree_sitter.Node`) as plain Python values, and what :func:`named`, :func:`text` and
    :func:`unwrap` compute, computed once. The executor visits each node of a script many times (a loop body, a
    script block per URL); a tree-sitter node makes a new Python object for each child and each property read."""

    __slots__ = ("type", "children", "named_children", "child_count", "named_child_count", "text", "start_point",
                 "start_byte", "end_byte", "is_named", "is_missing", "has_error", "named", "str", "unwrapped")

    @classmethod
    def of(cls, node: Node) -> SyntaxNode:
        self = cls()
        self.type = node.type
        self.text = node.text
        self.str = self.text.decode("utf-8")
        self.start_point = tuple(node.start_point)
        self.start_byte, self.end_byte = node.start_byte, node.end_byte
        self.is_named, self.is_missing, self.has_error = node.is_named, node.is_missing, node.has_error
        self.children = tuple(cls.of(c) for c in node.children)
        self.named_children = tuple(c for c in self.children if c.is_named)
        self.child_count, self.named_child_count = len(self.children), len(self.named_children)
        self.named = tuple(c for c in self.named_children if c.type != "comment")
        inner = self
        while inner.type in CHAIN and inner.named_child_count == 1 and inner.child_count == 1:
            inner = inner.children[0]
        self.unwrapped = inner
        return self


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


def unwrap(node):
    if isinstance(node, SyntaxNode):
        return node.unwrapped
    while node.type in CHAIN and node.named_child_count == 1 and node.child_count == 1:
        node = node.children[0]
    return node


def line(node: Node) -> int:
    return node.start_point[0] + 1


def column(node: Node) -> int:
    return node.start_point[1] + 1


def text(node) -> str:
    if isinstance(node, SyntaxNode):
        return node.str
    return node.text.decode("utf-8")


def named(node):
    """The named children, without comments (a tuple for a parsed script's node)."""
    if isinstance(node, SyntaxNode):
        return node.named
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

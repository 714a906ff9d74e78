"""Stored query trees (pg_node_tree) read from the server's own text of them.

PostgreSQL stores every view's query, SQL-standard function body, argument default, policy
expression and domain constraint as a node tree, with every function, operator, relation and
type resolved to its OID. The text format (outfuncs.c) is `{NODE :field value ...}`, lists in
parentheses; a token ends at unescaped whitespace or one of `(){}`, and a backslash escapes the
next character. Names are escaped that way but a leading `:` is not, so a name that reads like
a field label leaves a field without a value: such a tree is refused (Unreadable), never
guessed at.

Two users: the T0 lint reads what a tree refers to (references; pg_depend records none of the
built-in objects, they are pinned), and the normalization proof compares two trees
(harness.normalize_proof).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_TOKEN = re.compile(r"[{}()]|(?:\\.|[^\s{}()\\])+", re.DOTALL)


class Unreadable(ValueError):
    """A tree text this module will not interpret (a name that looks like a field label)."""


@dataclass
class Node:
    """One {TYPE :field value ...} of a node tree; a value is a list of words, Nodes, Lists."""

    type: str
    fields: list[tuple[str, list]]

    def get(self, label: str) -> list | None:
        return next((v for f, v in self.fields if f == label), None)


@dataclass
class List:
    items: list


def tokens(text: str) -> list[str]:
    """A node tree's tokens: { } ( ) and words (escaped characters stay inside their word)."""
    return _TOKEN.findall(text)


def parse_tree(text: str) -> list:
    """The items of a node tree text (a stored rule is a List of one QUERY node)."""
    toks = tokens(text)
    items, i = _items(toks, 0, None)
    if i != len(toks):
        raise Unreadable("unbalanced node tree")
    return items


def _item(toks: list[str], i: int) -> tuple[object, int]:
    tok = toks[i]
    if tok == "{":
        return _node(toks, i + 1)
    if tok == "(":
        items, i = _items(toks, i + 1, ")")
        return List(items), i
    if tok in ("}", ")"):
        raise Unreadable(f"unexpected {tok}")
    return tok, i + 1


def _items(toks: list[str], i: int, closer: str | None) -> tuple[list, int]:
    items: list = []
    while i < len(toks) and toks[i] != closer:
        item, i = _item(toks, i)
        items.append(item)
    if closer is not None:
        if i >= len(toks):
            raise Unreadable("unbalanced node tree")
        i += 1
    return items, i


def _node(toks: list[str], i: int) -> tuple[Node, int]:
    node = Node(toks[i], [])
    i += 1
    while i < len(toks) and toks[i] != "}":
        label = toks[i]
        if not label.startswith(":"):
            raise Unreadable(f"{node.type}: expected a field, found {label}")
        value: list = []
        i += 1
        while i < len(toks) and toks[i] != "}" and not toks[i].startswith(":"):
            item, i = _item(toks, i)
            value.append(item)
        if not value:  # every field prints a value: this label was a name that looks like one
            raise Unreadable(f"{node.type}: field {label} without a value")
        node.fields.append((label, value))
    if i >= len(toks):
        raise Unreadable("unbalanced node tree")
    return node, i + 1


def nodes(items: list) -> Iterator[Node]:
    """Every Node inside items, depth first, in print order."""
    for item in items:
        if isinstance(item, Node):
            yield item
            for _, value in item.fields:
                yield from nodes(value)
        elif isinstance(item, List):
            yield from nodes(item.items)


# Fields that hold a function OID, in any node (FuncExpr, OpExpr, Aggref, WindowFunc,
# ScalarArrayOpExpr's hashed lookups, a window frame's in_range functions).
FUNCTION_FIELDS = frozenset({
    ":funcid", ":opfuncid", ":aggfnoid", ":winfnoid", ":hashfuncid", ":negfuncid",
    ":startInRangeFunc", ":endInRangeFunc",
})
# Fields that hold operator OIDs (OpExpr and friends, sort and group clauses, row comparisons).
OPERATOR_FIELDS = frozenset({":opno", ":eqop", ":sortop", ":opnos"})
RELATION_FIELDS = frozenset({":relid"})
# Nodes that read the clock, the session or a sequence, or sample rows at random.
REFUSED_NODES = {
    "SQLVALUEFUNCTION": "reads the clock or the session (CURRENT_DATE, CURRENT_TIMESTAMP, "
                        "LOCALTIME, CURRENT_USER, ...)",
    "NEXTVALUEEXPR": "reads a sequence",
    "TABLESAMPLECLAUSE": "samples rows (TABLESAMPLE)",
}


@dataclass
class References:
    functions: set[int] = field(default_factory=set)
    operators: set[int] = field(default_factory=set)
    relations: set[int] = field(default_factory=set)
    io_casts: set[int] = field(default_factory=set)  # result types of run-time text casts
    refused: set[str] = field(default_factory=set)  # REFUSED_NODES keys found

    def update(self, other: References) -> None:
        self.functions |= other.functions
        self.operators |= other.operators
        self.relations |= other.relations
        self.io_casts |= other.io_casts
        self.refused |= other.refused


def _oids(value: list) -> set[int]:
    """The OIDs of a field's value: a number, or the numbers of an OID list `(o 1 2)`; 0 is
    no object."""
    if len(value) == 1 and isinstance(value[0], List) and value[0].items[:1] == ["o"]:
        words = value[0].items[1:]
    else:
        words = value
    return {int(w) for w in words if isinstance(w, str) and w.isdigit() and w != "0"}


def references(text: str | None) -> References:
    """Functions, operators, relations, run-time text casts and refused nodes of one tree
    (raises Unreadable for a tree this module will not interpret)."""
    refs = References()
    if not text:
        return refs
    for node in nodes(parse_tree(text)):
        if node.type in REFUSED_NODES:
            refs.refused.add(node.type)
        for label, value in node.fields:
            if label in FUNCTION_FIELDS:
                refs.functions |= _oids(value)
            elif label in OPERATOR_FIELDS:
                refs.operators |= _oids(value)
            elif label in RELATION_FIELDS:
                refs.relations |= _oids(value)
            elif label == ":resulttype" and node.type == "COERCEVIAIO":
                refs.io_casts |= _oids(value)
    return refs

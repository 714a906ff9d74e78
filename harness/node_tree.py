"""What a stored query tree (pg_node_tree) refers to, read from the server's own text of it.

PostgreSQL stores every view's query, SQL-standard function body, argument default, policy
expression and domain constraint as a node tree, with every function, operator, relation and
type resolved to its OID. pg_depend records none of the built-in ones (they are pinned), so the
T0 lint reads them here. The text format (outfuncs.c) is `{NODE :field value ...}`, lists in
parentheses; a token ends at unescaped whitespace or one of `(){}`, and a backslash escapes the
next character (names and strings are escaped this way, so no user text can forge a field).
Every node is visited wherever it hangs, so a node in an unexpected place is still seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Fields that hold a function OID, in any node (FuncExpr, OpExpr, Aggref, WindowFunc,
# ScalarArrayOpExpr's hashed lookups, a window frame's in_range functions).
FUNCTION_FIELDS = frozenset({
    "funcid", "opfuncid", "aggfnoid", "winfnoid", "hashfuncid", "negfuncid",
    "startInRangeFunc", "endInRangeFunc",
})
# Fields that hold operator OIDs (OpExpr and friends, sort and group clauses, row comparisons).
OPERATOR_FIELDS = frozenset({"opno", "eqop", "sortop", "opnos"})
RELATION_FIELDS = frozenset({"relid"})
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


def tokens(text: str) -> list[str]:
    """The tokens of a node tree's text, escapes kept (a `\\{` is not a brace)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\n\r":
            i += 1
        elif ch in "(){}":
            out.append(ch)
            i += 1
        else:
            start = i
            while i < n and text[i] not in " \t\n\r(){}":
                i += 2 if text[i] == "\\" else 1
            out.append(text[start:i])
    return out


def references(text: str | None) -> References:
    """Functions, operators, relations, run-time text casts and refused nodes of one tree."""
    refs = References()
    if not text:
        return refs
    toks = tokens(text)
    stack: list[str] = []
    expect_node = False
    for i, tok in enumerate(toks):
        if tok == "{":
            expect_node = True
            continue
        if expect_node:
            stack.append(tok)
            expect_node = False
            if tok in REFUSED_NODES:
                refs.refused.add(tok)
            continue
        if tok == "}":
            if stack:
                stack.pop()
            continue
        if not tok.startswith(":") or i + 1 >= len(toks):
            continue
        name = tok[1:]
        values = _oid_values(toks, i + 1)
        if name in FUNCTION_FIELDS:
            refs.functions |= {v for v in values if v}
        elif name in OPERATOR_FIELDS:
            refs.operators |= {v for v in values if v}
        elif name in RELATION_FIELDS:
            refs.relations |= {v for v in values if v}
        elif name == "resulttype" and stack and stack[-1] == "COERCEVIAIO":
            refs.io_casts |= set(values)
    return refs


def _oid_values(toks: list[str], i: int) -> list[int]:
    """The number after a field, or the numbers of an OID list `(o 1 2)`."""
    tok = toks[i]
    if tok.isdigit():
        return [int(tok)]
    if tok == "(" and i + 1 < len(toks) and toks[i + 1] == "o":
        values, j = [], i + 2
        while j < len(toks) and toks[j] != ")":
            if toks[j].isdigit():
                values.append(int(toks[j]))
            j += 1
        return values
    return []

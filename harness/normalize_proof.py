"""The server proves each view's normalization: same query tree, or the raw hash decides.

sqlglot may misread a PostgreSQL construct, and then a normalized text could hide a change
(or invent one). So for each view, the normalized SQL is created as a scratch view in pg_temp,
inside a savepoint that is always rolled back, and PostgreSQL's stored query tree of the
scratch view (pg_rewrite.ev_action of its _RETURN rule) is compared with the original's:

    equal       the normalized text means what the view means: its hash decides drift
    different   (or the scratch view cannot be created, or sqlglot could not read the view)
                unproven: the raw hash decides, so a normalization bug may cause a false drift
                but never hide one

Before comparing, a tree loses only what cannot carry meaning:
  - the fields PostgreSQL's own equal() ignores: parse locations (location, stmt_location,
    stmt_len, list_start, list_end), how a coercion or call is displayed (funcformat,
    relabelformat, coerceformat, convertformat, row_format) and a Var's syntactic referent
    (varnosyn, varattnosyn);
  - relation alias names ({ALIAS :aliasname x ...} -> _), and an alias without column names
    (:alias {ALIAS :aliasname x :colnames <>} -> :alias <>): labels for deparsing only;
  - CTE names, renamed in order of first appearance (a CTE is referenced by name, so they are
    renamed one to one, never erased);
  - the column names of a set operation's branches (PostgreSQL names the result after its own
    target list, which stays, and prints a branch's columns under those names) and of the query
    of a CTE that has a column list (the list names the columns, and stays);
  - PostgreSQL 15's OLD and NEW entries of a view name the view itself (:relid <own oid> and
    its :relkind, v or m: a materialized view is proven by a temporary view of its query).
Column names (resname), types, operators, functions, constants and every structural field
stay. The tree text is parsed into its nodes and fields, token by token as PostgreSQL's
outToken escapes it (a backslash escapes whitespace, parentheses, braces and itself); a name
that reads like a field label (a column called ":location") leaves a field without a value,
and such a tree is not compared at all (unproven).

The decision is made on the current definition at run time: an edit that sqlglot wrongly
normalizes to the baselined text has a scratch tree that differs from its own tree.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlglot import exp

from harness import pgsettings
from harness.closure import ClosureObject
from harness.node_tree import List, Node, Unreadable, nodes, parse_tree
from harness.normalize import Normalized, sha256_text

SCRATCH_VIEW = "woe_normalize_proof"
PROVABLE_KINDS = ("view", "materialized_view")  # proven as a temporary view of the same query

# Fields whose values PostgreSQL's equal() ignores (src/include/nodes/primnodes.h,
# parsenodes.h: ParseLoc and CoercionForm fields, Var's varnosyn/varattnosyn).
IGNORED_FIELDS = frozenset({
    ":location", ":stmt_location", ":stmt_len", ":list_start", ":list_end",
    ":funcformat", ":relabelformat", ":coerceformat", ":convertformat", ":row_format",
    ":varnosyn", ":varattnosyn",
})
_INTEGER = re.compile(r"-?\d+")

RULE_SQL = """
SELECT pg_catalog.pg_get_viewdef(c.oid), c.oid, r.ev_action::text
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_rewrite AS r ON r.ev_class = c.oid AND r.rulename = '_RETURN'
WHERE c.oid = pg_catalog.to_regclass(%s) AND c.relkind IN ('v', 'm')
"""


@dataclass(frozen=True)
class Proof:
    proven: bool
    reason: str = ""  # why not, when unproven


def _setop_leaves(query: Node) -> None:
    """The leaves of a set operation are labels only: PostgreSQL names the result after the
    set operation's own target list (kept) and prints a leaf's columns under those names."""
    for rte in _nodes_of(query.get(":rtable")):
        subquery = _single_node(rte.get(":subquery"))
        eref = _single_node(rte.get(":eref"))
        if subquery is None or subquery.type != "QUERY":
            continue
        if eref is not None and eref.type == "ALIAS":
            _set(eref, ":colnames", ["_"])
        for entry in _nodes_of(subquery.get(":targetList")):
            if entry.type == "TARGETENTRY":
                _set(entry, ":resname", ["_"])


def _named_cte(cte: Node) -> None:
    """A CTE with a column list names its columns by that list: its query's own column names
    are labels."""
    query = _single_node(cte.get(":ctequery"))
    if query is not None and query.type == "QUERY":
        for entry in _nodes_of(query.get(":targetList")):
            if entry.type == "TARGETENTRY":
                _set(entry, ":resname", ["_"])


def _nodes_of(value: list | None) -> list[Node]:
    if value and len(value) == 1 and isinstance(value[0], List):
        return [n for n in value[0].items if isinstance(n, Node)]
    return []


def _single_node(value: list | None) -> Node | None:
    return value[0] if value and len(value) == 1 and isinstance(value[0], Node) else None


def _set(node: Node, label: str, value: list) -> None:
    node.fields = [(f, value if f == label else v) for f, v in node.fields]


def _flatten(items: list, out: list[str]) -> list[str]:
    for item in items:
        if isinstance(item, Node):
            out += ["{", item.type]
            for label, value in item.fields:
                out.append(label)
                _flatten(value, out)
            out.append("}")
        elif isinstance(item, List):
            out.append("(")
            _flatten(item.items, out)
            out.append(")")
        else:
            out.append(item)
    return out


def _label_free(node: Node, label: str, value: list, own_oid: int,
                ctes: dict[str, str]) -> list:
    """One field's value with what cannot carry meaning replaced (see the module docstring)."""
    if label in IGNORED_FIELDS and len(value) == 1 and _INTEGER.fullmatch(str(value[0])):
        return ["_"]
    if label == ":aliasname" and node.type == "ALIAS":
        return ["_"]
    alias = _single_node(value) if label == ":alias" else None
    if alias is not None and alias.type == "ALIAS" and alias.get(":colnames") == ["<>"]:
        return ["<>"]
    if label == ":ctename" and value != ["<>"]:
        return [ctes.setdefault(str(value), f"cte{len(ctes) + 1}")]
    if label == ":relid" and value == [str(own_oid)]:
        return ["SELF"]
    return value


def comparable(tree: str, own_oid: int) -> list[str]:
    """The tree's tokens without what cannot carry meaning (see the module docstring)."""
    items = parse_tree(tree)
    ctes: dict[str, str] = {}
    for node in list(nodes(items)):
        if node.type == "QUERY" and node.get(":setOperations") not in (None, ["<>"]):
            _setop_leaves(node)
        if node.type == "COMMONTABLEEXPR" and node.get(":aliascolnames") not in (None, ["<>"]):
            _named_cte(node)
        if node.type == "RANGETBLENTRY" and node.get(":relid") == [str(own_oid)]:
            _set(node, ":relkind", ["SELF"])  # 15's OLD/NEW: the view, or materialized view
        node.fields = [(label, _label_free(node, label, value, own_oid, ctes))
                       for label, value in node.fields]
    return _flatten(items, [])


def _canonical_settings(conn: psycopg.Connection) -> AbstractContextManager:
    """pgsettings.pinned, unless the session already runs under CANONICAL (certify's do)."""
    names = list(pgsettings.CANONICAL)
    current = conn.execute("SELECT " + ", ".join(["pg_catalog.current_setting(%s)"] * len(names)),
                           names).fetchone()
    return nullcontext() if list(current) == list(pgsettings.CANONICAL.values()) \
        else pgsettings.pinned(conn)


def _scratch_tree(conn: psycopg.Connection, query: str) -> tuple[int, str]:
    """Create the normalized query as a temporary view and read its tree; always rolled back."""
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT pg_catalog.set_config('search_path', %s, true)",
                     (pgsettings.CANONICAL["search_path"],))
        conn.execute(sql.SQL("CREATE TEMPORARY VIEW {} AS ").format(
            sql.Identifier("pg_temp", SCRATCH_VIEW)) + sql.SQL(query))
        oid, tree = conn.execute(
            "SELECT c.oid, r.ev_action::text FROM pg_catalog.pg_class AS c "
            "JOIN pg_catalog.pg_rewrite AS r ON r.ev_class = c.oid AND r.rulename = '_RETURN' "
            "WHERE c.oid = 'pg_temp.woe_normalize_proof'::pg_catalog.regclass").fetchone()
    return oid, tree


def prove(conn: psycopg.Connection, obj: ClosureObject, normalized: Normalized) -> Proof:
    """Whether the server reads the normalized SQL of a view as the view itself."""
    if obj.kind not in PROVABLE_KINDS:
        return Proof(False, f"a {obj.kind.replace('_', ' ')} is not proven")
    if normalized.error:
        return Proof(False, f"sqlglot cannot read it: {normalized.error}")
    if len(normalized.trees) != 1 or not isinstance(normalized.trees[0], exp.Query):
        return Proof(False, "the normalized text is not one query")
    try:
        with conn.transaction():
            with _canonical_settings(conn):  # as the closure's definitions were printed
                row = conn.execute(RULE_SQL, (obj.name,)).fetchone()
            if row is None:
                return Proof(False, "no such view or materialized view")
            definition, oid, tree = row
            if definition != obj.definition:
                return Proof(False, "its definition changed during the run")
            scratch_oid, scratch = _scratch_tree(conn, normalized.sql)
    except psycopg.Error as e:
        if conn.broken:
            raise
        return Proof(False, f"PostgreSQL rejects the normalized SQL: {e.diag.message_primary}")
    try:
        same = comparable(tree, oid) == comparable(scratch, scratch_oid)
    except (Unreadable, RecursionError) as e:
        return Proof(False, f"its query tree cannot be compared: {e}")
    if not same:
        return Proof(False, "the normalized SQL means something else to PostgreSQL")
    return Proof(True)


def unproven_form(obj: ClosureObject, proof: Proof) -> Normalized:
    """What `baseline` records as the normalized form of an unproven view: a text no
    normalization produces, so its raw hash decides (the baseline is never trusted more than
    the proof of the definition it was taken from)."""
    text = (f"-- normalization unproven at baseline ({proof.reason}): the raw hash decides\n"
            f"{(obj.definition or '').strip()}")
    return Normalized(text, sha256_text(text), ())


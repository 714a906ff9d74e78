"""sqlglot normalization of closure definitions: a pipeline of small named steps, then sha256.

Why: the raw text PostgreSQL prints for the same view differs between major versions (16 and
later drop table qualifiers in single-table views), so a raw hash alone cannot tell a cosmetic
change from a semantic one. The normalized form is what a view *means* to the planner:

    parse (postgres dialect) -> drop comments -> qualify (every column gets its relation, from the catalog's
    schema) -> canonical aliases (_t1, _t2, ...) -> render (one canonical, pretty PostgreSQL
    text) -> sha256

Functions: a SQL-standard body (RETURN expr / BEGIN ATOMIC ... END) is parsed and normalized
like a view, and prefixed with the whitespace-collapsed header (signature, return type,
language, volatility). Procedural bodies (plpgsql) are not parsed: they are normalized by
stripping comments and collapsing whitespace only, so a rename inside one is semantic drift.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify

from harness.closure import ClosureObject

DIALECT = "postgres"
Schema = dict[str, dict[str, dict[str, str]]]


@dataclass(frozen=True)
class Normalized:
    sql: str
    sha256: str
    trees: tuple[exp.Expression, ...]  # parsed statements (empty for procedural bodies)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse(sql: str) -> list[exp.Expression]:
    """Step 1: parse as PostgreSQL; a trailing semicolon and blank statements are dropped."""
    return [e for e in sqlglot.parse(sql, read=DIALECT) if e is not None]


def drop_comments(tree: exp.Expression) -> exp.Expression:
    """Step 1b: comments carry no meaning (the server never prints them; hand-written SQL may)."""
    tree = tree.copy()
    for node in tree.walk():
        node.comments = None
    return tree


def qualify_columns(tree: exp.Expression, schema: Schema) -> exp.Expression:
    """Step 2: qualify every column with its relation alias, using the catalog's columns.

    Unresolvable names (function parameters in a body) are left as they are.
    """
    return qualify(
        tree.copy(),
        schema=schema,
        dialect=DIALECT,
        validate_qualify_columns=False,
        identify=True,
    )


def canonical_aliases(tree: exp.Expression) -> exp.Expression:
    """Step 3: rename relation aliases to _t1, _t2, ... in order of first appearance.

    An alias name means nothing to the planner; renaming one (or PostgreSQL printing a default
    alias differently) is cosmetic. Distinct aliases stay distinct, so pointing a join
    condition at another relation still changes the text.
    """
    tree = tree.copy()
    mapping: dict[str, str] = {}
    for alias in tree.find_all(exp.TableAlias):
        if alias.name and alias.name not in mapping:
            mapping[alias.name] = f"_t{len(mapping) + 1}"
    for alias in tree.find_all(exp.TableAlias):
        if alias.name in mapping:
            alias.set("this", exp.to_identifier(mapping[alias.name], quoted=True))
    for column in tree.find_all(exp.Column):
        if column.table in mapping:
            column.set("table", exp.to_identifier(mapping[column.table], quoted=True))
    return tree


def render(trees: list[exp.Expression]) -> str:
    """Step 4: one canonical text, the same for every server version that printed the input."""
    return ";\n".join(t.sql(dialect=DIALECT, pretty=True) for t in trees)


def normalize_query(sql: str, schema: Schema) -> tuple[str, list[exp.Expression]]:
    """parse -> qualify -> render for one or more statements."""
    trees = [canonical_aliases(qualify_columns(drop_comments(t), schema)) for t in parse(sql)]
    return render(trees), trees


_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def strip_procedural(text: str) -> str:
    """Comments removed, whitespace collapsed (no parser for procedural languages)."""
    return " ".join(_COMMENT.sub(" ", text).split())


def _sql_body_statements(body: str) -> str:
    """RETURN expr -> SELECT expr; BEGIN ATOMIC s1; s2; END -> s1; s2."""
    stripped = body.strip().rstrip(";").strip()
    if stripped.upper().startswith("RETURN"):
        return "SELECT " + stripped[len("RETURN"):].strip()
    m = re.fullmatch(r"BEGIN\s+ATOMIC(.*)END", stripped, re.DOTALL | re.IGNORECASE)
    return m.group(1) if m else stripped


def function_header(obj: ClosureObject) -> str:
    """The definition without its body, whitespace collapsed: signature and attributes."""
    definition = obj.definition or ""
    if obj.body and obj.body in definition:
        definition = definition[: definition.rfind(obj.body)]
    return " ".join(definition.split())


def normalize_object(obj: ClosureObject, schema: Schema) -> Normalized:
    """Normalized text and hash of one closure object (view, materialized view, function)."""
    if obj.kind in ("view", "materialized_view"):
        text, trees = normalize_query(obj.definition or "", schema)
        return Normalized(text, sha256_text(text), tuple(trees))
    if obj.kind != "function":
        raise ValueError(f"{obj.name}: {obj.kind} has no definition to normalize")
    header = function_header(obj)
    if obj.sql_standard_body and obj.body:
        try:
            body, trees = normalize_query(_sql_body_statements(obj.body), schema)
        except SqlglotError:
            body, trees = strip_procedural(obj.body), []
    else:
        body, trees = strip_procedural(obj.body or ""), []
    text = header + "\n" + body
    return Normalized(text, sha256_text(text), tuple(trees))

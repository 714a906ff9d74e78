"""sqlglot normalization of closure definitions: a pipeline of small named steps, then sha256.

Why: the raw text PostgreSQL prints for the same view differs between major versions (16 and
later drop table qualifiers in single-table views), so a raw hash alone cannot tell a cosmetic
change from a semantic one. The normalized form is what a view *means* to the planner:

    parse (harness/pg_sqlglot.py: PostgreSQL as the server prints it) -> drop comments ->
    implicit column names (VALUES, SEARCH/CYCLE) -> qualify (every column gets its relation,
    from the catalog's schema) -> ORDER BY / DISTINCT ON output columns (16+ print them bare)
    -> lone source (what qualify left bare) -> only the written column aliases -> canonical
    aliases (_t1, _t2, ..., CTEs with their references) -> render (one canonical, pretty
    PostgreSQL text) -> sha256

A view's normalized form decides drift only when the server proves it means the view
(harness/normalize_proof.py); otherwise its raw hash does.

Functions: a SQL-standard body (RETURN expr / BEGIN ATOMIC ... END) is parsed and normalized
like a view, and prefixed with the whitespace-collapsed header (signature, return type,
language, volatility). String bodies (LANGUAGE sql or plpgsql given as a string) are not
parsed: they are tokenized with sqlglot's PostgreSQL tokenizer, comments are dropped where they
are comments (never inside a string literal, dollar quote or quoted identifier) and whitespace
between tokens is collapsed, so a rename inside one is semantic drift. A body that cannot be
tokenized completely, or is in another language, is only trimmed at its ends: its normalization
can never hide a change.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import ClassVar

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.tokens import Token, TokenType

from harness import pg_sqlglot
from harness.closure import ClosureObject

DIALECT = pg_sqlglot.WoePostgres
Schema = dict[str, dict[str, dict[str, str]]]


@dataclass(frozen=True)
class Normalized:
    sql: str
    sha256: str
    trees: tuple[exp.Expression, ...]  # parsed statements (empty for procedural bodies)
    error: str | None = None  # why sqlglot could not read a view (sql is then the raw text)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse(sql: str) -> list[exp.Expression]:
    """Step 1: parse as PostgreSQL; a trailing semicolon and blank statements are dropped.

    The column aliases written in the text are marked (see keep_written_aliases)."""
    trees = pg_sqlglot.parse(sql)
    for tree in trees:
        for alias in tree.find_all(exp.Alias):
            alias.meta[WRITTEN] = True
    return trees


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
        allow_partial_qualification=True,  # t.c for a column qualify does not know (CYCLE ... SET c)
        identify=True,
    )


WRITTEN = "woe_written_alias"
IMPLICIT = "woe_implicit_columns"


def implicit_columns(tree: exp.Expression) -> exp.Expression:
    """Step 1c: name, for qualify, the columns PostgreSQL names implicitly; removed again by
    keep_written_aliases.

    (VALUES ...) "*VALUES*" has columns column1, column2, ...; a recursive CTE's SEARCH and
    CYCLE clauses add their SET (and USING) columns to the CTE. qualify knows neither and
    rejects a reference to one as an unknown column.
    """
    tree = tree.copy()
    for values in tree.find_all(exp.Values):
        alias = values.args.get("alias")
        rows = values.expressions
        if alias is not None and not alias.columns and rows:
            width = len(rows[0].expressions) if isinstance(rows[0], exp.Tuple) else 1
            alias.set("columns", [exp.to_identifier(f"column{i}") for i in range(1, width + 1)])
            alias.meta[IMPLICIT] = width
    for with_ in tree.find_all(exp.With):
        clauses = [with_.args.get("search"), with_.args.get("cycle")]
        added = [c for clause in clauses if clause is not None
                 for c in (clause.expression, clause.args.get("using")) if c]
        alias = with_.expressions[-1].args.get("alias") if with_.expressions else None
        if added and alias is not None and alias.columns:
            alias.set("columns", alias.columns + [c.copy() for c in added])
            alias.meta[IMPLICIT] = len(added)
    return tree


def order_by_output_columns(tree: exp.Expression) -> exp.Expression:
    """Step 2b: in ORDER BY and DISTINCT ON, a bare name that names an output column whose
    expression is a column becomes that (qualified) column.

    PostgreSQL 16 and later print a single-relation view without qualifiers: `ORDER BY g`
    where 15 printed `ORDER BY t.g`. A bare ORDER BY name is an output column first, so both
    mean the output column g, here t.g (18 qualifies the name when they would differ).
    """
    tree = tree.copy()
    for select in tree.find_all(exp.Select):
        outputs: dict[str, exp.Column] = {}
        for item in select.expressions:
            column = item.this if isinstance(item, exp.Alias) else item
            if isinstance(column, exp.Column) and column.table:
                outputs.setdefault(item.alias_or_name, column)
        keys = [o.this for o in (select.args.get("order") or exp.Order()).expressions]
        distinct = select.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            keys += distinct.args["on"].expressions
        for key in keys:
            if isinstance(key, exp.Column) and not key.table and key.name in outputs:
                key.replace(outputs[key.name].copy())
    return tree


def qualify_lone_source(tree: exp.Expression) -> exp.Expression:
    """Step 2c: a bare column left in a query with one source belongs to that source.

    What qualify could not resolve itself (a column it does not know, e.g. the mark column of a
    CYCLE clause): PostgreSQL 16 and later print it bare where 15 qualified it. A bare ORDER BY
    name of an output column stays (step 2b).
    """
    tree = tree.copy()
    for scope in traverse_scope(tree):
        if not isinstance(scope.expression, exp.Select) or len(scope.selected_sources) != 1:
            continue
        [source] = scope.selected_sources
        outputs = {item.alias_or_name for item in scope.expression.expressions}
        for column in scope.columns:
            if column.table or (column.name in outputs and column.find_ancestor(exp.Order)):
                continue
            column.set("table", exp.to_identifier(source, quoted=True))
    return tree


def keep_written_aliases(tree: exp.Expression) -> exp.Expression:
    """Step 2d: drop the column aliases qualify added (AS "1", AS "_col_0", ...), and the
    column names implicit_columns added.

    The server prints AS wherever a name differs from the one PostgreSQL derives; an added
    alias renames a column of a subquery or of a set operation's branch, a different tree."""
    tree = tree.copy()
    for alias in list(tree.find_all(exp.Alias)):
        if not alias.meta.get(WRITTEN):
            alias.replace(alias.this)
    for alias in tree.find_all(exp.TableAlias):
        if alias.meta.get(IMPLICIT):
            alias.set("columns", alias.columns[:-alias.meta.pop(IMPLICIT)] or None)
    return tree


def canonical_aliases(tree: exp.Expression) -> exp.Expression:
    """Step 3: rename relation aliases to _t1, _t2, ... in order of first appearance.

    An alias name means nothing to the planner; renaming one (or PostgreSQL printing a default
    alias differently) is cosmetic. Distinct aliases stay distinct, so pointing a join
    condition at another relation still changes the text. A CTE's name is an alias too: the
    relations that name it (unqualified) are renamed with it.
    """
    tree = tree.copy()
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
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
    for table in tree.find_all(exp.Table):
        if not table.args.get("db") and table.name in ctes and table.name in mapping:
            table.set("this", exp.to_identifier(mapping[table.name], quoted=True))
    return tree


def render(trees: list[exp.Expression]) -> str:
    """Step 4: one canonical text, the same for every server version that printed the input."""
    return ";\n".join(t.sql(dialect=DIALECT, pretty=True) for t in trees)


def normalize_query(sql: str, schema: Schema) -> tuple[str, list[exp.Expression]]:
    """The pipeline above, for one or more statements."""
    trees = [
        canonical_aliases(keep_written_aliases(qualify_lone_source(order_by_output_columns(
            qualify_columns(implicit_columns(drop_comments(t)), schema)))))
        for t in parse(sql)
    ]
    return render(trees), trees


TOKENIZED_LANGUAGES = frozenset({"sql", "plpgsql"})
# Tokens whose raw text is kept byte for byte (whitespace inside them is meaning).
QUOTED_TOKENS = frozenset({
    TokenType.STRING, TokenType.BIT_STRING, TokenType.HEX_STRING, TokenType.BYTE_STRING,
    TokenType.NATIONAL_STRING, TokenType.RAW_STRING, TokenType.NATIONAL_RAW_STRING,
    TokenType.HEREDOC_STRING, TokenType.UNICODE_STRING, TokenType.IDENTIFIER,
})
STRING_TOKENS = QUOTED_TOKENS - {TokenType.IDENTIFIER}
_PG_SPACE = " \t\n\r\f\v"


class _BodyTokenizer(Postgres.Tokenizer):
    """PostgreSQL's tokens, without sqlglot's "command" mode (DECLARE, EXECUTE, CALL, ... would
    swallow the rest of the statement as one opaque token)."""

    COMMANDS: ClassVar[set[TokenType]] = set()


def _blank_or_comments(gap: str) -> bool:
    """True if gap is only PostgreSQL whitespace and complete (nested) comments."""
    i, n = 0, len(gap)
    while i < n:
        if gap[i] in _PG_SPACE:
            i += 1
        elif gap.startswith("--", i):  # to the end of the line: \n or \r, as PostgreSQL
            i += 2
            while i < n and gap[i] not in "\n\r":
                i += 1
        elif gap.startswith("/*", i):
            depth, i = 1, i + 2
            while depth:
                if i >= n:
                    return False  # unterminated
                if gap.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif gap.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        else:
            return False
    return True


def sql_tokens(text: str) -> list[tuple[Token, str, str]] | None:
    """(token, raw text, gap before it) for every token of text, by sqlglot's PostgreSQL tokenizer.

    None when text cannot be tokenized completely: a tokenizer error, or anything outside the
    tokens that is not whitespace or a comment. Callers must then assume the worst.
    """
    try:
        tokens = _BodyTokenizer(dialect=DIALECT).tokenize(text)
    except (SqlglotError, ValueError, IndexError):
        return None
    out: list[tuple[Token, str, str]] = []
    pos = 0
    for tok in tokens:
        if tok.start < pos or tok.end < tok.start:
            return None
        gap = text[pos:tok.start]
        if not _blank_or_comments(gap):
            return None
        out.append((tok, text[tok.start:tok.end + 1], gap))
        pos = tok.end + 1
    if not _blank_or_comments(text[pos:]):
        return None
    return out


def strip_procedural(text: str) -> str:
    """Comments dropped and whitespace between tokens collapsed; literals kept byte for byte.

    A text that cannot be tokenized completely is only trimmed at its ends (fail safe).
    """
    tokens = sql_tokens(text)
    if tokens is None:
        return text.strip()
    parts: list[str] = []
    previous: Token | None = None
    for tok, raw, gap in tokens:
        if previous is not None and gap:
            # PostgreSQL joins two string literals separated by a newline ('a'\n'b' = 'ab'):
            # keep that newline, a space there is a different (invalid) text.
            joins = (previous.token_type in STRING_TOKENS and tok.token_type in STRING_TOKENS
                     and ("\n" in gap or "\r" in gap))
            parts.append("\n" if joins else " ")
        parts.append(raw if tok.token_type in QUOTED_TOKENS else " ".join(raw.split()))
        previous = tok
    return "".join(parts)


def normalize_body(body: str, language: str | None) -> str:
    """A string body: tokenized for SQL and PL/pgSQL; any other language only trimmed."""
    if (language or "").lower() in TOKENIZED_LANGUAGES:
        return strip_procedural(body)
    return body.strip()


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


def unreadable(obj: ClosureObject, error: Exception) -> Normalized:
    """A view sqlglot cannot read: its raw text, marked, with the reason on one line."""
    first = (str(error).strip().splitlines() or [""])[0]  # sqlglot adds the SQL around the spot
    reason = f"{type(error).__name__}: {first}"[:300]
    text = f"-- not normalized: {reason}\n{(obj.definition or '').strip()}"
    return Normalized(text, sha256_text(text), (), reason)


def normalize_object(obj: ClosureObject, schema: Schema) -> Normalized:
    """Normalized text and hash of one closure object.

    Objects that are not queries (tables, policies, triggers, ...) have a canonical text built
    from the catalog by the server: it is their normalized form as it is.
    """
    if not obj.is_query:
        text = obj.definition or ""
        return Normalized(text, sha256_text(text), ())
    if obj.kind in ("view", "materialized_view"):
        try:
            text, trees = normalize_query(obj.definition or "", schema)
        except Exception as e:  # noqa: BLE001 - any sqlglot failure: not normalized, named
            return unreadable(obj, e)
        return Normalized(text, sha256_text(text), tuple(trees))
    if obj.kind != "function":
        raise ValueError(f"{obj.name}: {obj.kind} has no definition to normalize")
    header = function_header(obj)
    if obj.sql_standard_body and obj.body:
        try:
            body, trees = normalize_query(_sql_body_statements(obj.body), schema)
        except (SqlglotError, ValueError, RecursionError):
            body, trees = normalize_body(obj.body, obj.language or "sql"), []
    else:
        body, trees = normalize_body(obj.body or "", obj.language), []
    text = header + "\n" + body
    return Normalized(text, sha256_text(text), tuple(trees))

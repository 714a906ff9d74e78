"""sqlglot normalization of closure definitions: a pipeline of small named steps, then sha256.

Why: the raw text PostgreSQL prints for the same view differs between major versions (16 and
later drop table qualifiers in single-table views), so a raw hash alone cannot tell a cosmetic
change from a semantic one. The normalized form is what a view *means* to the planner:

    parse (postgres dialect) -> drop comments -> qualify (every column gets its relation, from the catalog's
    schema) -> canonical aliases (_t1, _t2, ...) -> render (one canonical, pretty PostgreSQL
    text) -> sha256

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

import sqlglot
from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.tokens import Token, TokenType

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
            body, trees = normalize_body(obj.body, obj.language or "sql"), []
    else:
        body, trees = normalize_body(obj.body or "", obj.language), []
    text = header + "\n" + body
    return Normalized(text, sha256_text(text), tuple(trees))

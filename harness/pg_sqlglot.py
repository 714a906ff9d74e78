"""sqlglot's PostgreSQL dialect, made to read what the server prints without changing its meaning.

sqlglot turns several PostgreSQL operators into other constructs or misreads them (found by the
server proof, harness/normalize_proof.py, over tests/corpus/views.sql):

    @ x        a parameter ($x): the operand is lost from qualification, @ -x cannot be parsed
    !! q       NOT NOT q (tsquery negation read as two boolean NOTs)
    + x        x (PostgreSQL calls int4up etc.)
    ^ |/ ||/ ^@    power(), sqrt(), cbrt(), starts_with(): calls, not operators
    !~ !~*     NOT (a ~ b): a boolean NOT around another operator
    ?- ?-|     a ? (-b) (jsonb key test on a negated operand), a placeholder
    ~= @-@ ## <<| |>> &<| |&> <^ >^ ?# ?|| <<= >>= *= *<> ~<~ ... and prefix # @@ ?- ?|
               not parsed at all (a ParseError)
    x IS NOT TRUE/FALSE    NOT (x IS TRUE/FALSE);  x IS [NOT] UNKNOWN  x IS [NOT] NULL
    "bit"      bit(1): the quotes are PostgreSQL's way of printing bit without a length
    bit varying(n)     not parsed
    interval(p)        INTERVAL p (invalid)
    x IS NFC NORMALIZED    x IS "nfc" AS "normalized" (invalid)
    ROWS UNBOUNDED PRECEDING    ROWS BETWEEN ... AND CURRENT ROW (another frameOptions bit)

Every operator outside the small set sqlglot renders back as itself is therefore rewritten,
before parsing, to PostgreSQL's own explicit syntax: `a OPERATOR(pg_catalog.~=) b`,
`OPERATOR(pg_catalog.@) a`. The server prints every operator expression in parentheses, so
the explicit form (which has its own precedence) means the same, and sqlglot keeps the
operator's name as text: a changed operator is a changed normalized text. The rest is done by
a Dialect subclass: prefix OPERATOR(...), IS [NOT] TRUE/FALSE/UNKNOWN and IS [NOT] [form]
NORMALIZED kept as written, "bit" kept quoted, interval(p), frames without BETWEEN.
"""

from __future__ import annotations

import re
from typing import ClassVar

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.generators.postgres import PostgresGenerator
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokens import TokenType

# Operators sqlglot parses into a node that renders back as the same operator.
BINARY_KEPT = frozenset({
    "+", "-", "*", "/", "%", "=", "<", ">", "<=", ">=", "<>", "!=", "=>", "||", "&", "|", "#",
    "<<", ">>", "&&", "@>", "<@", "->", "->>", "#>", "#>>", "#-", "?", "?|", "?&", "@?", "@@",
    "-|-", "&<", "&>", "<->", "~", "~*", "~~", "~~*", "!~~", "!~~*",
})
PREFIX_KEPT = frozenset({"-", "~", "*"})  # "*": count(*), SELECT *, t.*
OP_CHARS = frozenset("~!@#^&|`?+-*/%<>=")
_NON_SQL_OP_CHARS = frozenset("~!@#^&|`?%")
# Words after which an operator is a prefix operator (besides "(", "[", "," and operators).
_PREFIX_AFTER = frozenset({
    "AND", "OR", "NOT", "WHEN", "THEN", "ELSE", "SELECT", "WHERE", "ON", "BY", "HAVING",
    "RETURN", "LIKE", "ILIKE", "BETWEEN", "SYMMETRIC", "IS", "DISTINCT", "FROM", "USING",
    "LIMIT", "OFFSET", "CASE", "IN", "SIMILAR", "ESCAPE", "VALUES", "ALL", "ANY", "SOME",
})
_IDENT_START = re.compile(r"[A-Za-z_\x80-\U0010ffff]")
_IDENT = re.compile(r"[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*")
_NUMBER = re.compile(r"0[xXoObB][\dA-Fa-f_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[Ee][+-]?\d+)?")
_VARYING = re.compile(r"\s+varying\b", re.IGNORECASE)
_DOLLAR = re.compile(r"\$([A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")


def _operator_length(text: str, i: int) -> int:
    """PostgreSQL's scan.l: the longest run of operator characters, cut before a comment
    start, without a trailing + or - unless the operator has a character SQL does not use."""
    j = i
    while j < len(text) and text[j] in OP_CHARS:
        j += 1
    run = text[i:j]
    n = min((k for k in (run.find("/*"), run.find("--")) if k > 0), default=len(run))
    if n > 1 and run[n - 1] in "+-" and not any(c in _NON_SQL_OP_CHARS for c in run[:n - 1]):
        while n > 1 and run[n - 1] in "+-":
            n -= 1
    return n


def _quoted_end(text: str, i: int, quote: str, backslash: bool) -> int:
    """Index after the literal or identifier opening at i (its quote char doubled escapes it)."""
    j = i + 1
    while j < len(text):
        c = text[j]
        if backslash and c == "\\":
            j += 2
            continue
        if c == quote:
            if j + 1 < len(text) and text[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    raise ValueError("unterminated quoted text")


def _comment_end(text: str, i: int) -> int:
    if text.startswith("--", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    depth, j = 1, i + 2
    while depth:
        if j >= len(text):
            raise ValueError("unterminated comment")
        if text.startswith("/*", j):
            depth, j = depth + 1, j + 2
        elif text.startswith("*/", j):
            depth, j = depth - 1, j + 2
        else:
            j += 1
    return j


def rewrite(text: str) -> str:
    """Every operator sqlglot would not render back as itself as OPERATOR(pg_catalog.op), and
    bit varying as varbit.

    Literals, quoted identifiers, comments and existing OPERATOR(...) constructs are copied as
    they are. Raises ValueError for text PostgreSQL itself could not have printed (unterminated
    literal or comment)."""
    out: list[str] = []
    i, n = 0, len(text)
    prefix_position = True  # at the start, or after ( [ , an operator or a keyword
    while i < n:
        c = text[i]
        if c.isspace():
            out.append(c)
            i += 1
            continue
        start = i
        operand = False
        if text.startswith(("--", "/*"), i):
            i = _comment_end(text, i)
            out.append(text[start:i])
            continue
        if c == "'" or (c in "EeBbXxNn" and text[i + 1:i + 2] == "'"):
            quote_at = i if c == "'" else i + 1
            i = _quoted_end(text, quote_at, "'", backslash=c in "Ee")
            operand = True
        elif c in "Uu" and text[i + 1:i + 3] in ("&'", '&"'):
            i = _quoted_end(text, i + 2, text[i + 2], backslash=False)
            operand = True
        elif c == '"':
            i = _quoted_end(text, i, '"', backslash=False)
            operand = True
        elif c == "$" and (m := _DOLLAR.match(text, i)):
            end = text.find(m.group(0), m.end())
            if end < 0:
                raise ValueError("unterminated dollar-quoted text")
            i = end + len(m.group(0))
            operand = True
        elif c == "$" and text[i + 1:i + 2].isdigit():
            i += 1
            while i < n and text[i].isdigit():
                i += 1
            operand = True
        elif _IDENT_START.match(c):
            word = _IDENT.match(text, i).group(0)
            i += len(word)
            varying = _VARYING.match(text, i)
            if word.lower() == "bit" and varying:
                i = varying.end()
                out.append("varbit")
                prefix_position = False
                continue
            if word.upper() == "OPERATOR" and text[i:].lstrip().startswith("("):
                close = text.find(")", i)
                if close < 0:
                    raise ValueError("unterminated OPERATOR(")
                i = close + 1
                out.append(text[start:i])
                prefix_position = True
                continue
            operand = word.upper() not in _PREFIX_AFTER
        elif c.isdigit() or (c == "." and text[i + 1:i + 2].isdigit()):
            i = _NUMBER.match(text, i).end()
            operand = True
        elif c in OP_CHARS:
            length = _operator_length(text, i)
            op = text[i:i + length]
            i += length
            kept = PREFIX_KEPT if prefix_position else BINARY_KEPT
            out.append(op if op in kept else f"OPERATOR(pg_catalog.{op})")
            prefix_position = True
            continue
        else:
            i += 1
            operand = c in ")]"
        out.append(text[start:i])
        prefix_position = not operand
    return "".join(out)


class PrefixOperator(exp.Expression):
    """OPERATOR(schema.op) operand: a prefix operator named explicitly."""

    arg_types: ClassVar[dict[str, bool]] = {"operator": True, "this": True}


class IsNormalized(exp.Expression):
    """x IS [NOT] [NFC|NFD|NFKC|NFKD] NORMALIZED (sqlglot reads the form as an alias)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "form": False, "negate": False}


NORMAL_FORMS = ("NFC", "NFD", "NFKC", "NFKD")


class WoePostgres(Postgres):
    """PostgreSQL as the server prints it (see the module docstring)."""

    class Parser(PostgresParser):
        QUOTED_TYPES_TO_PRESERVE: ClassVar[set[str]] = {"char", "bit"}

        UNARY_PARSERS: ClassVar[dict] = {
            **PostgresParser.UNARY_PARSERS,
            TokenType.OPERATOR: lambda self: self._parse_prefix_operator(),
        }

        def _parse_prefix_operator(self) -> exp.Expression:
            self._match_l_paren()
            op = ""
            while self._curr and not self._match(TokenType.R_PAREN):
                op += self._curr.text
                self._advance()
            return self.expression(PrefixOperator(operator=op, this=self._parse_unary()))

        def _parse_is(self, this: exp.Expression | None) -> exp.Expression | None:
            """IS [NOT] TRUE / FALSE / UNKNOWN as one test each (sqlglot reads IS NOT FALSE
            as NOT (IS FALSE) and UNKNOWN as NULL: other trees to PostgreSQL)."""
            index = self._index
            negate = self._match(TokenType.NOT)
            form = self._prev.text.upper() if self._match_texts(NORMAL_FORMS) else None
            if self._match_text_seq("NORMALIZED"):
                return self.expression(IsNormalized(this=this, form=form, negate=negate or None))
            if form:
                self._retreat(index)
                return super()._parse_is(this)
            if self._match_text_seq("UNKNOWN"):
                value: exp.Expression = exp.var("UNKNOWN")
            elif self._match(TokenType.TRUE):
                value = exp.true()
            elif self._match(TokenType.FALSE):
                value = exp.false()
            else:
                self._retreat(index)
                return super()._parse_is(this)
            return self.expression(exp.Is(this=this, expression=value, negate=negate or None))

    class Generator(PostgresGenerator):
        TRANSFORMS: ClassVar[dict] = {
            **PostgresGenerator.TRANSFORMS,
            PrefixOperator: lambda self, e: (
                f"OPERATOR({e.args['operator']}) {self.sql(e, 'this')}"),
            IsNormalized: lambda self, e: " ".join(filter(None, (
                self.sql(e, "this"), "IS", "NOT" if e.args.get("negate") else None,
                e.args.get("form"), "NORMALIZED"))),
        }

        def windowspec_sql(self, expression: exp.WindowSpec) -> str:
            """A frame without an end stays without BETWEEN (another frameOptions bit)."""
            if expression.args.get("end"):
                return super().windowspec_sql(expression)
            start = " ".join(filter(None, (self.sql(expression, "start"),
                                           self.sql(expression, "start_side"))))
            spec = f"{self.sql(expression, 'kind')} {start}"
            exclude = self.sql(expression, "exclude")
            return f"{spec} EXCLUDE {exclude}" if exclude else spec

        def datatype_sql(self, expression: exp.DataType) -> str:
            """interval(p), not sqlglot's INTERVAL p."""
            if expression.this == exp.DataType.Type.INTERVAL and expression.expressions:
                precision = ", ".join(self.sql(e) for e in expression.expressions)
                return f"INTERVAL({precision})"
            return super().datatype_sql(expression)


def parse(sql: str) -> list[exp.Expression]:
    """Server-printed SQL as sqlglot trees that render back to the same meaning."""
    import sqlglot

    return [e for e in sqlglot.parse(rewrite(sql), read=WoePostgres) if e is not None]

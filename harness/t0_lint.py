"""T0 lint over an entrypoint's closure: nothing may read the clock or reach the labels.

A view that calls now() gives a different answer tomorrow for the same T0 (not reproducible,
and a leak of time-of-query information); a view that reaches the outcome table leaks labels.
Parsed SQL is walked with sqlglot. String bodies (not parsed) are tokenized with sqlglot's
PostgreSQL tokenizer, so a comment hides nothing and a string literal hides no comment; a body
that cannot be tokenized, or is in another language, is scanned as raw text (comments and all).
When in doubt the lint flags: a string literal that mentions a clock word, a special input
('today', ...) or the label table; dynamic SQL (EXECUTE); an unqualified listing_outcomes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from harness import normalize
from harness.closure import ClosureObject
from harness.normalize import Normalized

TIME_OF_QUERY = (
    "now", "current_date", "current_timestamp", "localtimestamp", "clock_timestamp",
    "statement_timestamp", "transaction_timestamp", "timeofday", "current_time", "localtime",
    # server clock readings that are not "now" but still change between runs
    "pg_postmaster_start_time", "pg_conf_load_time", "pg_last_xact_replay_timestamp",
)
TIME_OF_QUERY_NODES = (
    exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime, exp.Localtimestamp, exp.Localtime,
)
# age(x) with one argument is age(current_date, x).
CLOCK_IF_ONE_ARGUMENT = "age"
# Special date/time input strings: read as the clock when converted to a date/time type.
SPECIAL_DATETIME_INPUTS = ("now", "today", "tomorrow", "yesterday")
LABEL_SCHEMA, LABEL_TABLE = "src", "listing_outcomes"
LABEL_TABLES = frozenset({f"{LABEL_SCHEMA}.{LABEL_TABLE}"})
_TIME_WORD = re.compile(r"\b(" + "|".join(TIME_OF_QUERY) + r")\b", re.IGNORECASE)
_SPECIAL_WORD = re.compile(r"\b(" + "|".join(SPECIAL_DATETIME_INPUTS) + r")\b", re.IGNORECASE)
_AGE_CALL = re.compile(r"\bage\s*\(", re.IGNORECASE)
_LABEL_WORD = re.compile(LABEL_TABLE, re.IGNORECASE)
_EXECUTE = re.compile(r"\bexecute\b", re.IGNORECASE)


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Cast):
        return ""  # a Cast's .name is its operand's ('now'::text): see the special inputs
    return (str(node.this) if isinstance(node, exp.Anonymous) else node.name).lower()


def _argument_count(node: exp.Expression) -> int:
    count = 0
    for value in node.args.values():  # Anonymous keeps its name as a plain str in "this"
        if isinstance(value, list):
            count += sum(isinstance(v, exp.Expression) for v in value)
        elif isinstance(value, exp.Expression):
            count += 1
    return count


def _special_input_read_as_clock(literal: exp.Literal) -> bool:
    """A special input string ('today', 'now', ...) that may become a date/time value.

    Only a literal that is cast to text (and nothing more) and then used as text is clean: a
    cast to any other type, a function argument or a bare literal (its type comes from the
    context) may read it as a date/time.
    """
    node, texty = literal, False
    while True:
        parent = node.parent
        if isinstance(parent, exp.Paren):
            node = parent
        elif isinstance(parent, exp.Cast) and parent.to.this in exp.DataType.TEXT_TYPES:
            node, texty = parent, True
        else:
            break
    return not texty or isinstance(node.parent, exp.Func)


def _clock_calls(tree: exp.Expression) -> set[str]:
    found = set()
    for node in tree.walk():
        if isinstance(node, TIME_OF_QUERY_NODES):
            found.add(node.sql(dialect="postgres").lower())
        elif isinstance(node, exp.Func) and _function_name(node) in TIME_OF_QUERY:
            found.add(_function_name(node))
        elif (isinstance(node, exp.Func) and _function_name(node) == CLOCK_IF_ONE_ARGUMENT
              and _argument_count(node) == 1):
            found.add(f"{CLOCK_IF_ONE_ARGUMENT}(x)")
        elif isinstance(node, exp.Column) and not node.table and node.name.lower() in TIME_OF_QUERY:
            found.add(node.name.lower())  # bare keywords sqlglot reads as columns (LOCALTIME)
        elif (isinstance(node, exp.Literal) and node.is_string
              and _SPECIAL_WORD.search(node.this) and _special_input_read_as_clock(node)):
            found.add(f"'{node.this}'")
    return found


def _tables(tree: exp.Expression) -> set[str]:
    found = {f"{t.db}.{t.name}".lower() for t in tree.find_all(exp.Table) if t.db}
    if any(not t.db and t.name.lower() == LABEL_TABLE for t in tree.find_all(exp.Table)):
        found |= LABEL_TABLES  # unqualified: it may resolve to src through search_path
    return found


def _text_findings(text: str) -> tuple[set[str], set[str]]:
    """Raw text scan (comments and literals included): everything that looks like a finding."""
    clocks = {m.lower() for m in _TIME_WORD.findall(text)}
    clocks |= {f"'{m.lower()}'" for m in _SPECIAL_WORD.findall(text)}
    if _AGE_CALL.search(text):
        clocks.add(f"{CLOCK_IF_ONE_ARGUMENT}(x)")
    tables = set(LABEL_TABLES) if _LABEL_WORD.search(text) else set()
    return clocks, tables


def _unicode_unescape(content: str, escape: str) -> str:
    """Decode the escapes of a U&'...' string or U&"..." identifier (\\XXXX, \\+XXXXXX)."""
    e = re.escape(escape)
    pattern = re.compile(e + r"(?:\+([0-9a-fA-F]{6})|([0-9a-fA-F]{4})|" + e + ")")

    def one(m: re.Match) -> str:
        digits = m.group(1) or m.group(2)
        try:
            return chr(int(digits, 16)) if digits else escape
        except (ValueError, OverflowError):
            return m.group(0)

    return pattern.sub(one, content)


def _token_value(tokens: list[tuple[Token, str, str]], i: int) -> str:
    """What a word, identifier or string token means (U& escapes decoded), lower-cased.

    sqlglot already decodes E'' escapes and doubled quotes; U& texts are left as written.
    """
    tok = tokens[i][0]
    text = tok.text
    unicode_identifier = (
        tok.token_type == TokenType.IDENTIFIER and i >= 2
        and tokens[i - 1][0].token_type == TokenType.AMP and tokens[i - 2][1].upper() == "U"
        and not tokens[i - 1][2] and not tokens[i][2])
    if tok.token_type == TokenType.UNICODE_STRING or unicode_identifier:
        escape = "\\"
        if (i + 2 < len(tokens) and tokens[i + 1][1].upper() == "UESCAPE"
                and tokens[i + 2][0].token_type in normalize.STRING_TOKENS):
            escape = tokens[i + 2][0].text or escape
        text = _unicode_unescape(text, escape)
    return text.lower()


def _one_argument(tokens: list[tuple[Token, str, str]], i: int) -> bool:
    """Token i is a function name: True unless its call visibly has two or more arguments."""
    if i + 1 >= len(tokens) or tokens[i + 1][0].token_type != TokenType.L_PAREN:
        return False  # not a call (a column or variable named age)
    depth = 0
    for tok, _, _ in tokens[i + 1:]:
        if tok.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif tok.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
            if depth == 0:
                return True
        elif tok.token_type == TokenType.COMMA and depth == 1:
            return False
    return True  # unbalanced: in doubt


DYNAMIC_SQL = "dynamic SQL (EXECUTE), which the lint cannot read"


def _body_findings(text: str, language: str | None) -> tuple[set[str], set[str], bool]:
    """Clock calls, label tables and whether it runs dynamic SQL, for a string body."""
    tokens = None
    if (language or "").lower() in normalize.TOKENIZED_LANGUAGES:
        tokens = normalize.sql_tokens(text)
    if tokens is None:  # other language or not tokenizable: raw text, comments included
        clocks, tables = _text_findings(text)
        return clocks, tables, bool(_EXECUTE.search(text))
    clocks: set[str] = set()
    tables: set[str] = set()
    dynamic = False
    for i, (tok, _, _) in enumerate(tokens):
        value = _token_value(tokens, i)
        if tok.token_type in normalize.STRING_TOKENS:
            # in doubt: dynamic SQL text, a special input string, a message naming either
            found, label = _text_findings(value)
            clocks |= {f"{c} (in a string literal)" for c in found}
            tables |= label
        elif value in TIME_OF_QUERY:
            clocks.add(value)
        elif value == CLOCK_IF_ONE_ARGUMENT and _one_argument(tokens, i):
            clocks.add(f"{CLOCK_IF_ONE_ARGUMENT}(x)")
        elif value == "execute":
            dynamic = True
        elif value == LABEL_TABLE:
            qualified = i >= 2 and tokens[i - 1][0].token_type == TokenType.DOT
            if not qualified or _token_value(tokens, i - 2) == LABEL_SCHEMA:
                tables |= LABEL_TABLES  # src.listing_outcomes, or unqualified (search_path)
    return clocks, tables, dynamic


def lint(objects: Iterable[ClosureObject], normalized: dict[str, Normalized]) -> list[str]:
    """Problems found, one line each (empty list: the closure is T0-clean)."""
    problems: list[str] = []
    for obj in objects:
        if obj.name.lower() in LABEL_TABLES:
            problems.append(f"label table {obj.name} is reachable from the entrypoint")
        norm = normalized.get(obj.name)
        if norm is None:
            continue
        dynamic = False
        if norm.trees:
            clocks = set().union(*(_clock_calls(t) for t in norm.trees))
            tables = set().union(*(_tables(t) for t in norm.trees)) & LABEL_TABLES
        else:  # string body: its tokens
            body = obj.body if obj.body is not None else norm.sql.split("\n", 1)[-1]
            language = obj.language or ("sql" if obj.sql_standard_body else None)
            clocks, tables, dynamic = _body_findings(body, language)
        if dynamic:
            problems.append(f"{obj.name} runs {DYNAMIC_SQL}")
        problems += [f"{obj.name} calls time-of-query function {c}" for c in sorted(clocks)]
        problems += [f"{obj.name} reads label table {t}" for t in sorted(tables)]
    return problems

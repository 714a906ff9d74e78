"""T0 lint over an entrypoint's closure, by allowlist: nothing may read the clock, the session
or the labels.

A view that calls now() gives a different answer tomorrow for the same T0 (not reproducible,
and a leak of time-of-query information); a view that reaches the outcome table leaks labels.
The lint does not look for names. It reads what the server resolved: every stored query tree
of the closure (views, SQL-standard function bodies, argument defaults, row-level security
policies, domain constraints, generated columns), with each function, operator, relation and
type as an OID (harness.node_tree), and refuses, naming the path from the entrypoint:
- any function or operator (through its function, aggregates through their support functions)
  that is not IMMUTABLE, unless ALLOWED_NON_IMMUTABLE lists it with a reason; time-of-query
  functions can never be listed;
- clock, session and sequence reads that are not function calls (CURRENT_DATE, LOCALTIME,
  CURRENT_USER, nextval's node), and TABLESAMPLE;
- a cast from text evaluated at run time into a type whose input function is not IMMUTABLE
  (every date/time type: ('to' || 'day')::date reads the clock); constants are folded when the
  view is created, so '2026-01-01'::date is fine;
- system catalogs and statistics or activity views (anything in pg_catalog or
  information_schema: pg_stats, pg_stat_activity, pg_class, ...);
- a label relation (audit.t0_label_relations, by OID), its inheritance children and partitions
  and its parents, however named;
- a function of the closure whose body PostgreSQL cannot track (a string body in any language):
  what it calls or reads is invisible to the closure, so the entrypoint is uncertifiable until it
  is rewritten as a SQL-standard body (BEGIN ATOMIC ... END, or RETURN ...). An exception
  recorded in audit.t0_untrackable_body_exception for that entrypoint and that exact definition
  (sha256) admits it; its tokens are then still scanned for clock words, the label table and
  dynamic SQL, and it must still be IMMUTABLE or allowlisted.
Objects the closure hashes without following (triggers, their functions, parent tables) act on
writes, not on the rows read, and are not linted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from sqlglot.tokens import Token, TokenType

from harness import closure, node_tree, normalize, pgsettings
from harness.closure import ClosureObject

# The reviewed exceptions to "every function is IMMUTABLE" (regprocedure -> reason). Empty: the
# shipped entrypoints use IMMUTABLE functions only. A STABLE function whose result depends on a
# session setting (TimeZone, DateStyle) could be listed with the reason it is safe.
ALLOWED_NON_IMMUTABLE: dict[str, str] = {}

# Functions that read the time of the query (or of the server): never allowed, whatever the list
# above says. Names without arguments: every overload.
TIME_OF_QUERY = (
    "now", "current_date", "current_timestamp", "localtimestamp", "clock_timestamp",
    "statement_timestamp", "transaction_timestamp", "timeofday", "current_time", "localtime",
    "pg_postmaster_start_time", "pg_conf_load_time", "pg_last_xact_replay_timestamp",
)
CLOCK_IF_ONE_ARGUMENT = "age"  # age(x) is age(current_date, x)
SPECIAL_DATETIME_INPUTS = ("now", "today", "tomorrow", "yesterday")
LABEL_SCHEMA, LABEL_TABLE = "src", "listing_outcomes"
LABEL_TABLES = frozenset({f"{LABEL_SCHEMA}.{LABEL_TABLE}"})
_TIME_WORD = re.compile(r"\b(" + "|".join(TIME_OF_QUERY) + r")\b", re.IGNORECASE)
_SPECIAL_WORD = re.compile(r"\b(" + "|".join(SPECIAL_DATETIME_INPUTS) + r")\b", re.IGNORECASE)
_AGE_CALL = re.compile(r"\bage\s*\(", re.IGNORECASE)
_LABEL_WORD = re.compile(LABEL_TABLE, re.IGNORECASE)
_EXECUTE = re.compile(r"\bexecute\b", re.IGNORECASE)


def _allowed(regprocedure: str) -> bool:
    name = regprocedure.split("(", 1)[0].rsplit(".", 1)[-1].strip('"').lower()
    return regprocedure in ALLOWED_NON_IMMUTABLE and name not in TIME_OF_QUERY


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


def body_problems(obj: ClosureObject) -> list[str]:
    """Clock words, the label table and dynamic SQL in a string body (an admitted exception)."""
    language = obj.language or ("sql" if obj.sql_standard_body else None)
    clocks, tables, dynamic = _body_findings(obj.body or "", language)
    problems = [f"{obj.name} runs {DYNAMIC_SQL}"] if dynamic else []
    problems += [f"{obj.name} calls time-of-query function {c}" for c in sorted(clocks)]
    problems += [f"{obj.name} reads label table {t}" for t in sorted(tables)]
    return problems


TREES_SQL = """
SELECT x.name, t.tree
FROM ROWS FROM (pg_catalog.unnest(%(kinds)s::text[]), pg_catalog.unnest(%(objids)s::oid[]),
               pg_catalog.unnest(%(names)s::text[])) AS x(kind, objid, name)
CROSS JOIN LATERAL (
    SELECT rw.ev_action::text FROM pg_catalog.pg_rewrite AS rw
    WHERE x.kind IN ('view', 'materialized_view') AND rw.ev_class = x.objid
      AND rw.rulename = '_RETURN'
    UNION ALL
    SELECT v.tree FROM pg_catalog.pg_proc AS p
    CROSS JOIN LATERAL (VALUES (p.prosqlbody::text), (p.proargdefaults::text)) AS v(tree)
    WHERE x.kind = 'function' AND p.oid = x.objid
    UNION ALL
    SELECT v.tree FROM pg_catalog.pg_policy AS po
    CROSS JOIN LATERAL (VALUES (po.polqual::text), (po.polwithcheck::text)) AS v(tree)
    WHERE x.kind = 'policy' AND po.oid = x.objid
    UNION ALL
    SELECT c.conbin::text FROM pg_catalog.pg_constraint AS c
    WHERE x.kind = 'domain_constraint' AND c.oid = x.objid
    UNION ALL
    SELECT d.adbin::text FROM pg_catalog.pg_attrdef AS d
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
    WHERE x.kind = 'table' AND d.adrelid = x.objid AND a.attgenerated <> ''
) AS t(tree)
WHERE t.tree IS NOT NULL
"""

FUNCTIONS_SQL = """
SELECT p.oid, p.oid::regprocedure::text, p.provolatile, p.prokind,
       p.prosqlbody IS NOT NULL, array_remove(ARRAY[a.aggtransfn, a.aggfinalfn, a.aggcombinefn,
       a.aggserialfn, a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn]::oid[], NULL)
FROM pg_catalog.pg_proc AS p
LEFT JOIN pg_catalog.pg_aggregate AS a ON a.aggfnoid = p.oid
WHERE p.oid = ANY (%s::oid[])
"""

OPERATORS_SQL = """
SELECT o.oid, o.oid::regoperator::text, o.oprcode::oid
FROM pg_catalog.pg_operator AS o WHERE o.oid = ANY (%s::oid[])
"""

RELATIONS_SQL = """
SELECT c.oid, c.oid::regclass::text,
       n.nspname IN ('pg_catalog', 'information_schema', 'pg_toast')
FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.oid = ANY (%s::oid[])
"""

IO_TYPES_SQL = """
SELECT t.oid, pg_catalog.format_type(t.oid, NULL), p.provolatile = 'i'
FROM pg_catalog.pg_type AS t JOIN pg_catalog.pg_proc AS p ON p.oid = t.typinput
WHERE t.oid = ANY (%s::oid[])
"""

# Label relations with their inheritance children and partitions (they hold label rows) and
# their parents (reading a parent reads its children).
LABEL_RELATIONS_SQL = """
WITH RECURSIVE down (oid) AS (
    SELECT l.relation::oid FROM audit.t0_label_relations AS l
    UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits AS i JOIN down AS d ON i.inhparent = d.oid
), up (oid) AS (
    SELECT l.relation::oid FROM audit.t0_label_relations AS l
    UNION SELECT i.inhparent FROM pg_catalog.pg_inherits AS i JOIN up AS u ON i.inhrelid = u.oid
)
SELECT oid FROM down UNION SELECT oid FROM up
"""

EXCEPTIONS_SQL = """
SELECT e.function::oid, e.definition_sha256 FROM audit.t0_untrackable_body_exception AS e
WHERE e.entrypoint = %s
"""

UNTRACKABLE = ("has a body PostgreSQL cannot track (a string body), so what it calls or reads "
               "is invisible to certification: rewrite it as a SQL-standard body "
               "(BEGIN ATOMIC ... END, or RETURN ...)")


@dataclass
class _Catalog:
    """What the lint needs to know about the built-in and user objects the trees name."""

    functions: dict[int, tuple]
    operators: dict[int, tuple]
    relations: dict[int, tuple]
    io_types: dict[int, tuple]
    labels: set[int]


def _load(conn: psycopg.Connection, refs: node_tree.References) -> _Catalog:
    operators = {r[0]: r for r in conn.execute(OPERATORS_SQL, (sorted(refs.operators),))}
    wanted = set(refs.functions) | {r[2] for r in operators.values()}
    functions: dict[int, tuple] = {}
    while wanted - set(functions):  # aggregates bring their support functions
        rows = conn.execute(FUNCTIONS_SQL, (sorted(wanted - set(functions)),)).fetchall()
        if not rows:
            break
        for r in rows:
            functions[r[0]] = r
            wanted |= {f for f in r[5] or [] if f}
    return _Catalog(
        functions, operators,
        {r[0]: r for r in conn.execute(RELATIONS_SQL, (sorted(refs.relations),))},
        {r[0]: r for r in conn.execute(IO_TYPES_SQL, (sorted(refs.io_casts),))},
        {r[0] for r in conn.execute(LABEL_RELATIONS_SQL)},
    )


_VOLATILITY = {"i": "IMMUTABLE", "s": "STABLE", "v": "VOLATILE"}


def _volatility_ok(regprocedure: str, volatile: str) -> bool:
    """IMMUTABLE, or on the reviewed allowlist (never a time-of-query function)."""
    return volatile == "i" or _allowed(regprocedure)


def _function_problems(cat: _Catalog, oid: int, via: str = "") -> list[str]:
    """A function that is neither IMMUTABLE nor allowed, and its aggregate support functions."""
    row = cat.functions.get(oid)
    if row is None:
        return [f"calls function {oid}{via}, which does not exist"]
    _, name, volatile, _, _, support = row
    problems = []
    if not _volatility_ok(name, volatile):
        problems.append(f"calls {name}{via}, which is {_VOLATILITY[volatile]} "
                        "(not IMMUTABLE nor allowed)")
    for s in (f for f in support or [] if f):
        problems += _function_problems(cat, s, f" (support function of {name})")
    return problems


def _tree_problems(cat: _Catalog, refs: node_tree.References) -> list[str]:
    problems = [node_tree.REFUSED_NODES[n] for n in sorted(refs.refused)]
    for oid in sorted(refs.functions):
        problems += _function_problems(cat, oid)
    for oid in sorted(refs.operators):
        op = cat.operators.get(oid)
        if op is None:
            problems.append(f"uses operator {oid}, which does not exist")
        else:
            problems += _function_problems(cat, op[2], f" (operator {op[1]})")
    for oid in sorted(refs.relations):
        rel = cat.relations.get(oid)
        if rel is None:
            problems.append(f"reads relation {oid}, which does not exist")
        elif rel[2]:
            problems.append(f"reads system catalog or statistics view {rel[1]}")
        elif oid in cat.labels:
            problems.append(f"reads label relation {rel[1]}")
    for oid in sorted(refs.io_casts):
        typ = cat.io_types.get(oid)
        if typ is None or not typ[2]:
            shown = typ[1] if typ else str(oid)
            problems.append(f"casts text to {shown} at run time (its input is not IMMUTABLE: "
                            "special inputs such as 'now' and 'today' read the clock)")
    return problems


def lint(conn: psycopg.Connection, entrypoint: str, objects: list[ClosureObject]) -> list[str]:
    """Problems found, one line each naming the object and its path from the entrypoint (empty
    list: the closure is T0-clean)."""
    read = [o for o in objects if o.reads and o.kind != "view_options"]
    with pgsettings.pinned(conn):
        trees = conn.execute(TREES_SQL, {"kinds": [o.kind for o in read],
                                         "objids": [o.objid for o in read],
                                         "names": [o.name for o in read]}).fetchall()
        per_object: dict[str, node_tree.References] = {}
        unreadable: dict[str, str] = {}
        everything = node_tree.References()
        for name, tree in trees:
            try:
                refs = node_tree.references(tree)
            except (node_tree.Unreadable, RecursionError) as e:
                unreadable[name] = f"has a query tree the lint cannot read ({e}): rename it"
                continue
            per_object.setdefault(name, node_tree.References()).update(refs)
            everything.update(refs)
        own = {o.objid for o in read if o.kind == "function"}
        everything.functions |= own
        cat = _load(conn, everything)
        exceptions = dict(conn.execute(EXCEPTIONS_SQL, (entrypoint,)).fetchall())
    problems: list[str] = []
    for obj in read:
        found: list[str] = [unreadable[obj.name]] if obj.name in unreadable else []
        if obj.kind in ("table", "view", "materialized_view") and obj.objid in cat.labels:
            found.append("is a label relation (or its parent, child or partition)")
        if obj.kind == "function":
            row = cat.functions[obj.objid]
            if row[3] != "a" and not row[4]:  # not an aggregate, no SQL-standard body
                if exceptions.get(obj.objid) == obj.raw_sha256:
                    found += [p.removeprefix(obj.name + " ") for p in body_problems(obj)]
                else:
                    found.append(UNTRACKABLE)
            if not _volatility_ok(row[1], row[2]):
                found.append(f"is {_VOLATILITY[row[2]]} (not IMMUTABLE nor allowed)")
        found += _tree_problems(cat, per_object.get(obj.name, node_tree.References()))
        route = " -> ".join(closure.path(objects, obj.name))
        problems += [f"{obj.name} {p} [path: {route}]" for p in dict.fromkeys(found)]
    return problems

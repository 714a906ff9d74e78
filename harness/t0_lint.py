"""T0 lint over an entrypoint's closure: nothing may read the clock or reach the labels.

A view that calls now() gives a different answer tomorrow for the same T0 (not reproducible,
and a leak of time-of-query information); a view that reaches the outcome table leaks labels.
Parsed SQL is walked with sqlglot; procedural bodies (not parsed) are scanned as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlglot import exp

from harness.closure import ClosureObject
from harness.normalize import Normalized

TIME_OF_QUERY = (
    "now", "current_date", "current_timestamp", "localtimestamp", "clock_timestamp",
    "statement_timestamp", "transaction_timestamp", "timeofday", "current_time", "localtime",
)
TIME_OF_QUERY_NODES = (
    exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime, exp.Localtimestamp, exp.Localtime,
)
LABEL_TABLES = frozenset({"src.listing_outcomes"})
_TIME_WORD = re.compile(r"\b(" + "|".join(TIME_OF_QUERY) + r")\b", re.IGNORECASE)


def _clock_calls(tree: exp.Expression) -> set[str]:
    found = set()
    for node in tree.walk():
        if isinstance(node, TIME_OF_QUERY_NODES):
            found.add(node.sql(dialect="postgres").lower())
        elif isinstance(node, exp.Func) and node.name.lower() in TIME_OF_QUERY:
            found.add(node.name.lower())
        elif isinstance(node, exp.Anonymous) and str(node.this).lower() in TIME_OF_QUERY:
            found.add(str(node.this).lower())
        elif isinstance(node, exp.Column) and not node.table and node.name.lower() in TIME_OF_QUERY:
            found.add(node.name.lower())  # bare keywords sqlglot reads as columns (LOCALTIME)
    return found


def _tables(tree: exp.Expression) -> set[str]:
    return {f"{t.db}.{t.name}".lower() for t in tree.find_all(exp.Table) if t.db}


def lint(objects: Iterable[ClosureObject], normalized: dict[str, Normalized]) -> list[str]:
    """Problems found, one line each (empty list: the closure is T0-clean)."""
    problems: list[str] = []
    for obj in objects:
        if obj.name.lower() in LABEL_TABLES:
            problems.append(f"label table {obj.name} is reachable from the entrypoint")
        norm = normalized.get(obj.name)
        if norm is None:
            continue
        if norm.trees:
            clocks = set().union(*(_clock_calls(t) for t in norm.trees))
            tables = set().union(*(_tables(t) for t in norm.trees)) & LABEL_TABLES
        else:  # procedural body: text scan
            clocks = {m.lower() for m in _TIME_WORD.findall(norm.sql.split("\n", 1)[-1])}
            tables = {t for t in LABEL_TABLES if t in norm.sql.lower()}
        problems += [f"{obj.name} calls time-of-query function {c}" for c in sorted(clocks)]
        problems += [f"{obj.name} reads label table {t}" for t in sorted(tables)]
    return problems

"""Certification policies: one row of audit.t0_entrypoint_policy per certified entrypoint.

Entrypoints are data, so the runner is generic: everything entrypoint-specific (aliases,
assertion function, drift window, new-day tolerance, key) comes from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import psycopg

DEFAULT_MAX_NEW_DAYS = 7  # audit.t0_entrypoint_policy.max_new_days's default (revision 0056)


@dataclass(frozen=True)
class Policy:
    entrypoint: str
    aliases: tuple[str, ...]
    max_age: timedelta
    check_days: int
    sample_limit: int | None  # None: every row of each day is hashed
    drift_mode: str  # strict | tolerant
    assertion_function: str  # regprocedure text, e.g. audit.assert_...()
    key_columns: tuple[str, ...]
    t0_column: str
    package_bound: bool
    # rows dated more than this many UTC days after the newest baselined day fail a run's
    # dataset_drift check
    max_new_days: int = DEFAULT_MAX_NEW_DAYS


# max_new_days through to_jsonb: a database not yet at 0056 has no such column (the harness
# still certifies it, e.g. before an upgrade), and then the column's default applies.
POLICY_SQL = f"""
SELECT p.entrypoint, p.aliases, p.max_age, p.check_days, p.sample_limit, p.drift_mode,
       p.assertion_function::text, p.key_columns, p.t0_column, p.package_bound,
       coalesce((to_jsonb(p) ->> 'max_new_days')::integer, {DEFAULT_MAX_NEW_DAYS})
FROM audit.t0_entrypoint_policy AS p
WHERE %(entrypoint)s::text IS NULL OR p.entrypoint = %(entrypoint)s::text
ORDER BY p.entrypoint
"""


def load(conn: psycopg.Connection, entrypoint: str | None = None) -> list[Policy]:
    """All policies, or the one named; an unknown entrypoint is an error, not an empty list."""
    rows = conn.execute(POLICY_SQL, {"entrypoint": entrypoint}).fetchall()
    if entrypoint is not None and not rows:
        raise LookupError(f"{entrypoint} has no row in audit.t0_entrypoint_policy")
    return [
        Policy(r[0], tuple(r[1]), r[2], r[3], r[4], r[5], r[6], tuple(r[7]), r[8], r[9], r[10])
        for r in rows
    ]

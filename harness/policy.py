"""Certification policies: one row of audit.t0_entrypoint_policy per certified entrypoint.

Entrypoints are data, so the runner is generic: everything entrypoint-specific (aliases,
assertion function, drift window, new-day tolerance, key) comes from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import psycopg


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
    max_new_days: int


POLICY_SQL = """
SELECT entrypoint, aliases, max_age, check_days, sample_limit, drift_mode,
       assertion_function::text, key_columns, t0_column, package_bound, max_new_days
FROM audit.t0_entrypoint_policy
WHERE %(entrypoint)s::text IS NULL OR entrypoint = %(entrypoint)s::text
ORDER BY entrypoint
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

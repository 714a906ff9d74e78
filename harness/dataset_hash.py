"""Per-UTC-day content hashes of an entrypoint's rows, independent of physical row order.

Each day's hash is sha256 over the rows' text joined in key order (the key is unique, checked
before hashing), so the same rows give the same hash whatever order the scan returns them in,
and any changed, added or removed row changes it. Row text depends on TimeZone, DateStyle and
extra_float_digits, so hashing runs under pinned settings. `certify baseline` hashes the
window, the policy's last check_days UTC calendar days ending at the entrypoint's latest t0_day;
a run hashes every baselined day and the new days after them (harness.cert_checks.dataset_drift).
SQL is composed with psycopg.sql: identifiers are never pasted as strings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import psycopg
from psycopg import sql

from harness import pgsettings
from harness.policy import Policy

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()  # a day without rows


@dataclass(frozen=True)
class DayHash:
    t0_day: date
    row_count: int
    sha256: str


def relation(name: str) -> sql.Composable:
    """schema.name as a quoted, two-part identifier."""
    schema, _, rel = name.partition(".")
    return sql.Identifier(schema, rel) if rel else sql.Identifier(schema)


def latest_day(conn: psycopg.Connection, policy: Policy) -> date | None:
    """The latest UTC t0_day in the entrypoint (None when it is empty).

    ORDER BY ... LIMIT 1 rather than max(): the planner walks the t0 index backwards through
    the view instead of scoring every row.
    """
    query = sql.SQL("SELECT {t0} FROM {ep} ORDER BY {t0} DESC LIMIT 1").format(
        t0=sql.Identifier(policy.t0_column), ep=relation(policy.entrypoint)
    )
    row = conn.execute(query).fetchone()
    return None if row is None else row[0].astimezone(UTC).date()


def window(conn: psycopg.Connection, policy: Policy) -> list[date]:
    """The policy's last check_days UTC days, oldest first."""
    last = latest_day(conn, policy)
    if last is None:
        return []
    return [last - timedelta(days=i) for i in reversed(range(policy.check_days))]


def days_after(
    conn: psycopg.Connection, policy: Policy, last: date, max_days: int
) -> tuple[list[date], list[tuple[str, int]]]:
    """The UTC days after `last` that hold rows: those at most max_days after it, oldest first,
    and the later ones with their row counts, as ISO text (PostgreSQL's dates run past the
    year 9999, Python's do not). One range scan of the t0 index."""
    query = sql.SQL(
        """
SELECT pg_catalog.to_char(d.t0_day, 'YYYY-MM-DD'),
       d.t0_day <= %(last)s::date + %(max_days)s::integer, count(*)
FROM (SELECT ({t0} AT TIME ZONE 'UTC')::date AS t0_day FROM {ep}
      WHERE {t0} >= (%(last)s::date + 1)::timestamp AT TIME ZONE 'UTC') AS d
GROUP BY d.t0_day
ORDER BY d.t0_day
"""
    ).format(t0=sql.Identifier(policy.t0_column), ep=relation(policy.entrypoint))
    rows = conn.execute(query, {"last": last, "max_days": max_days}).fetchall()
    return ([date.fromisoformat(d) for d, within, _n in rows if within],
            [(d, n) for d, within, n in rows if not within])


def hash_query(policy: Policy) -> sql.Composable:
    """One pass over the window: per day the row count and the hash of (sampled) rows."""
    keys = [sql.Identifier(k) for k in policy.key_columns]
    key_aliases = [sql.Identifier(f"k{i}") for i in range(len(keys))]
    sampled = policy.sample_limit is not None
    return sql.SQL(
        """
SELECT d.t0_day, count(*),
       pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
           coalesce(pg_catalog.string_agg(d.row_text, E'\\n' ORDER BY {key_aliases}) {filter}, ''),
           'UTF8')), 'hex')
FROM (
    SELECT ({t0} AT TIME ZONE 'UTC')::date AS t0_day, e::text AS row_text, {keys_as} {rn}
    FROM {ep} AS e
    WHERE e.{t0} >= %(lo)s AND e.{t0} < %(hi)s
) AS d
GROUP BY d.t0_day
ORDER BY d.t0_day
"""
    ).format(
        key_aliases=sql.SQL(", ").join(sql.SQL("d.{}").format(a) for a in key_aliases),
        filter=sql.SQL("FILTER (WHERE d.rn <= %(sample_limit)s)") if sampled else sql.SQL(""),
        t0=sql.Identifier(policy.t0_column),
        keys_as=sql.SQL(", ").join(
            sql.SQL("e.{} AS {}").format(k, a) for k, a in zip(keys, key_aliases, strict=True)
        ),
        rn=sql.SQL(
            ", pg_catalog.row_number() OVER (PARTITION BY ({t0} AT TIME ZONE 'UTC')::date "
            "ORDER BY {keys}) AS rn"
        ).format(
            t0=sql.Identifier(policy.t0_column),
            keys=sql.SQL(", ").join(sql.SQL("e.{}").format(k) for k in keys),
        )
        if sampled
        else sql.SQL(""),
        ep=relation(policy.entrypoint),
    )


def day_hashes(conn: psycopg.Connection, policy: Policy, days: list[date]) -> dict[date, DayHash]:
    """Hashes of the given days; a day without rows is present with count 0."""
    if not days:
        return {}
    lo = datetime.combine(min(days), time(), UTC)
    hi = datetime.combine(max(days) + timedelta(days=1), time(), UTC)
    params = {"lo": lo, "hi": hi, "sample_limit": policy.sample_limit}
    with pgsettings.pinned(conn):
        rows = conn.execute(hash_query(policy), params).fetchall()
    found = {d: DayHash(d, n, h) for d, n, h in rows}
    return {d: found.get(d, DayHash(d, 0, EMPTY_SHA256)) for d in days}

"""Run a block under fixed session settings and give the caller's settings back afterwards.

Definition text (search_path) and row text (TimeZone, DateStyle, extra_float_digits) depend on
session settings; hashes are only comparable when every run prints under the same ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

CANONICAL = {
    "search_path": "pg_catalog, pg_temp",
    "TimeZone": "UTC",
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
}


@contextmanager
def pinned(conn: psycopg.Connection, **settings: str) -> Iterator[None]:
    """Set the given settings (default: all of CANONICAL) for the block, then restore them."""
    wanted = settings or CANONICAL
    previous = {
        name: conn.execute("SELECT pg_catalog.current_setting(%s)", (name,)).fetchone()[0]
        for name in wanted
    }
    for name, value in wanted.items():
        conn.execute("SELECT pg_catalog.set_config(%s, %s, false)", (name, value))
    try:
        yield
    finally:
        if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
            for name, value in previous.items():
                conn.execute("SELECT pg_catalog.set_config(%s, %s, false)", (name, value))

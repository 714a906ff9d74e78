"""The scratch database a bench script measures on: migrated, filled by harness.synth, with a
complete package, analyzed; reused by name with --keep (built when missing)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import db, migrate, synth
from tests.packages import insert_package


def _exists(admin_url: str, name: str) -> bool:
    with psycopg.connect(admin_url) as c:
        row = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def scratch_database(admin_url: str, name: str, listings: int, seed: int, *, keep: bool,
                     extra: Callable[[psycopg.Connection], None] | None = None) -> str:
    """The URL of the scratch database `name`; `extra` adds what one bench needs besides."""
    url = db.with_dbname(admin_url, name)
    if keep and _exists(admin_url, name):
        return url
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate.upgrade(url)
    started = time.perf_counter()
    with psycopg.connect(url) as c:
        synth.fill(c, listings, seed)
        insert_package(c, "bench_pkg")
        if extra:
            extra(c)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("VACUUM ANALYZE")
    print(f"built {listings} listings in {time.perf_counter() - started:.1f} s", file=sys.stderr,
          flush=True)
    return url

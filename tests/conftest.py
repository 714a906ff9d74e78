"""Shared fixtures: every test session gets its own fresh databases on a real PostgreSQL.

The server is the embedded one (started on demand, data in .pgdata/) unless
WOE_TEST_ADMIN_URL names another server; each session creates uniquely named databases and
drops them at the end, so tests never depend on a server started by hand or on each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import create_engine, pool

from harness import db, migrate

ROOT = Path(__file__).resolve().parent.parent


upgrade = migrate.upgrade
downgrade = migrate.downgrade


def server_version_num(url: str) -> int:
    """The server's version as an integer (180004 for 18.4)."""
    with psycopg.connect(url) as c:
        return int(c.execute("SHOW server_version_num").fetchone()[0])


@pytest.fixture(scope="session")
def admin_url() -> str:
    import os

    explicit = os.environ.get("WOE_TEST_ADMIN_URL")
    return db.to_libpq_url(explicit) if explicit else db.resolve(quiet=True).url


@pytest.fixture(scope="session")
def make_database(admin_url: str) -> Iterator[Callable[..., str]]:
    """Factory: create a fresh empty database (optionally migrated) and return its conninfo."""
    created: list[str] = []

    def make(*, migrate_to: str | None = None, encoding: str | None = None) -> str:
        name = f"woe_test_{uuid.uuid4().hex[:12]}"
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if encoding:  # template0 and the C locale take any encoding
            create += sql.SQL(" ENCODING {} TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"
                              ).format(sql.Literal(encoding))
        with psycopg.connect(admin_url, autocommit=True) as c:
            c.execute(create)
        created.append(name)
        url = db.with_dbname(admin_url, name)
        if migrate_to:
            upgrade(url, migrate_to)
        return url

    yield make
    with psycopg.connect(admin_url, autocommit=True) as c:
        for name in created:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def database_url(make_database) -> str:
    """One database at head, shared by the tests of a session that only read or add rows."""
    return make_database(migrate_to="head")


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url) as c:
        yield c


# pytest-alembic: it migrates its own empty database.
@pytest.fixture
def alembic_engine(make_database):
    url = make_database()
    engine = create_engine(db.to_sqlalchemy_url(url), poolclass=pool.NullPool)
    yield engine
    engine.dispose()


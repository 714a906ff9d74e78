"""The one place that decides which database a command talks to.

Precedence: an explicit ``--database-url`` > ``WOE_DATABASE_URL`` > ``DATABASE_URL`` > the
embedded PostgreSQL (see :mod:`harness.embedded`). Every command and ``migrations/env.py``
resolve their URL here, so they can never disagree about where they are writing.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

import psycopg

from harness.cli import BadInput

ENV_VARS = ("WOE_DATABASE_URL", "DATABASE_URL")


@dataclass(frozen=True)
class ResolvedDatabase:
    url: str  # libpq form: postgresql://...
    source: str  # "--database-url", an environment variable name, or "embedded"

    @property
    def sqlalchemy_url(self) -> str:
        return to_sqlalchemy_url(self.url)


def to_libpq_url(url: str) -> str:
    """Drop a SQLAlchemy driver suffix (postgresql+psycopg://) so libpq accepts the URL."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise BadInput(f"not a database URL (expected postgresql://...): {url!r}")
    base = scheme.split("+", 1)[0]
    if base not in ("postgresql", "postgres"):
        raise BadInput(f"unsupported database URL scheme {scheme!r}: only PostgreSQL is supported")
    return f"postgresql://{rest}"


def to_sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + to_libpq_url(url).partition("://")[2]


def resolve(cli_url: str | None = None, *, quiet: bool = False) -> ResolvedDatabase:
    """Return the database to use, starting the embedded server only when nothing else is set."""
    if cli_url:
        return ResolvedDatabase(to_libpq_url(cli_url), "--database-url")
    for name in ENV_VARS:
        value = os.environ.get(name)
        if value:
            return ResolvedDatabase(to_libpq_url(value), name)
    from harness import embedded

    return ResolvedDatabase(embedded.start(quiet=quiet), "embedded")


def connect(url: str, **kwargs) -> psycopg.Connection:
    """Open a psycopg connection; accepts SQLAlchemy-style URLs too.

    Refuses a SQL_ASCII client encoding (the default on a SQL_ASCII database): psycopg (and so
    SQLAlchemy and Alembic) then returns text as bytes, and every command would fail later
    with a traceback instead of this one clear error.
    """
    conn = psycopg.connect(to_libpq_url(url), **kwargs)
    if conn.info.parameter_status("client_encoding") == "SQL_ASCII":
        name = conn.info.dbname
        conn.close()
        raise BadInput(f"database {name!r} uses the encoding SQL_ASCII, whose text psycopg "
                       "returns as bytes: use a UTF8 database (CREATE DATABASE ... ENCODING "
                       "'UTF8' TEMPLATE template0) or set PGCLIENTENCODING=UTF8")
    return conn


def add_database_url_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="PostgreSQL URL (default: $WOE_DATABASE_URL, then $DATABASE_URL, "
        "then the embedded server in .pgdata/)",
    )


def with_dbname(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(to_libpq_url(url))
    return urlunsplit(parts._replace(path="/" + quote(dbname)))

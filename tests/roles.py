"""The group roles of revision 0030 as tests use them: SET ROLE sessions and login members.

Tests run as the superuser `postgres`; `as_role` drops to a group role with SET ROLE, so every
privilege check is the one a member of that role gets. `login_member` creates a real LOGIN
role that is a member of a group (as a DBA would grant it) for the command-line tools, and
removes it afterwards: roles are cluster-global, so nothing may be left behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from harness import db

READER, TRAINER, CERTIFIER = "woe_reader", "woe_trainer", "woe_certifier"


@contextmanager
def as_role(url: str, role: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """A connection whose session runs as `role` (SET ROLE, committed so it outlives rollbacks)."""
    with psycopg.connect(url, autocommit=autocommit) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        if not autocommit:
            conn.commit()
        yield conn


def with_user(url: str, user: str) -> str:
    """The same database URL, connecting as `user` (the embedded server trusts local users)."""
    parts = urlsplit(db.to_libpq_url(url))
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


@contextmanager
def login_member(url: str, group: str) -> Iterator[str]:
    """A fresh LOGIN role that is a member of `group`; yields its URL for `url`'s database."""
    name = f"h_login_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        admin.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(name)))
    try:
        yield with_user(url, name)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE usename = %s", (name,))
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))

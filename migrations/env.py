"""Alembic environment: every revision is plain SQL; the URL comes from harness.db."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Engine

from harness import db

config = context.config
if config.config_file_name is not None and config.attributes.get("connection") is None:
    # CLI runs log "Running upgrade ..." lines; embedded callers keep their own logging.
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# Alembic's version table lives in public; our objects live in audit, src and ml.
VERSION_TABLE_SCHEMA = "public"


def run_offline() -> None:
    """Render the complete DDL without touching any server (alembic upgrade head --sql)."""
    context.configure(
        dialect_name="postgresql",
        literal_binds=True,
        transactional_ddl=True,
        transaction_per_migration=True,
        version_table_schema=VERSION_TABLE_SCHEMA,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")  # tests pass a Connection, pytest-alembic an Engine
    if isinstance(given, Engine):
        with given.connect() as connection:
            _run_on(connection)
        return
    if given is not None:
        _run_on(given)
        return
    url = db.resolve(context.get_x_argument(as_dictionary=True).get("database_url")).sqlalchemy_url
    db.connect(url).close()  # a database psycopg cannot use fails here with a clear message
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run_on(connection)
    engine.dispose()


def _run_on(connection) -> None:
    context.configure(
        connection=connection,
        transaction_per_migration=True,
        version_table_schema=VERSION_TABLE_SCHEMA,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

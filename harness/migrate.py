"""Run Alembic from Python on a resolved database URL (the same revisions as the alembic CLI)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool

from harness import db
from harness.embedded import PROJECT_ROOT


def alembic_config() -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return cfg


def _run(url: str, action, revision: str) -> None:
    engine = create_engine(db.to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            action(cfg, revision)
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    _run(url, command.upgrade, revision)


def downgrade(url: str, revision: str = "base") -> None:
    _run(url, command.downgrade, revision)

"""Run Alembic from Python on a resolved database URL (the same revisions as the alembic CLI).

``x_args`` are Alembic's ``-x key=value`` options (e.g. ``{"role_prefix": "acme"}`` for the
role names of revision 0030), so Python callers can configure revisions as the CLI does.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool

from harness import db
from harness.embedded import PROJECT_ROOT


def alembic_config(x_args: Mapping[str, str] | None = None) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if x_args:
        # What `alembic -x key=value` puts there; context.get_x_argument() reads it.
        cfg.cmd_opts = argparse.Namespace(x=[f"{k}={v}" for k, v in x_args.items()])
    return cfg


def _run(url: str, action, revision: str, x_args: Mapping[str, str] | None) -> None:
    db.connect(url).close()  # a database psycopg cannot use fails here with a clear message
    engine = create_engine(db.to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(x_args)
            cfg.attributes["connection"] = connection
            action(cfg, revision)
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head", *, x_args: Mapping[str, str] | None = None) -> None:
    _run(url, command.upgrade, revision, x_args)


def downgrade(url: str, revision: str = "base", *,
              x_args: Mapping[str, str] | None = None) -> None:
    _run(url, command.downgrade, revision, x_args)


def revision_module(revision: str):
    """The module of one revision (e.g. "0052"), for a later revision's downgrade to load the
    versions of views and functions it replaced instead of pasting them (Alembic cookbook,
    "Replaceable Objects")."""
    import importlib.util

    [path] = (PROJECT_ROOT / "migrations" / "versions").glob(f"{revision}_*.py")
    spec = importlib.util.spec_from_file_location(f"woe_revision_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

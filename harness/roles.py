"""Names of the store's group roles, from Alembic's `-x role_prefix=...` (default `woe`).

Revisions that create or grant to the roles call :func:`from_alembic` so every revision agrees
on the names. The prefix is validated here, which is what makes the names safe to write into
DDL as identifiers.
"""

from __future__ import annotations

import re
from typing import NamedTuple

ROLE_PREFIX_RE = re.compile(r"[a-z][a-z0-9_]{0,40}")
DEFAULT_ROLE_PREFIX = "woe"


class Roles(NamedTuple):
    reader: str
    trainer: str
    certifier: str


def named(prefix: str = DEFAULT_ROLE_PREFIX) -> Roles:
    if not ROLE_PREFIX_RE.fullmatch(prefix):
        raise ValueError(
            f"role_prefix {prefix!r} must match {ROLE_PREFIX_RE.pattern} "
            "(lower case letters, digits and _, starting with a letter, at most 41 characters)")
    return Roles(f"{prefix}_reader", f"{prefix}_trainer", f"{prefix}_certifier")


def from_alembic() -> Roles:
    """The roles for the running migration (-x role_prefix=...)."""
    from alembic import context

    return named(context.get_x_argument(as_dictionary=True).get("role_prefix", DEFAULT_ROLE_PREFIX))

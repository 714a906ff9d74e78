"""How every command ends: one rule for the exit status and the one-line error it prints.

    0  success
    1  the command ran and something failed: a check or proof failed, or the database refused
       the work or could not be reached
    2  bad input: arguments, a malformed database URL, a name that does not exist, or data that
       cannot be used; nothing was written

Errors are one line on stderr naming what was wrong, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import psycopg

BAD_INPUT = 2
FAILED = 1

# Errors that mean the schema is not (or not entirely) there: the usual cause is a database
# that was never migrated.
_MISSING_SCHEMA = (psycopg.errors.InvalidSchemaName, psycopg.errors.UndefinedTable,
                   psycopg.errors.UndefinedFunction)


class BadInput(ValueError):
    """Input a command cannot use (exit status 2); nothing was written."""


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (a count of rows, rounds, clients...)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def describe(exc: psycopg.Error) -> str:
    """The database error in one line, with a hint when the schema is missing."""
    text = (str(exc).strip().splitlines() or [""])[0]
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if isinstance(exc, _MISSING_SCHEMA):
        message += " (is the database at alembic head? run: alembic upgrade head)"
    return message


def finish(prefix: str, body: Callable[[], int]) -> int:
    """Run a command's body and turn the errors it may meet into the exit status above."""
    try:
        return body()
    except (BadInput, LookupError) as exc:
        _error(prefix, str(exc))
        return BAD_INPUT
    except psycopg.Error as exc:
        _error(prefix, describe(exc))
        return FAILED
    except Exception as exc:
        cause = getattr(exc, "orig", None)  # SQLAlchemy (alembic) wraps the driver's error
        if isinstance(cause, psycopg.Error):
            _error(prefix, describe(cause))
            return FAILED
        raise


def _error(prefix: str, message: str) -> None:
    print(f"[{prefix}] error: {message}", file=sys.stderr, flush=True)

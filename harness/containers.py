"""Optional provider: a throwaway PostgreSQL in Docker via testcontainers.

For users who have Docker and want a server version other than the embedded one, e.g.
`python -m harness.containers --image postgres:16` prints a URL to export as WOE_DATABASE_URL
while it keeps the container alive. Nothing else in the project needs Docker.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def postgres_container(image: str = "postgres:18") -> Iterator[str]:
    """Start a PostgreSQL container and yield its libpq URL; removed on exit."""
    try:
        from testcontainers.postgres import PostgresContainer
    except ImportError as exc:  # the dev extra installs it
        raise SystemExit("testcontainers is not installed: pip install -e '.[dev]'") from exc
    with PostgresContainer(image, driver=None) as pg:
        yield pg.get_connection_url()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.containers",
        description="Run a disposable PostgreSQL in Docker and print its URL until interrupted.",
    )
    parser.add_argument("--image", default="postgres:18", help="Docker image (default postgres:18)")
    args = parser.parse_args(argv)
    with postgres_container(args.image) as url:
        print(url, flush=True)
        print("export WOE_DATABASE_URL=<the URL above>; Ctrl-C stops the container", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            import threading

            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A throwaway PostgreSQL 15 server (Debian's binaries) for cross-version tests.

initdb refuses to run as root, so the cluster belongs to the `postgres` OS user; the server
listens on a unix socket in a fresh /tmp directory only.

As a fixture (`pg15_admin_url`) it serves the tests that compare two major versions and
skips when the binaries are absent. As a command it runs the whole suite against such a
server (`make test-pg15`): `python -m tests.postgres15 [pytest arguments]`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG15_BIN = Path("/usr/lib/postgresql/15/bin")


def unavailable() -> str | None:
    """Why no PostgreSQL 15 server can be started here, or None."""
    if not (PG15_BIN / "initdb").exists():
        return f"PostgreSQL 15 binaries not found in {PG15_BIN}"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: cannot initdb as postgres"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@contextmanager
def server() -> Iterator[str]:
    """Start a fresh cluster, yield its superuser URL, stop and delete it."""
    root = Path(tempfile.mkdtemp(prefix="woe_pg15_"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    try:
        subprocess.run(_as_postgres([str(PG15_BIN / "initdb"), "-D", str(data), "-U",
                                     "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]),
                       check=True, capture_output=True)
        subprocess.run(_as_postgres([str(PG15_BIN / "pg_ctl"), "-D", str(data), "-w", "-l",
                                     str(root / "log"), "-o",
                                     f"-k {sock} -p {port} -c listen_addresses=''", "start"]),
                       check=True, capture_output=True)
        yield f"postgresql://postgres@/postgres?host={sock}&port={port}"
    finally:
        subprocess.run(_as_postgres([str(PG15_BIN / "pg_ctl"), "-D", str(data), "-m", "fast",
                                     "-w", "stop"]), check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg15_admin_url() -> Iterator[str]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with server() as url:
        yield url


def main(pytest_args: list[str]) -> int:
    reason = unavailable()
    if reason:
        print(f"error: {reason} (Debian: apt-get install postgresql-15)", file=sys.stderr)
        return 2
    with server() as url:
        env = {**os.environ, "WOE_TEST_ADMIN_URL": url}
        return subprocess.run([sys.executable, "-m", "pytest", *pytest_args], env=env,
                              check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

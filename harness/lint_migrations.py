"""Lint the offline DDL of every revision with squawk (config: .squawk.toml).

Renders `alembic upgrade head --sql` without any database and runs squawk on it; prints
squawk's report and exits non-zero when it finds anything.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.embedded import PROJECT_ROOT


def offline_sql() -> str:
    env = {**os.environ, "WOE_DATABASE_URL": "postgresql://offline.invalid/none"}
    return subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head", "--sql"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout


def squawk_binary() -> str:
    local = Path(sys.executable).parent / "squawk"
    found = str(local) if local.exists() else shutil.which("squawk")
    if not found:
        raise SystemExit("squawk is not installed: pip install -e '.[dev]'")
    return found


def lint() -> str:
    """Return squawk's report ('' when clean)."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(offline_sql())
    try:
        result = subprocess.run(
            [squawk_binary(), "--config", str(PROJECT_ROOT / ".squawk.toml"), f.name],
            check=False, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"},
        )
    finally:
        os.unlink(f.name)
    return "" if result.returncode == 0 else (result.stdout + result.stderr)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m harness.lint_migrations",
        description="Render `alembic upgrade head --sql` offline (no database needed) and lint "
        "it with squawk (.squawk.toml). Prints squawk's findings and exits 1 if there are any.",
    ).parse_args(argv)
    report = lint()
    if report:
        print(report)
        return 1
    print("squawk: offline migration SQL is clean", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

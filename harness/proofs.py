"""Run the copy/paste verification queries in proofs/ and check their expected outcomes.

Each proof is a plain .sql file a DBA can paste into psql. Its header states what it proves
and what must happen, in machine-checkable comment lines:

    -- proof: one active package exists
    -- group: artifacts
    -- expect: rows = 1

The header is the file's leading block of comment lines; each of the three fields appears
there exactly once. Expectations (the last statement's result is checked):
    rows = N | rows >= N | rows <= N    number of rows returned
    value = TEXT                        first column of the first row as psql prints it
                                        (t/f for booleans, NULL for null)
    value >= N | value <= N             ... compared as a number (a non-number fails)
    error ~ REGEX                       the proof must fail with a message matching REGEX

Every proof runs inside a transaction that is rolled back, so negative proofs (which break
something on purpose to show the guard refuses) change nothing lasting.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg

from harness import cli, db
from harness.cli import BadInput
from harness.embedded import PROJECT_ROOT

PROOFS_DIR = PROJECT_ROOT / "proofs"
HEADER = re.compile(r"^--\s*(proof|group|expect):\s*(.+?)\s*$")
EXPECT = re.compile(
    r"^(rows)\s*(=|>=|<=)\s*(\d+)$"
    r"|^(value)\s*(=|(?:>=|<=)(?=\s*-?\d+(?:\.\d+)?$))\s*(.*)$"
    r"|^(error)\s*~\s*(.+)$"
)
COMPARE = {"=": lambda a, b: a == b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}


class ProofFormatError(BadInput):
    """A proof file whose header cannot be understood."""


@dataclass(frozen=True)
class Proof:
    path: Path
    title: str
    group: str
    expect: str
    sql: str

    @classmethod
    def load(cls, path: Path) -> Proof:
        text = path.read_text()
        fields: dict[str, str] = {}
        for line in text.splitlines():
            if not line.startswith("--"):
                break  # the header ends with the first line that is not a comment
            match = HEADER.match(line)
            if match:
                if match.group(1) in fields:
                    raise ProofFormatError(f"{path.name}: header has more than one "
                                           f"{match.group(1)}: line")
                fields[match.group(1)] = match.group(2)
        missing = {"proof", "group", "expect"} - fields.keys()
        if missing:
            raise ProofFormatError(f"{path.name}: header lacks {', '.join(sorted(missing))}")
        if not EXPECT.match(fields["expect"]):
            raise ProofFormatError(f"{path.name}: cannot read expectation {fields['expect']!r}")
        return cls(path, fields["proof"], fields["group"], fields["expect"], text)


@dataclass(frozen=True)
class Outcome:
    name: str
    title: str
    group: str
    expected: str
    seen: str
    passed: bool


def _last_result(cur: psycopg.Cursor) -> list[tuple] | None:
    rows = cur.fetchall() if cur.description else None
    while cur.nextset():
        if cur.description:
            rows = cur.fetchall()
    return rows


def run_proof(conn: psycopg.Connection, proof: Proof) -> Outcome:
    kind = EXPECT.match(proof.expect)
    error: str | None = None
    rows: list[tuple] | None = None
    try:
        with conn.cursor() as cur:
            cur.execute(proof.sql.encode())  # bytes: psycopg sends it verbatim, % and all
            rows = _last_result(cur)
    except psycopg.Error as exc:
        error = (exc.diag.message_primary or str(exc)).strip()
    finally:
        conn.rollback()

    if kind.group(7):  # error ~ REGEX
        pattern = kind.group(8)
        passed = error is not None and re.search(pattern, error) is not None
        seen = f"error: {error}" if error else f"no error ({len(rows or [])} rows)"
    elif error is not None:
        passed, seen = False, f"error: {error}"
    elif kind.group(1):  # rows OP N
        op, n, count = kind.group(2), int(kind.group(3)), len(rows or [])
        passed = COMPARE[op](count, n)
        seen = f"rows = {count}"
    else:  # value OP X
        op, wanted = kind.group(5), kind.group(6)
        first = rows[0][0] if rows else None
        text = _as_psql_prints(first)
        if op == "=":
            passed = bool(rows) and text == wanted
        else:
            number = _number(first)
            passed = number is not None and COMPARE[op](number, float(wanted))
        seen = f"value = {text}" if rows else "no rows"
    return Outcome(proof.path.stem, proof.title, proof.group, proof.expect, seen, passed)


def _as_psql_prints(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _number(value: object) -> float | None:
    """The value as a number, or None if it is not one (bool is not a number here)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def load_all(directory: Path = PROOFS_DIR) -> list[Proof]:
    return [Proof.load(p) for p in sorted(directory.glob("*.sql"))]


def run_all(url: str, directory: Path = PROOFS_DIR) -> list[Outcome]:
    proofs = load_all(directory)
    if not proofs:
        raise ProofFormatError(f"no proofs found in {directory}")
    with db.connect(url) as conn:
        return [run_proof(conn, proof) for proof in proofs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.proofs",
        description="Run every proof in proofs/ (each in a rolled-back transaction) and check "
        "its expected outcome. Exit status 1 if any proof fails.",
    )
    db.add_database_url_argument(parser)
    parser.add_argument("--dir", type=Path, default=PROOFS_DIR, help="directory of .sql proofs")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args(argv)
    return cli.finish("proofs", lambda: _main(args))


def _main(args: argparse.Namespace) -> int:
    outcomes = run_all(db.resolve(args.database_url).url, args.dir)
    if args.json:
        print(json.dumps([asdict(o) for o in outcomes], indent=2))
    else:
        for o in outcomes:
            status = "PASS" if o.passed else "FAIL"
            print(f"{status}  {o.name:<40} expected {o.expected:<28} seen {o.seen}")
        failed = sum(not o.passed for o in outcomes)
        print(f"{len(outcomes) - failed} passed, {failed} failed")
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())

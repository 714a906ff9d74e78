"""Certify entrypoints: `python -m harness.certify baseline|check|run|status`.

A run performs, in order: the entrypoint's assertion function, the T0 lint of its closure,
key uniqueness, view-definition drift, alias drift (the own definitions of the aliases outside
the closure, i.e. the guarded consumer views), dataset drift. Its outcome (CERTIFIED or FAILED) is
written to audit.t0_cert_registry, with alias rows inheriting it, and appended to
audit.t0_cert_run_history in a transaction of its own that is committed whatever the checks
found, so a failure stays visible and the guard refuses. Each entrypoint's run (checks and
outcome) and each baseline is ONE REPEATABLE READ transaction: every check, every hash and the
certified model_key come from one snapshot, so a trainer activating a package mid-run cannot
make a run certify one package with another package's rows, and a run that dies (killed
backend, lost connection) leaves nothing behind. The guard
audit.require_certified_strict re-checks raw definition hashes and the active package on
every query; this module is what (re)establishes the state the guard trusts.

Python API (conn_or_url: a libpq/SQLAlchemy URL, or an idle or autocommit psycopg connection):
    baseline(conn_or_url, entrypoint=None) -> list[BaselineResult]  (registry rows -> FAILED)
    check(conn_or_url, entrypoint=None)    -> list[RunResult]   (writes nothing)
    run(conn_or_url, entrypoint=None)      -> list[RunResult]   (writes the registry)
    status(conn_or_url)                    -> list[StatusRow]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from harness import cert_checks, cli, db, normalize_proof, pgsettings
from harness import policy as policies
from harness.cert_checks import Check
from harness.policy import Policy

ConnOrUrl = psycopg.Connection | str


@dataclass
class RunResult:
    entrypoint: str
    status: str  # CERTIFIED | FAILED (run); OK | DRIFT (check)
    model_key: str | None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {"entrypoint": self.entrypoint, "status": self.status, "model_key": self.model_key,
                "checks": [c.as_json() for c in self.checks]}


@dataclass
class BaselineResult:
    entrypoint: str
    objects: int
    days: int
    rows: int

    def as_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class StatusRow:
    entrypoint: str
    status: str
    certified_at: datetime | None
    age: timedelta | None
    model_key: str | None
    inherited_from: str | None

    def as_json(self) -> dict[str, Any]:
        return {"entrypoint": self.entrypoint, "status": self.status,
                "certified_at": self.certified_at.isoformat() if self.certified_at else None,
                "age_seconds": self.age.total_seconds() if self.age else None,
                "model_key": self.model_key, "inherited_from": self.inherited_from}


@contextmanager
def session(conn_or_url: ConnOrUrl) -> Iterator[psycopg.Connection]:
    """Our own autocommit connection for a URL; a given connection is used as it is (its
    settings are given back afterwards).

    Either way the work runs under pgsettings.CANONICAL: what the server prints (definitions,
    timestamptz and interval constants, row text) and what psycopg can read (an interval under
    IntervalStyle iso_8601) must not depend on the caller's PGTZ, PGOPTIONS or SET commands.
    """
    if isinstance(conn_or_url, psycopg.Connection):
        with pgsettings.pinned(conn_or_url):
            yield conn_or_url
        return
    with db.connect(conn_or_url, autocommit=True) as conn, pgsettings.pinned(conn):
        yield conn


@contextmanager
def one_snapshot(conn: psycopg.Connection) -> Iterator[None]:
    """A REPEATABLE READ transaction: all statements of the block read one snapshot."""
    previous = conn.isolation_level
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        with conn.transaction():
            yield
    finally:
        conn.isolation_level = previous


def log(message: str) -> None:
    print(message, file=sys.stderr)


def active_model_key(conn: psycopg.Connection) -> str | None:
    row = conn.execute(
        "SELECT model_key FROM ml.woe_anchor_model_registry_v1 WHERE is_active"
    ).fetchone()
    return row[0] if row else None


def evaluate(conn: psycopg.Connection, pol: Policy) -> tuple[str | None, list[Check]]:
    """Run every check in order; one that errors counts as failed, the others still run."""
    model_key = active_model_key(conn) if pol.package_bound else None
    checks = [guarded(conn, "assertion", lambda: cert_checks.assertion(conn, pol))]
    try:
        with conn.transaction():
            objects, norm = cert_checks.normalized_closure(conn, pol)
    except Exception as e:  # noqa: BLE001 - a closure that cannot be read fails the run
        return model_key, checks + [Check("closure", False, f"cannot read closure: {e}")]
    steps = (
        ("t0_lint", lambda: cert_checks.lint(conn, pol, objects)),
        ("key_uniqueness", lambda: cert_checks.key_uniqueness(conn, pol)),
        ("viewdef_drift", lambda: cert_checks.viewdef_drift(conn, pol, objects, norm)),
        ("alias_drift", lambda: cert_checks.alias_drift(conn, pol, objects)),
        ("dataset_drift", lambda: cert_checks.dataset_drift(conn, pol)),
    )
    checks += [guarded(conn, name, step) for name, step in steps]
    return model_key, checks


def guarded(conn: psycopg.Connection, name: str, step: Callable[[], Check]) -> Check:
    """One check in a savepoint. Fail closed: any error, SQL or Python, fails the check (an
    escaping exception would abort the run before its outcome is written, leaving an older
    CERTIFIED row in force); only a lost connection ends the run."""
    try:
        with conn.transaction():
            return step()
    except Exception as e:
        if conn.broken:
            raise
        if isinstance(e, psycopg.Error) and e.diag.message_primary:
            return Check(name, False, f"error: {e.diag.message_primary}")
        return Check(name, False, f"error: {type(e).__name__}: {e}")


def check(conn_or_url: ConnOrUrl, entrypoint: str | None = None) -> list[RunResult]:
    """Report drift for each entrypoint; writes nothing."""
    results = []
    with session(conn_or_url) as conn:
        for pol in policies.load(conn, entrypoint):
            log(f"checking {pol.entrypoint}")
            with one_snapshot(conn):
                model_key, checks = evaluate(conn, pol)
            results.append(RunResult(pol.entrypoint, "OK" if all(c.ok for c in checks)
                                     else "DRIFT", model_key, checks))
    return results


def run(conn_or_url: ConnOrUrl, entrypoint: str | None = None) -> list[RunResult]:
    """Certify each entrypoint; the outcome is committed whether it passed or not."""
    results = []
    with session(conn_or_url) as conn:
        for pol in policies.load(conn, entrypoint):
            log(f"certifying {pol.entrypoint}")
            started, model_key, checks = None, None, []
            try:
                with one_snapshot(conn):
                    started = conn.execute("SELECT clock_timestamp()").fetchone()[0]
                    model_key, checks = evaluate(conn, pol)
                    status = "CERTIFIED" if all(c.ok for c in checks) else "FAILED"
                    if status == "CERTIFIED":
                        record_passing(conn, pol, checks)
                    write_outcome(conn, pol, status, model_key, checks, started)
            except Exception as e:
                fail_closed(conn, pol, model_key, checks, started, e)
                raise
            log(f"{pol.entrypoint}: {status}")
            results.append(RunResult(pol.entrypoint, status, model_key, checks))
    return results


def fail_closed(conn: psycopg.Connection, pol: Policy, model_key: str | None,
                checks: list[Check], started: datetime | None, error: Exception) -> None:
    """The run's rollback left the previous outcome, possibly CERTIFIED, in force: record
    FAILED, naming the error, in a fresh transaction (the caller re-raises the error)."""
    if conn.broken:
        return
    first_line = (str(error).splitlines() or [""])[0]
    reason = Check("outcome", False, f"run aborted before its outcome was recorded: "
                   f"{type(error).__name__}: {first_line}")
    try:
        with conn.transaction():
            write_outcome(conn, pol, "FAILED", model_key, checks + [reason], started)
        log(f"{pol.entrypoint}: FAILED ({reason.detail})")
    except Exception as e:  # noqa: BLE001 - the original error is the one to report
        log(f"{pol.entrypoint}: could not record FAILED either: {e}")


def record_passing(conn: psycopg.Connection, pol: Policy, checks: list[Check]) -> None:
    """What a passing run re-records: raw hashes after cosmetic drift, the catalog row versions
    the guard's fast path compares (their raw hashes were just verified), new or tolerated days."""
    record: dict[str, Any] = {}
    for c in checks:
        record.update(c.record)
    for name, raw in record.get("raw_sha256", {}).items():
        conn.execute(
            "UPDATE audit.t0_viewdef_baseline SET raw_sha256 = %s, baselined_at = now(), "
            "server_version_num = current_setting('server_version_num')::integer "
            "WHERE entrypoint = %s AND object_name = %s", (raw, pol.entrypoint, name))
    for name, raw in record.get("alias_raw_sha256", {}).items():  # keyed by the alias
        conn.execute(
            "UPDATE audit.t0_viewdef_baseline SET raw_sha256 = %s, baselined_at = now(), "
            "server_version_num = current_setting('server_version_num')::integer "
            "WHERE entrypoint = %s AND object_name = %s", (raw, name, name))
    for key, name, (nsha, nsql) in (
            [(pol.entrypoint, n, v) for n, v in record.get("normalized", {}).items()]
            + [(n, n, v) for n, v in record.get("alias_normalized", {}).items()]):
        conn.execute(  # same raw text, new normalized form (a newer normalizer)
            "UPDATE audit.t0_viewdef_baseline SET normalized_sha256 = %s, normalized_sql = %s "
            "WHERE entrypoint = %s AND object_name = %s", (nsha, nsql, key, name))
    for name, version in record.get("catalog_version", {}).items():
        conn.execute(
            "UPDATE audit.t0_viewdef_baseline SET catalog_version = %s "
            "WHERE entrypoint = %s AND object_name = %s", (version, pol.entrypoint, name))
    write_day_hashes(conn, pol, record.get("days", []))


def write_day_hashes(conn: psycopg.Connection, pol: Policy, hashes: list) -> None:
    for h in hashes:
        conn.execute(
            """
            INSERT INTO audit.t0_dataset_hash_baseline
                (entrypoint, t0_day, row_count, dataset_sha256, sample_limit)
            VALUES (%s, %s, %s, %s, %s)
            ON CONFLICT (entrypoint, t0_day) DO UPDATE
            SET row_count = EXCLUDED.row_count, dataset_sha256 = EXCLUDED.dataset_sha256,
                sample_limit = EXCLUDED.sample_limit, baselined_at = now()
            """,
            (pol.entrypoint, h.t0_day, h.row_count, h.sha256, pol.sample_limit),
        )


def write_outcome(conn: psycopg.Connection, pol: Policy, status: str, model_key: str | None,
                  checks: list[Check], started: datetime | None) -> None:
    """Registry row, alias rows inheriting it, and the history entry."""
    detail = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok) or "all checks passed"
    for name, inherited in [(pol.entrypoint, None)] + [(a, pol.entrypoint) for a in pol.aliases]:
        conn.execute(
            """
            INSERT INTO audit.t0_cert_registry
                (entrypoint, status, certified_at, certified_model_key, inherited_from, detail)
            VALUES (%s, %s, now(), %s, %s, %s)
            ON CONFLICT (entrypoint) DO UPDATE
            SET status = EXCLUDED.status, certified_at = EXCLUDED.certified_at,
                certified_model_key = EXCLUDED.certified_model_key,
                inherited_from = EXCLUDED.inherited_from, detail = EXCLUDED.detail
            """,
            (name, status, model_key, inherited, detail),
        )
    conn.execute(
        "INSERT INTO audit.t0_cert_run_history (entrypoint, status, started_at, model_key, "
        "checks, detail) VALUES (%s, %s, coalesce(%s, clock_timestamp()), %s, %s, %s)",
        (pol.entrypoint, status, started, model_key, Jsonb([c.as_json() for c in checks]), detail),
    )


def baseline(conn_or_url: ConnOrUrl, entrypoint: str | None = None) -> list[BaselineResult]:
    """Record view-definition and dataset baselines (replacing the previous ones)."""
    results = []
    with session(conn_or_url) as conn:
        for pol in policies.load(conn, entrypoint):
            log(f"baselining {pol.entrypoint}")
            with one_snapshot(conn):
                objects, norm = cert_checks.normalized_closure(conn, pol)
                aliases, alias_norm = cert_checks.alias_views(conn, pol, objects)
                norm = proven_forms(conn, [o for o in objects if o.name in norm], norm)
                alias_norm = proven_forms(conn, [o for o in aliases.values() if o], alias_norm)
                hashes = cert_checks.window_hashes(conn, pol)
                # alias rows are keyed by the alias's name: the guard's fast path reads only
                # the entrypoint's rows
                conn.execute("DELETE FROM audit.t0_viewdef_baseline WHERE entrypoint = %s "
                             "OR entrypoint = ANY(%s)", (pol.entrypoint, list(pol.aliases)))
                conn.execute("DELETE FROM audit.t0_dataset_hash_baseline WHERE entrypoint = %s",
                             (pol.entrypoint,))
                rows = [(pol.entrypoint, o, norm[o.name]) for o in objects if o.has_definition]
                rows += [(name, o, alias_norm[name]) for name, o in aliases.items() if o]
                for key, o, n in rows:
                    conn.execute(
                        """
                        INSERT INTO audit.t0_viewdef_baseline
                            (entrypoint, object_name, object_kind, raw_sha256,
                             normalized_sha256, normalized_sql, server_version_num,
                             catalog_version)
                        VALUES (%s, %s, %s, %s, %s, %s,
                                current_setting('server_version_num')::integer, %s)
                        """,
                        (key, o.name, o.kind, o.raw_sha256, n.sha256, n.sql,
                         o.catalog_version),
                    )
                write_day_hashes(conn, pol, hashes)
                demote(conn, pol)
            results.append(BaselineResult(pol.entrypoint, len(rows), len(hashes),
                                          sum(h.row_count for h in hashes)))
    return results


def proven_forms(conn: psycopg.Connection, objects: list, norm: dict) -> dict:
    """The normalized forms to baseline: a view whose normalization the server does not prove
    is baselined under a form no normalized text can equal (its raw hash decides), and a view
    sqlglot cannot read stops the baseline (cli.BadInput: one line naming it)."""
    unreadable = [f"{o.name}: {norm[o.name].error}" for o in objects if norm[o.name].error]
    if unreadable:
        raise cli.BadInput("cannot normalize " + "; ".join(unreadable)
                           + " (sqlglot cannot read it; this entrypoint was not baselined)")
    out = dict(norm)
    for o in objects:
        if o.kind in normalize_proof.PROVABLE_KINDS:
            proof = normalize_proof.prove(conn, o, norm[o.name])
            if not proof.proven:
                log(f"normalization unproven for {o.name} ({proof.reason}): its raw hash will "
                    "decide drift")
                out[o.name] = normalize_proof.unproven_form(o, proof)
    return out


def demote(conn: psycopg.Connection, pol: Policy) -> None:
    """FAILED for the entrypoint's and its aliases' registry rows: the guard's fast path trusts
    the new baseline, which no run has checked yet."""
    conn.execute(
        """
        UPDATE audit.t0_cert_registry
        SET status = 'FAILED', certified_at = now(),
            detail = format('baseline re-recorded at %%s: run python -m harness.certify run',
                            now())
        WHERE entrypoint = %(ep)s OR inherited_from = %(ep)s OR entrypoint = ANY(%(aliases)s)
        """,
        {"ep": pol.entrypoint, "aliases": list(pol.aliases)},
    )


def status(conn_or_url: ConnOrUrl) -> list[StatusRow]:
    """Every policy entrypoint and alias with its registry state (NONE when it has no row)."""
    with session(conn_or_url) as conn:
        rows = conn.execute(
            """
            WITH names AS (
                SELECT p.entrypoint AS name FROM audit.t0_entrypoint_policy AS p
                UNION SELECT unnest(p.aliases) FROM audit.t0_entrypoint_policy AS p
                UNION SELECT r.entrypoint FROM audit.t0_cert_registry AS r
            )
            SELECT n.name, coalesce(r.status, 'NONE'), r.certified_at, now() - r.certified_at,
                   r.certified_model_key, r.inherited_from
            FROM names AS n LEFT JOIN audit.t0_cert_registry AS r ON r.entrypoint = n.name
            ORDER BY coalesce(r.inherited_from, n.name), r.inherited_from NULLS FIRST, n.name
            """
        ).fetchall()
    return [StatusRow(*r) for r in rows]


def _age(age: timedelta | None) -> str:
    if age is None:
        return "-"
    seconds = int(age.total_seconds())
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def print_status(rows: list[StatusRow]) -> None:
    table = [("ENTRYPOINT", "STATUS", "AGE", "MODEL_KEY", "INHERITED_FROM")] + [
        (r.entrypoint, r.status, _age(r.age), r.model_key or "-", r.inherited_from or "-")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def print_results(results: list[RunResult]) -> None:
    for r in results:
        print(f"{r.entrypoint}: {r.status}" + (f" (model_key {r.model_key})" if r.model_key else ""))
        for c in r.checks:
            print(f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}")
            if c.data.get("diff"):
                print("    " + c.data["diff"].replace("\n", "\n    ").rstrip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness.certify",
        description="Baseline, check and certify the store's entrypoints (audit.t0_entrypoint_policy). "
        "Exit code 0 only when every entrypoint passed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n"
        "  baseline  record view-definition baselines (raw + sqlglot-normalized) and dataset\n"
        "            hashes of the policy's last check_days UTC t0_days (10 as shipped; replaces\n"
        "            the previous baselines); the\n"
        "            entrypoint and its aliases are FAILED until the next `run`\n"
        "  check     report assertion, T0 lint, key, definition and dataset drift; writes nothing\n"
        "  run       certify: the checks of `check`, then CERTIFIED or FAILED is committed to\n"
        "            audit.t0_cert_registry (alias rows inherit it) and to the run history\n"
        "  status    table of entrypoints: status, age, certified model_key\n",
    )
    parser.add_argument("command", choices=("baseline", "check", "run", "status"))
    parser.add_argument("--entrypoint", metavar="NAME",
                        help="one entrypoint (default: every row of audit.t0_entrypoint_policy)")
    parser.add_argument("--json", action="store_true", help="print results as JSON on stdout")
    db.add_database_url_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return cli.finish("certify", lambda: _main(args))


def _main(args: argparse.Namespace) -> int:
    url = db.resolve(args.database_url).url
    if args.command == "status":
        rows = status(url)
        if args.entrypoint:  # the entrypoint and the aliases that inherit from it
            rows = [r for r in rows if args.entrypoint in (r.entrypoint, r.inherited_from)]
            if not rows:
                raise LookupError(f"{args.entrypoint} is neither a policy entrypoint nor an "
                                  "alias with a registry row")
        if args.json:
            print(json.dumps([r.as_json() for r in rows], indent=2))
        else:
            print_status(rows)
        return 0 if rows and all(r.status == "CERTIFIED" for r in rows) else 1
    if args.command == "baseline":
        done = baseline(url, args.entrypoint)
        if args.json:
            print(json.dumps([b.as_json() for b in done], indent=2))
        else:
            for b in done:
                print(f"{b.entrypoint}: baselined {b.objects} definitions, "
                      f"{b.days} days ({b.rows} rows); not certified until `certify run`")
        return 0
    results = (run if args.command == "run" else check)(url, args.entrypoint)
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2, default=str))
    else:
        print_results(results)
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

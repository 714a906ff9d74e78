"""In-database WOE training and package management: ``python -m harness.train fit|list|activate``.

``fit`` runs the statements of :mod:`harness.train_sql` in ONE transaction: slices, bands (from
the one banding definition), cuts, maps, out-of-fold scores, metrics and, unless disabled, the
immutable package (registry, cuts, maps, OOF scores) with activation. Nothing is persisted
unless everything succeeds. Python only reads aggregates back.

Concurrent trainers serialise on a SHARE ROW EXCLUSIVE lock of the registry taken first in the
transaction, so a second trainer waits, then writes its own complete package; the partial
unique index on is_active keeps at most one active package in any case.

API for other jobs: :func:`fit` (``fit(conn, FitOptions(...)) -> Report``), :func:`list_packages`
and :func:`activate`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import psycopg
from psycopg.types.json import Jsonb

from harness import cli, db, pgsettings
from harness import train_sql as q
from harness.cli import BadInput

MODEL_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
DEFAULT_THRESHOLDS = (-0.15, -0.05, 0.05, 0.15)
MIN_POSITIVE = 1e-300  # smallest --woe-eps and --half-life-days


class TrainError(BadInput):
    """Bad input or data that cannot be fitted: nothing was persisted."""


@dataclass(frozen=True)
class FitOptions:
    n_folds: int = 5
    eps: float = 0.5
    half_life_days: float = 90.0
    band_schema_version: int = 1
    oof: bool = True
    persist: bool = True
    activate: bool = True
    eval_cutoff: datetime | None = None  # None: latest sold_time minus 7 days
    dsold_thresholds: tuple[float, float, float, float] = DEFAULT_THRESHOLDS
    model_key: str | None = None  # None: woe_<UTC time>

    def validate(self) -> None:
        if not isinstance(self.n_folds, int) or isinstance(self.n_folds, bool):
            raise TrainError(f"--woe-folds must be an integer, got {self.n_folds!r}")
        if self.n_folds < 1:
            raise TrainError(f"--woe-folds must be >= 1, got {self.n_folds}")
        if self.oof and self.n_folds < 2:
            raise TrainError("out-of-fold scoring needs --woe-folds >= 2 (with 1 fold the fit "
                             "for fold 0 has no rows); use --disable-woe-oof for a single fit")
        # Below MIN_POSITIVE the float8 arithmetic of the fit could underflow (eps / W) or
        # overflow (age / half-life) instead of giving the SPEC's value.
        if not (MIN_POSITIVE <= self.eps < float("inf")):
            raise TrainError(f"--woe-eps must be a finite number >= {MIN_POSITIVE}, "
                             f"got {self.eps}")
        if not (MIN_POSITIVE <= self.half_life_days < float("inf")):
            raise TrainError(f"--half-life-days must be a finite number >= {MIN_POSITIVE}, "
                             f"got {self.half_life_days}")
        if self.band_schema_version != 1:
            raise TrainError(f"only band schema version 1 exists (ml.woe_anchor_bands_v1), "
                             f"got {self.band_schema_version}")
        t = self.dsold_thresholds
        if len(t) != 4 or not all(-float("inf") < x < float("inf") for x in t):
            raise TrainError(f"--dsold-thresholds needs 4 finite numbers, got {t}")
        if not (t[0] < t[1] < t[2] < t[3]):
            raise TrainError(f"--dsold-thresholds must be strictly increasing, got {t}")
        if self.model_key is not None and not MODEL_KEY_RE.fullmatch(self.model_key):
            raise TrainError(f"--model-key {self.model_key!r} must match {MODEL_KEY_RE.pattern}")
        if self.eval_cutoff is not None and self.eval_cutoff.tzinfo is None:
            raise TrainError("--eval-cutoff needs a UTC offset (e.g. 2024-12-24T00:00:00Z)")


@dataclass
class Report:
    model_key: str | None
    persisted: bool
    active: bool
    eval_cutoff: str
    ref_ts: str
    rows: dict[str, int]
    base_rate: float
    base_logit: float
    information_value: dict[str, float]
    oof_auc: float | None
    oof_brier: float | None
    eval_auc: float | None
    eval_brier: float | None
    n_folds: int
    code_sha256: str
    seconds: dict[str, float] = field(default_factory=dict)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def code_sha256(conn: psycopg.Connection) -> str:
    """sha256 of the trainer's SQL texts and the server's definitions of the banding functions.

    Same statements and same function definitions give the same hash, whatever the data or
    hyperparameters (those are bound values, recorded in the registry columns).
    """
    digest = hashlib.sha256()
    for statement in q.FIT_STATEMENTS:
        digest.update(statement.as_string(conn).encode())
        digest.update(b"\x00")
    rows = conn.execute(
        """
        SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid)
        FROM pg_catalog.pg_proc AS p
        WHERE p.oid::regproc::text = ANY(%s)
        ORDER BY 1
        """,
        (list(q.BANDING_FUNCTIONS),),
    ).fetchall()
    missing = set(q.BANDING_FUNCTIONS) - {sig.split("(")[0] for sig, _ in rows}
    if missing:
        raise TrainError(f"banding functions missing (is the database at alembic head?): "
                         f"{sorted(missing)}")
    for signature, definition in rows:
        digest.update(signature.encode() + b"\x00" + definition.encode() + b"\x00")
    return digest.hexdigest()


def _enlarge_temp_buffers(cur: psycopg.ClientCursor) -> None:
    """Keep the temporary tables in backend memory (only possible before a session's first
    temporary table; later fits on the same connection keep the session's setting)."""
    try:
        with cur.connection.transaction():
            cur.execute("SET LOCAL temp_buffers = '1GB'")
    except psycopg.errors.InvalidParameterValue:
        pass


# What CREATE_ROWS changes when the sources are stored in key order (train_sql's
# SOURCES_IN_KEY_ORDER says why): no hash joins (nested loops are off for the whole fit), so the
# planner takes the ordered merge joins over the primary keys, and the leader only merges and
# writes the workers' rows (on 2 cores a leader that also joins slows the workers: 1.2-1.5 s
# against 1.8-1.9 s at 1.1M listings). Turning off only parallel hash joins gave the same plan at
# 1.1M but private hash joins and a sort at 100k (0.28 s against 0.17-0.24 s).
ORDERED_SOURCE_SETTINGS = (("enable_hashjoin", "off"), ("parallel_leader_participation", "off"))


def sources_in_key_order(cur: psycopg.ClientCursor) -> bool:
    """True when ANALYZE found the three source tables stored in the order of their keys."""
    return bool(cur.execute(q.SOURCES_IN_KEY_ORDER).fetchone()[0])


def _create_rows(cur: psycopg.ClientCursor, params: dict[str, object]) -> None:
    """CREATE_ROWS, with the ordered-source settings for this statement only when they apply
    (an error rolls the settings back with the transaction)."""
    if not sources_in_key_order(cur):
        cur.execute(q.CREATE_ROWS, params)
        return
    with pgsettings.pinned(cur.connection, **dict(ORDERED_SOURCE_SETTINGS)):
        cur.execute(q.CREATE_ROWS, params)


class _Clock:
    """Wall time per named phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(self.seconds.get(phase, 0.0) + now - self._t, 4)
        self._t = now


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def fit(conn: psycopg.Connection, options: FitOptions = FitOptions(),
        log: Callable[[str], None] = _stderr) -> Report:
    """Fit (and unless disabled persist and activate) one WOE package in one transaction.

    ``conn`` must not be inside a transaction. Raises :class:`TrainError` for bad input; any
    error rolls everything back.
    """
    options.validate()
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE or conn.autocommit:
        raise TrainError("fit() needs a connection that is idle and not in autocommit mode")
    clock = _Clock()
    cur = psycopg.ClientCursor(conn)  # literal binding: parameters inside CREATE TABLE AS
    with conn.transaction():
        # One snapshot for every statement: the fold starts, ref_ts and counts read by
        # SLICE_COUNTS must describe the same rows CREATE_ROWS bands (under READ COMMITTED a
        # row committed in between was trained without being counted). Nothing before the
        # registry lock below takes a snapshot, so a trainer that waited there sees the
        # package the other one committed.
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute("SET LOCAL TimeZone = 'UTC'")
        # Server tuning for this transaction only: sorts and hashes of a few million narrow
        # rows stay in memory, and every join here is an equi-join on keys the planner cannot
        # estimate well (temporary tables, a table function), so nested loops are never right.
        cur.execute("SET LOCAL work_mem = '256MB'")
        # The planner cannot estimate the group count of the fold sums' presentation buckets
        # (width_bucket over edges computed in the same transaction) and, above ~2M rows,
        # guessed more hash memory than work_mem x 2 allows and sorted 3M rows to disk in two
        # external merges instead (8.6 s against 4.9 s at 3M; the real hash tables take a
        # few hundred kB). A larger hash budget only lets a hash that needs it use more.
        cur.execute("SET LOCAL hash_mem_multiplier = 4")
        # The scores' primary key is built at seal in one sort of presorted rows: in memory and
        # serial it writes no temporary files (a parallel build always spills its workers' runs:
        # 59 MB at 1.1M listings) and takes 0.81-0.83 s against 0.84-0.96 s.
        cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cur.execute("SET LOCAL max_parallel_maintenance_workers = 0")
        cur.execute("SET LOCAL enable_nestloop = off")
        # No JIT. Before PostgreSQL 18 a disabled nested loop adds 1e10 to the cost of every
        # plan that cannot avoid one (the fold joins on fold_id <> fit_id), which is far past
        # every jit_*_above_cost: the totals, maps and lookup (a few hundred rows each) were
        # compiled with inlining and optimisation for 0.1-0.3 s each, and no large statement
        # got faster (PostgreSQL 15 with LLVM: 7.9-8.8 s off against 9.0-9.5 s on at 1.1M
        # listings, 0.84-0.90 s against 2.1-2.3 s at 100k).
        cur.execute("SET LOCAL jit = off")
        # The slice counts and woe_rows (the source joins and the band expressions, evaluated
        # below the Gather) are the statements that read only regular tables; parallel workers
        # cut them by a third or more on 2 cores. The later statements read temporary tables,
        # which workers cannot see, so they stay serial whatever this says. The planner cannot
        # estimate the slice counts' groups (per slice and UTC day: it guesses one per row),
        # so it sees no gain in partial aggregation unless parallelism costs nothing to set up
        # (0.29-0.31 s against 0.40-0.43 s at 1M rows; woe_rows keeps its plan).
        # At least two workers per Gather; a server configured for more keeps its number.
        # (SHOW, not a SELECT: a SELECT would take the transaction's snapshot before the lock.)
        workers = int(cur.execute("SHOW max_parallel_workers_per_gather").fetchone()[0])
        cur.execute(f"SET LOCAL max_parallel_workers_per_gather = {max(2, workers)}")
        cur.execute("SET LOCAL parallel_setup_cost = 0")
        cur.execute("SET LOCAL parallel_tuple_cost = 0")
        _enlarge_temp_buffers(cur)
        if options.persist:
            cur.execute(q.LOCK_REGISTRY)  # first: a concurrent trainer waits here
            if options.model_key is not None and cur.execute(
                    "SELECT 1 FROM ml.woe_anchor_model_registry_v1 WHERE model_key = %s",
                    (options.model_key,)).fetchone():
                raise TrainError(f"--model-key {options.model_key} already exists: a "
                                 "package is never overwritten; choose another key")
        sha = code_sha256(conn)

        eval_cutoff = options.eval_cutoff or cur.execute(
            "SELECT ml.woe_anchor_default_eval_cutoff_v1()").fetchone()[0]
        if eval_cutoff is None:
            raise TrainError("no training rows: src.listing_outcomes has no sold_time at all")
        params: dict[str, object] = {
            "eval_cutoff": eval_cutoff, "n_folds": options.n_folds, "oof": options.oof,
            "eps": options.eps, "half_life_days": options.half_life_days,
            "t1": options.dsold_thresholds[0], "t2": options.dsold_thresholds[1],
            "t3": options.dsold_thresholds[2], "t4": options.dsold_thresholds[3],
        }
        (n_train, n_eval, n_censored, n_pos, n_before_t0, n_days, ref_ts, first_days,
         fold_ids) = cur.execute(q.SLICE_COUNTS, params).fetchone()
        if n_before_t0:
            raise TrainError(f"{n_before_t0} training rows have sold_time before t0 "
                             "(negative duration)")
        if n_train == 0:
            raise TrainError(f"no training rows: nothing sold on or before eval_cutoff "
                             f"{_iso(eval_cutoff)}")
        if n_pos in (0, n_train):
            raise TrainError(f"train_sold has only one class (y_slow21={int(n_pos > 0)} for all "
                             f"{n_train} rows): WOE needs both")
        if options.oof and options.n_folds > n_days:
            raise TrainError(f"--woe-folds {options.n_folds} exceeds the {n_days} distinct "
                             "training days (folds are blocked by day)")
        params.update(ref_ts=ref_ts, first_days=first_days, fold_ids=fold_ids)
        clock.lap("slices")

        _create_rows(cur, params)
        clock.lap("bands")

        cur.execute(q.CREATE_FITS, params)
        cur.execute(q.CREATE_CUTS)
        params.update(zip(("c1", "c2"), cur.execute("SELECT c1, c2 FROM woe_cuts").fetchone(),
                          strict=True))
        cur.execute(q.CREATE_JOINT_SUMS, params)
        cur.execute(q.CREATE_TOTALS)
        for (fit_id, n_rows, n_pos_fit, n_neg_fit, total_pos, total_neg, _rate,
             _logit) in cur.execute(q.FIT_TOTALS):
            if not n_pos_fit or not n_neg_fit:
                raise TrainError(f"the fit for fold {fit_id} ({n_rows} rows of the other folds) "
                                 "has only one class; use fewer --woe-folds")
            if not total_pos or not total_neg:  # NULL: every weight of the fit is 0
                raise TrainError(
                    f"{'the final fit' if fit_id == -1 else f'the fit for fold {fit_id}'}: "
                    "every row of one class has time-decay weight 0 (0.5^(age / half-life) "
                    f"underflows); --half-life-days {options.half_life_days} is too short "
                    "for data this old")
        base_rate, base_logit = cur.execute(
            "SELECT base_rate, base_logit FROM woe_totals WHERE fit_id = -1").fetchone()
        cur.execute(q.CREATE_MAP, params)
        cur.execute(q.CREATE_LOOKUP)
        clock.lap("fit")

        oof_auc = oof_brier = None
        if options.oof:
            cur.execute(q.CREATE_OOF, params)
            _n, oof_auc, oof_brier = cur.execute(q.OOF_METRICS).fetchone()
        clock.lap("oof")

        cur.execute(q.CREATE_EVAL_SCORES, params)
        _n, eval_auc, eval_brier = cur.execute(q.EVAL_METRICS).fetchone()
        iv = {name: value for name, value in cur.execute(q.INFORMATION_VALUE)}
        # What the fit measured; kept with the package (ml.woe_anchor_fit_report_v1) too.
        measured = {
            "eval_cutoff": _iso(eval_cutoff), "ref_ts": _iso(ref_ts),
            "rows": {"train_sold": n_train, "eval_sold_last_7d": n_eval,
                     "censored_ge_21d": n_censored},
            "base_rate": base_rate, "base_logit": base_logit,
            "information_value": {b: iv[b] for b in q.ALL_BANDS if b in iv},
            "oof_auc": oof_auc, "oof_brier": oof_brier,
            "eval_auc": eval_auc, "eval_brier": eval_brier, "n_folds": options.n_folds,
        }
        clock.lap("evaluate")

        model_key = None
        if options.persist:
            model_key = options.model_key or datetime.now(UTC).strftime("woe_%Y%m%dT%H%M%S.%fZ")
            params.update(model_key=model_key, code_sha256=sha, activate=options.activate,
                          band_schema_version=options.band_schema_version)
            if options.activate:
                cur.execute(q.DEACTIVATE_ALL)
            cur.execute(q.INSERT_REGISTRY, params)
            cur.execute(q.INSERT_CUTS, params)
            n_map = cur.execute(q.INSERT_MAP, params).rowcount
            n_scores = 0
            if options.oof:
                scores_table = cur.execute(q.OPEN_SCORES, params).fetchone()[0]
                n_scores = cur.execute(q.insert_scores(scores_table), params).rowcount
                cur.execute(q.SEAL_SCORES, params)
            cur.execute(q.INSERT_FIT_REPORT, {**params, "report": Jsonb(measured)})
            clock.lap("persist")
    clock.lap("commit")
    if model_key is not None:
        log(f"[db] persisted WOE anchor artifacts v1: model_key={model_key} "
            f"(active={options.activate})")
        log(f"[woe] persisted WOE anchor artifacts to Postgres (model_key={model_key}, "
            f"map_rows={n_map}, oof_scores={n_scores}, folds={options.n_folds if options.oof else 0})")
    return Report(
        model_key=model_key, persisted=model_key is not None,
        active=model_key is not None and options.activate,
        code_sha256=sha, seconds=clock.seconds, **measured,
    )


@dataclass(frozen=True)
class Package:
    model_key: str
    is_active: bool
    created_at: str
    train_cutoff_ts: str
    n_folds: int
    eps: float
    half_life_days: float
    base_rate: float | None
    code_sha256: str | None
    final_map_rows: int
    oof: bool  # False: fitted with --disable-woe-oof (n_folds is then only the setting)


def list_packages(conn: psycopg.Connection) -> list[Package]:
    """Every package, newest first."""
    rows = conn.execute(
        """
        SELECT r.model_key, r.is_active, r.created_at, r.train_cutoff_ts, r.n_folds, r.eps,
               r.half_life_days, r.base_rate, r.code_sha256,
               (SELECT count(*) FROM ml.woe_anchor_map_v1 AS m
                WHERE m.model_key = r.model_key AND m.fold_id IS NULL),
               EXISTS (SELECT 1 FROM ml.woe_anchor_scores_v1 AS o
                       WHERE o.model_key = r.model_key)
        FROM ml.woe_anchor_model_registry_v1 AS r
        ORDER BY r.created_at DESC, r.model_key DESC
        """
    ).fetchall()
    conn.rollback()
    return [Package(k, a, _iso(c), _iso(t), f, e, h, b, s, n, o)
            for k, a, c, t, f, e, h, b, s, n, o in rows]


def activate(conn: psycopg.Connection, model_key: str) -> None:
    """Make ``model_key`` the one active package (rollback to an earlier one), atomically.

    Refuses a package that would score nothing (no thresholds, base logit, final cuts or
    final map), so a rollback can never switch the store off by accident.
    """
    with conn.transaction():
        conn.execute(q.LOCK_REGISTRY)
        row = conn.execute(
            """
            SELECT r.base_logit IS NOT NULL AND r.dsold_t1 IS NOT NULL
                   AND EXISTS (SELECT 1 FROM ml.woe_anchor_cuts_v1 AS c
                               WHERE c.model_key = r.model_key AND c.fold_id IS NULL)
                   AND EXISTS (SELECT 1 FROM ml.woe_anchor_map_v1 AS m
                               WHERE m.model_key = r.model_key AND m.fold_id IS NULL)
            FROM ml.woe_anchor_model_registry_v1 AS r WHERE r.model_key = %s
            """,
            (model_key,),
        ).fetchone()
        if row is None:
            raise TrainError(f"no package {model_key!r}")
        if not row[0]:
            raise TrainError(f"package {model_key!r} is incomplete (it would score nothing)")
        conn.execute(
            "UPDATE ml.woe_anchor_model_registry_v1 SET is_active = false "
            "WHERE is_active AND model_key <> %s", (model_key,))
        conn.execute(
            "UPDATE ml.woe_anchor_model_registry_v1 SET is_active = true "
            "WHERE model_key = %s AND NOT is_active", (model_key,))


# ----------------------------------------------------------------------------- command line


def _thresholds(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not 4 comma-separated numbers: {text!r}") from exc
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"need exactly 4 comma-separated numbers: {text!r}")
    return values  # type: ignore[return-value]


def _timestamp(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO timestamp: {text!r}") from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness.train",
        description="Train, list and activate immutable WOE anchor packages in PostgreSQL.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{fit,list,activate}")

    p_fit = sub.add_parser(
        "fit", help="fit a package on train_sold (SPEC 3-6) and persist + activate it",
        description="Fit the WOE mapping in one transaction from src.*, with day-blocked "
        "out-of-fold scores, then persist the package and make it the active one.")
    p_fit.add_argument("--woe-folds", type=int, default=5, help="day-blocked folds (default 5)")
    p_fit.add_argument("--woe-eps", type=float, default=0.5, help="WOE smoothing (default 0.5)")
    p_fit.add_argument("--half-life-days", type=float, default=90.0,
                       help="time-decay half-life of the weights (default 90)")
    p_fit.add_argument("--woe-band-schema-version", type=int, default=1,
                       help="band schema version (only 1 exists)")
    p_fit.add_argument("--disable-woe-oof", action="store_true",
                       help="skip out-of-fold fits and scores (final mapping only)")
    p_fit.add_argument("--disable-woe-persist", action="store_true",
                       help="fit and report only; write nothing")
    p_fit.add_argument("--eval-cutoff", type=_timestamp, metavar="TS",
                       help="ISO timestamp with offset (default: latest sold_time - 7 days)")
    p_fit.add_argument("--dsold-thresholds", type=_thresholds, default=DEFAULT_THRESHOLDS,
                       metavar="T1,T2,T3,T4",
                       help="increasing dsold band thresholds (default -0.15,-0.05,0.05,0.15)")
    p_fit.add_argument("--model-key", help="package key (default woe_<UTC time>)")
    p_fit.add_argument("--no-activate", action="store_true",
                       help="persist without making the package active")
    p_fit.add_argument("--json", action="store_true", help="print the report as JSON")
    db.add_database_url_argument(p_fit)

    p_list = sub.add_parser("list", help="list packages, newest first")
    p_list.add_argument("--json", action="store_true", help="print as JSON")
    db.add_database_url_argument(p_list)

    p_act = sub.add_parser("activate", help="make an existing package the active one (rollback)")
    p_act.add_argument("model_key")
    db.add_database_url_argument(p_act)
    return parser


def _print_report(report: Report) -> None:
    print(f"model_key          {report.model_key or '(not persisted)'}"
          f"{'  [active]' if report.active else ''}")
    print(f"eval_cutoff        {report.eval_cutoff}   ref_ts {report.ref_ts}")
    print("rows               " + "  ".join(f"{k}={v}" for k, v in report.rows.items()))
    print(f"base_rate          {report.base_rate:.6f}   base_logit {report.base_logit:.6f}")
    print("information_value  " + "  ".join(
        f"{k}={v:.4f}" for k, v in report.information_value.items()))

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.4f}"

    print(f"train_sold OOF     auc={fmt(report.oof_auc)}  brier={fmt(report.oof_brier)}"
          f"   ({report.n_folds} folds)")
    print(f"eval_sold_last_7d  auc={fmt(report.eval_auc)}  brier={fmt(report.eval_brier)}"
          "   (final mapping)")
    print("seconds            " + "  ".join(f"{k}={v:.2f}" for k, v in report.seconds.items()))
    print(f"code_sha256        {report.code_sha256}")


def _joined_option_values(argv: list[str], flags: tuple[str, ...]) -> list[str]:
    """`--flag VALUE` as `--flag=VALUE` for the flags given: argparse reads a value such as
    -0.2,-0.1,0.1,0.2 (the documented threshold form) as an unknown option otherwise."""
    joined: list[str] = []
    values = iter(argv)
    for arg in values:
        value = next(values, None) if arg in flags else None
        joined.append(arg if value is None else f"{arg}={value}")
    return joined


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(_joined_option_values(argv, ("--dsold-thresholds",)))
    return cli.finish("woe", lambda: _main(args))


def _main(args: argparse.Namespace) -> int:
    try:
        options = None
        if args.command == "fit":
            options = FitOptions(
                n_folds=args.woe_folds, eps=args.woe_eps, half_life_days=args.half_life_days,
                band_schema_version=args.woe_band_schema_version,
                oof=not args.disable_woe_oof, persist=not args.disable_woe_persist,
                activate=not args.no_activate, eval_cutoff=args.eval_cutoff,
                dsold_thresholds=args.dsold_thresholds, model_key=args.model_key)
            options.validate()  # before connecting: bad options need no database
        with db.connect(db.resolve(args.database_url).url) as conn:
            if options is not None:
                report = fit(conn, options)
                if args.json:
                    print(json.dumps(asdict(report), indent=2))
                else:
                    _print_report(report)
            elif args.command == "list":
                packages = list_packages(conn)
                if args.json:
                    print(json.dumps([asdict(p) for p in packages], indent=2))
                for p in packages if not args.json else []:
                    print(f"{'*' if p.is_active else ' '} {p.model_key:32} {p.created_at}  "
                          f"cutoff={p.train_cutoff_ts} folds={p.n_folds} eps={p.eps} "
                          f"half_life={p.half_life_days} final_map_rows={p.final_map_rows} "
                          f"oof={'yes' if p.oof else 'no'}")
            else:
                activate(conn, args.model_key)
                _stderr(f"[db] activated WOE anchor package {args.model_key}")
    except TrainError as exc:
        _stderr(f"[woe] error: {exc} (nothing persisted)")
        return cli.BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())

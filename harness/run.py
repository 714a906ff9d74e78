"""The main job, end to end (`make demo`).

database -> alembic upgrade head -> synthetic data -> train -> certify -> proofs -> report
-> summary. It resolves the database like every other command (the embedded PostgreSQL unless
a URL is given; with WOE_DATABASE_URL set it runs against that server).

Re-running is safe and fast: existing source data is kept (no duplicates; `--replace-data`
regenerates it), a new package is trained only when none is active or when asked
(`--retrain`), and baselines are re-recorded only for a package that has not been certified
or after this run upgraded the schema.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import psycopg

from harness import certify, cli, db, migrate, proofs, synth, train
from harness.train_sql import ALL_BANDS

DEFAULT_ROWS = 400_000
DEFAULT_SEED = 20260111
ENTRYPOINT = "ml.woe_anchor_feature_store_t0_v1_v"
SLICES = ("train_sold", "eval_sold_last_7d", "censored_ge_21d")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Steps:
    """Times each step and announces it on stderr, so long steps show progress."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str, what: str):
        log(f"[run] {name}: {what}")
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 3)
        log(f"[run] {name}: done in {self.seconds[name]:.1f}s")


def needs_baseline(conn: psycopg.Connection, model_key: str) -> bool:
    """True unless the active package is the one the entrypoint was last certified with and
    the baselines include the guarded views (baselines recorded before they did lack them)."""
    row = conn.execute(
        """
        SELECT r.certified_model_key,
               EXISTS (SELECT 1 FROM audit.t0_viewdef_baseline AS b
                       JOIN audit.t0_entrypoint_policy AS p ON b.entrypoint = ANY (p.aliases)
                       WHERE p.entrypoint = r.entrypoint)
        FROM audit.t0_cert_registry AS r WHERE r.entrypoint = %s
        """, (ENTRYPOINT,)).fetchone()
    conn.rollback()
    return row is None or row[0] != model_key or not row[1]


def schema_revision(url: str) -> str | None:
    """The database's Alembic revision (None before the first migration)."""
    with db.connect(url) as conn:
        if conn.execute("SELECT to_regclass('public.alembic_version')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM public.alembic_version").fetchone()
    return row[0] if row else None


def fit_report(conn: psycopg.Connection, model_key: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT report FROM ml.woe_anchor_fit_report_v1 WHERE model_key = %s", (model_key,)
    ).fetchone()
    conn.rollback()
    return row[0] if row else {}


def run(url: str, *, rows: int, seed: int, replace_data: bool, retrain: bool,
        options: train.FitOptions, write_report: bool, steps: Steps) -> dict[str, Any]:
    with steps.step("migrate", "alembic upgrade head"):
        before = schema_revision(url)
        migrate.upgrade(url)
        upgraded = before is not None and before != schema_revision(url)

    with db.connect(url) as conn:
        with steps.step("data", f"synthetic source data ({rows:,} listings, seed {seed})"):
            loaded = synth.fill(conn, rows, seed, replace=replace_data, log=log)
            if loaded.status == "skipped":
                log(f"[run] data: kept the existing {loaded.snapshots:,} listings "
                    "(--replace-data regenerates them)")

        model_key = certify.active_model_key(conn)
        conn.rollback()  # train.fit needs an idle connection
        trained = retrain or replace_data or model_key is None
        with steps.step("train", "fit + out-of-fold + persist" if trained else "reuse active package"):
            if trained:
                model_key = train.fit(conn, options, log=log).model_key
            else:
                log(f"[run] train: active package {model_key} kept (--retrain trains a new one)")
        report = fit_report(conn, model_key)

        # After an upgrade the certified definitions may have changed by reviewed revisions
        # (e.g. 0053): this job re-records the baselines; a DBA does it by hand (docs/schema.md).
        baseline = upgraded or needs_baseline(conn, model_key)
        why = "schema upgraded" if upgraded else "new package"
        with steps.step("certify", f"baseline ({why}) + run" if baseline else "run"):
            if baseline:
                certify.baseline(url)
            results = certify.run(url)

    with steps.step("proofs", "copy/paste verification queries in proofs/"):
        outcomes = proofs.run_all(url)

    report_path = None
    if write_report:
        with steps.step("report", "HTML report"):
            report_path = _write_html_report(url, model_key)

    return {
        "model_key": model_key,
        "trained_now": trained,
        "rows": report.get("rows"),
        "base_rate": report.get("base_rate"),
        "information_value": report.get("information_value"),
        "oof_auc": report.get("oof_auc"),
        "oof_brier": report.get("oof_brier"),
        "eval_auc": report.get("eval_auc"),
        "eval_brier": report.get("eval_brier"),
        "certification": {r.entrypoint: r.status for r in results},
        "failed_checks": {r.entrypoint: [c.name for c in r.checks if not c.ok]
                          for r in results if not r.ok},
        "proofs": {"passed": sum(o.passed for o in outcomes),
                   "failed": [o.name for o in outcomes if not o.passed]},
        "report": report_path,
    }


def _write_html_report(url: str, model_key: str) -> str | None:
    from harness import report

    try:
        report.write(url, model_key)
    except report.ReportError as exc:  # e.g. the optional plotting extra is missing
        log(f"[run] report skipped: {exc}")
        return None
    return str(report.DEFAULT_OUT)


def print_summary(summary: dict[str, Any], out: Callable[[str], None] = print) -> None:
    def num(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.4f}"

    out(f"model_key:        {summary['model_key']}"
        f"{' (trained now)' if summary['trained_now'] else ' (reused)'}")
    rows = summary["rows"] or {}
    for name in (s for s in SLICES if s in rows):
        out(f"rows {name + ':':<20}{rows[name]:>10,}")
    out(f"base rate:        {num(summary['base_rate'])}")
    out(f"OOF  AUC / Brier: {num(summary['oof_auc'])} / {num(summary['oof_brier'])}   (train_sold)")
    out(f"eval AUC / Brier: {num(summary['eval_auc'])} / {num(summary['eval_brier'])}   "
        "(eval_sold_last_7d, final mapping)")
    out("Information Value per band:")
    iv = summary["information_value"] or {}
    for band in (b for b in ALL_BANDS if b in iv):
        out(f"  {band:<8} {iv[band]:.4f}")
    out("certification:")
    for entrypoint, status in summary["certification"].items():
        failed = summary["failed_checks"].get(entrypoint)
        out(f"  {status:<9} {entrypoint}" + (f"  (failed: {', '.join(failed)})" if failed else ""))
    p = summary["proofs"]
    out(f"proofs: {p['passed']} ok, {len(p['failed'])} failing"
        + (f": {', '.join(p['failed'])}" if p["failed"] else ""))
    if summary["report"]:
        out(f"report: {summary['report']}")
    out("seconds per step: " + ", ".join(f"{k} {v:.1f}" for k, v in summary["seconds"].items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.run",
        description="The WOE anchor store end to end: migrate, load synthetic data, train, "
        "certify, run the proofs, write the HTML report and print a summary. Safe to re-run.",
    )
    db.add_database_url_argument(parser)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                        help=f"synthetic listings to generate when the source is empty "
                        f"(default {DEFAULT_ROWS:,})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="synthetic data seed")
    parser.add_argument("--replace-data", action="store_true",
                        help="regenerate the synthetic source data (and train on it)")
    parser.add_argument("--retrain", action="store_true",
                        help="train and activate a new package even if one is active")
    parser.add_argument("--woe-folds", type=int, default=5, help="OOF folds (default 5)")
    parser.add_argument("--no-report", action="store_true", help="skip the HTML report")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    return cli.finish("run", lambda: _main(args))


def _main(args: argparse.Namespace) -> int:
    options = train.FitOptions(n_folds=args.woe_folds)
    options.validate()  # bad options fail before anything is written
    steps = Steps()
    with steps.step("database", "resolve"):
        url = db.resolve(args.database_url).url
    summary = run(url, rows=args.rows, seed=args.seed, replace_data=args.replace_data,
                  retrain=args.retrain, options=options, write_report=not args.no_report,
                  steps=steps)
    summary["seconds"] = steps.seconds
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print_summary(summary)
    ok = all(s == "CERTIFIED" for s in summary["certification"].values()) and not summary["proofs"]["failed"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

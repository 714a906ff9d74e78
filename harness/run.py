"""The main job, end to end: database -> alembic upgrade head -> summary.

`make demo` (README) runs this. It resolves the database like every other command
(embedded PostgreSQL unless a URL is given), brings the schema to head and reports the
seed-named objects. Re-running it is safe: migrations are idempotent at head.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import psycopg

from harness import db, migrate

SEED_OBJECTS = (
    "audit.t0_cert_registry",
    "audit.t0_viewdef_baseline",
    "audit.t0_dataset_hash_baseline",
    "ml.woe_anchor_model_registry_v1",
    "ml.woe_anchor_cuts_v1",
    "ml.woe_anchor_map_v1",
    "ml.woe_anchor_scores_v1",
    "ml.v_woe_anchor_bands_live_v1",
    "ml.woe_anchor_scores_live_v1",
    "ml.woe_anchor_feature_store_t0_v1_v",
    "ml.woe_anchor_scores_live_train_v",
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def missing_seed_objects(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [
            name
            for name in SEED_OBJECTS
            if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is None
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.run",
        description="Run the WOE anchor store's main job end to end.",
    )
    db.add_database_url_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)

    timings: dict[str, float] = {}
    started = time.perf_counter()
    resolved = db.resolve(args.database_url)
    timings["database"] = time.perf_counter() - started

    log("[run] alembic upgrade head")
    step = time.perf_counter()
    migrate.upgrade(resolved.url)
    timings["migrate"] = time.perf_counter() - step

    missing = missing_seed_objects(resolved.url)
    summary = {
        "database": resolved.source,
        "seed_objects_present": len(SEED_OBJECTS) - len(missing),
        "seed_objects_missing": missing,
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"database: {resolved.source}")
        print(f"seed-named objects present: {summary['seed_objects_present']}/{len(SEED_OBJECTS)}")
        for name in missing:
            print(f"  MISSING {name}")
        for name, seconds in summary["seconds"].items():
            print(f"{name:>10}: {seconds:.3f}s")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

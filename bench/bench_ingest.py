"""Benchmark the dataset-invalidation triggers (revision 0056) and a run that re-checks every
baselined day (figures go to bench/RESULTS.md).

Builds a scratch database (default 1M listings from harness.synth plus a complete package from
tests/packages.py), baselines and certifies it, then measures:
  certify_run_s             python -m harness.certify run (both entrypoints), as baselined by
                            `certify baseline` (the last check_days = 10 days)
  snapshot_insert_on_s      INSERT of --rows new snapshot rows into a new UTC day (the day after
  snapshot_insert_off_s     the newest baselined one) with the invalidation triggers enabled /
                            disabled (ALTER TABLE ... DISABLE TRIGGER)
  snapshot_insert_overhead_pct  median over the rounds of on/off - 1 (same round)
  vision_insert_on_s / _off_s / _overhead_pct   the same for a vision row of each new listing
                            (the trigger joins each one to its snapshot)
  invalidating_update_ms    an UPDATE of one row of a baselined day (the registry rows are set
                            to FAILED; rolled back)
  certify_run_all_days_s    certify run after `certify baseline` with check_days covering every
                            day of the data (every row is in a baselined day and re-checked)
Each round loads the rows with the triggers on and off (alternating which goes first, so both
see the same background load), each load committed, then deleted and the tables vacuumed
untimed, so every load meets the same tables. Progress goes to stderr, one JSON object to
stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch_db import scratch_database

from harness import certify, db
from harness.cli import positive_int

TRIGGERS = {
    table: [f"{table.partition('.')[2]}_invalidate_on_{event}"
            for event in ("insert", "update", "delete", "truncate")]
    for table in ("src.listing_snapshots_t0", "src.listing_vision_features")
}
FIRST_ID = 1_000_000_000  # new listings, above any synth id

# n new listings on the UTC day %(day)s, spread over its seconds; every value passes the CHECKs
SNAPSHOTS = """
INSERT INTO src.listing_snapshots_t0
SELECT 1, g, %(day)s::date::timestamp AT TIME ZONE 'UTC' + (g %% 86400) * interval '1 second',
       ((g * 37) %% 61 - 30) / 100.0, ((g * 53) %% 101) / 100.0, ((g * 17) %% 40) / 10.0,
       70 + (g * 29) %% 31, ((g * 31) %% 101) / 10.0, (g * 13) %% 120, 2010 + g %% 16,
       (g %% 2)::smallint, (g / 2 %% 2)::smallint, (g / 3 %% 5 = 0)::int::smallint,
       (g / 5 %% 3 = 0)::int::smallint, (g / 7 %% 3 = 0)::int::smallint, (g / 11 %% 2)::smallint
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
"""
VISION = """
INSERT INTO src.listing_vision_features
SELECT 1, g, 1 + g %% 8, ((g * 3) %% 11) / 10.0, ((g * 5) %% 11) / 10.0, ((g * 7) %% 11) / 10.0,
       ((g * 9) %% 11) / 10.0, ((g * 19) %% 40) / 10.0, g %% 3, g %% 2 = 0, g %% 5 = 0
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def set_triggers(conn: psycopg.Connection, enabled: bool) -> None:
    for table, names in TRIGGERS.items():
        for name in names:
            conn.execute(sql.SQL("ALTER TABLE {} {} TRIGGER {}").format(
                sql.Identifier(*table.split(".")),
                sql.SQL("ENABLE ALWAYS" if enabled else "DISABLE"), sql.Identifier(name)))


def timed(conn: psycopg.Connection, query: str, params: dict) -> float:
    t = time.perf_counter()
    conn.execute(query, params)
    return time.perf_counter() - t


def one_load(conn: psycopg.Connection, params: dict, triggers: bool) -> tuple[float, float]:
    """Snapshot and vision rows of the new listings, each INSERT committed; then removed."""
    set_triggers(conn, triggers)
    snapshots = timed(conn, SNAPSHOTS, params)
    vision = timed(conn, VISION, params)
    set_triggers(conn, True)
    # removing rows of a new day invalidates nothing either; untimed
    conn.execute("DELETE FROM src.listing_vision_features WHERE listing_id >= %(first)s", params)
    conn.execute("DELETE FROM src.listing_snapshots_t0 WHERE listing_id >= %(first)s", params)
    conn.execute("VACUUM src.listing_vision_features, src.listing_snapshots_t0")
    return snapshots, vision


def certified(url: str) -> bool:
    with psycopg.connect(url) as c:
        return {s for (s,) in c.execute("SELECT status FROM audit.t0_cert_registry")} == {
            "CERTIFIED"}


def timed_run(url: str) -> tuple[float, dict[str, str]]:
    t = time.perf_counter()
    results = certify.run(url)
    return time.perf_counter() - t, {r.entrypoint: r.status for r in results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/bench_ingest.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=positive_int, default=1_000_000,
                        help="listings in the scratch database (default 1,000,000)")
    parser.add_argument("--rows", type=positive_int, default=100_000,
                        help="new snapshot rows per load (default 100,000)")
    parser.add_argument("--rounds", type=positive_int, default=5,
                        help="rounds, each one load with the triggers on and one off (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="harness.synth seed")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the scratch database of an earlier run (built if missing)")
    db.add_database_url_argument(parser)
    args = parser.parse_args(argv)
    admin = db.resolve(args.database_url).url
    name = f"woe_bench_ingest_{args.listings}"
    url = scratch_database(admin, name, args.listings, args.seed, keep=args.keep)
    out: dict[str, object] = {"listings": args.listings, "rows": args.rows, "seed": args.seed}
    with psycopg.connect(url, autocommit=True) as c:
        out["server_version"] = c.execute("SHOW server_version").fetchone()[0]
        c.execute("UPDATE audit.t0_entrypoint_policy SET check_days = 10")
    certify.baseline(url)
    log("certify run (baselined: the last 10 days)")
    out["certify_run_s"], out["certify_status"] = timed_run(url)

    with psycopg.connect(url, autocommit=True) as c:
        newest = c.execute("SELECT max(t0_day) FROM audit.t0_dataset_hash_baseline").fetchone()[0]
        params = {"day": newest + timedelta(days=1), "first": FIRST_ID,
                  "last": FIRST_ID + args.rows - 1}
        out["new_day"] = params["day"].isoformat()
        log(f"{args.rounds} rounds of {args.rows:,} new rows on {out['new_day']}, "
            "triggers on and off")
        on: list[tuple[float, float]] = []
        off: list[tuple[float, float]] = []
        for i in range(args.rounds):
            order = (True, False) if i % 2 == 0 else (False, True)
            for triggers in order:
                (on if triggers else off).append(one_load(c, params, triggers))
            log(f"  round {i + 1}: snapshots on {on[-1][0]:.3f} s, off {off[-1][0]:.3f} s; "
                f"vision on {on[-1][1]:.3f} s, off {off[-1][1]:.3f} s")
        for k, what in enumerate(("snapshot", "vision")):
            ratios = [a[k] / b[k] for a, b in zip(on, off, strict=True)]
            out[f"{what}_insert_on_s"] = statistics.median(a[k] for a in on)
            out[f"{what}_insert_off_s"] = statistics.median(b[k] for b in off)
            out[f"{what}_insert_overhead_pct"] = 100 * (statistics.median(ratios) - 1)
            out[f"{what}_insert_overhead_pct_range"] = [100 * (min(ratios) - 1),
                                                        100 * (max(ratios) - 1)]
    out["still_certified_after_new_days"] = certified(url)

    with psycopg.connect(url) as c:
        row = c.execute("SELECT listing_id FROM src.listing_snapshots_t0 WHERE t0 >= %s "
                        "ORDER BY t0 LIMIT 1", (newest,)).fetchone()
        t = time.perf_counter()
        c.execute("UPDATE src.listing_snapshots_t0 SET condition_score = 0.5 "
                  "WHERE listing_id = %s", row)
        out["invalidating_update_ms"] = 1000 * (time.perf_counter() - t)
        out["invalidated_in_its_transaction"] = c.execute(
            "SELECT bool_and(status = 'FAILED') FROM audit.t0_cert_registry").fetchone()[0]
        c.rollback()

    with psycopg.connect(url, autocommit=True) as c:  # every day of the data, oldest included
        c.execute("UPDATE audit.t0_entrypoint_policy SET check_days = "
                  "((SELECT max(t0) FROM src.listing_snapshots_t0) AT TIME ZONE 'UTC')::date - "
                  "((SELECT min(t0) FROM src.listing_snapshots_t0) AT TIME ZONE 'UTC')::date + 1")
    certify.baseline(url)
    with psycopg.connect(url) as c:
        out["baselined_days_all"] = c.execute(
            "SELECT count(*) FROM audit.t0_dataset_hash_baseline "
            "WHERE entrypoint = 'ml.woe_anchor_feature_store_t0_v1_v'").fetchone()[0]
    log(f"certify run (baselined: every day, {out['baselined_days_all']})")
    out["certify_run_all_days_s"], out["certify_status_all_days"] = timed_run(url)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("UPDATE audit.t0_entrypoint_policy SET check_days = 10")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

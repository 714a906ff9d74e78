"""Benchmark scoring, guard and certification at scale (figures go to bench/RESULTS.md).

Builds a scratch database (default 1M listings from harness.synth, the trainer's data, plus a
complete package from tests/packages.py), then measures:
  live_view_s          full computation of every row of ml.woe_anchor_scores_live_v1
  previous_view_s      the same on the scores view of 0025 (array_position over text bands)
  seed_view_s          the same on a seed-style view (ten LEFT JOINs, NUMERIC arithmetic)
  guarded_scan_s       1M-row scan through ml.woe_anchor_scores_live_train_v ...
  unguarded_scan_s     ... and through the entrypoint it guards (overhead = ratio - 1)
The machine is shared and noisy, so the three views are timed in interleaved rounds and the
guarded/unguarded scans in adjacent pairs (alternating which goes first); each figure is the
median over --repeat rounds and every ratio compares timings of the same rounds.
  guard_call_ms        one audit.require_certified_strict call (mean of 1000 in a DO loop)
  dataset_hash_s       full-coverage hashes of the last 10 UTC days
  certify_run_s        python -m harness.certify run (both entrypoints)
Dataset hashes are best of --repeat; the certify run is timed once.
Progress goes to stderr, one JSON object to stdout.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch_db import scratch_database

from harness import certify, dataset_hash, db
from harness import policy as policies
from harness.cli import positive_int

SEED_VIEW = """
CREATE VIEW bench.seed_style_scores AS
SELECT b.generation, b.listing_id, b.t0, b.model_key,
       (r.base_logit::numeric + coalesce(m1.woe::numeric, 0) + coalesce(m2.woe::numeric, 0)
        + coalesce(m3.woe::numeric, 0) + coalesce(m4.woe::numeric, 0)
        + coalesce(m5.woe::numeric, 0) + coalesce(m6.woe::numeric, 0)
        + coalesce(m7.woe::numeric, 0) + coalesce(m8.woe::numeric, 0)
        + coalesce(m9.woe::numeric, 0) + coalesce(m10.woe::numeric, 0)) AS woe_logit
FROM ml.v_woe_anchor_bands_live_v1 AS b
JOIN ml.woe_anchor_model_registry_v1 AS r ON r.model_key = b.model_key
""" + "".join(
    f"""LEFT JOIN ml.woe_anchor_map_v1 AS m{i} ON m{i}.model_key = b.model_key
 AND m{i}.fold_id IS NULL AND m{i}.band_name = '{n}' AND m{i}.band_value = b.{n}
"""
    for i, n in enumerate(
        ("dsold", "trust", "ship", "sale", "cond", "dmg", "bat", "present", "vdmg", "acc"), 1)
) + ";\n" + """
CREATE VIEW bench.seed_style_p AS
SELECT s.*, 1 / (1 + exp(-s.woe_logit)) AS woe_anchor_p_slow21 FROM bench.seed_style_scores AS s;
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


FULL = "SELECT count(*), sum(woe_logit), sum(woe_anchor_p_slow21) FROM {}"
VIEWS = {"live": "ml.woe_anchor_scores_live_v1", "previous": "bench.previous_scores",
         "seed": "bench.seed_style_p"}


def previous_view() -> str:
    """The scores view of 0025 (WOE found by array_position over the text band values), as
    0050's downgrade restores it, under a bench name."""
    path = Path(__file__).resolve().parent.parent / "migrations/versions/0050_band_codes.py"
    spec = importlib.util.spec_from_file_location("rev0050", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PREVIOUS_SCORES_VIEW.replace("ml.woe_anchor_scores_live_v1", VIEWS["previous"])


def timed(conn: psycopg.Connection, query: str) -> float:
    t = time.perf_counter()
    conn.execute(query).fetchall()
    return time.perf_counter() - t


def interleaved(conn: psycopg.Connection, views: dict[str, str], rounds: int) -> dict[str, list]:
    """Each round times every view once, so all views see the same background load."""
    times: dict[str, list] = {k: [] for k in views}
    for _ in range(rounds):
        for key, view in views.items():
            times[key].append(timed(conn, FULL.format(view)))
    return times


def add_comparison_views(conn: psycopg.Connection) -> None:
    """The seed-style and previous (0025) scoring views the live view is compared with."""
    conn.execute("CREATE SCHEMA bench")
    conn.execute(SEED_VIEW)
    conn.execute(previous_view())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/bench_certify.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=positive_int, default=1_000_000,
                        help="listings in the scratch database (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=0, help="harness.synth seed")
    parser.add_argument("--repeat", type=positive_int, default=5,
                        help="rounds of the view timings and the dataset hashes (default 5)")
    parser.add_argument("--guard-pairs", type=positive_int, default=12,
                        help="adjacent guarded/unguarded scan pairs (default 12)")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the scratch database of an earlier run (built if missing)")
    db.add_database_url_argument(parser)
    args = parser.parse_args(argv)
    admin = db.resolve(args.database_url).url
    name = f"woe_bench_{args.listings}"
    url = scratch_database(admin, name, args.listings, args.seed, keep=args.keep,
                           extra=add_comparison_views)
    out: dict[str, object] = {"listings": args.listings, "seed": args.seed}
    with psycopg.connect(url, autocommit=True) as c:
        out["server_version"] = c.execute("SHOW server_version").fetchone()[0]
        log("live, previous (0025) and seed-style scoring views, interleaved")
        times = interleaved(c, VIEWS, args.repeat)
        for key, series in times.items():
            out[f"{key}_view_s"] = statistics.median(series)
            out[f"{key}_view_min_s"] = min(series)
        for key in ("previous", "seed"):
            out[f"speedup_vs_{key}"] = out[f"{key}_view_s"] / out["live_view_s"]
    certify.baseline(url)
    log("certify run")
    t = time.perf_counter()
    results = certify.run(url)
    out["certify_run_s"] = time.perf_counter() - t
    out["certify_status"] = {r.entrypoint: r.status for r in results}
    with psycopg.connect(url, autocommit=True) as c:
        log("guarded vs unguarded scan, adjacent pairs")
        plain_q = FULL.format("ml.woe_anchor_feature_store_t0_v1_v")
        guarded_q = FULL.format("ml.woe_anchor_scores_live_train_v")
        guarded, plain = [], []
        for i in range(args.guard_pairs):
            if i % 2:
                guarded.append(timed(c, guarded_q))
                plain.append(timed(c, plain_q))
            else:
                plain.append(timed(c, plain_q))
                guarded.append(timed(c, guarded_q))
        ratios = [g / p for g, p in zip(guarded, plain, strict=True)]
        out["unguarded_scan_s"] = statistics.median(plain)
        out["guarded_scan_s"] = statistics.median(guarded)
        out["guard_overhead_pct"] = 100 * (statistics.median(ratios) - 1)
        out["guard_overhead_pct_quartiles"] = [
            100 * (q - 1) for q in statistics.quantiles(ratios, n=4)]
        t = time.perf_counter()
        c.execute("""DO $$ BEGIN FOR i IN 1..1000 LOOP
                     PERFORM audit.require_certified_strict(
                         'ml.woe_anchor_feature_store_t0_v1_v', interval '24 hours');
                     END LOOP; END $$""")
        out["guard_call_ms"] = (time.perf_counter() - t)  # 1000 calls: seconds == ms per call
        log("dataset hashes")
        [pol] = policies.load(c, "ml.woe_anchor_feature_store_t0_v1_v")
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            days = dataset_hash.window(c, pol)
            hashes = dataset_hash.day_hashes(c, pol, days)
            times.append(time.perf_counter() - t)
        out["dataset_hash_s"] = min(times)
        out["dataset_hash_rows"] = sum(h.row_count for h in hashes.values())
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

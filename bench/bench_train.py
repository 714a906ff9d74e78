"""Benchmark: in-database fit + 5-fold OOF + persist vs the seed's way (rows into Python).

``make bench ARGS="--rows 100000 1000000"`` (or ``python bench/bench_train.py ...`` after
``pip install -e '.[bench]'``: the baselines need pandas) creates one scratch database per
size on the embedded server (or --admin-url), loads harness.synth data, then in separate
child processes (so each peak RSS is its own) runs
  * sql:      harness.train.fit (the in-database trainer), and
  * baseline (pandas bands): the seed's trainer (its compute_woe_anchor_oof): fetch the raw
              train_sold rows (features and outcomes) into pandas; per fit (5 folds, then the
              final mapping) derive labels and time-decay weights, band the fitted and the
              scored rows in pandas, fit WOE, score; write the OOF rows back with
              executemany into a table with the columns, checks and primary key of
              ml.woe_anchor_scores_v1 (as the seed does);
  * baseline (sql bands): a stricter race: the rows come already banded by the one SQL
              definition (woe_rows), so pandas does only the fits, the scoring and the
              write-back.
Each baseline's OOF logits are compared with the sql package's (untimed): same folds, and
the largest difference is printed.
The sql mode runs once before the baselines and once after them; each ratio baseline / sql
is taken against the mean of those two runs. With ``--rounds N`` that is repeated N times on
the same data (sql, baselines, sql, baselines, ..., sql: N + 1 sql fits), and a last line per
baseline gives the N ratios with their median and range, so one command shows how reliable a
ratio is on a noisy machine. Reports wall time per phase, peak RSS of the Python process and
the server's temp_bytes delta (pg_stat_database). Figures go to stdout as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import db, synth, train
from harness import train_sql as q
from harness.cli import positive_int


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _temp_bytes(conn) -> int:
    value = conn.execute("SELECT temp_bytes FROM pg_stat_database "
                         "WHERE datname = current_database()").fetchone()[0]
    conn.rollback()
    return int(value)


def run_sql(url: str) -> dict:
    with psycopg.connect(url) as conn:
        before = _temp_bytes(conn)
        t = time.perf_counter()
        report = train.fit(conn, train.FitOptions(), log=lambda _m: None)
        wall = time.perf_counter() - t
        time.sleep(0.6)  # pg_stat_database is flushed about once a second
        return {"mode": "sql", "wall_s": round(wall, 2), "phases_s": report.seconds,
                "train_rows": report.rows["train_sold"], "peak_rss_mb": round(_peak_rss_mb(), 1),
                "temp_bytes": _temp_bytes(conn) - before, "oof_auc": report.oof_auc}


# The seed trainer's training frame: every train_sold row with its raw features and outcome,
# as its pipeline hands train_sold_df to the WOE code (bands, labels and weights are then
# derived in pandas, per fit).
RAW_ROWS = """
SELECT o.generation, o.listing_id, o.t0, o.sold_time, o.duration_hours, o.final_status,
       {snapshot}, v.image_count, {vision}
FROM src.listing_outcomes AS o
JOIN src.listing_snapshots_t0 AS s
  ON s.generation = o.generation AND s.listing_id = o.listing_id AND s.t0 = o.t0
LEFT JOIN src.listing_vision_features AS v
  ON v.generation = o.generation AND v.listing_id = o.listing_id
WHERE o.sold_time <= %(eval_cutoff)s
""".format(snapshot=", ".join(f"s.{c}" for c in q.SNAPSHOT_FEATURES),
           vision=", ".join(f"v.{c}" for c in q.VISION_FEATURES if c != "image_count"))

# The bands already computed by the one SQL definition (woe_rows), for the stricter baseline.
SQL_BANDED_ROWS = """
SELECT r.generation, r.listing_id, r.t0, r.y::int, r.w_raw, r.fold_id, r.has_assets,
       r.presentation_score, {labels}
FROM woe_rows AS r WHERE r.fold_id IS NOT NULL
""".format(labels=", ".join(  # band values as text, as the seed's trainer handles them
    f"(ml.woe_anchor_band_labels_v1('{b}'))[r.{b}] AS {b}" for b in q.STORED_BANDS))

BANDS = list(q.ALL_BANDS)
EPS, HALF_LIFE_DAYS, N_FOLDS = 0.5, 90.0, 5
THRESHOLDS = (-0.15, -0.05, 0.05, 0.15)


def _numeric(frame, column):
    import pandas as pd

    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _presentation(frame):
    """has_assets and the presentation score (SPEC 4) of each row of a raw frame."""
    import numpy as np

    def zero_null(column):
        return np.nan_to_num(_numeric(frame, column))

    images = zero_null("image_count")
    score = (0.30 * np.log(1.0 + images) + 0.25 * zero_null("photo_quality_avg")
             + 0.20 * zero_null("bg_clean_avg") + 0.15 * (1.0 - zero_null("stock_photo_share"))
             + 0.10 * zero_null("caption_share"))
    return images > 0, score


def _present_band(assets, score, cuts):
    """SPEC 4's present band of each row (None without assets)."""
    import numpy as np

    c1, c2 = cuts
    return np.select([~assets, score < c1, score < c2],
                     [None, "present_lo", "present_mid"], "present_hi").astype(object)


def _pandas_bands(frame, cuts):
    """SPEC 4 in numpy, as the seed's trainer bands a frame (band values as strings; vision
    bands only for rows with assets)."""
    import numpy as np
    import pandas as pd

    def num(column):
        return _numeric(frame, column)

    def select(conditions, values, default):
        return np.select(conditions, values, default).astype(object)

    t1, t2, t3, t4 = THRESHOLDS
    ds, rating, reviews, since = (num(c) for c in (
        "delta_vs_sold_median_30d", "seller_rating", "review_count", "member_since_year"))
    year = frame["t0"].dt.year.to_numpy(dtype=float)
    cond, sev, bat = num("condition_score"), num("damage_severity_ai"), num(
        "battery_pct_effective")
    assets, score = _presentation(frame)
    vdmg = num("dmg_band_hq_struct")
    acc = sum(np.nan_to_num(num(c)) for c in (
        "charger_bundle_level", "box_present", "receipt_present"))
    flag = {c: num(c) == 1 for c in q.SNAPSHOT_FEATURES if c.startswith("ai_")}
    out = pd.DataFrame({
        "dsold": select([np.isnan(ds), ds <= t1, ds <= t2, ds <= t3, ds <= t4],
                        ["dSold_missing", "dSold_cheap", "dSold_under", "dSold_fair",
                         "dSold_over"], "dSold_overpriced"),
        "trust": select([(rating >= 9.7) & (reviews >= 50) & (since <= year - 3),
                         (rating >= 9.0) & (reviews >= 10)], ["HIGH", "MED"], "LOW"),
        "ship": select([flag["ai_pickup_only_bin"] | flag["ai_ship_pickup"],
                        flag["ai_ship_can"]], ["pickup_heavy", "shipping_ok"], "ship_unknown"),
        "sale": select([flag["ai_sale_mode_firm"], flag["ai_sale_mode_bids"],
                        flag["ai_sale_mode_obo"]], ["firm", "bids", "obo"], "sale_unspec"),
        "cond": select([np.isnan(cond), cond >= 0.90, cond >= 0.70],
                       ["cond_missing", "cond_hi", "cond_mid"], "cond_lo"),
        "dmg": select([np.isnan(sev), sev < 1, sev < 2, sev < 3],
                      ["dmg_missing", "dmg_0", "dmg_1", "dmg_2"], "dmg_3p"),
        "bat": select([np.isnan(bat), bat >= 95, bat >= 88],
                      ["bat_missing", "bat_hi", "bat_mid"], "bat_lo"),
        "present": _present_band(assets, score, cuts),
        "vdmg": select([~assets, np.isnan(vdmg), vdmg < 1, vdmg < 2, vdmg < 3],
                       [None, "vdmg_missing", "vdmg_0", "vdmg_1", "vdmg_2"], "vdmg_3p"),
        "acc": select([~assets, acc <= 0, acc < 2], [None, "acc_lo", "acc_mid"], "acc_hi"),
    }, index=frame.index)
    out["has_assets"] = assets
    return out


def _fit_and_score(train, score, bands_of, raw_weights):
    """One call of the seed's per-fit function: weights and bands of the training part, the
    WOE tables, then bands and scores of the scored part."""
    import numpy as np

    w = raw_weights(train)
    w = w / w.mean()
    y = train["y"].to_numpy()
    tb = bands_of(train)
    frame = tb.assign(pos=np.where(y == 1, w, 0.0), neg=np.where(y == 0, w, 0.0))
    tp, tn = frame["pos"].sum(), frame["neg"].sum()
    assets = frame[frame["has_assets"].to_numpy(dtype=bool)]
    tpa, tna = assets["pos"].sum(), assets["neg"].sum()
    rate = tp / (tp + tn)
    maps = {}
    for b in BANDS:
        vision = b in q.VISION_BANDS
        if vision and not (tpa > 0 and tna > 0):
            continue
        g = (assets if vision else frame).groupby(b)[["pos", "neg"]].sum()
        vp, vn = (tpa, tna) if vision else (tp, tn)
        maps[b] = np.log(((g["pos"] + EPS) / vp) / ((g["neg"] + EPS) / vn))
    if score is None:
        return None
    sb = bands_of(score)
    logit = np.full(len(score), np.log(rate / (1 - rate)))
    for b, m in maps.items():
        logit += sb[b].map(m).astype(float).fillna(0.0).to_numpy()
    return logit


def _day_folds(t0):
    """SPEC 6: the sorted distinct UTC days, day i of n in fold floor(i * K / n)."""
    import numpy as np

    days = t0.dt.floor("D").to_numpy()
    unique, index = np.unique(days, return_inverse=True)
    return (np.arange(len(unique)) * N_FOLDS // len(unique))[index]


# The baseline's OOF rows against the active package's (the sql mode's, which ran first).
AGREEMENT = """
SELECT count(*), count(*) FILTER (WHERE b.fold_id IS DISTINCT FROM s.fold_id),
       max(abs(b.woe_logit - s.woe_logit))
FROM {} AS b
JOIN ml.woe_anchor_scores_v1 AS s
  ON s.generation = b.generation AND s.listing_id = b.listing_id AND s.t0 = b.t0
JOIN ml.woe_anchor_model_registry_v1 AS r ON r.model_key = s.model_key AND r.is_active
"""


def _frame(cur, query, params):
    import pandas as pd

    rows = cur.execute(query, params).fetchall()
    return pd.DataFrame(rows, columns=[d.name for d in cur.description])


def _fetch_sql_banded(cur, params):
    params["ref_ts"], params["first_days"], params["fold_ids"] = cur.execute(
        q.SLICE_COUNTS, params).fetchone()[-3:]
    cur.execute(q.CREATE_ROWS, params)
    return _frame(cur, SQL_BANDED_ROWS, None)


def _derive_sql_banded(df):
    """The rows come banded by the SQL definition (the present band once the cuts are known)
    and weighted by it."""
    def bands_with(cuts):
        df["present"] = _present_band(df["has_assets"].to_numpy(dtype=bool),
                                      df["presentation_score"].to_numpy(dtype=float), cuts)
        return lambda part: part

    return (df.loc[df["has_assets"], "presentation_score"], bands_with,
            lambda part: part["w_raw"].to_numpy())


def _fetch_raw(cur, params):
    return _frame(cur, RAW_ROWS, params)


def _derive_raw(df):
    """The label, age and fold the seed derives in pandas; every fit bands its rows again."""
    import numpy as np
    import pandas as pd

    df["t0"] = pd.to_datetime(df["t0"], utc=True)
    df["sold_time"] = pd.to_datetime(df["sold_time"], utc=True)
    df["y"] = ((df["duration_hours"] >= 504) | (df["final_status"] == "older21days")).astype(int)
    label_ts = df["sold_time"].where(df["y"] == 0, df["t0"] + pd.Timedelta(hours=504))
    df["age_days"] = (label_ts.max() - label_ts).dt.total_seconds() / 86400.0
    df["fold_id"] = _day_folds(df["t0"])
    assets, score = _presentation(df)

    def raw_weights(part):
        return np.power(0.5, np.maximum(part["age_days"].to_numpy(), 0.0) / HALF_LIFE_DAYS)

    return (pd.Series(score[assets]), lambda cuts: lambda part: _pandas_bands(part, cuts),
            raw_weights)


# Per baseline: how it fetches its frame (timed as "fetch") and what it derives in pandas
# before the fits (timed with them).
BASELINES = {"sql": (_fetch_sql_banded, _derive_sql_banded), "pandas": (_fetch_raw, _derive_raw)}


def run_baseline(url: str, bands: str) -> dict:
    """The seed's way: pull every training row into pandas, fit there, executemany back.

    ``bands``: "pandas" fetches the raw features and bands them in pandas inside every fit,
    as the seed's trainer does; "sql" fetches the rows already banded by the one SQL
    definition (woe_rows), a stricter race that leaves pandas only the fit.
    """
    import numpy as np
    import pandas as pd

    phases: dict[str, float] = {}
    with psycopg.connect(url) as conn:
        before = _temp_bytes(conn)
        t0 = time.perf_counter()
        cur = psycopg.ClientCursor(conn)
        cur.execute("SET LOCAL TimeZone = 'UTC'")
        cutoff = cur.execute("SELECT ml.woe_anchor_default_eval_cutoff_v1()").fetchone()[0]
        params = {"eval_cutoff": cutoff, "n_folds": N_FOLDS, "half_life_days": HALF_LIFE_DAYS,
                  "t1": THRESHOLDS[0], "t2": THRESHOLDS[1], "t3": THRESHOLDS[2],
                  "t4": THRESHOLDS[3]}
        fetch, derive = BASELINES[bands]
        df = fetch(cur, params)
        phases["fetch"] = time.perf_counter() - t0
        t = time.perf_counter()
        asset_scores, bands_with, raw_weights = derive(df)
        # SPEC 4/6: one pair of cuts from the training rows with assets, reused by the folds
        cuts = ((asset_scores.quantile(1 / 3), asset_scores.quantile(2 / 3))
                if len(asset_scores) >= 50
                else (asset_scores.median(),) * 2 if len(asset_scores) else (0.0, 0.0))
        bands_of = bands_with(cuts)
        out = []
        fold = df["fold_id"].to_numpy()
        for k in range(N_FOLDS):
            part = df[fold == k].copy()
            logit = _fit_and_score(df[fold != k].copy(), part, bands_of, raw_weights)
            out.append(pd.DataFrame({"generation": part["generation"],
                                     "listing_id": part["listing_id"], "t0": part["t0"],
                                     "fold_id": k, "logit": logit,
                                     "p": 1.0 / (1.0 + np.exp(-logit))}))
        _fit_and_score(df, None, bands_of, raw_weights)  # the final mapping
        scores = pd.concat(out)
        phases["fit_oof"] = time.perf_counter() - t
        t = time.perf_counter()
        # The seed writes these rows into ml.woe_anchor_scores_v1: the same columns, checks and
        # primary key here (and WAL, as a logged table), without our statement-level package
        # trigger, which would fire once per executemany row.
        table = sql.Identifier(f"baseline_scores_{bands}")
        cur.execute(sql.SQL("CREATE TABLE {} (LIKE ml.woe_anchor_scores_v1 INCLUDING ALL)")
                    .format(table))
        key = datetime.now(UTC).strftime("woe_%Y%m%dT%H%M%S.%fZ")  # our keys' length
        # A plain (server-side binding) cursor, as a psycopg user writes it: the statement is
        # prepared once and each row is only bound and executed, in pipeline mode.
        conn.cursor().executemany(
            sql.SQL("INSERT INTO {} (model_key, generation, listing_id, t0, fold_id, is_oof,"
                    " woe_logit, woe_p) VALUES (%s, %s, %s, %s, %s, true, %s, %s)").format(table),
            [(key, int(g), int(i), t0_, int(f), float(lg), float(p_)) for g, i, t0_, f, lg, p_ in
             scores.itertuples(index=False)])
        conn.commit()
        phases["write_back"] = time.perf_counter() - t
        wall = time.perf_counter() - t0
        time.sleep(0.6)
        result = {"mode": f"baseline ({bands} bands)", "wall_s": round(wall, 2),
                  "phases_s": {k: round(v, 2) for k, v in phases.items()},
                  "train_rows": len(df), "peak_rss_mb": round(_peak_rss_mb(), 1),
                  "temp_bytes": _temp_bytes(conn) - before}
        # Untimed: the race only counts if both computed the same package.
        result["vs_sql_package"] = dict(zip(
            ("rows", "fold_mismatches", "max_abs_logit_diff"),
            conn.execute(sql.SQL(AGREEMENT).format(table)).fetchone()))
        conn.execute(sql.SQL("DROP TABLE {}").format(table))
        conn.commit()
        check = result["vs_sql_package"]
        if (check["rows"] != len(df) or check["fold_mismatches"]
                or not check["max_abs_logit_diff"] <= 1e-9):
            raise SystemExit(f"baseline ({bands} bands) disagrees with the sql package: {check}")
        return result


def _settle(url: str) -> None:
    """VACUUM the freshly loaded source tables, as autovacuum would have long before a real
    training run, then CHECKPOINT, as the checkpointer would have: otherwise whichever mode
    reads them first pays for setting every tuple's hint bits (rewriting the whole tables), or
    for writing out the buffers the load and VACUUM left dirty, and the race is decided by
    running order (the sql mode runs first)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("listing_snapshots_t0", "listing_vision_features", "listing_outcomes"):
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier("src", table)))
        conn.execute("CHECKPOINT")


def _child(mode: str, url: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", *mode.split(), "--url", url],
                          check=False, capture_output=True, text=True)
    if done.returncode != 0:
        # the child's traceback names the cause (e.g. pandas missing: install the bench extra)
        raise SystemExit(f"bench_train: the {mode} run failed (exit {done.returncode}):\n"
                         f"{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=positive_int, nargs="+", default=[100_000, 1_000_000],
                        help="listings to generate (training rows are about 90%% of them)")
    parser.add_argument("--admin-url", help="server to create scratch databases on")
    parser.add_argument("--baselines", nargs="*", choices=tuple(BASELINES),
                        default=["pandas", "sql"],
                        help="pandas: the seed's trainer (raw rows, bands in pandas in every "
                             "fit); sql: rows banded by the SQL definition, only the fit in "
                             "pandas (stricter). Default: both; none with no value")
    parser.add_argument("--no-baseline", action="store_true", help="same as --baselines")
    parser.add_argument("--rounds", type=positive_int, default=1,
                        help="rounds of the baselines per size, each followed by one more sql "
                             "fit (ratios against the two sql fits around each round); with "
                             "more than one, a summary line gives the median and range")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *bands = args.child
        print(json.dumps(run_sql(args.url) if mode == "sql" else
                         run_baseline(args.url, *bands)))
        return 0
    if args.no_baseline:
        args.baselines = []
    admin = db.to_libpq_url(args.admin_url) if args.admin_url else db.resolve(quiet=True).url
    from tests.conftest import upgrade

    for n in args.rows:
        name = f"woe_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = db.with_dbname(admin, name)
        try:
            upgrade(url)
            with psycopg.connect(url) as conn:
                loaded = synth.fill(conn, n, seed=1)
                version = conn.execute("SHOW server_version").fetchone()[0]
            _settle(url)
            print(json.dumps({"listings": n, "synth_s": round(loaded.seconds, 1),
                              "server": version}), flush=True)
            sql_runs = [_child("sql", url)]
            print(json.dumps(sql_runs[0]), flush=True)
            ratios: dict[str, list[float]] = {}
            for _round in range(args.rounds if args.baselines else 0):
                bases = []
                for bands in args.baselines:
                    bases.append(_child(f"baseline {bands}", url))
                    print(json.dumps(bases[-1]), flush=True)
                # The sql fit again after the baselines: the VM's speed drifts by up to 1.4x
                # within minutes, so each ratio is taken against the mean of the two sql runs
                # that bracket the baselines (the second one also pays for any checkpoint of
                # the baselines' WAL).
                sql_runs.append(_child("sql", url))
                print(json.dumps(sql_runs[-1]), flush=True)
                bracket = sql_runs[-2:]
                sql_mean = sum(r["wall_s"] for r in bracket) / len(bracket)
                for base in bases:
                    ratio = round(base["wall_s"] / sql_mean, 1)
                    ratios.setdefault(base["mode"], []).append(ratio)
                    print(json.dumps({"listings": n, "baseline": base["mode"],
                                      "sql_wall_s": [r["wall_s"] for r in bracket],
                                      "speedup_baseline_over_sql": ratio}), flush=True)
            if args.rounds > 1:
                for mode, values in ratios.items():
                    print(json.dumps({"listings": n, "baseline": mode, "rounds": len(values),
                                      "speedups": values,
                                      "median": statistics.median(values),
                                      "min": min(values), "max": max(values)}), flush=True)
        finally:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: in-database fit + 5-fold OOF + persist vs the seed's way (rows into Python).

``python bench/bench_train.py --rows 100000 1000000`` creates one scratch database per size on
the embedded server (or --admin-url), loads harness.synth data, then in separate child
processes (so each peak RSS is its own) runs
  * sql:      harness.train.fit (the in-database trainer), and
  * baseline: fetch the training rows (with bands) into pandas/numpy, fit WOE + 5-fold OOF
              there, write the OOF rows back with executemany into a table with the
              columns, checks and primary key of ml.woe_anchor_scores_v1 (as the seed does).
Reports wall time per phase, peak RSS of the Python process, the server's temp_bytes delta
(pg_stat_database) and the ratio baseline / sql. Figures go to stdout as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import resource
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


BASELINE_ROWS = """
SELECT r.generation, r.listing_id, r.t0, r.y::int, r.w_raw, r.fold_id, r.has_assets,
       r.presentation_score, {labels}
FROM woe_rows AS r WHERE r.fold_id IS NOT NULL
""".format(labels=", ".join(  # band values as text, as the seed's trainer handles them
    f"(ml.woe_anchor_band_labels_v1('{b}'))[r.{b}] AS {b}" for b in q.STORED_BANDS))


def run_baseline(url: str) -> dict:
    """The seed's way: pull every training row into pandas, fit there, executemany back."""
    import numpy as np
    import pandas as pd

    phases: dict[str, float] = {}
    with psycopg.connect(url) as conn:
        before = _temp_bytes(conn)
        t0 = time.perf_counter()
        cur = psycopg.ClientCursor(conn)
        cur.execute("SET LOCAL TimeZone = 'UTC'")
        cutoff = cur.execute("SELECT ml.woe_anchor_default_eval_cutoff_v1()").fetchone()[0]
        params = {"eval_cutoff": cutoff, "n_folds": 5, "half_life_days": 90.0,
                  "t1": -0.15, "t2": -0.05, "t3": 0.05, "t4": 0.15}
        params["ref_ts"], params["first_days"], params["fold_ids"] = cur.execute(
            q.SLICE_COUNTS, params).fetchone()[-3:]
        cur.execute(q.CREATE_ROWS, params)  # bands from the same definition, for a fair race
        rows = cur.execute(BASELINE_ROWS).fetchall()
        df = pd.DataFrame(rows, columns=[d.name for d in cur.description])
        del rows
        phases["fetch"] = time.perf_counter() - t0
        t = time.perf_counter()
        eps = 0.5
        bands = ["dsold", "trust", "ship", "sale", "cond", "dmg", "bat", "vdmg", "acc", "present"]

        def present_band(part: pd.DataFrame, c1: float, c2: float) -> np.ndarray:
            present = np.where(part["presentation_score"] < c1, "present_lo",
                               np.where(part["presentation_score"] < c2, "present_mid",
                                        "present_hi"))
            return np.where(part["has_assets"], present, None)

        # SPEC 4/6: one pair of cuts from the training rows with assets, reused by the folds
        sc = df.loc[df["has_assets"], "presentation_score"]
        c1, c2 = ((sc.quantile(1 / 3), sc.quantile(2 / 3)) if len(sc) >= 50
                  else (sc.median(),) * 2 if len(sc) else (0.0, 0.0))
        df["present"] = present_band(df, c1, c2)

        def fit(part: pd.DataFrame) -> tuple[float, dict]:
            w = part["w_raw"] / part["w_raw"].mean()
            pos, neg = w.where(part["y"] == 1, 0.0), w.where(part["y"] == 0, 0.0)
            tp, tn = pos.sum(), neg.sum()
            assets = part["has_assets"]
            frame = part.assign(pos=pos, neg=neg)
            maps = {}
            for b in bands:
                sub = frame[frame[b].notna()]
                g = sub.groupby(b)[["pos", "neg"]].sum()
                vp, vn = (pos[assets].sum(), neg[assets].sum()) if b in (
                    "present", "vdmg", "acc") else (tp, tn)
                maps[b] = np.log(((g["pos"] + eps) / vp) / ((g["neg"] + eps) / vn))
            rate = tp / (tp + tn)
            return np.log(rate / (1 - rate)), maps

        out = []
        for k in range(5):
            base, maps = fit(df[df["fold_id"] != k])
            part = df[df["fold_id"] == k]
            logit = np.full(len(part), base)
            for b in bands:
                logit += part[b].map(maps[b]).astype(float).fillna(0.0).to_numpy()
            out.append(pd.DataFrame({"generation": part["generation"],
                                     "listing_id": part["listing_id"], "t0": part["t0"],
                                     "fold_id": k, "logit": logit,
                                     "p": 1.0 / (1.0 + np.exp(-logit))}))
        fit(df)  # the final mapping
        scores = pd.concat(out)
        phases["fit_oof"] = time.perf_counter() - t
        t = time.perf_counter()
        # The seed writes these rows into ml.woe_anchor_scores_v1: the same columns, checks and
        # primary key here (and WAL, as a logged table), without our statement-level package
        # trigger, which would fire once per executemany row.
        cur.execute("CREATE TABLE baseline_scores (LIKE ml.woe_anchor_scores_v1 INCLUDING ALL)")
        key = datetime.now(UTC).strftime("woe_%Y%m%dT%H%M%S.%fZ")  # our keys' length
        # A plain (server-side binding) cursor, as a psycopg user writes it: the statement is
        # prepared once and each row is only bound and executed, in pipeline mode.
        conn.cursor().executemany(
            "INSERT INTO baseline_scores (model_key, generation, listing_id, t0, fold_id, is_oof,"
            " woe_logit, woe_p) VALUES (%s, %s, %s, %s, %s, true, %s, %s)",
            [(key, int(g), int(i), t0_, int(f), float(lg), float(p_)) for g, i, t0_, f, lg, p_ in
             scores.itertuples(index=False)])
        conn.commit()
        phases["write_back"] = time.perf_counter() - t
        wall = time.perf_counter() - t0
        time.sleep(0.6)
        return {"mode": "baseline", "wall_s": round(wall, 2),
                "phases_s": {k: round(v, 2) for k, v in phases.items()},
                "train_rows": len(df), "peak_rss_mb": round(_peak_rss_mb(), 1),
                "temp_bytes": _temp_bytes(conn) - before}


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
    done = subprocess.run([sys.executable, __file__, "--child", mode, "--url", url],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="listings to generate (training rows are about 90%% of them)")
    parser.add_argument("--admin-url", help="server to create scratch databases on")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--child", choices=("sql", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_sql(args.url) if args.child == "sql" else run_baseline(args.url)))
        return 0
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
            result = _child("sql", url)
            print(json.dumps(result), flush=True)
            if not args.no_baseline:
                base = _child("baseline", url)
                print(json.dumps(base), flush=True)
                print(json.dumps({"listings": n, "speedup_baseline_over_sql":
                                  round(base["wall_s"] / result["wall_s"], 1)}), flush=True)
        finally:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

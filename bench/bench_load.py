"""Load on the guarded view (figures go to bench/RESULTS.md): `python bench/bench_load.py`.

Builds a scratch database on the embedded server (or --admin-url), loads --rows synthetic
listings, trains and certifies a package, and creates a login member of woe_reader. Then:
  steady_point   pgbench, --clients readers, point lookups of one listing each, as prepared
                 statements (-M prepared) and unprepared (-M simple: planning the view's ten
                 joins is paid by every query)
  steady_day     pgbench, --clients readers, one UTC day of scores aggregated per query
                 (prepared)
  switch         --clients Python reader threads run day queries while a second package is
                 trained, activated, baselined and certified; every query must return one
                 package or a fail-closed refusal (mixed must be 0)
Each reports throughput and p50/p99 latency. Traffic goes to the local server only; every loop
is bounded (-T seconds for pgbench; the switch phase stops when certification is done).
Progress goes to stderr, one JSON object to stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import certify, db, embedded, migrate, synth, train
from harness.cli import positive_int
from tests.load import Outcome, read_until
from tests.roles import CERTIFIER, READER, TRAINER, as_role, login_member

GUARDED = "ml.woe_anchor_scores_live_train_v"
POINT_SCRIPT = f"""\\set lid random(1, :rows)
SELECT model_key, woe_anchor_p_slow21 FROM {GUARDED} WHERE generation = 1 AND listing_id = :lid;
"""
# synth spreads t0 over the 366 UTC days of 2024.
DAY_SQL = (f"SELECT array_agg(DISTINCT model_key), count(*) FROM {GUARDED} "
           "WHERE t0 >= timestamptz '2024-01-01 00:00:00+00' + %s * interval '1 day' "
           "AND t0 < timestamptz '2024-01-01 00:00:00+00' + (%s + 1) * interval '1 day'")
DAY_SCRIPT = f"""\\set d random(0, 365)
SELECT array_agg(DISTINCT model_key), count(*) FROM {GUARDED}
WHERE t0 >= timestamptz '2024-01-01 00:00:00+00' + :d * interval '1 day'
  AND t0 < timestamptz '2024-01-01 00:00:00+00' + (:d + 1) * interval '1 day';
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def percentiles(seconds: list[float]) -> dict[str, float]:
    q = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50_ms": round(q[49] * 1000, 2), "p99_ms": round(q[98] * 1000, 2)}


def pgbench(url: str, script: str, clients: int, seconds: int, rows: int,
            mode: str = "prepared") -> dict:
    """Run one pgbench script; latencies from its per-transaction log."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "script.sql"
        path.write_text(script)
        out = subprocess.run(
            [str(embedded.bin_dir() / "pgbench"), "-n", "-c", str(clients), "-j", "2",
             "-T", str(seconds), "-M", mode, "-f", str(path), "-D", f"rows={rows}", "-l",
             "--log-prefix", str(Path(tmp) / "log"), url],
            capture_output=True, text=True, check=True, cwd=tmp).stdout
        latencies = [int(line.split()[2]) / 1e6
                     for log_file in Path(tmp).glob("log*") for line in log_file.open()]
    tps = next(float(line.split("=")[1].split()[0]) for line in out.splitlines()
               if line.startswith("tps ="))
    return {"queries": len(latencies), "qps": round(tps, 1), **percentiles(latencies)}


def switch(url: str, clients: int, rows: int) -> dict:
    """Day queries from `clients` threads while a new package is trained and certified."""
    stop = threading.Event()
    started = threading.Barrier(clients + 1)
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(read_until, url, stop, query=DAY_SQL, started=started,
                               params=lambda i, k=k: ((i * 37 + k * 11) % 366,) * 2)
                   for k in range(clients)]
        try:
            started.wait(timeout=300)
            with as_role(url, TRAINER) as trainer:
                train.fit(trainer, train.FitOptions(model_key="bench_pkg_new"), log=log)
            activated = time.perf_counter()
            with as_role(url, CERTIFIER, autocommit=True) as certifier:
                certify.baseline(certifier)
                statuses = {r.status for r in certify.run(certifier)}
            certified = time.perf_counter()
        finally:
            stop.set()
        outcomes: list[Outcome] = [o for f in futures for o in f.result(timeout=600)]
    elapsed = time.perf_counter() - t
    served = [o for o in outcomes if o.keys is not None]
    return {
        "queries": len(outcomes), "qps": round(len(outcomes) / elapsed, 1),
        "served_old": sum(o.keys == ("bench_pkg_old",) for o in served),
        "served_new": sum(o.keys == ("bench_pkg_new",) for o in served),
        "empty_days": sum(o.keys == () for o in served),
        "refused": len(outcomes) - len(served), "mixed": sum(o.mixed for o in outcomes),
        "refusal_window_s": round(certified - activated, 2),
        "certification": sorted(statuses),
        **{f"served_{k}": v for k, v in percentiles([o.seconds for o in served]).items()},
        **{f"refused_{k}": v for k, v in percentiles(
            [o.seconds for o in outcomes if o.keys is None] or [0.0]).items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=positive_int, default=100_000,
                        help="listings in the scratch database (default 100,000)")
    parser.add_argument("--clients", type=positive_int, default=16,
                        help="concurrent pgbench clients (default 16)")
    parser.add_argument("--seconds", type=positive_int, default=20, help="per pgbench phase")
    parser.add_argument("--admin-url", help="server to create the scratch database on "
                        "(default: the embedded one)")
    args = parser.parse_args(argv)

    admin = db.to_libpq_url(args.admin_url) if args.admin_url else db.resolve(quiet=True).url
    name = f"woe_bench_load_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        version = c.execute("SHOW server_version").fetchone()[0]
    url = db.with_dbname(admin, name)
    try:
        log(f"building {name}: {args.rows} listings")
        migrate.upgrade(url)
        with psycopg.connect(url) as c:
            synth.fill(c, args.rows, seed=1)
            train.fit(c, train.FitOptions(model_key="bench_pkg_old"), log=log)
        certify.baseline(url)
        certify.run(url)
        result: dict = {"rows": args.rows, "clients": args.clients, "server_version": version}
        with login_member(url, READER) as reader_url:
            for mode in ("prepared", "simple"):
                log(f"steady_point ({mode})")
                result[f"steady_point_{mode}"] = pgbench(reader_url, POINT_SCRIPT, args.clients,
                                                         args.seconds, args.rows, mode)
            log("steady_day")
            result["steady_day"] = pgbench(reader_url, DAY_SCRIPT, args.clients,
                                           args.seconds, args.rows)
        log("switch")
        result["switch"] = switch(url, args.clients, args.rows)
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
    print(json.dumps(result, indent=2))
    return 0 if result["switch"]["mixed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

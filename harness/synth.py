"""Deterministic synthetic listings with planted band effects: ``python -m harness.synth``.

Everything is generated inside PostgreSQL (generate_series), so a million listings load without
passing through Python. Randomness is ``hashint8extended(row, seed * 64 + column)`` mapped to
[0, 1): a pure function of (seed, row, column), so the same arguments give the same data on
every server and session, unlike random().

Planted truth: a listing is slow (sells after >= 504 h) with probability
``sigmoid(BASE_LOGIT + sum of PLANTED_LOG_ODDS[band][value] + PRESENT_SLOPE * (score - 1))``
where the band values come from the one banding definition ``ml.woe_anchor_bands_v1`` with the
default dsold thresholds, and ``score`` is the presentation score (listings with assets only).
Features are drawn independently, so the fitted WOE of each band must reproduce the order of
its planted log-odds (tests check this); ``present`` has no table: its effect falls with the
presentation score, so the planted order is present_hi < present_mid < present_lo.

Shape: about 70% of listings have assets, each feature is NULL for 2-30% of rows, t0 spans
2024 (UTC) and outcomes are observed until 2025-01-01 00:00 UTC: a sale after that is not yet
known (the listing is 'live', sold_time NULL). About 25% of the sold listings are slow; 5% of
listings never sell (removed, inactive or live).

Re-running is safe: without ``--replace`` the command refuses to touch tables that already hold
rows (prints why and exits 0, nothing duplicated); with ``--replace`` it truncates the three
source tables first, in the same transaction as the load.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import psycopg
from psycopg import sql

from harness import cli, db
from harness.cli import BadInput

BASE_LOGIT = -2.5
PRESENT_SLOPE = -1.5
DEFAULT_DSOLD_THRESHOLDS = (-0.15, -0.05, 0.05, 0.15)
PLANTED_LOG_ODDS: dict[str, dict[str, float]] = {
    "dsold": {"dSold_cheap": -0.9, "dSold_under": -0.45, "dSold_fair": 0.0,
              "dSold_over": 0.45, "dSold_overpriced": 0.9, "dSold_missing": 1.3},
    "trust": {"HIGH": -0.7, "MED": -0.2, "LOW": 0.3},
    "ship": {"shipping_ok": -0.3, "ship_unknown": 0.1, "pickup_heavy": 0.5},
    "sale": {"bids": -0.6, "obo": -0.2, "sale_unspec": 0.2, "firm": 0.6},
    "cond": {"cond_hi": -0.5, "cond_mid": 0.0, "cond_lo": 0.5, "cond_missing": 0.9},
    "dmg": {"dmg_0": -0.4, "dmg_1": 0.0, "dmg_2": 0.4, "dmg_3p": 0.8, "dmg_missing": 1.2},
    "bat": {"bat_hi": -0.4, "bat_mid": 0.0, "bat_lo": 0.4, "bat_missing": 0.8},
    "vdmg": {"vdmg_missing": -0.8, "vdmg_0": -0.4, "vdmg_1": 0.0, "vdmg_2": 0.4, "vdmg_3p": 0.8},
    "acc": {"acc_hi": -0.5, "acc_mid": 0.0, "acc_lo": 0.5},
}
PLANTED_PRESENT_ORDER = ("present_hi", "present_mid", "present_lo")  # increasing log-odds

SOURCE_TABLES = ("listing_outcomes", "listing_vision_features", "listing_snapshots_t0")


@dataclass(frozen=True)
class SynthResult:
    status: str  # "loaded" or "skipped"
    snapshots: int
    vision_rows: int
    outcomes: int
    seconds: float


_SERIES_ROW = sql.SQL("g.g")


def _u(col: int, row: sql.Composable = _SERIES_ROW) -> sql.Composable:
    """Uniform [0, 1) for (seed, row, column col), from the server's 64-bit integer hash."""
    return sql.SQL(
        "((hashint8extended({row}, %(seed)s * 64 + {col}) & 4503599627370495)::float8"
        " / 4503599627370496.0::float8)"
    ).format(row=row, col=sql.Literal(col))


def _nullable(col: int, null_rate: float, value: sql.Composable) -> sql.Composable:
    return sql.SQL("CASE WHEN {u} < {rate} THEN NULL ELSE {value} END").format(
        u=_u(col), rate=sql.Literal(null_rate), value=value
    )


def _flag(col: int, null_rate: float, p_one: float) -> sql.Composable:
    return _nullable(col, null_rate, sql.SQL("({u} < {p})::integer::smallint").format(
        u=_u(col + 32), p=sql.Literal(p_one)))


def _snapshots_sql() -> sql.Composed:
    return sql.SQL(
        """
INSERT INTO src.listing_snapshots_t0 (
    generation, listing_id, t0, delta_vs_sold_median_30d, condition_score, damage_severity_ai,
    battery_pct_effective, seller_rating, review_count, member_since_year, ai_ship_can,
    ai_ship_pickup, ai_pickup_only_bin, ai_sale_mode_firm, ai_sale_mode_bids, ai_sale_mode_obo)
SELECT 1,
       g.g,
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + floor({u_t0} * 31536000) * INTERVAL '1 second',
       {dsold}, {cond}, {dmg}, {bat}, {rating}, {reviews}, {member}, {ship_can},
       {ship_pickup}, {pickup_only}, {firm}, {bids}, {obo}
FROM generate_series(1::bigint, %(rows)s::bigint) AS g(g)
"""
    ).format(
        u_t0=_u(1),
        dsold=_nullable(2, 0.10, sql.SQL("round((-0.35 + 0.7 * {u})::numeric, 4)::float8")
                        .format(u=_u(34))),
        cond=_nullable(3, 0.15, sql.SQL("round({u}::numeric, 3)::float8").format(u=_u(35))),
        dmg=_nullable(4, 0.20, sql.SQL("4.0 * {u} * {u}").format(u=_u(36))),
        bat=_nullable(5, 0.30, sql.SQL("round((75 + 25 * {u})::numeric, 1)::float8")
                      .format(u=_u(37))),
        rating=_nullable(6, 0.05, sql.SQL("round((8 + 2 * {u})::numeric, 2)::float8")
                         .format(u=_u(38))),
        reviews=_nullable(7, 0.08, sql.SQL("floor(200 * {u} * {u})::integer").format(u=_u(39))),
        member=_nullable(8, 0.12, sql.SQL("2008 + floor(17 * {u})::integer").format(u=_u(40))),
        ship_can=_flag(9, 0.10, 0.6),
        ship_pickup=_flag(10, 0.05, 0.1),
        pickup_only=_flag(11, 0.05, 0.15),
        firm=_flag(12, 0.03, 0.3),
        bids=_flag(13, 0.03, 0.2),
        obo=_flag(14, 0.03, 0.4),
    )


def _vision_sql() -> sql.Composed:
    return sql.SQL(
        """
INSERT INTO src.listing_vision_features (
    generation, listing_id, image_count, caption_share, stock_photo_share, photo_quality_avg,
    bg_clean_avg, dmg_band_hq_struct, charger_bundle_level, box_present, receipt_present)
SELECT 1, g.g,
       CASE WHEN {u_ic} < 0.07 THEN 0 ELSE 1 + floor(12 * {u_n})::integer END,
       {caption}, {stock}, {quality}, {bg}, {vdmg}, {charger}, {box}, {receipt}
FROM generate_series(1::bigint, %(rows)s::bigint) AS g(g)
WHERE {u_has} < 0.77
"""
    ).format(
        u_has=_u(15),
        u_ic=_u(16),
        u_n=_u(48),
        caption=_nullable(17, 0.15, _u(49)),
        stock=_nullable(18, 0.10, sql.SQL("{u} * {u}").format(u=_u(50))),
        quality=_nullable(19, 0.10, _u(51)),
        bg=_nullable(20, 0.10, _u(52)),
        vdmg=_nullable(21, 0.10, sql.SQL("4.0 * {u} * {u}").format(u=_u(53))),
        charger=_nullable(22, 0.10, sql.SQL("floor(3 * {u})::integer").format(u=_u(54))),
        box=_nullable(23, 0.10, sql.SQL("{u} < 0.5").format(u=_u(55))),
        receipt=_nullable(24, 0.20, sql.SQL("{u} < 0.3").format(u=_u(56))),
    )


def _float8(value: float) -> sql.Composed:
    """A float8 constant: the planted logit is float8 arithmetic (a bare literal is numeric,
    and numeric exp() over a million rows cost most of the outcomes' load time)."""
    return sql.SQL("{}::float8").format(sql.Literal(value))


def _effect(band: str) -> sql.Composed:
    """CASE b.<band> WHEN value THEN log-odds ... ELSE 0 END, from PLANTED_LOG_ODDS."""
    whens = sql.SQL(" ").join(
        sql.SQL("WHEN {v} THEN {e}").format(v=sql.Literal(v), e=_float8(e))
        for v, e in PLANTED_LOG_ODDS[band].items()
    )
    return sql.SQL("CASE (b.bs).{band} {whens} ELSE 0.0::float8 END").format(
        band=sql.Identifier(band), whens=whens)


def _outcomes_sql() -> sql.Composed:
    """Outcomes from the planted log-odds of each listing's bands (one banding definition).

    Written in key order, as the other two tables are (generate_series), whatever join plan
    the load gets: sources appended in time order are stored that way, and the trainer reads
    ordered sources with ordered merge joins (harness.train_sql.SOURCES_IN_KEY_ORDER).
    """
    row = sql.SQL("s.listing_id")  # the row number the other two tables were drawn with
    logit = sql.SQL(" + ").join(
        [_float8(BASE_LOGIT)]
        + [_effect(band) for band in PLANTED_LOG_ODDS]
        + [sql.SQL("coalesce({slope} * ((b.bs).presentation_score - 1.0::float8), 0.0::float8)")
           .format(slope=_float8(PRESENT_SLOPE))]
    )
    return sql.SQL(
        """
INSERT INTO src.listing_outcomes (generation, listing_id, t0, final_status, sold_time)
SELECT d.generation, d.listing_id, d.t0,
       CASE WHEN d.sale_time <= {observed_until} THEN 'sold'
            WHEN d.u_status < 0.03 THEN 'removed'
            WHEN d.u_status < 0.05 THEN 'inactive'
            ELSE 'live' END,
       CASE WHEN d.sale_time <= {observed_until} THEN d.sale_time END
FROM (
SELECT b.generation, b.listing_id, b.t0, b.u_status,
       CASE WHEN b.u_status < 0.05 THEN NULL
            WHEN b.u_slow < 1.0::float8 / (1.0::float8 + exp(-({logit})))
                THEN b.t0 + (504 + floor(600 * b.u_dur)) * INTERVAL '1 hour'
            ELSE b.t0 + (1 + floor(502 * 60 * b.u_dur)) * INTERVAL '1 minute'
       END AS sale_time
FROM (
    SELECT s.generation, s.listing_id, s.t0,
           {u_status} AS u_status, {u_slow} AS u_slow, {u_dur} AS u_dur,
           ml.woe_anchor_bands_v1(
               s.t0, s.delta_vs_sold_median_30d, s.condition_score, s.damage_severity_ai,
               s.battery_pct_effective, s.seller_rating, s.review_count, s.member_since_year,
               s.ai_ship_can, s.ai_ship_pickup, s.ai_pickup_only_bin, s.ai_sale_mode_firm,
               s.ai_sale_mode_bids, s.ai_sale_mode_obo, v.image_count, v.caption_share,
               v.stock_photo_share, v.photo_quality_avg, v.bg_clean_avg, v.dmg_band_hq_struct,
               v.charger_bundle_level, v.box_present, v.receipt_present,
               {t1}, {t2}, {t3}, {t4}, NULL, NULL) AS bs
    FROM src.listing_snapshots_t0 AS s
    LEFT JOIN src.listing_vision_features AS v
      ON v.generation = s.generation AND v.listing_id = s.listing_id
) AS b
) AS d
ORDER BY d.generation, d.listing_id, d.t0
"""
    ).format(
        logit=logit,
        observed_until=sql.SQL("TIMESTAMPTZ '2025-01-01 00:00:00+00'"),
        u_status=_u(25, row), u_slow=_u(26, row), u_dur=_u(27, row),
        t1=sql.Literal(DEFAULT_DSOLD_THRESHOLDS[0]), t2=sql.Literal(DEFAULT_DSOLD_THRESHOLDS[1]),
        t3=sql.Literal(DEFAULT_DSOLD_THRESHOLDS[2]), t4=sql.Literal(DEFAULT_DSOLD_THRESHOLDS[3]),
    )


def _count(conn: psycopg.Connection, table: str) -> int:
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("src", table))
    return conn.execute(query).fetchone()[0]


# A bulk load as PostgreSQL's "Populating a Database" advises: the source tables' primary and
# foreign keys are dropped for the load and added back after it. A primary key is then built
# from one sort instead of a million single inserts, and the foreign key checks every row in one
# join instead of one locking lookup per row (together about half of the load time). The
# definitions are read from the catalog, so the constraints come back exactly as the migration
# made them (same names, same indexes), in the load's transaction: nothing is ever visible
# without them.
_KEY_CONSTRAINTS = """
SELECT t.relname, c.conname, pg_catalog.pg_get_constraintdef(c.oid)
FROM pg_catalog.pg_constraint AS c
JOIN pg_catalog.pg_class AS t ON t.oid = c.conrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = t.relnamespace
WHERE n.nspname = 'src' AND t.relname = ANY(%s) AND c.contype IN ('p', 'f')
ORDER BY c.contype = 'p', t.relname, c.conname
"""


def _drop_keys(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """Drop the source tables' keys, foreign keys first; returns them in that order."""
    keys = conn.execute(_KEY_CONSTRAINTS, (list(SOURCE_TABLES),)).fetchall()
    for table, name, _definition in keys:
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            sql.Identifier("src", table), sql.Identifier(name)))
    return keys


def _restore_keys(conn: psycopg.Connection, keys: list[tuple[str, str, str]]) -> None:
    """Add the keys back, primary keys first (the foreign keys reference them)."""
    for table, name, definition in reversed(keys):
        conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
            sql.Identifier("src", table), sql.Identifier(name), sql.SQL(definition)))


def fill(conn: psycopg.Connection, rows: int, seed: int, *, replace: bool = False,
         log: Callable[[str], None] = lambda _message: None) -> SynthResult:
    """Load ``rows`` synthetic listings in one transaction; see the module docstring.

    ``log`` receives a line after each table, so long loads show progress.
    """
    if rows < 1:
        raise BadInput(f"--rows must be >= 1, got {rows}")
    if not 0 <= seed < 2**40:
        raise BadInput(f"--seed must be in [0, 2^40), got {seed}")
    started = time.perf_counter()
    params = {"rows": rows, "seed": seed}
    with conn.transaction():
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        existing = {t: _count(conn, t) for t in SOURCE_TABLES}
        if any(existing.values()) and not replace:
            return SynthResult("skipped", existing["listing_snapshots_t0"],
                               existing["listing_vision_features"], existing["listing_outcomes"],
                               time.perf_counter() - started)
        if replace:
            conn.execute(sql.SQL("TRUNCATE {}").format(
                sql.SQL(", ").join(sql.Identifier("src", t) for t in SOURCE_TABLES)))
        keys = _drop_keys(conn)
        n_snap = conn.execute(_snapshots_sql(), params).rowcount
        log(f"[synth] {n_snap:,} snapshots ({time.perf_counter() - started:.1f}s)")
        n_vis = conn.execute(_vision_sql(), params).rowcount
        log(f"[synth] {n_vis:,} vision rows ({time.perf_counter() - started:.1f}s)")
        n_out = conn.execute(_outcomes_sql(), params).rowcount
        log(f"[synth] {n_out:,} outcomes ({time.perf_counter() - started:.1f}s)")
        _restore_keys(conn, keys)
    for table in SOURCE_TABLES:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier("src", table)))
    conn.commit()
    return SynthResult("loaded", n_snap, n_vis, n_out, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.synth",
        description="Fill the source contract (src.*) with deterministic synthetic listings "
        "whose slow21 log-odds are planted per band value. Without --replace, existing data is "
        "left alone (exit 0, nothing duplicated).",
    )
    parser.add_argument("--rows", type=int, required=True, help="number of listings")
    parser.add_argument("--seed", type=int, default=0, help="seed of the hash-based generator")
    parser.add_argument("--replace", action="store_true",
                        help="truncate src.listing_* first (same transaction as the load)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    db.add_database_url_argument(parser)
    args = parser.parse_args(argv)
    return cli.finish("synth", lambda: _main(args))


def _main(args: argparse.Namespace) -> int:
    with db.connect(db.resolve(args.database_url).url) as conn:
        result = fill(conn, args.rows, args.seed, replace=args.replace,
                      log=lambda m: print(m, file=sys.stderr, flush=True))
    if result.status == "skipped":
        print(f"[synth] source tables already hold {result.snapshots} listings; nothing loaded "
              "(use --replace to regenerate)", file=sys.stderr)
    else:
        print(f"[synth] loaded {result.snapshots} listings ({result.vision_rows} vision rows) "
              f"in {result.seconds:.1f}s", file=sys.stderr)
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        print(f"{result.status}: snapshots={result.snapshots} vision_rows={result.vision_rows} "
              f"outcomes={result.outcomes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

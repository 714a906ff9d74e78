"""Test data independent of the trainer: source rows generated in SQL and hand-made packages.

Certification, live-scoring and hardening tests need a package whose every WOE is known in
advance (final map rows for all 44 band values of the ten groups, registry with base rate and
thresholds, one final cuts row), so they can compute expected scores by hand and stay
independent of the trainer's own correctness, which tests/test_train*.py prove separately.
"""

from __future__ import annotations

import hashlib
import math

import psycopg

BAND_VALUES: dict[str, tuple[str, ...]] = {
    "dsold": ("dSold_missing", "dSold_cheap", "dSold_under", "dSold_fair", "dSold_over",
              "dSold_overpriced"),
    "trust": ("HIGH", "MED", "LOW"),
    "ship": ("pickup_heavy", "shipping_ok", "ship_unknown"),
    "sale": ("firm", "bids", "obo", "sale_unspec"),
    "cond": ("cond_missing", "cond_hi", "cond_mid", "cond_lo"),
    "dmg": ("dmg_missing", "dmg_0", "dmg_1", "dmg_2", "dmg_3p"),
    "bat": ("bat_missing", "bat_hi", "bat_mid", "bat_lo"),
    "present": ("present_lo", "present_mid", "present_hi"),
    "vdmg": ("vdmg_missing", "vdmg_0", "vdmg_1", "vdmg_2", "vdmg_3p"),
    "acc": ("acc_lo", "acc_mid", "acc_hi"),
}
BAND_ORDER = tuple(BAND_VALUES)  # the order ml.woe_anchor_logit_v1 sums in

# Deterministic pseudo-random features from the listing id; every value passes the CHECKs.
SOURCE_SQL = """
INSERT INTO src.listing_snapshots_t0
SELECT 1, g,
       %(end_ts)s::timestamptz - (g %% %(days)s) * interval '1 day'
           - ((g * 7919) %% 86000) * interval '1 second',
       CASE WHEN g %% 11 = 0 THEN NULL ELSE ((g * 37) %% 61 - 30) / 100.0 END,
       CASE WHEN g %% 13 = 0 THEN NULL ELSE ((g * 53) %% 101) / 100.0 END,
       CASE WHEN g %% 7 = 0 THEN NULL ELSE ((g * 17) %% 40) / 10.0 END,
       CASE WHEN g %% 9 = 0 THEN NULL ELSE 70 + (g * 29) %% 31 END,
       ((g * 31) %% 101) / 10.0,
       (g * 13) %% 120,
       CASE WHEN g %% 5 = 0 THEN NULL ELSE 2010 + g %% 16 END,
       (g %% 2)::smallint, (g / 2 %% 2)::smallint, (g / 3 %% 5 = 0)::int::smallint,
       (g / 5 %% 3 = 0)::int::smallint, (g / 7 %% 3 = 0)::int::smallint,
       (g / 11 %% 2)::smallint
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
"""
VISION_SQL = """
INSERT INTO src.listing_vision_features
SELECT 1, g, g %% 8, ((g * 3) %% 11) / 10.0, ((g * 5) %% 11) / 10.0, ((g * 7) %% 11) / 10.0,
       ((g * 9) %% 11) / 10.0,
       CASE WHEN g %% 4 = 0 THEN NULL ELSE ((g * 19) %% 40) / 10.0 END,
       g %% 3, g %% 2 = 0, g %% 5 = 0
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
WHERE g %% 3 <> 0
"""


def insert_source(conn: psycopg.Connection, n: int, *, days: int = 20, first: int = 1,
                  end_ts: str = "2026-01-10 23:00:00+00") -> None:
    """n listings spread over `days` UTC days ending at end_ts."""
    params = {"first": first, "last": first + n - 1, "days": days, "end_ts": end_ts}
    conn.execute(SOURCE_SQL, params)
    conn.execute(VISION_SQL, params)


def woe_value(model_key: str, band: str, value: str) -> float:
    """A reproducible WOE per band value (different for every package)."""
    digest = hashlib.sha256(f"{model_key}/{band}/{value}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") / 2**64 - 0.5) * 1.7


def insert_package(conn: psycopg.Connection, model_key: str, *, activate: bool = True,
                   base_rate: float = 0.37,
                   band_values: dict[str, tuple[str, ...]] = BAND_VALUES) -> None:
    """A package in the caller's transaction (complete unless band_values says otherwise: its
    final map rows); activation moves the pointer to it."""
    conn.execute(
        """
        INSERT INTO ml.woe_anchor_model_registry_v1
            (model_key, train_cutoff_ts, half_life_days, eps, n_folds, band_schema_version,
             code_sha256, base_rate, base_logit, dsold_t1, dsold_t2, dsold_t3, dsold_t4)
        VALUES (%s, '2026-01-01 00:00+00', 90, 0.5, 5, 1, %s, %s, %s, -0.15, -0.05, 0.05, 0.15)
        """,
        (model_key, hashlib.sha256(model_key.encode()).hexdigest(), base_rate,
         math.log(base_rate / (1 - base_rate))),
    )
    conn.execute("INSERT INTO ml.woe_anchor_cuts_v1 (model_key, fold_id, c1, c2) "
                 "VALUES (%s, NULL, 0.75, 1.05)", (model_key,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ml.woe_anchor_map_v1 (model_key, fold_id, band_name, band_value, woe, "
            "sum_w_pos, sum_w_neg, n_rows) VALUES (%s, NULL, %s, %s, %s, 1, 1, 10)",
            [(model_key, b, v, woe_value(model_key, b, v))
             for b, values in band_values.items() for v in values],
        )
    if activate:
        conn.execute("UPDATE ml.woe_anchor_model_registry_v1 SET is_active = false "
                     "WHERE is_active AND model_key <> %s", (model_key,))
        conn.execute("UPDATE ml.woe_anchor_model_registry_v1 SET is_active = true "
                     "WHERE model_key = %s", (model_key,))


def certified_database(make_database, n_listings: int) -> str:
    """A fresh database at head with n listings and package pkg_a, baselined and certified."""
    from harness import certify

    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        insert_source(c, n_listings)
        insert_package(c, "pkg_a")
    certify.baseline(url)
    results = certify.run(url)
    assert [r.status for r in results] == ["CERTIFIED", "CERTIFIED"], [r.as_json() for r in results]
    return url

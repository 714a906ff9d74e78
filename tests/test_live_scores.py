"""Live scoring semantics the consumer relies on, whatever the view's plan looks like.

The scores view looks WOE values up in the active package's final map (0025 aggregates the map
once per query). These tests pin what that lookup must keep from the ten LEFT JOINs it
replaced: a band value the map does not know, or a NULL band, adds exactly 0, only the final
map (fold_id NULL) counts, and a package missing any part of its definition scores nothing.
"""

from __future__ import annotations

import hashlib
import math

import psycopg
import pytest

from tests.packages import BAND_ORDER, BAND_VALUES, insert_source, woe_value

SCORES = "ml.woe_anchor_scores_live_v1"
ENTRYPOINT = "ml.woe_anchor_feature_store_t0_v1_v"


@pytest.fixture
def url(make_database) -> str:
    """A database at head with 300 listings (about a third without vision rows)."""
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        insert_source(c, 300)
    return url


def insert_partial_package(conn: psycopg.Connection, model_key: str, *, base_logit: float | None,
                           thresholds: bool, final_cuts: bool,
                           final_map: dict[str, tuple[str, ...]], fold_map: bool) -> None:
    """One package, activated, with only the parts asked for (all in the caller's transaction)."""
    t = (-0.15, -0.05, 0.05, 0.15) if thresholds else (None,) * 4
    conn.execute(
        "INSERT INTO ml.woe_anchor_model_registry_v1 (model_key, train_cutoff_ts, half_life_days,"
        " eps, n_folds, band_schema_version, code_sha256, base_rate, base_logit, dsold_t1,"
        " dsold_t2, dsold_t3, dsold_t4) VALUES (%s, '2026-01-01 00:00+00', 90, 0.5, 5, 1, %s,"
        " NULL, %s, %s, %s, %s, %s)",
        (model_key, hashlib.sha256(model_key.encode()).hexdigest(), base_logit, *t))
    if final_cuts:
        conn.execute("INSERT INTO ml.woe_anchor_cuts_v1 (model_key, fold_id, c1, c2) "
                     "VALUES (%s, NULL, 0.75, 1.05)", (model_key,))
    conn.execute("INSERT INTO ml.woe_anchor_cuts_v1 (model_key, fold_id, c1, c2) "
                 "VALUES (%s, 0, 0.7, 1.0)", (model_key,))
    rows = [(model_key, None, b, v, woe_value(model_key, b, v))
            for b, values in final_map.items() for v in values]
    if fold_map:  # fold rows for every value: they must never be used by live scoring
        rows += [(model_key, 0, b, v, 100.0) for b, values in BAND_VALUES.items() for v in values]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO ml.woe_anchor_map_v1 (model_key, fold_id, band_name, "
                        "band_value, woe) VALUES (%s, %s, %s, %s, %s)", rows)
    conn.execute("UPDATE ml.woe_anchor_model_registry_v1 SET is_active = (model_key = %s)",
                 (model_key,))


def test_unknown_and_null_band_values_add_zero_and_fold_maps_are_ignored(url):
    # Every other value of each band is missing from the final map; fold 0 knows them all.
    known = {b: values[::2] for b, values in BAND_VALUES.items()}
    with psycopg.connect(url) as c:
        insert_partial_package(c, "half_map", base_logit=-0.4, thresholds=True, final_cuts=True,
                               final_map=known, fold_map=True)
        c.commit()
        rows = c.execute(
            "SELECT " + ", ".join(f"b.{n}" for n in BAND_ORDER) + ", s.woe_logit, "
            "s.woe_anchor_p_slow21 FROM ml.v_woe_anchor_bands_live_v1 AS b "
            f"JOIN {SCORES} AS s USING (generation, listing_id, t0)").fetchall()
    assert len(rows) == 300
    seen = {"null": 0, "unknown": 0}
    for row in rows:
        logit = -0.4
        for name, value in zip(BAND_ORDER, row[:10], strict=True):
            if value is None:
                seen["null"] += 1
            elif value not in known[name]:
                seen["unknown"] += 1
            logit += woe_value("half_map", name, value) if value in known[name] else 0.0
        assert row[10] == pytest.approx(logit, abs=1e-12)
        assert row[11] == pytest.approx(1.0 / (1.0 + math.exp(-logit)), abs=1e-12)
    assert seen["null"] and seen["unknown"]  # both cases were exercised


COMPLETE = {"base_logit": -0.4, "thresholds": True, "final_cuts": True,
            "final_map": BAND_VALUES, "fold_map": True}


@pytest.mark.parametrize("missing", [
    {"base_logit": None},
    {"thresholds": False},
    {"final_cuts": False},
    {"final_map": {}},
])
def test_a_package_missing_part_of_its_definition_scores_nothing(url, missing):
    with psycopg.connect(url) as c:
        insert_partial_package(c, "partial", **{**COMPLETE, **missing})
        c.commit()
        for view in (SCORES, ENTRYPOINT):
            assert c.execute(f"SELECT count(*) FROM {view}").fetchone()[0] == 0


def test_the_complete_package_scores_every_listing(url):
    """The positive control of the test above: same helper, nothing missing."""
    with psycopg.connect(url) as c:
        insert_partial_package(c, "complete", **COMPLETE)
        c.commit()
        for view in (SCORES, ENTRYPOINT):
            assert c.execute(f"SELECT count(*) FROM {view}").fetchone()[0] == 300

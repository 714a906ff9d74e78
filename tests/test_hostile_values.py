"""Hostile values through loading, training and scoring (hypothesis).

Rows with extreme feature values (huge, tiny, negative, NaN, +/-Infinity, NULL everywhere,
empty or unknown final_status) are loaded next to a normal synthetic base. Each row is either
refused by the source contract with an error that names the column, or accepted; a fit on what
was accepted either refuses with a TrainError or persists a package, and then every persisted
number and every live score is finite (p within [0, 1]): NaN or Infinity never reaches a table.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import synth, train

FLOATS = st.one_of(
    st.none(), st.just(0.0), st.just(-0.0), st.just(5e-324), st.just(-5e-324),
    st.just(1e308), st.just(-1e308), st.just(math.nan), st.just(math.inf), st.just(-math.inf),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.floats(min_value=0, max_value=1), st.floats(min_value=0, max_value=100),
)
INTS = st.one_of(st.none(), st.integers(-2**31, 2**31 - 1), st.integers(-5, 200))
FLAGS = st.one_of(st.none(), st.integers(-3, 3))
STATUS = st.one_of(st.none(), st.sampled_from(["", " ", "sold", "SOLD", "live", "older21days",
                                               "inactive", "removed", "sold;--", "sölđ"]))
ROW = st.fixed_dictionaries({
    "snapshot": st.tuples(FLOATS, FLOATS, FLOATS, FLOATS, FLOATS, INTS, INTS,
                          FLAGS, FLAGS, FLAGS, FLAGS, FLAGS, FLAGS),
    "vision": st.one_of(st.none(), st.tuples(INTS, FLOATS, FLOATS, FLOATS, FLOATS, FLOATS,
                                             INTS, st.one_of(st.none(), st.booleans()),
                                             st.one_of(st.none(), st.booleans()))),
    "status": STATUS,
    "hours": st.one_of(st.none(), st.floats(min_value=-10, max_value=5000)),
})
T0 = datetime(2024, 11, 20, 12, tzinfo=UTC)
# Errors the source contract answers hostile values with; each names the offending column.
CLEAR = (psycopg.errors.CheckViolation, psycopg.errors.NotNullViolation,
         psycopg.errors.NumericValueOutOfRange)
FINITE_SQL = """
SELECT
  (SELECT count(*) FROM ml.woe_anchor_model_registry_v1 WHERE model_key = %(k)s
     AND NOT (base_rate > 0 AND base_rate < 1 AND base_logit > '-Infinity'::float8
              AND base_logit < 'Infinity'::float8)),
  (SELECT count(*) FROM ml.woe_anchor_cuts_v1 WHERE model_key = %(k)s
     AND NOT (c1 > '-Infinity'::float8 AND c2 < 'Infinity'::float8)),
  (SELECT count(*) FROM ml.woe_anchor_map_v1 WHERE model_key = %(k)s
     AND NOT (woe > '-Infinity'::float8 AND woe < 'Infinity'::float8)),
  (SELECT count(*) FROM ml.woe_anchor_scores_v1 WHERE model_key = %(k)s
     AND NOT (woe_logit > '-Infinity'::float8 AND woe_logit < 'Infinity'::float8
              AND woe_p BETWEEN 0 AND 1)),
  (SELECT count(*) FROM ml.woe_anchor_scores_live_v1 WHERE model_key = %(k)s
     AND NOT (woe_logit > '-Infinity'::float8 AND woe_logit < 'Infinity'::float8
              AND woe_anchor_p_slow21 BETWEEN 0 AND 1)),
  (SELECT count(*) FROM ml.woe_anchor_scores_live_v1 WHERE model_key = %(k)s)
"""


@pytest.fixture(scope="module")
def base_url(make_database) -> str:
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        synth.fill(c, 400, seed=17)
    return url


def load_row(conn: psycopg.Connection, listing_id: int, row: dict) -> str | None:
    """Insert one hostile listing (generation 2); None if accepted, else the error text."""
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO src.listing_snapshots_t0 VALUES (2, %s, %s, %s, %s, %s, %s, %s, %s, "
                "%s, %s, %s, %s, %s, %s, %s)", (listing_id, T0, *row["snapshot"]))
            if row["vision"] is not None:
                conn.execute("INSERT INTO src.listing_vision_features VALUES "
                             "(2, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                             (listing_id, *row["vision"]))
            sold = None if row["hours"] is None else T0 + timedelta(hours=row["hours"])
            conn.execute("INSERT INTO src.listing_outcomes (generation, listing_id, t0, "
                         "final_status, sold_time) VALUES (2, %s, %s, %s, %s)",
                         (listing_id, T0, row["status"], sold))
    except CLEAR as e:
        column = e.diag.column_name or e.diag.constraint_name or ""
        assert column, f"error names no column: {e}"
        return str(e)
    return None


keys = itertools.count()


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=12))
def test_hostile_rows_are_refused_clearly_or_scored_finitely(base_url, rows):
    with psycopg.connect(base_url) as conn:
        try:
            for i, row in enumerate(rows):
                load_row(conn, i + 1, row)
            conn.commit()
            key = f"hostile_{next(keys)}"
            try:
                train.fit(conn, train.FitOptions(n_folds=3, model_key=key), log=lambda _m: None)
            except train.TrainError:
                return  # a clear refusal; nothing persisted
            bad = conn.execute(FINITE_SQL, {"k": key}).fetchone()
            assert bad[:5] == (0, 0, 0, 0, 0), bad
            assert bad[5] > 0  # the live view scores the listings under the new package
        finally:
            conn.rollback()
            conn.execute("DELETE FROM src.listing_snapshots_t0 WHERE generation = 2")
            conn.commit()

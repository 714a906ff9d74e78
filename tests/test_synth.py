"""harness.synth: deterministic, idempotent-safe, and shaped as documented."""

from __future__ import annotations

import psycopg
import pytest

from harness import synth

FINGERPRINT = """
SELECT md5(string_agg(s::text || coalesce(v::text, '') || o::text, '|'
                      ORDER BY s.listing_id))
FROM src.listing_snapshots_t0 AS s
JOIN src.listing_outcomes AS o USING (generation, listing_id, t0)
LEFT JOIN src.listing_vision_features AS v USING (generation, listing_id)
"""


@pytest.fixture(scope="module")
def url(make_database) -> str:
    return make_database(migrate_to="head")


def fingerprint(conn) -> str:
    conn.execute("SET TimeZone = 'UTC'")
    value = conn.execute(FINGERPRINT).fetchone()[0]
    conn.rollback()
    return value


def test_same_seed_same_data_and_rerun_does_not_duplicate(url):
    with psycopg.connect(url) as conn:
        first = synth.fill(conn, 3000, seed=9, replace=True)
        fp = fingerprint(conn)
        again = synth.fill(conn, 3000, seed=9)
        assert again.status == "skipped" and again.snapshots == first.snapshots == 3000
        assert fingerprint(conn) == fp
        synth.fill(conn, 3000, seed=10, replace=True)
        assert fingerprint(conn) != fp
        synth.fill(conn, 3000, seed=9, replace=True)
        assert fingerprint(conn) == fp


def test_shape_matches_the_documentation(url):
    with psycopg.connect(url) as conn:
        synth.fill(conn, 20000, seed=1, replace=True)
        assets, slow, t0_min, t0_max = conn.execute(
            """
            SELECT avg((coalesce(v.image_count, 0) > 0)::int),
                   avg((o.duration_hours >= 504)::int) FILTER (WHERE o.sold_time IS NOT NULL),
                   min(s.t0), max(s.t0)
            FROM src.listing_snapshots_t0 AS s
            JOIN src.listing_outcomes AS o USING (generation, listing_id, t0)
            LEFT JOIN src.listing_vision_features AS v USING (generation, listing_id)
            """).fetchone()
        assert 0.65 < assets < 0.75
        assert 0.20 < slow < 0.30
        assert (t0_max - t0_min).days >= 360
        null_rates = conn.execute(
            """
            SELECT avg((delta_vs_sold_median_30d IS NULL)::int), avg((condition_score IS NULL)::int),
                   avg((damage_severity_ai IS NULL)::int), avg((battery_pct_effective IS NULL)::int),
                   avg((seller_rating IS NULL)::int), avg((review_count IS NULL)::int),
                   avg((member_since_year IS NULL)::int), avg((ai_ship_can IS NULL)::int),
                   avg((ai_sale_mode_obo IS NULL)::int)
            FROM src.listing_snapshots_t0
            """).fetchone()
        conn.rollback()
        assert all(0.02 <= rate <= 0.30 for rate in null_rates), null_rates


def test_cli_refuses_bad_rows(url):
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, "-m", "harness.synth", "--rows", "0",
                           "--database-url", url], check=False, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "--rows must be >= 1" in done.stderr


KEYS = """
SELECT t.relname, c.conname, c.contype, pg_get_constraintdef(c.oid),
       (SELECT pg_get_indexdef(c.conindid) WHERE c.contype = 'p')
FROM pg_constraint AS c
JOIN pg_class AS t ON t.oid = c.conrelid
WHERE t.relnamespace = 'src'::regnamespace
ORDER BY 1, 2
"""


def test_load_puts_the_source_keys_back_as_migrated(make_database, monkeypatch):
    """The loader drops the keys for speed; they come back identical, and a load failing
    after the drop leaves the tables, their rows and their keys as they were."""
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as conn:
        migrated = conn.execute(KEYS).fetchall()
        conn.rollback()
        assert [(t, k) for t, _n, k, _d, _i in migrated if k in "pf"] == [
            ("listing_outcomes", "p"), ("listing_outcomes", "f"),
            ("listing_snapshots_t0", "p"), ("listing_vision_features", "p")]
        synth.fill(conn, 500, seed=3)
        assert conn.execute(KEYS).fetchall() == migrated
        conn.rollback()
        fp = fingerprint(conn)
        monkeypatch.setattr(synth, "_outcomes_sql",
                            lambda: psycopg.sql.SQL("SELECT 1 / 0 WHERE %(rows)s > %(seed)s"))
        with pytest.raises(psycopg.errors.DivisionByZero):
            synth.fill(conn, 700, seed=4, replace=True)
        conn.rollback()
        assert fingerprint(conn) == fp
        assert conn.execute(KEYS).fetchall() == migrated

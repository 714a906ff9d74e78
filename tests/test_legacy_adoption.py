"""A database built by the seed package's raw scripts (before Alembic) adopts the Alembic schema.

The legacy DDL below is what seed 000's sql/00_create_tables.sql produced: fold_id inside the
primary keys (so final rows carried a -1 sentinel) and a registry without the fields of
02_add_registry_fields; the second variant has 01/02 applied. After `alembic upgrade head`
the schema must equal a fresh head and the packages must be carried over.
"""

from __future__ import annotations

import psycopg
import pytest

from harness.schema_snapshot import dump_schema
from tests.conftest import upgrade

SEED_TABLES = """
CREATE SCHEMA ml;
CREATE TABLE ml.woe_anchor_model_registry_v1 (
    model_key text PRIMARY KEY,
    train_cutoff_ts timestamptz NOT NULL,
    half_life_days double precision NOT NULL,
    eps double precision NOT NULL,
    n_folds int NOT NULL,
    band_schema_version int NOT NULL,
    code_sha256 text,
    created_at timestamptz NOT NULL DEFAULT now(),
    is_active boolean NOT NULL DEFAULT false
);
CREATE TABLE ml.woe_anchor_cuts_v1 (
    model_key text NOT NULL REFERENCES ml.woe_anchor_model_registry_v1(model_key),
    fold_id int NOT NULL,
    c1 double precision NOT NULL,
    c2 double precision NOT NULL,
    PRIMARY KEY (model_key, fold_id)
);
CREATE TABLE ml.woe_anchor_map_v1 (
    model_key text NOT NULL REFERENCES ml.woe_anchor_model_registry_v1(model_key),
    fold_id int NOT NULL,
    band_name text NOT NULL,
    band_value text NOT NULL,
    woe double precision NOT NULL,
    PRIMARY KEY (model_key, fold_id, band_name, band_value)
);
CREATE TABLE ml.woe_anchor_scores_v1 (
    model_key text NOT NULL,
    generation int NOT NULL,
    listing_id bigint NOT NULL,
    t0 timestamptz NOT NULL,
    fold_id int NOT NULL,
    is_oof boolean NOT NULL,
    woe_logit double precision NOT NULL,
    woe_p double precision NOT NULL,
    PRIMARY KEY (model_key, fold_id, generation, listing_id, t0)
);
CREATE VIEW ml.v_woe_anchor_bands_live_v1 AS
    SELECT model_key, band_name, band_value FROM ml.woe_anchor_map_v1 WHERE fold_id = -1;
CREATE VIEW ml.woe_anchor_scores_live_v1 AS
    SELECT model_key, count(*) AS n FROM ml.v_woe_anchor_bands_live_v1 GROUP BY model_key;
"""

# seed 000 steps 2 and 3, as a DBA would have applied them by hand
SEED_01_02 = """
ALTER TABLE ml.woe_anchor_cuts_v1 DROP CONSTRAINT woe_anchor_cuts_v1_pkey;
ALTER TABLE ml.woe_anchor_cuts_v1 ALTER COLUMN fold_id DROP NOT NULL;
ALTER TABLE ml.woe_anchor_map_v1 DROP CONSTRAINT woe_anchor_map_v1_pkey;
ALTER TABLE ml.woe_anchor_map_v1 ALTER COLUMN fold_id DROP NOT NULL;
ALTER TABLE ml.woe_anchor_map_v1 ADD COLUMN sum_w_pos double precision;
ALTER TABLE ml.woe_anchor_map_v1 ADD COLUMN sum_w_neg double precision;
ALTER TABLE ml.woe_anchor_model_registry_v1
    ADD COLUMN base_rate double precision, ADD COLUMN base_logit double precision,
    ADD COLUMN dsold_t1 double precision, ADD COLUMN dsold_t2 double precision,
    ADD COLUMN dsold_t3 double precision, ADD COLUMN dsold_t4 double precision;
"""

PACKAGES = """
INSERT INTO ml.woe_anchor_model_registry_v1
    (model_key, train_cutoff_ts, half_life_days, eps, n_folds, band_schema_version,
     created_at, is_active)
VALUES ('old_a', '2025-06-01', 90, 0.5, 5, 1, '2025-06-02', true),
       ('old_b', '2025-07-01', 90, 0.5, 5, 1, '2025-07-02', true),
       ('old_c', '2025-08-01', 60, 0.5, 3, 1, '2025-08-02', false);
INSERT INTO ml.woe_anchor_cuts_v1 VALUES ('old_b', -1, 0.4, 0.6), ('old_b', 0, 0.41, 0.61);
INSERT INTO ml.woe_anchor_map_v1 (model_key, fold_id, band_name, band_value, woe) VALUES
    ('old_b', -1, 'dsold', 'dSold_cheap', -0.3),
    ('old_b', 0, 'dsold', 'dSold_cheap', -0.25);
INSERT INTO ml.woe_anchor_scores_v1 VALUES
    ('old_b', 1, 10, '2025-05-01T00:00:00Z', 2, true, -1.2, 0.2314752165009),
    ('old_b', 1, 11, '2025-05-02T00:00:00Z', 3, true, -0.9, 0.2890504973749);
"""


@pytest.fixture(scope="module")
def fresh_head_schema(make_database) -> str:
    return dump_schema(make_database(migrate_to="head"))


@pytest.mark.parametrize("with_01_02", [False, True], ids=["seed-00-only", "seed-00-01-02"])
def test_seed_database_adopts_the_alembic_schema(make_database, fresh_head_schema, with_01_02):
    url = make_database()
    with psycopg.connect(url) as c:
        c.execute(SEED_TABLES)
        if with_01_02:
            c.execute(SEED_01_02)
        c.execute(PACKAGES)

    upgrade(url)

    assert dump_schema(url) == fresh_head_schema
    with psycopg.connect(url) as c:
        registry = c.execute(
            "SELECT model_key, is_active FROM ml.woe_anchor_model_registry_v1 ORDER BY model_key"
        ).fetchall()
        # the most recently created of the two legacy-active packages stays active
        assert registry == [("old_a", False), ("old_b", True), ("old_c", False)]
        assert c.execute(
            "SELECT fold_id, c1 FROM ml.woe_anchor_cuts_v1 ORDER BY fold_id NULLS FIRST"
        ).fetchall() == [(None, 0.4), (0, 0.41)]
        assert c.execute(
            "SELECT fold_id, woe FROM ml.woe_anchor_map_v1 ORDER BY fold_id NULLS FIRST"
        ).fetchall() == [(None, -0.3), (0, -0.25)]
        assert c.execute("SELECT count(*), min(fold_id) FROM ml.woe_anchor_scores_v1").fetchone() == (2, 2)
        # in their package's partition (0054), which the schema comparison leaves out as data
        assert c.execute(
            "SELECT DISTINCT tableoid::regclass::text = 'ml.' || ml.woe_anchor_scores_partition_v1("
            "model_key) FROM ml.woe_anchor_scores_v1").fetchall() == [(True,)]
        assert c.execute("SELECT to_regnamespace('woe_seed_legacy')").fetchone()[0] is None
        # adopted packages are frozen like any other
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="immutable"):
            c.execute("DELETE FROM ml.woe_anchor_map_v1 WHERE model_key = 'old_b'")

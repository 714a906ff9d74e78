"""Each CHECK constraint rejects a bad row, and the error names the offending column.

Every check constraint of our schemas must have a case here: test_every_check_constraint_is_exercised
fails when a revision adds one without a bad-row case.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

SHA = "a" * 64

# A valid row per table; cases override one column with a bad value.
VALID = {
    "src.listing_snapshots_t0": {"generation": 1, "listing_id": 1, "t0": "2026-01-01T00:00:00Z"},
    "src.listing_vision_features": {"generation": 1, "listing_id": 1},
    "src.listing_outcomes": {
        "generation": 1, "listing_id": 1, "t0": "2026-01-01T00:00:00Z", "final_status": "sold",
    },
    "ml.woe_anchor_model_registry_v1": {
        "model_key": "k2", "train_cutoff_ts": "2026-01-01T00:00:00Z", "half_life_days": 90,
        "eps": 0.5, "n_folds": 5, "band_schema_version": 1,
    },
    "ml.woe_anchor_cuts_v1": {"model_key": "k1", "c1": 0.1, "c2": 0.2},
    "ml.woe_anchor_map_v1": {"model_key": "k1", "band_name": "dsold", "band_value": "x", "woe": 0.0},
    "ml.woe_anchor_scores_v1": {
        "model_key": "k1", "generation": 1, "listing_id": 1, "t0": "2026-01-01T00:00:00Z",
        "is_oof": True, "woe_logit": 0.0, "woe_p": 0.5,
    },
    "ml.woe_anchor_fit_report_v1": {"model_key": "k1", "report": '{"rows": {}}'},
    "audit.t0_viewdef_baseline": {
        "entrypoint": "e", "object_name": "o", "object_kind": "view", "raw_sha256": SHA,
        "normalized_sha256": SHA, "normalized_sql": "SELECT 1", "server_version_num": 180000,
    },
    "audit.t0_dataset_hash_baseline": {
        "entrypoint": "e", "t0_day": "2026-01-01", "row_count": 1, "dataset_sha256": SHA,
    },
    "audit.t0_cert_registry": {"entrypoint": "e", "status": "CERTIFIED", "certified_at": "2026-01-01"},
    "audit.t0_cert_run_history": {"entrypoint": "e", "status": "FAILED", "started_at": "2026-01-01"},
    "audit.t0_entrypoint_policy": {
        "entrypoint": "e", "assertion_function": "audit.assert_t0_certified_listing_snapshots_v1()",
    },
    "audit.t0_label_relations": {"relation": "src.listing_snapshots_t0", "reason": "r"},
    "audit.t0_untrackable_body_exception": {
        "entrypoint": "src.listing_snapshots_t0_v1_v", "function": "audit.reject_modification()",
        "definition_sha256": SHA, "reason": "r",
    },
}

NAN, INF, NINF = float("nan"), float("inf"), float("-inf")

# (table, column, bad value, constraint that must reject it)
CASES = [
    ("src.listing_snapshots_t0", "t0", "infinity", None),
    ("src.listing_snapshots_t0", "delta_vs_sold_median_30d", NAN, None),
    ("src.listing_snapshots_t0", "delta_vs_sold_median_30d", INF, None),
    ("src.listing_snapshots_t0", "delta_vs_sold_median_30d", NINF, None),
    ("src.listing_snapshots_t0", "condition_score", 1.5, None),
    ("src.listing_snapshots_t0", "condition_score", NAN, None),
    ("src.listing_snapshots_t0", "damage_severity_ai", -0.5, None),
    ("src.listing_snapshots_t0", "damage_severity_ai", INF, None),
    ("src.listing_snapshots_t0", "battery_pct_effective", 100.5, None),
    ("src.listing_snapshots_t0", "seller_rating", NAN, None),
    ("src.listing_snapshots_t0", "review_count", -1, None),
    ("src.listing_snapshots_t0", "member_since_year", 1800, None),
    ("src.listing_snapshots_t0", "ai_ship_can", 2, None),
    ("src.listing_snapshots_t0", "ai_ship_pickup", -1, None),
    ("src.listing_snapshots_t0", "ai_pickup_only_bin", 2, None),
    ("src.listing_snapshots_t0", "ai_sale_mode_firm", 2, None),
    ("src.listing_snapshots_t0", "ai_sale_mode_bids", 2, None),
    ("src.listing_snapshots_t0", "ai_sale_mode_obo", 2, None),
    ("src.listing_vision_features", "image_count", -1, None),
    ("src.listing_vision_features", "caption_share", 1.01, None),
    ("src.listing_vision_features", "stock_photo_share", NAN, None),
    ("src.listing_vision_features", "photo_quality_avg", -0.1, None),
    ("src.listing_vision_features", "bg_clean_avg", INF, None),
    ("src.listing_vision_features", "dmg_band_hq_struct", NAN, None),
    ("src.listing_vision_features", "charger_bundle_level", 3, None),
    ("src.listing_outcomes", "final_status", "sold_yesterday", None),
    ("src.listing_outcomes", "sold_time", "2025-12-31T23:59:59Z", None),
    ("ml.woe_anchor_model_registry_v1", "model_key", "bad key; drop", None),
    ("ml.woe_anchor_model_registry_v1", "half_life_days", 0.0, None),
    ("ml.woe_anchor_model_registry_v1", "eps", -0.5, None),
    ("ml.woe_anchor_model_registry_v1", "n_folds", 0, None),
    ("ml.woe_anchor_model_registry_v1", "band_schema_version", 0, None),
    ("ml.woe_anchor_model_registry_v1", "code_sha256", "not-a-hash", None),
    ("ml.woe_anchor_model_registry_v1", "base_rate", 1.0, None),
    ("ml.woe_anchor_model_registry_v1", "base_logit", NAN, None),
    ("ml.woe_anchor_model_registry_v1", {"dsold_t1": 0.2, "dsold_t2": 0.1}, None, "dsold_t1"),
    ("ml.woe_anchor_model_registry_v1", {"dsold_t2": 0.2, "dsold_t3": 0.1}, None, "dsold_t2"),
    ("ml.woe_anchor_model_registry_v1", {"dsold_t3": 0.2, "dsold_t4": 0.1}, None, "dsold_t3"),
    ("ml.woe_anchor_model_registry_v1", "dsold_t4", INF, None),
    ("ml.woe_anchor_cuts_v1", "fold_id", -1, None),
    ("ml.woe_anchor_cuts_v1", "c1", 0.3, None),
    ("ml.woe_anchor_cuts_v1", "c2", INF, None),
    ("ml.woe_anchor_map_v1", "fold_id", -2, None),
    ("ml.woe_anchor_map_v1", "band_name", "colour", None),
    ("ml.woe_anchor_map_v1", "woe", NAN, None),
    ("ml.woe_anchor_map_v1", "sum_w_pos", -1.0, None),
    ("ml.woe_anchor_map_v1", "sum_w_neg", INF, None),
    ("ml.woe_anchor_map_v1", "n_rows", -1, None),
    ("ml.woe_anchor_scores_v1", "fold_id", -1, None),
    ("ml.woe_anchor_scores_v1", "woe_logit", INF, None),
    ("ml.woe_anchor_scores_v1", "woe_p", 1.5, None),
    # A package's open scores table takes only that package's rows (0054); written directly,
    # as a trainer does, since a row of another package would not be routed to it.
    ("ml.woe_anchor_scores_v1", "model_key", "k1", "package"),
    ("ml.woe_anchor_fit_report_v1", "report", "[1, 2]", None),
    ("audit.t0_viewdef_baseline", "object_kind", "index", None),
    ("audit.t0_label_relations", "reason", "", None),
    ("audit.t0_untrackable_body_exception", "definition_sha256", "ABC", "sha256"),
    ("audit.t0_untrackable_body_exception", "reason", "", None),
    ("audit.t0_viewdef_baseline", "raw_sha256", "ABC", None),
    ("audit.t0_viewdef_baseline", "normalized_sha256", "0" * 63, None),
    ("audit.t0_dataset_hash_baseline", "row_count", -1, None),
    ("audit.t0_dataset_hash_baseline", "dataset_sha256", "xyz", None),
    ("audit.t0_dataset_hash_baseline", "sample_limit", 0, None),
    ("audit.t0_cert_registry", "status", "MAYBE", None),
    ("audit.t0_cert_run_history", "status", "PENDING", None),
    ("audit.t0_entrypoint_policy", "max_age", "-1 hour", None),
    ("audit.t0_entrypoint_policy", "check_days", 0, None),
    ("audit.t0_entrypoint_policy", "max_new_days", -1, None),
    ("audit.t0_entrypoint_policy", "sample_limit", 0, None),
    ("audit.t0_entrypoint_policy", "drift_mode", "lenient", None),
    ("audit.t0_entrypoint_policy", "key_columns", [], None),
]


def _case_id(case) -> str:
    table, column, value, _ = case
    col = column if isinstance(column, str) else "+".join(column)
    return f"{table}.{col}={value!r}"


def _constraint_column(case) -> str:
    _table, column, _, named = case
    return named or column


@pytest.fixture
def parents(conn):
    """Rows that foreign keys of the cases point at; rolled back after the test."""
    conn.execute(
        "INSERT INTO src.listing_snapshots_t0 (generation, listing_id, t0) "
        "VALUES (1, 1, '2026-01-01T00:00:00Z')"
    )
    conn.execute(
        "INSERT INTO ml.woe_anchor_model_registry_v1 (model_key, train_cutoff_ts, half_life_days,"
        " eps, n_folds, band_schema_version) VALUES ('k1', '2026-01-01', 90, 0.5, 5, 1),"
        " ('k3', '2026-01-01', 90, 0.5, 5, 1)"
    )
    # k1's scores partition exists, so rows inserted through the parent reach its checks;
    # k3's scores are open (a table of their own, not yet a partition).
    conn.execute("SELECT ml.woe_anchor_scores_open_v1('k1'), ml.woe_anchor_scores_seal_v1('k1'),"
                 " ml.woe_anchor_scores_open_v1('k3')")
    yield conn
    conn.rollback()


def _insert(conn: psycopg.Connection, table: str, row: dict) -> None:
    schema, name = table.split(".")
    conn.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(schema, name),
            sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row)),
        ),
        list(row.values()),
    )


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_bad_value_is_rejected_naming_the_column(parents, case):
    table, column, value, _ = case
    overrides = column if isinstance(column, dict) else {column: value}
    column_name = _constraint_column(case)
    if table == "src.listing_snapshots_t0":
        overrides = {"listing_id": 2, **overrides}  # the parent row already holds listing 1
    row = {**VALID[table], **overrides}
    if column_name == "package":
        table = "ml." + parents.execute(
            "SELECT ml.woe_anchor_scores_partition_v1('k3')").fetchone()[0]
    with pytest.raises(psycopg.errors.CheckViolation) as err, parents.transaction():
        _insert(parents, table, row)
    assert column_name in err.value.diag.constraint_name
    assert column_name in str(err.value)


def test_valid_rows_are_accepted(parents):
    for table, row in VALID.items():
        if table != "src.listing_snapshots_t0":  # its valid row is the parent itself
            with parents.transaction():
                _insert(parents, table, row)


def test_every_check_constraint_is_exercised(conn):
    names = {
        r[0]
        for r in conn.execute(
            "SELECT c.conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE c.contype = 'c' AND n.nspname IN ('src', 'ml', 'audit')"
        )
    }
    covered = {f"ck_{c[0].split('.')[1]}_{_constraint_column(c)}" for c in CASES}
    assert names - covered == set(), "add a bad-row case for these constraints"


@pytest.mark.parametrize("table", ["ml.woe_anchor_cuts_v1", "ml.woe_anchor_map_v1",
                                   "ml.woe_anchor_scores_v1"])
def test_artifact_rows_of_an_unknown_package_are_refused(parents, table):
    """Cuts and map refuse a model_key without a registry row by their foreign keys. Scores
    have none (0022) and one partition per package (0054): a row of an unknown package has no
    partition to go to (23514, naming the key), and opening its scores is refused with the
    foreign-key SQLSTATE."""
    rows = [{**VALID[table], "model_key": "k1"}, {**VALID[table], "model_key": "no_such_package"}]
    if table == "ml.woe_anchor_scores_v1":
        rows[1]["listing_id"] = 2
        with pytest.raises(psycopg.errors.ForeignKeyViolation,
                           match="no_such_package does not exist"), parents.transaction():
            parents.execute("SELECT ml.woe_anchor_scores_open_v1('no_such_package')")
    refusal = (psycopg.errors.CheckViolation if table == "ml.woe_anchor_scores_v1"
               else psycopg.errors.ForeignKeyViolation)
    with pytest.raises(refusal) as err, parents.transaction():
        for row in rows:
            _insert(parents, table, row)
    assert "no_such_package" in (err.value.diag.message_detail or err.value.diag.message_primary)
    with parents.transaction():
        assert parents.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE model_key = 'no_such_package'").format(
                sql.Identifier(*table.split(".")))).fetchone()[0] == 0

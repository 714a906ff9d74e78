"""Certification end to end: each refusal of the guard is caused by a real change.

Every test starts from a freshly migrated, populated, baselined and certified database, makes
one real change (DDL, data, package, registry) and shows that the guarded view
ml.woe_anchor_scores_live_train_v refuses with the reason named.
"""

from __future__ import annotations

import psycopg
import pytest

from harness import certify
from tests.packages import BAND_ORDER, BAND_VALUES, certified_database, insert_package

GUARDED = "SELECT * FROM ml.woe_anchor_scores_live_train_v LIMIT 10"
ENTRYPOINT = "ml.woe_anchor_feature_store_t0_v1_v"


@pytest.fixture
def certified(make_database) -> str:
    """A database at head with 400 listings over 20 days, package pkg_a active and certified."""
    return certified_database(make_database, 400)


def refusal(url: str) -> str:
    """The guard's error message when the guarded view is read."""
    with psycopg.connect(url) as c, pytest.raises(psycopg.errors.InsufficientPrivilege) as e:
        c.execute(GUARDED).fetchall()
    return e.value.diag.message_primary


def registry(url: str, entrypoint: str = ENTRYPOINT) -> tuple | None:
    with psycopg.connect(url) as c:
        return c.execute("SELECT status, certified_model_key, inherited_from, detail "
                         "FROM audit.t0_cert_registry WHERE entrypoint = %s",
                         (entrypoint,)).fetchone()


def viewdef(c: psycopg.Connection, name: str) -> str:
    return c.execute("SELECT pg_get_viewdef(%s::regclass)", (name,)).fetchone()[0]


def redefine_function(url: str, name: str, old: str, new: str) -> None:
    """CREATE OR REPLACE a function with `old` replaced by `new` in its definition."""
    with psycopg.connect(url) as c:
        text = c.execute("SELECT pg_get_functiondef(%s::regproc)", (name,)).fetchone()[0]
        assert old in text
        c.execute(text.replace(old, new))


def test_seed_minimal_checks_run_verbatim_after_certification(certified):
    with psycopg.connect(certified) as c:
        rows = c.execute("SELECT * FROM audit.t0_cert_registry WHERE entrypoint='ml.woe_anchor_feature_store_t0_v1_v';").fetchall()
        assert len(rows) == 1 and rows[0][1] == "CERTIFIED"
        assert c.execute("SELECT audit.require_certified_strict('ml.woe_anchor_feature_store_t0_v1_v', interval '24 hours');").fetchone() == (True,)
        assert len(c.execute("SELECT * FROM ml.woe_anchor_scores_live_train_v LIMIT 10;").fetchall()) == 10


def test_alias_rows_inherit_status_and_history_is_appended(certified):
    for alias in ("ml.woe_anchor_scores_live_train_v", "ml.woe_anchor_scores_live_v1"):
        assert registry(certified, alias)[:3] == ("CERTIFIED", "pkg_a", ENTRYPOINT)
    with psycopg.connect(certified) as c:
        history = c.execute("SELECT entrypoint, status FROM audit.t0_cert_run_history "
                            "ORDER BY run_id").fetchall()
    assert sorted(history) == [(ENTRYPOINT, "CERTIFIED"),
                               ("src.listing_snapshots_t0_v1_v", "CERTIFIED")]
    status = {r.entrypoint: r for r in certify.status(certified)}
    assert status[ENTRYPOINT].model_key == "pkg_a" and status[ENTRYPOINT].status == "CERTIFIED"


def test_closure_view_with_changed_threshold_is_refused(certified):
    with psycopg.connect(certified) as c:
        text = viewdef(c, "ml.v_woe_anchor_bands_live_v1")
        assert "r.dsold_t1," in text
        c.execute("CREATE OR REPLACE VIEW ml.v_woe_anchor_bands_live_v1 AS "
                  + text.replace("r.dsold_t1,", "(-0.10)::double precision,", 1))
    assert "DEFINITION DRIFT" in refusal(certified)
    assert "changed ml.v_woe_anchor_bands_live_v1" in refusal(certified)
    [report] = certify.check(certified, ENTRYPOINT)
    drift = next(ch for ch in report.checks if ch.name == "viewdef_drift")
    assert not drift.ok and drift.data["semantic"] == ["ml.v_woe_anchor_bands_live_v1"]
    assert "+" in drift.data["diff"] and "-0.10" in drift.data["diff"]
    [result] = certify.run(certified, ENTRYPOINT)
    assert result.status == "FAILED"
    assert registry(certified)[0] == "FAILED"
    assert "NOT CERTIFIED" in refusal(certified)


def test_changed_banding_function_is_refused(certified):
    # the one banding definition (0050): the codes every scoring view reads
    redefine_function(certified, "ml.woe_anchor_band_codes_v1",
                      "(0.90)::double precision", "(0.91)::double precision")
    message = refusal(certified)
    assert "DEFINITION DRIFT" in message and "changed ml.woe_anchor_band_codes_v1(" in message
    [result] = certify.run(certified, ENTRYPOINT)
    drift = next(ch for ch in result.checks if ch.name == "viewdef_drift")
    assert result.status == "FAILED" and "0.91" in drift.data["diff"]


def test_renamed_band_value_is_refused(certified):
    """The labels are part of the definition too: the scores view reads them through the map."""
    redefine_function(certified, "ml.woe_anchor_band_labels_v1", "'cond_hi'", "'cond_high'")
    message = refusal(certified)
    assert "DEFINITION DRIFT" in message and "changed ml.woe_anchor_band_labels_v1(" in message


def test_feature_update_on_a_baselined_day_fails_the_run_and_the_guard(certified):
    with psycopg.connect(certified) as c:
        c.execute("""UPDATE src.listing_snapshots_t0 SET condition_score = 0.95
                     WHERE listing_id = (SELECT listing_id FROM src.listing_snapshots_t0
                                         WHERE condition_score < 0.5 ORDER BY t0 DESC LIMIT 1)""")
    [result] = certify.run(certified, ENTRYPOINT)
    drift = next(ch for ch in result.checks if ch.name == "dataset_drift")
    assert result.status == "FAILED" and not drift.ok and len(drift.data["changed"]) == 1
    assert registry(certified)[0] == "FAILED"  # persisted, not rolled back with the failure
    message = refusal(certified)
    assert "NOT CERTIFIED" in message and "FAILED" in message and "dataset_drift" in message


def test_activating_a_new_package_is_refused_until_it_is_certified(certified):
    with psycopg.connect(certified) as c:  # one transaction: package + pointer move
        insert_package(c, "pkg_b", base_rate=0.41)
    message = refusal(certified)
    assert "PACKAGE CHANGED" in message and "pkg_b" in message and "pkg_a" in message
    certify.baseline(certified, ENTRYPOINT)
    [result] = certify.run(certified, ENTRYPOINT)
    assert result.status == "CERTIFIED" and result.model_key == "pkg_b"
    with psycopg.connect(certified) as c:
        assert {r[0] for r in c.execute("SELECT model_key FROM ml.woe_anchor_scores_live_train_v")} == {"pkg_b"}


def test_backdated_certification_is_refused_as_stale(certified):
    with psycopg.connect(certified) as c:
        c.execute("UPDATE audit.t0_cert_registry SET certified_at = now() - interval '25 hours' "
                  "WHERE entrypoint = %s", (ENTRYPOINT,))
    assert "STALE CERTIFICATION" in refusal(certified)


def test_deleted_registry_row_is_refused(certified):
    with psycopg.connect(certified) as c:
        c.execute("DELETE FROM audit.t0_cert_registry WHERE entrypoint = %s", (ENTRYPOINT,))
    assert "has no row in audit.t0_cert_registry" in refusal(certified)


def test_cosmetic_change_passes_and_raw_hash_is_rerecorded(certified):
    with psycopg.connect(certified) as c:
        before = viewdef(c, ENTRYPOINT)
        c.execute("""CREATE OR REPLACE VIEW ml.woe_anchor_feature_store_t0_v1_v AS
                     SELECT   scores.generation, scores.listing_id,   scores.t0,
                              scores.t0 AS edited_date, scores.model_key, scores.woe_logit,
                              scores.woe_anchor_p_slow21
                     FROM ml.woe_anchor_scores_live_v1 AS scores""")
        assert viewdef(c, ENTRYPOINT) != before  # the server prints it differently
    assert "DEFINITION DRIFT" in refusal(certified)  # the guard sees the raw change
    [report] = certify.check(certified, ENTRYPOINT)
    assert report.ok, report.as_json()
    [result] = certify.run(certified, ENTRYPOINT)
    drift = next(ch for ch in result.checks if ch.name == "viewdef_drift")
    assert result.status == "CERTIFIED"
    assert drift.data["cosmetic"] == [ENTRYPOINT] and "re-recorded" in drift.detail
    with psycopg.connect(certified) as c:
        assert len(c.execute(GUARDED).fetchall()) == 10


def test_a_failed_run_leaves_failed_in_the_registry_and_history(certified):
    with psycopg.connect(certified) as c:
        c.execute("DELETE FROM audit.t0_viewdef_baseline WHERE entrypoint = %s", (ENTRYPOINT,))
    [result] = certify.run(certified, ENTRYPOINT)
    assert result.status == "FAILED"
    assert registry(certified)[0] == "FAILED"
    assert registry(certified, "ml.woe_anchor_scores_live_train_v")[0] == "FAILED"
    with psycopg.connect(certified) as c:
        last = c.execute("SELECT status, checks FROM audit.t0_cert_run_history "
                         "WHERE entrypoint = %s ORDER BY run_id DESC LIMIT 1",
                         (ENTRYPOINT,)).fetchone()
    assert last[0] == "FAILED" and any(not ch["ok"] for ch in last[1])


def test_t0_lint_rejects_clock_calls_and_label_tables(certified):
    with psycopg.connect(certified) as c:
        c.execute("""CREATE OR REPLACE VIEW src.listing_snapshots_t0_v1_v AS """
                  + viewdef(c, "src.listing_snapshots_t0_v1_v").rstrip().rstrip(";")
                  + " WHERE s.t0 <= now() AND NOT EXISTS (SELECT 1 FROM src.listing_outcomes o "
                    "WHERE o.listing_id = s.listing_id)")
    [result] = certify.run(certified, "src.listing_snapshots_t0_v1_v")
    lint = next(ch for ch in result.checks if ch.name == "t0_lint")
    assert result.status == "FAILED" and not lint.ok
    assert "calls now(), which is STABLE" in lint.detail
    assert "reads label relation src.listing_outcomes" in lint.detail


def test_guard_is_a_one_time_filter_not_evaluated_per_row(certified):
    with psycopg.connect(certified) as c:
        plan = "\n".join(r[0] for r in c.execute(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT * FROM ml.woe_anchor_scores_live_train_v"))
        calls = c.execute("SELECT calls FROM pg_stat_user_functions "
                          "WHERE funcid = 'audit.require_certified_strict(text, interval)'::regprocedure"
                          ).fetchone()
    assert "One-Time Filter: audit.require_certified_strict" in plan
    assert calls is None or calls[0] <= 1  # track_functions is off by default


def test_live_score_equals_the_score_computed_from_the_map_by_hand(certified):
    with psycopg.connect(certified) as c:
        base_logit = c.execute("SELECT base_logit FROM ml.woe_anchor_model_registry_v1 "
                               "WHERE is_active").fetchone()[0]
        woe = {(b, v): w for b, v, w in c.execute(
            "SELECT band_name, band_value, woe FROM ml.woe_anchor_map_v1 "
            "WHERE model_key = 'pkg_a' AND fold_id IS NULL")}
        bands = c.execute(
            "SELECT b.listing_id, " + ", ".join(f"b.{n}" for n in BAND_ORDER) +
            ", s.woe_logit, s.woe_anchor_p_slow21 FROM ml.v_woe_anchor_bands_live_v1 AS b "
            "JOIN ml.woe_anchor_scores_live_v1 AS s USING (generation, listing_id, t0)").fetchall()
    assert len(bands) == 400
    import math

    for row in bands:
        logit = base_logit
        for name, value in zip(BAND_ORDER, row[1:11], strict=True):
            logit += woe.get((name, value), 0.0) if value is not None else 0.0
        assert abs(row[11] - logit) <= 1e-12
        assert abs(row[12] - 1.0 / (1.0 + math.exp(-logit))) <= 1e-12


def test_noop_replace_passes_the_guard_through_the_raw_hash_path(certified):
    """A same-text CREATE OR REPLACE changes the catalog row (fast path misses), not the hash."""
    with psycopg.connect(certified) as c:
        version = "SELECT xmin::text FROM pg_rewrite WHERE ev_class = %s::regclass"
        before = c.execute(version, (ENTRYPOINT,)).fetchone()[0]
        c.execute(f"CREATE OR REPLACE VIEW {ENTRYPOINT} AS " + viewdef(c, ENTRYPOINT))
        assert c.execute(version, (ENTRYPOINT,)).fetchone()[0] != before
    with psycopg.connect(certified) as c:
        assert len(c.execute(GUARDED).fetchall()) == 10


@pytest.mark.parametrize(("band_values", "named"), [
    # three market bands missing, the three vision bands present: seven band names in all
    ({b: v for b, v in BAND_VALUES.items() if b not in ("dsold", "trust", "ship")},
     "has no final map rows for the market band(s) dsold, trust, ship"),
    # a value the banding definition never gives would never be looked up
    ({**BAND_VALUES, "sale": ("firm", "bids", "obo", "sale_unspecified")},
     "does not know: sale=sale_unspecified"),
])
def test_an_incomplete_package_is_not_certified(certified, band_values, named):
    with psycopg.connect(certified) as c:
        insert_package(c, "pkg_incomplete", band_values=band_values)
    [result] = certify.run(certified, ENTRYPOINT)
    assertion = next(ch for ch in result.checks if ch.name == "assertion")
    assert result.status == "FAILED" and not assertion.ok
    assert named in assertion.detail
    assert "NOT CERTIFIED" in refusal(certified)

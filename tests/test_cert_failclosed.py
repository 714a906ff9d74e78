"""Certification is fail-closed: nothing unchecked is served, nothing unknown passes.

Each test starts from a certified database (tests/packages.py), makes one real change and shows
that certification (or the guard) refuses instead of serving or passing what was never checked.
"""

from __future__ import annotations

import psycopg
import pytest

from harness import certify
from tests.packages import certified_database
from tests.test_certify import ENTRYPOINT, GUARDED, redefine_function, refusal, registry

ALIASES = ("ml.woe_anchor_scores_live_train_v", "ml.woe_anchor_scores_live_v1")
ENTRYPOINT_SQL = """CREATE OR REPLACE VIEW ml.woe_anchor_feature_store_t0_v1_v AS
    SELECT generation, listing_id, {t0} AS t0, t0 AS edited_date, model_key, woe_logit,
           woe_anchor_p_slow21
    FROM ml.woe_anchor_scores_live_v1 {where}"""


@pytest.fixture
def certified(make_database) -> str:
    return certified_database(make_database, 400)


def check_named(result: certify.RunResult, name: str):
    return next(ch for ch in result.checks if ch.name == name)


def test_baseline_demotes_the_registry_until_the_next_run(certified):
    with psycopg.connect(certified) as c:
        c.execute(ENTRYPOINT_SQL.format(t0="t0", where="WHERE t0 <= now() - interval '1 day'"))
    assert "DEFINITION DRIFT" in refusal(certified)
    certify.baseline(certified, ENTRYPOINT)
    # the guard's fast path now matches the new baseline: only the registry stops it
    message = refusal(certified)
    assert "NOT CERTIFIED" in message and "baseline re-recorded" in message
    for name in (ENTRYPOINT, *ALIASES):
        assert registry(certified, name)[0] == "FAILED"
    [result] = certify.run(certified, ENTRYPOINT)
    assert result.status == "FAILED" and not check_named(result, "t0_lint").ok
    assert "NOT CERTIFIED" in refusal(certified)


def test_baseline_then_run_certifies_again(certified):
    certify.baseline(certified, ENTRYPOINT)
    [result] = certify.run(certified, ENTRYPOINT)
    assert result.status == "CERTIFIED", result.as_json()
    with psycopg.connect(certified) as c:
        assert len(c.execute(GUARDED).fetchall()) == 10


def test_deleting_the_newest_days_is_dataset_drift(certified):
    with psycopg.connect(certified) as c:
        c.execute("DELETE FROM src.listing_snapshots_t0 WHERE t0 >= '2026-01-09 00:00+00'")
    [result] = certify.run(certified, ENTRYPOINT)
    drift = check_named(result, "dataset_drift")
    assert result.status == "FAILED" and not drift.ok
    assert {d["t0_day"] for d in drift.data["changed"]} == {"2026-01-09", "2026-01-10"}
    assert all(d["rows"] == 0 for d in drift.data["changed"])
    assert "NOT CERTIFIED" in refusal(certified)


def test_an_entrypoint_that_became_empty_is_not_certified(certified):
    with psycopg.connect(certified) as c:
        c.execute("DELETE FROM src.listing_snapshots_t0")
    [result] = certify.run(certified, ENTRYPOINT)
    drift = check_named(result, "dataset_drift")
    assert result.status == "FAILED" and not drift.ok
    assert len(drift.data["changed"]) == 10  # every baselined day is gone


def test_zero_days_checked_is_a_failure(certified):
    with psycopg.connect(certified) as c:
        c.execute("UPDATE audit.t0_entrypoint_policy SET drift_mode = 'tolerant' "
                  "WHERE entrypoint = %s", (ENTRYPOINT,))
        c.execute("DELETE FROM src.listing_snapshots_t0")
    [result] = certify.run(certified, ENTRYPOINT)
    drift = check_named(result, "dataset_drift")
    assert result.status == "FAILED" and not drift.ok
    assert "no rows" in drift.detail


@pytest.mark.parametrize("returns", ["false", "NULL"])
def test_an_assertion_that_returns_other_than_true_fails(certified, returns):
    redefine_function(certified, "audit.assert_t0_certified_woe_anchor_store_v1",
                      "RETURN true;", f"RETURN {returns};")
    [result] = certify.run(certified, ENTRYPOINT)
    assertion = check_named(result, "assertion")
    assert result.status == "FAILED" and not assertion.ok
    assert f"returned {returns.lower()}" in assertion.detail


def test_an_unexpected_error_in_a_check_records_failed(certified):
    # a NULL t0 is not a database error: the dataset check fails inside Python
    with psycopg.connect(certified) as c:
        c.execute(ENTRYPOINT_SQL.format(
            t0="CASE WHEN listing_id = 1 THEN NULL ELSE t0 END", where=""))
    [result] = certify.run(certified, ENTRYPOINT)
    drift = check_named(result, "dataset_drift")
    assert result.status == "FAILED" and not drift.ok and "AttributeError" in drift.detail
    assert registry(certified)[0] == "FAILED"
    assert "NOT CERTIFIED" in refusal(certified)

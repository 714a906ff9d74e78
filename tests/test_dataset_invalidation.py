"""Every baselined day, every run; a change to one fails the certification at once (0056).

The certified database (tests/packages.py) holds 400 listings over the UTC days 2025-12-22 to
2026-01-10; `certify baseline` recorded the last ten, 2026-01-01 to 2026-01-10, for both
entrypoints. Each test makes real changes through SQL and shows what the guarded views and the
next run do: a run re-checks every baselined day whatever new rows exist, rows too far after
the newest baselined day fail it, and a statement that changes a day up to the newest
baselined day (its own table's rows or the vision rows of its snapshots) leaves every
entrypoint FAILED when it commits, before any run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from harness import certify, db
from tests.conftest import server_version_num
from tests.packages import certified_database

ENTRYPOINT = "ml.woe_anchor_feature_store_t0_v1_v"
SOURCE_ENTRYPOINT = "src.listing_snapshots_t0_v1_v"
GUARDED = {
    ENTRYPOINT: "SELECT count(*) FROM ml.woe_anchor_scores_live_train_v",
    SOURCE_ENTRYPOINT: "SELECT count(*) FROM src.listing_snapshots_t0_live_train_v",
}
NEWEST = "2026-01-10"  # the newest baselined day (and t0 day) of the certified database
TRIGGERS = ("listing_snapshots_t0", "listing_vision_features")
# a change both entrypoints show: the dsold band moves (missing <-> overpriced), so the score too
FLIP = ("delta_vs_sold_median_30d = "
        "CASE WHEN delta_vs_sold_median_30d IS NULL THEN 0.3 END")


@pytest.fixture(scope="module")
def certified_template(make_database) -> str:
    return certified_database(make_database, 400)


@pytest.fixture
def certified(admin_url, certified_template) -> Iterator[str]:
    """A copy of the certified database (CREATE DATABASE ... TEMPLATE: one build per module)."""
    name = f"woe_test_{uuid.uuid4().hex[:12]}"
    template = psycopg.conninfo.conninfo_to_dict(certified_template)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
    yield db.with_dbname(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def execute(url: str, *statements: str) -> None:
    """The statements in one transaction, committed."""
    with psycopg.connect(url) as c:
        for statement in statements:
            c.execute(statement)


def registry(url: str) -> dict[str, tuple[str, str]]:
    with psycopg.connect(url) as c:
        return {e: (s, d) for e, s, d in c.execute(
            "SELECT entrypoint, status, detail FROM audit.t0_cert_registry")}


def serves(url: str, entrypoint: str) -> int:
    with psycopg.connect(url) as c:
        return c.execute(GUARDED[entrypoint]).fetchone()[0]


def refusal(url: str, entrypoint: str) -> str:
    with psycopg.connect(url) as c, pytest.raises(psycopg.errors.InsufficientPrivilege) as e:
        c.execute(GUARDED[entrypoint]).fetchall()
    return e.value.diag.message_primary


def listing_on(url: str, day: str, *, vision: bool | None = None) -> int:
    """The smallest listing_id with a snapshot on that UTC day (with/without a vision row)."""
    with psycopg.connect(url) as c:
        return c.execute(
            "SELECT s.listing_id FROM src.listing_snapshots_t0 AS s "
            "WHERE (s.t0 AT TIME ZONE 'UTC')::date = %(d)s::date "
            "AND (%(v)s::boolean IS NULL OR %(v)s::boolean = EXISTS (SELECT FROM "
            "src.listing_vision_features AS v "
            "WHERE (v.generation, v.listing_id) = (s.generation, s.listing_id))) "
            "ORDER BY s.listing_id LIMIT 1", {"d": day, "v": vision}).fetchone()[0]


def baselined_days(url: str, entrypoint: str) -> list[str]:
    with psycopg.connect(url) as c:
        return [d.isoformat() for (d,) in c.execute(
            "SELECT t0_day FROM audit.t0_dataset_hash_baseline WHERE entrypoint = %s "
            "ORDER BY t0_day", (entrypoint,))]


def drift_of(result: certify.RunResult):
    return next(ch for ch in result.checks if ch.name == "dataset_drift")


def assert_all_certified(url: str) -> None:
    assert {s for s, _d in registry(url).values()} == {"CERTIFIED"}
    assert serves(url, ENTRYPOINT) == serves(url, SOURCE_ENTRYPOINT) > 0


def assert_all_invalidated(url: str, *named: str) -> None:
    """Every registry row (both entrypoints, their aliases) FAILED, and both guarded views
    refuse, naming what changed."""
    rows = registry(url)
    assert len(rows) == 5 and {s for s, _d in rows.values()} == {"FAILED"}, rows
    for entrypoint in GUARDED:
        message = refusal(url, entrypoint)
        assert "NOT CERTIFIED" in message and "dataset changed after certification" in message
        for text in named:
            assert text in message, message


def without_triggers(table: str, *statements: str) -> list[str]:
    """The statements bracketed by disabling and re-enabling the table's invalidation triggers
    (as its owner, in the same transaction): the path that bypasses them."""
    names = [f"{table.partition('.')[2]}_invalidate_on_{event}"
             for event in ("insert", "update", "delete", "truncate")]
    return ([f"ALTER TABLE {table} DISABLE TRIGGER {n}" for n in names] + list(statements)
            + [f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {n}" for n in names])


# (a) the run re-checks every baselined day; rows far after them fail it


def test_a_far_future_row_does_not_hide_an_edited_baselined_day_from_the_run(certified):
    edited = listing_on(certified, "2026-01-02")
    execute(certified, *without_triggers(
        "src.listing_snapshots_t0",
        "INSERT INTO src.listing_snapshots_t0 (generation, listing_id, t0) "
        "VALUES (1, 900001, '2026-06-01 12:00+00')",
        f"UPDATE src.listing_snapshots_t0 SET {FLIP} WHERE listing_id = {edited}"))
    assert_all_certified(certified)  # the triggers were bypassed: only the run can tell
    results = certify.run(certified)
    assert [r.status for r in results] == ["FAILED", "FAILED"]
    for result in results:
        drift = drift_of(result)
        assert not drift.ok
        assert [c["t0_day"] for c in drift.data["changed"]] == ["2026-01-02"]
        assert drift.data["beyond_max_new_days"] == [{"t0_day": "2026-06-01", "rows": 1}]
        assert "changed days: 2026-01-02" in drift.detail and "2026-06-01 (1 rows)" in drift.detail
    for entrypoint in GUARDED:
        assert "dataset_drift" in refusal(certified, entrypoint)
        assert "2026-06-01" not in baselined_days(certified, entrypoint)


def test_every_baselined_day_is_rechecked_not_only_the_last_check_days(certified):
    """Days baselined by earlier runs stay checked after the window has moved past them."""
    execute(certified, "INSERT INTO src.listing_snapshots_t0 (generation, listing_id, t0) "
                       "SELECT 1, 900000 + d, '2026-01-10 12:00+00'::timestamptz + d * "
                       "interval '1 day' FROM generate_series(1, 7) AS d")
    assert [r.status for r in certify.run(certified)] == ["CERTIFIED", "CERTIFIED"]
    execute(certified, "INSERT INTO src.listing_snapshots_t0 (generation, listing_id, t0) "
                       "SELECT 1, 900010 + d, '2026-01-17 12:00+00'::timestamptz + d * "
                       "interval '1 day' FROM generate_series(1, 7) AS d")
    assert [r.status for r in certify.run(certified)] == ["CERTIFIED", "CERTIFIED"]
    assert len(baselined_days(certified, ENTRYPOINT)) == 24  # 2026-01-01 to 2026-01-24
    edited = listing_on(certified, "2026-01-01")  # 23 days before the newest t0 day
    execute(certified, *without_triggers(
        "src.listing_snapshots_t0",
        f"DELETE FROM src.listing_snapshots_t0 WHERE listing_id = {edited}"))
    for result in certify.run(certified):
        assert result.status == "FAILED"
        assert [c["t0_day"] for c in drift_of(result).data["changed"]] == ["2026-01-01"]


@pytest.mark.parametrize("mode", ["strict", "tolerant"])
def test_rows_beyond_max_new_days_fail_the_run_naming_their_days(certified, mode):
    execute(certified, f"UPDATE audit.t0_entrypoint_policy SET drift_mode = '{mode}'",
            "INSERT INTO src.listing_snapshots_t0 (generation, listing_id, t0) VALUES "
            "(1, 900001, '2026-01-17 01:00+00'), (1, 900002, '2026-01-18 01:00+00'), "
            "(1, 900003, '2026-01-18 02:00+00'), (1, 900004, '4000-01-01 00:00+00')")
    assert_all_certified(certified)  # rows in new days change no certified day
    for result in certify.run(certified):
        drift = drift_of(result)
        assert result.status == "FAILED" and not drift.ok
        assert drift.data["changed"] == [] and drift.data["max_new_days"] == 7
        assert drift.data["beyond_max_new_days"] == [{"t0_day": "2026-01-18", "rows": 2},
                                                     {"t0_day": "4000-01-01", "rows": 1}]
        assert ("more than max_new_days (7) after the newest baselined day 2026-01-10: "
                "2026-01-18 (2 rows), 4000-01-01 (1 rows)") in drift.detail
        assert baselined_days(certified, result.entrypoint)[-1] == NEWEST  # nothing recorded
    execute(certified, "DELETE FROM src.listing_snapshots_t0 WHERE listing_id IN (900002, 900003, "
                       "900004)")  # new days, never baselined: no invalidation either
    for result in certify.run(certified):  # 2026-01-17 is 7 days after: the tolerance holds
        assert result.status == "CERTIFIED", result.as_json()
        assert drift_of(result).data["new_days"] == [f"2026-01-{d}" for d in range(11, 18)]
        assert baselined_days(certified, result.entrypoint)[-1] == "2026-01-17"


def test_max_new_days_zero_leaves_every_new_day_to_baseline(certified):
    execute(certified, "UPDATE audit.t0_entrypoint_policy SET max_new_days = 0",
            "INSERT INTO src.listing_snapshots_t0 (generation, listing_id, t0) "
            "VALUES (1, 900001, '2026-01-11 01:00+00')")
    assert all(r.status == "FAILED" for r in certify.run(certified))
    certify.baseline(certified)
    assert [r.status for r in certify.run(certified)] == ["CERTIFIED", "CERTIFIED"]
    with psycopg.connect(certified) as c, pytest.raises(psycopg.errors.CheckViolation):
        c.execute("UPDATE audit.t0_entrypoint_policy SET max_new_days = -1")


# (b) a change to a baselined day is refused by the guard before any run

SNAPSHOTS, VISION = "src.listing_snapshots_t0", "src.listing_vision_features"
NEW_ROW = ("INSERT INTO src.listing_snapshots_t0 (generation, listing_id, t0) "
           "VALUES (1, 900001, '{t0}')")
SIXTEEN_DAYS = ("t0_day(s) 2025-12-25, 2025-12-26, 2025-12-27, 2025-12-28, 2025-12-29, "
                "2025-12-30, 2025-12-31, 2026-01-01, 2026-01-02, 2026-01-03 and 6 more (newest")
# name: (table, operation, text the refusal names, statements of one transaction)
CHANGES = {
    "update": (SNAPSHOTS, "UPDATE", "2026-01-05", (
        f"UPDATE src.listing_snapshots_t0 SET {FLIP} WHERE listing_id = {{on_05}}",)),
    "delete": (SNAPSHOTS, "DELETE", "2026-01-05", (
        "DELETE FROM src.listing_snapshots_t0 WHERE listing_id = {on_05}",)),
    "delete_of_sixteen_days": (SNAPSHOTS, "DELETE", SIXTEEN_DAYS, (
        "DELETE FROM src.listing_snapshots_t0 WHERE t0 >= '2025-12-25' AND t0 < '2026-01-10'",)),
    "truncate_snapshots": (SNAPSHOTS, "TRUNCATE", "removed every row", (
        "TRUNCATE src.listing_snapshots_t0 CASCADE",)),
    "truncate_vision": (VISION, "TRUNCATE", "removed every row", (
        "TRUNCATE src.listing_vision_features",)),
    "insert": (SNAPSHOTS, "INSERT", "2026-01-05", (NEW_ROW.format(t0="2026-01-05 08:00+00"),)),
    "insert_into_an_older_unbaselined_day": (SNAPSHOTS, "INSERT", "2025-12-24", (
        NEW_ROW.format(t0="2025-12-24 08:00+00"),)),
    "upsert": (SNAPSHOTS, "UPDATE", "2026-01-05", (
        ("INSERT INTO src.listing_snapshots_t0 (generation, listing_id, t0, seller_rating) "
         "SELECT generation, listing_id, t0, 0.5 FROM src.listing_snapshots_t0 "
         "WHERE listing_id = {on_05} ON CONFLICT (generation, listing_id, t0) "
         "DO UPDATE SET seller_rating = EXCLUDED.seller_rating"),)),
    "update_moving_a_row_to_a_new_day": (SNAPSHOTS, "UPDATE", "2026-01-05", (
        ("UPDATE src.listing_snapshots_t0 SET t0 = '2026-01-12 08:00+00' "
         "WHERE listing_id = {on_05}"),)),
    "new_row_then_moved_into_a_baselined_day": (SNAPSHOTS, "UPDATE", "2026-01-05", (
        NEW_ROW.format(t0="2026-01-12 08:00+00"),
        ("UPDATE src.listing_snapshots_t0 SET t0 = '2026-01-05 08:00+00' "
         "WHERE listing_id = 900001"))),
    "writable_cte": (SNAPSHOTS, "DELETE", "2026-01-05", (
        ("WITH gone AS (DELETE FROM src.listing_snapshots_t0 WHERE listing_id = {on_05} "
         "RETURNING 1) SELECT count(*) FROM gone"),)),
    "merge": (SNAPSHOTS, "UPDATE", "2026-01-05", (
        ("MERGE INTO src.listing_snapshots_t0 AS s USING (VALUES ({on_05})) AS x(id) "
         "ON s.generation = 1 AND s.listing_id = x.id "
         "WHEN MATCHED THEN UPDATE SET condition_score = 0.5"),)),
    "vision_update": (VISION, "UPDATE", "2026-01-05", (
        ("UPDATE src.listing_vision_features SET image_count = 0 "
         "WHERE listing_id = {on_05_vision}"),)),
    "vision_delete": (VISION, "DELETE", "2026-01-05", (
        "DELETE FROM src.listing_vision_features WHERE listing_id = {on_05_vision}",)),
    "vision_insert_for_a_baselined_listing": (VISION, "INSERT", "2026-01-05", (
        ("INSERT INTO src.listing_vision_features (generation, listing_id, image_count) "
         "VALUES (1, {on_05_no_vision}, 3)"),)),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_to_a_baselined_day_is_refused_before_any_run(certified, change):
    table, operation, named, statements = CHANGES[change]
    if change == "merge" and server_version_num(certified) < 150000:
        pytest.skip("MERGE is PostgreSQL 15+")
    ids = {"on_05": listing_on(certified, "2026-01-05"),
           "on_05_vision": listing_on(certified, "2026-01-05", vision=True),
           "on_05_no_vision": listing_on(certified, "2026-01-05", vision=False)}
    execute(certified, *[s.format(**ids) for s in statements])
    assert_all_invalidated(certified, f"{operation} on {table}", named)
    detail = registry(certified)[ENTRYPOINT][1]
    assert (f"(newest baselined day {NEWEST} of {ENTRYPOINT}); if intended: python -m "
            "harness.certify baseline, then python -m harness.certify run") in detail


def test_copy_into_a_baselined_day_is_refused(certified):
    copy = "COPY src.listing_snapshots_t0 (generation, listing_id, t0) FROM STDIN"
    with psycopg.connect(certified) as c, c.cursor() as cur, cur.copy(copy) as cp:
        cp.write_row((1, 900001, "2026-01-10 23:30+00"))
    assert_all_invalidated(certified, "INSERT on src.listing_snapshots_t0", "2026-01-10")


def test_the_change_fails_the_certification_inside_its_own_transaction(certified):
    """The statement's own transaction already reads FAILED; a rollback undoes both."""
    with psycopg.connect(certified) as c:
        c.execute("DELETE FROM src.listing_snapshots_t0 WHERE listing_id = %s",
                  (listing_on(certified, "2026-01-03"),))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="NOT CERTIFIED"):
            c.execute(GUARDED[ENTRYPOINT])
        c.rollback()
    assert_all_certified(certified)


def test_only_the_entrypoints_whose_baseline_reaches_the_day_are_invalidated(certified):
    execute(certified, "DELETE FROM audit.t0_dataset_hash_baseline "
                       f"WHERE entrypoint = '{SOURCE_ENTRYPOINT}' AND t0_day > '2026-01-04'")
    execute(certified, "UPDATE src.listing_snapshots_t0 SET condition_score = 0.5 "
                       f"WHERE listing_id = {listing_on(certified, '2026-01-06')}")
    rows = registry(certified)
    assert rows[ENTRYPOINT][0] == rows["ml.woe_anchor_scores_live_train_v"][0] == "FAILED"
    assert rows[SOURCE_ENTRYPOINT][0] == rows["src.listing_snapshots_t0_live_train_v"][0] \
        == "CERTIFIED"
    assert "2026-01-06" in refusal(certified, ENTRYPOINT)


def test_tolerant_mode_is_invalidated_too_and_its_next_run_rebaselines(certified):
    execute(certified, "UPDATE audit.t0_entrypoint_policy SET drift_mode = 'tolerant'")
    execute(certified, f"UPDATE src.listing_snapshots_t0 SET {FLIP} "
                       f"WHERE listing_id = {listing_on(certified, '2026-01-06')}")
    assert_all_invalidated(certified, "UPDATE on src.listing_snapshots_t0", "2026-01-06",
                           "python -m harness.certify run re-checks and re-baselines them")
    for result in certify.run(certified):
        assert result.status == "CERTIFIED"
        assert "tolerated and re-baselined: 2026-01-06" in drift_of(result).detail
    assert_all_certified(certified)


def test_a_run_that_read_its_snapshot_before_the_change_does_not_certify(certified, monkeypatch):
    """The change commits while a run is checking (after its snapshot): the run's checks pass
    on the old rows, but the trigger's row version of the registry makes its outcome fail to
    serialize, and FAILED is recorded."""
    from harness import cert_checks

    original = cert_checks.dataset_drift
    edited = listing_on(certified, "2026-01-08")

    def drift_with_a_concurrent_change(conn, policy):
        execute(certified, f"UPDATE src.listing_snapshots_t0 SET condition_score = 0.5 "
                           f"WHERE listing_id = {edited}")
        return original(conn, policy)

    monkeypatch.setattr(cert_checks, "dataset_drift", drift_with_a_concurrent_change)
    with pytest.raises(psycopg.errors.SerializationFailure):
        certify.run(certified, ENTRYPOINT)
    monkeypatch.undo()
    rows = registry(certified)
    assert rows[ENTRYPOINT][0] == "FAILED"
    assert "NOT CERTIFIED" in refusal(certified, ENTRYPOINT)


# (c) new days keep flowing in


def test_new_days_keep_serving_and_the_next_run_baselines_them(certified):
    execute(certified,
            "INSERT INTO src.listing_snapshots_t0 (generation, listing_id, t0) VALUES "
            "(1, 900001, '2026-01-11 00:00+00'), (1, 900002, '2026-01-12 23:59+00')",
            # listing 0 has no snapshot (a vision row without one changes no entrypoint row)
            # and its id puts every baselined listing in the statement's key range: the rows
            # are then joined one by one
            "INSERT INTO src.listing_vision_features (generation, listing_id, image_count) "
            "VALUES (1, 900001, 2), (1, 0, 1)",
            "UPDATE src.listing_vision_features SET image_count = 4 WHERE listing_id = 900001",
            "UPDATE src.listing_snapshots_t0 SET condition_score = 0.5 WHERE listing_id = 900002",
            "INSERT INTO src.listing_vision_features (generation, listing_id, image_count) "
            "VALUES (1, 900099, 1)",
            # a conflict that changes nothing
            "INSERT INTO src.listing_snapshots_t0 (generation, listing_id, t0) "
            "SELECT generation, listing_id, t0 FROM src.listing_snapshots_t0 "
            "WHERE t0 < '2026-01-10' ON CONFLICT DO NOTHING")
    assert_all_certified(certified)
    assert serves(certified, SOURCE_ENTRYPOINT) == 402
    for result in certify.run(certified):
        assert result.status == "CERTIFIED", result.as_json()
        assert drift_of(result).data["new_days"] == ["2026-01-11", "2026-01-12"]
        assert baselined_days(certified, result.entrypoint)[-2:] == ["2026-01-11", "2026-01-12"]
    # now baselined: the same rows are frozen
    execute(certified, "DELETE FROM src.listing_vision_features WHERE listing_id = 900001")
    assert_all_invalidated(certified, "DELETE on src.listing_vision_features", "2026-01-11")


def test_the_triggers_fire_for_every_event_on_both_tables(certified):
    with psycopg.connect(certified) as c:
        rows = c.execute(
            "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger AS t "
            "JOIN pg_class AS c ON c.oid = t.tgrelid "
            "WHERE t.tgfoid = 'audit.t0_invalidate_changed_days_v1()'::regprocedure "
            "ORDER BY 1, 2").fetchall()
        public_may = c.execute("SELECT has_function_privilege('public', "
                               "'audit.t0_invalidate_changed_days_v1()', 'EXECUTE')").fetchone()
    assert public_may == (False,)
    assert rows == [(table, f"{table}_invalidate_on_{event}", "A")
                    for table in TRIGGERS for event in ("delete", "insert", "truncate", "update")]


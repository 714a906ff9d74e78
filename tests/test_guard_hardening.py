"""The guard's hardening (revision 0052): each way it served what it should have refused.

Each test (but the last, an upgrade) starts from a freshly migrated, populated, baselined and
certified database, makes one change a review showed the guard let through, and shows
audit.require_certified_strict (directly, or through a guarded view) refusing with the reason
named: a policy max_age shorter than the views' 24 hours, a transaction kept open past the
certification's age, a certified_at in the future, an alias whose parent failed, went stale or
no longer lists it, and a column renamed under a closure object (the fast path's catalog
versions missed it).
"""

from __future__ import annotations

import psycopg
import pytest

from harness import certify
from tests.conftest import downgrade, upgrade
from tests.packages import certified_database, insert_package, insert_source

GUARDED = "SELECT * FROM ml.woe_anchor_scores_live_train_v LIMIT 10"
GUARDED_SOURCE = "SELECT count(*) FROM src.listing_snapshots_t0_live_train_v"
ENTRYPOINT = "ml.woe_anchor_feature_store_t0_v1_v"
SOURCE_ENTRYPOINT = "src.listing_snapshots_t0_v1_v"
ALIAS = "ml.woe_anchor_scores_live_train_v"
GUARD_CALL = "SELECT audit.require_certified_strict(%s, interval '24 hours')"

# Closure objects whose catalog version differs from the one baselined (the fast path misses).
VERSION_MISMATCHES = """
SELECT coalesce(c.object_name, b.object_name)
FROM (SELECT t.object_name, t.catalog_version
      FROM audit.t0_closure_objects_v1(%(ep)s::regclass) AS t) AS c
FULL JOIN (SELECT object_name, catalog_version FROM audit.t0_viewdef_baseline
           WHERE entrypoint = %(ep)s::text) AS b ON b.object_name = c.object_name
WHERE c.catalog_version IS DISTINCT FROM b.catalog_version
ORDER BY 1
"""


@pytest.fixture
def certified(make_database) -> str:
    """A database at head with 300 listings, package pkg_a active, both entrypoints certified."""
    return certified_database(make_database, 300)


def execute(url: str, statement: str, params: tuple = ()) -> None:
    with psycopg.connect(url) as c:
        c.execute(statement, params)


def refusal(c: psycopg.Connection, statement: str, params: tuple = ()) -> str:
    """The guard's message when `statement` runs on c (rolled back afterwards)."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as e:
        c.execute(statement, params).fetchall()
    c.rollback()
    return e.value.diag.message_primary


def refused(url: str, statement: str = GUARDED, params: tuple = ()) -> str:
    with psycopg.connect(url) as c:
        return refusal(c, statement, params)


def serves(url: str, statement: str = GUARDED, params: tuple = ()) -> list:
    with psycopg.connect(url) as c:
        return c.execute(statement, params).fetchall()


def mismatches(url: str, entrypoint: str) -> list[str]:
    with psycopg.connect(url) as c:
        return [r[0] for r in c.execute(VERSION_MISMATCHES, {"ep": entrypoint})]


# ------------------------------------------------------------------------------ freshness

@pytest.mark.parametrize(("entrypoint", "statement"), [
    (ENTRYPOINT, GUARDED), (SOURCE_ENTRYPOINT, GUARDED_SOURCE)])
def test_policy_max_age_shorter_than_the_views_argument_is_enforced(certified, entrypoint,
                                                                      statement):
    """The guarded views pass 24 hours; a policy of one minute must still refuse 2 hours."""
    execute(certified, "UPDATE audit.t0_entrypoint_policy SET max_age = interval '1 minute' "
                       "WHERE entrypoint = %s", (entrypoint,))
    assert serves(certified, statement)  # just certified: younger than a minute
    execute(certified, "UPDATE audit.t0_cert_registry SET certified_at = now() - interval '2 hours' "
                       "WHERE entrypoint = %s", (entrypoint,))
    message = refused(certified, statement)
    assert "STALE CERTIFICATION" in message and "older than 00:01:00" in message


def test_the_smaller_max_age_wins_either_way(certified):
    execute(certified, "UPDATE audit.t0_cert_registry SET certified_at = now() - interval '2 hours'")
    with psycopg.connect(certified) as c:
        # the caller's argument is the smaller one: it wins over the policy's 24 hours
        message = refusal(c, "SELECT audit.require_certified_strict(%s, interval '1 hour')",
                          (ENTRYPOINT,))
        assert "STALE CERTIFICATION" in message and "older than 01:00:00" in message
        assert c.execute(GUARD_CALL, (ENTRYPOINT,)).fetchone() == (True,)
        # an alias is held to its parent entrypoint's policy
        c.execute("UPDATE audit.t0_entrypoint_policy SET max_age = interval '90 minutes' "
                  "WHERE entrypoint = %s", (ENTRYPOINT,))
        message = refusal(c, GUARD_CALL, (ALIAS,))
        assert "STALE CERTIFICATION" in message and "older than 01:30:00" in message


def test_a_long_open_transaction_stops_reading_once_the_certification_is_stale(certified):
    """Age is measured at each statement, not at the start of the reader's transaction."""
    with psycopg.connect(certified) as reader, psycopg.connect(certified, autocommit=True) as admin:
        started = reader.execute("SELECT now()").fetchone()[0]  # the reader's transaction began
        # certified 24 hours minus one second before the reader's transaction began
        admin.execute("UPDATE audit.t0_cert_registry SET certified_at = %s - interval '24 hours' "
                      "+ interval '1 second'", (started,))
        assert len(reader.execute(GUARDED).fetchall()) == 10  # still fresh
        reader.execute("SELECT pg_sleep(1.5)")
        message = refusal(reader, GUARDED)
    assert "STALE CERTIFICATION" in message


@pytest.mark.parametrize("entrypoint", [ENTRYPOINT, ALIAS])
def test_a_certification_in_the_future_is_refused(certified, entrypoint):
    """A future certified_at would never go stale (woe_certifier may UPDATE the registry)."""
    execute(certified, "UPDATE audit.t0_cert_registry SET certified_at = now() + interval '1 year' "
                       "WHERE entrypoint = %s", (entrypoint,))
    message = refused(certified, GUARD_CALL, (entrypoint,))
    assert "STALE CERTIFICATION" in message and "in the future" in message


# ------------------------------------------------------------------------------ aliases

@pytest.mark.parametrize(("breakage", "reason"), [
    ("SET status = 'FAILED', detail = 'dataset_drift: 1 day changed'", "NOT CERTIFIED"),
    ("SET certified_at = certified_at - interval '25 hours'", "STALE CERTIFICATION"),
    ("SET certified_at = now() + interval '1 hour'", "STALE CERTIFICATION"),
], ids=["parent-failed", "parent-stale", "parent-in-future"])
def test_an_alias_is_refused_when_its_parent_is_not_certified(certified, breakage, reason):
    assert serves(certified, GUARD_CALL, (ALIAS,)) == [(True,)]
    execute(certified, f"UPDATE audit.t0_cert_registry {breakage} WHERE entrypoint = %s",
            (ENTRYPOINT,))
    message = refused(certified, GUARD_CALL, (ALIAS,))
    assert message.startswith(reason) and ENTRYPOINT in message


def test_an_alias_is_refused_when_its_parent_has_no_registry_row(certified):
    execute(certified, "DELETE FROM audit.t0_cert_registry WHERE entrypoint = %s", (ENTRYPOINT,))
    message = refused(certified, GUARD_CALL, (ALIAS,))
    assert message.startswith("NOT CERTIFIED") and ENTRYPOINT in message


def test_an_alias_is_refused_after_its_parent_fails_a_real_run(certified):
    """The alias is dropped from the policy first, so the failing run no longer rewrites its
    row: it stays CERTIFIED while its parent is FAILED. The run fails on a snapshot dated a
    month past the newest baselined day (a new day: it invalidates nothing by itself)."""
    execute(certified, "UPDATE audit.t0_entrypoint_policy SET aliases = array_remove(aliases, %s) "
                       "WHERE entrypoint = %s", (ALIAS, ENTRYPOINT))
    execute(certified, """INSERT INTO src.listing_snapshots_t0 (generation, listing_id, t0)
                          SELECT 1, 999999, max(t0) + interval '30 days'
                          FROM src.listing_snapshots_t0""")
    [result] = certify.run(certified, ENTRYPOINT)
    assert result.status == "FAILED"
    status = {r.entrypoint: r.status for r in certify.status(certified)}
    assert status[ENTRYPOINT] == "FAILED" and status[ALIAS] == "CERTIFIED"
    message = refused(certified, GUARD_CALL, (ALIAS,))
    assert message.startswith("NOT CERTIFIED") and "FAILED" in message


def test_an_alias_dropped_from_its_parents_policy_is_refused(certified):
    execute(certified, "UPDATE audit.t0_entrypoint_policy SET aliases = array_remove(aliases, %s) "
                       "WHERE entrypoint = %s", (ALIAS, ENTRYPOINT))
    [result] = certify.run(certified, ENTRYPOINT)  # the parent stays certified and fresh
    assert result.status == "CERTIFIED"
    message = refused(certified, GUARD_CALL, (ALIAS,))
    assert message.startswith("NOT CERTIFIED") and f"no longer an alias of {ENTRYPOINT}" in message
    assert serves(certified, GUARD_CALL, ("ml.woe_anchor_scores_live_v1",)) == [(True,)]


def test_an_alias_is_refused_when_the_active_package_is_not_its_parents(certified):
    """A new package is active and uncertified; an alias row edited to name it must not serve."""
    with psycopg.connect(certified) as c:
        insert_package(c, "pkg_b", base_rate=0.41)
        c.execute("UPDATE audit.t0_cert_registry SET certified_model_key = 'pkg_b' "
                  "WHERE entrypoint = %s", (ALIAS,))
    assert "PACKAGE CHANGED" in refused(certified, GUARD_CALL, (ENTRYPOINT,))
    message = refused(certified, GUARD_CALL, (ALIAS,))
    assert "PACKAGE CHANGED" in message and "pkg_b" in message and "pkg_a" in message


# ------------------------------------------------------------------------------ column renames

SWAP_COLUMNS = """
ALTER {kind} {rel} RENAME COLUMN {a} TO swap_tmp;
ALTER {kind} {rel} RENAME COLUMN {b} TO {a};
ALTER {kind} {rel} RENAME COLUMN swap_tmp TO {b};
"""


@pytest.mark.parametrize(("kind", "rel", "a", "b", "statement", "changed"), [
    # an inner view of the closure: the entrypoint now reads the probability as the logit
    ("VIEW", "ml.woe_anchor_scores_live_v1", "woe_logit", "woe_anchor_p_slow21", GUARDED,
     "changed ml.woe_anchor_feature_store_t0_v1_v; changed ml.woe_anchor_scores_live_v1"),
    # the entrypoint itself: the guarded view reads its columns by name
    ("VIEW", ENTRYPOINT, "woe_logit", "woe_anchor_p_slow21", GUARDED,
     "changed ml.woe_anchor_feature_store_t0_v1_v"),
    # a table the entrypoint reads: its printed definition swaps the two columns
    ("TABLE", "src.listing_snapshots_t0", "ai_ship_can", "ai_ship_pickup", GUARDED_SOURCE,
     "changed src.listing_snapshots_t0_v1_v"),
], ids=["closure-view", "entrypoint", "source-table"])
def test_swapping_columns_by_rename_is_definition_drift(certified, kind, rel, a, b, statement,
                                                        changed):
    """ALTER ... RENAME COLUMN rewrites only pg_attribute rows: the definitions print differently
    while their pg_rewrite rows are untouched."""
    execute(certified, SWAP_COLUMNS.format(kind=kind, rel=rel, a=a, b=b))
    message = refused(certified, statement)
    assert message.startswith("DEFINITION DRIFT") and message.endswith(changed), message


def test_column_renames_are_certification_failures_and_rebaselining_restores_the_fast_path(
        certified):
    execute(certified, SWAP_COLUMNS.format(kind="VIEW", rel="ml.woe_anchor_scores_live_v1",
                                           a="woe_logit", b="woe_anchor_p_slow21"))
    assert "ml.woe_anchor_scores_live_v1" in mismatches(certified, ENTRYPOINT)
    [result] = certify.run(certified, ENTRYPOINT)
    assert result.status == "FAILED"
    certify.baseline(certified, ENTRYPOINT)
    [result] = certify.run(certified, ENTRYPOINT)
    assert result.status == "CERTIFIED"
    assert mismatches(certified, ENTRYPOINT) == []  # baseline and run record the same versions
    assert len(serves(certified)) == 10


def test_baseline_and_run_record_the_catalog_versions_the_guard_compares(certified):
    for entrypoint in (ENTRYPOINT, SOURCE_ENTRYPOINT):
        assert mismatches(certified, entrypoint) == []


def test_a_harmless_column_alter_costs_the_slow_path_not_a_refusal(certified):
    """A per-column setting rewrites the pg_attribute row too; the raw hashes still match."""
    execute(certified, "ALTER TABLE src.listing_snapshots_t0 ALTER COLUMN ai_ship_can "
                       "SET STATISTICS 200")
    assert mismatches(certified, SOURCE_ENTRYPOINT) == ["src.listing_snapshots_t0"]
    assert serves(certified, GUARDED_SOURCE) == [(300,)]
    [result] = certify.run(certified, SOURCE_ENTRYPOINT)
    assert result.status == "CERTIFIED" and mismatches(certified, SOURCE_ENTRYPOINT) == []


def test_upgrading_to_the_complete_closure_demotes_until_recertified(make_database):
    """0057 widens the closure: baselines of the previous one lack most of its objects, so the
    upgrade demotes every certification (the guard refuses, naming what to run) until baseline
    and run record the complete closure; the downgrade restores 0052's guard and versions."""
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        insert_source(c, 200)
        insert_package(c, "pkg_a")
    certify.baseline(url)
    assert [r.status for r in certify.run(url)] == ["CERTIFIED", "CERTIFIED"]
    downgrade(url, "0056")
    assert len(serves(url)) == 10  # 0052's guard, versions re-recorded by the downgrade
    upgrade(url, "head")
    assert "revision 0057 completed the closure" in refused(url, GUARDED)
    certify.baseline(url)
    assert [r.status for r in certify.run(url)] == ["CERTIFIED", "CERTIFIED"]
    for entrypoint in (ENTRYPOINT, SOURCE_ENTRYPOINT):
        assert mismatches(url, entrypoint) == []
    assert len(serves(url)) == 10

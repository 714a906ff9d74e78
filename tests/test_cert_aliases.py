"""The guarded consumer views (policy aliases outside the entrypoint's closure) are certified too,
and a run whose outcome cannot be recorded leaves FAILED, not the previous CERTIFIED.

Nothing else watches an alias's own definition: the guard cannot check the view that is
supposed to call it, so a consumer view redefined without its guard would be served unguarded.
"""

from __future__ import annotations

import re

import psycopg
import pytest

from harness import certify
from tests.packages import certified_database
from tests.test_certify import ENTRYPOINT, viewdef
from tests.test_guard_hardening import VERSION_MISMATCHES

SOURCE_ENTRYPOINT = "src.listing_snapshots_t0_v1_v"
GUARDED_VIEWS = {  # alias -> the entrypoint whose policy lists it
    "ml.woe_anchor_scores_live_train_v": ENTRYPOINT,
    "src.listing_snapshots_t0_live_train_v": SOURCE_ENTRYPOINT,
}
IN_CLOSURE_ALIAS = "ml.woe_anchor_scores_live_v1"  # read by the entrypoint itself
GUARD_CALL = "SELECT audit.require_certified_strict(%s, interval '24 hours')"


@pytest.fixture
def certified(make_database) -> str:
    return certified_database(make_database, 300)


def alias_check(result: certify.RunResult) -> certify.Check:
    return next(ch for ch in result.checks if ch.name == "alias_drift")


def replace_view(url: str, name: str, old: str, new: str) -> str:
    """CREATE OR REPLACE the view with `old` replaced by `new`; returns the original text."""
    with psycopg.connect(url) as c:
        text = viewdef(c, name)
        assert old in text
        c.execute(f"CREATE OR REPLACE VIEW {name} AS " + text.replace(old, new))
    return text


def refusal(url: str, statement: str, params: tuple = ()) -> str:
    with psycopg.connect(url) as c, pytest.raises(psycopg.errors.InsufficientPrivilege) as e:
        c.execute(statement, params).fetchall()
    return e.value.diag.message_primary


def test_baseline_records_the_guarded_views_outside_the_closure(certified):
    with psycopg.connect(certified) as c:
        rows = c.execute("SELECT entrypoint, object_name, object_kind FROM audit.t0_viewdef_baseline "
                         "WHERE entrypoint <> ALL(%s) ORDER BY 1",
                         ([ENTRYPOINT, SOURCE_ENTRYPOINT],)).fetchall()
        # the guard's fast path compares only the rows keyed by the policy's entrypoint
        for ep in (ENTRYPOINT, SOURCE_ENTRYPOINT):
            assert c.execute(VERSION_MISMATCHES, {"ep": ep}).fetchall() == []
    assert rows == [(a, a, "view") for a in sorted(GUARDED_VIEWS)]
    assert IN_CLOSURE_ALIAS not in {r[0] for r in rows}


@pytest.mark.parametrize("alias", sorted(GUARDED_VIEWS))
def test_a_guarded_view_without_its_guard_is_not_certified(certified, alias):
    guard = f"audit.require_certified_strict('{GUARDED_VIEWS[alias]}'::text, '24:00:00'::interval)"
    original = replace_view(certified, alias, guard, "true")
    [report] = certify.check(certified, GUARDED_VIEWS[alias])
    assert report.status == "DRIFT" and "require_certified_strict" in alias_check(report).data["diff"]
    [result] = certify.run(certified, GUARDED_VIEWS[alias])
    drift = alias_check(result)
    assert result.status == "FAILED" and not drift.ok
    assert f"semantic change in alias {alias}" in drift.detail
    # restored, the guarded view refuses until the next run certifies again
    with psycopg.connect(certified) as c:
        c.execute(f"CREATE OR REPLACE VIEW {alias} AS {original}")
    message = refusal(certified, f"SELECT * FROM {alias} LIMIT 1")
    assert "NOT CERTIFIED" in message and alias in message
    assert "NOT CERTIFIED" in refusal(certified, GUARD_CALL, (alias,))
    [again] = certify.run(certified, GUARDED_VIEWS[alias])
    assert again.status == "CERTIFIED", again.as_json()
    with psycopg.connect(certified) as c:
        assert c.execute(f"SELECT count(*) FROM {alias}").fetchone()[0] > 0


def test_a_missing_alias_view_or_baseline_fails(certified):
    alias = "ml.woe_anchor_scores_live_train_v"
    with psycopg.connect(certified) as c:
        c.execute("DELETE FROM audit.t0_viewdef_baseline WHERE entrypoint = %s", (alias,))
    [result] = certify.run(certified, ENTRYPOINT)
    assert result.status == "FAILED" and f"alias {alias} has no baseline" in alias_check(result).detail
    with psycopg.connect(certified) as c:
        c.execute(f"DROP VIEW {alias}")
    certify.baseline(certified, ENTRYPOINT)
    [result] = certify.run(certified, ENTRYPOINT)
    assert result.status == "FAILED" and f"alias {alias} is not a view" in alias_check(result).detail


def test_a_cosmetic_change_of_an_alias_passes_and_its_raw_hash_is_rerecorded(certified):
    alias = "ml.woe_anchor_scores_live_train_v"
    raw = "SELECT raw_sha256 FROM audit.t0_viewdef_baseline WHERE entrypoint = %s"
    with psycopg.connect(certified) as c:
        before = c.execute(raw, (alias,)).fetchone()[0]
        text = viewdef(c, alias)
        # The parent aliased as f. Before PostgreSQL 16 the server prints every column of a
        # one-table view qualified by the table's name, and those references follow the alias.
        aliased = re.sub(r"(?<![.\w'])woe_anchor_feature_store_t0_v1_v\.", "f.", text)
        c.execute(f"CREATE OR REPLACE VIEW {alias} AS "
                  + aliased.replace("FROM ml.woe_anchor_feature_store_t0_v1_v",
                                    "FROM ml.woe_anchor_feature_store_t0_v1_v AS f"))
        assert viewdef(c, alias) != text  # the server prints it differently
    [result] = certify.run(certified, ENTRYPOINT)
    assert result.status == "CERTIFIED", result.as_json()
    assert alias_check(result).data["cosmetic"] == [alias]
    with psycopg.connect(certified) as c:
        assert c.execute(raw, (alias,)).fetchone()[0] != before
        assert c.execute(f"SELECT count(*) FROM {alias}").fetchone()[0] > 0


def test_an_outcome_that_cannot_be_recorded_leaves_failed(certified):
    with psycopg.connect(certified) as c:
        c.execute("""
            CREATE FUNCTION public.no_certified() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'history refused'; END $$""")
        c.execute("CREATE TRIGGER no_certified BEFORE INSERT ON audit.t0_cert_run_history "
                  "FOR EACH ROW WHEN (NEW.status = 'CERTIFIED') "
                  "EXECUTE FUNCTION public.no_certified()")
    with pytest.raises(psycopg.errors.RaiseException, match="history refused"):
        certify.run(certified, ENTRYPOINT)
    with psycopg.connect(certified) as c:
        registry = dict(c.execute(
            "SELECT entrypoint, status FROM audit.t0_cert_registry "
            "WHERE entrypoint = %s OR inherited_from = %s", (ENTRYPOINT, ENTRYPOINT)).fetchall())
        detail, last = c.execute(
            "SELECT (SELECT detail FROM audit.t0_cert_registry WHERE entrypoint = %(ep)s), "
            "(SELECT status FROM audit.t0_cert_run_history WHERE entrypoint = %(ep)s "
            "ORDER BY run_id DESC LIMIT 1)", {"ep": ENTRYPOINT}).fetchone()
    assert set(registry.values()) == {"FAILED"} and len(registry) == 3
    assert "history refused" in detail and last == "FAILED"
    assert "NOT CERTIFIED" in refusal(certified, "SELECT * FROM ml.woe_anchor_scores_live_train_v")


def test_a_python_error_while_recording_leaves_failed(certified, monkeypatch):
    def broken(*_args):
        raise RuntimeError("cannot record")

    monkeypatch.setattr(certify, "record_passing", broken)
    with pytest.raises(RuntimeError, match="cannot record"):
        certify.run(certified, SOURCE_ENTRYPOINT)
    with psycopg.connect(certified) as c:
        status, detail = c.execute("SELECT status, detail FROM audit.t0_cert_registry "
                                   "WHERE entrypoint = %s", (SOURCE_ENTRYPOINT,)).fetchone()
    assert status == "FAILED" and "RuntimeError: cannot record" in detail
    assert "NOT CERTIFIED" in refusal(certified, "SELECT * FROM src.listing_snapshots_t0_live_train_v")

"""The source contract's guarded view: readable by the reader role, fail-closed like the store."""

from __future__ import annotations

import psycopg
import pytest

from tests.packages import certified_database
from tests.roles import READER, as_role

GUARDED_SOURCE = "SELECT count(*) FROM src.listing_snapshots_t0_live_train_v"
SOURCE_ENTRYPOINT = "src.listing_snapshots_t0_v1_v"


@pytest.fixture
def certified(make_database) -> str:
    return certified_database(make_database, 300)


def test_reader_reads_the_guarded_source_view_only(certified):
    with as_role(certified, READER) as c:
        assert c.execute(GUARDED_SOURCE).fetchone()[0] == 300
        c.rollback()
        for relation in (SOURCE_ENTRYPOINT, "src.listing_snapshots_t0", "src.listing_outcomes"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                c.execute(f"SELECT 1 FROM {relation} LIMIT 1")
            c.rollback()


def test_alias_row_inherits_the_source_entrypoint_status(certified):
    with psycopg.connect(certified) as c:
        row = c.execute(
            "SELECT status, inherited_from FROM audit.t0_cert_registry WHERE entrypoint = %s",
            ("src.listing_snapshots_t0_live_train_v",),
        ).fetchone()
    assert row == ("CERTIFIED", SOURCE_ENTRYPOINT)


def _refused(url: str, reason: str) -> None:
    with as_role(url, READER) as c, pytest.raises(psycopg.errors.InsufficientPrivilege, match=reason):
        c.execute(GUARDED_SOURCE)


@pytest.mark.parametrize(("breakage", "reason"), [
    (("UPDATE audit.t0_cert_registry SET certified_at = certified_at - interval '25 hours'"
      " WHERE entrypoint = 'src.listing_snapshots_t0_v1_v'"), "STALE CERTIFICATION"),
    ("DELETE FROM audit.t0_cert_registry WHERE entrypoint = 'src.listing_snapshots_t0_v1_v'",
     "NOT CERTIFIED"),
], ids=["stale", "no-registry-row"])
def test_guarded_source_view_fails_closed(certified, breakage, reason):
    with psycopg.connect(certified) as c:
        c.execute(breakage)
    _refused(certified, reason)


def test_guarded_source_view_refuses_a_drifted_entrypoint(certified):
    with psycopg.connect(certified) as c:
        definition = c.execute("SELECT pg_get_viewdef(%s::regclass)", (SOURCE_ENTRYPOINT,)).fetchone()[0]
        assert "LEFT JOIN" in definition
        # listings without vision rows silently disappear: a semantic change
        c.execute("CREATE OR REPLACE VIEW src.listing_snapshots_t0_v1_v AS "
                  + definition.replace("LEFT JOIN", "JOIN", 1))
    _refused(certified, "DEFINITION DRIFT")

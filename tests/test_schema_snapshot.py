"""migrations/schema.sql is the schema at head; it goes stale the moment a revision changes."""

from __future__ import annotations

import psycopg
import pytest

from harness.schema_snapshot import SNAPSHOT, dump_schema, normalize
from tests.conftest import server_version_num


def test_committed_snapshot_matches_a_fresh_upgrade_head(make_database):
    url = make_database(migrate_to="head")
    version = server_version_num(url)
    if version // 10000 != 18:
        pytest.skip(f"migrations/schema.sql is PostgreSQL 18's rendering; the server is {version}")
    fresh = dump_schema(url)
    assert SNAPSHOT.read_text() == fresh, "migrations/schema.sql is stale: run `make schema`"


def test_snapshot_detects_a_schema_change(make_database):
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        c.execute("ALTER TABLE ml.woe_anchor_cuts_v1 ADD COLUMN note text")
    assert SNAPSHOT.read_text() != dump_schema(url)


def test_normalize_drops_version_banners_and_restrict_keys():
    dump = "--\n-- Dumped by pg_dump version 18.4\n\\restrict abc\nSET x = 1;\n\n\nCREATE SCHEMA ml;\n\\unrestrict abc\n"
    assert normalize(dump).endswith("\nCREATE SCHEMA ml;\n")
    assert "18.4" not in normalize(dump) and "restrict" not in normalize(dump)

"""What the proof strips from a stored query tree before comparing: labels only, never meaning."""

from __future__ import annotations

import psycopg
import pytest

from harness import normalize, normalize_proof
from harness.closure import ClosureObject


@pytest.fixture(scope="module")
def conn(make_database):
    with psycopg.connect(make_database(), autocommit=True) as c:
        c.execute("CREATE SCHEMA p; CREATE TABLE p.t (id integer, g text)")
        yield c


def tree(c: psycopg.Connection, query: str) -> list[str]:
    """The comparable tokens of query's stored tree (created in a rolled-back savepoint)."""
    with c.transaction(force_rollback=True):
        c.execute(f"CREATE VIEW p.v AS {query}")
        oid, text = c.execute("SELECT r.ev_class, r.ev_action::text FROM pg_rewrite AS r "
                              "WHERE r.ev_class = 'p.v'::regclass").fetchone()
    return normalize_proof.comparable(text, oid)


@pytest.mark.parametrize("a, b", [
    ("SELECT 1 AS a", "SELECT   1   AS a"),  # locations
    ("SELECT x.id FROM p.t AS x", 'SELECT "a b(c){d}\\e".id FROM p.t AS "a b(c){d}\\e"'),
    ("SELECT id FROM p.t", "SELECT x.id FROM p.t x"),  # alias or none
    ("SELECT id::text AS s FROM p.t", "SELECT CAST(id AS text) AS s FROM p.t"),  # display form
    ("WITH a AS (SELECT 1 AS x) SELECT x FROM a", "WITH b AS (SELECT 1 AS x) SELECT x FROM b"),
    ("SELECT 1 AS a UNION SELECT 2 AS b", "SELECT 1 AS a UNION SELECT 2 AS c"),  # branch names
    ("WITH w(k) AS (SELECT 1 AS one) SELECT k FROM w", "WITH w(k) AS (SELECT 1) SELECT k FROM w"),
])
def test_labels_are_stripped(conn, a, b):
    assert tree(conn, a) == tree(conn, b)


@pytest.mark.parametrize("a, b", [
    ("SELECT 1 AS a", "SELECT 1 AS b"),  # the view's column names
    ("SELECT 1 AS a", "SELECT 2 AS a"),
    ("SELECT g AS a FROM p.t", "SELECT g COLLATE \"C\" AS a FROM p.t"),
    ("SELECT 1 AS a UNION SELECT 2 AS b", "SELECT 1 AS z UNION SELECT 2 AS b"),  # result names
    ("WITH a AS (SELECT 1 AS x), b AS (SELECT 2 AS x) SELECT x FROM a",
     "WITH a AS (SELECT 1 AS x), b AS (SELECT 2 AS x) SELECT x FROM b"),  # which CTE is read
    ("SELECT to_jsonb(s) AS j FROM (SELECT 1 AS a) AS s",
     "SELECT to_jsonb(s) AS j FROM (SELECT 1 AS b) AS s"),  # a subquery's names reach the row
])
def test_meaning_is_kept(conn, a, b):
    assert tree(conn, a) != tree(conn, b)


def test_a_name_that_reads_like_a_field_leaves_the_view_unproven(conn):
    with conn.transaction(force_rollback=True):
        conn.execute('CREATE VIEW p.v AS SELECT id AS ":location", g AS "x :varno" FROM p.t')
        definition = conn.execute("SELECT pg_get_viewdef('p.v'::regclass)").fetchone()[0]
        obj = ClosureObject("p.v", "view", definition, normalize.sha256_text(definition), None)
        schema = {"p": {"t": {"id": "integer", "g": "text"}}}
        proof = normalize_proof.prove(conn, obj, normalize.normalize_object(obj, schema))
    assert not proof.proven and proof.reason.startswith("its query tree cannot be compared")


def test_only_views_and_materialized_views_are_proven(conn):
    obj = ClosureObject("p.f(integer)", "function", "CREATE FUNCTION ...", "0" * 64, None)
    proof = normalize_proof.prove(conn, obj, normalize.Normalized("x", "0" * 64, ()))
    assert not proof.proven and proof.reason == "a function is not proven"

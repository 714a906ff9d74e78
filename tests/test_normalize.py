"""Normalized hashes: equal across PostgreSQL 15 and 18, different for every semantic edit."""

from __future__ import annotations

import psycopg
import pytest
import sqlglot
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.errors import OptimizeError

from harness import closure, normalize
from tests.conftest import server_version_num, upgrade
from tests.postgres15 import pg15_admin_url  # noqa: F401 - fixture

ENTRYPOINTS = ("ml.woe_anchor_scores_live_train_v", "src.listing_snapshots_t0_v1_v")


def closure_hashes(url: str) -> dict[str, tuple[str, str]]:
    """object -> (raw sha256, normalized sha256) over both entrypoints' closures."""
    with psycopg.connect(url) as c:
        schema = closure.catalog_schema(c)
        return {
            o.name: (o.raw_sha256, normalize.normalize_object(o, schema).sha256)
            for ep in ENTRYPOINTS for o in closure.fetch(c, ep) if o.has_definition
        }


def test_pg15_and_pg18_give_equal_normalized_hashes_for_every_closure_object(
    pg15_admin_url, database_url  # noqa: F811
):
    from harness import db

    with psycopg.connect(pg15_admin_url, autocommit=True) as c:
        assert c.execute("SHOW server_version_num").fetchone()[0].startswith("15")
        c.execute("CREATE DATABASE woe_pg15_head")
    url15 = db.with_dbname(pg15_admin_url, "woe_pg15_head")
    upgrade(url15)
    version = server_version_num(database_url)
    if version < 180000:
        pytest.skip(f"compares PostgreSQL 15 with 18; the suite's server is {version}")
    on15, on18 = closure_hashes(url15), closure_hashes(database_url)
    assert set(on15) == set(on18) and len(on15) >= 9
    assert {k: v[1] for k, v in on15.items()} == {k: v[1] for k, v in on18.items()}
    # The raw text really differs (single-table views lose their qualifiers in 16+).
    assert on15["ml.woe_anchor_feature_store_t0_v1_v"][0] != on18["ml.woe_anchor_feature_store_t0_v1_v"][0]


@pytest.fixture(scope="module")
def catalog(database_url) -> tuple[dict, list[tuple[str, str]]]:
    """The catalog schema and the raw definitions of the closure's views and SQL bodies."""
    with psycopg.connect(database_url) as c:
        schema = closure.catalog_schema(c)
        objects = closure.fetch(c, "ml.woe_anchor_scores_live_train_v")
    texts = [(o.name, o.definition) for o in objects if o.kind == "view"]
    texts += [(o.name, normalize._sql_body_statements(o.body)) for o in objects
              if o.kind == "function" and o.sql_standard_body]
    return schema, texts


OPERATOR_SWAPS = {exp.LTE: exp.LT, exp.LT: exp.LTE, exp.GTE: exp.GT, exp.GT: exp.GTE,
                  exp.EQ: exp.NEQ, exp.Add: exp.Sub, exp.Sub: exp.Add, exp.Mul: exp.Div}


def edit_literal(tree: exp.Expression, pick: int) -> bool:
    numbers = [n for n in tree.find_all(exp.Literal) if not n.is_string]
    if not numbers:
        return False
    node = numbers[pick % len(numbers)]
    node.replace(exp.Literal.number(repr(float(node.this) + 0.5)))
    return True


def edit_operator(tree: exp.Expression, pick: int) -> bool:
    nodes = [n for n in tree.walk() if type(n) in OPERATOR_SWAPS]
    if not nodes:
        return False
    node = nodes[pick % len(nodes)]
    node.replace(OPERATOR_SWAPS[type(node)](this=node.this.copy(), expression=node.expression.copy()))
    return True


def edit_join_condition(tree: exp.Expression, pick: int) -> bool:
    """Point one column of a join condition at another relation's column of the same name."""
    joins = [j for j in tree.find_all(exp.Join) if j.args.get("on")]
    columns = [c for j in joins for c in j.args["on"].find_all(exp.Column) if c.table]
    if not columns:
        return False
    target = columns[pick % len(columns)]
    others = sorted({c.table for c in tree.find_all(exp.Column) if c.table} - {target.table})
    if not others:
        return False
    target.set("table", exp.to_identifier(others[pick % len(others)]))
    return True


EDITS = {"literal": edit_literal, "operator": edit_operator, "join_condition": edit_join_condition}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(min_value=0), kind=st.sampled_from(sorted(EDITS)),
       pick=st.integers(min_value=0, max_value=10_000))
def test_semantic_edits_always_change_the_normalized_hash(catalog, which, kind, pick):
    schema, texts = catalog
    name, text = texts[which % len(texts)]
    original, _ = normalize.normalize_query(text, schema)
    tree = sqlglot.parse_one(text, read="postgres")
    if not EDITS[kind](tree, pick):
        return  # this definition has nothing of that kind to edit
    try:
        edited, _ = normalize.normalize_query(tree.sql(dialect="postgres"), schema)
    except OptimizeError:
        assume(False)  # the edit named a column that relation lacks: PostgreSQL would reject it
    assert normalize.sha256_text(edited) != normalize.sha256_text(original), (name, kind)


def test_cosmetic_variants_normalize_equal(catalog):
    schema, _ = catalog
    a = "SELECT generation, t0 FROM ml.woe_anchor_scores_live_v1"
    b = ("SELECT   x.generation,\n x.t0 -- comment\n FROM ml.woe_anchor_scores_live_v1 AS x;")
    c = "SELECT woe_anchor_scores_live_v1.generation, woe_anchor_scores_live_v1.t0 FROM ml.woe_anchor_scores_live_v1"
    assert len({normalize.normalize_query(q, schema)[0] for q in (a, b, c)}) == 1


def test_procedural_bodies_are_normalized_by_whitespace_and_comments_only():
    assert normalize.strip_procedural("BEGIN\n  -- hi\n  RETURN  1; /* x */\nEND") == "BEGIN RETURN 1; END"

"""The view corpus (tests/corpus/*.sql) through normalization and the server's proof.

views.sql      created on PostgreSQL 15 and 18 (and dumped from 15 into 18): every view is
               proven on each, and the normalized hashes are equal
unproven.sql   fenced: unproven on each, so the raw hash decides
unreadable.sql sqlglot cannot read them: normalization names the error, never raises
Every edit of a corpus view that changes its meaning changes its verdict: its normalized hash
changes, or the proof fails and its (changed) raw hash decides.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from harness import closure, db, embedded, normalize, normalize_proof, pg_sqlglot, pgsettings
from harness.closure import ClosureObject
from tests.conftest import server_version_num
from tests.postgres15 import pg15_admin_url  # noqa: F401 - fixture

CORPUS = Path(__file__).parent / "corpus"
FILES = ("setup", "views", "unproven", "unreadable")


def view_names(name: str) -> list[str]:
    return re.findall(r"^CREATE VIEW (\S+) AS", (CORPUS / f"{name}.sql").read_text(),
                      re.MULTILINE)


PROVEN, UNPROVEN, UNREADABLE = view_names("views"), view_names("unproven"), view_names("unreadable")


def load_corpus(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as c:
        for name in FILES:
            c.execute((CORPUS / f"{name}.sql").read_text())
    return url


@dataclass(frozen=True)
class Form:
    obj: ClosureObject
    norm: normalize.Normalized
    proof: normalize_proof.Proof


def current_object(c: psycopg.Connection, name: str) -> ClosureObject:
    definition = c.execute("SELECT pg_catalog.pg_get_viewdef(%s::pg_catalog.regclass)",
                           (name,)).fetchone()[0]
    return ClosureObject(name, "view", definition, normalize.sha256_text(definition), None)


def forms(c: psycopg.Connection, names: list[str]) -> dict[str, Form]:
    """Definition as printed, normalized form and proof of each view, under pinned settings."""
    out = {}
    with pgsettings.pinned(c):
        schema = closure.catalog_schema(c)
        for name in names:
            obj = current_object(c, name)
            norm = normalize.normalize_object(obj, schema)
            out[name] = Form(obj, norm, normalize_proof.prove(c, obj, norm))
    return out


def corpus_forms(url: str, names: list[str]) -> dict[str, Form]:
    with psycopg.connect(url, autocommit=True) as c:
        return forms(c, names)


@pytest.fixture(scope="module")
def corpus18(make_database) -> str:
    """The corpus on the suite's server: PostgreSQL 18 (the 15-vs-18 tests skip on another)."""
    return load_corpus(make_database())


@pytest.fixture(scope="module")
def require18(corpus18) -> None:
    version = server_version_num(corpus18)
    if version < 180000:
        pytest.skip(f"compares PostgreSQL 15 with 18; the suite's server is {version}")


@pytest.fixture(scope="module")
def corpus15(pg15_admin_url) -> str:  # noqa: F811
    name = f"woe_corpus15_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg15_admin_url, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return load_corpus(db.with_dbname(pg15_admin_url, name))


@pytest.fixture(scope="module")
def restored18(corpus15, make_database, require18) -> str:
    """The 15 corpus database dumped by 18's pg_dump and restored by its psql into 18."""
    url = make_database()
    tools = embedded.bin_dir()
    dump = subprocess.run([str(tools / "pg_dump"), "--no-owner", "--no-privileges", "-d", corpus15],
                          check=True, capture_output=True, text=True).stdout
    subprocess.run([str(tools / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
                   input=dump, check=True, capture_output=True, text=True)
    return url


def unproven(found: dict[str, Form]) -> dict[str, str]:
    return {n: f.proof.reason for n, f in found.items() if not f.proof.proven}


# -- the corpus itself --------------------------------------------------------------------------

def test_the_corpus_has_at_least_30_proven_views_and_names_each_once():
    names = PROVEN + UNPROVEN + UNREADABLE
    assert len(PROVEN) >= 30 and len(set(names)) == len(names)
    text = (CORPUS / "views.sql").read_text()
    for construct in ("EXCLUDE", "FILTER", "LATERAL", "RECURSIVE", "MATERIALIZED", "GROUPING SETS",
                      "DISTINCT ON", "COLLATE", "@>", "?|", "UNION", "VALUES", "|/", "@ n"):
        assert construct in text, construct


def test_every_corpus_view_is_proven_on_18(corpus18):
    assert unproven(corpus_forms(corpus18, PROVEN)) == {}


def test_pg15_and_pg18_give_equal_normalized_hashes_for_the_corpus(corpus15, corpus18, require18):
    on15, on18 = corpus_forms(corpus15, PROVEN), corpus_forms(corpus18, PROVEN)
    with psycopg.connect(corpus15) as c:
        assert c.execute("SHOW server_version_num").fetchone()[0].startswith("15")
    assert unproven(on15) == {} and unproven(on18) == {}
    differ = {n for n in PROVEN if on15[n].norm.sha256 != on18[n].norm.sha256}
    assert differ == set(), {n: (on15[n].norm.sql, on18[n].norm.sql) for n in sorted(differ)}
    # the raw text really differs: 16+ print single-relation views without qualifiers
    assert sum(on15[n].obj.raw_sha256 != on18[n].obj.raw_sha256 for n in PROVEN) >= 20


def test_a_pg15_dump_restored_into_18_gives_equal_normalized_hashes(corpus15, restored18):
    on15, restored = corpus_forms(corpus15, PROVEN), corpus_forms(restored18, PROVEN)
    assert unproven(restored) == {}
    assert {n: restored[n].norm.sha256 for n in PROVEN} == {n: on15[n].norm.sha256 for n in PROVEN}


def test_fenced_views_stay_unproven_and_keep_their_raw_hash_across_versions(corpus15, corpus18):
    on15, on18 = corpus_forms(corpus15, UNPROVEN), corpus_forms(corpus18, UNPROVEN)
    assert set(unproven(on15)) == set(unproven(on18)) == set(UNPROVEN)
    # printed identically (several relations keep their qualifiers): no false drift either
    assert {n: f.obj.raw_sha256 for n, f in on15.items()} == {
        n: f.obj.raw_sha256 for n, f in on18.items()}


def test_a_materialized_view_is_proven_by_a_temporary_view_of_its_query(corpus15, corpus18):
    found = {}
    for url in (corpus15, corpus18):
        with psycopg.connect(url, autocommit=True) as c, c.transaction(force_rollback=True):
            c.execute("CREATE MATERIALIZED VIEW corpus.mv AS SELECT g, count(*) AS c "
                      "FROM corpus.t WHERE id > 1 GROUP BY g WITH NO DATA")
            view = forms(c, ["corpus.mv"])["corpus.mv"]
            obj = dataclasses.replace(view.obj, kind="materialized_view")
            found[url] = normalize_proof.prove(c, obj, view.norm), view.norm.sha256
    assert [proof.proven for proof, _ in found.values()] == [True, True]
    assert found[corpus15][1] == found[corpus18][1]


def test_views_sqlglot_cannot_read_are_named_not_raised(corpus18):
    found = corpus_forms(corpus18, UNREADABLE)
    for name, f in found.items():
        assert f.norm.error and "\n" not in f.norm.error, name
        assert f.norm.trees == () and not f.proof.proven
        assert f.proof.reason.startswith("sqlglot cannot read it")


# -- 15 vs 18 and misparses, case by case ---------------------------------------------------------

CYCLE_CTE = ("WITH RECURSIVE w(id, parent) AS (SELECT tree.id, tree.parent FROM corpus.tree "
             "UNION ALL SELECT c.id, c.parent FROM (corpus.tree c JOIN w w_1 ON "
             "((c.parent = w_1.id)))) SEARCH BREADTH FIRST BY id SET ord CYCLE id SET is_cycle "
             "USING route ")


@pytest.mark.parametrize("on15, on18", [
    ("SELECT DISTINCT ON (t.g) t.g, t.id FROM corpus.t ORDER BY t.g, t.id DESC",
     "SELECT DISTINCT ON (g) g, id FROM corpus.t ORDER BY g, id DESC"),
    ("SELECT t.id, t.x FROM corpus.t ORDER BY t.x FETCH FIRST (3) ROWS WITH TIES",
     "SELECT id, x FROM corpus.t ORDER BY x FETCH FIRST (3) ROWS WITH TIES"),
    ("SELECT (@ t.n) AS a FROM corpus.t", "SELECT (@ n) AS a FROM corpus.t"),
    (CYCLE_CTE + "SELECT w.id, w.is_cycle FROM w ORDER BY w.ord",
     CYCLE_CTE + "SELECT id, is_cycle FROM w ORDER BY ord"),
])
def test_what_15_and_18_print_differently_normalizes_equal(corpus18, on15, on18):
    with psycopg.connect(corpus18) as c:
        schema = closure.catalog_schema(c)
    assert normalize.normalize_query(on15, schema)[0] == normalize.normalize_query(on18, schema)[0]


def test_prefix_at_keeps_its_operand_a_column(corpus18):
    """Stock sqlglot reads `@ a.n` as the parameter $a.n: the alias is never canonicalized, so
    swapping which relation is called a (a different view) normalized to the same text."""
    first = ("SELECT (@ a.n) AS m FROM (corpus.t a JOIN corpus.t b ON ((b.id = (a.id + 1))))")
    second = ("SELECT (@ a.n) AS m FROM (corpus.t b JOIN corpus.t a ON ((a.id = (b.id + 1))))")
    with psycopg.connect(corpus18) as c:
        schema = closure.catalog_schema(c)
    assert normalize.normalize_query(first, schema)[0] != normalize.normalize_query(second, schema)[0]
    assert "OPERATOR(pg_catalog.@)" in normalize.normalize_query(first, schema)[0]


@pytest.mark.parametrize("before, after", [
    ("(t.p ~= t.q)", "(t.p ?- t.q)"),
    ("(!! t.q)", "(t.q)"),
    ("(t.a ^ t.b)", "power(t.a, t.b)"),
    ("(|/ t.a)", "sqrt(t.a)"),
    ("(t.g !~ t.h)", "(NOT (t.g ~ t.h))"),
    ("(t.f IS NOT FALSE)", "(NOT (t.f IS FALSE))"),
    ("(t.f IS UNKNOWN)", "(t.f IS NULL)"),
    ("(+ t.a)", "t.a"),
    ("'1'::\"bit\"", "'1'::bit"),
])
def test_operators_sqlglot_would_rewrite_keep_their_own_text(before, after):
    """Different trees to PostgreSQL stay different texts (the proof needs them verbatim)."""
    def render(e: str) -> str:
        [tree] = pg_sqlglot.parse(f"SELECT {e} FROM t")
        return tree.sql(dialect=pg_sqlglot.WoePostgres)
    assert render(before) != render(after)


@pytest.mark.parametrize("text, rewritten", [
    ("SELECT (a ~= b), count(*), t.*, f(x => 1)",
     "SELECT (a OPERATOR(pg_catalog.~=) b), count(*), t.*, f(x => 1)"),
    ("SELECT '@ ~= ' || \"@\" -- @\n, E'\\' @', 1e-5, (- x)", None),
    ("SELECT (@ (- x)), (x OPERATOR(corpus.===) 1), y::bit varying(3)",
     "SELECT (OPERATOR(pg_catalog.@) (- x)), (x OPERATOR(corpus.===) 1), y::varbit(3)"),
    ("SELECT (a <<| b), (?- c), (x -|- y), (x --y\n)",
     "SELECT (a OPERATOR(pg_catalog.<<|) b), (OPERATOR(pg_catalog.?-) c), (x -|- y), (x --y\n)"),
])
def test_operator_rewriting_leaves_literals_identifiers_and_comments_alone(text, rewritten):
    assert pg_sqlglot.rewrite(text) == (text if rewritten is None else rewritten)


# -- edits change the verdict ------------------------------------------------------------------------

def drifts(before: Form, after: Form) -> bool:
    """cert_checks.compare's verdict for one view: an unchanged raw hash is no change; a
    proven normalization decides by the normalized hash; an unproven one by the raw hash."""
    if after.obj.raw_sha256 == before.obj.raw_sha256:
        return False
    return not after.proof.proven or after.norm.sha256 != before.norm.sha256


SWAPS = {exp.LT: exp.GTE, exp.LTE: exp.GT, exp.GT: exp.LTE, exp.GTE: exp.LT, exp.EQ: exp.NEQ,
         exp.NEQ: exp.EQ, exp.Add: exp.Sub, exp.Sub: exp.Add, exp.Mul: exp.Div, exp.Div: exp.Mul,
         exp.And: exp.Or, exp.Or: exp.And, exp.ArrayContainsAll: exp.ArrayContainedBy,
         exp.ArrayContainedBy: exp.ArrayContainsAll, exp.JSONExtract: exp.JSONExtractScalar}
OPERATOR_SWAPS = {"@": "-", "|/": "||/", "||/": "|/", "^": "*", "!~": "~", "!!": "!!",
                  "~=": "<->", "?-": "?|", "?|": "?-", "<<|": "|>>", "@-@": "@@", "+": "-",
                  "##": "<->", "#": "@-@", "!~*": "~*", "^@": "~~", "@@": "@-@"}


def edit_number(tree: exp.Expression, pick: int) -> bool:
    numbers = [n for n in tree.find_all(exp.Literal) if not n.is_string]
    if not numbers:
        return False
    node = numbers[pick % len(numbers)]
    value = node.this
    node.replace(exp.Literal.number(str(int(value) + 1 + pick % 3) if value.isdigit()
                                    else repr(float(value) + 0.5)))
    return True


def edit_string(tree: exp.Expression, pick: int) -> bool:
    strings = [n for n in tree.find_all(exp.Literal) if n.is_string]
    if not strings:
        return False
    node = strings[pick % len(strings)]
    node.replace(exp.Literal.string(node.this + "_"))
    return True


def edit_operator(tree: exp.Expression, pick: int) -> bool:
    nodes = [n for n in tree.walk() if type(n) in SWAPS or (
        isinstance(n, (exp.Operator, pg_sqlglot.PrefixOperator))
        and n.args["operator"].removeprefix("pg_catalog.") in OPERATOR_SWAPS)]
    if not nodes:
        return False
    node = nodes[pick % len(nodes)]
    if type(node) in SWAPS:
        node.replace(SWAPS[type(node)](this=node.this.copy(), expression=node.expression.copy()))
    else:
        op = node.args["operator"].removeprefix("pg_catalog.")
        node.set("operator", "pg_catalog." + OPERATOR_SWAPS[op])
        if op == "!!":  # tsquery negation: drop it instead
            node.replace(node.this.copy())
    return True


def drop_predicate(tree: exp.Expression, pick: int) -> bool:
    """Drop one conjunct of a WHERE, ON or HAVING (or the whole clause)."""
    conditions = [n for n in tree.find_all(exp.Where, exp.Having)]
    conjuncts = [c for n in tree.find_all(exp.And) for c in (n.this, n.expression)]
    if conjuncts and pick % 2:
        target = conjuncts[pick % len(conjuncts)]
        target.replace(exp.true())
        return True
    if not conditions:
        return False
    conditions[pick % len(conditions)].pop()
    return True


def flip_order(tree: exp.Expression, pick: int) -> bool:
    keys = list(tree.find_all(exp.Ordered))
    if not keys:
        return False
    key = keys[pick % len(keys)]
    key.set("desc", not key.args.get("desc"))
    return True


def drop_output(tree: exp.Expression, pick: int) -> bool:
    """Drop one output column (of every branch of a set operation)."""
    selects = [tree] if isinstance(tree, exp.Select) else [
        s for s in tree.find_all(exp.Select) if s.parent_select is None]
    width = min((len(s.expressions) for s in selects), default=0)
    if width < 2:
        return False
    for select in selects:
        select.expressions[pick % width].pop()
    return True


EDITS = {"number": edit_number, "string": edit_string, "operator": edit_operator,
         "drop_predicate": drop_predicate, "flip_order": flip_order, "drop_output": drop_output}


@pytest.fixture(scope="module")
def editable(corpus18) -> tuple[psycopg.Connection, dict[str, Form]]:
    with psycopg.connect(corpus18, autocommit=True) as c:
        yield c, forms(c, PROVEN + UNPROVEN)


def edited_form(conn: psycopg.Connection, definition: str, kind: str, pick: int) -> Form | None:
    """The edited view as the server prints, normalizes and proves it (None: no such edit, or
    PostgreSQL rejects it); created in a savepoint that is rolled back."""
    [tree] = pg_sqlglot.parse(definition)
    if not EDITS[kind](tree, pick):
        return None
    probe = "corpus.woe_edit_probe"
    try:
        with conn.transaction(force_rollback=True), pgsettings.pinned(conn):
            conn.execute(f"CREATE VIEW {probe} AS {tree.sql(dialect=pg_sqlglot.WoePostgres)}")
            return forms(conn, [probe])[probe]
    except psycopg.Error:
        return None


def test_edits_of_every_corpus_view_change_its_verdict(editable):
    conn, before = editable
    missed, edited = [], set()
    for name, form in before.items():
        for kind in EDITS:
            for pick in range(2):
                after = edited_form(conn, form.obj.definition, kind, pick)
                if after is None or after.obj.definition == form.obj.definition:
                    continue
                edited.add(name)
                if not drifts(form, after):
                    missed.append((name, kind, pick, after.obj.definition))
    assert missed == []
    assert edited == set(before)  # every view had at least one edit PostgreSQL accepted


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(min_value=0), kind=st.sampled_from(sorted(EDITS)),
       pick=st.integers(min_value=0, max_value=10_000))
def test_every_edit_that_changes_a_view_changes_its_verdict(editable, which, kind, pick):
    conn, before = editable
    name = sorted(before)[which % len(before)]
    after = edited_form(conn, before[name].obj.definition, kind, pick)
    assume(after is not None and after.obj.definition != before[name].obj.definition)
    assert drifts(before[name], after), (name, kind, after.obj.definition)


def test_a_wrong_normalization_of_an_edit_cannot_pass_as_the_baseline(editable):
    """The proof is made on the current definition: if sqlglot normalized an edited view to the
    baselined text, the scratch view (the baselined meaning) differs from the edited view's
    tree, so the raw hash decides and the edit is drift."""
    conn, before = editable
    name = "corpus.where_subqueries"
    with conn.transaction(force_rollback=True), pgsettings.pinned(conn):
        conn.execute(f"CREATE OR REPLACE VIEW {name} AS "
                     + before[name].obj.definition.replace("ALL (ARRAY[1, 2])", "ALL (ARRAY[1, 3])"))
        edited = current_object(conn, name)
        proof = normalize_proof.prove(conn, edited, before[name].norm)  # as if misnormalized
    assert edited.raw_sha256 != before[name].obj.raw_sha256
    assert not proof.proven and "means something else" in proof.reason
    assert drifts(before[name], Form(edited, before[name].norm, proof))

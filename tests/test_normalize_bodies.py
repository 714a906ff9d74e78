"""String bodies (LANGUAGE sql / plpgsql AS $$...$$): comments go, literals stay. The T0 lint
refuses such a body in a closure unless an exception admits it, and then reads its tokens, so
neither a comment marker inside a literal nor quoting or spacing hides a clock call or the
label table; single-argument age() and special date/time inputs are clocks. (The lint of
tracked definitions reads the server's query trees: tests/test_t0_lint.py.)
"""

from __future__ import annotations

import psycopg
import pytest

from harness import closure, normalize, t0_lint
from harness.closure import ClosureObject

REPRO = "SELECT '--' IS NOT NULL AND t <= now() - interval '{days} days'"


def function(body: str, language: str = "sql", name: str = "lint_probe.f(timestamp with time zone)"
             ) -> ClosureObject:
    definition = (f"CREATE OR REPLACE FUNCTION {name}\n RETURNS boolean\n LANGUAGE {language}\n"
                  f" STABLE\nAS $function${body}$function$\n")
    return ClosureObject(name, "function", definition, None, None, False, body, language)


def body_hash(body: str, language: str = "sql") -> str:
    return normalize.normalize_object(function(body, language), {}).sha256


def lint_body(body: str, language: str = "sql") -> list[str]:
    return t0_lint.body_problems(function(body, language))


# -- normalization of string bodies -----------------------------------------------------------

def test_a_change_after_a_comment_marker_inside_a_string_literal_changes_the_hash():
    """The reviewer's repro: '--' in a literal hid the rest of the line from the hash."""
    assert body_hash(REPRO.format(days=700)) != body_hash(REPRO.format(days=99999))
    assert body_hash(REPRO.format(days=700), "plpgsql") != body_hash(
        REPRO.format(days=99999), "plpgsql")


@pytest.mark.parametrize("before, after", [
    ("SELECT '/*' || x || '*/' = 'a  b'", "SELECT '/*' || x || '*/' = 'a b'"),
    ("SELECT $q$ -- $q$ || now() - 1", "SELECT $q$ -- $q$ || now() - 2"),
    ("SELECT E'it\\'s -- ' || 1", "SELECT E'it\\'s -- ' || 2"),
    ("SELECT 'a\\', '-- ' || 1", "SELECT 'a\\', '-- ' || 2"),  # standard strings: \ is a char
    ('SELECT "--" FROM t WHERE x < 1', 'SELECT "--" FROM t WHERE x < 2'),
    ("SELECT 'a' /* c */ || 'x  y'", "SELECT 'a' /* c */ || 'x y'"),
    ("SELECT 'a'\n'b'", "SELECT 'a' 'b'"),  # a newline joins literals ('ab'), a space does not
    ("BEGIN x := 1; -- c\rx := 2; END", "BEGIN x := 1; -- c\rx := 3; END"),  # \r ends --
])
def test_every_change_inside_a_literal_or_after_it_changes_the_hash(before, after):
    assert body_hash(before) != body_hash(after)


@pytest.mark.parametrize("variant", [
    "SELECT '--' IS NOT NULL  AND t <= now()\n   - interval '700 days'",
    "SELECT '--' IS NOT NULL AND t <= now() - interval '700 days' -- why 700: see ticket",
    "/* header */ SELECT '--' IS NOT NULL AND /* a /* nested */ c */ t <= now() - interval '700 days'",
    "\n  SELECT '--' IS NOT NULL AND t\t<= now() - interval '700 days'\r\n",
])
def test_comments_and_whitespace_outside_literals_stay_cosmetic(variant):
    assert body_hash(variant) == body_hash(REPRO.format(days=700))


def test_procedural_comments_go_but_literal_text_is_kept_byte_for_byte():
    body = "BEGIN\n  -- hi\n  RAISE NOTICE 'a  -- b /* c */';  /* x */\nEND"
    assert normalize.strip_procedural(body) == "BEGIN RAISE NOTICE 'a  -- b /* c */'; END"
    assert normalize.strip_procedural("SELECT a FROM t ORDER\n  BY a") == "SELECT a FROM t ORDER BY a"


@pytest.mark.parametrize("body", [
    "x := 'unterminated -- 700",
    "SELECT 1 /* unterminated -- 700",
    "SELECT a\u00a0b -- 700",  # NBSP: PostgreSQL reads an identifier, sqlglot a space
])
def test_a_body_that_cannot_be_tokenized_completely_is_only_trimmed(body):
    assert normalize.strip_procedural(f"  {body}\n") == body
    assert body_hash(body) != body_hash(body.replace("700", "99999"))


def test_other_languages_are_only_trimmed():
    python = "x = a -- b\nreturn  x"  # in Python "-- b" is not a comment
    assert normalize.normalize_body(f"\n{python}\n", "plpython3u") == python
    assert body_hash(python, "plpython3u") != body_hash(python.replace("b", "c"), "plpython3u")


# -- T0 lint of string bodies -----------------------------------------------------------------

def test_lint_sees_a_clock_call_after_a_comment_marker_inside_a_literal():
    for language in ("sql", "plpgsql"):
        problems = lint_body(REPRO.format(days=700), language)
        assert any(p.endswith("calls time-of-query function now") for p in problems), problems


def test_lint_ignores_clock_words_in_comments_only():
    assert lint_body("SELECT t <= $1 -- not now(): T0 only\n /* current_date */") == []


@pytest.mark.parametrize("body", [
    'SELECT count(*) > 0 FROM "src"."listing_outcomes"',
    "SELECT count(*) > 0 FROM src . listing_outcomes",
    "SELECT count(*) > 0 FROM src/* x */.\n listing_outcomes",
    'SELECT count(*) > 0 FROM SRC."LISTING_OUTCOMES"',
    'SELECT count(*) > 0 FROM src.U&"listing\\005foutcomes"',
    "SELECT count(*) > 0 FROM listing_outcomes",  # unqualified: search_path may reach src
    "BEGIN RETURN (SELECT count(*) FROM src.listing_outcomes) > 0; END",
])
def test_lint_finds_the_label_table_however_it_is_quoted_or_spaced(body):
    language = "plpgsql" if body.startswith("BEGIN") else "sql"
    assert any("reads label table src.listing_outcomes" in p for p in lint_body(body, language))


def test_lint_does_not_flag_a_same_named_table_in_another_schema():
    assert lint_body("SELECT count(*) > 0 FROM archive.listing_outcomes") == []


@pytest.mark.parametrize("body, found", [
    ('SELECT t <= "now"()', "now"),
    ("SELECT t <= pg_catalog . now ( )", "now"),
    ("SELECT age(t) < interval '1 day'", "age(x)"),
    ("SELECT t::date <= ('today'::text)::date", "'today' (in a string literal)"),
    ("BEGIN EXECUTE 'SELECT ' || 'count(*) FROM x WHERE t < now()'; END", "now (in a string literal)"),
])
def test_lint_finds_clocks_in_string_bodies(body, found):
    language = "plpgsql" if body.startswith("BEGIN") else "sql"
    problems = lint_body(body, language)
    assert any(p.endswith(f"calls time-of-query function {found}") for p in problems), problems


def test_lint_flags_dynamic_sql_and_leaves_two_argument_age_alone():
    assert any("runs dynamic SQL" in p for p in lint_body("BEGIN EXECUTE q; END", "plpgsql"))
    assert lint_body("SELECT age(t, $1) < interval '1 day'") == []


# -- against PostgreSQL: what the server prints ------------------------------------------------

@pytest.fixture(scope="module")
def probe(make_database) -> str:
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        c.execute("""
            CREATE SCHEMA lint_probe;
            CREATE TABLE lint_probe.t (t timestamptz, d date);
            CREATE FUNCTION lint_probe.recent(t timestamptz) RETURNS boolean LANGUAGE sql STABLE
            AS $$ SELECT '--' IS NOT NULL AND t <= now() - interval '700 days' $$;
            CREATE VIEW lint_probe.v AS SELECT * FROM lint_probe.t WHERE lint_probe.recent(t);
            CREATE VIEW lint_probe.age_v AS SELECT * FROM lint_probe.t WHERE age(t) < '1 day';
            CREATE VIEW lint_probe.today_v AS SELECT * FROM lint_probe.t
                WHERE d <= ('today'::text)::date AND t <= ('now'::text)::timestamptz;
        """)
    return url


def closure_norm(url: str, entrypoint: str) -> tuple[list[ClosureObject], dict]:
    with psycopg.connect(url) as c:
        objects = closure.fetch(c, entrypoint)
        schema = closure.catalog_schema(c)
    return objects, {o.name: normalize.normalize_object(o, schema)
                     for o in objects if o.has_definition}


def test_editing_a_literal_in_a_string_body_function_is_drift_not_cosmetic(probe):
    name = "lint_probe.recent(timestamp with time zone)"
    objects, before = closure_norm(probe, "lint_probe.v")
    recent = next(o for o in objects if o.name == name)
    assert any(p == f"{name} calls time-of-query function now"
               for p in t0_lint.body_problems(recent))
    with psycopg.connect(probe) as c:
        c.execute("CREATE OR REPLACE FUNCTION lint_probe.recent(t timestamptz) RETURNS boolean "
                  "LANGUAGE sql STABLE AS $$ SELECT '--' IS NOT NULL AND "
                  "t <= now() - interval '99999 days' $$")
    _, after = closure_norm(probe, "lint_probe.v")
    assert before[name].sha256 != after[name].sha256

"""The complete closure and the allowlist T0 lint, tried as an adversary would.

Each construct reads the clock, the session or the labels without spelling a listed name, or
changes an entrypoint's rows through an object the closure used not to see; the lint refuses
it (naming the object and its path) or the guard refuses it as drift before any run.
"""

from __future__ import annotations

import hashlib

import psycopg
import pytest

from harness import certify, closure, t0_lint
from tests.packages import certified_database

SOURCE = "src.listing_snapshots_t0_v1_v"
GUARDED_SOURCE = "SELECT count(*) FROM src.listing_snapshots_t0_live_train_v"


@pytest.fixture(scope="module")
def probe(make_database) -> str:
    """A database at head with a schema of probe objects (no data needed: the lint reads
    definitions)."""
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        c.execute("""
            CREATE SCHEMA p;
            CREATE TABLE p.t (id integer, t timestamptz, note text);
            CREATE FUNCTION p.label_of(i bigint) RETURNS text LANGUAGE sql STABLE
                AS $$ SELECT final_status FROM src.listing_outcomes WHERE listing_id = i $$;
            CREATE FUNCTION p.recent(x timestamptz, since timestamptz DEFAULT now())
                RETURNS boolean LANGUAGE sql IMMUTABLE RETURN x > since - interval '1 day';
        """)
    return url


def lint(url: str, sql: str) -> list[str]:
    """The lint's problems for a probe view p.v defined by sql (rolled back afterwards)."""
    with psycopg.connect(url) as c:
        c.execute(f"CREATE VIEW p.v AS {sql}")
        try:
            return t0_lint.lint(c, "p.v", closure.fetch(c, "p.v"))
        finally:
            c.rollback()


def test_a_clean_view_passes(probe):
    assert lint(probe, "SELECT id, t AT TIME ZONE 'UTC' AS t_utc, '2026-01-01'::date AS d, "
                       "upper(note) FROM p.t WHERE id > 1") == []


def test_a_label_read_through_a_string_body_function_is_refused_as_untrackable(probe):
    problems = lint(probe, "SELECT id, p.label_of(id) FROM p.t")
    [untrackable] = [x for x in problems if "cannot track" in x]
    assert untrackable.startswith("p.label_of(bigint) has a body PostgreSQL cannot track")
    assert "BEGIN ATOMIC" in untrackable and "[path: p.v -> p.label_of(bigint)]" in untrackable


def test_a_clock_in_a_parameter_default_is_refused(probe):
    problems = lint(probe, "SELECT id FROM p.t WHERE p.recent(t)")
    assert any(x.startswith("p.recent(timestamp with time zone,timestamp with time zone) calls "
                            "now(), which is STABLE") for x in problems), problems


@pytest.mark.parametrize("sql, expected", [
    ("SELECT id FROM p.t WHERE t::date <= ('to' || 'day')::date",
     "casts text to date at run time"),
    ("SELECT id FROM p.t WHERE t <= (note || '')::timestamptz",
     "casts text to timestamp with time zone at run time"),
    ("SELECT id FROM p.t WHERE t::date <= CURRENT_DATE", "reads the clock or the session"),
    ("SELECT id FROM p.t WHERE note = CURRENT_USER", "reads the clock or the session"),
    ("SELECT id FROM p.t WHERE t <= statement_timestamp()", "calls statement_timestamp()"),
    ("SELECT id FROM p.t WHERE age(t) < '1 day'", "calls age(timestamp with time zone)"),
    ("SELECT id, (SELECT count(*) FROM pg_stat_activity) AS n FROM p.t",
     "reads system catalog or statistics view pg_stat_activity"),
    ("SELECT s.attname AS id FROM pg_stats AS s", "reads system catalog or statistics view"),
    ("SELECT id FROM p.t WHERE id < random() * 10", "calls random()"),
    ("SELECT (xpath('/a', query_to_xml('SELECT 1', true, true, '')))[1]::text AS x",
     "calls query_to_xml(text,boolean,boolean,text)"),
    ("SELECT id FROM p.t TABLESAMPLE BERNOULLI (50)", "samples rows"),
])
def test_clock_session_catalog_and_dynamic_reads_are_refused_without_naming_them(
        probe, sql, expected):
    problems = lint(probe, sql)
    assert any(expected in x and x.startswith("p.v ") for x in problems), problems


def test_a_name_that_reads_like_a_field_label_is_refused_not_guessed_at(probe):
    """PostgreSQL does not escape a leading ':' in names: a column called ':funcid' prints a
    token that looks like a field of the tree. The lint refuses the tree instead of reading
    it one way or the other."""
    problems = lint(probe, 'SELECT id AS ":funcid", now() AS ":x" FROM p.t')
    assert any(x.startswith("p.v has a query tree the lint cannot read") for x in problems), \
        problems


def test_a_view_over_an_inheritance_parent_or_partition_of_the_label_table_is_refused(probe):
    with psycopg.connect(probe) as c:
        c.execute("CREATE TABLE p.parent (listing_id bigint)")
        c.execute("CREATE TABLE p.child_of_labels () INHERITS (src.listing_outcomes)")
        c.execute("ALTER TABLE src.listing_outcomes INHERIT p.parent")
        c.execute("CREATE VIEW p.v AS SELECT listing_id FROM p.parent")
        problems = t0_lint.lint(c, "p.v", closure.fetch(c, "p.v"))
        c.execute("CREATE VIEW p.w AS SELECT listing_id FROM p.child_of_labels")
        child = t0_lint.lint(c, "p.w", closure.fetch(c, "p.w"))
        c.rollback()
    assert any(x.startswith("src.listing_outcomes is a label relation") and
               "[path: p.v -> p.parent -> src.listing_outcomes]" in x for x in problems), problems
    assert any(x.startswith("p.v reads label relation p.parent") for x in problems), problems
    assert any("reads label relation p.child_of_labels" in x for x in child), child


def test_an_exception_admits_one_exact_string_body_and_still_scans_it(probe):
    with psycopg.connect(probe) as c:
        c.execute("INSERT INTO audit.t0_entrypoint_policy (entrypoint, assertion_function) "
                  "VALUES ('p.v', 'audit.assert_t0_certified_listing_snapshots_v1()')")
        c.execute("CREATE FUNCTION p.twice(i integer) RETURNS integer LANGUAGE sql IMMUTABLE "
                  "AS $$ SELECT i * 2 $$")
        c.execute("CREATE VIEW p.v AS SELECT p.twice(id) FROM p.t")
        definition = c.execute("SELECT pg_get_functiondef('p.twice'::regproc)").fetchone()[0]
        c.execute("INSERT INTO audit.t0_untrackable_body_exception VALUES "
                  "('p.v', 'p.twice(integer)', %s, 'reviewed: arithmetic only')",
                  (hashlib.sha256(definition.encode()).hexdigest(),))
        assert t0_lint.lint(c, "p.v", closure.fetch(c, "p.v")) == []
        # the same function reading the clock: a new definition, the exception no longer holds
        c.execute("CREATE OR REPLACE FUNCTION p.twice(i integer) RETURNS integer LANGUAGE sql "
                  "IMMUTABLE AS $$ SELECT i * 2 + extract(epoch FROM now())::integer * 0 $$")
        problems = t0_lint.lint(c, "p.v", closure.fetch(c, "p.v"))
        assert any("cannot track" in x for x in problems), problems
        # admitted again for its new text: the scan of its body still finds the clock
        definition = c.execute("SELECT pg_get_functiondef('p.twice'::regproc)").fetchone()[0]
        c.execute("UPDATE audit.t0_untrackable_body_exception SET definition_sha256 = %s",
                  (hashlib.sha256(definition.encode()).hexdigest(),))
        problems = t0_lint.lint(c, "p.v", closure.fetch(c, "p.v"))
        c.rollback()
    assert problems == [("p.twice(integer) calls time-of-query function now "
                         "[path: p.v -> p.twice(integer)]")], problems


def test_time_of_query_functions_can_never_be_allowed(monkeypatch):
    monkeypatch.setitem(t0_lint.ALLOWED_NON_IMMUTABLE, "now()", "a careless entry")
    monkeypatch.setitem(t0_lint.ALLOWED_NON_IMMUTABLE, "to_char(timestamp with time zone,text)",
                        "formats in the session's TimeZone")
    assert not t0_lint._allowed("now()")
    assert t0_lint._allowed("to_char(timestamp with time zone,text)")


# ------------------------------------------------------------- drift the closure used to miss

@pytest.fixture
def certified(make_database) -> str:
    return certified_database(make_database, 200)


def refusal(url: str, statement: str = GUARDED_SOURCE) -> str:
    with psycopg.connect(url) as c, pytest.raises(psycopg.errors.InsufficientPrivilege) as e:
        c.execute(statement).fetchall()
    return e.value.diag.message_primary


def test_a_row_level_security_policy_added_to_a_source_table_is_drift(certified):
    with psycopg.connect(certified) as c:
        c.execute("CREATE POLICY half ON src.listing_snapshots_t0 FOR SELECT "
                  "USING (listing_id % 2 = 0)")
        c.execute("ALTER TABLE src.listing_snapshots_t0 ENABLE ROW LEVEL SECURITY")
    message = refusal(certified)
    assert message.startswith("DEFINITION DRIFT") and "added policy half on " \
        "src.listing_snapshots_t0" in message and "changed src.listing_snapshots_t0" in message
    [result] = certify.run(certified, SOURCE)
    lint = next(ch for ch in result.checks if ch.name == "t0_lint")
    assert result.status == "FAILED"
    assert lint.ok  # the policy's expression is clean; the change itself is what fails
    drift = next(ch for ch in result.checks if ch.name == "viewdef_drift")
    assert not drift.ok and "policy half on src.listing_snapshots_t0" in drift.detail


def test_replacing_the_function_behind_an_operator_is_drift(certified):
    with psycopg.connect(certified) as c:
        c.execute("""
            CREATE SCHEMA p;
            CREATE FUNCTION p.near(a bigint, b bigint) RETURNS boolean LANGUAGE sql IMMUTABLE
                RETURN abs(a - b) < 1000000000;
            CREATE OPERATOR p.~~~ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = p.near);
        """)
        view = c.execute("SELECT pg_get_viewdef('src.listing_snapshots_t0_v1_v')").fetchone()[0]
        c.execute("CREATE OR REPLACE VIEW src.listing_snapshots_t0_v1_v AS "
                  + view.rstrip().rstrip(";") + " WHERE s.listing_id OPERATOR(p.~~~) 0")
    certify.baseline(certified, SOURCE)
    [result] = certify.run(certified, SOURCE)
    assert result.status == "CERTIFIED", result.as_json()
    with psycopg.connect(certified) as c:
        served = c.execute(GUARDED_SOURCE).fetchone()[0]
        assert served == 200
        c.execute("CREATE OR REPLACE FUNCTION p.near(a bigint, b bigint) RETURNS boolean "
                  "LANGUAGE sql IMMUTABLE RETURN abs(a - b) < 10")
    message = refusal(certified)
    assert message.startswith("DEFINITION DRIFT") and "changed p.near(bigint,bigint)" in message


def test_disabling_an_invalidation_trigger_is_drift(certified):
    """The way around invalidation at once is to switch it off first: the triggers are in the
    closure, so the guard refuses as soon as one is disabled, before any data changes."""
    with psycopg.connect(certified) as c:
        c.execute("ALTER TABLE src.listing_snapshots_t0 "
                  "DISABLE TRIGGER listing_snapshots_t0_invalidate_on_update")
    message = refusal(certified)
    assert message.startswith("DEFINITION DRIFT") and ("changed trigger "
        "listing_snapshots_t0_invalidate_on_update on src.listing_snapshots_t0") in message

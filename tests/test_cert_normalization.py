"""Certification and normalization end to end: pinned session settings, the server's proof of
each view's normalization, and views sqlglot cannot read.

A probe view is added to the entrypoint's policy as an alias, so alias_drift watches its own
definition; viewdef_drift uses the same comparison (cert_checks.compare).
"""

from __future__ import annotations

import dataclasses

import psycopg
import pytest

from harness import cert_checks, certify, closure, normalize, normalize_proof, pgsettings
from harness import policy as policies
from tests.packages import certified_database

ENTRYPOINT = "ml.woe_anchor_feature_store_t0_v1_v"
PROBE = "probe.v"
CALLER_OPTIONS = ("-c TimeZone=Asia/Kolkata -c IntervalStyle=iso_8601 -c DateStyle=SQL,DMY "
                  "-c extra_float_digits=0")
CONSTANTS = ("SELECT id, ts + '1 day 02:00:00'::interval AS later, g FROM probe.t "
             "WHERE ts >= '2024-01-01 00:00:00+00'::timestamptz AND g <> 'x'")


@pytest.fixture(scope="module")
def store(make_database) -> str:
    url = certified_database(make_database, 200)
    with psycopg.connect(url) as c:
        c.execute("""
            CREATE SCHEMA probe;
            CREATE TABLE probe.t (id integer PRIMARY KEY, ts timestamptz, g text);
            CREATE TABLE probe.u (id integer PRIMARY KEY, g text);
            INSERT INTO probe.t VALUES (1, '2024-01-02 03:00:00+00', 'a');
            INSERT INTO probe.u VALUES (1, 'b');
        """)
        c.execute("UPDATE audit.t0_entrypoint_policy SET aliases = aliases || %s::text "
                  "WHERE entrypoint = %s", (PROBE, ENTRYPOINT))
    return url


def probe(url: str, definition: str) -> None:
    with psycopg.connect(url) as c:
        c.execute(f"DROP VIEW IF EXISTS {PROBE}")
        c.execute(f"CREATE VIEW {PROBE} AS {definition}")


def check(url_or_conn, name: str = "alias_drift") -> cert_checks.Check:
    [result] = certify.check(url_or_conn, ENTRYPOINT)
    return next(c for c in result.checks if c.name == name)


def test_certify_runs_under_pinned_settings_whatever_the_callers_environment(store, monkeypatch):
    probe(store, CONSTANTS)
    certify.baseline(store, ENTRYPOINT)
    with psycopg.connect(store, options=CALLER_OPTIONS) as c:
        c.execute("SET search_path = pg_catalog, pg_temp")
        shown = c.execute("SELECT pg_get_viewdef(%s::regclass)", (PROBE,)).fetchone()[0]
        assert "IST" in shown and "P1DT2H" in shown  # what an unpinned session prints
    monkeypatch.setenv("PGOPTIONS", CALLER_OPTIONS)
    monkeypatch.setenv("PGTZ", "America/Caracas")
    # a URL: certify's own connection inherits PGOPTIONS and PGTZ, then pins
    assert all(r.ok for r in certify.check(store)), [r.as_json() for r in certify.check(store)]
    assert check(store).detail == "2 alias definitions match their baseline"
    assert certify.main(["check", "--entrypoint", ENTRYPOINT, "--database-url", store]) == 0
    # a given connection: pinned for the work, the caller's settings given back
    with psycopg.connect(store, autocommit=True) as c:
        assert [r.status for r in certify.run(c)] == ["CERTIFIED", "CERTIFIED"]
        settings = {n: c.execute("SELECT current_setting(%s)", (n,)).fetchone()[0]
                    for n in pgsettings.CANONICAL}
    assert settings["TimeZone"] == "America/Caracas" and settings["IntervalStyle"] == "iso_8601"
    assert settings["DateStyle"] == "SQL, DMY" and settings["extra_float_digits"] == "0"


def test_an_unproven_view_is_judged_by_its_raw_hash(store, capsys):
    using = "SELECT t.id, u.g FROM probe.t JOIN probe.u USING (id)"  # qualify rewrites USING
    probe(store, using)
    certify.baseline(store, ENTRYPOINT)
    assert f"normalization unproven for {PROBE}" in capsys.readouterr().err
    with psycopg.connect(store) as c:
        [stored] = c.execute("SELECT normalized_sql FROM audit.t0_viewdef_baseline "
                             "WHERE object_name = %s", (PROBE,)).fetchone()
    assert stored.startswith("-- normalization unproven at baseline")
    assert check(store).ok  # raw hash unchanged
    probe(store, using + " WHERE u.g <> 'x'")
    found = check(store)
    assert not found.ok and f"semantic change in alias {PROBE}" in found.detail
    assert f"normalization unproven for {PROBE} (" in found.detail
    assert found.data["unproven"][PROBE] == "the normalized SQL means something else to PostgreSQL"


def test_a_wrong_normalization_of_an_edit_is_caught_by_the_proof(store, monkeypatch):
    """As if sqlglot normalized the edited view to the baselined text: the proof, made on the
    current definition, fails, so the raw hash decides and the edit is drift."""
    probe(store, CONSTANTS)
    certify.baseline(store, ENTRYPOINT)
    with psycopg.connect(store) as c:
        [baselined] = c.execute("SELECT normalized_sql FROM audit.t0_viewdef_baseline "
                                "WHERE object_name = %s", (PROBE,)).fetchone()
    probe(store, CONSTANTS.replace("<> 'x'", "= 'x'"))
    real = normalize.normalize_object

    def misnormalized(obj, schema):
        n = real(obj, schema)
        if obj.name != PROBE:
            return n
        return normalize.Normalized(baselined, normalize.sha256_text(baselined), n.trees)

    monkeypatch.setattr(normalize, "normalize_object", misnormalized)
    found = check(store)
    assert not found.ok and f"semantic change in alias {PROBE}" in found.detail
    assert (f"normalization unproven for {PROBE} (the normalized SQL means something else to "
            "PostgreSQL): raw hash used") in found.detail


def test_a_view_sqlglot_cannot_read_fails_the_check_and_stops_the_baseline(store, capfd):
    probe(store, "SELECT id, g FROM probe.t")
    certify.baseline(store, ENTRYPOINT)
    probe(store, "SELECT id, COLLATION FOR (g) AS g FROM probe.t")
    found = check(store)
    assert not found.ok and f"cannot normalize alias {PROBE}: ParseError: " in found.detail
    capfd.readouterr()
    assert certify.main(["baseline", "--entrypoint", ENTRYPOINT, "--database-url", store]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"[certify] error: cannot normalize {PROBE}: ParseError: ")
    assert "Traceback" not in "\n".join(err) and err[-1].endswith("was not baselined)")
    with psycopg.connect(store) as c:  # the previous baseline is still there
        assert c.execute("SELECT count(*) FROM audit.t0_viewdef_baseline WHERE object_name = %s",
                         (PROBE,)).fetchone() == (1,)


def test_an_unreadable_closure_view_fails_viewdef_drift_naming_it(store):
    probe(store, "SELECT id, g FROM probe.t")
    certify.baseline(store, ENTRYPOINT)
    with psycopg.connect(store, autocommit=True) as c, pgsettings.pinned(c):
        [pol] = policies.load(c, ENTRYPOINT)
        objects = closure.fetch(c, ENTRYPOINT)
        view = next(o for o in objects if o.kind == "view")
        objects = [dataclasses.replace(o, definition=" SELECT COLLATION FOR ('a'::text) AS c;")
                   if o is view else o for o in objects]
        schema = closure.catalog_schema(c)
        norm = {o.name: normalize.normalize_object(o, schema) for o in objects if o.has_definition}
        with c.transaction():
            found = cert_checks.viewdef_drift(c, pol, objects, norm)
    assert not found.ok and f"cannot normalize {view.name}: ParseError: " in found.detail
    assert found.data["unreadable"] == {view.name: norm[view.name].error}


def test_a_new_normalizer_re_records_the_normalized_form_of_unchanged_definitions(store):
    probe(store, CONSTANTS)
    certify.baseline(store, ENTRYPOINT)
    with psycopg.connect(store) as c:
        [current] = c.execute("SELECT normalized_sql FROM audit.t0_viewdef_baseline "
                              "WHERE object_name = %s", (PROBE,)).fetchone()
        c.execute("UPDATE audit.t0_viewdef_baseline SET normalized_sql = 'older', "
                  "normalized_sha256 = %s WHERE object_name = %s",
                  (normalize.sha256_text("older"), PROBE))
    assert [r.status for r in certify.run(store, ENTRYPOINT)] == ["CERTIFIED"]
    with psycopg.connect(store) as c:
        assert c.execute("SELECT normalized_sql, normalized_sha256 FROM audit.t0_viewdef_baseline "
                         "WHERE object_name = %s", (PROBE,)).fetchone() == (
            current, normalize.sha256_text(current))


@pytest.mark.parametrize("entrypoint", [ENTRYPOINT, "src.listing_snapshots_t0_v1_v"])
def test_every_shipped_view_is_proven(store, entrypoint):
    """The normalized hash decides for every view the project certifies (closure and aliases)."""
    with psycopg.connect(store, autocommit=True) as c, pgsettings.pinned(c):
        [pol] = policies.load(c, entrypoint)
        objects = closure.fetch(c, entrypoint)
        own, alias_norm = cert_checks.alias_views(c, pol, objects)
        schema = closure.catalog_schema(c)
        views = [o for o in objects if o.kind == "view"] + [
            o for n, o in own.items() if o is not None and n != PROBE]
        norm = {**{o.name: normalize.normalize_object(o, schema) for o in views}, **alias_norm}
        proofs = {o.name: normalize_proof.prove(c, o, norm[o.name]) for o in views}
    assert len(views) >= 2
    assert {n: p.reason for n, p in proofs.items() if not p.proven} == {}

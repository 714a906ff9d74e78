"""Tamper resistance: a reader who shadows names cannot change what the guard computes, and
hostile names reach SQL only as parameters, regclass or quoted identifiers.

The attacker is a real login member of woe_reader that owns a schema of its own (more than a
reader normally gets): it creates functions and operators there that shadow what the guard uses
(now, sha256, encode, =, <), temporary tables named like the audit and registry tables, and puts
both first in its search_path. The guard pins its own search_path and qualifies every table, so
each real refusal must survive the hijack, and a valid store must serve exactly its rows.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from harness import certify, train
from tests.conftest import ROOT
from tests.packages import certified_database, insert_package
from tests.roles import READER, as_role, login_member

GUARDED = "SELECT * FROM ml.woe_anchor_scores_live_train_v ORDER BY generation, listing_id, t0"
ENTRYPOINT = "ml.woe_anchor_feature_store_t0_v1_v"
GUARD_CALL = "SELECT audit.require_certified_strict(%s, interval '24 hours')"

HIJACK = r"""
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql
    AS $$SELECT timestamptz '2000-01-01 00:00:00+00'$$;
CREATE FUNCTION evil.sha256(bytea) RETURNS bytea LANGUAGE sql AS $$SELECT '\x00'::bytea$$;
CREATE FUNCTION evil.encode(bytea, text) RETURNS text LANGUAGE sql AS $$SELECT 'forged'$$;
CREATE FUNCTION evil.always(text, text) RETURNS boolean LANGUAGE sql AS $$SELECT true$$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.always);
CREATE FUNCTION evil.never(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql
    AS $$SELECT false$$;
CREATE OPERATOR evil.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = evil.never);
CREATE TEMPORARY TABLE t0_cert_registry AS
    SELECT e AS entrypoint, 'CERTIFIED'::text AS status,
           timestamptz '2999-01-01 00:00:00+00' AS certified_at,
           'pkg_forged'::text AS certified_model_key, NULL::text AS inherited_from,
           NULL::text AS detail
    FROM unnest(ARRAY['ml.woe_anchor_feature_store_t0_v1_v',
                      'ml.woe_anchor_scores_live_train_v']) AS e;
CREATE TEMPORARY TABLE t0_viewdef_baseline (entrypoint text, object_name text,
    raw_sha256 text, catalog_version text);
CREATE TEMPORARY TABLE t0_entrypoint_policy AS
    SELECT 'ml.woe_anchor_feature_store_t0_v1_v'::text AS entrypoint, false AS package_bound;
CREATE TEMPORARY TABLE woe_anchor_model_registry_v1 AS
    SELECT 'pkg_forged'::text AS model_key, true AS is_active;
SET search_path = pg_temp, evil, pg_catalog;
"""

# Each breaks the store for real; the guard must keep refusing whatever the reader shadows.
BREAKS = {
    "stale": ("UPDATE audit.t0_cert_registry SET certified_at = certified_at - interval '25 hours'",
              "STALE CERTIFICATION"),
    "failed": ("UPDATE audit.t0_cert_registry SET status = 'FAILED'", "NOT CERTIFIED"),
    "drift": (None, "DEFINITION DRIFT"),
    "package": (None, "PACKAGE CHANGED"),
}


@pytest.fixture
def certified(make_database) -> str:
    return certified_database(make_database, 300)


@pytest.fixture
def attacker(certified) -> Iterator[psycopg.Connection]:
    """A reader's login session with the hijack in place (checked to work on its own queries)."""
    with login_member(certified, READER) as url:
        with psycopg.connect(certified, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE SCHEMA evil AUTHORIZATION {}").format(
                sql.Identifier(psycopg.conninfo.conninfo_to_dict(url)["user"])))
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(HIJACK)
            # The shadows are live for everything the reader writes unqualified:
            assert c.execute("SELECT now()::date, 'a' = 'b', encode('x'::bytea, 'hex')"
                             ).fetchone()[1:] == (True, "forged")
            assert c.execute("SELECT count(*) FROM t0_cert_registry").fetchone() == (2,)
            yield c


def break_store(url: str, how: str) -> None:
    statement, _ = BREAKS[how]
    with psycopg.connect(url) as c:
        if how == "drift":
            text = c.execute("SELECT pg_get_viewdef('ml.v_woe_anchor_bands_live_v1'::regclass)"
                             ).fetchone()[0]
            c.execute("CREATE OR REPLACE VIEW ml.v_woe_anchor_bands_live_v1 AS "
                      + text.replace("r.dsold_t1,", "(-0.10)::double precision,", 1))
        elif how == "package":
            insert_package(c, "pkg_b")
        else:
            c.execute(statement)


def test_hijack_changes_nothing_the_guarded_view_serves(certified, attacker):
    with psycopg.connect(certified) as owner:
        expected = owner.execute(GUARDED).fetchall()
    assert len(expected) == 300
    assert attacker.execute(GUARDED).fetchall() == expected
    assert attacker.execute(GUARD_CALL, (ENTRYPOINT,)).fetchone() == (True,)


@pytest.mark.parametrize("how", sorted(BREAKS))
def test_hijack_cannot_make_the_guard_pass_a_broken_store(certified, attacker, how):
    break_store(certified, how)
    expected = BREAKS[how][1]
    for statement, params in ((GUARDED, ()), (GUARD_CALL, (ENTRYPOINT,))):
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as e:
            attacker.execute(statement, params).fetchall()
        assert expected in e.value.diag.message_primary


# ------------------------------------------------------------------------------ injection

HOSTILE_NAMES = [
    "ml.woe_anchor_feature_store_t0_v1_v'; DROP TABLE audit.t0_cert_registry; --",
    'ml."woe_anchor_feature_store_t0_v1_v"; DELETE FROM audit.t0_cert_registry',
    'ml.woe_anchor_feature_store_t0_v1_v" OR 1=1 --',
    "ml.wöe_änchor_☃_feature_store_t0_v1_v",
    "ml." + "x" * 10_000,
    "",
]


def audit_state(url: str) -> tuple:
    with psycopg.connect(url) as c:
        return tuple(c.execute(q).fetchall() for q in (
            "SELECT * FROM audit.t0_cert_registry ORDER BY entrypoint",
            "SELECT count(*) FROM audit.t0_cert_run_history",
            "SELECT entrypoint, object_name, raw_sha256 FROM audit.t0_viewdef_baseline ORDER BY 1, 2",
            ("SELECT entrypoint, t0_day, dataset_sha256 FROM audit.t0_dataset_hash_baseline "
            "ORDER BY 1, 2"),
            "SELECT model_key, is_active FROM ml.woe_anchor_model_registry_v1 ORDER BY 1",
        ))


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_hostile_entrypoint_names_are_refused_and_change_nothing(certified, name):
    before = audit_state(certified)
    for action in (certify.run, certify.check, certify.baseline):
        with pytest.raises(LookupError, match="has no row in audit.t0_entrypoint_policy"):
            action(certified, name)
    with as_role(certified, READER) as c, pytest.raises(
            psycopg.errors.InsufficientPrivilege) as e:
        c.execute(GUARD_CALL, (name,))
    assert e.value.diag.message_primary == (
        f"NOT CERTIFIED: {name} has no row in audit.t0_cert_registry")
    assert audit_state(certified) == before
    with as_role(certified, READER) as c:
        assert len(c.execute(GUARDED).fetchall()) == 300


def run_cli(module: str, url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args, "--database-url", url],
                          cwd=ROOT, capture_output=True, text=True, check=False)


def test_hostile_names_on_the_command_line_give_clear_errors(certified):
    before = audit_state(certified)
    for name in HOSTILE_NAMES[:2]:
        done = run_cli("harness.certify", certified, "run", "--entrypoint", name)
        assert done.returncode == 2
        assert f"error: {name} has no row in audit.t0_entrypoint_policy" in done.stderr
    for key in ("pkg'; DROP TABLE ml.woe_anchor_map_v1; --", "pkg ☃", "-pkg", "k" * 200):
        done = run_cli("harness.train", certified, "fit", f"--model-key={key}")
        assert done.returncode == 2 and "--model-key" in done.stderr and "must match" in done.stderr
        with pytest.raises(train.TrainError, match="must match"):
            train.FitOptions(model_key=key).validate()
    done = run_cli("harness.train", certified, "activate", HOSTILE_NAMES[0])
    assert done.returncode == 2 and "no package" in done.stderr
    assert audit_state(certified) == before


@pytest.mark.parametrize("name", [
    "ml.x; DROP TABLE audit.t0_cert_registry; --",  # invalid syntax: an error before 16
    "otherdb.ml.woe_anchor_feature_store_t0_v1_v",  # a cross-database reference
    "a.b.c.d",  # too many dotted names
])
def test_hostile_entrypoint_in_the_policy_table_fails_its_run_without_executing(certified, name):
    """Entrypoints are data: even a policy row with a hostile name (only the owner can write
    one) is resolved with to_regclass and quoted identifiers, so its run just fails, and says
    that the entrypoint does not exist on every server version."""
    with psycopg.connect(certified) as c:
        c.execute("INSERT INTO audit.t0_entrypoint_policy (entrypoint, key_columns, "
                  "assertion_function) VALUES (%s, %s, "
                  "'audit.assert_t0_certified_listing_snapshots_v1()'::regprocedure)",
                  (name, ['generation"; DROP TABLE src.listing_outcomes; --']))
    [result] = certify.run(certified, name)
    assert result.status == "FAILED"
    assert any(c.name == "closure" and "does not exist" in c.detail for c in result.checks)
    with psycopg.connect(certified) as c:
        assert c.execute("SELECT to_regclass('audit.t0_cert_registry') IS NOT NULL, "
                         "to_regclass('src.listing_outcomes') IS NOT NULL").fetchone() == (
            True, True)
        assert c.execute("SELECT status FROM audit.t0_cert_registry WHERE entrypoint = %s",
                         (name,)).fetchone() == ("FAILED",)

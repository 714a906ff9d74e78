"""Alembic owns the schema: standard pytest-alembic checks plus our own roundtrip guarantees."""

from __future__ import annotations

import subprocess
import sys
import uuid

import psycopg
from psycopg import sql
from pytest_alembic.tests import (  # noqa: F401 - collected as tests
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from tests.conftest import ROOT, downgrade, upgrade

OUR_SCHEMAS = ("audit", "src", "ml", "woe_seed_legacy")

# Everything a revision could create, as (kind, name) rows, minus what PostgreSQL ships.
OBJECTS_SQL = """
SELECT 'schema', nspname FROM pg_namespace
 WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'relation', n.nspname || '.' || c.relname FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND c.relname <> 'alembic_version' AND c.relname <> 'alembic_version_pkc'
UNION ALL
SELECT 'function', p.oid::regprocedure::text FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
UNION ALL
SELECT 'type', t.oid::regtype::text FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND t.typrelid = 0 AND t.typelem = 0
UNION ALL
SELECT 'role', rolname FROM pg_roles WHERE starts_with(rolname, {role_prefix} || '_')
"""
ROLE_KINDS = ("reader", "trainer", "certifier")


def unique_role_prefix() -> str:
    """Roles are cluster-global and other test databases hold the default ones: a prefix of
    our own lets a test see exactly the roles its migrations created and dropped."""
    return f"t{uuid.uuid4().hex[:10]}"


def objects(url: str, role_prefix: str = "woe") -> set[tuple[str, str]]:
    with psycopg.connect(url) as c:
        query = sql.SQL(OBJECTS_SQL).format(role_prefix=sql.Literal(role_prefix))
        return {tuple(r) for r in c.execute(query)}


def test_downgrade_base_leaves_nothing_of_ours(make_database):
    prefix = unique_role_prefix()
    x_args = {"role_prefix": prefix}
    url = make_database()
    before = objects(url, prefix)
    upgrade(url, x_args=x_args)
    after_upgrade = objects(url, prefix)
    assert {("schema", s) for s in ("audit", "src", "ml")} <= after_upgrade
    assert {("role", f"{prefix}_{k}") for k in ROLE_KINDS} <= after_upgrade
    downgrade(url, "base", x_args=x_args)
    assert objects(url, prefix) == before
    assert not any(kind == "role" for kind, _ in objects(url, prefix))


def test_downgrade_keeps_roles_another_database_still_uses(make_database):
    """Two databases share the cluster's roles: downgrading one revokes its grants but must
    leave the roles (and so the other database's access) intact; the last one drops them."""
    prefix = unique_role_prefix()
    x_args = {"role_prefix": prefix}
    first, second = make_database(), make_database()
    upgrade(first, x_args=x_args)
    upgrade(second, x_args=x_args)  # the roles exist already: creation is idempotent
    downgrade(first, "0021", x_args=x_args)
    roles = {("role", f"{prefix}_{k}") for k in ROLE_KINDS}
    assert roles <= objects(first, prefix)
    with psycopg.connect(second) as c:
        c.execute(f"SET ROLE {prefix}_reader")
        assert c.execute("SELECT has_table_privilege("
                         "'ml.woe_anchor_scores_live_train_v', 'SELECT')").fetchone() == (True,)
    with psycopg.connect(first) as c:
        assert c.execute("SELECT count(*) FROM pg_class AS cl, aclexplode(cl.relacl) AS a "
                         "JOIN pg_roles AS r ON r.oid = a.grantee "
                         "WHERE r.rolname LIKE %s", (prefix + "%",)).fetchone() == (0,)
    downgrade(second, "0021", x_args=x_args)
    assert not roles & objects(second, prefix)


def test_upgrade_downgrade_upgrade_roundtrip_ends_in_same_schema(make_database):
    from harness.schema_snapshot import dump_schema

    url = make_database(migrate_to="head")
    first = dump_schema(url)
    downgrade(url, "base")
    upgrade(url)
    assert dump_schema(url) == first


def test_seed_named_objects_exist_at_head(conn):
    names = [
        "audit.t0_cert_registry",
        "audit.t0_viewdef_baseline",
        "audit.t0_dataset_hash_baseline",
        "ml.woe_anchor_model_registry_v1",
        "ml.woe_anchor_cuts_v1",
        "ml.woe_anchor_map_v1",
        "ml.woe_anchor_scores_v1",
        "ml.v_woe_anchor_bands_live_v1",
        "ml.woe_anchor_scores_live_v1",
        "ml.woe_anchor_feature_store_t0_v1_v",
        "ml.woe_anchor_scores_live_train_v",
    ]
    missing = [n for n in names if conn.execute("SELECT to_regclass(%s)", (n,)).fetchone()[0] is None]
    assert missing == []
    assert conn.execute(
        "SELECT to_regprocedure('audit.require_certified_strict(text, interval)')"
    ).fetchone()[0] is not None


def test_offline_sql_renders_without_any_database(tmp_path):
    """alembic upgrade head --sql must not touch a server: point every URL at nowhere."""
    env = {
        "PATH": "/usr/bin:/bin",
        "WOE_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
        "WOE_PGDATA": str(tmp_path / "must-not-be-created"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head", "--sql"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout
    for fragment in (
        "CREATE SCHEMA audit",
        "CREATE TABLE ml.woe_anchor_map_v1",
        "CREATE FUNCTION ml.woe_anchor_bands_v1",
        "CREATE VIEW ml.woe_anchor_scores_live_train_v",
        "COMMIT;",
    ):
        assert fragment in out
    assert not (tmp_path / "must-not-be-created").exists()


def test_offline_sql_renders_roles_with_the_given_prefix(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "WOE_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}
    out = subprocess.run(
        [sys.executable, "-m", "alembic", "-x", "role_prefix=acme", "upgrade", "0021:0030",
         "--sql"], cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout
    assert "ARRAY['acme_reader', 'acme_trainer', 'acme_certifier']" in out
    assert "GRANT SELECT ON ml.woe_anchor_scores_live_train_v TO acme_reader;" in out
    assert "woe_reader" not in out
    bad = subprocess.run(
        [sys.executable, "-m", "alembic", "-x", "role_prefix=x; DROP ROLE postgres", "upgrade",
         "0021:0030", "--sql"], check=False, cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert bad.returncode != 0 and "role_prefix" in bad.stderr and "DROP ROLE" not in bad.stdout


def test_squawk_lints_offline_sql_clean():
    from harness.lint_migrations import lint

    problems = lint()
    assert problems == "", problems

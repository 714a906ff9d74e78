"""least-privilege group roles: reader (guarded view only), trainer (packages), certifier (audit)

Revision ID: 0030
Revises: 0025

Three NOLOGIN group roles; grant them to login users (GRANT woe_reader TO app_user).
- reader: SELECT on the guarded view ml.woe_anchor_scores_live_train_v only (seed 002: models
  consume certified entrypoints only; the unguarded entrypoint would keep serving a drifted or
  uncertified store, so it stays closed). A view reads its tables with its owner's rights, so
  the reader needs no SELECT on src, ml or audit tables. Functions in a view are checked
  against the invoker, so the reader gets EXECUTE on the guard and the scoring functions.
- trainer: reads the source contract (labels included) and the slice/banding functions, INSERTs
  packages, moves is_active. It gets table-level UPDATE on the registry because LOCK TABLE in
  SHARE ROW EXCLUSIVE mode (how trainers serialise) accepts only table-level UPDATE, DELETE or
  TRUNCATE, not a column grant; the freeze trigger of 0007 still refuses any change but
  is_active, so the effective right is UPDATE (is_active). No access to audit.
- certifier: reads what certification inspects and hashes (policy, entrypoints, the tables the
  assertion functions read, the catalog) and writes baselines, registry and run history; it
  cannot write ml artifact tables and does not read the labels.

Role names come from the Alembic x-argument role_prefix (default woe): `alembic -x
role_prefix=acme upgrade head` creates acme_reader, acme_trainer, acme_certifier. Pass the same
prefix to downgrade. The revision never reads the database to decide, so offline --sql renders
the complete DDL. Roles are cluster-global: creation is idempotent (other databases of the
cluster may have created them already), and downgrade revokes everything in this database but
drops a role only when no other database still holds privileges for it.

The guard (audit.require_certified_strict) is SECURITY DEFINER with search_path pinned to
pg_catalog, pg_temp (0021): callers' search_path, temporary tables and functions in their own
schemas cannot change what it resolves, and every table it reads is schema-qualified. The
closure functions it calls run as the guard's owner and pin their search_path too. The
banding, logit and probability functions read no tables and are left as they are: SECURITY
DEFINER or a SET clause would stop the planner from inlining them, and as SQL-standard bodies
they are parsed (names bound to OIDs) at creation, so the caller's search_path cannot change
them either.

EXECUTE is revoked from PUBLIC on the guard (it runs with its owner's rights), the closure and
assertion functions, the slice functions (they read the labels) and the trigger functions.
"""

from alembic import op

from harness.roles import from_alembic as roles

revision = "0030"
down_revision = "0025"
branch_labels = None
depends_on = None

GUARD = "audit.require_certified_strict(text, interval)"
CLOSURE_FUNCTIONS = ("audit.t0_closure_objects_v1(regclass)", "audit.t0_closure_v1(regclass)")
ASSERTION_FUNCTIONS = (
    "audit.assert_t0_certified_woe_anchor_store_v1()",
    "audit.assert_t0_certified_listing_snapshots_v1()",
)
SLICE_FUNCTIONS = (
    "ml.woe_anchor_slices_v1(timestamptz)",
    "ml.woe_anchor_default_eval_cutoff_v1()",
)
TRIGGER_FUNCTIONS = (
    "audit.reject_modification()",
    "ml.reject_package_change()",
    "ml.reject_rows_for_committed_package()",
)
SCORING_FUNCTIONS = (
    "ml.woe_anchor_has_assets_v1(integer)",
    ("ml.woe_anchor_presentation_score_v1(integer, double precision, double precision, "
    "double precision, double precision)"),
    ("ml.woe_anchor_bands_v1(timestamptz, double precision, double precision, double precision, "
    "double precision, double precision, integer, integer, smallint, smallint, smallint, "
    "smallint, smallint, smallint, integer, double precision, double precision, "
    "double precision, double precision, double precision, integer, boolean, boolean, "
    "double precision, double precision, double precision, double precision, "
    "double precision, double precision)"),
    ("ml.woe_anchor_logit_v1(double precision, double precision, double precision, "
    "double precision, double precision, double precision, double precision, "
    "double precision, double precision, double precision, double precision)"),
    "ml.woe_anchor_probability_v1(double precision)",
)
# Functions PUBLIC may not execute; downgrade gives PUBLIC its default EXECUTE back.
NOT_PUBLIC = (GUARD,) + CLOSURE_FUNCTIONS + ASSERTION_FUNCTIONS + SLICE_FUNCTIONS + TRIGGER_FUNCTIONS

ARTIFACT_TABLES = (
    "ml.woe_anchor_model_registry_v1", "ml.woe_anchor_cuts_v1", "ml.woe_anchor_map_v1",
    "ml.woe_anchor_scores_v1",
)
SOURCE_FEATURE_TABLES = ("src.listing_snapshots_t0", "src.listing_vision_features")
OUR_SCHEMAS = "audit, src, ml"


def _role_array(names: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{n}'" for n in names) + "]::text[]"


def upgrade() -> None:
    reader, trainer, certifier = roles()
    everyone = f"{reader}, {trainer}, {certifier}"
    statements = [
        f"""
DO $roles$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY {_role_array((reader, trainer, certifier))} LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            BEGIN
                EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', v_role);
            EXCEPTION WHEN duplicate_object THEN
                NULL;  -- created meanwhile by the migration of another database of the cluster
            END;
        END IF;
    END LOOP;
END
$roles$;""",
    ]
    statements += [f"REVOKE EXECUTE ON FUNCTION {f} FROM PUBLIC;" for f in NOT_PUBLIC]
    statements += [
        f"GRANT USAGE ON SCHEMA ml TO {everyone};",
        f"GRANT USAGE ON SCHEMA audit TO {reader}, {certifier};",
        f"GRANT USAGE ON SCHEMA src TO {trainer}, {certifier};",
        # The scoring functions read no tables; PUBLIC may call them too, but the roles do not
        # depend on that default.
        *[f"GRANT EXECUTE ON FUNCTION {f} TO {everyone};" for f in SCORING_FUNCTIONS],
        # reader: the guarded view and its guard, nothing else.
        f"GRANT SELECT ON ml.woe_anchor_scores_live_train_v TO {reader};",
        f"GRANT EXECUTE ON FUNCTION {GUARD} TO {reader}, {certifier};",
        # trainer
        f"GRANT SELECT ON {', '.join(SOURCE_FEATURE_TABLES)}, src.listing_outcomes TO {trainer};",
        *[f"GRANT EXECUTE ON FUNCTION {f} TO {trainer};" for f in SLICE_FUNCTIONS],
        f"GRANT SELECT, INSERT ON {', '.join(ARTIFACT_TABLES)} TO {trainer};",
        f"GRANT UPDATE ON ml.woe_anchor_model_registry_v1 TO {trainer};",
        f"""
DO $temp$
BEGIN
    -- The fit works on temporary tables; do not rely on PUBLIC's default TEMPORARY right.
    EXECUTE pg_catalog.format('GRANT TEMPORARY ON DATABASE %I TO %I',
                              pg_catalog.current_database(), '{trainer}');
END
$temp$;""",
        # certifier
        (f"GRANT SELECT ON {', '.join(SOURCE_FEATURE_TABLES)}, src.listing_snapshots_t0_v1_v "
        f"TO {certifier};"),
        (f"GRANT SELECT ON ml.woe_anchor_model_registry_v1, ml.woe_anchor_cuts_v1, "
        f"ml.woe_anchor_map_v1, ml.woe_anchor_feature_store_t0_v1_v TO {certifier};"),
        f"GRANT SELECT ON audit.t0_entrypoint_policy TO {certifier};",
        (f"GRANT SELECT, INSERT, UPDATE, DELETE ON audit.t0_viewdef_baseline, "
        f"audit.t0_dataset_hash_baseline TO {certifier};"),
        f"GRANT SELECT, INSERT, UPDATE ON audit.t0_cert_registry TO {certifier};",
        f"GRANT SELECT, INSERT ON audit.t0_cert_run_history TO {certifier};",
        *[f"GRANT EXECUTE ON FUNCTION {f} TO {certifier};"
          for f in CLOSURE_FUNCTIONS + ASSERTION_FUNCTIONS],
    ]
    op.execute("\n".join(statements))


def downgrade() -> None:
    reader, trainer, certifier = roles()
    everyone = f"{reader}, {trainer}, {certifier}"
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {OUR_SCHEMAS} FROM {everyone};",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {OUR_SCHEMAS} FROM {everyone};",
        f"REVOKE ALL ON SCHEMA {OUR_SCHEMAS} FROM {everyone};",
        f"""
DO $temp$
BEGIN
    EXECUTE pg_catalog.format('REVOKE ALL ON DATABASE %I FROM %I, %I, %I',
                              pg_catalog.current_database(), '{reader}', '{trainer}',
                              '{certifier}');
END
$temp$;""",
    ]
    statements += [f"GRANT EXECUTE ON FUNCTION {f} TO PUBLIC;" for f in NOT_PUBLIC]
    statements.append(
        f"""
DO $roles$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY {_role_array((reader, trainer, certifier))} LOOP
        BEGIN
            EXECUTE pg_catalog.format('DROP ROLE IF EXISTS %I', v_role);
        EXCEPTION WHEN dependent_objects_still_exist THEN
            RAISE NOTICE 'role % kept: another database of this cluster still grants it '
                         'privileges (%)', v_role, SQLERRM;
        END;
    END LOOP;
END
$roles$;"""
    )
    op.execute("\n".join(statements))

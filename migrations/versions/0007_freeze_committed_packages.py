"""freeze committed packages: the database refuses to change a package after its commit

Revision ID: 0007
Revises: 0006

UPDATE, DELETE and TRUNCATE of cuts, map and scores are refused; in the registry only
is_active may change (activation and rollback move the pointer, nothing else). Rows may be
added to a package only in the transaction that created its registry row, so a committed
package cannot grow either.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ARTIFACT_TABLES = ("woe_anchor_cuts_v1", "woe_anchor_map_v1", "woe_anchor_scores_v1")


def upgrade() -> None:
    op.execute(
        r"""
CREATE FUNCTION ml.reject_package_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    IF TG_LEVEL = 'ROW' AND TG_OP = 'UPDATE'
       AND TG_TABLE_NAME = 'woe_anchor_model_registry_v1'
       AND (to_jsonb(NEW) - 'is_active') = (to_jsonb(OLD) - 'is_active') THEN
        RETURN NEW;  -- moving the active pointer is the one allowed change
    END IF;
    IF TG_LEVEL = 'ROW' THEN
        RAISE EXCEPTION 'WOE package % is immutable: % on %.% refused',
            OLD.model_key, TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Train a new package instead; only is_active may change in the registry.';
    END IF;
    RAISE EXCEPTION 'WOE packages are immutable: % on %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$function$;

CREATE FUNCTION ml.reject_rows_for_committed_package() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_key text;
BEGIN
    -- The registry row's xmin is the creating (or last activating) transaction.
    SELECT r.model_key INTO v_key
    FROM (SELECT DISTINCT model_key FROM new_rows) AS n
    JOIN ml.woe_anchor_model_registry_v1 AS r USING (model_key)
    WHERE r.xmin::text <> (pg_current_xact_id()::text::bigint % 4294967296)::text
    LIMIT 1;
    IF v_key IS NOT NULL THEN
        RAISE EXCEPTION 'WOE package % is already committed: INSERT into %.% refused',
            v_key, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$function$;

CREATE TRIGGER woe_anchor_model_registry_v1_freeze
    BEFORE UPDATE OR DELETE ON ml.woe_anchor_model_registry_v1
    FOR EACH ROW EXECUTE FUNCTION ml.reject_package_change();
CREATE TRIGGER woe_anchor_model_registry_v1_no_truncate
    BEFORE TRUNCATE ON ml.woe_anchor_model_registry_v1
    FOR EACH STATEMENT EXECUTE FUNCTION ml.reject_package_change();
"""
        + "".join(
            f"""
CREATE TRIGGER {t}_freeze
    BEFORE UPDATE OR DELETE ON ml.{t}
    FOR EACH ROW EXECUTE FUNCTION ml.reject_package_change();
CREATE TRIGGER {t}_no_truncate
    BEFORE TRUNCATE ON ml.{t}
    FOR EACH STATEMENT EXECUTE FUNCTION ml.reject_package_change();
CREATE TRIGGER {t}_same_transaction
    AFTER INSERT ON ml.{t} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ml.reject_rows_for_committed_package();
"""
            for t in ARTIFACT_TABLES
        )
    )


def downgrade() -> None:
    op.execute(
        "".join(
            f"""
DROP TRIGGER {t}_same_transaction ON ml.{t};
DROP TRIGGER {t}_no_truncate ON ml.{t};
DROP TRIGGER {t}_freeze ON ml.{t};
"""
            for t in ARTIFACT_TABLES
        )
        + """
DROP TRIGGER woe_anchor_model_registry_v1_no_truncate ON ml.woe_anchor_model_registry_v1;
DROP TRIGGER woe_anchor_model_registry_v1_freeze ON ml.woe_anchor_model_registry_v1;
DROP FUNCTION ml.reject_rows_for_committed_package();
DROP FUNCTION ml.reject_package_change();
"""
    )

"""packages grow only in the transaction that created them, even after a rollback activation

Revision ID: 0045
Revises: 0040

The artifact tables accepted new rows for a package while its registry row's xmin was the
current transaction. Activating an older package (rollback) rewrites that row, so inside the
activating transaction rows could have been added to an old, committed package. The registry
now records its creating transaction (created_xid, set by default, frozen like every column
but is_active) and the statement-level check compares against it.
"""

from alembic import op

revision = "0045"
down_revision = "0040"
branch_labels = None
depends_on = None

PREVIOUS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION ml.reject_rows_for_committed_package() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_key text;
    v_committed boolean;
BEGIN
    -- One row per distinct model_key of the statement: an unknown key first (a missing
    -- registry row), then a key whose registry row is not from this transaction (its xmin is
    -- the creating, or last activating, transaction).
    SELECT n.model_key, r.model_key IS NOT NULL INTO v_key, v_committed
    FROM (SELECT DISTINCT new_rows.model_key FROM new_rows) AS n
    LEFT JOIN ml.woe_anchor_model_registry_v1 AS r ON r.model_key = n.model_key
    WHERE r.model_key IS NULL
       OR r.xmin::text <> (pg_current_xact_id()::text::bigint % 4294967296)::text
    ORDER BY r.model_key IS NOT NULL, n.model_key
    LIMIT 1;
    IF v_key IS NOT NULL AND NOT v_committed THEN
        RAISE EXCEPTION 'WOE package % does not exist: INSERT into %.% refused',
            v_key, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Insert the registry row of the package first, in the same transaction.';
    END IF;
    IF v_key IS NOT NULL THEN
        RAISE EXCEPTION 'WOE package % is already committed: INSERT into %.% refused',
            v_key, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$function$;
"""


def upgrade() -> None:
    op.execute(
        r"""
-- The registry holds one row per package (tens of rows): rewriting it is instant.
-- squawk-ignore adding-field-with-default,adding-required-field
ALTER TABLE ml.woe_anchor_model_registry_v1
    ADD COLUMN created_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
COMMENT ON COLUMN ml.woe_anchor_model_registry_v1.created_xid IS
    'Transaction that created the package: only it may add cuts, map, scores or report rows.';

CREATE OR REPLACE FUNCTION ml.reject_rows_for_committed_package() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_key text;
    v_committed boolean;
BEGIN
    -- One row per distinct model_key of the statement: an unknown key first (a missing
    -- registry row), then a key whose registry row was created by another transaction.
    SELECT n.model_key, r.model_key IS NOT NULL INTO v_key, v_committed
    FROM (SELECT DISTINCT new_rows.model_key FROM new_rows) AS n
    LEFT JOIN ml.woe_anchor_model_registry_v1 AS r ON r.model_key = n.model_key
    WHERE r.model_key IS NULL
       OR r.created_xid <> pg_current_xact_id()
    ORDER BY r.model_key IS NOT NULL, n.model_key
    LIMIT 1;
    IF v_key IS NOT NULL AND NOT v_committed THEN
        RAISE EXCEPTION 'WOE package % does not exist: INSERT into %.% refused',
            v_key, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Insert the registry row of the package first, in the same transaction.';
    END IF;
    IF v_key IS NOT NULL THEN
        RAISE EXCEPTION 'WOE package % is already committed: INSERT into %.% refused',
            v_key, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$function$;
"""
    )


def downgrade() -> None:
    op.execute(
        PREVIOUS_FUNCTION
        + "ALTER TABLE ml.woe_anchor_model_registry_v1 DROP COLUMN created_xid;\n"
    )

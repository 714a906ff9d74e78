"""scores: check the package once per statement instead of once per row

Revision ID: 0022
Revises: 0021

Persisting a package writes one OOF score row per training row (about a million at 1M
listings). Two per-row costs of ml.woe_anchor_scores_v1 bought nothing the schema does not
already guarantee:

* the foreign key to the registry ran one lookup per inserted row. Registry rows can never be
  deleted, updated (except is_active) or truncated (0007), so the key's only job on scores is
  "model_key names a package" at INSERT time. The statement-level trigger of 0007 already
  joins the statement's new rows to the registry; it now also refuses a model_key without a
  registry row (SQLSTATE 23503, foreign_key_violation, as the key did), once per statement.
  The cuts and map tables keep their foreign keys (a few dozen rows per package).
* woe_anchor_scores_v1_listing_idx (generation, listing_id, t0) served no query: every reader
  selects a package's scores by model_key, the primary key's leading column.

The trigger function is shared by the three artifact tables, so cuts and map get the same
clear message; their foreign keys still hold as before.
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

PREVIOUS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION ml.reject_rows_for_committed_package() RETURNS trigger
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
"""


def upgrade() -> None:
    op.execute(
        r"""
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

-- The guarantee moves to the trigger above (same SQLSTATE), it is not removed.
-- squawk-ignore ban-drop-constraint
ALTER TABLE ml.woe_anchor_scores_v1 DROP CONSTRAINT woe_anchor_scores_v1_model_key_fkey;
-- Nothing reads through this index; the table is written only by a trainer's own transaction.
-- squawk-ignore require-concurrent-index-deletion
DROP INDEX ml.woe_anchor_scores_v1_listing_idx;
"""
    )


def downgrade() -> None:
    op.execute(
        r"""
CREATE INDEX woe_anchor_scores_v1_listing_idx
    ON ml.woe_anchor_scores_v1 (generation, listing_id, t0);
ALTER TABLE ml.woe_anchor_scores_v1 ADD CONSTRAINT woe_anchor_scores_v1_model_key_fkey
    FOREIGN KEY (model_key) REFERENCES ml.woe_anchor_model_registry_v1 (model_key);
"""
        + PREVIOUS_FUNCTION
    )

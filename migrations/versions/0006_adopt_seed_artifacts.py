"""legacy adoption, step 2: copy set-aside seed packages into the new tables, drop the old ones

Revision ID: 0006
Revises: 0005

Columns are matched by name through jsonb, so registries with or without the fields of
02_add_registry_fields load alike (missing fields stay NULL: such a package scores nothing
until retrained). Legacy final rows stored with a negative fold_id sentinel (needed while
fold_id was part of a NOT NULL primary key) become fold_id NULL. At most one legacy package
stays active: the most recently created active one. On a fresh database nothing is copied.
Downgrading does not restore the legacy tables.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
DO $adopt$
BEGIN
    IF to_regclass('woe_seed_legacy.woe_anchor_model_registry_v1') IS NOT NULL THEN
        INSERT INTO ml.woe_anchor_model_registry_v1
        SELECT r.model_key, r.train_cutoff_ts, r.half_life_days, r.eps, r.n_folds,
               r.band_schema_version,
               CASE WHEN r.code_sha256 ~ '^[0-9a-f]{64}$' THEN r.code_sha256 END,
               coalesce(r.created_at, now()), false, r.base_rate, r.base_logit,
               r.dsold_t1, r.dsold_t2, r.dsold_t3, r.dsold_t4
        FROM woe_seed_legacy.woe_anchor_model_registry_v1 AS l,
             jsonb_populate_record(NULL::ml.woe_anchor_model_registry_v1, to_jsonb(l)) AS r;

        UPDATE ml.woe_anchor_model_registry_v1 SET is_active = true
        WHERE model_key = (
            SELECT l.model_key FROM woe_seed_legacy.woe_anchor_model_registry_v1 AS l
            WHERE l.is_active
            ORDER BY (to_jsonb(l) ->> 'created_at')::timestamptz DESC NULLS LAST, l.model_key DESC
            LIMIT 1);
    END IF;

    IF to_regclass('woe_seed_legacy.woe_anchor_cuts_v1') IS NOT NULL THEN
        INSERT INTO ml.woe_anchor_cuts_v1 (model_key, fold_id, c1, c2)
        SELECT r.model_key, CASE WHEN r.fold_id >= 0 THEN r.fold_id END, r.c1, r.c2
        FROM woe_seed_legacy.woe_anchor_cuts_v1 AS l,
             jsonb_populate_record(NULL::ml.woe_anchor_cuts_v1, to_jsonb(l)) AS r;
    END IF;

    IF to_regclass('woe_seed_legacy.woe_anchor_map_v1') IS NOT NULL THEN
        INSERT INTO ml.woe_anchor_map_v1
            (model_key, fold_id, band_name, band_value, woe, sum_w_pos, sum_w_neg, n_rows)
        SELECT r.model_key, CASE WHEN r.fold_id >= 0 THEN r.fold_id END, r.band_name,
               r.band_value, r.woe, r.sum_w_pos, r.sum_w_neg, r.n_rows
        FROM woe_seed_legacy.woe_anchor_map_v1 AS l,
             jsonb_populate_record(NULL::ml.woe_anchor_map_v1, to_jsonb(l)) AS r;
    END IF;

    IF to_regclass('woe_seed_legacy.woe_anchor_scores_v1') IS NOT NULL THEN
        INSERT INTO ml.woe_anchor_scores_v1
            (model_key, generation, listing_id, t0, fold_id, is_oof, woe_logit, woe_p)
        SELECT r.model_key, r.generation, r.listing_id, r.t0,
               CASE WHEN r.fold_id >= 0 THEN r.fold_id END, coalesce(r.is_oof, true),
               r.woe_logit, r.woe_p
        FROM woe_seed_legacy.woe_anchor_scores_v1 AS l,
             jsonb_populate_record(NULL::ml.woe_anchor_scores_v1, to_jsonb(l)) AS r;
    END IF;
END
$adopt$;
DROP SCHEMA woe_seed_legacy CASCADE;
"""
    )


def downgrade() -> None:
    op.execute("CREATE SCHEMA woe_seed_legacy;")

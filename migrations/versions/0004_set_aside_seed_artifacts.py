"""legacy adoption, step 1: move artifact tables built by the seed's raw scripts out of the way

Revision ID: 0004
Revises: 0003

Databases built before Alembic (seed 000: sql/00_create_tables.sql, with or without
01_nullable_fold_id_migration and 02_add_registry_fields) have ml.woe_anchor_* tables whose
primary keys include fold_id and whose registry may lack base_rate, base_logit and dsold_t1..4.
This revision moves such tables into schema woe_seed_legacy and drops the seed's views (the
scoring revisions recreate them from one definition). On a fresh database every statement is a
no-op apart from creating the schemas. Revision 0006 copies the packages into the new tables.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
CREATE SCHEMA IF NOT EXISTS ml;
COMMENT ON SCHEMA ml IS 'WOE anchor store: immutable packages, banding definition, scoring views.';
CREATE SCHEMA woe_seed_legacy;
DROP VIEW IF EXISTS
    ml.woe_anchor_scores_live_train_v,
    ml.woe_anchor_feature_store_t0_v1_v,
    ml.woe_anchor_scores_live_v1,
    ml.v_woe_anchor_bands_live_v1;
ALTER TABLE IF EXISTS ml.woe_anchor_scores_v1 SET SCHEMA woe_seed_legacy;
ALTER TABLE IF EXISTS ml.woe_anchor_map_v1 SET SCHEMA woe_seed_legacy;
ALTER TABLE IF EXISTS ml.woe_anchor_cuts_v1 SET SCHEMA woe_seed_legacy;
ALTER TABLE IF EXISTS ml.woe_anchor_model_registry_v1 SET SCHEMA woe_seed_legacy;
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP SCHEMA woe_seed_legacy;
DROP SCHEMA ml;
"""
    )

"""guarded consumer view of the source-contract entrypoint, readable by the reader role

Revision ID: 0046
Revises: 0045

The source contract's certified entrypoint (src.listing_snapshots_t0_v1_v, 0020) had no
guarded view, so consumers holding only the reader role could not use it at all. This view
gates it exactly as ml.woe_anchor_scores_live_train_v gates the WOE store: one guard call per
query, failing closed when the entrypoint is uncertified, stale or drifted. It becomes an
alias of that entrypoint in the policy, so its registry row inherits the entrypoint's status.
"""

from alembic import op

from harness.roles import from_alembic as roles

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade() -> None:
    reader = roles().reader
    op.execute(
        rf"""
CREATE VIEW src.listing_snapshots_t0_live_train_v AS
SELECT generation,
       listing_id,
       t0,
       delta_vs_sold_median_30d,
       condition_score,
       damage_severity_ai,
       battery_pct_effective,
       seller_rating,
       review_count,
       member_since_year,
       ai_ship_can,
       ai_ship_pickup,
       ai_pickup_only_bin,
       ai_sale_mode_firm,
       ai_sale_mode_bids,
       ai_sale_mode_obo,
       image_count,
       caption_share,
       stock_photo_share,
       photo_quality_avg,
       bg_clean_avg,
       dmg_band_hq_struct,
       charger_bundle_level,
       box_present,
       receipt_present
FROM src.listing_snapshots_t0_v1_v
WHERE audit.require_certified_strict('src.listing_snapshots_t0_v1_v', interval '24 hours');
COMMENT ON VIEW src.listing_snapshots_t0_live_train_v IS
    'Guarded consumer view of the source contract: fails closed unless certified, fresh, undrifted.';

UPDATE audit.t0_entrypoint_policy
   SET aliases = ARRAY['src.listing_snapshots_t0_live_train_v']
 WHERE entrypoint = 'src.listing_snapshots_t0_v1_v';

GRANT USAGE ON SCHEMA src TO {reader};
GRANT SELECT ON src.listing_snapshots_t0_live_train_v TO {reader};
"""
    )


def downgrade() -> None:
    reader = roles().reader
    op.execute(
        rf"""
REVOKE SELECT ON src.listing_snapshots_t0_live_train_v FROM {reader};
REVOKE USAGE ON SCHEMA src FROM {reader};
DELETE FROM audit.t0_cert_registry WHERE entrypoint = 'src.listing_snapshots_t0_live_train_v';
UPDATE audit.t0_entrypoint_policy
   SET aliases = ARRAY[]::text[]
 WHERE entrypoint = 'src.listing_snapshots_t0_v1_v';
DROP VIEW src.listing_snapshots_t0_live_train_v;
"""
    )

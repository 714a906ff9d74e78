"""live scoring: bands view, scores view, certified entrypoint, guarded consumer view

Revision ID: 0009
Revises: 0008

Every view reads the active package only. A package without thresholds, its final cuts row,
a base logit or final map rows scores nothing: the inner joins and filters drop it instead
of guessing a band.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
CREATE VIEW ml.v_woe_anchor_bands_live_v1 AS
SELECT s.generation,
       s.listing_id,
       s.t0,
       r.model_key,
       (b.band_set).has_assets,
       (b.band_set).presentation_score,
       (b.band_set).dsold,
       (b.band_set).trust,
       (b.band_set).ship,
       (b.band_set).sale,
       (b.band_set).cond,
       (b.band_set).dmg,
       (b.band_set).bat,
       (b.band_set).present,
       (b.band_set).vdmg,
       (b.band_set).acc
FROM src.listing_snapshots_t0 AS s
JOIN ml.woe_anchor_model_registry_v1 AS r
  ON r.is_active
 AND r.dsold_t1 IS NOT NULL AND r.dsold_t2 IS NOT NULL
 AND r.dsold_t3 IS NOT NULL AND r.dsold_t4 IS NOT NULL
JOIN ml.woe_anchor_cuts_v1 AS c
  ON c.model_key = r.model_key AND c.fold_id IS NULL
LEFT JOIN src.listing_vision_features AS v
  ON v.generation = s.generation AND v.listing_id = s.listing_id
CROSS JOIN LATERAL (
    SELECT ml.woe_anchor_bands_v1(
        s.t0, s.delta_vs_sold_median_30d, s.condition_score, s.damage_severity_ai,
        s.battery_pct_effective, s.seller_rating, s.review_count, s.member_since_year,
        s.ai_ship_can, s.ai_ship_pickup, s.ai_pickup_only_bin, s.ai_sale_mode_firm,
        s.ai_sale_mode_bids, s.ai_sale_mode_obo, v.image_count, v.caption_share,
        v.stock_photo_share, v.photo_quality_avg, v.bg_clean_avg, v.dmg_band_hq_struct,
        v.charger_bundle_level, v.box_present, v.receipt_present,
        r.dsold_t1, r.dsold_t2, r.dsold_t3, r.dsold_t4, c.c1, c.c2) AS band_set
) AS b;
COMMENT ON VIEW ml.v_woe_anchor_bands_live_v1 IS
    'Bands of every snapshot under the active package (one banding definition).';

CREATE VIEW ml.woe_anchor_scores_live_v1 AS
SELECT b.generation,
       b.listing_id,
       b.t0,
       b.model_key,
       l.woe_logit,
       ml.woe_anchor_probability_v1(l.woe_logit) AS woe_anchor_p_slow21
FROM ml.v_woe_anchor_bands_live_v1 AS b
JOIN ml.woe_anchor_model_registry_v1 AS r
  ON r.model_key = b.model_key AND r.base_logit IS NOT NULL
LEFT JOIN ml.woe_anchor_map_v1 AS m_dsold
  ON m_dsold.model_key = b.model_key AND m_dsold.fold_id IS NULL
 AND m_dsold.band_name = 'dsold' AND m_dsold.band_value = b.dsold
LEFT JOIN ml.woe_anchor_map_v1 AS m_trust
  ON m_trust.model_key = b.model_key AND m_trust.fold_id IS NULL
 AND m_trust.band_name = 'trust' AND m_trust.band_value = b.trust
LEFT JOIN ml.woe_anchor_map_v1 AS m_ship
  ON m_ship.model_key = b.model_key AND m_ship.fold_id IS NULL
 AND m_ship.band_name = 'ship' AND m_ship.band_value = b.ship
LEFT JOIN ml.woe_anchor_map_v1 AS m_sale
  ON m_sale.model_key = b.model_key AND m_sale.fold_id IS NULL
 AND m_sale.band_name = 'sale' AND m_sale.band_value = b.sale
LEFT JOIN ml.woe_anchor_map_v1 AS m_cond
  ON m_cond.model_key = b.model_key AND m_cond.fold_id IS NULL
 AND m_cond.band_name = 'cond' AND m_cond.band_value = b.cond
LEFT JOIN ml.woe_anchor_map_v1 AS m_dmg
  ON m_dmg.model_key = b.model_key AND m_dmg.fold_id IS NULL
 AND m_dmg.band_name = 'dmg' AND m_dmg.band_value = b.dmg
LEFT JOIN ml.woe_anchor_map_v1 AS m_bat
  ON m_bat.model_key = b.model_key AND m_bat.fold_id IS NULL
 AND m_bat.band_name = 'bat' AND m_bat.band_value = b.bat
LEFT JOIN ml.woe_anchor_map_v1 AS m_present
  ON m_present.model_key = b.model_key AND m_present.fold_id IS NULL
 AND m_present.band_name = 'present' AND m_present.band_value = b.present
LEFT JOIN ml.woe_anchor_map_v1 AS m_vdmg
  ON m_vdmg.model_key = b.model_key AND m_vdmg.fold_id IS NULL
 AND m_vdmg.band_name = 'vdmg' AND m_vdmg.band_value = b.vdmg
LEFT JOIN ml.woe_anchor_map_v1 AS m_acc
  ON m_acc.model_key = b.model_key AND m_acc.fold_id IS NULL
 AND m_acc.band_name = 'acc' AND m_acc.band_value = b.acc
CROSS JOIN LATERAL (
    SELECT ml.woe_anchor_logit_v1(
        r.base_logit, m_dsold.woe, m_trust.woe, m_ship.woe, m_sale.woe, m_cond.woe,
        m_dmg.woe, m_bat.woe, m_present.woe, m_vdmg.woe, m_acc.woe) AS woe_logit
) AS l
WHERE EXISTS (
    SELECT 1 FROM ml.woe_anchor_map_v1 AS f
    WHERE f.model_key = b.model_key AND f.fold_id IS NULL
);
COMMENT ON VIEW ml.woe_anchor_scores_live_v1 IS
    'WOE logit and P(slow21) of every snapshot under the active package.';

CREATE VIEW ml.woe_anchor_feature_store_t0_v1_v AS
SELECT generation,
       listing_id,
       t0,
       t0 AS edited_date,
       model_key,
       woe_logit,
       woe_anchor_p_slow21
FROM ml.woe_anchor_scores_live_v1;
COMMENT ON VIEW ml.woe_anchor_feature_store_t0_v1_v IS
    'Certified entrypoint of the WOE anchor store (T0-correct; no labels reachable).';

CREATE VIEW ml.woe_anchor_scores_live_train_v AS
SELECT generation,
       listing_id,
       t0,
       edited_date,
       model_key,
       woe_logit,
       woe_anchor_p_slow21
FROM ml.woe_anchor_feature_store_t0_v1_v
WHERE audit.require_certified_strict('ml.woe_anchor_feature_store_t0_v1_v', interval '24 hours');
COMMENT ON VIEW ml.woe_anchor_scores_live_train_v IS
    'Guarded consumer view: fails closed unless the entrypoint is certified, fresh and undrifted.';
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP VIEW ml.woe_anchor_scores_live_train_v;
DROP VIEW ml.woe_anchor_feature_store_t0_v1_v;
DROP VIEW ml.woe_anchor_scores_live_v1;
DROP VIEW ml.v_woe_anchor_bands_live_v1;
"""
    )

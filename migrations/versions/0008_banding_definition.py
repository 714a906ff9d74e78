"""the one banding definition (SPEC section 4, band schema version 1) and the score sum

Revision ID: 0008
Revises: 0007

Training (harness.train) and live scoring (the ml.*_live_* views) both call these functions,
so train/serve skew is impossible by construction. They are LANGUAGE sql IMMUTABLE with
SQL-standard bodies: parsed once at creation (immune to the caller's search_path, with their
dependencies recorded in pg_depend) and inlined by the planner, so they cost no function call.
Time is UTC whatever the session's TimeZone: year(t0) is taken from t0 AT TIME ZONE 'UTC'.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
CREATE FUNCTION ml.woe_anchor_has_assets_v1(image_count integer)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(image_count, 0) > 0;
COMMENT ON FUNCTION ml.woe_anchor_has_assets_v1(integer) IS
    'A listing has assets when it has a vision row with image_count > 0.';

CREATE FUNCTION ml.woe_anchor_presentation_score_v1(
    image_count integer,
    photo_quality_avg double precision,
    bg_clean_avg double precision,
    stock_photo_share double precision,
    caption_share double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 0.30::double precision * ln(1.0::double precision + coalesce(image_count, 0))
     + 0.25::double precision * coalesce(photo_quality_avg, 0.0::double precision)
     + 0.20::double precision * coalesce(bg_clean_avg, 0.0::double precision)
     + 0.15::double precision * (1.0::double precision - coalesce(stock_photo_share, 0.0::double precision))
     + 0.10::double precision * coalesce(caption_share, 0.0::double precision);
COMMENT ON FUNCTION ml.woe_anchor_presentation_score_v1(integer, double precision, double precision, double precision, double precision) IS
    'SPEC 4: 0.30 ln(1+images) + 0.25 quality + 0.20 bg_clean + 0.15 (1-stock) + 0.10 caption; NULL counts as 0.';

CREATE TYPE ml.woe_anchor_band_set_v1 AS (
    has_assets          boolean,
    presentation_score  double precision,
    dsold               text,
    trust               text,
    ship                text,
    sale                text,
    cond                text,
    dmg                 text,
    bat                 text,
    present             text,
    vdmg                text,
    acc                 text
);

CREATE FUNCTION ml.woe_anchor_bands_v1(
    t0                        timestamptz,
    delta_vs_sold_median_30d  double precision,
    condition_score           double precision,
    damage_severity_ai        double precision,
    battery_pct_effective     double precision,
    seller_rating             double precision,
    review_count              integer,
    member_since_year         integer,
    ai_ship_can               smallint,
    ai_ship_pickup            smallint,
    ai_pickup_only_bin        smallint,
    ai_sale_mode_firm         smallint,
    ai_sale_mode_bids         smallint,
    ai_sale_mode_obo          smallint,
    image_count               integer,
    caption_share             double precision,
    stock_photo_share         double precision,
    photo_quality_avg         double precision,
    bg_clean_avg              double precision,
    dmg_band_hq_struct        double precision,
    charger_bundle_level      integer,
    box_present               boolean,
    receipt_present           boolean,
    dsold_t1                  double precision,
    dsold_t2                  double precision,
    dsold_t3                  double precision,
    dsold_t4                  double precision,
    present_c1                double precision,
    present_c2                double precision)
RETURNS ml.woe_anchor_band_set_v1
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ROW(
    ml.woe_anchor_has_assets_v1(image_count),
    CASE WHEN ml.woe_anchor_has_assets_v1(image_count) THEN
        ml.woe_anchor_presentation_score_v1(
            image_count, photo_quality_avg, bg_clean_avg, stock_photo_share, caption_share)
    END,
    CASE
        WHEN dsold_t1 IS NULL OR dsold_t2 IS NULL OR dsold_t3 IS NULL OR dsold_t4 IS NULL THEN NULL
        WHEN delta_vs_sold_median_30d IS NULL THEN 'dSold_missing'
        WHEN delta_vs_sold_median_30d <= dsold_t1 THEN 'dSold_cheap'
        WHEN delta_vs_sold_median_30d <= dsold_t2 THEN 'dSold_under'
        WHEN delta_vs_sold_median_30d <= dsold_t3 THEN 'dSold_fair'
        WHEN delta_vs_sold_median_30d <= dsold_t4 THEN 'dSold_over'
        ELSE 'dSold_overpriced'
    END,
    CASE
        WHEN seller_rating >= 9.7 AND review_count >= 50 AND member_since_year IS NOT NULL
             AND member_since_year <= EXTRACT(YEAR FROM (t0 AT TIME ZONE 'UTC')) - 3 THEN 'HIGH'
        WHEN seller_rating >= 9.0 AND review_count >= 10 THEN 'MED'
        ELSE 'LOW'
    END,
    CASE
        WHEN ai_pickup_only_bin = 1 OR ai_ship_pickup = 1 THEN 'pickup_heavy'
        WHEN ai_ship_can = 1 THEN 'shipping_ok'
        ELSE 'ship_unknown'
    END,
    CASE
        WHEN ai_sale_mode_firm = 1 THEN 'firm'
        WHEN ai_sale_mode_bids = 1 THEN 'bids'
        WHEN ai_sale_mode_obo = 1 THEN 'obo'
        ELSE 'sale_unspec'
    END,
    CASE
        WHEN condition_score IS NULL THEN 'cond_missing'
        WHEN condition_score >= 0.90 THEN 'cond_hi'
        WHEN condition_score >= 0.70 THEN 'cond_mid'
        ELSE 'cond_lo'
    END,
    CASE
        WHEN damage_severity_ai IS NULL THEN 'dmg_missing'
        WHEN damage_severity_ai < 1 THEN 'dmg_0'
        WHEN damage_severity_ai < 2 THEN 'dmg_1'
        WHEN damage_severity_ai < 3 THEN 'dmg_2'
        ELSE 'dmg_3p'
    END,
    CASE
        WHEN battery_pct_effective IS NULL THEN 'bat_missing'
        WHEN battery_pct_effective >= 95 THEN 'bat_hi'
        WHEN battery_pct_effective >= 88 THEN 'bat_mid'
        ELSE 'bat_lo'
    END,
    CASE
        WHEN NOT ml.woe_anchor_has_assets_v1(image_count) THEN NULL
        WHEN present_c1 IS NULL OR present_c2 IS NULL THEN NULL
        WHEN ml.woe_anchor_presentation_score_v1(
                 image_count, photo_quality_avg, bg_clean_avg, stock_photo_share, caption_share)
             < present_c1 THEN 'present_lo'
        WHEN ml.woe_anchor_presentation_score_v1(
                 image_count, photo_quality_avg, bg_clean_avg, stock_photo_share, caption_share)
             < present_c2 THEN 'present_mid'
        ELSE 'present_hi'
    END,
    CASE
        WHEN NOT ml.woe_anchor_has_assets_v1(image_count) THEN NULL
        WHEN dmg_band_hq_struct IS NULL THEN 'vdmg_missing'
        WHEN dmg_band_hq_struct < 1 THEN 'vdmg_0'
        WHEN dmg_band_hq_struct < 2 THEN 'vdmg_1'
        WHEN dmg_band_hq_struct < 3 THEN 'vdmg_2'
        ELSE 'vdmg_3p'
    END,
    CASE
        WHEN NOT ml.woe_anchor_has_assets_v1(image_count) THEN NULL
        WHEN coalesce(charger_bundle_level, 0) + coalesce(box_present::integer, 0)
             + coalesce(receipt_present::integer, 0) <= 0 THEN 'acc_lo'
        WHEN coalesce(charger_bundle_level, 0) + coalesce(box_present::integer, 0)
             + coalesce(receipt_present::integer, 0) < 2 THEN 'acc_mid'
        ELSE 'acc_hi'
    END
)::ml.woe_anchor_band_set_v1;
COMMENT ON FUNCTION ml.woe_anchor_bands_v1 IS
    'Band schema version 1 (SPEC 4): the only definition of the ten bands. NULL thresholds or '
    'cuts give NULL bands (a package missing them scores nothing).';

CREATE FUNCTION ml.woe_anchor_logit_v1(
    base_logit double precision,
    woe_dsold double precision, woe_trust double precision, woe_ship double precision,
    woe_sale double precision, woe_cond double precision, woe_dmg double precision,
    woe_bat double precision, woe_present double precision, woe_vdmg double precision,
    woe_acc double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN base_logit
     + coalesce(woe_dsold, 0.0::double precision) + coalesce(woe_trust, 0.0::double precision)
     + coalesce(woe_ship, 0.0::double precision) + coalesce(woe_sale, 0.0::double precision)
     + coalesce(woe_cond, 0.0::double precision) + coalesce(woe_dmg, 0.0::double precision)
     + coalesce(woe_bat, 0.0::double precision) + coalesce(woe_present, 0.0::double precision)
     + coalesce(woe_vdmg, 0.0::double precision) + coalesce(woe_acc, 0.0::double precision);
COMMENT ON FUNCTION ml.woe_anchor_logit_v1 IS
    'SPEC 5: base_logit plus the WOE of each band value, summed in this fixed order; '
    'an unknown or NULL band value adds 0.';

CREATE FUNCTION ml.woe_anchor_probability_v1(woe_logit double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 1.0::double precision / (1.0::double precision + exp(-woe_logit));
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP FUNCTION ml.woe_anchor_probability_v1(double precision);
DROP FUNCTION ml.woe_anchor_logit_v1(double precision, double precision, double precision,
    double precision, double precision, double precision, double precision, double precision,
    double precision, double precision, double precision);
DROP FUNCTION ml.woe_anchor_bands_v1(timestamptz, double precision, double precision,
    double precision, double precision, double precision, integer, integer, smallint, smallint,
    smallint, smallint, smallint, smallint, integer, double precision, double precision,
    double precision, double precision, double precision, integer, boolean, boolean,
    double precision, double precision, double precision, double precision, double precision,
    double precision);
DROP TYPE ml.woe_anchor_band_set_v1;
DROP FUNCTION ml.woe_anchor_presentation_score_v1(integer, double precision, double precision,
    double precision, double precision);
DROP FUNCTION ml.woe_anchor_has_assets_v1(integer);
"""
    )

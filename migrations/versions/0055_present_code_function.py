"""present band: its rule is one function of the score and the cuts, which training calls directly

Revision ID: 0055
Revises: 0054

The present band compares a listing's presentation score with a package's cuts (c1, c2).
ml.woe_anchor_band_codes_v1 spelled that rule inline on the raw vision features, so the trainer,
which keeps each training row's score and learns the cuts only after banding, had to find a
source row of every bucket between the cuts and band it again to learn each bucket's code (two
scans of the training rows, 0.2-0.27 s at 1.1M listings). The rule is now
ml.woe_anchor_present_code_v1(presentation_score, present_c1, present_c2), and
ml.woe_anchor_band_codes_v1 calls it: still one definition, used by training and live scoring
alike. The band of every input is unchanged (tested against the previous CASE, NULL, NaN,
infinities, c1 = c2 and c1 > c2 included): < c1 present_lo, < c2 present_mid, else
present_hi; NULL without assets or without cuts. The function names the score once, so a call
whose score is an expression still inlines (the live view now computes the score once per row
instead of up to three times).

Certified baselines of the entrypoint change: certify again after upgrading.
"""

from alembic import op

from harness.roles import from_alembic as roles

revision = "0055"
down_revision = "0054"
branch_labels = None
depends_on = None

PRESENT_CODE = "ml.woe_anchor_present_code_v1(double precision, double precision, double precision)"

# < c1 present_lo, < c2 present_mid, else present_hi. width_bucket(score, [c1, c2]) is the number
# of cuts at or below the score (float8 order: NaN above everything, as for "<"); with c1 > c2,
# "< c2" can never hold after "< c1" failed, which the pair [c1, c1] gives.
CREATE_PRESENT_CODE = r"""
CREATE FUNCTION ml.woe_anchor_present_code_v1(
    presentation_score  double precision,
    present_c1          double precision,
    present_c2          double precision)
RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN present_c1 IS NULL OR present_c2 IS NULL THEN NULL
    ELSE (ARRAY[ml.woe_anchor_band_code_v1('present', 'present_lo'),
                ml.woe_anchor_band_code_v1('present', 'present_mid'),
                ml.woe_anchor_band_code_v1('present', 'present_hi')])
         [width_bucket(presentation_score, ARRAY[present_c1, greatest(present_c1, present_c2)]) + 1]
END;
COMMENT ON FUNCTION ml.woe_anchor_present_code_v1(
    double precision, double precision, double precision) IS
    'Band schema version 1 (SPEC 4): the present band code of a presentation score under the '
    'cuts c1, c2 (< c1 present_lo, < c2 present_mid, else present_hi); NULL score or cuts give '
    'NULL.';
"""

# The banding definition as 0050 wrote it, but for the present band's CASE.
BAND_CODES = r"""
CREATE OR REPLACE FUNCTION ml.woe_anchor_band_codes_v1(
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
RETURNS ml.woe_anchor_band_code_set_v1
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ROW(
    ml.woe_anchor_has_assets_v1(image_count),
    CASE WHEN ml.woe_anchor_has_assets_v1(image_count) THEN
        ml.woe_anchor_presentation_score_v1(
            image_count, photo_quality_avg, bg_clean_avg, stock_photo_share, caption_share)
    END,
    CASE
        WHEN dsold_t1 IS NULL OR dsold_t2 IS NULL OR dsold_t3 IS NULL OR dsold_t4 IS NULL THEN NULL
        WHEN delta_vs_sold_median_30d IS NULL THEN ml.woe_anchor_band_code_v1('dsold', 'dSold_missing')
        WHEN delta_vs_sold_median_30d <= dsold_t1 THEN ml.woe_anchor_band_code_v1('dsold', 'dSold_cheap')
        WHEN delta_vs_sold_median_30d <= dsold_t2 THEN ml.woe_anchor_band_code_v1('dsold', 'dSold_under')
        WHEN delta_vs_sold_median_30d <= dsold_t3 THEN ml.woe_anchor_band_code_v1('dsold', 'dSold_fair')
        WHEN delta_vs_sold_median_30d <= dsold_t4 THEN ml.woe_anchor_band_code_v1('dsold', 'dSold_over')
        ELSE ml.woe_anchor_band_code_v1('dsold', 'dSold_overpriced')
    END,
    CASE
        WHEN seller_rating >= 9.7 AND review_count >= 50 AND member_since_year IS NOT NULL
             AND member_since_year <= EXTRACT(YEAR FROM (t0 AT TIME ZONE 'UTC')) - 3
            THEN ml.woe_anchor_band_code_v1('trust', 'HIGH')
        WHEN seller_rating >= 9.0 AND review_count >= 10 THEN ml.woe_anchor_band_code_v1('trust', 'MED')
        ELSE ml.woe_anchor_band_code_v1('trust', 'LOW')
    END,
    CASE
        WHEN ai_pickup_only_bin = 1 OR ai_ship_pickup = 1
            THEN ml.woe_anchor_band_code_v1('ship', 'pickup_heavy')
        WHEN ai_ship_can = 1 THEN ml.woe_anchor_band_code_v1('ship', 'shipping_ok')
        ELSE ml.woe_anchor_band_code_v1('ship', 'ship_unknown')
    END,
    CASE
        WHEN ai_sale_mode_firm = 1 THEN ml.woe_anchor_band_code_v1('sale', 'firm')
        WHEN ai_sale_mode_bids = 1 THEN ml.woe_anchor_band_code_v1('sale', 'bids')
        WHEN ai_sale_mode_obo = 1 THEN ml.woe_anchor_band_code_v1('sale', 'obo')
        ELSE ml.woe_anchor_band_code_v1('sale', 'sale_unspec')
    END,
    CASE
        WHEN condition_score IS NULL THEN ml.woe_anchor_band_code_v1('cond', 'cond_missing')
        WHEN condition_score >= 0.90 THEN ml.woe_anchor_band_code_v1('cond', 'cond_hi')
        WHEN condition_score >= 0.70 THEN ml.woe_anchor_band_code_v1('cond', 'cond_mid')
        ELSE ml.woe_anchor_band_code_v1('cond', 'cond_lo')
    END,
    CASE
        WHEN damage_severity_ai IS NULL THEN ml.woe_anchor_band_code_v1('dmg', 'dmg_missing')
        WHEN damage_severity_ai < 1 THEN ml.woe_anchor_band_code_v1('dmg', 'dmg_0')
        WHEN damage_severity_ai < 2 THEN ml.woe_anchor_band_code_v1('dmg', 'dmg_1')
        WHEN damage_severity_ai < 3 THEN ml.woe_anchor_band_code_v1('dmg', 'dmg_2')
        ELSE ml.woe_anchor_band_code_v1('dmg', 'dmg_3p')
    END,
    CASE
        WHEN battery_pct_effective IS NULL THEN ml.woe_anchor_band_code_v1('bat', 'bat_missing')
        WHEN battery_pct_effective >= 95 THEN ml.woe_anchor_band_code_v1('bat', 'bat_hi')
        WHEN battery_pct_effective >= 88 THEN ml.woe_anchor_band_code_v1('bat', 'bat_mid')
        ELSE ml.woe_anchor_band_code_v1('bat', 'bat_lo')
    END,
{present}
    CASE
        WHEN NOT ml.woe_anchor_has_assets_v1(image_count) THEN NULL
        WHEN dmg_band_hq_struct IS NULL THEN ml.woe_anchor_band_code_v1('vdmg', 'vdmg_missing')
        WHEN dmg_band_hq_struct < 1 THEN ml.woe_anchor_band_code_v1('vdmg', 'vdmg_0')
        WHEN dmg_band_hq_struct < 2 THEN ml.woe_anchor_band_code_v1('vdmg', 'vdmg_1')
        WHEN dmg_band_hq_struct < 3 THEN ml.woe_anchor_band_code_v1('vdmg', 'vdmg_2')
        ELSE ml.woe_anchor_band_code_v1('vdmg', 'vdmg_3p')
    END,
    CASE
        WHEN NOT ml.woe_anchor_has_assets_v1(image_count) THEN NULL
        WHEN coalesce(charger_bundle_level, 0) + coalesce(box_present::integer, 0)
             + coalesce(receipt_present::integer, 0) <= 0 THEN ml.woe_anchor_band_code_v1('acc', 'acc_lo')
        WHEN coalesce(charger_bundle_level, 0) + coalesce(box_present::integer, 0)
             + coalesce(receipt_present::integer, 0) < 2 THEN ml.woe_anchor_band_code_v1('acc', 'acc_mid')
        ELSE ml.woe_anchor_band_code_v1('acc', 'acc_hi')
    END
)::ml.woe_anchor_band_code_set_v1;
"""

PRESENT_AS_FUNCTION = r"""
    CASE
        WHEN NOT ml.woe_anchor_has_assets_v1(image_count) THEN NULL
        ELSE ml.woe_anchor_present_code_v1(
            ml.woe_anchor_presentation_score_v1(
                image_count, photo_quality_avg, bg_clean_avg, stock_photo_share, caption_share),
            present_c1, present_c2)
    END,
"""

PRESENT_INLINE = r"""
    CASE
        WHEN NOT ml.woe_anchor_has_assets_v1(image_count) THEN NULL
        WHEN present_c1 IS NULL OR present_c2 IS NULL THEN NULL
        WHEN ml.woe_anchor_presentation_score_v1(
                 image_count, photo_quality_avg, bg_clean_avg, stock_photo_share, caption_share)
             < present_c1 THEN ml.woe_anchor_band_code_v1('present', 'present_lo')
        WHEN ml.woe_anchor_presentation_score_v1(
                 image_count, photo_quality_avg, bg_clean_avg, stock_photo_share, caption_share)
             < present_c2 THEN ml.woe_anchor_band_code_v1('present', 'present_mid')
        ELSE ml.woe_anchor_band_code_v1('present', 'present_hi')
    END,
"""


def upgrade() -> None:
    everyone = ", ".join(roles())
    op.execute(
        CREATE_PRESENT_CODE
        + BAND_CODES.replace("{present}\n", PRESENT_AS_FUNCTION.lstrip("\n"))
        + f"GRANT EXECUTE ON FUNCTION {PRESENT_CODE} TO {everyone};\n"
    )


def downgrade() -> None:
    op.execute(
        BAND_CODES.replace("{present}\n", PRESENT_INLINE.lstrip("\n"))
        + f"DROP FUNCTION {PRESENT_CODE};\n"
    )

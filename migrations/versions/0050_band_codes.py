"""band codes: the banding definition yields small integers; labels live in one function

Revision ID: 0050
Revises: 0046

Scoring a row looked each band's WOE up by its text value (array_position over the band's
values, about a third of the live view's time at 1M listings; ten text hash keys per row in
training). The one banding definition now computes a smallint code per band,
ml.woe_anchor_band_codes_v1, and the code is the position of the band's value in
ml.woe_anchor_band_labels_v1(band), the only place the value names are spelled. A WOE is then
an array subscript: woes[code].

ml.woe_anchor_bands_v1 keeps its signature and text composite for readers and tools, now as the
labels of the codes (each field inlines to one CASE and one subscript, as before), so there is
still exactly one definition of every band. ml.v_woe_anchor_bands_live_v1 keeps its columns and
appends the codes (dsold_code ... acc_code); the scores view reads the codes and the active
package's final map as one array of WOE per band, indexed by code (NULL, adding 0, for a code
the map lacks, as before). The arrays are built by one aggregate over every (band, code) of the
labels left-joined to the map (subqueries per band would be parallel-restricted and cost the
view its workers); HAVING drops a package without final map rows, as before. Scores are
unchanged to the last bit: same WOE values, same summation function, same order.

The code constants in ml.woe_anchor_band_codes_v1 are written as
ml.woe_anchor_band_code_v1(band, value): IMMUTABLE calls with constant arguments, folded to
constants when the planner inlines the function, so they cost nothing per row.
Certified baselines of the entrypoint change: certify again after upgrading.
"""

from alembic import op

from harness.roles import from_alembic as roles

revision = "0050"
down_revision = "0046"
branch_labels = None
depends_on = None

ARGS = (
    "t0, delta_vs_sold_median_30d, condition_score, damage_severity_ai, battery_pct_effective, "
    "seller_rating, review_count, member_since_year, ai_ship_can, ai_ship_pickup, "
    "ai_pickup_only_bin, ai_sale_mode_firm, ai_sale_mode_bids, ai_sale_mode_obo, image_count, "
    "caption_share, stock_photo_share, photo_quality_avg, bg_clean_avg, dmg_band_hq_struct, "
    "charger_bundle_level, box_present, receipt_present, dsold_t1, dsold_t2, dsold_t3, dsold_t4, "
    "present_c1, present_c2"
)
BANDS = ("dsold", "trust", "ship", "sale", "cond", "dmg", "bat", "present", "vdmg", "acc")

# The text composite as labels of the codes: one field per band, each inlining to that band's
# CASE (the planner reduces (codes(...)).band to the band's expression) and one subscript.
BANDS_AS_LABELS = (
    "CREATE OR REPLACE FUNCTION ml.woe_anchor_bands_v1(\n"
    "    t0 timestamptz, delta_vs_sold_median_30d double precision,\n"
    "    condition_score double precision, damage_severity_ai double precision,\n"
    "    battery_pct_effective double precision, seller_rating double precision,\n"
    "    review_count integer, member_since_year integer, ai_ship_can smallint,\n"
    "    ai_ship_pickup smallint, ai_pickup_only_bin smallint, ai_sale_mode_firm smallint,\n"
    "    ai_sale_mode_bids smallint, ai_sale_mode_obo smallint, image_count integer,\n"
    "    caption_share double precision, stock_photo_share double precision,\n"
    "    photo_quality_avg double precision, bg_clean_avg double precision,\n"
    "    dmg_band_hq_struct double precision, charger_bundle_level integer,\n"
    "    box_present boolean, receipt_present boolean, dsold_t1 double precision,\n"
    "    dsold_t2 double precision, dsold_t3 double precision, dsold_t4 double precision,\n"
    "    present_c1 double precision, present_c2 double precision)\n"
    "RETURNS ml.woe_anchor_band_set_v1\n"
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE\n"
    "RETURN ROW(\n"
    f"    (ml.woe_anchor_band_codes_v1({ARGS})).has_assets,\n"
    f"    (ml.woe_anchor_band_codes_v1({ARGS})).presentation_score,\n"
    + ",\n".join(
        f"    (ml.woe_anchor_band_labels_v1('{b}'))[(ml.woe_anchor_band_codes_v1({ARGS})).{b}]"
        for b in BANDS
    )
    + "\n)::ml.woe_anchor_band_set_v1;\n"
)

BANDS_VIEW = r"""
CREATE OR REPLACE VIEW ml.v_woe_anchor_bands_live_v1 AS
SELECT s.generation,
       s.listing_id,
       s.t0,
       r.model_key,
       (b.codes).has_assets,
       (b.codes).presentation_score,
       (ml.woe_anchor_band_labels_v1('dsold'))[(b.codes).dsold] AS dsold,
       (ml.woe_anchor_band_labels_v1('trust'))[(b.codes).trust] AS trust,
       (ml.woe_anchor_band_labels_v1('ship'))[(b.codes).ship] AS ship,
       (ml.woe_anchor_band_labels_v1('sale'))[(b.codes).sale] AS sale,
       (ml.woe_anchor_band_labels_v1('cond'))[(b.codes).cond] AS cond,
       (ml.woe_anchor_band_labels_v1('dmg'))[(b.codes).dmg] AS dmg,
       (ml.woe_anchor_band_labels_v1('bat'))[(b.codes).bat] AS bat,
       (ml.woe_anchor_band_labels_v1('present'))[(b.codes).present] AS present,
       (ml.woe_anchor_band_labels_v1('vdmg'))[(b.codes).vdmg] AS vdmg,
       (ml.woe_anchor_band_labels_v1('acc'))[(b.codes).acc] AS acc,
       (b.codes).dsold AS dsold_code,
       (b.codes).trust AS trust_code,
       (b.codes).ship AS ship_code,
       (b.codes).sale AS sale_code,
       (b.codes).cond AS cond_code,
       (b.codes).dmg AS dmg_code,
       (b.codes).bat AS bat_code,
       (b.codes).present AS present_code,
       (b.codes).vdmg AS vdmg_code,
       (b.codes).acc AS acc_code
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
    SELECT ml.woe_anchor_band_codes_v1(
        s.t0, s.delta_vs_sold_median_30d, s.condition_score, s.damage_severity_ai,
        s.battery_pct_effective, s.seller_rating, s.review_count, s.member_since_year,
        s.ai_ship_can, s.ai_ship_pickup, s.ai_pickup_only_bin, s.ai_sale_mode_firm,
        s.ai_sale_mode_bids, s.ai_sale_mode_obo, v.image_count, v.caption_share,
        v.stock_photo_share, v.photo_quality_avg, v.bg_clean_avg, v.dmg_band_hq_struct,
        v.charger_bundle_level, v.box_present, v.receipt_present,
        r.dsold_t1, r.dsold_t2, r.dsold_t3, r.dsold_t4, c.c1, c.c2) AS codes
) AS b;
COMMENT ON VIEW ml.v_woe_anchor_bands_live_v1 IS
    'Bands of every snapshot under the active package (one banding definition), as values '
    'and as codes (positions in ml.woe_anchor_band_labels_v1).';
"""


SCORES_VIEW = (
    r"""
CREATE OR REPLACE VIEW ml.woe_anchor_scores_live_v1 AS
SELECT b.generation,
       b.listing_id,
       b.t0,
       b.model_key,
       l.woe_logit,
       ml.woe_anchor_probability_v1(l.woe_logit) AS woe_anchor_p_slow21
FROM ml.v_woe_anchor_bands_live_v1 AS b
JOIN (
    SELECT r.model_key,
           r.base_logit,
           """
    + ",\n           ".join(
        f"array_agg(m.woe ORDER BY g.code) FILTER (WHERE n.band_name = '{band}') AS {band}_woes"
        for band in BANDS
    )
    + r"""
    FROM ml.woe_anchor_model_registry_v1 AS r
    CROSS JOIN unnest(ARRAY["""
    + ", ".join(f"'{band}'" for band in BANDS)
    + r"""]) AS n(band_name)
    CROSS JOIN LATERAL unnest(ml.woe_anchor_band_labels_v1(n.band_name))
        WITH ORDINALITY AS g(band_value, code)
    LEFT JOIN ml.woe_anchor_map_v1 AS m
      ON m.model_key = r.model_key AND m.fold_id IS NULL
     AND m.band_name = n.band_name AND m.band_value = g.band_value
    WHERE r.is_active AND r.base_logit IS NOT NULL
    GROUP BY r.model_key, r.base_logit
    HAVING count(m.woe) > 0
) AS k
  ON k.model_key = b.model_key
LEFT JOIN LATERAL (
    SELECT ml.woe_anchor_logit_v1(
        k.base_logit,
        k.dsold_woes[b.dsold_code],
        k.trust_woes[b.trust_code],
        k.ship_woes[b.ship_code],
        k.sale_woes[b.sale_code],
        k.cond_woes[b.cond_code],
        k.dmg_woes[b.dmg_code],
        k.bat_woes[b.bat_code],
        k.present_woes[b.present_code],
        k.vdmg_woes[b.vdmg_code],
        k.acc_woes[b.acc_code]) AS woe_logit
) AS l
  ON TRUE;
COMMENT ON VIEW ml.woe_anchor_scores_live_v1 IS
    'WOE logit and P(slow21) of every snapshot under the active package.';
"""
)


def upgrade() -> None:
    op.execute(
        r"""
CREATE FUNCTION ml.woe_anchor_band_labels_v1(band_name text)
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE band_name
    WHEN 'dsold' THEN ARRAY['dSold_missing', 'dSold_cheap', 'dSold_under', 'dSold_fair',
                            'dSold_over', 'dSold_overpriced']
    WHEN 'trust' THEN ARRAY['HIGH', 'MED', 'LOW']
    WHEN 'ship' THEN ARRAY['pickup_heavy', 'shipping_ok', 'ship_unknown']
    WHEN 'sale' THEN ARRAY['firm', 'bids', 'obo', 'sale_unspec']
    WHEN 'cond' THEN ARRAY['cond_missing', 'cond_hi', 'cond_mid', 'cond_lo']
    WHEN 'dmg' THEN ARRAY['dmg_missing', 'dmg_0', 'dmg_1', 'dmg_2', 'dmg_3p']
    WHEN 'bat' THEN ARRAY['bat_missing', 'bat_hi', 'bat_mid', 'bat_lo']
    WHEN 'present' THEN ARRAY['present_lo', 'present_mid', 'present_hi']
    WHEN 'vdmg' THEN ARRAY['vdmg_missing', 'vdmg_0', 'vdmg_1', 'vdmg_2', 'vdmg_3p']
    WHEN 'acc' THEN ARRAY['acc_lo', 'acc_mid', 'acc_hi']
END;
COMMENT ON FUNCTION ml.woe_anchor_band_labels_v1(text) IS
    'Band schema version 1: the values of a band; a band code is a position in this array.';

CREATE FUNCTION ml.woe_anchor_band_code_v1(band_name text, band_value text)
RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN array_position(ml.woe_anchor_band_labels_v1(band_name), band_value)::smallint;
COMMENT ON FUNCTION ml.woe_anchor_band_code_v1(text, text) IS
    'The code of a band value (its position in ml.woe_anchor_band_labels_v1); NULL if unknown.';

CREATE TYPE ml.woe_anchor_band_code_set_v1 AS (
    has_assets          boolean,
    presentation_score  double precision,
    dsold               smallint,
    trust               smallint,
    ship                smallint,
    sale                smallint,
    cond                smallint,
    dmg                 smallint,
    bat                 smallint,
    present             smallint,
    vdmg                smallint,
    acc                 smallint
);

CREATE FUNCTION ml.woe_anchor_band_codes_v1(
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
COMMENT ON FUNCTION ml.woe_anchor_band_codes_v1 IS
    'Band schema version 1 (SPEC 4): the only definition of the ten bands, as codes (positions '
    'in ml.woe_anchor_band_labels_v1). NULL thresholds or cuts give NULL bands.';
"""
        + BANDS_AS_LABELS
        + """
COMMENT ON FUNCTION ml.woe_anchor_bands_v1 IS
    'Band schema version 1 as values: the labels of ml.woe_anchor_band_codes_v1.';
"""
        + BANDS_VIEW
        + SCORES_VIEW
        + _grant_new_functions()
    )


NEW_FUNCTIONS = (
    "ml.woe_anchor_band_labels_v1(text)",
    "ml.woe_anchor_band_code_v1(text, text)",
    ("ml.woe_anchor_band_codes_v1(timestamptz, double precision, double precision, "
    "double precision, double precision, double precision, integer, integer, smallint, smallint, "
    "smallint, smallint, smallint, smallint, integer, double precision, double precision, "
    "double precision, double precision, double precision, integer, boolean, boolean, "
    "double precision, double precision, double precision, double precision, double precision, "
    "double precision)"),
)


def _grant_new_functions() -> str:
    """The scoring functions are granted to every role explicitly, as 0030 does."""
    everyone = ", ".join(roles())
    return "".join(f"GRANT EXECUTE ON FUNCTION {f} TO {everyone};\n" for f in NEW_FUNCTIONS)


# Downgrade: the views lose their code columns only by being recreated (CREATE OR REPLACE VIEW
# cannot drop columns), so the chain bands -> scores -> entrypoint -> guarded view is dropped and
# recreated as 0025 left it, with its grants; then the text banding definition of 0008 returns.
PREVIOUS_BANDS_VIEW = r"""
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
"""

PREVIOUS_SCORES_VIEW = r"""
CREATE VIEW ml.woe_anchor_scores_live_v1 AS
SELECT b.generation,
       b.listing_id,
       b.t0,
       b.model_key,
       l.woe_logit,
       ml.woe_anchor_probability_v1(l.woe_logit) AS woe_anchor_p_slow21
FROM ml.v_woe_anchor_bands_live_v1 AS b
JOIN (
    SELECT r.model_key,
           r.base_logit,
           array_agg(m.band_value ORDER BY m.band_value) FILTER (WHERE m.band_name = 'dsold')
               AS dsold_values,
           array_agg(m.woe ORDER BY m.band_value) FILTER (WHERE m.band_name = 'dsold')
               AS dsold_woes,
           array_agg(m.band_value ORDER BY m.band_value) FILTER (WHERE m.band_name = 'trust')
               AS trust_values,
           array_agg(m.woe ORDER BY m.band_value) FILTER (WHERE m.band_name = 'trust')
               AS trust_woes,
           array_agg(m.band_value ORDER BY m.band_value) FILTER (WHERE m.band_name = 'ship')
               AS ship_values,
           array_agg(m.woe ORDER BY m.band_value) FILTER (WHERE m.band_name = 'ship')
               AS ship_woes,
           array_agg(m.band_value ORDER BY m.band_value) FILTER (WHERE m.band_name = 'sale')
               AS sale_values,
           array_agg(m.woe ORDER BY m.band_value) FILTER (WHERE m.band_name = 'sale')
               AS sale_woes,
           array_agg(m.band_value ORDER BY m.band_value) FILTER (WHERE m.band_name = 'cond')
               AS cond_values,
           array_agg(m.woe ORDER BY m.band_value) FILTER (WHERE m.band_name = 'cond')
               AS cond_woes,
           array_agg(m.band_value ORDER BY m.band_value) FILTER (WHERE m.band_name = 'dmg')
               AS dmg_values,
           array_agg(m.woe ORDER BY m.band_value) FILTER (WHERE m.band_name = 'dmg')
               AS dmg_woes,
           array_agg(m.band_value ORDER BY m.band_value) FILTER (WHERE m.band_name = 'bat')
               AS bat_values,
           array_agg(m.woe ORDER BY m.band_value) FILTER (WHERE m.band_name = 'bat')
               AS bat_woes,
           array_agg(m.band_value ORDER BY m.band_value) FILTER (WHERE m.band_name = 'present')
               AS present_values,
           array_agg(m.woe ORDER BY m.band_value) FILTER (WHERE m.band_name = 'present')
               AS present_woes,
           array_agg(m.band_value ORDER BY m.band_value) FILTER (WHERE m.band_name = 'vdmg')
               AS vdmg_values,
           array_agg(m.woe ORDER BY m.band_value) FILTER (WHERE m.band_name = 'vdmg')
               AS vdmg_woes,
           array_agg(m.band_value ORDER BY m.band_value) FILTER (WHERE m.band_name = 'acc')
               AS acc_values,
           array_agg(m.woe ORDER BY m.band_value) FILTER (WHERE m.band_name = 'acc')
               AS acc_woes
    FROM ml.woe_anchor_model_registry_v1 AS r
    JOIN ml.woe_anchor_map_v1 AS m
      ON m.model_key = r.model_key AND m.fold_id IS NULL
    WHERE r.is_active AND r.base_logit IS NOT NULL
    GROUP BY r.model_key, r.base_logit
) AS k
  ON k.model_key = b.model_key
LEFT JOIN LATERAL (
    SELECT ml.woe_anchor_logit_v1(
        k.base_logit,
        k.dsold_woes[array_position(k.dsold_values, b.dsold)],
        k.trust_woes[array_position(k.trust_values, b.trust)],
        k.ship_woes[array_position(k.ship_values, b.ship)],
        k.sale_woes[array_position(k.sale_values, b.sale)],
        k.cond_woes[array_position(k.cond_values, b.cond)],
        k.dmg_woes[array_position(k.dmg_values, b.dmg)],
        k.bat_woes[array_position(k.bat_values, b.bat)],
        k.present_woes[array_position(k.present_values, b.present)],
        k.vdmg_woes[array_position(k.vdmg_values, b.vdmg)],
        k.acc_woes[array_position(k.acc_values, b.acc)]) AS woe_logit
) AS l
  ON TRUE;
COMMENT ON VIEW ml.woe_anchor_scores_live_v1 IS
    'WOE logit and P(slow21) of every snapshot under the active package.';
"""

PREVIOUS_CONSUMER_VIEWS = r"""
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

PREVIOUS_BANDS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION ml.woe_anchor_bands_v1(
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
"""


def downgrade() -> None:
    reader, _trainer, certifier = roles()
    op.execute(
        """
DROP VIEW ml.woe_anchor_scores_live_train_v;
DROP VIEW ml.woe_anchor_feature_store_t0_v1_v;
DROP VIEW ml.woe_anchor_scores_live_v1;
DROP VIEW ml.v_woe_anchor_bands_live_v1;
"""
        + PREVIOUS_BANDS_FUNCTION
        + f"""
DROP FUNCTION {NEW_FUNCTIONS[2]};
DROP TYPE ml.woe_anchor_band_code_set_v1;
DROP FUNCTION {NEW_FUNCTIONS[1]};
DROP FUNCTION {NEW_FUNCTIONS[0]};
"""
        + PREVIOUS_BANDS_VIEW
        + PREVIOUS_SCORES_VIEW
        + PREVIOUS_CONSUMER_VIEWS
        + f"""
GRANT SELECT ON ml.woe_anchor_feature_store_t0_v1_v TO {certifier};
GRANT SELECT ON ml.woe_anchor_scores_live_train_v TO {reader};
"""
    )

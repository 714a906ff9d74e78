"""source contract (SPEC section 2): listing snapshots at T0, vision features, outcomes apart

Revision ID: 0003
Revises: 0002

Feature values NaN and +/-Infinity are not data: every float column carries a CHECK that
rejects them (PostgreSQL orders NaN above +Infinity, so "x > -Infinity AND x < Infinity"
excludes all three). Constraint names start with ck_<table>_<column> so a rejected row's
error names the offending column.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
CREATE SCHEMA src;
COMMENT ON SCHEMA src IS 'Source contract: what the store reads. Labels live apart from features.';

CREATE TABLE src.listing_snapshots_t0 (
    generation                integer          NOT NULL,
    listing_id                bigint           NOT NULL,
    t0                        timestamptz      NOT NULL,
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
    CONSTRAINT listing_snapshots_t0_pkey PRIMARY KEY (generation, listing_id, t0),
    CONSTRAINT ck_listing_snapshots_t0_t0
        CHECK (t0 > '-infinity'::timestamptz AND t0 < 'infinity'::timestamptz),
    CONSTRAINT ck_listing_snapshots_t0_delta_vs_sold_median_30d
        CHECK (delta_vs_sold_median_30d > '-Infinity'::float8
               AND delta_vs_sold_median_30d < 'Infinity'::float8),
    CONSTRAINT ck_listing_snapshots_t0_condition_score CHECK (condition_score BETWEEN 0 AND 1),
    CONSTRAINT ck_listing_snapshots_t0_damage_severity_ai
        CHECK (damage_severity_ai >= 0 AND damage_severity_ai < 'Infinity'::float8),
    CONSTRAINT ck_listing_snapshots_t0_battery_pct_effective
        CHECK (battery_pct_effective BETWEEN 0 AND 100),
    CONSTRAINT ck_listing_snapshots_t0_seller_rating CHECK (seller_rating BETWEEN 0 AND 10),
    CONSTRAINT ck_listing_snapshots_t0_review_count CHECK (review_count >= 0),
    CONSTRAINT ck_listing_snapshots_t0_member_since_year
        CHECK (member_since_year BETWEEN 1900 AND 2200),
    CONSTRAINT ck_listing_snapshots_t0_ai_ship_can CHECK (ai_ship_can IN (0, 1)),
    CONSTRAINT ck_listing_snapshots_t0_ai_ship_pickup CHECK (ai_ship_pickup IN (0, 1)),
    CONSTRAINT ck_listing_snapshots_t0_ai_pickup_only_bin CHECK (ai_pickup_only_bin IN (0, 1)),
    CONSTRAINT ck_listing_snapshots_t0_ai_sale_mode_firm CHECK (ai_sale_mode_firm IN (0, 1)),
    CONSTRAINT ck_listing_snapshots_t0_ai_sale_mode_bids CHECK (ai_sale_mode_bids IN (0, 1)),
    CONSTRAINT ck_listing_snapshots_t0_ai_sale_mode_obo CHECK (ai_sale_mode_obo IN (0, 1))
);
CREATE INDEX listing_snapshots_t0_t0_idx ON src.listing_snapshots_t0 (t0);
COMMENT ON TABLE src.listing_snapshots_t0 IS
    'One row per listing snapshot at decision time T0; market and seller features as of T0.';

CREATE TABLE src.listing_vision_features (
    generation            integer          NOT NULL,
    listing_id            bigint           NOT NULL,
    image_count           integer,
    caption_share         double precision,
    stock_photo_share     double precision,
    photo_quality_avg     double precision,
    bg_clean_avg          double precision,
    dmg_band_hq_struct    double precision,
    charger_bundle_level  integer,
    box_present           boolean,
    receipt_present       boolean,
    CONSTRAINT listing_vision_features_pkey PRIMARY KEY (generation, listing_id),
    CONSTRAINT ck_listing_vision_features_image_count CHECK (image_count >= 0),
    CONSTRAINT ck_listing_vision_features_caption_share CHECK (caption_share BETWEEN 0 AND 1),
    CONSTRAINT ck_listing_vision_features_stock_photo_share
        CHECK (stock_photo_share BETWEEN 0 AND 1),
    CONSTRAINT ck_listing_vision_features_photo_quality_avg
        CHECK (photo_quality_avg BETWEEN 0 AND 1),
    CONSTRAINT ck_listing_vision_features_bg_clean_avg CHECK (bg_clean_avg BETWEEN 0 AND 1),
    CONSTRAINT ck_listing_vision_features_dmg_band_hq_struct
        CHECK (dmg_band_hq_struct >= 0 AND dmg_band_hq_struct < 'Infinity'::float8),
    CONSTRAINT ck_listing_vision_features_charger_bundle_level
        CHECK (charger_bundle_level BETWEEN 0 AND 2)
);
COMMENT ON TABLE src.listing_vision_features IS
    'Vision features per listing; a listing may have none (then it has no assets).';

CREATE TABLE src.listing_outcomes (
    generation      integer          NOT NULL,
    listing_id      bigint           NOT NULL,
    t0              timestamptz      NOT NULL,
    final_status    text             NOT NULL,
    sold_time       timestamptz,
    duration_hours  double precision
        GENERATED ALWAYS AS (EXTRACT(EPOCH FROM (sold_time - t0))::double precision / 3600.0) STORED,
    CONSTRAINT listing_outcomes_pkey PRIMARY KEY (generation, listing_id, t0),
    CONSTRAINT listing_outcomes_snapshot_fkey FOREIGN KEY (generation, listing_id, t0)
        REFERENCES src.listing_snapshots_t0 (generation, listing_id, t0) ON DELETE CASCADE,
    CONSTRAINT ck_listing_outcomes_final_status
        CHECK (final_status IN ('sold', 'live', 'inactive', 'removed', 'older21days')),
    CONSTRAINT ck_listing_outcomes_sold_time
        CHECK (sold_time >= t0 AND sold_time < 'infinity'::timestamptz)
);
CREATE INDEX listing_outcomes_sold_time_idx ON src.listing_outcomes (sold_time);
COMMENT ON TABLE src.listing_outcomes IS
    'Labels, kept apart from features and never reachable from the live scorer. '
    'duration_hours is derived from sold_time - t0, so it can never disagree with them.';
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TABLE src.listing_outcomes;
DROP TABLE src.listing_vision_features;
DROP TABLE src.listing_snapshots_t0;
DROP SCHEMA src;
"""
    )

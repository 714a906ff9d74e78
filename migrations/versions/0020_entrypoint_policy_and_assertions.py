"""entrypoints are data: certification policy table, assertion functions, second entrypoint

Revision ID: 0020
Revises: 0010

audit.t0_entrypoint_policy holds one row per certified entrypoint; harness.certify and the
guard read it, so adding an entrypoint is an INSERT, not code. The source contract gets its
own certified entrypoint (src.listing_snapshots_t0_v1_v: snapshot features with the listing's
vision features, no labels) to prove the runner is generic.
"""

from alembic import op

revision = "0020"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
CREATE TABLE audit.t0_entrypoint_policy (
    entrypoint          text          NOT NULL,
    aliases             text[]        NOT NULL DEFAULT '{}',
    max_age             interval      NOT NULL DEFAULT interval '24 hours',
    check_days          integer       NOT NULL DEFAULT 10,
    sample_limit        integer,
    drift_mode          text          NOT NULL DEFAULT 'strict',
    assertion_function  regprocedure  NOT NULL,
    key_columns         text[]        NOT NULL DEFAULT '{generation,listing_id,t0}',
    t0_column           text          NOT NULL DEFAULT 't0',
    package_bound       boolean       NOT NULL DEFAULT false,
    CONSTRAINT t0_entrypoint_policy_pkey PRIMARY KEY (entrypoint),
    CONSTRAINT ck_t0_entrypoint_policy_max_age CHECK (max_age > interval '0'),
    CONSTRAINT ck_t0_entrypoint_policy_check_days CHECK (check_days >= 1),
    CONSTRAINT ck_t0_entrypoint_policy_sample_limit CHECK (sample_limit > 0),
    CONSTRAINT ck_t0_entrypoint_policy_drift_mode CHECK (drift_mode IN ('strict', 'tolerant')),
    CONSTRAINT ck_t0_entrypoint_policy_key_columns CHECK (cardinality(key_columns) >= 1)
);
COMMENT ON TABLE audit.t0_entrypoint_policy IS
    'One row per certified entrypoint: aliases inheriting its status, freshness, dataset-drift '
    'policy (last check_days UTC t0_days; sample_limit NULL = every row), assertion function. '
    'package_bound: the certification is tied to the active WOE package.';

CREATE VIEW src.listing_snapshots_t0_v1_v AS
SELECT s.generation,
       s.listing_id,
       s.t0,
       s.delta_vs_sold_median_30d,
       s.condition_score,
       s.damage_severity_ai,
       s.battery_pct_effective,
       s.seller_rating,
       s.review_count,
       s.member_since_year,
       s.ai_ship_can,
       s.ai_ship_pickup,
       s.ai_pickup_only_bin,
       s.ai_sale_mode_firm,
       s.ai_sale_mode_bids,
       s.ai_sale_mode_obo,
       v.image_count,
       v.caption_share,
       v.stock_photo_share,
       v.photo_quality_avg,
       v.bg_clean_avg,
       v.dmg_band_hq_struct,
       v.charger_bundle_level,
       v.box_present,
       v.receipt_present
FROM src.listing_snapshots_t0 AS s
LEFT JOIN src.listing_vision_features AS v
  ON v.generation = s.generation AND v.listing_id = s.listing_id;
COMMENT ON VIEW src.listing_snapshots_t0_v1_v IS
    'Certified source-contract entrypoint: T0 features of every snapshot, labels unreachable.';

CREATE FUNCTION audit.assert_t0_certified_woe_anchor_store_v1()
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_key    text;
    v_cuts   bigint;
    v_maps   bigint;
    v_groups bigint;
BEGIN
    SELECT r.model_key INTO v_key FROM ml.woe_anchor_model_registry_v1 AS r WHERE r.is_active;
    IF v_key IS NULL THEN
        RAISE EXCEPTION 'assert_t0_certified_woe_anchor_store_v1: no active WOE package'
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(*) INTO v_cuts
    FROM ml.woe_anchor_cuts_v1 AS c WHERE c.model_key = v_key AND c.fold_id IS NULL;
    IF v_cuts <> 1 THEN
        RAISE EXCEPTION 'assert_t0_certified_woe_anchor_store_v1: package % has % final cuts rows, expected 1',
            v_key, v_cuts USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(*), count(DISTINCT m.band_name) INTO v_maps, v_groups
    FROM ml.woe_anchor_map_v1 AS m WHERE m.model_key = v_key AND m.fold_id IS NULL;
    IF v_maps = 0 THEN
        RAISE EXCEPTION 'assert_t0_certified_woe_anchor_store_v1: package % has no final map rows',
            v_key USING ERRCODE = 'check_violation';
    END IF;
    IF v_groups < 7 THEN
        RAISE EXCEPTION 'assert_t0_certified_woe_anchor_store_v1: package % has % band groups, expected at least 7',
            v_key, v_groups USING ERRCODE = 'check_violation';
    END IF;
    RETURN true;
END
$function$;
COMMENT ON FUNCTION audit.assert_t0_certified_woe_anchor_store_v1() IS
    'Certification precondition: an active package with one final cuts row and final map rows '
    'for at least 7 band groups; raises otherwise.';

CREATE FUNCTION audit.assert_t0_certified_listing_snapshots_v1()
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM src.listing_snapshots_t0) THEN
        RAISE EXCEPTION 'assert_t0_certified_listing_snapshots_v1: src.listing_snapshots_t0 is empty'
            USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM src.listing_snapshots_t0 AS s WHERE s.t0 > now() + interval '1 hour') THEN
        RAISE EXCEPTION 'assert_t0_certified_listing_snapshots_v1: snapshots with t0 in the future'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN true;
END
$function$;
COMMENT ON FUNCTION audit.assert_t0_certified_listing_snapshots_v1() IS
    'Certification precondition of the source contract: snapshots exist and none lies in the future.';

INSERT INTO audit.t0_entrypoint_policy
    (entrypoint, aliases, max_age, check_days, sample_limit, drift_mode, assertion_function,
     package_bound)
VALUES
    ('ml.woe_anchor_feature_store_t0_v1_v',
     ARRAY['ml.woe_anchor_scores_live_train_v', 'ml.woe_anchor_scores_live_v1'],
     interval '24 hours', 10, NULL, 'strict',
     'audit.assert_t0_certified_woe_anchor_store_v1()'::regprocedure, true),
    ('src.listing_snapshots_t0_v1_v', ARRAY[]::text[],
     interval '24 hours', 10, NULL, 'strict',
     'audit.assert_t0_certified_listing_snapshots_v1()'::regprocedure, false);
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TABLE audit.t0_entrypoint_policy;
DROP FUNCTION audit.assert_t0_certified_listing_snapshots_v1();
DROP FUNCTION audit.assert_t0_certified_woe_anchor_store_v1();
DROP VIEW src.listing_snapshots_t0_v1_v;
"""
    )

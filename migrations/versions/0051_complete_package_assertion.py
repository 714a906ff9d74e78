"""certification asserts a complete package: every market band by name, known values only

Revision ID: 0051
Revises: 0050

The precondition of the store's certification counted distinct band names in the active
package's final map and asked for at least seven of the ten. A package whose final map lacked
dsold, trust and ship (but had the three vision bands) passed, was certified and was served,
scoring every listing without those bands. It now requires, and names when missing:
- each of the seven market bands (SPEC 5 fits them on all training rows, so every complete
  fit has them; the three vision bands may be absent: no assets, or an empty class among them);
- only band values the banding definition knows (a value it never produces is never looked
  up, so a misspelt map would silently score as base rate);
- base_logit and the four dsold thresholds (without them the live view scores nothing).
"""

from alembic import op

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None

PREVIOUS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION audit.assert_t0_certified_woe_anchor_store_v1()
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
"""


def upgrade() -> None:
    op.execute(
        r"""
CREATE OR REPLACE FUNCTION audit.assert_t0_certified_woe_anchor_store_v1()
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_reg     ml.woe_anchor_model_registry_v1%ROWTYPE;
    v_cuts    bigint;
    v_missing text;
    v_unknown text;
BEGIN
    SELECT * INTO v_reg FROM ml.woe_anchor_model_registry_v1 AS r WHERE r.is_active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'assert_t0_certified_woe_anchor_store_v1: no active WOE package'
            USING ERRCODE = 'check_violation';
    END IF;
    IF v_reg.base_logit IS NULL OR v_reg.dsold_t1 IS NULL OR v_reg.dsold_t2 IS NULL
       OR v_reg.dsold_t3 IS NULL OR v_reg.dsold_t4 IS NULL THEN
        RAISE EXCEPTION 'assert_t0_certified_woe_anchor_store_v1: package % lacks base_logit or a dsold threshold',
            v_reg.model_key USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(*) INTO v_cuts
    FROM ml.woe_anchor_cuts_v1 AS c WHERE c.model_key = v_reg.model_key AND c.fold_id IS NULL;
    IF v_cuts <> 1 THEN
        RAISE EXCEPTION 'assert_t0_certified_woe_anchor_store_v1: package % has % final cuts rows, expected 1',
            v_reg.model_key, v_cuts USING ERRCODE = 'check_violation';
    END IF;
    -- SPEC 5 fits the seven market bands on every training row: a complete final map has
    -- each of them (the vision bands may be absent).
    SELECT string_agg(b.band_name, ', ' ORDER BY b.ord) INTO v_missing
    FROM unnest(ARRAY['dsold', 'trust', 'ship', 'sale', 'cond', 'dmg', 'bat'])
        WITH ORDINALITY AS b(band_name, ord)
    WHERE NOT EXISTS (SELECT 1 FROM ml.woe_anchor_map_v1 AS m
                      WHERE m.model_key = v_reg.model_key AND m.fold_id IS NULL
                        AND m.band_name = b.band_name);
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'assert_t0_certified_woe_anchor_store_v1: package % has no final map rows for the market band(s) %',
            v_reg.model_key, v_missing USING ERRCODE = 'check_violation';
    END IF;
    -- A value the banding definition never gives is never looked up by the live views.
    SELECT string_agg(format('%s=%s', m.band_name, m.band_value), ', '
                      ORDER BY m.band_name, m.band_value) INTO v_unknown
    FROM ml.woe_anchor_map_v1 AS m
    WHERE m.model_key = v_reg.model_key AND m.fold_id IS NULL
      AND ml.woe_anchor_band_code_v1(m.band_name, m.band_value) IS NULL;
    IF v_unknown IS NOT NULL THEN
        RAISE EXCEPTION 'assert_t0_certified_woe_anchor_store_v1: package % maps band values the banding definition does not know: %',
            v_reg.model_key, v_unknown USING ERRCODE = 'check_violation';
    END IF;
    RETURN true;
END
$function$;
COMMENT ON FUNCTION audit.assert_t0_certified_woe_anchor_store_v1() IS
    'Certification precondition: an active package with base_logit and dsold thresholds, one '
    'final cuts row, final map rows for each of the seven market bands and only band values '
    'the banding definition knows; raises naming what is missing otherwise.';
"""
    )


def downgrade() -> None:
    op.execute(PREVIOUS_FUNCTION)

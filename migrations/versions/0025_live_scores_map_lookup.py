"""live scores: look up the final map once per query instead of ten joins per row

Revision ID: 0025
Revises: 0022

ml.woe_anchor_scores_live_v1 (0009) joined ml.woe_anchor_map_v1 ten times; each join hashed a
band value per row and carried the row through another join node, about 60% of the view's
time at 1M listings. Now the active package's final map is aggregated once per query into one
row k holding, per band, its band values and their WOE as two arrays in the same order; each
row finds its WOE with array_position (NULL for a NULL or unknown band value, so it adds 0, as
the LEFT JOINs did). The one-row k is an inner join: a package without a base logit or final
map rows has no k row and scores nothing, as before (the bands view still drops a package
without thresholds or final cuts).

The logit is computed in a LEFT JOIN LATERAL ... ON TRUE subquery. It always yields exactly one
row, so the result is that of a CROSS JOIN; the outer join makes the planner keep woe_logit as
one value (a placeholder evaluated once per row at the join) instead of pasting the whole
expression, bands and lookups included, into every column that uses it: with a CROSS JOIN,
woe_logit and woe_anchor_p_slow21 each recomputed all ten bands and lookups. The plan stays
parallel and predicates on the key columns still reach the source tables.

ml.woe_anchor_logit_v1 remains the only summation, with the same ten WOE values in the same
order, so live scores equal fit-time scores exactly. Column names and types are unchanged, so
CREATE OR REPLACE VIEW keeps the dependent entrypoint, guarded view and grants. Certified
baselines of the entrypoint change with it: certify again after upgrading.
"""

from alembic import op

revision = "0025"
down_revision = "0022"
branch_labels = None
depends_on = None

SCORES_VIEW = r"""
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

PREVIOUS_SCORES_VIEW = r"""
CREATE OR REPLACE VIEW ml.woe_anchor_scores_live_v1 AS
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
COMMENT ON VIEW ml.woe_anchor_scores_live_v1 IS
    'WOE logit and P(slow21) of every snapshot under the active package.';
"""


def upgrade() -> None:
    op.execute(SCORES_VIEW)


def downgrade() -> None:
    op.execute(PREVIOUS_SCORES_VIEW)

-- proof: the final mapping covers at least the seven market band groups
-- group: artifacts
-- expect: value >= 7
SELECT count(DISTINCT m.band_name)
FROM ml.woe_anchor_map_v1 AS m
JOIN ml.woe_anchor_model_registry_v1 AS r ON r.model_key = m.model_key AND r.is_active
WHERE m.fold_id IS NULL;

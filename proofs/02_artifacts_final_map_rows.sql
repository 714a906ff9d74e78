-- proof: the active package has a final mapping (fold_id IS NULL) (seed 001 section 4.5)
-- group: artifacts
-- expect: value >= 1
SELECT COUNT(*) FROM ml.woe_anchor_map_v1 WHERE fold_id IS NULL
  AND model_key = (SELECT model_key FROM ml.woe_anchor_model_registry_v1 WHERE is_active);

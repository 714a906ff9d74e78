-- proof: a committed package cannot be changed: UPDATE of its final map is refused (negative; rolled back)
-- group: negative
-- expect: error ~ ^WOE package .* is immutable: UPDATE on ml\.woe_anchor_map_v1 refused
UPDATE ml.woe_anchor_map_v1 SET woe = woe + 1
WHERE model_key = (SELECT model_key FROM ml.woe_anchor_model_registry_v1 WHERE is_active)
  AND fold_id IS NULL;

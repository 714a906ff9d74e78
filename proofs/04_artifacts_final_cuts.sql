-- proof: the active package has exactly one final presentation-cuts row
-- group: artifacts
-- expect: rows = 1
SELECT c.*
FROM ml.woe_anchor_cuts_v1 AS c
JOIN ml.woe_anchor_model_registry_v1 AS r ON r.model_key = c.model_key AND r.is_active
WHERE c.fold_id IS NULL;

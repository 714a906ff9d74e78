-- proof: exactly one active WOE package (seed 001 section 4.5)
-- group: artifacts
-- expect: rows = 1
SELECT * FROM ml.woe_anchor_model_registry_v1 WHERE is_active=true;

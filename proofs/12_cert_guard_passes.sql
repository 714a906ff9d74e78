-- proof: the strict guard accepts the entrypoint (seed 000, minimal checks)
-- group: certification
-- expect: value = t
SELECT audit.require_certified_strict('ml.woe_anchor_feature_store_t0_v1_v', interval '24 hours');

-- proof: the entrypoint's status is CERTIFIED
-- group: certification
-- expect: value = CERTIFIED
SELECT status FROM audit.t0_cert_registry WHERE entrypoint = 'ml.woe_anchor_feature_store_t0_v1_v';

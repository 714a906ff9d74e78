-- proof: the certified entrypoint has a registry row (seed 000, minimal checks)
-- group: certification
-- expect: rows = 1
SELECT * FROM audit.t0_cert_registry WHERE entrypoint='ml.woe_anchor_feature_store_t0_v1_v';

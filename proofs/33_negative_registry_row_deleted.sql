-- proof: without a registry row the guarded view refuses (negative; rolled back)
-- group: negative
-- expect: error ~ ^NOT CERTIFIED
DELETE FROM audit.t0_cert_registry WHERE entrypoint = 'ml.woe_anchor_feature_store_t0_v1_v';
SELECT * FROM ml.woe_anchor_scores_live_train_v LIMIT 1;

-- proof: a FAILED certification is refused, naming the status (negative; rolled back)
-- group: negative
-- expect: error ~ ^NOT CERTIFIED: .* has status FAILED
UPDATE audit.t0_cert_registry SET status = 'FAILED', detail = 'proof: simulated failure'
 WHERE entrypoint = 'ml.woe_anchor_feature_store_t0_v1_v';
SELECT * FROM ml.woe_anchor_scores_live_train_v LIMIT 1;

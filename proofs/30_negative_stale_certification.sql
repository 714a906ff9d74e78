-- proof: a certification older than 24 hours is refused (negative; rolled back)
-- group: negative
-- expect: error ~ ^STALE CERTIFICATION
UPDATE audit.t0_cert_registry
   SET certified_at = certified_at - interval '25 hours'
 WHERE entrypoint = 'ml.woe_anchor_feature_store_t0_v1_v';
SELECT * FROM ml.woe_anchor_scores_live_train_v LIMIT 1;

-- proof: alias rows inherit the entrypoint's status
-- group: certification
-- expect: rows = 2
SELECT a.entrypoint, a.status
FROM audit.t0_cert_registry AS a
JOIN audit.t0_cert_registry AS e
  ON e.entrypoint = 'ml.woe_anchor_feature_store_t0_v1_v' AND a.status = e.status
WHERE a.entrypoint IN ('ml.woe_anchor_scores_live_train_v', 'ml.woe_anchor_scores_live_v1');

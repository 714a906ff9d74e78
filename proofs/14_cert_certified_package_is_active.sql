-- proof: the certified package is the active package
-- group: certification
-- expect: rows = 1
SELECT c.entrypoint, c.certified_model_key
FROM audit.t0_cert_registry AS c
JOIN ml.woe_anchor_model_registry_v1 AS r
  ON r.model_key = c.certified_model_key AND r.is_active
WHERE c.entrypoint = 'ml.woe_anchor_feature_store_t0_v1_v';

-- proof: a newly activated, uncertified package is not served (negative; rolled back)
-- group: negative
-- expect: error ~ ^PACKAGE CHANGED
CREATE TEMP TABLE proof_active AS
    SELECT * FROM ml.woe_anchor_model_registry_v1 WHERE is_active;
INSERT INTO ml.woe_anchor_model_registry_v1
SELECT 'proof_uncertified', train_cutoff_ts, half_life_days, eps, n_folds, band_schema_version,
       code_sha256, now(), false, base_rate, base_logit, dsold_t1, dsold_t2, dsold_t3, dsold_t4
FROM proof_active;
INSERT INTO ml.woe_anchor_cuts_v1 (model_key, fold_id, c1, c2)
SELECT 'proof_uncertified', fold_id, c1, c2
FROM ml.woe_anchor_cuts_v1 WHERE model_key = (SELECT model_key FROM proof_active);
INSERT INTO ml.woe_anchor_map_v1
    (model_key, fold_id, band_name, band_value, woe, sum_w_pos, sum_w_neg, n_rows)
SELECT 'proof_uncertified', fold_id, band_name, band_value, woe, sum_w_pos, sum_w_neg, n_rows
FROM ml.woe_anchor_map_v1 WHERE model_key = (SELECT model_key FROM proof_active);
UPDATE ml.woe_anchor_model_registry_v1 SET is_active = false WHERE is_active;
UPDATE ml.woe_anchor_model_registry_v1 SET is_active = true WHERE model_key = 'proof_uncertified';
SELECT * FROM ml.woe_anchor_scores_live_train_v LIMIT 1;

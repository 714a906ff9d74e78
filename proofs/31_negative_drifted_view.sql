-- proof: a semantically changed entrypoint view is refused (negative; rolled back)
-- group: negative
-- expect: error ~ ^DEFINITION DRIFT
CREATE OR REPLACE VIEW ml.woe_anchor_feature_store_t0_v1_v AS
SELECT generation, listing_id, t0, t0 AS edited_date, model_key, woe_logit, woe_anchor_p_slow21
FROM ml.woe_anchor_scores_live_v1
WHERE woe_anchor_p_slow21 > 0.01;
SELECT * FROM ml.woe_anchor_scores_live_train_v LIMIT 1;

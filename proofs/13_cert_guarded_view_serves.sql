-- proof: the guarded view serves scores (seed 000, minimal checks)
-- group: certification
-- expect: rows = 10
SELECT * FROM ml.woe_anchor_scores_live_train_v LIMIT 10;

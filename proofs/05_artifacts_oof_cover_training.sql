-- proof: one OOF score per train_sold row of the active package, none elsewhere (lists mismatches)
-- group: artifacts
-- expect: rows = 0
WITH pkg AS (
    SELECT model_key, train_cutoff_ts FROM ml.woe_anchor_model_registry_v1 WHERE is_active
), train AS (
    SELECT l.generation, l.listing_id, l.t0
    FROM pkg, ml.woe_anchor_slices_v1(pkg.train_cutoff_ts) AS l
    WHERE l.slice = 'train_sold'
), oof AS (
    SELECT s.generation, s.listing_id, s.t0
    FROM ml.woe_anchor_scores_v1 AS s JOIN pkg USING (model_key)
    WHERE s.is_oof
)
SELECT 'missing score' AS problem, m.* FROM (SELECT * FROM train EXCEPT ALL SELECT * FROM oof) AS m
UNION ALL
SELECT 'extra score', e.* FROM (SELECT * FROM oof EXCEPT ALL SELECT * FROM train) AS e
UNION ALL
SELECT 'no active package', NULL, NULL, NULL WHERE NOT EXISTS (SELECT 1 FROM pkg);

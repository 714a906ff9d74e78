-- proof: why is it empty? the active package has everything scoring needs (lists what is missing)
-- group: troubleshooting
-- expect: rows = 0
SELECT r.model_key, p.problem
FROM ml.woe_anchor_model_registry_v1 AS r
CROSS JOIN LATERAL (VALUES
    (CASE WHEN r.dsold_t1 IS NULL OR r.dsold_t2 IS NULL OR r.dsold_t3 IS NULL OR r.dsold_t4 IS NULL
          THEN 'dsold thresholds missing' END),
    (CASE WHEN r.base_logit IS NULL THEN 'base_logit missing' END),
    (CASE WHEN NOT EXISTS (SELECT 1 FROM ml.woe_anchor_cuts_v1 AS c
                           WHERE c.model_key = r.model_key AND c.fold_id IS NULL)
          THEN 'final cuts row missing' END),
    (CASE WHEN NOT EXISTS (SELECT 1 FROM ml.woe_anchor_map_v1 AS m
                           WHERE m.model_key = r.model_key AND m.fold_id IS NULL)
          THEN 'final map rows missing' END)
) AS p (problem)
WHERE r.is_active AND p.problem IS NOT NULL
UNION ALL
SELECT NULL, 'no active package'
WHERE NOT EXISTS (SELECT 1 FROM ml.woe_anchor_model_registry_v1 WHERE is_active);

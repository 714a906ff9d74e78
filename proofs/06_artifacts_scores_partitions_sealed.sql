-- proof: each package's OOF scores are one sealed partition of ml.woe_anchor_scores_v1 (attached, so it has the parent's primary key; frozen); no scores table is left loose (lists problems)
-- group: artifacts
-- expect: rows = 0
WITH tables AS (
    SELECT c.oid, c.relname,
           EXISTS (SELECT 1 FROM pg_catalog.pg_inherits AS i
                   WHERE i.inhrelid = c.oid
                     AND i.inhparent = 'ml.woe_anchor_scores_v1'::regclass) AS attached
    FROM pg_catalog.pg_class AS c
    WHERE c.relnamespace = 'ml'::regnamespace AND c.relkind = 'r'
      AND c.relname LIKE 'woe\_anchor\_scores\_v1\_%'
)
SELECT 'not attached (opened, never sealed)' AS problem, t.relname AS detail
FROM tables AS t WHERE NOT t.attached
UNION ALL
SELECT 'missing trigger ' || n.tgname, t.relname
FROM tables AS t
CROSS JOIN (VALUES ('woe_anchor_scores_v1_freeze'), ('woe_anchor_scores_v1_no_truncate')) AS n(tgname)
WHERE t.attached
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger AS g
                  WHERE g.tgrelid = t.oid AND g.tgname = n.tgname AND g.tgenabled <> 'D')
UNION ALL
SELECT 'scores outside their package''s partition', s.model_key
FROM (SELECT DISTINCT s.tableoid, s.model_key FROM ml.woe_anchor_scores_v1 AS s) AS s
WHERE s.tableoid IS DISTINCT FROM pg_catalog.to_regclass('ml.' || ml.woe_anchor_scores_partition_v1(s.model_key));

-- proof: the active package's final mapping has each of the seven market bands (lists what is missing)
-- group: artifacts
-- expect: rows = 0
SELECT coalesce(r.model_key, '(no active package)') AS model_key, b.band_name AS missing_band
FROM unnest(ARRAY['dsold', 'trust', 'ship', 'sale', 'cond', 'dmg', 'bat']) AS b (band_name)
LEFT JOIN ml.woe_anchor_model_registry_v1 AS r ON r.is_active
WHERE NOT EXISTS (SELECT 1 FROM ml.woe_anchor_map_v1 AS m
                  WHERE m.model_key = r.model_key AND m.fold_id IS NULL
                    AND m.band_name = b.band_name);

-- proof: every live present band follows the active package's final cuts (SPEC 4: < c1 present_lo, < c2 present_mid, else present_hi; none without assets); lists the listings that do not
-- group: artifacts
-- expect: rows = 0
SELECT b.generation, b.listing_id, b.t0, b.presentation_score, c.c1, c.c2, b.present
FROM ml.v_woe_anchor_bands_live_v1 AS b
JOIN ml.woe_anchor_cuts_v1 AS c ON c.model_key = b.model_key AND c.fold_id IS NULL
WHERE b.present IS DISTINCT FROM CASE
        WHEN NOT b.has_assets THEN NULL
        WHEN b.presentation_score < c.c1 THEN 'present_lo'
        WHEN b.presentation_score < c.c2 THEN 'present_mid'
        ELSE 'present_hi'
    END
LIMIT 20;

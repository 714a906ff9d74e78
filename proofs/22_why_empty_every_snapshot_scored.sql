-- proof: why is it empty? every snapshot gets a live score (0 means none is dropped)
-- group: troubleshooting
-- expect: value = 0
SELECT (SELECT count(*) FROM src.listing_snapshots_t0)
     - (SELECT count(*) FROM ml.woe_anchor_scores_live_v1);

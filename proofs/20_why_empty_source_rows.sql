-- proof: why is it empty? the source contract has snapshots to score
-- group: troubleshooting
-- expect: value >= 1
SELECT count(*) FROM src.listing_snapshots_t0;

-- proof: the source contract refuses a sale before its listing's t0 (negative; rolled back)
-- group: negative
-- expect: error ~ violates check constraint "ck_listing_outcomes_sold_time"
UPDATE src.listing_outcomes SET sold_time = t0 - interval '1 hour'
WHERE (generation, listing_id, t0) = (SELECT generation, listing_id, t0 FROM src.listing_outcomes
                                      WHERE sold_time IS NOT NULL LIMIT 1);

-- proof: the reader role cannot read the labels (negative; rolled back)
-- group: negative
-- expect: error ~ ^permission denied for table listing_outcomes
SET LOCAL ROLE woe_reader;
SELECT count(*) FROM src.listing_outcomes;

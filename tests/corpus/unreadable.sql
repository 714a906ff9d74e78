-- Valid views (PostgreSQL 15 and 18) that sqlglot cannot read: normalization names the view
-- and the error instead of raising (a failed check in `certify check`/`run`, one error line
-- from `certify baseline`). Same tables as views.sql (setup.sql).

CREATE VIEW corpus.interval_fields AS
SELECT '1.5 seconds'::interval second(3) AS i;

CREATE VIEW corpus.collation_for AS
SELECT COLLATION FOR (g) AS c FROM corpus.t;

CREATE VIEW corpus.substring_similar AS
SELECT substring(g similar 'a' escape '#') AS s FROM corpus.t;

CREATE VIEW corpus.order_by_using AS
SELECT g FROM corpus.t ORDER BY g USING ~<~;

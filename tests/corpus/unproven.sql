-- Views whose normalization the server does not prove: their raw hash decides drift (a
-- major upgrade that reprints them is a false drift, never a missed one). Same tables as
-- views.sql (setup.sql); tests/test_normalize_corpus.py checks each stays unproven and that
-- an edit still drifts. Move a view to views.sql once the normalization handles it.

-- sqlglot's qualify rewrites USING into ON (and the merged column into one side's column):
-- another join tree (joinmergedcols, usingClause) for PostgreSQL.
CREATE VIEW corpus.join_using AS
SELECT id, t.g, tree.name
FROM corpus.t JOIN corpus.tree USING (id);

-- PostgreSQL itself prints a bare VALUES branch of a set operation as
-- SELECT "*VALUES*".column1 FROM (VALUES ...) "*VALUES*": re-created, that is a subquery
-- branch, not the VALUES branch stored.
CREATE VIEW corpus.values_branch AS
SELECT id FROM corpus.t
EXCEPT ALL
VALUES (5), (6);

-- Tables, functions and rows the view corpus (views.sql) reads. Plain SQL, valid on
-- PostgreSQL 15 and 18; loaded into an empty database before views.sql.
CREATE SCHEMA corpus;

CREATE TABLE corpus.t (
    id integer PRIMARY KEY,
    g text NOT NULL,
    x numeric,
    y double precision,
    n integer,
    ts timestamptz,
    d date,
    j jsonb,
    a integer[],
    flag boolean,
    r int4range,
    doc tsvector,
    p point,
    b bit(8)
);

CREATE TABLE corpus.u (
    id integer PRIMARY KEY,
    t_id integer REFERENCES corpus.t,
    v integer,
    label text
);

CREATE TABLE corpus.tree (id integer PRIMARY KEY, parent integer, name text);

CREATE FUNCTION corpus.twice(k integer) RETURNS integer
    LANGUAGE sql IMMUTABLE RETURN k * 2;

CREATE FUNCTION corpus.scaled(v numeric, by_ numeric DEFAULT 10) RETURNS numeric
    LANGUAGE sql IMMUTABLE AS 'SELECT v * by_';

CREATE FUNCTION corpus.same_parity(integer, integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS 'SELECT $1 % 2 = $2 % 2';

CREATE OPERATOR corpus.=== (LEFTARG = integer, RIGHTARG = integer,
                            FUNCTION = corpus.same_parity);

INSERT INTO corpus.t VALUES
    (1, 'a', 1.5, 2.25, 3, '2024-01-01 10:00:00+00', '2024-01-01', '{"k": 1, "a": {"b": "x"}}',
     '{1,2,3}', true, '[1,5)', to_tsvector('simple', 'alpha beta'), '(1,1)', B'10101010'),
    (2, 'a', -2.5, 4.0, -7, '2024-01-02 23:30:00+00', '2024-01-02', '{"k": 2}',
     '{4}', false, '[5,9)', to_tsvector('simple', 'beta gamma'), '(3,4)', B'00001111'),
    (3, 'b', 0, 9.0, 0, '2024-02-29 00:00:00+00', '2024-02-29', '{"a": {"b": "y"}}',
     '{}', NULL, 'empty', to_tsvector('simple', 'gamma'), '(0,0)', B'11110000'),
    (4, 'B', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (5, 'c', 10, 0.5, 12, '2023-12-31 23:59:59+00', '2023-12-31', '[1, 2]',
     '{2,2,7}', true, '[10,20)', to_tsvector('simple', 'delta alpha'), '(-1,2)', B'00000001');

INSERT INTO corpus.u VALUES
    (1, 1, 10, 'x'), (2, 1, 20, 'y'), (3, 2, 5, NULL), (4, 3, 7, 'x'), (5, NULL, 1, 'z');

INSERT INTO corpus.tree VALUES
    (1, NULL, 'root'), (2, 1, 'left'), (3, 1, 'right'), (4, 2, 'leaf'), (5, 4, 'deep');

CREATE TYPE corpus.pair AS (a integer, b text);
CREATE TYPE corpus.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN corpus.posint AS integer CHECK (VALUE > 0);

CREATE TABLE corpus.odd (
    "Mixed Case" integer,
    "select" text,
    "a""quote" text,
    mood corpus.mood,
    pos corpus.posint
);
INSERT INTO corpus.odd VALUES (1, 'x', 'q', 'happy', 3), (2, NULL, 'r', 'sad', 1);

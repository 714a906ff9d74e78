-- The normalization corpus: views over corpus.* (setup.sql), one CREATE VIEW each, valid on
-- PostgreSQL 15 and 18, each one proven by the server (harness/normalize_proof.py).
-- tests/test_normalize_corpus.py creates them on both versions, restores a 15 dump into 18
-- and edits each one; add a view here to cover a new construct. Views whose normalization
-- is fenced (unproven: the raw hash decides) are in unproven.sql, views sqlglot cannot read
-- in unreadable.sql.

CREATE VIEW corpus.window_exclude AS
SELECT id, g,
       sum(x) OVER (PARTITION BY g ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW
                    EXCLUDE CURRENT ROW) AS s_rows,
       count(*) OVER (ORDER BY n GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE TIES) AS c_groups,
       max(y) OVER (ORDER BY n RANGE BETWEEN 5 PRECEDING AND UNBOUNDED FOLLOWING
                    EXCLUDE GROUP) AS m_range
FROM corpus.t;

CREATE VIEW corpus.window_named AS
SELECT id, rank() OVER w AS rk, lag(x, 1, 0::numeric) OVER w AS prev_x,
       first_value(id) OVER (w ROWS UNBOUNDED PRECEDING) AS first_id,
       ntile(2) OVER (ORDER BY y DESC NULLS LAST) AS half
FROM corpus.t
WINDOW w AS (PARTITION BY g ORDER BY id);

CREATE VIEW corpus.aggregate_filter AS
SELECT g, count(*) FILTER (WHERE flag) AS flagged,
       sum(x) FILTER (WHERE n > 1) AS big_sum,
       avg(y) AS mean_y
FROM corpus.t
GROUP BY g
HAVING count(*) > 0;

CREATE VIEW corpus.ordered_aggregates AS
SELECT g, string_agg(label, ',' ORDER BY u.id DESC) AS labels,
       array_agg(DISTINCT v) AS vs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS median_v,
       mode() WITHIN GROUP (ORDER BY label) AS common_label
FROM corpus.t JOIN corpus.u ON u.t_id = t.id
GROUP BY g;

CREATE VIEW corpus.lateral_top AS
SELECT t.id, top.v, top.label
FROM corpus.t, LATERAL (SELECT u.v, u.label FROM corpus.u WHERE u.t_id = t.id
                         ORDER BY u.v DESC LIMIT 1) AS top;

CREATE VIEW corpus.lateral_left AS
SELECT t.id, s.total
FROM corpus.t LEFT JOIN LATERAL (SELECT sum(u.v) AS total FROM corpus.u WHERE u.t_id = t.id) AS s
    ON true;

CREATE VIEW corpus.recursive_walk AS
WITH RECURSIVE walk(id, depth, path) AS (
    SELECT id, 0, ARRAY[id] FROM corpus.tree WHERE parent IS NULL
    UNION ALL
    SELECT c.id, w.depth + 1, w.path || c.id FROM corpus.tree AS c JOIN walk AS w ON c.parent = w.id
)
SELECT id, depth, path FROM walk;

CREATE VIEW corpus.cte_materialized AS
WITH m AS MATERIALIZED (SELECT id, x FROM corpus.t WHERE x > 0),
     n AS NOT MATERIALIZED (SELECT t_id, count(*) AS c FROM corpus.u GROUP BY t_id)
SELECT m.id, m.x, n.c FROM m LEFT JOIN n ON n.t_id = m.id;

CREATE VIEW corpus.grouping_sets AS
SELECT g, flag, count(*) AS c, GROUPING(g, flag) AS gr
FROM corpus.t
GROUP BY GROUPING SETS ((g), (flag), ());

CREATE VIEW corpus.rollup_cube AS
SELECT g, flag, n > 0 AS pos, sum(x) AS s
FROM corpus.t
GROUP BY ROLLUP (g, flag), CUBE (n > 0);

CREATE VIEW corpus.distinct_on AS
SELECT DISTINCT ON (g) g, id, x
FROM corpus.t
ORDER BY g, x DESC;

CREATE VIEW corpus.order_output_column AS
SELECT id, x * 2 AS dx, g AS grp
FROM corpus.t
ORDER BY dx DESC NULLS LAST, grp, 1;

CREATE VIEW corpus.distinct_on_expression AS
SELECT DISTINCT ON (lower(g), n > 0) lower(g) AS lg, n > 0 AS pos, id
FROM corpus.t
ORDER BY lower(g), n > 0, id DESC;

CREATE VIEW corpus.prefix_operators AS
SELECT id, @ n AS abs_n, |/ y AS sqrt_y, ||/ y AS cbrt_y, - x AS neg_x, ~ n AS not_n,
       + n AS plus_n, - (- n) AS neg_neg_n, -(n + 1) AS neg_sum
FROM corpus.t;

CREATE VIEW corpus.numeric_operators AS
SELECT id, n # 3 AS xor_n, y ^ 2 AS pow_y, 2 ^ 3 ^ 2 AS pow_assoc, n << 2 AS shl, n >> 1 AS shr,
       n & 5 AS band, n | 8 AS bor, n % 4 AS modulo, n / 2 AS div_int, x / 3 AS div_num,
       b # B'11111111' AS xor_bits, ~ b AS not_bits
FROM corpus.t;

CREATE VIEW corpus.pattern_operators AS
SELECT id, g ~ '^a' AS re, g !~ 'b' AS not_re, g ~* 'A' AS re_ci, g !~* 'x' AS not_re_ci,
       g ~~ 'a%' AS like_op, g !~~ 'b%' AS not_like_op, g ~~* 'A%' AS ilike_op,
       g !~~* 'c%' AS not_ilike_op, g ^@ 'a' AS starts, g LIKE 'a!%' ESCAPE '!' AS like_esc,
       g ILIKE 'B' AS ilike_kw, g SIMILAR TO '(a|b)%' AS similar
FROM corpus.t;

CREATE VIEW corpus.range_operators AS
SELECT id, r @> 3 AS has3, r <@ int4range(0, 10) AS within, r && int4range(1, 2) AS overlaps,
       r -|- int4range(5, 6) AS adjacent, r << int4range(100, 200) AS left_of,
       r >> int4range(-5, 0) AS right_of, r &< int4range(0, 4) AS not_right,
       r &> int4range(2, 3) AS not_left, r * int4range(2, 7) AS intersection,
       r + int4range(1, 2) AS range_union, upper(r) - lower(r) AS width
FROM corpus.t
WHERE NOT isempty(r);

CREATE VIEW corpus.jsonb_operators AS
SELECT id, j -> 'k' AS k, j ->> 'k' AS k_text, j #> '{a,b}' AS ab, j #>> '{a,b}' AS ab_text,
       j - 'k' AS without_k, j #- '{a,b}' AS without_ab, j ? 'k' AS has_k,
       j ?| ARRAY['a', 'k'] AS has_any, j ?& ARRAY['a', 'k'] AS has_all,
       j @> '{"k": 1}' AS contains, j <@ '{"k": 1, "z": 0}' AS contained,
       j @? '$.a.b' AS path_exists, j @@ '$.k == 1' AS path_match, j -> 0 AS first_elem,
       j || '{"new": true}' AS merged
FROM corpus.t;

CREATE VIEW corpus.array_operators AS
SELECT id, a @> ARRAY[2] AS has2, a <@ ARRAY[1, 2, 3, 4] AS within, a && ARRAY[7, 8] AS overlaps,
       a || 9 AS appended, 0 || a AS prepended, a || ARRAY[5, 6] AS concatenated, a[1] AS first,
       a[2:3] AS middle, a[:2] AS head, array_length(a, 1) AS len, 3 = ANY (a) AS any3,
       n > ALL (a) AS above_all, cardinality(a) AS card
FROM corpus.t;

CREATE VIEW corpus.text_search_and_geometry AS
SELECT id, doc @@ to_tsquery('simple', 'alpha & beta') AS both_words,
       doc @@ (!! 'gamma'::tsquery) AS not_gamma,
       to_tsquery('simple', 'alpha') <-> to_tsquery('simple', 'beta') AS followed_by,
       p <-> point(0, 0) AS distance, box(p, p) @> point(1, 1) AS same_point, p ~= point(3, 4) AS same_as,
       box(p, point(0, 0)) && box(point(1, 1), point(2, 2)) AS boxes_overlap
FROM corpus.t;

CREATE VIEW corpus.casts_and_collate AS
SELECT id, x::integer AS xi, CAST(y AS numeric(10, 2)) AS y2, g COLLATE "C" AS gc,
       g::varchar(5) AS gv, ts::date AS day, d + 1 AS next_day, g < 'b' COLLATE "C" AS before_b,
       (x::text)::integer AS roundtrip, '42'::bigint AS big, ts AT TIME ZONE 'UTC' AS local_ts,
       g::character(3) AS gch, n::double precision / 3 AS third, y::real AS yr
FROM corpus.t;

CREATE VIEW corpus.distinct_from_and_booleans AS
SELECT id, x IS DISTINCT FROM y::numeric AS differs, n IS NOT DISTINCT FROM 3 AS is3,
       flag IS TRUE AS t, flag IS NOT FALSE AS nf, flag IS UNKNOWN AS unk,
       NOT (flag AND n > 0) OR g = 'c' AS mixed, x IS NULL AS xnull, (n > 0) = flag AS same_sign
FROM corpus.t;

CREATE VIEW corpus.set_operations AS
SELECT id FROM corpus.t
UNION
SELECT t_id FROM corpus.u WHERE t_id IS NOT NULL
EXCEPT
SELECT 3
INTERSECT ALL
SELECT id FROM corpus.tree;

CREATE VIEW corpus.set_operations_ordered AS
(SELECT id, g AS name FROM corpus.t UNION ALL SELECT id, label FROM corpus.u)
ORDER BY name DESC, id
LIMIT 7;

CREATE VIEW corpus.values_list AS
SELECT v.k, v.name, v.k * 10 AS k10
FROM (VALUES (1, 'one'), (2, 'two'), (3, NULL)) AS v(k, name);

CREATE VIEW corpus.select_list_subqueries AS
SELECT t.id, (SELECT max(u.v) FROM corpus.u WHERE u.t_id = t.id) AS max_v,
       EXISTS (SELECT 1 FROM corpus.u WHERE u.t_id = t.id AND u.v > 8) AS has_big,
       ARRAY(SELECT u.v FROM corpus.u WHERE u.t_id = t.id ORDER BY u.v) AS all_v
FROM corpus.t AS t;

CREATE VIEW corpus.where_subqueries AS
SELECT id, g
FROM corpus.t
WHERE id IN (SELECT t_id FROM corpus.u) AND n NOT IN (1, 2)
  AND x > ALL (SELECT v - 100 FROM corpus.u) AND g <> ANY (ARRAY['z', 'y'])
  AND NOT EXISTS (SELECT FROM corpus.tree WHERE tree.id = t.id AND tree.parent IS NULL);

CREATE VIEW corpus.conditionals AS
SELECT id, CASE WHEN n > 0 THEN 'pos' WHEN n < 0 THEN 'neg' ELSE 'zero' END AS sign,
       CASE g WHEN 'a' THEN 1 WHEN 'b' THEN 2 ELSE 0 END AS code,
       COALESCE(x, 0) AS x0, NULLIF(n, 0) AS nz, GREATEST(n, 1, id) AS hi, LEAST(y, 3) AS lo
FROM corpus.t;

CREATE VIEW corpus.joins AS
SELECT t.id, u.v, tr.name, t2.g AS g2
FROM corpus.t
FULL JOIN corpus.u ON u.t_id = t.id
LEFT JOIN corpus.tree AS tr ON tr.id = u.id AND tr.parent IS NOT NULL
CROSS JOIN corpus.t AS t2
WHERE t2.id = 1;

CREATE VIEW corpus.self_join AS
SELECT c.id AS child, p.id AS parent, gp.id AS grandparent
FROM corpus.tree AS c
JOIN corpus.tree AS p ON p.id = c.parent
LEFT JOIN corpus.tree AS gp ON gp.id = p.parent;

CREATE VIEW corpus.constants AS
SELECT id, ts >= '2024-01-01 00:00:00+00'::timestamptz AS after_new_year,
       d > '2024-01-01'::date AS after_day, ts + interval '1 day 02:00:00' AS later,
       ts - '2023-06-01 12:00:00+00'::timestamptz AS since, 1.50 AS one_and_half, 1e3 AS thousand,
       -1 AS minus_one, 0.1::double precision AS tenth, 'it''s' AS quoted, E'tab\there' AS escaped,
       '2024-01-01 12:00:00'::timestamp AS plain_ts, '12:30'::time AS noon_half, TRUE AS yes,
       NULL::integer AS nothing, '-2.5'::numeric AS neg_num
FROM corpus.t;

CREATE VIEW corpus.operator_syntax AS
SELECT id, n OPERATOR(corpus.===) 1 AS same_parity, n OPERATOR(pg_catalog.+) 1 AS plus_one,
       OPERATOR(pg_catalog.-) n AS minus_n
FROM corpus.t;

CREATE VIEW corpus.special_functions AS
SELECT id, substring(g FROM 1 FOR 2) AS sub, position('a' IN g) AS pos, trim(BOTH 'x' FROM g) AS tr,
       overlay(g PLACING 'z' FROM 1 FOR 1) AS ov, extract(year FROM ts) AS yr,
       EXTRACT(epoch FROM ts) AS epoch, date_trunc('month', ts) AS month_start,
       x BETWEEN 1 AND 2 AS in_range, n BETWEEN SYMMETRIC 5 AND -5 AS sym,
       ts AT TIME ZONE 'Europe/Paris' AS paris, upper(g) || lower(g) AS both_cases,
       corpus.twice(n) AS twice, corpus.scaled(x) AS scaled, corpus.scaled(by_ => 2, v => x) AS named
FROM corpus.t;

CREATE VIEW corpus.row_comparisons AS
SELECT id, ROW(n, x) < ROW(1, 2::numeric) AS row_lt, (n, g) IN ((3, 'a'), (0, 'b')) AS pair_in,
       (id, g) = (1, 'a') AS pair_eq, (n, x) IS DISTINCT FROM (NULL, NULL) AS any_known
FROM corpus.t;

CREATE VIEW corpus.fetch_with_ties AS
SELECT id, x
FROM corpus.t
ORDER BY x
FETCH FIRST 3 ROWS WITH TIES;

CREATE VIEW corpus.limit_offset AS
SELECT id, g
FROM corpus.t
WHERE g <> 'B'
ORDER BY g DESC, id
LIMIT 3 OFFSET 1;

CREATE VIEW corpus.set_returning AS
SELECT t.id, e.v, e.k, s.i
FROM corpus.t,
     unnest(t.a) WITH ORDINALITY AS e(v, k),
     LATERAL generate_series(1, e.v) AS s(i)
WHERE e.k <= 2;

CREATE VIEW corpus.rows_from AS
SELECT f.a, f.b
FROM ROWS FROM (generate_series(1, 3), unnest(ARRAY['x', 'y'])) AS f(a, b);

CREATE VIEW corpus.group_by_ordinal AS
SELECT g, n > 0 AS pos, count(*) AS c, sum(x) / NULLIF(count(x), 0) AS mean_x
FROM corpus.t
GROUP BY 1, 2
HAVING sum(x) IS NOT NULL OR count(*) > 1
ORDER BY 1, 2;

CREATE VIEW corpus.nested_subqueries AS
SELECT s.g, s.total, s.total > avg(s.total) OVER () AS above_mean
FROM (SELECT g, sum(x) AS total FROM corpus.t GROUP BY g) AS s
WHERE s.total IS NOT NULL;

CREATE VIEW corpus.arithmetic_precedence AS
SELECT id, n + 2 * 3 AS a1, (n + 2) * 3 AS a2, n - (2 - 1) AS a3, n - 2 - 1 AS a4,
       x / (2 * y::numeric) AS a5, x / 2 * y::numeric AS a6, -n ^ 2 AS a7, (-n) ^ 2 AS a8,
       n % 3 * 2 AS a9
FROM corpus.t;

CREATE VIEW corpus.geometric_operators AS
SELECT id, p ~= point(1, 1) AS same, @-@ lseg(p, point(0, 0)) AS len,
       @@ box(p, point(0, 0)) AS center, lseg(p, point(0, 0)) ## box(point(1, 1), point(2, 2)) AS closest,
       box(p, p) <<| box(point(0, 5), point(1, 6)) AS below, # polygon(box(p, point(0, 0))) AS npoints,
       ?- lseg(p, point(0, 1)) AS horizontal, ?| lseg(p, point(1, 0)) AS vertical,
       p ?- point(0, 1) AS aligned, p ?| point(1, 0) AS stacked, p[0] AS px
FROM corpus.t;

CREATE VIEW corpus.boolean_tests AS
SELECT id, flag IS NOT TRUE AS not_true, flag IS NOT UNKNOWN AS known, flag IS FALSE AS f,
       flag = true AS eq_true, ROW(n, x) IS NULL AS row_null, t.* IS NOT NULL AS whole_row
FROM corpus.t;

CREATE VIEW corpus.bit_types AS
SELECT id, b::bit varying(8) AS vb, b::varbit AS vb2, '1010'::bit varying AS vb3,
       B'101'::"bit" AS ub, b # B'11111111' AS xor_bits, '1.5 seconds'::interval(2) AS ip
FROM corpus.t;

CREATE VIEW corpus.ambiguous_names AS
SELECT x AS g, g AS h, id AS x
FROM corpus.t
ORDER BY t.g, g, x;

CREATE VIEW corpus.ambiguous_group_by AS
SELECT x AS g, count(*) AS c
FROM corpus.t
GROUP BY x, g
ORDER BY t.g;

CREATE VIEW corpus.whole_row_and_records AS
SELECT to_jsonb(s) AS j, r.a, r.b
FROM (SELECT id, g FROM corpus.t) AS s,
     jsonb_to_recordset('[{"a": 1, "b": "x"}]'::jsonb) AS r(a integer, b text);

CREATE VIEW corpus.quantified_patterns AS
SELECT id, g LIKE ANY (ARRAY['a%', 'b%']) AS like_any, g ~ ALL (ARRAY['^[a-z]', '.']) AS re_all,
       g IS NFC NORMALIZED AS nfc, normalize(g, NFKC) AS nfkc
FROM corpus.t;

CREATE VIEW corpus.sampled AS
SELECT id, g
FROM corpus.t TABLESAMPLE bernoulli (50) REPEATABLE (7);

CREATE VIEW corpus.recursive_search_cycle AS
WITH RECURSIVE w(id, parent) AS (
    SELECT id, parent FROM corpus.tree WHERE parent IS NULL
    UNION ALL
    SELECT c.id, c.parent FROM corpus.tree AS c JOIN w ON c.parent = w.id
) SEARCH BREADTH FIRST BY id SET ord CYCLE id SET is_cycle USING route
SELECT id, parent, is_cycle FROM w ORDER BY ord;

CREATE VIEW corpus.group_by_distinct AS
SELECT g, flag, count(*) AS c
FROM corpus.t
GROUP BY DISTINCT ROLLUP (g, flag), g;

CREATE VIEW corpus.ordered_branches AS
(SELECT id FROM corpus.t ORDER BY id LIMIT 2)
UNION ALL
(SELECT id FROM corpus.u)
EXCEPT ALL
SELECT tree.id FROM corpus.tree WHERE tree.parent = 4;

CREATE VIEW corpus.windows_more AS
SELECT id, count(*) FILTER (WHERE flag) OVER (PARTITION BY g) AS c,
       sum(x) OVER (ORDER BY ts RANGE BETWEEN '1 day'::interval PRECEDING AND CURRENT ROW) AS s,
       max(g COLLATE "C") OVER (PARTITION BY flag) AS top_g
FROM corpus.t
WHERE id IN (VALUES (1), (2), (5));

CREATE VIEW corpus.user_types AS
SELECT "Mixed Case" AS "a b", "select", "a""quote", mood, mood > 'ok'::corpus.mood AS cheerful,
       pos + 1 AS next_pos, (ROW("Mixed Case", "select")::corpus.pair).b AS pair_b,
       ARRAY[ARRAY[1, 2], ARRAY[3, 4]] AS m, (ARRAY[ARRAY[1, 2], ARRAY[3, 4]])[2][1] AS e
FROM corpus.odd;

CREATE VIEW corpus.session_functions AS
SELECT CURRENT_USER AS u, SESSION_USER AS s, current_schema AS sc, CAST(NULL AS integer) AS nothing,
       'Infinity'::numeric AS inf, 'NaN'::double precision AS nan, '01:00+02'::timetz AS tz_time,
       concat_ws(',', VARIADIC ARRAY['a', 'b']) AS joined, num_nonnulls(1, NULL, 2) AS nn;

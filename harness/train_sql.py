"""The WOE fit as set-based SQL (SPEC sections 3-6): the statements harness.train executes.

Every statement here runs inside the trainer's one transaction and works on temporary tables
(ON COMMIT DROP) derived from the source contract; Python only reads back aggregates whose size
is bands x values x folds. The texts are constants (values are bound by psycopg), so their
sha256 together with the server's banding definitions identifies the code of a package.

Fits are numbered ``fit_id``: -1 is the final mapping (all of train_sold, persisted with
fold_id NULL), k >= 0 is the fit for fold k (all train_sold rows outside fold k). Each fit's
band sums are the sum of the other folds' per-(fold, band, value) aggregates, computed in one
pass, so the cost grows with rows, not rows x folds. All fits share the thresholds, the
presentation cuts (taken from the final training set) and ref_ts (SPEC 6). The present band
needs the cuts, so it is not stored with the other bands: the statements after the cuts band
each row's stored presentation score with ml.woe_anchor_present_code_v1, the function the
banding definition itself calls for that band.

Bands always come from ml.woe_anchor_band_codes_v1 (as codes: positions in
ml.woe_anchor_band_labels_v1, so a fit's map is an array indexed by code) and scores from
ml.woe_anchor_logit_v1 / ml.woe_anchor_probability_v1, the functions the live views use.
"""

from __future__ import annotations

from psycopg import sql

MARKET_BANDS = ("dsold", "trust", "ship", "sale", "cond", "dmg", "bat")
VISION_BANDS = ("present", "vdmg", "acc")
ALL_BANDS = MARKET_BANDS + VISION_BANDS  # the argument order of ml.woe_anchor_logit_v1
STORED_BANDS = MARKET_BANDS + ("vdmg", "acc")  # woe_rows columns; present needs the cuts first

SNAPSHOT_FEATURES = (
    "delta_vs_sold_median_30d", "condition_score", "damage_severity_ai", "battery_pct_effective",
    "seller_rating", "review_count", "member_since_year", "ai_ship_can", "ai_ship_pickup",
    "ai_pickup_only_bin", "ai_sale_mode_firm", "ai_sale_mode_bids", "ai_sale_mode_obo",
)
VISION_FEATURES = (
    "image_count", "caption_share", "stock_photo_share", "photo_quality_avg", "bg_clean_avg",
    "dmg_band_hq_struct", "charger_bundle_level", "box_present", "receipt_present",
)

BANDING_FUNCTIONS = (
    "ml.woe_anchor_has_assets_v1", "ml.woe_anchor_presentation_score_v1",
    "ml.woe_anchor_present_code_v1", "ml.woe_anchor_band_labels_v1", "ml.woe_anchor_band_code_v1",
    "ml.woe_anchor_band_codes_v1", "ml.woe_anchor_bands_v1", "ml.woe_anchor_logit_v1",
    "ml.woe_anchor_probability_v1", "ml.woe_anchor_slices_v1",
    "ml.woe_anchor_default_eval_cutoff_v1",
)

NULL = sql.SQL("NULL")


def _bands_call(t0: sql.Composable, snapshot: dict[str, sql.Composable],
                vision: dict[str, sql.Composable], thresholds: list[sql.Composable],
                cuts: list[sql.Composable]) -> sql.Composed:
    """ml.woe_anchor_band_codes_v1(...) with every argument in its declared order."""
    args = [t0]
    args += [snapshot.get(c, NULL) for c in SNAPSHOT_FEATURES]
    args += [vision.get(c, NULL) for c in VISION_FEATURES]
    args += thresholds + cuts
    return sql.SQL("ml.woe_anchor_band_codes_v1({})").format(sql.SQL(", ").join(args))


def _col(alias: str, name: str) -> sql.Identifier:
    return sql.Identifier(alias, name)


def _param(name: str) -> sql.Placeholder:
    return sql.Placeholder(name)


# The slice counts, the validation figures and the fold of each training day in one scan of
# the slices (grouped per slice and UTC day first, which parallel workers can share; a
# count(DISTINCT) would keep the scan serial). Fold of each training day: the sorted distinct
# UTC days, day i of n gets floor(i * K / n). Python reads back only the first day of each
# non-empty fold and its fold id (at most K values), bound into CREATE_ROWS: a join to a
# temporary table there would keep the source scans from parallel workers (temporary tables
# are backend-local).
SLICE_COUNTS = sql.SQL(
    """
WITH per_day AS (
    SELECT sl.slice, sl.t0_day,
           count(*) AS n_rows,
           count(*) FILTER (WHERE sl.y_slow21 = 1) AS n_pos,
           count(*) FILTER (WHERE sl.label_ts < sl.t0) AS n_before_t0,
           max(sl.label_ts) AS ref_ts
    FROM ml.woe_anchor_slices_v1({eval_cutoff}) AS sl
    GROUP BY sl.slice, sl.t0_day
), train_days AS (
    SELECT d.t0_day,
           ((row_number() OVER (ORDER BY d.t0_day) - 1) * {n_folds}
            / count(*) OVER ())::integer AS fold_id
    FROM per_day AS d
    WHERE d.slice = 'train_sold'
), fold_starts AS (
    SELECT array_agg(f.first_day ORDER BY f.fold_id) AS first_days,
           array_agg(f.fold_id ORDER BY f.fold_id) AS fold_ids
    FROM (SELECT t.fold_id, min(t.t0_day) AS first_day
          FROM train_days AS t
          GROUP BY t.fold_id) AS f
)
SELECT coalesce(sum(d.n_rows) FILTER (WHERE d.slice = 'train_sold'), 0)::bigint AS train_sold,
       coalesce(sum(d.n_rows) FILTER (WHERE d.slice = 'eval_sold_last_7d'), 0)::bigint
           AS eval_sold_last_7d,
       coalesce(sum(d.n_rows) FILTER (WHERE d.slice = 'censored_ge_21d'), 0)::bigint
           AS censored_ge_21d,
       coalesce(sum(d.n_pos) FILTER (WHERE d.slice = 'train_sold'), 0)::bigint AS train_pos,
       coalesce(sum(d.n_before_t0) FILTER (WHERE d.slice = 'train_sold'), 0)::bigint
           AS sold_before_t0,
       count(*) FILTER (WHERE d.slice = 'train_sold') AS train_days,
       max(d.ref_ts) FILTER (WHERE d.slice = 'train_sold') AS ref_ts,
       (SELECT s.first_days FROM fold_starts AS s) AS first_days,
       (SELECT s.fold_ids FROM fold_starts AS s) AS fold_ids
FROM per_day AS d
"""
).format(eval_cutoff=_param("eval_cutoff"), n_folds=_param("n_folds"))

# One narrow row per train_sold / eval_sold_last_7d row: fold (NULL marks an eval row), label,
# raw time-decay weight (before the per-fit division by the mean weight), the presentation
# score and the codes of all bands but present (its cuts come later). Every column read later
# and no other: the table is written once and scanned by every later statement. Written in the
# scores' key order (sorted in the parallel workers, merged by the leader), so the OOF scores
# come out in that order and the key's build at seal sorts presorted rows (without this ORDER
# BY this statement saved about what the seal's sort lost at 1.1M listings, 0.3-0.6 s).
# Plan notes, each measured at 1M rows:
# - The sold slices are selected as "not censored": the planner cannot see through the slice
#   CASE and estimates IN (two values) at 0.4% of the rows, which made it hash the million
#   joined rows instead of the vision table (1.9 s against 2.35 s).
# - The vision bands come from the banding function called on the vision row alone, inside
#   the outer join's nullable side, so they are computed while the vision table is scanned
#   and its hash table holds three values instead of nine features (-0.1 to -0.17 s). The
#   market bands come from the same function called on the snapshot; each call's other
#   arguments are NULL constants, which fold away. has_assets is taken from
#   ml.woe_anchor_has_assets_v1 on the carried image_count, not from the vision call, because
#   a listing without a vision row gets NULL from the nullable side and false from that rule.
# - date_part('epoch', interval) is float8 already; EXTRACT returns numeric, whose conversion
#   to float8 goes through text (-0.06 to -0.09 s).
# - 0.5^x rounds to 0 in float8 from x = 1075 half-lives on (below half the smallest
#   subnormal), where power() raises "underflow" instead; the weight is then 0, as in IEEE.
CREATE_ROWS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_rows ON COMMIT DROP AS
SELECT x.generation, x.listing_id, x.t0, x.fold_id, x.y,
       CASE WHEN x.half_lives >= 1075 THEN 0.0::float8
            ELSE power(0.5::float8, x.half_lives) END AS w_raw,
       ml.woe_anchor_has_assets_v1(x.image_count) AS has_assets, x.presentation_score,
       {market_columns}, x.vdmg, x.acc
FROM (
    SELECT sl.generation, sl.listing_id, sl.t0, sl.slice, sl.y_slow21 AS y,
           CASE WHEN sl.slice = 'train_sold' THEN
               ({fold_ids}::integer[])[width_bucket(sl.t0_day, {first_days}::date[])]
           END AS fold_id,
           CASE WHEN sl.slice = 'train_sold' THEN
               greatest(0.0::float8, date_part('epoch', {ref_ts} - sl.label_ts) / 86400.0)
               / {half_life_days}
           END AS half_lives,
           {market_bands} AS bs,
           v.image_count, v.presentation_score, v.vdmg, v.acc
    FROM ml.woe_anchor_slices_v1({eval_cutoff}) AS sl
    JOIN src.listing_snapshots_t0 AS s
      ON s.generation = sl.generation AND s.listing_id = sl.listing_id AND s.t0 = sl.t0
    LEFT JOIN (
        SELECT v.generation, v.listing_id, v.image_count,
               (v.bs).presentation_score, (v.bs).vdmg, (v.bs).acc
        FROM (SELECT v.*, {vision_bands} AS bs FROM src.listing_vision_features AS v) AS v
    ) AS v
      ON v.generation = sl.generation AND v.listing_id = sl.listing_id
    WHERE sl.slice <> 'censored_ge_21d'
) AS x
ORDER BY x.generation, x.listing_id, x.t0
"""
).format(
    market_columns=sql.SQL(", ").join(
        sql.SQL("(x.bs).{b} AS {b}").format(b=sql.Identifier(b)) for b in MARKET_BANDS
    ),
    market_bands=_bands_call(
        _col("sl", "t0"),
        {c: _col("s", c) for c in SNAPSHOT_FEATURES},
        {},
        [sql.SQL("{}::float8").format(_param(p)) for p in ("t1", "t2", "t3", "t4")],
        [NULL, NULL],
    ),
    vision_bands=_bands_call(
        NULL, {}, {c: _col("v", c) for c in VISION_FEATURES}, [NULL] * 4, [NULL, NULL]),
    ref_ts=_param("ref_ts"),
    half_life_days=_param("half_life_days"),
    eval_cutoff=_param("eval_cutoff"),
    fold_ids=_param("fold_ids"),
    first_days=_param("first_days"),
)

# Whether the three sources are stored in the order of their keys (ANALYZE's correlation of
# generation and listing_id at least 0.99 in each; no statistics counts as not ordered). Then
# train.fit lets CREATE_ROWS use ordered merge joins over the primary keys instead of parallel
# hash joins: the index scans read the tables nearly sequentially and the rows come out in key
# order with no sort (1.1M listings: 1.2-1.8 s against 1.8-2.3 s). On sources in random order
# the same plan reads the heaps at random (6-8 s against 2.6-3.8 s), so it is only taken here.
SOURCES_IN_KEY_ORDER = sql.SQL(
    """
SELECT count(*) = 6 AND coalesce(bool_and(s.correlation >= 0.99), false)
FROM pg_catalog.pg_stats AS s
WHERE s.schemaname = 'src' AND NOT s.inherited
  AND s.tablename IN ('listing_outcomes', 'listing_snapshots_t0', 'listing_vision_features')
  AND s.attname IN ('generation', 'listing_id')
"""
)

# fit -1 is the final mapping; folds 0..K-1 exist only when out-of-fold scoring is on.
CREATE_FITS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_fits ON COMMIT DROP AS
SELECT f.fit_id FROM generate_series(-1, CASE WHEN {oof} THEN {n_folds} - 1 ELSE -1 END) AS f(fit_id)
"""
).format(oof=_param("oof"), n_folds=_param("n_folds"))

# SPEC 4: c1, c2 are the 1/3 and 2/3 continuous quantiles of presentation_score over the
# training rows with assets; both the median under 50 such rows; both 0 with none. SPEC 6: the
# fold fits reuse them ("same thresholds, same cuts, same ref_ts"), so there is one pair.
CREATE_CUTS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_cuts ON COMMIT DROP AS
SELECT CASE WHEN q.n = 0 THEN 0.0::float8 WHEN q.n < 50 THEN q.qs[2] ELSE q.qs[1] END AS c1,
       CASE WHEN q.n = 0 THEN 0.0::float8 WHEN q.n < 50 THEN q.qs[2] ELSE q.qs[3] END AS c2
FROM (
    SELECT count(*) AS n,
           percentile_cont(ARRAY[1.0::float8 / 3.0, 0.5, 2.0::float8 / 3.0])
               WITHIN GROUP (ORDER BY r.presentation_score) AS qs
    FROM woe_rows AS r
    WHERE r.fold_id IS NOT NULL AND r.has_assets
) AS q
"""
)

def _band_code(band: str) -> sql.Composable:
    """The code of a woe_rows row r's band: stored, except present, banded from the stored score
    under the cuts (bound as %(c1)s, %(c2)s: read back from woe_cuts once they exist; as bound
    constants they let the function inline, as subqueries they would not)."""
    if band == "present":
        return sql.SQL("ml.woe_anchor_present_code_v1(r.presentation_score, {}::float8, "
                       "{}::float8)").format(_param("c1"), _param("c2"))
    return sql.SQL("r.{}").format(sql.Identifier(band))


# The bands in the groups whose joint counts are taken together (at most 6x3x3x4x4 = 864 and
# 5x4x(1 + 5x3x3) = 920 combinations per fold); has_assets rides with the vision group, whose
# sums then give the fit's totals too. Two groups of five: 0.56-0.60 s at 1M rows against
# 0.65-0.68 s for three groups.
JOINT_BAND_GROUPS = (("dsold", "trust", "ship", "sale", "cond"),
                     ("dmg", "bat", "vdmg", "acc", "present"))
assert sorted(sum(JOINT_BAND_GROUPS, ())) == sorted(ALL_BANDS)
_VISION_GROUP = JOINT_BAND_GROUPS[-1]

# One pass over the training rows: raw weighted class sums and counts per fold and joint
# combination of the bands of each group (two hash-table updates per row instead of ten, one
# per band); each band's sums are then the sums over its group's few hundred combinations. The
# fit's totals are the sums of the vision group (which holds every row).
CREATE_JOINT_SUMS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_joint_sums ON COMMIT DROP AS
SELECT r.fold_id, r.has_assets, {bands}, {set_flags},
       coalesce(sum(r.w_raw) FILTER (WHERE r.y = 1), 0.0) AS w_pos,
       coalesce(sum(r.w_raw) FILTER (WHERE r.y = 0), 0.0) AS w_neg,
       count(*) FILTER (WHERE r.y = 1) AS n_pos,
       count(*) AS n_rows
FROM (SELECT r.fold_id, r.y, r.w_raw, r.has_assets, {band_codes}
      FROM woe_rows AS r
      WHERE r.fold_id IS NOT NULL) AS r
GROUP BY GROUPING SETS ({joint_sets})
"""
).format(
    bands=sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(b)) for b in ALL_BANDS),
    set_flags=sql.SQL(", ").join(
        sql.SQL("GROUPING(r.{b}) = 0 AS {flag}").format(
            b=sql.Identifier(group[0]), flag=sql.Identifier(f"in_{group[0]}"))
        for group in JOINT_BAND_GROUPS),
    band_codes=sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(_band_code(b), sql.Identifier(b)) for b in ALL_BANDS),
    joint_sets=sql.SQL(", ").join(
        sql.SQL("(r.fold_id, {}{})").format(
            sql.SQL("r.has_assets, ") if group == _VISION_GROUP else sql.SQL(""),
            sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(b)) for b in group))
        for group in JOINT_BAND_GROUPS),
)

# Per-fold class sums (from the vision group's joint sums, which cover every training row),
# then per-fit totals as the sum over the fit's folds. The mean weight of the fit's rows
# (SPEC 5) is sum(w_raw) / n over those rows; every weighted sum of the fit is divided by it.
CREATE_TOTALS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_totals ON COMMIT DROP AS
WITH per_fold AS (
    SELECT j.fold_id,
           sum(j.n_rows) AS n_rows,
           sum(j.n_pos) AS n_pos,
           sum(j.w_pos) AS w_pos,
           sum(j.w_neg) AS w_neg,
           coalesce(sum(j.w_pos) FILTER (WHERE j.has_assets), 0.0) AS w_pos_assets,
           coalesce(sum(j.w_neg) FILTER (WHERE j.has_assets), 0.0) AS w_neg_assets
    FROM woe_joint_sums AS j
    WHERE j.{in_vision}
    GROUP BY j.fold_id
), per_fit AS (
    SELECT f.fit_id,
           sum(p.n_rows) AS n_rows,
           nullif((sum(p.w_pos) + sum(p.w_neg)) / sum(p.n_rows), 0.0) AS mean_w,
           sum(p.w_pos) AS w_pos, sum(p.w_neg) AS w_neg,
           sum(p.w_pos_assets) AS w_pos_assets, sum(p.w_neg_assets) AS w_neg_assets,
           sum(p.n_pos) AS n_pos, sum(p.n_rows) - sum(p.n_pos) AS n_neg
    FROM woe_fits AS f
    JOIN per_fold AS p ON f.fit_id = -1 OR p.fold_id <> f.fit_id
    GROUP BY f.fit_id
)
SELECT t.fit_id, t.n_rows, t.n_pos, t.n_neg, t.mean_w,
       t.w_pos / t.mean_w AS total_pos,
       t.w_neg / t.mean_w AS total_neg,
       t.w_pos_assets / t.mean_w AS total_pos_assets,
       t.w_neg_assets / t.mean_w AS total_neg_assets,
       b.base_rate,
       CASE WHEN b.base_rate > 0 AND b.base_rate < 1
            THEN ln(b.base_rate / (1.0::float8 - b.base_rate)) END AS base_logit
FROM per_fit AS t
CROSS JOIN LATERAL (
    SELECT (t.w_pos / t.mean_w) / ((t.w_pos / t.mean_w) + (t.w_neg / t.mean_w)) AS base_rate
) AS b
"""
).format(in_vision=sql.Identifier(f"in_{_VISION_GROUP[0]}"))

FIT_TOTALS = sql.SQL(
    """
SELECT t.fit_id, t.n_rows, t.n_pos, t.n_neg, t.total_pos, t.total_neg, t.base_rate, t.base_logit
FROM woe_totals AS t ORDER BY t.fit_id
"""
)

_MARGINALS = sql.SQL(",\n        ").join(
    sql.SQL("({name}, j.{band}, j.{in_group})").format(
        name=sql.Literal(b), band=sql.Identifier(b), in_group=sql.Identifier(f"in_{group[0]}"))
    for group in JOINT_BAND_GROUPS for b in group
)

# SPEC 5: woe = ln(((W+_b + eps) / W+) / ((W-_b + eps) / W-)) with the fit's normalised sums;
# market bands against the fit's totals, vision bands against its asset rows' totals. A band
# value absent from the fit's rows is not in its map (it adds 0 when scored). A vision subset
# with an empty class has no finite WOE, so such a fit has no vision map rows. Each fit sums
# the other folds' per-(fold, band, code) sums, which are the sums over the joint combinations;
# a NULL code (no assets) counts for no value. The value a code stands for comes from
# ml.woe_anchor_band_labels_v1 (the persisted map is keyed by value, as the seed's is).
CREATE_MAP = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_map ON COMMIT DROP AS
WITH fold_sums AS (
    SELECT j.fold_id, m.band_name, m.band_code,
           sum(j.w_pos) AS w_pos, sum(j.w_neg) AS w_neg, sum(j.n_rows) AS n_rows
    FROM woe_joint_sums AS j
    CROSS JOIN LATERAL (VALUES
        {marginals}
    ) AS m(band_name, band_code, in_group)
    WHERE m.in_group AND m.band_code IS NOT NULL
    GROUP BY j.fold_id, m.band_name, m.band_code
), raw_sums AS (
    SELECT f.fit_id, s.band_name, s.band_code,
           sum(s.w_pos) AS w_pos, sum(s.w_neg) AS w_neg, sum(s.n_rows) AS n_rows
    FROM woe_fits AS f
    JOIN fold_sums AS s ON f.fit_id = -1 OR s.fold_id <> f.fit_id
    GROUP BY f.fit_id, s.band_name, s.band_code
), normalised AS (
    SELECT s.fit_id, s.band_name, s.band_code,
           (ml.woe_anchor_band_labels_v1(s.band_name))[s.band_code] AS band_value, s.n_rows,
           s.w_pos / t.mean_w AS sum_w_pos,
           s.w_neg / t.mean_w AS sum_w_neg,
           CASE WHEN s.band_name IN ({vision}) THEN t.total_pos_assets
                ELSE t.total_pos END AS total_pos,
           CASE WHEN s.band_name IN ({vision}) THEN t.total_neg_assets
                ELSE t.total_neg END AS total_neg
    FROM raw_sums AS s
    JOIN woe_totals AS t ON t.fit_id = s.fit_id
    WHERE s.n_rows > 0
)
SELECT n.fit_id, n.band_name, n.band_code, n.band_value, n.sum_w_pos, n.sum_w_neg, n.n_rows,
       n.total_pos, n.total_neg,
       ln(((n.sum_w_pos + {eps}) / n.total_pos) / ((n.sum_w_neg + {eps}) / n.total_neg)) AS woe
FROM normalised AS n
WHERE n.total_pos > 0 AND n.total_neg > 0
"""
).format(eps=sql.SQL("{}::float8").format(_param("eps")), marginals=_MARGINALS,
         vision=sql.SQL(", ").join(sql.Literal(b) for b in VISION_BANDS))


# Each fit's map as one row of arrays: per band the WOE of every code of the band (NULL for a
# code the fit's map lacks, which the logit adds as 0).
CREATE_LOOKUP = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_lookup ON COMMIT DROP AS
SELECT t.fit_id, t.base_logit, a.*
FROM woe_totals AS t
CROSS JOIN LATERAL (
    SELECT {arrays}
    FROM unnest({bands}::text[]) AS n(band_name)
    CROSS JOIN LATERAL unnest(ml.woe_anchor_band_labels_v1(n.band_name))
        WITH ORDINALITY AS g(band_value, code)
    LEFT JOIN woe_map AS m
      ON m.fit_id = t.fit_id AND m.band_name = n.band_name AND m.band_code = g.code
) AS a
"""
).format(
    arrays=sql.SQL(",\n           ").join(
        sql.SQL("array_agg(m.woe ORDER BY g.code) FILTER (WHERE n.band_name = {name}) AS {woes}")
        .format(name=sql.Literal(b), woes=sql.Identifier(f"{b}_woes")) for b in ALL_BANDS),
    bands=sql.Literal(list(ALL_BANDS)),
)


def _of_fit(column: str, fit: sql.Composable) -> sql.Composed:
    """A woe_lookup column's value for fit ``fit``: an init plan stacks the column over the
    fits (-1 .. K-1, so fit f is element f + 2) and scoring subscripts it, instead of joining a
    million rows to the lookup rows. Built in memory once, it is not the compressed copy a
    stored row of all fits' arrays would be (pglz per lookup: 3.0 s against 0.7 s)."""
    return sql.SQL(
        "(SELECT array_agg(k.{c} ORDER BY k.fit_id) FROM woe_lookup AS k)[{fit} + 2]"
    ).format(c=sql.Identifier(column), fit=fit)


def _woe_lookup(band: str, fit: sql.Composable) -> sql.Composed:
    """The WOE of a woe_rows row r's band under fit ``fit`` (NULL: not in the map)."""
    return sql.SQL("{woes}[{code}]").format(
        woes=_of_fit(f"{band}_woes", fit), code=_band_code(band))


def _scored(fit: sql.Composable, where: sql.Composable) -> sql.Composed:
    """Score woe_rows under fit ``fit`` (an expression of r) with the live functions.

    OFFSET 0 keeps woe_logit a value computed once per row: otherwise the planner pastes the
    whole inlined logit expression (ten lookups) into both woe_logit and woe_p.
    """
    woes = sql.SQL(",\n        ").join(_woe_lookup(b, fit) for b in ALL_BANDS)
    return sql.SQL(
        """
SELECT s.generation, s.listing_id, s.t0, s.y, s.fold_id,
       s.woe_logit, ml.woe_anchor_probability_v1(s.woe_logit) AS woe_p
FROM (
    SELECT r.generation, r.listing_id, r.t0, r.y, r.fold_id,
           ml.woe_anchor_logit_v1(
        {base_logit},
        {woes}) AS woe_logit
    FROM woe_rows AS r
    WHERE {where}
    OFFSET 0
) AS s
"""
    ).format(base_logit=_of_fit("base_logit", fit), woes=woes, where=where)


# SPEC 6: each train_sold row scored by the fit of its own fold (which excluded its fold).
CREATE_OOF = sql.SQL("CREATE TEMPORARY TABLE woe_oof ON COMMIT DROP AS {}").format(
    _scored(_col("r", "fold_id"), sql.SQL("r.fold_id IS NOT NULL")))

# The final mapping's scores (what the live views give) of the evaluation rows.
CREATE_EVAL_SCORES = sql.SQL("CREATE TEMPORARY TABLE woe_eval_scores ON COMMIT DROP AS {}").format(
    _scored(sql.SQL("-1"), sql.SQL("r.fold_id IS NULL")))


def metrics(table: str) -> sql.Composed:
    """AUC by rank sums (ties count one half) and Brier score of woe_p against y, in SQL.

    Rows are first counted per distinct score (rows of the same band combination share a
    score, so there are about half as many scores as rows), then one running sum over the
    sorted scores gives each score the negatives strictly below it: a positive at that score
    beats those and ties with the score's own negatives, so the score contributes
    n_pos * (2 * neg_below + n_neg) / 2. The counts are float8, which is exact for integers
    below 2^53 (the numerator is at most 2 * n_pos * n_neg) and spares numeric arithmetic;
    the rows are sorted before grouping, so the running sum needs no second sort (0.65 s
    against 0.85 s for a hash aggregate at 1M rows). A squared error below 1e-300 counts as 0:
    PostgreSQL raises "underflow" where IEEE would round it to (almost) 0.
    """
    return sql.SQL(
        """
SELECT coalesce(sum(g.n_pos + g.n_neg), 0)::bigint AS n_rows,
       CASE WHEN sum(g.n_pos) > 0 AND sum(g.n_neg) > 0
            THEN sum(g.n_pos * (2.0::float8 * g.neg_below + g.n_neg)) / 2.0::float8
                 / (sum(g.n_pos) * sum(g.n_neg)) END AS auc,
       sum(g.sq_err) / sum(g.n_pos + g.n_neg) AS brier
FROM (
    SELECT d.n_pos, d.n_neg, d.sq_err,
           coalesce(sum(d.n_neg) OVER (ORDER BY d.woe_p
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                    0.0::float8) AS neg_below
    FROM (
        SELECT o.woe_p,
               (count(*) FILTER (WHERE o.y = 1))::float8 AS n_pos,
               (count(*) FILTER (WHERE o.y = 0))::float8 AS n_neg,
               sum(CASE WHEN abs(o.woe_p - o.y) < 1e-150 THEN 0.0::float8
                        ELSE (o.woe_p - o.y) * (o.woe_p - o.y) END) AS sq_err
        FROM (SELECT o.woe_p, o.y FROM {table} AS o ORDER BY o.woe_p) AS o
        GROUP BY o.woe_p
    ) AS d
) AS g
"""
    ).format(table=sql.Identifier(table))


OOF_METRICS = metrics("woe_oof")
EVAL_METRICS = metrics("woe_eval_scores")

# Information Value of each band under the final mapping: sum over values of
# (W+_b / W+ - W-_b / W-) * woe(b), with the same totals the WOE used.
INFORMATION_VALUE = sql.SQL(
    """
SELECT m.band_name,
       sum((m.sum_w_pos / m.total_pos - m.sum_w_neg / m.total_neg) * m.woe) AS iv
FROM woe_map AS m
WHERE m.fit_id = -1
GROUP BY m.band_name
"""
)

# Serialises trainers and activations: the lock conflicts with itself, not with readers.
LOCK_REGISTRY = sql.SQL(
    "LOCK TABLE ml.woe_anchor_model_registry_v1 IN SHARE ROW EXCLUSIVE MODE")

DEACTIVATE_ALL = sql.SQL(
    "UPDATE ml.woe_anchor_model_registry_v1 SET is_active = false WHERE is_active")

INSERT_REGISTRY = sql.SQL(
    """
INSERT INTO ml.woe_anchor_model_registry_v1 (
    model_key, train_cutoff_ts, half_life_days, eps, n_folds, band_schema_version, code_sha256,
    is_active, base_rate, base_logit, dsold_t1, dsold_t2, dsold_t3, dsold_t4)
SELECT {model_key}, {eval_cutoff}, {half_life_days}, {eps}, {n_folds}, {band_schema_version},
       {code_sha256}, {activate}, t.base_rate, t.base_logit, {t1}, {t2}, {t3}, {t4}
FROM woe_totals AS t
WHERE t.fit_id = -1
"""
).format(**{name: _param(name) for name in (
    "model_key", "eval_cutoff", "half_life_days", "eps", "n_folds", "band_schema_version",
    "code_sha256", "activate", "t1", "t2", "t3", "t4")})

INSERT_CUTS = sql.SQL(
    """
INSERT INTO ml.woe_anchor_cuts_v1 (model_key, fold_id, c1, c2)
SELECT {model_key}, NULLIF(f.fit_id, -1), c.c1, c.c2
FROM woe_fits AS f
CROSS JOIN woe_cuts AS c
ORDER BY f.fit_id
"""
).format(model_key=_param("model_key"))

INSERT_MAP = sql.SQL(
    """
INSERT INTO ml.woe_anchor_map_v1
    (model_key, fold_id, band_name, band_value, woe, sum_w_pos, sum_w_neg, n_rows)
SELECT {model_key}, NULLIF(m.fit_id, -1), m.band_name, m.band_value, m.woe,
       m.sum_w_pos, m.sum_w_neg, m.n_rows
FROM woe_map AS m
ORDER BY m.fit_id, m.band_name, m.band_value
"""
).format(model_key=_param("model_key"))

# A package's scores go into a table of their own, which seal attaches as the package's
# partition of ml.woe_anchor_scores_v1 (0054): its primary key is built once after the rows
# instead of maintained row by row (1.1M listings: 2.7-2.9 s against 5.2-6.1 s).
OPEN_SCORES = sql.SQL("SELECT ml.woe_anchor_scores_open_v1({model_key})").format(
    model_key=_param("model_key"))

# {scores} is the table OPEN_SCORES returned (see insert_scores). No ORDER BY: woe_oof already
# holds the rows in key order (woe_rows is written in that order and the OOF scoring keeps its
# scan order), so the key's sorted build at seal finds them presorted.
INSERT_SCORES = sql.SQL(
    """
INSERT INTO {scores}
    (model_key, generation, listing_id, t0, fold_id, is_oof, woe_logit, woe_p)
SELECT {model_key}, o.generation, o.listing_id, o.t0, o.fold_id, true, o.woe_logit, o.woe_p
FROM woe_oof AS o
"""
)


def insert_scores(table: str) -> sql.Composed:
    """INSERT_SCORES into ``table`` (a name in schema ml, as OPEN_SCORES returns it)."""
    return INSERT_SCORES.format(scores=sql.Identifier("ml", table), model_key=_param("model_key"))


SEAL_SCORES = sql.SQL("SELECT ml.woe_anchor_scores_seal_v1({model_key})").format(
    model_key=_param("model_key"))

# The fit's report is kept with the package (not part of code_sha256: it scores nothing).
INSERT_FIT_REPORT = sql.SQL(
    "INSERT INTO ml.woe_anchor_fit_report_v1 (model_key, report) VALUES ({model_key}, {report})"
).format(model_key=_param("model_key"), report=_param("report"))

# The trainer's statements: their text is part of code_sha256.
FIT_STATEMENTS = (
    SLICE_COUNTS, SOURCES_IN_KEY_ORDER, CREATE_ROWS, CREATE_FITS, CREATE_CUTS,
    CREATE_JOINT_SUMS, CREATE_TOTALS, FIT_TOTALS, CREATE_MAP, CREATE_LOOKUP,
    CREATE_OOF, CREATE_EVAL_SCORES, OOF_METRICS, EVAL_METRICS, INFORMATION_VALUE,
    LOCK_REGISTRY, DEACTIVATE_ALL, INSERT_REGISTRY, INSERT_CUTS, INSERT_MAP, OPEN_SCORES,
    INSERT_SCORES, SEAL_SCORES,
)

"""The WOE fit as set-based SQL (SPEC sections 3-6): the statements harness.train executes.

Every statement here runs inside the trainer's one transaction and works on temporary tables
(ON COMMIT DROP) derived from the source contract; Python only reads back aggregates whose size
is bands x values x folds. The texts are constants (values are bound by psycopg), so their
sha256 together with the server's banding definitions identifies the code of a package.

Fits are numbered ``fit_id``: -1 is the final mapping (all of train_sold, persisted with
fold_id NULL), k >= 0 is the fit for fold k (all train_sold rows outside fold k). Each fit's
band sums are the sum of the other folds' per-(fold, band, value) aggregates, computed in one
pass, so the cost grows with rows, not rows x folds. The presentation band is the exception:
its band value depends on the fit's own cuts, so its sums are grouped per fit over the asset
rows (one narrow pass over asset rows per fit).

Bands always come from ml.woe_anchor_bands_v1 and scores from ml.woe_anchor_logit_v1 /
ml.woe_anchor_probability_v1, the functions the live views use.
"""

from __future__ import annotations

from psycopg import sql

MARKET_BANDS = ("dsold", "trust", "ship", "sale", "cond", "dmg", "bat")
VISION_BANDS = ("present", "vdmg", "acc")
ALL_BANDS = MARKET_BANDS + VISION_BANDS  # the argument order of ml.woe_anchor_logit_v1
FOLD_INDEPENDENT_BANDS = MARKET_BANDS + ("vdmg", "acc")

SNAPSHOT_FEATURES = (
    "delta_vs_sold_median_30d", "condition_score", "damage_severity_ai", "battery_pct_effective",
    "seller_rating", "review_count", "member_since_year", "ai_ship_can", "ai_ship_pickup",
    "ai_pickup_only_bin", "ai_sale_mode_firm", "ai_sale_mode_bids", "ai_sale_mode_obo",
)
VISION_FEATURES = (
    "image_count", "caption_share", "stock_photo_share", "photo_quality_avg", "bg_clean_avg",
    "dmg_band_hq_struct", "charger_bundle_level", "box_present", "receipt_present",
)
# What the presentation score reads: kept per asset row so the band can be re-cut per fit.
PRESENTATION_INPUTS = (
    "image_count", "caption_share", "stock_photo_share", "photo_quality_avg", "bg_clean_avg",
)

BANDING_FUNCTIONS = (
    "ml.woe_anchor_has_assets_v1", "ml.woe_anchor_presentation_score_v1",
    "ml.woe_anchor_bands_v1", "ml.woe_anchor_logit_v1", "ml.woe_anchor_probability_v1",
    "ml.woe_anchor_slices_v1", "ml.woe_anchor_default_eval_cutoff_v1",
)

NULL = sql.SQL("NULL")


def _bands_call(t0: sql.Composable, snapshot: dict[str, sql.Composable],
                vision: dict[str, sql.Composable], thresholds: list[sql.Composable],
                cuts: list[sql.Composable]) -> sql.Composed:
    """ml.woe_anchor_bands_v1(...) with every argument in its declared order."""
    args = [t0]
    args += [snapshot.get(c, NULL) for c in SNAPSHOT_FEATURES]
    args += [vision.get(c, NULL) for c in VISION_FEATURES]
    args += thresholds + cuts
    return sql.SQL("ml.woe_anchor_bands_v1({})").format(sql.SQL(", ").join(args))


def _col(alias: str, name: str) -> sql.Identifier:
    return sql.Identifier(alias, name)


def present_band(rows: str, cuts: str) -> sql.Composed:
    """The present band of a woe_rows row under one fit's cuts, from the one definition."""
    call = _bands_call(
        _col(rows, "t0"), {}, {c: _col(rows, c) for c in PRESENTATION_INPUTS},
        [NULL] * 4, [_col(cuts, "c1"), _col(cuts, "c2")],
    )
    return sql.SQL("({}).present").format(call)


def _param(name: str) -> sql.Placeholder:
    return sql.Placeholder(name)


SLICE_COUNTS = sql.SQL(
    """
SELECT count(*) FILTER (WHERE sl.slice = 'train_sold') AS train_sold,
       count(*) FILTER (WHERE sl.slice = 'eval_sold_last_7d') AS eval_sold_last_7d,
       count(*) FILTER (WHERE sl.slice = 'censored_ge_21d') AS censored_ge_21d,
       count(*) FILTER (WHERE sl.slice = 'train_sold' AND sl.y_slow21 = 1) AS train_pos,
       count(*) FILTER (WHERE sl.slice = 'train_sold' AND sl.label_ts < sl.t0) AS sold_before_t0,
       count(DISTINCT sl.t0_day) FILTER (WHERE sl.slice = 'train_sold') AS train_days,
       max(sl.label_ts) FILTER (WHERE sl.slice = 'train_sold') AS ref_ts
FROM ml.woe_anchor_slices_v1({eval_cutoff}) AS sl
"""
).format(eval_cutoff=_param("eval_cutoff"))

# Fold of each training day: the sorted distinct UTC days, day i of n gets floor(i * K / n).
CREATE_DAYS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_days ON COMMIT DROP AS
SELECT d.t0_day,
       ((row_number() OVER (ORDER BY d.t0_day) - 1) * {n_folds}
        / count(*) OVER ())::integer AS fold_id
FROM (SELECT DISTINCT sl.t0_day
      FROM ml.woe_anchor_slices_v1({eval_cutoff}) AS sl
      WHERE sl.slice = 'train_sold') AS d
"""
).format(n_folds=_param("n_folds"), eval_cutoff=_param("eval_cutoff"))

ANALYZE_DAYS = sql.SQL("ANALYZE woe_days")

# One row per train_sold / eval_sold_last_7d row: label, fold, raw time-decay weight (before the
# per-fit division by the mean weight), all bands but present (its cuts come later), the
# presentation score and the inputs needed to re-cut it.
CREATE_ROWS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_rows ON COMMIT DROP AS
SELECT x.generation, x.listing_id, x.t0, x.slice, x.y, x.fold_id, x.w_raw,
       (x.bs).has_assets, (x.bs).presentation_score,
       {band_columns},
       {inputs}
FROM (
    SELECT sl.generation, sl.listing_id, sl.t0, sl.slice, sl.y_slow21 AS y, d.fold_id,
           CASE WHEN sl.slice = 'train_sold' THEN
               power(0.5::float8,
                     greatest(0.0::float8,
                              EXTRACT(EPOCH FROM ({ref_ts} - sl.label_ts))::float8 / 86400.0)
                     / {half_life_days})
           END AS w_raw,
           {bands} AS bs,
           {vision_inputs}
    FROM ml.woe_anchor_slices_v1({eval_cutoff}) AS sl
    JOIN src.listing_snapshots_t0 AS s
      ON s.generation = sl.generation AND s.listing_id = sl.listing_id AND s.t0 = sl.t0
    LEFT JOIN src.listing_vision_features AS v
      ON v.generation = sl.generation AND v.listing_id = sl.listing_id
    LEFT JOIN woe_days AS d ON d.t0_day = sl.t0_day AND sl.slice = 'train_sold'
    WHERE sl.slice IN ('train_sold', 'eval_sold_last_7d')
) AS x
"""
).format(
    band_columns=sql.SQL(", ").join(
        sql.SQL("(x.bs).{b} AS {b}").format(b=sql.Identifier(b)) for b in FOLD_INDEPENDENT_BANDS
    ),
    inputs=sql.SQL(", ").join(
        sql.SQL("CASE WHEN (x.bs).has_assets THEN x.{c} END AS {c}").format(c=sql.Identifier(c))
        for c in PRESENTATION_INPUTS
    ),
    vision_inputs=sql.SQL(", ").join(_col("v", c) for c in PRESENTATION_INPUTS),
    bands=_bands_call(
        _col("sl", "t0"),
        {c: _col("s", c) for c in SNAPSHOT_FEATURES},
        {c: _col("v", c) for c in VISION_FEATURES},
        [sql.SQL("{}::float8").format(_param(p)) for p in ("t1", "t2", "t3", "t4")],
        [NULL, NULL],
    ),
    ref_ts=_param("ref_ts"),
    half_life_days=_param("half_life_days"),
    eval_cutoff=_param("eval_cutoff"),
)

# The small per-fit tables: with statistics the planner hashes them instead of merge-joining
# a million rows against them.
ANALYZE_FIT_TABLES = sql.SQL("ANALYZE woe_totals, woe_cuts, woe_map")

# The training rows with assets, narrow: cuts and the per-fit present band read only these.
CREATE_ASSETS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_assets ON COMMIT DROP AS
SELECT r.fold_id, r.y, r.w_raw, r.t0, r.presentation_score, {inputs}
FROM woe_rows AS r
WHERE r.slice = 'train_sold' AND r.has_assets
"""
).format(inputs=sql.SQL(", ").join(_col("r", c) for c in PRESENTATION_INPUTS))

# fit -1 is the final mapping; folds 0..K-1 exist only when out-of-fold scoring is on.
CREATE_FITS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_fits ON COMMIT DROP AS
SELECT f.fit_id FROM generate_series(-1, CASE WHEN {oof} THEN {n_folds} - 1 ELSE -1 END) AS f(fit_id)
"""
).format(oof=_param("oof"), n_folds=_param("n_folds"))

# Per-fold class sums, then per-fit totals as the sum over the fit's folds. The mean weight of
# the fit's rows (SPEC 5) is sum(w_raw) / n over those rows; every weighted sum of the fit is
# divided by it.
CREATE_TOTALS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_totals ON COMMIT DROP AS
WITH per_fold AS (
    SELECT r.fold_id,
           count(*) AS n_rows,
           sum(r.w_raw) AS w_all,
           coalesce(sum(r.w_raw) FILTER (WHERE r.y = 1), 0.0) AS w_pos,
           coalesce(sum(r.w_raw) FILTER (WHERE r.y = 0), 0.0) AS w_neg,
           coalesce(sum(r.w_raw) FILTER (WHERE r.y = 1 AND r.has_assets), 0.0) AS w_pos_assets,
           coalesce(sum(r.w_raw) FILTER (WHERE r.y = 0 AND r.has_assets), 0.0) AS w_neg_assets,
           count(*) FILTER (WHERE r.y = 1) AS n_pos,
           count(*) FILTER (WHERE r.y = 0) AS n_neg
    FROM woe_rows AS r
    WHERE r.slice = 'train_sold'
    GROUP BY r.fold_id
), per_fit AS (
    SELECT f.fit_id,
           sum(p.n_rows) AS n_rows,
           sum(p.w_all) / sum(p.n_rows) AS mean_w,
           sum(p.w_pos) AS w_pos, sum(p.w_neg) AS w_neg,
           sum(p.w_pos_assets) AS w_pos_assets, sum(p.w_neg_assets) AS w_neg_assets,
           sum(p.n_pos) AS n_pos, sum(p.n_neg) AS n_neg
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
)

FIT_TOTALS = sql.SQL(
    """
SELECT t.fit_id, t.n_rows, t.n_pos, t.n_neg, t.base_rate, t.base_logit
FROM woe_totals AS t ORDER BY t.fit_id
"""
)

# SPEC 4: c1, c2 are the 1/3 and 2/3 continuous quantiles of presentation_score over the fit's
# asset rows; both the median under 50 such rows; both 0 with none.
CREATE_CUTS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_cuts ON COMMIT DROP AS
SELECT f.fit_id,
       CASE WHEN q.n = 0 THEN 0.0::float8 WHEN q.n < 50 THEN q.qs[2] ELSE q.qs[1] END AS c1,
       CASE WHEN q.n = 0 THEN 0.0::float8 WHEN q.n < 50 THEN q.qs[2] ELSE q.qs[3] END AS c2,
       q.n AS n_asset_rows
FROM woe_fits AS f
CROSS JOIN LATERAL (
    SELECT count(*) AS n,
           percentile_cont(ARRAY[1.0::float8 / 3.0, 0.5, 2.0::float8 / 3.0])
               WITHIN GROUP (ORDER BY r.presentation_score) AS qs
    FROM woe_assets AS r
    WHERE f.fit_id = -1 OR r.fold_id <> f.fit_id
) AS q
"""
)

_GROUPED = sql.SQL(", ").join(
    sql.SQL("(r.fold_id, r.{})").format(sql.Identifier(b)) for b in FOLD_INDEPENDENT_BANDS
)
_WHICH_NAME = sql.SQL(" ").join(
    sql.SQL("WHEN GROUPING(r.{b}) = 0 THEN {name}").format(
        b=sql.Identifier(b), name=sql.Literal(b))
    for b in FOLD_INDEPENDENT_BANDS
)
_WHICH_VALUE = sql.SQL(" ").join(
    sql.SQL("WHEN GROUPING(r.{b}) = 0 THEN r.{b}").format(b=sql.Identifier(b))
    for b in FOLD_INDEPENDENT_BANDS
)

# One pass over the training rows: raw weighted class sums per (fold, band, value) for every
# band whose value does not depend on the fit (grouping sets: one hash table per band).
CREATE_FOLD_SUMS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_fold_sums ON COMMIT DROP AS
SELECT g.fold_id, g.band_name, g.band_value, g.w_pos, g.w_neg, g.n_rows
FROM (
    SELECT r.fold_id,
           CASE {which_name} END AS band_name,
           CASE {which_value} END AS band_value,
           coalesce(sum(r.w_raw) FILTER (WHERE r.y = 1), 0.0) AS w_pos,
           coalesce(sum(r.w_raw) FILTER (WHERE r.y = 0), 0.0) AS w_neg,
           count(*) AS n_rows
    FROM woe_rows AS r
    WHERE r.slice = 'train_sold'
    GROUP BY GROUPING SETS ({grouped})
) AS g
WHERE g.band_value IS NOT NULL
"""
).format(which_name=_WHICH_NAME, which_value=_WHICH_VALUE, grouped=_GROUPED)

# The present band of each asset row under each fit's cuts, summed per fit.
CREATE_PRESENT_SUMS = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_present_sums ON COMMIT DROP AS
SELECT c.fit_id, p.band_value,
       coalesce(sum(r.w_raw) FILTER (WHERE r.y = 1), 0.0) AS w_pos,
       coalesce(sum(r.w_raw) FILTER (WHERE r.y = 0), 0.0) AS w_neg,
       count(*) AS n_rows
FROM woe_cuts AS c
JOIN woe_assets AS r ON c.fit_id = -1 OR r.fold_id <> c.fit_id
CROSS JOIN LATERAL (SELECT {present} AS band_value) AS p
GROUP BY c.fit_id, p.band_value
"""
).format(present=present_band("r", "c"))

# SPEC 5: woe = ln(((W+_b + eps) / W+) / ((W-_b + eps) / W-)) with the fit's normalised sums;
# market bands against the fit's totals, vision bands against its asset rows' totals. A band
# value absent from the fit's rows is not in its map (it adds 0 when scored). A vision subset
# with an empty class has no finite WOE, so such a fit has no vision map rows.
CREATE_MAP = sql.SQL(
    """
CREATE TEMPORARY TABLE woe_map ON COMMIT DROP AS
WITH raw_sums AS (
    SELECT f.fit_id, s.band_name, s.band_value,
           sum(s.w_pos) AS w_pos, sum(s.w_neg) AS w_neg, sum(s.n_rows) AS n_rows
    FROM woe_fits AS f
    JOIN woe_fold_sums AS s ON f.fit_id = -1 OR s.fold_id <> f.fit_id
    GROUP BY f.fit_id, s.band_name, s.band_value
    UNION ALL
    SELECT p.fit_id, 'present', p.band_value, p.w_pos, p.w_neg, p.n_rows
    FROM woe_present_sums AS p
), normalised AS (
    SELECT s.fit_id, s.band_name, s.band_value, s.n_rows,
           s.w_pos / t.mean_w AS sum_w_pos,
           s.w_neg / t.mean_w AS sum_w_neg,
           CASE WHEN s.band_name IN ('present', 'vdmg', 'acc') THEN t.total_pos_assets
                ELSE t.total_pos END AS total_pos,
           CASE WHEN s.band_name IN ('present', 'vdmg', 'acc') THEN t.total_neg_assets
                ELSE t.total_neg END AS total_neg
    FROM raw_sums AS s
    JOIN woe_totals AS t ON t.fit_id = s.fit_id
    WHERE s.n_rows > 0
)
SELECT n.fit_id, n.band_name, n.band_value, n.sum_w_pos, n.sum_w_neg, n.n_rows,
       n.total_pos, n.total_neg,
       ln(((n.sum_w_pos + {eps}) / n.total_pos) / ((n.sum_w_neg + {eps}) / n.total_neg)) AS woe
FROM normalised AS n
WHERE n.total_pos > 0 AND n.total_neg > 0
"""
).format(eps=sql.SQL("{}::float8").format(_param("eps")))


def _scored(fit: sql.Composable, where: sql.Composable) -> sql.Composed:
    """Score woe_rows under one fit (its cuts, base logit and map) with the live functions."""
    joins = sql.SQL("\n").join(
        sql.SQL(
            "LEFT JOIN woe_map AS {m} ON {m_fit} = {fit} AND {m_name} = {name} "
            "AND {m_value} = {value}"
        ).format(
            m=sql.Identifier(f"m_{b}"), m_fit=_col(f"m_{b}", "fit_id"), fit=fit,
            m_name=_col(f"m_{b}", "band_name"), name=sql.Literal(b),
            m_value=_col(f"m_{b}", "band_value"),
            value=sql.SQL("p.present") if b == "present" else _col("r", b),
        )
        for b in ALL_BANDS
    )
    woes = sql.SQL(", ").join(_col(f"m_{b}", "woe") for b in ALL_BANDS)
    return sql.SQL(
        """
SELECT r.generation, r.listing_id, r.t0, r.slice, r.y, r.fold_id,
       l.woe_logit, ml.woe_anchor_probability_v1(l.woe_logit) AS woe_p
FROM woe_rows AS r
JOIN woe_totals AS t ON t.fit_id = {fit}
JOIN woe_cuts AS c ON c.fit_id = {fit}
CROSS JOIN LATERAL (SELECT {present} AS present) AS p
{joins}
CROSS JOIN LATERAL (SELECT ml.woe_anchor_logit_v1(t.base_logit, {woes}) AS woe_logit) AS l
WHERE {where}
"""
    ).format(fit=fit, present=present_band("r", "c"), joins=joins, woes=woes, where=where)


# SPEC 6: each train_sold row scored by the fit of its own fold (which excluded its fold).
CREATE_OOF = sql.SQL("CREATE TEMPORARY TABLE woe_oof ON COMMIT DROP AS {}").format(
    _scored(_col("r", "fold_id"), sql.SQL("r.slice = 'train_sold'")))

# The final mapping's scores (what the live views give) of the evaluation rows.
CREATE_EVAL_SCORES = sql.SQL("CREATE TEMPORARY TABLE woe_eval_scores ON COMMIT DROP AS {}").format(
    _scored(sql.SQL("-1"), sql.SQL("r.slice = 'eval_sold_last_7d'")))


def metrics(table: str, where: sql.Composable) -> sql.Composed:
    """AUC by rank sums (ties count one half) and Brier score of woe_p against y, in SQL."""
    return sql.SQL(
        """
WITH scored AS (
    SELECT s.woe_p, s.y FROM {table} AS s WHERE {where}
), by_score AS (
    SELECT g.woe_p, g.n_pos, g.n_neg,
           coalesce(sum(g.n_neg) OVER (ORDER BY g.woe_p ROWS BETWEEN UNBOUNDED PRECEDING
                                       AND 1 PRECEDING), 0) AS neg_below
    FROM (SELECT s.woe_p,
                 count(*) FILTER (WHERE s.y = 1) AS n_pos,
                 count(*) FILTER (WHERE s.y = 0) AS n_neg
          FROM scored AS s GROUP BY s.woe_p) AS g
)
SELECT (SELECT count(*) FROM scored) AS n_rows,
       (SELECT CASE WHEN sum(b.n_pos) > 0 AND sum(b.n_neg) > 0
                    THEN sum(b.n_pos * (b.neg_below + 0.5 * b.n_neg))::float8
                         / (sum(b.n_pos) * sum(b.n_neg))::float8 END
        FROM by_score AS b) AS auc,
       (SELECT avg((s.woe_p - s.y) * (s.woe_p - s.y)) FROM scored AS s) AS brier
"""
    ).format(table=sql.Identifier(table), where=where)


OOF_METRICS = metrics("woe_oof", sql.SQL("TRUE"))
EVAL_METRICS = metrics("woe_eval_scores", sql.SQL("TRUE"))

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
SELECT {model_key}, NULLIF(c.fit_id, -1), c.c1, c.c2
FROM woe_cuts AS c
ORDER BY c.fit_id
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

INSERT_SCORES = sql.SQL(
    """
INSERT INTO ml.woe_anchor_scores_v1
    (model_key, generation, listing_id, t0, fold_id, is_oof, woe_logit, woe_p)
SELECT {model_key}, o.generation, o.listing_id, o.t0, o.fold_id, true, o.woe_logit, o.woe_p
FROM woe_oof AS o
ORDER BY o.generation, o.listing_id, o.t0
"""
).format(model_key=_param("model_key"))

# The fit's report is kept with the package (not part of code_sha256: it scores nothing).
INSERT_FIT_REPORT = sql.SQL(
    "INSERT INTO ml.woe_anchor_fit_report_v1 (model_key, report) VALUES ({model_key}, {report})"
).format(model_key=_param("model_key"), report=_param("report"))

# The trainer's statements: their text is part of code_sha256.
FIT_STATEMENTS = (
    SLICE_COUNTS, CREATE_DAYS, ANALYZE_DAYS, CREATE_ROWS, CREATE_ASSETS, CREATE_FITS, CREATE_TOTALS, FIT_TOTALS,
    CREATE_CUTS, CREATE_FOLD_SUMS, CREATE_PRESENT_SUMS, CREATE_MAP, ANALYZE_FIT_TABLES, CREATE_OOF,
    CREATE_EVAL_SCORES, OOF_METRICS, EVAL_METRICS, INFORMATION_VALUE,
    LOCK_REGISTRY, DEACTIVATE_ALL, INSERT_REGISTRY, INSERT_CUTS, INSERT_MAP, INSERT_SCORES,
)

"""An independent NumPy implementation of SPEC sections 3-6, for the tests only.

It shares no code and no SQL with harness.train: it reads the raw source rows and recomputes
slices, labels, bands, folds, weights, cuts, maps and out-of-fold scores from the SPEC text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import psycopg

HOUR = 3600.0
DAY = 86400.0
MARKET = ("dsold", "trust", "ship", "sale", "cond", "dmg", "bat")
VISION = ("present", "vdmg", "acc")
BANDS = MARKET + VISION

RAW_SQL = """
SELECT s.generation, s.listing_id, EXTRACT(EPOCH FROM s.t0)::float8,
       s.delta_vs_sold_median_30d, s.condition_score, s.damage_severity_ai,
       s.battery_pct_effective, s.seller_rating, s.review_count, s.member_since_year,
       s.ai_ship_can, s.ai_ship_pickup, s.ai_pickup_only_bin, s.ai_sale_mode_firm,
       s.ai_sale_mode_bids, s.ai_sale_mode_obo,
       v.image_count, v.caption_share, v.stock_photo_share, v.photo_quality_avg, v.bg_clean_avg,
       v.dmg_band_hq_struct, v.charger_bundle_level, v.box_present, v.receipt_present,
       o.final_status, EXTRACT(EPOCH FROM o.sold_time)::float8
FROM src.listing_snapshots_t0 AS s
JOIN src.listing_outcomes AS o USING (generation, listing_id, t0)
LEFT JOIN src.listing_vision_features AS v USING (generation, listing_id)
ORDER BY s.generation, s.listing_id, s.t0
"""


@dataclass
class Row:
    key: tuple[int, int, float]
    t0: float
    slice: str | None
    y: int | None
    label_ts: float | None
    day: int
    has_assets: bool
    score: float | None
    bands: dict[str, str | None]  # present filled per fit


@dataclass
class Fit:
    base_rate: float
    base_logit: float
    cuts: tuple[float, float]
    woe: dict[tuple[str, str], float] = field(default_factory=dict)
    sums: dict[tuple[str, str], tuple[float, float, int]] = field(default_factory=dict)


@dataclass
class Reference:
    rows: list[Row]
    eval_cutoff: float
    folds: dict[int, int]  # day -> fold
    final: Fit
    fold_fits: dict[int, Fit]
    oof: dict[tuple[int, int, float], tuple[int, float]]  # key -> (fold, logit)


def _year(epoch: float) -> int:
    return datetime.fromtimestamp(epoch, UTC).year


def market_bands(r: tuple, t0: float, thresholds: tuple[float, ...]) -> dict[str, str]:
    (dsold, cond, dmg, bat, rating, reviews, member, ship_can, ship_pickup, pickup_only,
     firm, bids, obo) = r
    t1, t2, t3, t4 = thresholds
    if dsold is None:
        b_dsold = "dSold_missing"
    elif dsold <= t1:
        b_dsold = "dSold_cheap"
    elif dsold <= t2:
        b_dsold = "dSold_under"
    elif dsold <= t3:
        b_dsold = "dSold_fair"
    elif dsold <= t4:
        b_dsold = "dSold_over"
    else:
        b_dsold = "dSold_overpriced"
    if (rating is not None and rating >= 9.7 and reviews is not None and reviews >= 50
            and member is not None and member <= _year(t0) - 3):
        trust = "HIGH"
    elif rating is not None and rating >= 9.0 and reviews is not None and reviews >= 10:
        trust = "MED"
    else:
        trust = "LOW"
    ship = ("pickup_heavy" if pickup_only == 1 or ship_pickup == 1
            else "shipping_ok" if ship_can == 1 else "ship_unknown")
    sale = ("firm" if firm == 1 else "bids" if bids == 1 else "obo" if obo == 1
            else "sale_unspec")
    b_cond = ("cond_missing" if cond is None else "cond_hi" if cond >= 0.9
              else "cond_mid" if cond >= 0.7 else "cond_lo")
    b_dmg = ("dmg_missing" if dmg is None else "dmg_0" if dmg < 1 else "dmg_1" if dmg < 2
             else "dmg_2" if dmg < 3 else "dmg_3p")
    b_bat = ("bat_missing" if bat is None else "bat_hi" if bat >= 95
             else "bat_mid" if bat >= 88 else "bat_lo")
    return {"dsold": b_dsold, "trust": trust, "ship": ship, "sale": sale, "cond": b_cond,
            "dmg": b_dmg, "bat": b_bat}


def vision_bands(v: tuple) -> tuple[bool, float | None, dict[str, str | None]]:
    (images, caption, stock, quality, bg, vdmg, charger, box, receipt) = v
    if not (images or 0) > 0:
        return False, None, {"present": None, "vdmg": None, "acc": None}
    score = (0.30 * math.log(1 + images) + 0.25 * (quality or 0.0) + 0.20 * (bg or 0.0)
             + 0.15 * (1 - (stock or 0.0)) + 0.10 * (caption or 0.0))
    b_vdmg = ("vdmg_missing" if vdmg is None else "vdmg_0" if vdmg < 1 else "vdmg_1" if vdmg < 2
              else "vdmg_2" if vdmg < 3 else "vdmg_3p")
    acc = (charger or 0) + int(bool(box)) + int(bool(receipt))
    b_acc = "acc_lo" if acc <= 0 else "acc_mid" if acc < 2 else "acc_hi"
    return True, score, {"present": None, "vdmg": b_vdmg, "acc": b_acc}


def present(score: float | None, cuts: tuple[float, float]) -> str | None:
    if score is None:
        return None
    return "present_lo" if score < cuts[0] else "present_mid" if score < cuts[1] else "present_hi"


def load_rows(conn: psycopg.Connection, eval_cutoff: float | None,
              thresholds: tuple[float, ...]) -> tuple[list[Row], float]:
    raw = conn.execute(RAW_SQL).fetchall()
    conn.rollback()
    sold = [r[26] for r in raw if r[26] is not None]
    cutoff = eval_cutoff if eval_cutoff is not None else max(sold) - 7 * DAY
    rows = []
    for r in raw:
        t0, status, sold_time = r[2], r[25], r[26]
        y = label_ts = None
        if sold_time is not None and sold_time <= cutoff:
            sl = "train_sold"
        elif sold_time is not None and sold_time <= cutoff + 7 * DAY:
            sl = "eval_sold_last_7d"
        elif sold_time is None and status in ("live", "inactive") and cutoff - t0 >= 21 * DAY:
            sl = "censored_ge_21d"
        else:
            sl = None
        if sold_time is not None:
            y = int((sold_time - t0) / HOUR >= 504 or status == "older21days")
            label_ts = t0 + 504 * HOUR if y else sold_time
        has_assets, score, vb = vision_bands(tuple(r[16:25]))
        bands = market_bands(tuple(r[3:16]), t0, thresholds) | vb
        rows.append(Row((r[0], r[1], t0), t0, sl, y, label_ts, math.floor(t0 / DAY),
                        has_assets, score, bands))
    return rows, cutoff


def quantile_cuts(scores: np.ndarray) -> tuple[float, float]:
    if len(scores) == 0:
        return 0.0, 0.0
    if len(scores) < 50:
        m = float(np.quantile(scores, 0.5))
        return m, m
    c1, c2 = np.quantile(scores, [1 / 3, 2 / 3])
    return float(c1), float(c2)


def fit_rows(rows: list[Row], w_raw: np.ndarray, eps: float, cuts: tuple[float, float]) -> Fit:
    w = w_raw / w_raw.mean()
    y = np.array([r.y for r in rows])
    assets = np.array([r.has_assets for r in rows], dtype=bool)
    tp, tn = w[y == 1].sum(), w[y == 0].sum()
    base_rate = tp / (tp + tn)
    fit = Fit(base_rate, math.log(base_rate / (1 - base_rate)), cuts)
    vp, vn = w[(y == 1) & assets].sum(), w[(y == 0) & assets].sum()
    for band in BANDS:
        vis = band in VISION
        if vis and not (vp > 0 and vn > 0):
            continue
        total_p, total_n = (vp, vn) if vis else (tp, tn)
        values: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            value = present(r.score, fit.cuts) if band == "present" else r.bands[band]
            if value is not None:
                values.setdefault(value, []).append(i)
        for value, idx in values.items():
            ix = np.array(idx)
            sp = float(w[ix][y[ix] == 1].sum())
            sn = float(w[ix][y[ix] == 0].sum())
            fit.sums[(band, value)] = (sp, sn, len(idx))
            fit.woe[(band, value)] = math.log(((sp + eps) / total_p) / ((sn + eps) / total_n))
    return fit


def score(fit: Fit, row: Row) -> float:
    """Final-mapping style score, summed in the order of ml.woe_anchor_logit_v1."""
    total = fit.base_logit
    for band in BANDS:
        value = present(row.score, fit.cuts) if band == "present" else row.bands[band]
        total += fit.woe.get((band, value), 0.0) if value is not None else 0.0
    return total


def reference(conn: psycopg.Connection, *, n_folds: int = 5, eps: float = 0.5,
              half_life_days: float = 90.0, eval_cutoff: float | None = None,
              thresholds: tuple[float, ...] = (-0.15, -0.05, 0.05, 0.15),
              oof: bool = True) -> Reference:
    rows, cutoff = load_rows(conn, eval_cutoff, thresholds)
    train = [r for r in rows if r.slice == "train_sold"]
    ref_ts = max(r.label_ts for r in train)
    w_raw = np.array([0.5 ** (max(0.0, (ref_ts - r.label_ts) / DAY) / half_life_days)
                      for r in train])
    days = sorted({r.day for r in train})
    folds = {d: i * n_folds // len(days) for i, d in enumerate(days)}
    # SPEC 4: the cuts come from the training rows with assets; SPEC 6: the fold fits reuse
    # them ("same thresholds, same cuts, same ref_ts").
    cuts = quantile_cuts(np.array([r.score for r in train if r.has_assets], dtype=float))
    final = fit_rows(train, w_raw, eps, cuts)
    fold_fits, oof_scores = {}, {}
    if oof:
        fold_of = np.array([folds[r.day] for r in train])
        for k in range(n_folds):
            keep = fold_of != k
            fk = fit_rows([r for r, m in zip(train, keep) if m], w_raw[keep], eps, cuts)
            fold_fits[k] = fk
            for r, m in zip(train, keep):
                if not m:
                    oof_scores[r.key] = (k, score(fk, r))
    return Reference(rows, cutoff, folds, final, fold_fits, oof_scores)


def auc_and_brier(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """AUC by mid-ranks (a tie between a positive and a negative counts one half) and the
    Brier score (mean squared error of p against y)."""
    _values, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    mid_ranks = (np.cumsum(counts) - counts + 1) + (counts - 1) / 2.0
    ranks = mid_ranks[inverse]
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    auc = (ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return float(auc), float(np.mean((p - y) ** 2))

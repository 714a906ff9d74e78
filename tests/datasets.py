"""Small hand-shaped source datasets for the trainer tests (edge cases the synth data lacks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg

BASE = datetime(2024, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Shape:
    n: int = 400
    n_days: int = 40
    asset_rate: float = 0.7
    seed: int = 0
    single_row_day: bool = False  # one extra day holding exactly one training row
    one_class_value: bool = False  # dsold NULL (dSold_missing) only on slow rows
    negative_last_days: int = 0  # the last days' rows are all fast (a fold with no positives)
    positive_only_last_days: int = 0  # only the last days' rows can be slow (the other folds'
                                      # fit has no positives)
    slow_rate: float = 0.3


def _maybe(rng: np.random.Generator, p_null: float, value):
    return None if rng.random() < p_null else value


def load(conn: psycopg.Connection, shape: Shape) -> None:
    """Replace src.* with a dataset of the given shape (all sold, plus a few censored rows)."""
    rng = np.random.default_rng(shape.seed)
    conn.execute("TRUNCATE src.listing_outcomes, src.listing_vision_features, "
                 "src.listing_snapshots_t0")
    snaps, vision, outcomes = [], [], []
    days = [int(d) for d in rng.integers(0, shape.n_days, shape.n)]
    if shape.single_row_day:
        days.append(shape.n_days + 3)
    for i, day in enumerate(days, start=1):
        t0 = BASE + timedelta(days=day, seconds=int(rng.integers(0, 86400)))
        slow = rng.random() < shape.slow_rate
        if shape.negative_last_days and day >= shape.n_days - shape.negative_last_days:
            slow = False
        if shape.positive_only_last_days and day < shape.n_days - shape.positive_only_last_days:
            slow = False
        dsold = _maybe(rng, 0.1, float(np.round(rng.uniform(-0.3, 0.3), 3)))
        if shape.one_class_value:
            dsold = None if slow and rng.random() < 0.3 else float(rng.uniform(-0.3, 0.3))
        snaps.append((
            1, i, t0, dsold, _maybe(rng, 0.1, float(rng.random())),
            _maybe(rng, 0.2, float(4 * rng.random() ** 2)),
            _maybe(rng, 0.3, float(75 + 25 * rng.random())),
            _maybe(rng, 0.05, float(np.round(8 + 2 * rng.random(), 2))),
            _maybe(rng, 0.05, int(rng.integers(0, 200))),
            _maybe(rng, 0.1, int(rng.integers(2005, 2025))),
            *[_maybe(rng, 0.05, int(rng.random() < p)) for p in (0.6, 0.1, 0.15, 0.3, 0.2, 0.4)],
        ))
        if rng.random() < shape.asset_rate:
            vision.append((
                1, i, int(rng.integers(1, 12)), _maybe(rng, 0.1, float(rng.random())),
                _maybe(rng, 0.1, float(rng.random())), _maybe(rng, 0.1, float(rng.random())),
                _maybe(rng, 0.1, float(rng.random())),
                _maybe(rng, 0.1, float(4 * rng.random() ** 2)),
                _maybe(rng, 0.1, int(rng.integers(0, 3))), _maybe(rng, 0.1, bool(rng.random() < .5)),
                _maybe(rng, 0.1, bool(rng.random() < .3)),
            ))
        hours = float(rng.uniform(504, 900)) if slow else float(rng.uniform(1, 503))
        outcomes.append((1, i, t0, "sold", t0 + timedelta(hours=hours)))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO src.listing_snapshots_t0 VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", snaps)
        cur.executemany(
            "INSERT INTO src.listing_vision_features VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", vision)
        cur.executemany(
            "INSERT INTO src.listing_outcomes (generation, listing_id, t0, final_status, "
            "sold_time) VALUES (%s, %s, %s, %s, %s)", outcomes)
    conn.commit()


def eval_cutoff_after_everything() -> datetime:
    """A cutoff later than every sale of any Shape: all sold rows train."""
    return BASE + timedelta(days=400)

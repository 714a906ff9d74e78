"""Concurrent readers of the guarded view, shared by tests/test_load.py and bench/bench_load.py.

Each reader runs a query that returns ``(array_agg(DISTINCT model_key), count(*))`` over many
rows and classifies its outcome: the rows of one package, a fail-closed refusal by the guard,
or a mix of packages (which must never happen). A reader stops by itself: after the first query
it starts once ``stop`` is set, or after ``max_queries``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from tests.roles import READER, as_role

WHOLE_VIEW = ("SELECT array_agg(DISTINCT model_key), count(*) "
              "FROM ml.woe_anchor_scores_live_train_v")


@dataclass(frozen=True)
class Outcome:
    keys: tuple[str, ...] | None  # None: refused by the guard
    rows: int
    seconds: float
    refusal: str | None = None

    @property
    def mixed(self) -> bool:
        return self.keys is not None and len(self.keys) > 1


def read_until(url: str, stop: threading.Event, *, query: str = WHOLE_VIEW,
               params: Callable[[int], tuple] = lambda _i: (),
               started: threading.Barrier | None = None,
               max_queries: int = 100_000, role: str = READER) -> list[Outcome]:
    """Query as `role` until stopped; `started` is passed once the first query is done."""
    outcomes: list[Outcome] = []
    with as_role(url, role, autocommit=True) as conn:
        for i in range(max_queries):
            last = stop.is_set()
            t = time.perf_counter()
            try:
                keys, rows = conn.execute(query, params(i)).fetchone()
                outcomes.append(Outcome(tuple(keys or ()), rows, time.perf_counter() - t))
            except psycopg.errors.InsufficientPrivilege as e:
                outcomes.append(Outcome(None, 0, time.perf_counter() - t,
                                        e.diag.message_primary))
            if i == 0 and started is not None:
                started.wait()
            if last:
                break
    return outcomes

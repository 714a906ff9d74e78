"""Reduced load test: concurrent readers of the guarded view while a new package is trained,
activated and certified. Every query returns the rows of exactly one package (all of them) or a
fail-closed refusal, never a mix. Full figures: bench/bench_load.py, bench/RESULTS.md."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg

from harness import certify, synth, train
from tests.load import read_until
from tests.roles import CERTIFIER, TRAINER, as_role

READERS = 6
ROWS = 2000


def test_readers_see_one_package_or_a_refusal_while_a_package_is_switched(make_database):
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        synth.fill(c, ROWS, seed=12)
        train.fit(c, train.FitOptions(n_folds=3, model_key="pkg_old"), log=lambda _m: None)
    certify.baseline(url)
    certify.run(url)

    stop = threading.Event()
    started = threading.Barrier(READERS + 1)
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        readers = [pool.submit(read_until, url, stop, started=started, max_queries=20_000)
                   for _ in range(READERS)]
        try:
            started.wait(timeout=120)  # every reader has been served pkg_old once
            with as_role(url, TRAINER) as trainer:
                train.fit(trainer, train.FitOptions(n_folds=3, model_key="pkg_new"),
                          log=lambda _m: None)
            with as_role(url, CERTIFIER, autocommit=True) as certifier:
                certify.baseline(certifier)
                assert {r.status for r in certify.run(certifier)} == {"CERTIFIED"}
        finally:
            stop.set()
        per_reader = [r.result(timeout=120) for r in readers]

    for outcomes in per_reader:
        assert not [o for o in outcomes if o.mixed]
        assert {o.keys for o in outcomes} <= {("pkg_old",), ("pkg_new",), None}
        assert all(o.rows == ROWS for o in outcomes if o.keys)  # whole package, never partial
        # refused between activation and baseline (the package changed) and between baseline
        # and run (the baseline demotes the registry until a run has checked it)
        assert all("PACKAGE CHANGED" in o.refusal
                   or ("NOT CERTIFIED" in o.refusal and "baseline re-recorded" in o.refusal)
                   for o in outcomes if o.keys is None)
        assert outcomes[0].keys == ("pkg_old",) and outcomes[-1].keys == ("pkg_new",)

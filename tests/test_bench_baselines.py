"""The baselines of bench/bench_train.py compute the package the trainer persisted.

bench/RESULTS.md reports the trainer's speed as a ratio to these baselines; the ratio only
means something if both produce the same OOF scores. bench_train checks that on every run
(untimed); these tests keep that check, and the baselines, honest in CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import pytest

from harness import synth, train

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import bench_train


def _trained_database(make_database, options: train.FitOptions) -> tuple[str, train.Report]:
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as conn:
        synth.fill(conn, 3000, seed=7)
        return url, train.fit(conn, options, log=lambda _m: None)


@pytest.fixture(scope="module")
def trained(make_database) -> tuple[str, train.Report]:
    return _trained_database(make_database, train.FitOptions())


@pytest.mark.parametrize("bands", sorted(bench_train.BASELINES))
def test_baseline_reproduces_the_active_package(trained, bands):
    url, report = trained
    result = bench_train.run_baseline(url, bands)
    check = result["vs_sql_package"]
    assert result["train_rows"] == report.rows["train_sold"] > 0
    assert check["rows"] == report.rows["train_sold"]
    assert check["fold_mismatches"] == 0
    assert check["max_abs_logit_diff"] <= 1e-9


def test_baseline_refuses_a_package_it_did_not_compute(make_database):
    # The baselines fit with eps 0.5; a package fitted with another eps has other scores, and
    # the agreement check must stop the benchmark rather than report a ratio.
    url, _report = _trained_database(make_database, train.FitOptions(eps=2.0))
    with pytest.raises(SystemExit, match="disagrees with the sql package"):
        bench_train.run_baseline(url, "pandas")

"""The baselines of bench/bench_train.py compute the package the trainer persisted.

bench/RESULTS.md reports the trainer's speed as a ratio to these baselines; the ratio only
means something if both produce the same OOF scores. bench_train checks that on every run
(untimed); these tests keep that check, and the baselines, honest in CI.
"""

from __future__ import annotations

import json
import statistics
import subprocess
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


def test_rounds_bracket_each_baseline_by_sql_fits_and_summarise(admin_url):
    # --rounds 2: sql, baseline, sql, baseline, sql; each ratio against the two sql fits
    # around its round, and a summary of exactly those ratios.
    done = subprocess.run(
        [sys.executable, bench_train.__file__, "--admin-url", admin_url, "--rows", "2000",
         "--baselines", "pandas", "--rounds", "2"],
        check=True, capture_output=True, text=True)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    sql_walls = [line["wall_s"] for line in lines if line.get("mode") == "sql"]
    bases = [line for line in lines if line.get("mode") == "baseline (pandas bands)"]
    ratios = [line for line in lines if "speedup_baseline_over_sql" in line]
    (summary,) = [line for line in lines if "speedups" in line]
    assert len(sql_walls) == 3 and len(bases) == 2 and len(ratios) == 2
    for k, (base, ratio) in enumerate(zip(bases, ratios, strict=True)):
        bracket = sql_walls[k:k + 2]
        assert ratio["sql_wall_s"] == bracket
        assert ratio["speedup_baseline_over_sql"] == round(base["wall_s"] / (sum(bracket) / 2), 1)
    values = [r["speedup_baseline_over_sql"] for r in ratios]
    assert summary["speedups"] == values and summary["rounds"] == 2
    assert summary["median"] == statistics.median(values)
    assert (summary["min"], summary["max"]) == (min(values), max(values))

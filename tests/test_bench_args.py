"""The bench scripts refuse a count below 1 before they touch a database (exit 2, naming the
option): a zero --repeat would divide by nothing later, a zero --rows would build nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"

COUNTS = [
    ("bench_train.py", "--rows"), ("bench_train.py", "--rounds"),
    ("bench_certify.py", "--listings"), ("bench_certify.py", "--repeat"),
    ("bench_certify.py", "--guard-pairs"),
    ("bench_load.py", "--rows"), ("bench_load.py", "--clients"), ("bench_load.py", "--seconds"),
    ("bench_ingest.py", "--listings"), ("bench_ingest.py", "--rows"), ("bench_ingest.py", "--rounds"),
]


@pytest.mark.parametrize("value", ["0", "-3", "two"])
@pytest.mark.parametrize(("script", "option"), COUNTS)
def test_counts_must_be_positive_whole_numbers(script, option, value):
    done = subprocess.run([sys.executable, str(BENCH / script), f"{option}={value}"],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert option in done.stderr and "Traceback" not in done.stderr
    expected = "not a whole number" if value == "two" else f"must be at least 1, not {value}"
    assert expected in done.stderr

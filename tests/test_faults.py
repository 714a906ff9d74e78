"""Faults with a real second connection: a killed trainer, a killed certification, and a
certification that runs while a trainer activates a new package.

Each fault is placed precisely: a second session holds a lock on a table the victim touches
only at the point of interest, the test waits until the victim is blocked on that session
(pg_blocking_pids), then acts (pg_terminate_backend, or a concurrent trainer) and releases.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql

from harness import certify, synth, train
from tests.packages import insert_package, insert_source
from tests.roles import CERTIFIER, READER, TRAINER, as_role

ENTRYPOINT = "ml.woe_anchor_feature_store_t0_v1_v"
ALIASES = ("ml.woe_anchor_scores_live_train_v", "ml.woe_anchor_scores_live_v1")
GUARDED = "SELECT DISTINCT model_key FROM ml.woe_anchor_scores_live_train_v"
QUIET = {"log": lambda _m: None}


@contextmanager
def holding(url: str, table: str, mode: str = "ACCESS EXCLUSIVE") -> Iterator[psycopg.Connection]:
    """A session holding a `mode` lock on `table` until the block ends (then it rolls back)."""
    with psycopg.connect(url) as holder:
        holder.execute(sql.SQL("LOCK TABLE {} IN {} MODE").format(
            sql.Identifier(*table.split(".")), sql.SQL(mode)))
        yield holder
        holder.rollback()


def wait_blocked(admin: psycopg.Connection, victim: int, holder: int) -> str:
    """Wait (bounded) until `victim` waits for a lock `holder` holds; return its statement."""
    for _ in range(1200):
        row = admin.execute("SELECT %s = ANY(pg_blocking_pids(%s)), query "
                            "FROM pg_stat_activity WHERE pid = %s", (holder, victim, victim)
                            ).fetchone()
        if row and row[0]:
            return row[1]
        time.sleep(0.05)
    raise AssertionError(f"backend {victim} never blocked on {holder}")


def in_thread(fn: Callable[[], object]) -> Future:
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(fn)
    pool.shutdown(wait=False)
    return future


def served(url: str) -> list[tuple]:
    with as_role(url, READER) as c:
        return c.execute(GUARDED).fetchall()


def registry(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as c:
        return {r[0]: r[1:] for r in c.execute(
            "SELECT entrypoint, status, certified_model_key FROM audit.t0_cert_registry")}


def store_with_certified_pkg_old(make_database, seed: int) -> str:
    """A fresh database with 2000 synthetic listings and package pkg_old trained and certified."""
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        synth.fill(c, 2000, seed=seed)
        train.fit(c, train.FitOptions(n_folds=3, model_key="pkg_old"), **QUIET)
    certify.baseline(url)
    certify.run(url)
    return url


def test_killing_the_trainer_mid_persist_leaves_no_partial_package(make_database):
    url = store_with_certified_pkg_old(make_database, seed=8)
    assert served(url) == [("pkg_old",)]

    with (psycopg.connect(url, autocommit=True) as admin,
          as_role(url, TRAINER) as trainer,
          # Blocks attaching a partition, not reading or creating a table like the parent.
          holding(url, "ml.woe_anchor_scores_v1", "SHARE UPDATE EXCLUSIVE") as holder):
        fit = in_thread(lambda: train.fit(
            trainer, train.FitOptions(n_folds=3, model_key="pkg_new"), **QUIET))
        statement = wait_blocked(admin, trainer.info.backend_pid, holder.info.backend_pid)
        # Registry, cuts, map and the OOF score rows are written; sealing them is the last step.
        assert "woe_anchor_scores_seal_v1('pkg_new')" in statement
        assert served(url) == [("pkg_old",)]  # readers are not blocked meanwhile
        admin.execute("SELECT pg_terminate_backend(%s)", (trainer.info.backend_pid,))
        with pytest.raises(psycopg.OperationalError):
            fit.result(timeout=60)
    with psycopg.connect(url) as c:
        for table in ("model_registry_v1", "cuts_v1", "map_v1", "scores_v1"):
            assert c.execute(sql.SQL("SELECT count(*) FROM {} WHERE model_key = 'pkg_new'").format(
                sql.Identifier("ml", f"woe_anchor_{table}"))).fetchone() == (0,)
        assert c.execute("SELECT model_key FROM ml.woe_anchor_model_registry_v1 WHERE is_active"
                         ).fetchall() == [("pkg_old",)]
        assert c.execute("SELECT to_regclass('ml.' || ml.woe_anchor_scores_partition_v1("
                         "'pkg_new'))").fetchone() == (None,)  # nor its scores table
    assert served(url) == [("pkg_old",)]


@pytest.fixture
def failed_then_baselined(make_database) -> str:
    """pkg_a certified, then pkg_b activated: its first run FAILED (dataset drift), then the
    new data was baselined, so the next run would certify pkg_b."""
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        insert_source(c, 300)
        insert_package(c, "pkg_a")
    certify.baseline(url)
    certify.run(url)
    with psycopg.connect(url) as c:
        insert_package(c, "pkg_b")
    assert [r.status for r in certify.run(url, ENTRYPOINT)] == ["FAILED"]
    certify.baseline(url, ENTRYPOINT)
    return url


@pytest.mark.parametrize("blocked_on", ["audit.t0_dataset_hash_baseline",  # mid-checks
                                        "audit.t0_cert_run_history"])  # mid-write of outcome
def test_killing_a_certification_run_never_leaves_certified(failed_then_baselined, blocked_on):
    url = failed_then_baselined
    before = registry(url)
    assert before[ENTRYPOINT] == ("FAILED", "pkg_b")
    with psycopg.connect(url, autocommit=True) as admin:
        runs = admin.execute("SELECT count(*) FROM audit.t0_cert_run_history").fetchone()
        with (as_role(url, CERTIFIER, autocommit=True) as certifier,
              holding(url, blocked_on) as holder):
            run = in_thread(lambda: certify.run(certifier, ENTRYPOINT))
            wait_blocked(admin, certifier.info.backend_pid, holder.info.backend_pid)
            admin.execute("SELECT pg_terminate_backend(%s)", (certifier.info.backend_pid,))
            with pytest.raises(psycopg.OperationalError):
                run.result(timeout=60)
        assert admin.execute("SELECT count(*) FROM audit.t0_cert_run_history").fetchone() == runs
    assert registry(url) == before
    assert all(registry(url)[name][0] == "FAILED" for name in (ENTRYPOINT, *ALIASES))
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="NOT CERTIFIED"):
        served(url)
    # The kill, not the data, stopped it: an undisturbed run certifies pkg_b.
    assert [(r.status, r.model_key) for r in certify.run(url, ENTRYPOINT)] == [
        ("CERTIFIED", "pkg_b")]
    assert served(url) == [("pkg_b",)]


def test_certification_reads_one_snapshot_while_a_trainer_activates(make_database):
    url = store_with_certified_pkg_old(make_database, seed=9)

    with (psycopg.connect(url, autocommit=True) as admin,
          as_role(url, CERTIFIER, autocommit=True) as certifier):
        with holding(url, "audit.t0_dataset_hash_baseline") as holder:
            run = in_thread(lambda: certify.run(certifier, ENTRYPOINT))
            # Blocked before hashing: the model key is read, the dataset not yet hashed.
            wait_blocked(admin, certifier.info.backend_pid, holder.info.backend_pid)
            with as_role(url, TRAINER) as trainer:
                train.fit(trainer, train.FitOptions(n_folds=3, model_key="pkg_new"), **QUIET)
        [result] = run.result(timeout=120)
    # The run certified the package of its snapshot, and hashed that package's rows: the
    # dataset check passed against the baseline taken under pkg_old ...
    assert (result.status, result.model_key) == ("CERTIFIED", "pkg_old")
    assert {c.name: c.ok for c in result.checks}["dataset_drift"]
    # ... whereas the rows as they are now (pkg_new active) differ from that baseline.
    [now] = certify.check(url, ENTRYPOINT)
    assert now.model_key == "pkg_new"
    assert {c.name: c.ok for c in now.checks}["dataset_drift"] is False
    # The guard fails closed until pkg_new is certified.
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="PACKAGE CHANGED"):
        served(url)

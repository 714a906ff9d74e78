"""Package guarantees of harness.train: immutability, serialised concurrent trainers, bad input
rejected with nothing persisted, activation/rollback and the CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime

import psycopg
import pytest

from harness import synth, train
from tests import datasets
from tests.conftest import ROOT

ARTIFACTS = ("ml.woe_anchor_model_registry_v1", "ml.woe_anchor_cuts_v1", "ml.woe_anchor_map_v1",
             "ml.woe_anchor_scores_v1")
QUIET = {"log": lambda _m: None}


@pytest.fixture
def url(make_database) -> str:
    fresh = make_database(migrate_to="head")
    with psycopg.connect(fresh) as c:
        synth.fill(c, 600, seed=3)
    return fresh


def counts(conn) -> dict[str, int]:
    result = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ARTIFACTS}
    result["active"] = conn.execute(
        "SELECT count(*) FROM ml.woe_anchor_model_registry_v1 WHERE is_active").fetchone()[0]
    conn.rollback()
    return result


@pytest.mark.parametrize("statement", [
    "UPDATE ml.woe_anchor_map_v1 SET woe = woe + 1 WHERE model_key = %(k)s",
    "DELETE FROM ml.woe_anchor_map_v1 WHERE model_key = %(k)s",
    "UPDATE ml.woe_anchor_scores_v1 SET woe_logit = 0 WHERE model_key = %(k)s",
    "DELETE FROM ml.woe_anchor_scores_v1 WHERE model_key = %(k)s",
    "UPDATE ml.woe_anchor_cuts_v1 SET c1 = c1 - 1 WHERE model_key = %(k)s",
    "DELETE FROM ml.woe_anchor_cuts_v1 WHERE model_key = %(k)s",
    "UPDATE ml.woe_anchor_model_registry_v1 SET base_logit = 0 WHERE model_key = %(k)s",
    "DELETE FROM ml.woe_anchor_model_registry_v1 WHERE model_key = %(k)s",
    ("INSERT INTO ml.woe_anchor_map_v1 (model_key, fold_id, band_name, band_value, woe) "
     "VALUES (%(k)s, NULL, 'dsold', 'dSold_new', 1.0)"),
])
def test_committed_package_refuses_change(url, statement):
    with psycopg.connect(url) as conn:
        report = train.fit(conn, train.FitOptions(), **QUIET)
        before = counts(conn)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="immutable|committed"):
            conn.execute(statement, {"k": report.model_key})
        conn.rollback()
        assert counts(conn) == before


def _waiting_on_lock(conn, n: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE 'LOCK TABLE ml.woe_anchor%%'"
        ).fetchone()[0]
        if waiting >= n:
            return True
        time.sleep(0.05)
    return False


def test_concurrent_trainers_serialise_and_both_packages_are_complete(url):
    results: dict[str, train.Report] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            with psycopg.connect(url) as c:
                results[name] = train.fit(c, train.FitOptions(model_key=f"woe_conc_{name}"),
                                          **QUIET)
        except (psycopg.Error, train.TrainError) as exc:  # reported by the main thread
            errors.append(exc)

    with (psycopg.connect(url, autocommit=True) as blocker,
          psycopg.connect(url, autocommit=True) as observer):
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE ml.woe_anchor_model_registry_v1 IN SHARE ROW EXCLUSIVE MODE")
        threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        assert _waiting_on_lock(observer, 2), "both trainers should wait for the registry lock"
        assert counts(observer)["ml.woe_anchor_model_registry_v1"] == 0
        blocker.execute("COMMIT")
        for t in threads:
            t.join(120)
    assert not errors, errors
    with psycopg.connect(url) as conn:
        c = counts(conn)
        assert c["active"] == 1
        n_train = results["a"].rows["train_sold"]
        for key in ("woe_conc_a", "woe_conc_b"):
            per = conn.execute(
                """
                SELECT (SELECT count(*) FROM ml.woe_anchor_cuts_v1 WHERE model_key = %(k)s),
                       (SELECT count(DISTINCT coalesce(fold_id, -1)) FROM ml.woe_anchor_map_v1
                        WHERE model_key = %(k)s),
                       (SELECT count(*) FROM ml.woe_anchor_scores_v1 WHERE model_key = %(k)s)
                """, {"k": key}).fetchone()
            assert per == (6, 6, n_train), key
        active = conn.execute("SELECT model_key FROM ml.woe_anchor_model_registry_v1 "
                              "WHERE is_active").fetchone()[0]
        assert active in ("woe_conc_a", "woe_conc_b")


@pytest.mark.parametrize("options, message", [
    (train.FitOptions(eps=0.0), "woe-eps"),
    (train.FitOptions(eps=-1.0), "woe-eps"),
    (train.FitOptions(n_folds=0), "woe-folds"),
    (train.FitOptions(n_folds=1), "woe-folds >= 2"),
    (train.FitOptions(n_folds=10_000), "exceeds the .* distinct training days"),
    (train.FitOptions(dsold_thresholds=(-0.1, -0.2, 0.0, 0.1)), "strictly increasing"),
    (train.FitOptions(dsold_thresholds=(0.0, 0.0, 0.1, 0.2)), "strictly increasing"),
    (train.FitOptions(half_life_days=0.0), "half-life"),
    (train.FitOptions(band_schema_version=2), "band schema version"),
    (train.FitOptions(model_key="bad key!"), "model-key"),
    (train.FitOptions(model_key="woe_key\n"), "model-key"),  # a trailing newline too
    (train.FitOptions(n_folds=2.5), "woe-folds must be an integer"),
    (train.FitOptions(eps=1e-301), "woe-eps must be a finite number >= 1e-300"),
    (train.FitOptions(half_life_days=1e-301), "half-life-days must be a finite number >= 1e-300"),
    # every weight of the fold fits (not of the final fit: its newest row weighs 1) underflows
    (train.FitOptions(half_life_days=1e-6), "weight 0 .* --half-life-days 1e-06 is too short"),
    (train.FitOptions(eval_cutoff=datetime(2023, 1, 1, tzinfo=UTC)), "no training rows"),
])
def test_bad_options_are_refused_and_nothing_is_persisted(url, options, message):
    with psycopg.connect(url) as conn:
        train.fit(conn, train.FitOptions(), **QUIET)
        before = counts(conn)
        with pytest.raises(train.TrainError, match=message):
            train.fit(conn, options, **QUIET)
        assert counts(conn) == before


def test_rows_committed_during_a_fit_are_not_half_included(url, monkeypatch):
    # A training row committed by another session while the fit runs (after the slice counts
    # and fold starts were read, before the rows are banded) must be in all of the package or
    # in none of it: the fit reads one snapshot.
    from harness import train_sql

    def copy_a_training_row() -> None:
        with psycopg.connect(url) as other:
            other.execute(
                """
                CREATE TEMP TABLE pick AS
                SELECT l.generation, l.listing_id, l.t0
                FROM ml.woe_anchor_slices_v1(ml.woe_anchor_default_eval_cutoff_v1()) AS l
                WHERE l.slice = 'train_sold' ORDER BY l.t0, l.listing_id LIMIT 1 OFFSET 100;
                CREATE TEMP TABLE s AS SELECT x.* FROM src.listing_snapshots_t0 AS x JOIN pick USING (generation, listing_id, t0);
                CREATE TEMP TABLE o AS SELECT x.* FROM src.listing_outcomes AS x JOIN pick USING (generation, listing_id, t0);
                UPDATE s SET listing_id = listing_id + 10000000;
                UPDATE o SET listing_id = listing_id + 10000000;
                INSERT INTO src.listing_snapshots_t0 SELECT * FROM s;
                INSERT INTO src.listing_outcomes (generation, listing_id, t0, final_status, sold_time)
                SELECT generation, listing_id, t0, final_status, sold_time FROM o;
                """)

    real_execute = psycopg.ClientCursor.execute

    def execute(self, query, params=None, **kw):
        if query is train_sql.CREATE_ROWS:
            copy_a_training_row()
        return real_execute(self, query, params, **kw)

    monkeypatch.setattr(psycopg.ClientCursor, "execute", execute)
    with psycopg.connect(url) as conn:
        report = train.fit(conn, train.FitOptions(), **QUIET)
        scored = conn.execute("SELECT count(*), count(*) FILTER (WHERE listing_id > 10000000) "
                              "FROM ml.woe_anchor_scores_v1 WHERE model_key = %s",
                              (report.model_key,)).fetchone()
        copied = conn.execute("SELECT count(*) FROM src.listing_outcomes "
                              "WHERE listing_id > 10000000").fetchone()[0]
    assert copied == 1  # the other session did commit its row during the fit
    assert scored == (report.rows["train_sold"], 0)


def test_a_fold_fit_with_one_class_is_refused_and_nothing_is_persisted(url):
    # Every slow row is in the last fold (days 32-39 of 40): the fit for that fold, on the
    # other folds, has no positives, though the training set as a whole has both classes.
    with psycopg.connect(url) as conn:
        datasets.load(conn, datasets.Shape(positive_only_last_days=8, slow_rate=0.5))
        before = counts(conn)
        options = train.FitOptions(eval_cutoff=datasets.eval_cutoff_after_everything())
        with pytest.raises(train.TrainError,
                           match=r"the fit for fold 4 .* has only one class; use fewer --woe-folds"):
            train.fit(conn, options, **QUIET)
        assert counts(conn) == before
        report = train.fit(conn, replace(options, oof=False), **QUIET)  # one fit: both classes
        assert report.persisted and report.base_rate > 0


def test_bad_data_is_refused_and_nothing_is_persisted(url):
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE src.listing_outcomes, src.listing_vision_features, "
                     "src.listing_snapshots_t0")
        conn.commit()
        with pytest.raises(train.TrainError, match="no training rows"):
            train.fit(conn, train.FitOptions(), **QUIET)
        datasets.load(conn, datasets.Shape(slow_rate=0.0))
        with pytest.raises(train.TrainError, match="only one class"):
            train.fit(conn, train.FitOptions(), **QUIET)
        datasets.load(conn, datasets.Shape(slow_rate=1.0))
        with pytest.raises(train.TrainError, match="only one class"):
            train.fit(conn, train.FitOptions(), **QUIET)
        assert counts(conn) == dict.fromkeys([*ARTIFACTS, "active"], 0)
        # A sale before t0 (negative duration) never reaches the trainer: the contract refuses it.
        with pytest.raises(psycopg.errors.CheckViolation, match="sold_time"):
            conn.execute("UPDATE src.listing_outcomes SET sold_time = t0 - interval '1 hour' "
                         "WHERE listing_id = 1")
        conn.rollback()


def test_disable_persist_and_no_activate(url):
    with psycopg.connect(url) as conn:
        report = train.fit(conn, train.FitOptions(persist=False), **QUIET)
        assert report.model_key is None and not report.persisted
        assert counts(conn) == dict.fromkeys([*ARTIFACTS, "active"], 0)
        first = train.fit(conn, train.FitOptions(), **QUIET)
        second = train.fit(conn, train.FitOptions(activate=False), **QUIET)
        active = [p.model_key for p in train.list_packages(conn) if p.is_active]
        assert active == [first.model_key] and not second.active
        no_oof = train.fit(conn, train.FitOptions(oof=False), **QUIET)
        # the registry keeps n_folds as set; the listing says which packages have OOF scores
        assert {p.model_key: (p.n_folds, p.oof) for p in train.list_packages(conn)} == {
            first.model_key: (5, True), second.model_key: (5, True),
            no_oof.model_key: (5, False)}


def test_activate_rolls_back_to_an_earlier_package(url):
    with psycopg.connect(url) as conn:
        old = train.fit(conn, train.FitOptions(model_key="woe_old"), **QUIET)
        new = train.fit(conn, train.FitOptions(model_key="woe_new"), **QUIET)
        assert [p.model_key for p in train.list_packages(conn) if p.is_active] == [new.model_key]
        train.activate(conn, old.model_key)
        assert [p.model_key for p in train.list_packages(conn) if p.is_active] == ["woe_old"]
        live = conn.execute("SELECT DISTINCT model_key FROM ml.woe_anchor_scores_live_v1"
                            ).fetchall()
        conn.rollback()
        assert live == [("woe_old",)]
        with pytest.raises(train.TrainError, match="no package"):
            train.activate(conn, "woe_missing")


def _cli(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.train", *args, "--database-url", url],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_cli_fit_logs_persistence_and_prints_json_report(url):
    done = _cli(url, "fit", "--json", "--model-key", "woe_cli", "--woe-folds", "4")
    assert done.returncode == 0, done.stderr
    assert "[db] persisted WOE anchor artifacts v1: model_key=woe_cli (active=True)" in done.stderr
    assert "[woe] persisted WOE anchor artifacts to Postgres" in done.stderr
    report = json.loads(done.stdout)
    assert report["model_key"] == "woe_cli" and report["n_folds"] == 4
    assert set(report["information_value"]) == {
        "dsold", "trust", "ship", "sale", "cond", "dmg", "bat", "present", "vdmg", "acc"}
    assert 0.5 < report["oof_auc"] <= 1 and 0 < report["oof_brier"] < 0.25
    listed = _cli(url, "list", "--json")
    assert json.loads(listed.stdout)[0]["model_key"] == "woe_cli"


def test_cli_bad_input_exits_non_zero_with_a_clear_message(url):
    done = _cli(url, "fit", "--dsold-thresholds", "0.1,0,0.2,0.3")
    assert done.returncode == 2
    assert "strictly increasing" in done.stderr and "nothing persisted" in done.stderr
    assert done.stdout == ""

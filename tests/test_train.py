"""harness.train against an independent NumPy implementation of SPEC 3-6, plus the planted
effects of harness.synth, out-of-fold independence and live-score consistency."""

from __future__ import annotations

import math

import numpy as np
import psycopg
import pytest

from harness import db, synth, train
from tests import datasets, numpy_woe
from tests.conftest import upgrade
from tests.postgres15 import pg15_admin_url  # noqa: F401 - fixture

TOL = 1e-9


@pytest.fixture(scope="module")
def url(make_database) -> str:
    return make_database(migrate_to="head")


@pytest.fixture
def conn(url):
    with psycopg.connect(url) as c:
        yield c


def persisted(conn: psycopg.Connection, key: str):
    reg = conn.execute(
        "SELECT base_rate, base_logit, n_folds, eps, half_life_days, dsold_t1, dsold_t2, "
        "dsold_t3, dsold_t4, code_sha256 FROM ml.woe_anchor_model_registry_v1 WHERE model_key = %s",
        (key,)).fetchone()
    cuts = {f: (c1, c2) for f, c1, c2 in conn.execute(
        "SELECT fold_id, c1, c2 FROM ml.woe_anchor_cuts_v1 WHERE model_key = %s", (key,))}
    maps: dict = {}
    for f, b, v, woe, sp, sn, n in conn.execute(
            "SELECT fold_id, band_name, band_value, woe, sum_w_pos, sum_w_neg, n_rows "
            "FROM ml.woe_anchor_map_v1 WHERE model_key = %s", (key,)):
        maps.setdefault(f, {})[(b, v)] = (woe, sp, sn, n)
    scores = {(g, i, t): (f, oof, logit, p) for g, i, t, f, oof, logit, p in conn.execute(
        "SELECT generation, listing_id, EXTRACT(EPOCH FROM t0)::float8, fold_id, is_oof, "
        "woe_logit, woe_p FROM ml.woe_anchor_scores_v1 WHERE model_key = %s", (key,))}
    conn.rollback()
    return reg, cuts, maps, scores


def assert_fit_equal(fit: numpy_woe.Fit, cuts: tuple[float, float], rows: dict) -> None:
    assert cuts == pytest.approx(fit.cuts, abs=TOL, rel=0)
    assert set(rows) == set(fit.woe), "map keys differ"
    for key, (woe, sp, sn, n) in rows.items():
        assert woe == pytest.approx(fit.woe[key], abs=TOL, rel=0), key
        ref_sp, ref_sn, ref_n = fit.sums[key]
        assert sp == pytest.approx(ref_sp, abs=TOL, rel=TOL), key
        assert sn == pytest.approx(ref_sn, abs=TOL, rel=TOL), key
        assert n == ref_n, key


def check_against_reference(conn, report: train.Report, options: train.FitOptions,
                            cutoff=None) -> numpy_woe.Reference:
    ref = numpy_woe.reference(
        conn, n_folds=options.n_folds, eps=options.eps, half_life_days=options.half_life_days,
        eval_cutoff=cutoff.timestamp() if cutoff else None,
        thresholds=options.dsold_thresholds, oof=options.oof)
    reg, cuts, maps, scores = persisted(conn, report.model_key)
    assert reg[0] == pytest.approx(ref.final.base_rate, abs=TOL, rel=0)
    assert reg[1] == pytest.approx(ref.final.base_logit, abs=TOL, rel=0)
    assert report.rows["train_sold"] == sum(r.slice == "train_sold" for r in ref.rows)
    assert report.rows["eval_sold_last_7d"] == sum(r.slice == "eval_sold_last_7d" for r in ref.rows)
    assert report.rows["censored_ge_21d"] == sum(r.slice == "censored_ge_21d" for r in ref.rows)
    assert_fit_equal(ref.final, cuts[None], maps.get(None, {}))
    if options.oof:
        assert set(cuts) == {None, *range(options.n_folds)}
        for k, fk in ref.fold_fits.items():
            assert_fit_equal(fk, cuts[k], maps.get(k, {}))
        assert set(scores) == set(ref.oof)
        for key, (fold, logit) in ref.oof.items():
            f, is_oof, got_logit, got_p = scores[key]
            assert (f, is_oof) == (fold, True)
            assert got_logit == pytest.approx(logit, abs=TOL, rel=0), key
            assert got_p == pytest.approx(1 / (1 + math.exp(-logit)), abs=TOL, rel=0)
        # the metrics of the persisted OOF probabilities, recomputed here
        oof_rows = [r for r in ref.rows if r.key in ref.oof]
        p = np.array([scores[r.key][3] for r in oof_rows])
        auc, brier = numpy_woe.auc_and_brier(p, np.array([r.y for r in oof_rows]))
        assert report.oof_auc == pytest.approx(auc, abs=1e-12, rel=0)
        assert report.oof_brier == pytest.approx(brier, abs=1e-12, rel=0)
    if report.active and report.rows["eval_sold_last_7d"]:
        # the final mapping's scores of the evaluation rows are the live scores of the package
        live = {(g, i, t): p for g, i, t, p in conn.execute(
            "SELECT generation, listing_id, EXTRACT(EPOCH FROM t0)::float8, woe_anchor_p_slow21 "
            "FROM ml.woe_anchor_scores_live_v1 WHERE model_key = %s", (report.model_key,))}
        conn.rollback()
        eval_rows = [r for r in ref.rows if r.slice == "eval_sold_last_7d"]
        y = np.array([r.y for r in eval_rows])
        if 0 < y.sum() < len(y):
            auc, brier = numpy_woe.auc_and_brier(np.array([live[r.key] for r in eval_rows]), y)
            assert report.eval_auc == pytest.approx(auc, abs=1e-12, rel=0)
            assert report.eval_brier == pytest.approx(brier, abs=1e-12, rel=0)
    return ref


EDGE_SHAPES = {
    "plain": datasets.Shape(seed=1),
    "day_with_one_row": datasets.Shape(seed=2, single_row_day=True),
    "value_in_one_class_only": datasets.Shape(seed=3, one_class_value=True),
    "no_listing_with_assets": datasets.Shape(seed=4, asset_rate=0.0),
    "fewer_than_50_asset_rows": datasets.Shape(seed=5, asset_rate=0.08),
    "fold_without_positives": datasets.Shape(seed=6, negative_last_days=10),
}


@pytest.mark.parametrize("name", list(EDGE_SHAPES))
def test_matches_numpy_reference_on_edge_datasets(conn, name):
    shape = EDGE_SHAPES[name]
    datasets.load(conn, shape)
    cutoff = datasets.eval_cutoff_after_everything()
    options = train.FitOptions(eval_cutoff=cutoff, half_life_days=30.0)
    report = train.fit(conn, options, log=lambda _m: None)
    ref = check_against_reference(conn, report, options, cutoff)
    if name == "fold_without_positives":
        last = max(ref.folds.values())
        assert not any(r.y for r in ref.rows if r.slice == "train_sold"
                       and ref.folds[r.day] == last)
    if name == "day_with_one_row":
        day_counts: dict[int, int] = {}
        for r in ref.rows:
            day_counts[r.day] = day_counts.get(r.day, 0) + 1
        assert 1 in day_counts.values()
    if name == "value_in_one_class_only":
        _sp, sn, _n = ref.final.sums[("dsold", "dSold_missing")]
        assert sn == 0.0
    if name == "no_listing_with_assets":
        assert not any(b in numpy_woe.VISION for (b, _v) in ref.final.woe)
    if name == "fewer_than_50_asset_rows":
        assert ref.final.cuts[0] == ref.final.cuts[1]


@pytest.mark.parametrize("options", [
    train.FitOptions(),
    train.FitOptions(n_folds=3, eps=0.1, half_life_days=45.0,
                     dsold_thresholds=(-0.2, -0.1, 0.0, 0.1)),
    train.FitOptions(oof=False, eps=2.0),
    # More folds than training days: some folds are empty (day i of n gets floor(i * K / n)),
    # so the bound fold starts must carry their fold ids, not their positions.
    train.FitOptions(oof=False, n_folds=1000),
    # Rows older than 1075 half-lives (322 days) weigh 0.5^x = 0 in float8, where
    # PostgreSQL's power() would raise "underflow".
    train.FitOptions(half_life_days=0.3),
], ids=["defaults", "other_hyperparameters", "no_oof", "no_oof_more_folds_than_days",
        "weights_underflow_for_the_oldest_rows"])
def test_matches_numpy_reference_on_synth_data(conn, options):
    synth.fill(conn, 2500, seed=11, replace=True)
    report = train.fit(conn, options, log=lambda _m: None)
    check_against_reference(conn, report, options)
    assert report.rows["eval_sold_last_7d"] > 0 and report.eval_auc is not None
    assert (report.oof_auc is None) == (not options.oof)


def test_matches_numpy_reference_on_postgres_15(pg15_admin_url):  # noqa: F811
    # The trainer's SQL on a second major version (Debian's 15; README: 14 to 18), not only 18.
    with psycopg.connect(pg15_admin_url, autocommit=True) as c:
        c.execute("CREATE DATABASE woe_pg15_train")
    url = db.with_dbname(pg15_admin_url, "woe_pg15_train")
    upgrade(url)
    with psycopg.connect(url) as conn:
        assert conn.execute("SHOW server_version_num").fetchone()[0].startswith("15")
        conn.rollback()
        synth.fill(conn, 2500, seed=11, replace=True)
        options = train.FitOptions()
        report = train.fit(conn, options, log=lambda _m: None)
        check_against_reference(conn, report, options)


def test_planted_band_ordering_is_recovered(conn):
    synth.fill(conn, 40000, seed=5, replace=True)
    report = train.fit(conn, train.FitOptions(half_life_days=10000.0), log=lambda _m: None)
    woe = {(b, v): w for b, v, w in conn.execute(
        "SELECT band_name, band_value, woe FROM ml.woe_anchor_map_v1 "
        "WHERE model_key = %s AND fold_id IS NULL", (report.model_key,))}
    conn.rollback()
    for band, planted in synth.PLANTED_LOG_ODDS.items():
        by_truth = sorted(planted, key=planted.get)
        assert sorted(by_truth, key=lambda v: woe[(band, v)]) == by_truth, band
    present = [woe[("present", v)] for v in synth.PLANTED_PRESENT_ORDER]
    assert present == sorted(present)


def test_oof_score_never_depends_on_its_own_label(conn):
    synth.fill(conn, 3000, seed=21, replace=True)
    cutoff = conn.execute("SELECT ml.woe_anchor_default_eval_cutoff_v1()").fetchone()[0]
    conn.rollback()
    options = train.FitOptions(eval_cutoff=cutoff)
    before = train.fit(conn, options, log=lambda _m: None)
    _r, _c, _m, scores_before = persisted(conn, before.model_key)
    # Flip y_slow21 of every fold-0 row: slow rows now sell after 100 h, fast ones after 600 h.
    flipped = conn.execute(
        """
        UPDATE src.listing_outcomes AS o
        SET sold_time = o.t0 + CASE WHEN o.duration_hours >= 504 THEN interval '100 hours'
                                    ELSE interval '600 hours' END
        FROM ml.woe_anchor_scores_v1 AS s
        WHERE s.model_key = %s AND s.fold_id = 0
          AND (s.generation, s.listing_id, s.t0) = (o.generation, o.listing_id, o.t0)
        """, (before.model_key,)).rowcount
    conn.commit()
    assert flipped > 0
    after = train.fit(conn, options, log=lambda _m: None)
    assert after.ref_ts == before.ref_ts
    _r, _c, _m, scores_after = persisted(conn, after.model_key)
    assert set(scores_after) == set(scores_before)
    changed_elsewhere = False
    for key, (fold, _oof, logit, _p) in scores_before.items():
        if fold == 0:
            assert scores_after[key][2] == pytest.approx(logit, abs=1e-12, rel=0), key
        else:
            changed_elsewhere |= abs(scores_after[key][2] - logit) > 1e-6
    assert changed_elsewhere, "flipping fold-0 labels must move the other folds' scores"


def test_live_score_of_a_training_row_equals_its_final_mapping_score(conn):
    synth.fill(conn, 2000, seed=31, replace=True)
    report = train.fit(conn, train.FitOptions(), log=lambda _m: None)
    ref = numpy_woe.reference(conn)
    reg, cuts, maps, _scores = persisted(conn, report.model_key)
    final = numpy_woe.Fit(reg[0], reg[1], cuts[None],
                          woe={k: v[0] for k, v in maps[None].items()})
    live = {(g, i, t): logit for g, i, t, logit in conn.execute(
        "SELECT generation, listing_id, EXTRACT(EPOCH FROM t0)::float8, woe_logit "
        "FROM ml.woe_anchor_scores_live_v1 WHERE model_key = %s", (report.model_key,))}
    conn.rollback()
    training = [r for r in ref.rows if r.slice == "train_sold"]
    assert training
    for r in training:
        assert live[r.key] == pytest.approx(numpy_woe.score(final, r), abs=1e-12, rel=0)


def test_timezone_of_the_session_changes_nothing(conn):
    synth.fill(conn, 1500, seed=41, replace=True)
    packages = []
    for zone in ("UTC", "Pacific/Kiritimati", "America/Adak"):
        conn.execute("SELECT set_config('TimeZone', %s, false)", (zone,))
        conn.commit()
        report = train.fit(conn, train.FitOptions(), log=lambda _m: None)
        reg, cuts, maps, scores = persisted(conn, report.model_key)
        packages.append((reg, cuts, maps, scores, report.rows, report.eval_cutoff))
        slices = conn.execute(
            "SELECT slice, count(*), sum(y_slow21), min(t0_day), max(t0_day) "
            "FROM ml.woe_anchor_slices_v1(timestamptz '2024-10-01 00:00:00+00') "
            "GROUP BY slice ORDER BY slice").fetchall()
        conn.rollback()
        packages[-1] += (slices,)
    conn.execute("SET TimeZone = 'UTC'")
    conn.commit()
    assert packages[0] == packages[1] == packages[2]


def test_fit_settings_override_the_session_only_where_they_must(make_database):
    # Before PostgreSQL 18 the fit's small statements cost 1e10 to the planner (a disabled
    # nested loop they cannot avoid), so a session with JIT on compiled each of them: the fit
    # turns JIT off. It asks for at least two parallel workers per Gather and keeps more
    # where the session has them. A statement trigger on the registry sees the settings of
    # the fit's own transaction.
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as conn:
        synth.fill(conn, 800, seed=61, replace=True)
        conn.execute("CREATE TABLE public.seen (jit text NOT NULL, workers text NOT NULL)")
        conn.execute(
            "CREATE FUNCTION public.record_settings() RETURNS trigger LANGUAGE plpgsql AS "
            "$$BEGIN INSERT INTO public.seen VALUES (current_setting('jit'), "
            "current_setting('max_parallel_workers_per_gather')); RETURN NULL; END$$")
        conn.execute("CREATE TRIGGER record_settings AFTER INSERT ON "
                     "ml.woe_anchor_model_registry_v1 "
                     "FOR EACH STATEMENT EXECUTE FUNCTION public.record_settings()")
        conn.commit()
        for workers in (0, 5):
            conn.execute(f"SET jit = on; SET max_parallel_workers_per_gather = {workers}")
            conn.commit()
            train.fit(conn, train.FitOptions(), log=lambda _m: None)
            # the session keeps its own settings
            assert conn.execute("SHOW jit").fetchone() == ("on",)
            assert conn.execute("SHOW max_parallel_workers_per_gather").fetchone() == (
                str(workers),)
            conn.rollback()
        assert conn.execute("SELECT jit, workers FROM public.seen").fetchall() == [
            ("off", "2"), ("off", "5")]


def test_same_code_same_hash_and_registry_records_hyperparameters(conn):
    synth.fill(conn, 800, seed=51, replace=True)
    a = train.fit(conn, train.FitOptions(), log=lambda _m: None)
    b = train.fit(conn, train.FitOptions(n_folds=3, eps=1.5, half_life_days=30.0,
                                         dsold_thresholds=(-0.3, -0.1, 0.1, 0.3)),
                  log=lambda _m: None)
    assert a.code_sha256 == b.code_sha256
    reg, *_ = persisted(conn, b.model_key)
    assert reg[2:9] == (3, 1.5, 30.0, -0.3, -0.1, 0.1, 0.3)
    assert reg[9] == b.code_sha256


def test_probability_never_raises_and_is_unchanged_where_it_was_defined(conn):
    # 1 / (1 + exp(-x)) raised "value out of range" beyond x < -709.78 (overflow) and
    # x > 745.13 (underflow), where IEEE arithmetic rounds to 0 and 1.
    xs = [-1e300, -1e6, -746.0, -745.0, -709.5, -709.0, -700.0, -36.0, 0.0, 36.0, 700.0,
          709.0, 709.5, 746.0, 1e6, 1e300]
    got = [p for (p,) in conn.execute(
        "SELECT ml.woe_anchor_probability_v1(x) FROM unnest(%s::float8[]) WITH ORDINALITY "
        "AS u(x, i) ORDER BY i", (xs,))]
    for x, p in zip(xs, got, strict=True):
        exact = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
        assert 0.0 <= p <= 1.0 and abs(p - exact) <= 1.3e-308, (x, p)
        if -709 <= x <= 709:
            assert p == 1 / (1 + math.exp(-x))  # bit-identical to the formula


def test_the_smallest_eps_fits_and_matches_the_reference(conn):
    # eps = 1e-300 and a value seen in one class only: a WOE near 690, still exact
    datasets.load(conn, EDGE_SHAPES["value_in_one_class_only"])
    cutoff = datasets.eval_cutoff_after_everything()
    options = train.FitOptions(eval_cutoff=cutoff, half_life_days=30.0, eps=1e-300)
    report = train.fit(conn, options, log=lambda _m: None)
    check_against_reference(conn, report, options, cutoff)
    top = conn.execute("SELECT max(woe) FROM ml.woe_anchor_map_v1 WHERE model_key = %s",
                       (report.model_key,)).fetchone()[0]
    assert top > 600
    assert conn.execute("SELECT count(woe_anchor_p_slow21) FROM ml.woe_anchor_scores_live_v1"
                        ).fetchone()[0] > 0

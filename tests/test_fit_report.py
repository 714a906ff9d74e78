"""The fit's report is kept with its package, equal to what fit() returned, and frozen."""

from __future__ import annotations

import psycopg
import pytest

from harness import synth, train


def test_fit_report_is_persisted_with_the_package_and_frozen(make_database):
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as conn:
        synth.fill(conn, 800, seed=11)
        report = train.fit(conn, train.FitOptions(), log=lambda _m: None)
        stored = conn.execute(
            "SELECT report FROM ml.woe_anchor_fit_report_v1 WHERE model_key = %s",
            (report.model_key,),
        ).fetchone()[0]
        assert stored["rows"] == report.rows
        assert stored["information_value"] == report.information_value
        assert set(stored["information_value"]) >= {"dsold", "trust", "ship", "sale", "cond", "dmg", "bat"}
        assert stored["oof_auc"] == report.oof_auc and stored["eval_brier"] == report.eval_brier
        assert stored["base_rate"] == report.base_rate and stored["eval_cutoff"] == report.eval_cutoff
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="immutable"):
            conn.execute("UPDATE ml.woe_anchor_fit_report_v1 SET report = '{}'")


def test_disabled_persistence_keeps_no_report(make_database):
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as conn:
        synth.fill(conn, 500, seed=12)
        train.fit(conn, train.FitOptions(persist=False), log=lambda _m: None)
        assert conn.execute("SELECT count(*) FROM ml.woe_anchor_fit_report_v1").fetchone()[0] == 0

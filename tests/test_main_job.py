"""The main job end to end at a small size, the proofs on the database it built, and the report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import psycopg
import pytest

from harness import certify, proofs, report, run

ROWS = 4000


@pytest.fixture(scope="module")
def built(make_database) -> tuple[str, dict]:
    """A database the main job has just built (what CI runs the proofs against)."""
    url = make_database()
    summary = _run_json(url)
    return url, summary


def _run_json(url: str, *extra: str) -> dict:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run.main(["--database-url", url, "--rows", str(ROWS), "--no-report", "--json", *extra])
    summary = json.loads(out.getvalue())
    summary["exit_code"] = code
    return summary


def test_main_job_builds_a_certified_store(built):
    _url, summary = built
    assert summary["exit_code"] == 0
    assert summary["trained_now"] is True
    assert set(summary["certification"].values()) == {"CERTIFIED"}
    assert summary["proofs"]["failed"] == [] and summary["proofs"]["passed"] >= 20
    assert summary["rows"]["train_sold"] > 0 and 0.5 < summary["oof_auc"] <= 1
    assert set(summary["information_value"]) >= {"dsold", "trust", "ship", "sale", "cond", "dmg", "bat"}
    assert set(summary["seconds"]) >= {"migrate", "data", "train", "certify", "proofs"}


def test_rerunning_is_safe_no_duplicates_no_new_package(built):
    url, first = built
    with psycopg.connect(url) as c:
        before = c.execute("SELECT (SELECT count(*) FROM src.listing_snapshots_t0),"
                           " (SELECT count(*) FROM ml.woe_anchor_model_registry_v1)").fetchone()
    again = _run_json(url)
    assert again["exit_code"] == 0 and again["trained_now"] is False
    assert again["model_key"] == first["model_key"]
    with psycopg.connect(url) as c:
        after = c.execute("SELECT (SELECT count(*) FROM src.listing_snapshots_t0),"
                          " (SELECT count(*) FROM ml.woe_anchor_model_registry_v1)").fetchone()
    assert after == before


def test_proofs_fail_when_something_is_broken_on_purpose(built, capsys):
    url, _summary = built
    assert all(o.passed for o in proofs.run_all(url))
    with psycopg.connect(url) as c:
        c.execute("UPDATE ml.woe_anchor_model_registry_v1 SET is_active = false WHERE is_active")
        c.commit()
        try:
            outcomes = {o.name: o for o in proofs.run_all(url)}
            assert not outcomes["01_artifacts_active_package"].passed
            assert outcomes["01_artifacts_active_package"].seen == "rows = 0"
            # the "lists what is missing" proofs list the missing package instead of nothing
            for name in ("03_artifacts_band_groups", "05_artifacts_oof_cover_training",
                         "21_why_empty_package_complete"):
                assert not outcomes[name].passed, outcomes[name]
            assert not outcomes["13_cert_guarded_view_serves"].passed  # the guard refuses
            assert proofs.main(["--database-url", url]) == 1
            assert "FAIL  01_artifacts_active_package" in capsys.readouterr().out
        finally:
            key = _summary["model_key"]
            c.execute("UPDATE ml.woe_anchor_model_registry_v1 SET is_active = true WHERE model_key = %s", (key,))
            c.commit()
    assert all(o.passed for o in proofs.run_all(url))


def test_freshness_proof_lists_an_entrypoint_that_was_never_certified(built):
    url, _summary = built
    with psycopg.connect(url) as c:
        c.execute("DELETE FROM audit.t0_cert_registry")
        c.commit()
    try:
        outcomes = {o.name: o for o in proofs.run_all(url)}
        assert not outcomes["23_why_empty_certification_fresh"].passed
        assert outcomes["23_why_empty_certification_fresh"].seen == "rows = 2"  # both policies
    finally:
        assert [r.status for r in certify.run(url)] == ["CERTIFIED", "CERTIFIED"]
    assert all(o.passed for o in proofs.run_all(url))


def test_rerunning_after_a_schema_upgrade_rebaselines_and_certifies(make_database):
    # A store certified before 0057, then upgraded by the job: 0057 completes the closure and
    # demotes every certification; the job re-records the baselines (the revision is reviewed).
    from harness import migrate

    url = make_database()
    assert _run_json(url)["exit_code"] == 0
    migrate.downgrade(url, "0056")
    again = _run_json(url)
    assert again["exit_code"] == 0 and again["trained_now"] is False
    assert set(again["certification"].values()) == {"CERTIFIED"}


def test_rerunning_over_baselines_without_the_guarded_views_rebaselines(make_database):
    # Baselines recorded before the guarded views were baselined (alias_drift would fail
    # them): the job re-records them instead of reporting FAILED.
    url = make_database()
    assert _run_json(url)["exit_code"] == 0
    with psycopg.connect(url) as c:
        c.execute("DELETE FROM audit.t0_viewdef_baseline WHERE entrypoint IN "
                  "('ml.woe_anchor_scores_live_train_v', 'src.listing_snapshots_t0_live_train_v')")
    again = _run_json(url)
    assert again["exit_code"] == 0 and set(again["certification"].values()) == {"CERTIFIED"}


def test_report_names_the_active_package(built, tmp_path):
    url, summary = built
    out = tmp_path / "report.html"
    assert report.main(["--database-url", url, "--out", str(out)]) == 0
    page = out.read_text()
    assert f'<code id=model-key>{summary["model_key"]}</code>' in page
    assert "(active)" in page
    assert page.count('src="data:image/png;base64,') == 11  # ten bands + calibration
    assert "ml.woe_anchor_feature_store_t0_v1_v" in page


def test_report_for_an_unknown_package_is_a_clear_error(built, tmp_path, capsys):
    url, _ = built
    assert report.main(["--database-url", url, "--model-key", "nope", "--out", str(tmp_path / "x.html")]) == 2
    assert "no package 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_headless_browser_opens_the_report_and_finds_the_charts(built, tmp_path):
    url, summary = built
    out = tmp_path / "report.html"
    assert report.main(["--database-url", url, "--out", str(out)]) == 0
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
         "--dump-dom", out.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    loaded = re.search(r'data-charts-loaded="(\d+)"', dom)
    expected = re.search(r'data-charts-expected="(\d+)"', dom)
    assert loaded and expected, "the page's load handler did not run"
    assert int(loaded.group(1)) == int(expected.group(1)) == 11
    assert summary["model_key"] in dom

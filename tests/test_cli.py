"""Every command ends the same way (harness.cli): 0 success, 1 something failed (a check, the
database refused or could not be reached), 2 bad input; an error is one line naming what was
wrong, never a traceback."""

from __future__ import annotations

import json

import psycopg
import pytest

from harness import certify, proofs, report, run, schema_snapshot, synth, train
from harness.db import with_dbname

# (module, arguments; URL stands for the database URL)
COMMANDS = [
    (run, ["--database-url", "URL", "--rows", "100", "--no-report"]),
    (synth, ["--database-url", "URL", "--rows", "100"]),
    (train, ["fit", "--database-url", "URL"]),
    (train, ["list", "--database-url", "URL"]),
    (certify, ["status", "--database-url", "URL"]),
    (certify, ["run", "--database-url", "URL"]),
    (proofs, ["--database-url", "URL"]),
    (report, ["--database-url", "URL"]),
    (schema_snapshot, ["--check", "--database-url", "URL"]),
]
IDS = [f"{m.__name__.split('.')[-1]}-{a[0].lstrip('-')}" for m, a in COMMANDS]
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=3"


def with_url(args: list[str], url: str) -> list[str]:
    return [url if a == "URL" else a for a in args]


def one_error_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(("module", "args"), COMMANDS, ids=IDS)
def test_a_malformed_database_url_is_bad_input(module, args, capsys):
    assert module.main(with_url(args, "mysql://somewhere/db")) == 2
    assert "unsupported database URL scheme 'mysql'" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(("module", "args"), COMMANDS, ids=IDS)
def test_an_unreachable_server_fails_with_one_line(module, args, capsys):
    assert module.main(with_url(args, UNREACHABLE)) == 1
    assert "OperationalError" in one_error_line(capsys.readouterr().err)


def test_a_database_that_does_not_exist_fails_with_one_line(admin_url, capsys):
    url = with_dbname(admin_url, "woe_no_such_database")
    assert train.main(["list", "--database-url", url]) == 1
    assert 'database "woe_no_such_database" does not exist' in one_error_line(
        capsys.readouterr().err)


@pytest.fixture(scope="module")
def sql_ascii_url(make_database):
    """An empty database in SQL_ASCII, whose text psycopg returns as bytes."""
    return make_database(encoding="SQL_ASCII")


# schema_snapshot only uses the URL's server, for a scratch database of its own
@pytest.mark.parametrize(("module", "args"), COMMANDS[:-1], ids=IDS[:-1])
def test_a_sql_ascii_database_is_bad_input(module, args, sql_ascii_url, capsys):
    # before: a TypeError traceback from SQLAlchemy, which got the server version as bytes
    assert module.main(with_url(args, sql_ascii_url)) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "uses the encoding SQL_ASCII" in line and "UTF8" in line
    with psycopg.connect(sql_ascii_url) as c:  # nothing was written
        assert c.execute("SELECT to_regclass('public.alembic_version')").fetchone() == (None,)


def test_an_unmigrated_database_names_the_fix(make_database, capsys):
    url = make_database()
    assert train.main(["fit", "--database-url", url]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert 'schema "ml" does not exist' in line and "alembic upgrade head" in line


@pytest.mark.parametrize("args", [["--rows", "0"], ["--rows", "-5"], ["--rows", "5", "--seed", "-1"]])
def test_synth_bad_sizes_are_bad_input(database_url, args, capsys):
    assert synth.main(["--database-url", database_url, *args]) == 2
    assert "must be" in one_error_line(capsys.readouterr().err)


def test_fit_options_are_checked_before_connecting(capsys):
    # no server at this URL: the options are refused first
    assert train.main(["fit", "--database-url", UNREACHABLE, "--woe-eps", "0"]) == 2
    assert "--woe-eps" in one_error_line(capsys.readouterr().err)


def test_negative_thresholds_can_follow_the_flag_as_documented(database_url, capsys):
    # `--dsold-thresholds -0.2,...` (a leading minus) used to be read as an unknown option
    assert train.main(["fit", "--database-url", database_url, "--disable-woe-persist",
                       "--dsold-thresholds", "-0.2,-0.1,0.1,0.3", "--eval-cutoff",
                       "2020-01-01T00:00:00Z"]) == 2
    # parsed: the fit itself ran and found no training rows before 2020
    assert "no training rows" in one_error_line(capsys.readouterr().err)


def test_a_used_model_key_is_refused_before_fitting(make_database, capsys):
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        synth.fill(c, 600, seed=3)
    assert train.main(["fit", "--database-url", url, "--model-key", "woe_once"]) == 0
    assert train.main(["fit", "--database-url", url, "--model-key", "woe_once"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--model-key woe_once already exists" in line and "nothing persisted" in line
    with psycopg.connect(url) as c:
        assert c.execute("SELECT count(*) FROM ml.woe_anchor_model_registry_v1").fetchone() == (1,)


def test_certify_status_shows_only_the_entrypoint_asked_for(make_database, capsys):
    from tests.packages import certified_database

    url = certified_database(make_database, 200)
    assert certify.main(["status", "--database-url", url, "--json",
                         "--entrypoint", "src.listing_snapshots_t0_v1_v"]) == 0
    shown = {r["entrypoint"] for r in json.loads(capsys.readouterr().out)}
    assert shown == {"src.listing_snapshots_t0_v1_v", "src.listing_snapshots_t0_live_train_v"}
    assert certify.main(["status", "--database-url", url, "--json",
                         "--entrypoint", "ml.woe_anchor_feature_store_t0_v1_v"]) == 0
    shown = {r["entrypoint"] for r in json.loads(capsys.readouterr().out)}
    assert shown == {"ml.woe_anchor_feature_store_t0_v1_v", "ml.woe_anchor_scores_live_train_v",
                     "ml.woe_anchor_scores_live_v1"}  # with the aliases that inherit from it
    assert certify.main(["status", "--database-url", url, "--entrypoint", "ml.nothing"]) == 2
    assert "ml.nothing is neither" in one_error_line(capsys.readouterr().err)

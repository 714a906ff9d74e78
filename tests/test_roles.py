"""Least privilege (revision 0030): each allowed path and each denial, tested with SET ROLE.

The store is trained by woe_trainer and baselined and certified by woe_certifier, so the allowed
paths are exercised by the roles themselves; the superuser only loads the source data and reads
the state to compare before and after a refused attempt.
"""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from harness import certify, synth, train
from tests.conftest import ROOT
from tests.roles import CERTIFIER, READER, TRAINER, as_role, login_member

GUARDED = "ml.woe_anchor_scores_live_train_v"
ENTRYPOINT = "ml.woe_anchor_feature_store_t0_v1_v"
AUDIT_TABLES = ("audit.t0_cert_registry", "audit.t0_viewdef_baseline",
                "audit.t0_dataset_hash_baseline", "audit.t0_cert_run_history",
                "audit.t0_entrypoint_policy")
ARTIFACT_TABLES = ("ml.woe_anchor_model_registry_v1", "ml.woe_anchor_cuts_v1",
                   "ml.woe_anchor_map_v1", "ml.woe_anchor_scores_v1")
SOURCE_TABLES = ("src.listing_snapshots_t0", "src.listing_vision_features",
                 "src.listing_outcomes")
# The entrypoint and every view under it: readers consume the guarded view only.
UNGUARDED_VIEWS = (ENTRYPOINT, "ml.woe_anchor_scores_live_v1", "ml.v_woe_anchor_bands_live_v1",
                   "src.listing_snapshots_t0_v1_v")
FIT = train.FitOptions(n_folds=3)


def state(url: str) -> tuple:
    """Everything a refused attempt could have changed."""
    with psycopg.connect(url) as c:
        return tuple(c.execute(q).fetchall() for q in (
            "SELECT * FROM audit.t0_cert_registry ORDER BY entrypoint",
            "SELECT count(*), max(run_id) FROM audit.t0_cert_run_history",
            ("SELECT entrypoint, object_name, raw_sha256, catalog_version "
            "FROM audit.t0_viewdef_baseline ORDER BY 1, 2"),
            ("SELECT entrypoint, t0_day, dataset_sha256 FROM audit.t0_dataset_hash_baseline "
            "ORDER BY 1, 2"),
            "SELECT model_key, is_active FROM ml.woe_anchor_model_registry_v1 ORDER BY 1",
            "SELECT count(*) FROM ml.woe_anchor_map_v1",
        ))


def train_as_trainer(url: str, key: str) -> train.Report:
    with as_role(url, TRAINER) as c:
        return train.fit(c, train.FitOptions(n_folds=3, model_key=key), log=lambda _m: None)


def certify_as_certifier(url: str) -> list[certify.RunResult]:
    with as_role(url, CERTIFIER, autocommit=True) as c:
        certify.baseline(c)
        return certify.run(c)


@pytest.fixture(scope="module")
def store(make_database) -> str:
    """Source data loaded by the owner, package trained by the trainer, certified by the
    certifier."""
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        synth.fill(c, 3000, seed=3)
    assert train_as_trainer(url, "pkg_roles").model_key == "pkg_roles"
    assert [r.status for r in certify_as_certifier(url)] == ["CERTIFIED", "CERTIFIED"]
    return url


def denied(url: str, role: str, statement: str, params: tuple = ()) -> str:
    with as_role(url, role) as c, pytest.raises(psycopg.errors.InsufficientPrivilege) as e:
        c.execute(statement, params)
    return e.value.diag.message_primary


# ---------------------------------------------------------------------------------- reader


def test_reader_reads_the_guarded_view_of_the_certified_package(store):
    with as_role(store, READER) as c:
        keys = c.execute(f"SELECT model_key, count(*) FROM {GUARDED} GROUP BY 1").fetchall()
        assert c.execute("SELECT audit.require_certified_strict(%s, interval '24 hours')",
                         (ENTRYPOINT,)).fetchone() == (True,)
    assert [k for k, _ in keys] == ["pkg_roles"] and keys[0][1] == 3000


@pytest.mark.parametrize("relation",
                         SOURCE_TABLES + ARTIFACT_TABLES + AUDIT_TABLES + UNGUARDED_VIEWS)
def test_reader_cannot_select_tables_or_the_unguarded_views(store, relation):
    assert "permission denied" in denied(store, READER, f"SELECT * FROM {relation} LIMIT 1")


@pytest.mark.parametrize("statement", [
    ("INSERT INTO audit.t0_cert_registry (entrypoint, status, certified_at) "
    "VALUES ('ml.forged', 'CERTIFIED', now())"),
    "UPDATE audit.t0_cert_registry SET certified_at = now()",
    ("INSERT INTO audit.t0_viewdef_baseline (entrypoint, object_name, object_kind, raw_sha256, "
    "normalized_sha256, normalized_sql, server_version_num) "
    f"VALUES ('x', 'y', 'view', '{'0' * 64}', '{'0' * 64}', '', 180000)"),
    "DELETE FROM audit.t0_dataset_hash_baseline",
    "UPDATE ml.woe_anchor_model_registry_v1 SET is_active = false",
    "INSERT INTO ml.woe_anchor_cuts_v1 (model_key, fold_id, c1, c2) VALUES ('pkg_roles', 9, 0, 1)",
    "SELECT * FROM ml.woe_anchor_slices_v1(now())",
    "SELECT ml.woe_anchor_default_eval_cutoff_v1()",
    "SELECT * FROM audit.t0_closure_v1('ml.woe_anchor_feature_store_t0_v1_v')",
    "SELECT audit.assert_t0_certified_woe_anchor_store_v1()",
])
def test_reader_cannot_write_registry_baselines_packages_or_call_internal_functions(
        store, statement):
    before = state(store)
    denied(store, READER, statement)
    assert state(store) == before


def test_reader_cannot_run_certification(store):
    before = state(store)
    with as_role(store, READER, autocommit=True) as c:
        for action in (certify.run, certify.baseline):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                action(c)
    assert state(store) == before


# --------------------------------------------------------------------------------- trainer


def test_trainer_cannot_certify_or_write_audit(store):
    before = state(store)
    with (as_role(store, TRAINER, autocommit=True) as c,
          pytest.raises(psycopg.errors.InsufficientPrivilege)):
        certify.run(c)
    for statement in (
        ("INSERT INTO audit.t0_cert_registry (entrypoint, status, certified_at) "
        "VALUES ('ml.forged', 'CERTIFIED', now())"),
        "UPDATE audit.t0_cert_registry SET certified_model_key = 'pkg_other'",
        "DELETE FROM audit.t0_dataset_hash_baseline",
        f"SELECT * FROM {GUARDED} LIMIT 1",
    ):
        denied(store, TRAINER, statement)
    assert state(store) == before


def test_trainer_moves_only_is_active_and_deletes_nothing(store):
    before = state(store)
    # Table-level UPDATE (needed for the trainers' LOCK) still changes nothing but is_active:
    assert "immutable" in denied(
        store, TRAINER, "UPDATE ml.woe_anchor_model_registry_v1 SET eps = 0.1")
    denied(store, TRAINER, "DELETE FROM ml.woe_anchor_map_v1")
    denied(store, TRAINER, "TRUNCATE ml.woe_anchor_scores_v1")
    assert state(store) == before


def test_trainer_trains_activates_and_rolls_back(make_database):
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        synth.fill(c, 2000, seed=4)
    train_as_trainer(url, "pkg_one")
    train_as_trainer(url, "pkg_two")
    with as_role(url, TRAINER) as c:
        train.activate(c, "pkg_one")
        assert [(p.model_key, p.is_active) for p in train.list_packages(c)] == [
            ("pkg_two", False), ("pkg_one", True)]


# ------------------------------------------------------------------------------- certifier


def test_certifier_cannot_write_packages_or_read_labels(store):
    before = state(store)
    with as_role(store, CERTIFIER) as c, pytest.raises(psycopg.errors.InsufficientPrivilege):
        train.fit(c, FIT, log=lambda _m: None)
    for statement in (
        ("INSERT INTO ml.woe_anchor_model_registry_v1 (model_key, train_cutoff_ts, half_life_days,"
        " eps, n_folds, band_schema_version) VALUES ('forged', now(), 90, 0.5, 5, 1)"),
        ("INSERT INTO ml.woe_anchor_map_v1 (model_key, band_name, band_value, woe) "
        "VALUES ('pkg_roles', 'dsold', 'x', 0)"),
        "UPDATE ml.woe_anchor_model_registry_v1 SET is_active = NOT is_active",
        "SELECT * FROM src.listing_outcomes LIMIT 1",
    ):
        denied(store, CERTIFIER, statement)
    with as_role(store, CERTIFIER) as c, pytest.raises(psycopg.errors.InsufficientPrivilege):
        train.activate(c, "pkg_roles")
    assert state(store) == before


# ------------------------------------------------------------ command line as login members


def cli(module: str, url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args, "--database-url", url],
                          cwd=ROOT, capture_output=True, text=True, check=False)


def test_command_line_tools_work_for_login_members_of_each_role(make_database):
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        synth.fill(c, 2000, seed=5)
    with (login_member(url, TRAINER) as trainer_url,
          login_member(url, CERTIFIER) as certifier_url,
          login_member(url, READER) as reader_url):
        fit = cli("harness.train", trainer_url, "fit", "--woe-folds", "3", "--model-key", "cli_pkg")
        assert fit.returncode == 0, fit.stderr
        for command in ("baseline", "run"):
            done = cli("harness.certify", certifier_url, command)
            assert done.returncode == 0, done.stdout + done.stderr
        # the database refuses: exit 1, as for every command (harness/cli.py)
        refused = cli("harness.certify", reader_url, "run")
        assert refused.returncode == 1 and "permission denied" in refused.stderr
        refused = cli("harness.certify", trainer_url, "run")
        assert refused.returncode == 1 and "permission denied" in refused.stderr
        refused = cli("harness.train", certifier_url, "fit", "--model-key", "forged")
        assert refused.returncode == 1 and "InsufficientPrivilege" in refused.stderr
        with psycopg.connect(reader_url) as c:
            assert c.execute(f"SELECT DISTINCT model_key FROM {GUARDED}").fetchall() == [
                ("cli_pkg",)]

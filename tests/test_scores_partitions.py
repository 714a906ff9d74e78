"""One scores partition per package (revision 0054): open, insert, seal; nothing loose or
writable is left after a commit, and the move of existing scores in and out keeps every row."""

from __future__ import annotations

import psycopg
import pytest

from harness import migrate, proofs, synth, train
from tests.conftest import ROOT
from tests.roles import TRAINER, as_role

QUIET = {"log": lambda _m: None}
REGISTRY_ROW = (
    "INSERT INTO ml.woe_anchor_model_registry_v1 (model_key, train_cutoff_ts, half_life_days,"
    " eps, n_folds, band_schema_version) VALUES (%s, '2026-01-01', 90, 0.5, 5, 1)")
SCORE_ROW = ("INSERT INTO {} (model_key, generation, listing_id, t0, fold_id, is_oof, woe_logit,"
             " woe_p) VALUES (%s, 1, %s, '2026-01-01', 0, true, 0.25, 0.5)")


@pytest.fixture(scope="module")
def trained(make_database) -> str:
    """A database at head with one package, pkg_a, trained by the trainer role."""
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        synth.fill(c, 600, seed=5)
    with as_role(url, TRAINER) as c:
        train.fit(c, train.FitOptions(n_folds=3, model_key="pkg_a"), **QUIET)
    return url


def partition(conn: psycopg.Connection, key: str) -> str:
    return "ml." + conn.execute("SELECT ml.woe_anchor_scores_partition_v1(%s)", (key,)).fetchone()[0]


def test_a_trained_package_has_its_own_sealed_partition(trained):
    with psycopg.connect(trained) as c:
        table = partition(c, "pkg_a")
        bound, n_rows, n_train, pkey, owner_is_trainer = c.execute(
            """
            SELECT pg_get_expr(p.relpartbound, p.oid),
                   (SELECT count(*) FROM ml.woe_anchor_scores_v1 WHERE model_key = 'pkg_a'),
                   (SELECT (report -> 'rows' ->> 'train_sold')::bigint
                    FROM ml.woe_anchor_fit_report_v1 WHERE model_key = 'pkg_a'),
                   (SELECT pg_get_indexdef(i.indexrelid) FROM pg_index AS i
                    WHERE i.indrelid = p.oid AND i.indisprimary),
                   pg_get_userbyid(p.relowner) = %s
            FROM pg_class AS p WHERE p.oid = %s::regclass
            """, (TRAINER, table)).fetchone()
        assert bound == "FOR VALUES IN ('pkg_a')"
        assert n_rows == n_train > 0
        assert "(model_key, generation, listing_id, t0)" in pkey
        assert not owner_is_trainer
        privileges = c.execute(
            "SELECT array_agg(p) FILTER (WHERE has_table_privilege(%s, %s, p)) FROM unnest("
            "ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p",
            (TRAINER, table)).fetchone()[0]
        assert privileges is None  # the trainer reads and writes through the parent only


@pytest.mark.parametrize("statement", [
    "UPDATE {} SET woe_logit = 0",
    "DELETE FROM {}",
    "TRUNCATE {}",
])
def test_a_sealed_partition_refuses_change_even_to_its_owner(trained, statement):
    """The superuser (who owns everything here) goes straight to the partition: its cloned row
    triggers and its own TRUNCATE trigger refuse."""
    with psycopg.connect(trained) as c:
        table = partition(c, "pkg_a")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="immutable"):
            c.execute(statement.format(table))


def test_the_trainer_cannot_write_or_drop_a_sealed_partition(trained):
    with as_role(trained, TRAINER) as c:
        table = partition(c, "pkg_a")
        c.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(SCORE_ROW.format(table), ("pkg_a", 10**9))
        c.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
            c.execute(f"DROP TABLE {table}")
        c.rollback()
        # Through the parent, the same-transaction trigger refuses a committed package.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="already committed"):
            c.execute(SCORE_ROW.format("ml.woe_anchor_scores_v1"), ("pkg_a", 10**9))


def test_open_insert_seal_as_the_trainer(trained):
    with as_role(trained, TRAINER) as c:
        c.execute(REGISTRY_ROW, ("pkg_manual",))
        table = "ml." + c.execute("SELECT ml.woe_anchor_scores_open_v1('pkg_manual')").fetchone()[0]
        assert table == partition(c, "pkg_manual")
        c.execute(SCORE_ROW.format(table), ("pkg_manual", 1))
        with (pytest.raises(psycopg.errors.CheckViolation, match="ck_woe_anchor_scores_v1_package"),
              c.transaction()):
            c.execute(SCORE_ROW.format(table), ("pkg_a", 2))  # another package's row
        c.execute("SELECT ml.woe_anchor_scores_seal_v1('pkg_manual')")
        # INSERT on the table ended with the seal
        with pytest.raises(psycopg.errors.InsufficientPrivilege), c.transaction():
            c.execute(SCORE_ROW.format(table), ("pkg_manual", 3))
        c.execute(SCORE_ROW.format("ml.woe_anchor_scores_v1"), ("pkg_manual", 4))  # same transaction
        c.rollback()
    with psycopg.connect(trained) as c:
        assert c.execute("SELECT to_regclass(%s)", (partition(c, "pkg_manual"),)).fetchone() == (None,)


def test_a_commit_with_open_scores_is_refused_and_leaves_nothing(trained):
    with as_role(trained, TRAINER) as c:
        c.execute(REGISTRY_ROW, ("pkg_unsealed",))
        table = "ml." + c.execute("SELECT ml.woe_anchor_scores_open_v1('pkg_unsealed')").fetchone()[0]
        c.execute(SCORE_ROW.format(table), ("pkg_unsealed", 1))
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="never sealed"):
            c.commit()
    with psycopg.connect(trained) as c:
        assert c.execute(
            "SELECT count(*), to_regclass(%s) FROM ml.woe_anchor_model_registry_v1"
            " WHERE model_key = 'pkg_unsealed'", (partition(c, "pkg_unsealed"),)
        ).fetchone() == (0, None)


@pytest.mark.parametrize("steps, error, message", [
    ([("open", "pkg_x"), ("open", "pkg_x")], psycopg.errors.DuplicateTable, "already open"),
    ([("seal", "pkg_x")], psycopg.errors.UndefinedTable, "were not opened"),
    ([("open", "pkg_x"), ("seal", "pkg_x"), ("seal", "pkg_x")],
     psycopg.errors.ObjectNotInPrerequisiteState, "already sealed"),
    ([("open", "pkg_a")], psycopg.errors.InsufficientPrivilege, "pkg_a is already committed"),
    ([("seal", "pkg_a")], psycopg.errors.InsufficientPrivilege, "pkg_a is not open"),
    ([("open", "pkg_nowhere")], psycopg.errors.ForeignKeyViolation, "pkg_nowhere does not exist"),
    ([("seal", "pkg_nowhere")], psycopg.errors.InsufficientPrivilege, "pkg_nowhere is not open"),
])
def test_open_and_seal_refuse_out_of_order_calls(trained, steps, error, message):
    def call(step: str, key: str) -> None:
        c.execute(f"SELECT ml.woe_anchor_scores_{step}_v1(%s)", (key,))

    with as_role(trained, TRAINER) as c:
        c.execute(REGISTRY_ROW, ("pkg_x",))
        *first, last = steps
        for step in first:
            call(*step)
        with pytest.raises(error, match=message):
            call(*last)
        c.rollback()


def test_a_package_reactivated_in_this_transaction_cannot_open_scores(trained):
    """Activation rewrites the registry row; the package stays committed (0045's created_xid)."""
    with psycopg.connect(trained) as c:
        c.execute("UPDATE ml.woe_anchor_model_registry_v1 SET is_active = (model_key = 'pkg_a')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="pkg_a is already committed"):
            c.execute("SELECT ml.woe_anchor_scores_open_v1('pkg_a')")
        c.rollback()


def test_the_move_into_partitions_and_back_keeps_every_score(make_database):
    url = make_database(migrate_to="0053")
    with psycopg.connect(url) as c:  # scores written as the 0053 trainer wrote them
        for key, n in (("pkg_1", 3), ("pkg_2", 5)):
            c.execute(REGISTRY_ROW, (key,))
            for listing in range(n):
                c.execute(SCORE_ROW.format("ml.woe_anchor_scores_v1"), (key, listing))
        c.commit()
        before = c.execute("SELECT * FROM ml.woe_anchor_scores_v1 ORDER BY 1, 2, 3, 4").fetchall()
    assert {r[0] for r in before} == {"pkg_1", "pkg_2"}

    def rows_and_partitions(conn) -> tuple[list, list]:
        return (conn.execute("SELECT * FROM ml.woe_anchor_scores_v1 ORDER BY 1, 2, 3, 4").fetchall(),
                conn.execute("SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits AS i"
                             " JOIN pg_class AS c ON c.oid = i.inhrelid"
                             " WHERE i.inhparent = 'ml.woe_anchor_scores_v1'::regclass"
                             " ORDER BY 1").fetchall())

    migrate.upgrade(url, "0054")
    with psycopg.connect(url) as c:
        assert rows_and_partitions(c) == (
            before, [("FOR VALUES IN ('pkg_1')",), ("FOR VALUES IN ('pkg_2')",)])
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="immutable"):
            c.execute(f"DELETE FROM {partition(c, 'pkg_1')}")
    migrate.downgrade(url, "0053")
    with psycopg.connect(url) as c:
        assert rows_and_partitions(c) == (before, [])
        assert c.execute("SELECT relkind FROM pg_class WHERE oid = 'ml.woe_anchor_scores_v1'::regclass"
                         ).fetchone() == ("r",)


@pytest.mark.parametrize("break_it", [
    "SELECT ml.woe_anchor_scores_open_v1('pkg_x')",  # opened, not sealed
    "ALTER TABLE {pkg_a} DISABLE TRIGGER woe_anchor_scores_v1_freeze",
    "DROP TRIGGER woe_anchor_scores_v1_no_truncate ON {pkg_a}",
    "ALTER TABLE {pkg_a} RENAME TO scores_of_pkg_a",  # no longer found by its package's key
])
def test_the_partitions_proof_passes_and_lists_what_is_broken(trained, break_it):
    proof = proofs.Proof.load(ROOT / "proofs" / "06_artifacts_scores_partitions_sealed.sql")
    with psycopg.connect(trained) as c:
        assert proofs.run_proof(c, proof).passed
        table = partition(c, "pkg_a")
        c.execute(REGISTRY_ROW, ("pkg_x",))
        c.execute(break_it.format(pkg_a=table))
        outcome = proofs.run_proof(c, proof)  # in the same transaction, then rolled back
        assert not outcome.passed and outcome.seen == "rows = 1"

"""A committed package never grows: not even inside the transaction that re-activates it."""

from __future__ import annotations

import psycopg
import pytest

from tests.packages import insert_package

ADD_MAP_ROW = ("INSERT INTO ml.woe_anchor_map_v1 (model_key, fold_id, band_name, band_value, woe)"
               " VALUES (%s, NULL, 'dsold', 'dSold_extra', 1.0)")


def test_rows_cannot_be_added_to_a_package_reactivated_in_this_transaction(make_database):
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        insert_package(c, "pkg_old")
        c.commit()
        insert_package(c, "pkg_new")  # deactivates pkg_old
        c.commit()

        # rollback activation rewrites pkg_old's registry row in this transaction ...
        c.execute("UPDATE ml.woe_anchor_model_registry_v1 SET is_active = false WHERE is_active")
        c.execute("UPDATE ml.woe_anchor_model_registry_v1 SET is_active = true"
                  " WHERE model_key = 'pkg_old'")
        # ... which must not reopen the package
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="pkg_old is already committed"):
            c.execute(ADD_MAP_ROW, ("pkg_old",))
        c.rollback()
        n = c.execute("SELECT count(*) FROM ml.woe_anchor_map_v1 WHERE model_key = 'pkg_old'"
                      " AND band_value = 'dSold_extra'").fetchone()[0]
        assert n == 0


def test_the_creating_transaction_may_add_rows_even_under_a_savepoint(make_database):
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        with c.transaction():
            insert_package(c, "pkg_fresh")
            with c.transaction():  # a savepoint: its own subtransaction id
                c.execute(ADD_MAP_ROW, ("pkg_fresh",))
        assert c.execute("SELECT created_xid IS NOT NULL FROM ml.woe_anchor_model_registry_v1"
                         " WHERE model_key = 'pkg_fresh'").fetchone()[0]


def test_created_xid_is_frozen(make_database):
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        insert_package(c, "pkg_a")
        c.commit()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="immutable"):
            c.execute("UPDATE ml.woe_anchor_model_registry_v1 SET created_xid = pg_current_xact_id()")

"""CREATE_ROWS' join plan follows how the sources are stored; the package never does.

With the sources stored in key order (what ANALYZE's correlation says), the trainer lets
CREATE_ROWS use ordered merge joins (harness.train.ORDERED_SOURCE_SETTINGS); otherwise it keeps
the parallel hash joins. Either way the package must be the same to the last bit.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from harness import synth, train
from harness import train_sql as q

# Parents first: the rows go back in this order (the outcomes reference the snapshots).
SOURCES = ("listing_snapshots_t0", "listing_vision_features", "listing_outcomes")
QUIET = {"log": lambda _m: None}


def in_key_order(url: str) -> bool:
    with psycopg.connect(url) as c:
        return train.sources_in_key_order(psycopg.ClientCursor(c))


def stored_columns(c: psycopg.Connection, table: str) -> sql.Composed:
    """The columns of src.<table> that take values (not the generated ones)."""
    return sql.SQL(", ").join(sql.Identifier(r[0]) for r in c.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", (f"src.{table}",)))


def store_in_random_order(url: str) -> None:
    """Rewrite every source table with the same rows in a random physical order."""
    with psycopg.connect(url) as c:
        for table in SOURCES:
            c.execute(sql.SQL("CREATE TEMPORARY TABLE {} AS SELECT {} FROM {} ORDER BY random()")
                      .format(sql.Identifier(f"copy_{table}"), stored_columns(c, table),
                              sql.Identifier("src", table)))
        c.execute(sql.SQL("TRUNCATE {}").format(
            sql.SQL(", ").join(sql.Identifier("src", t) for t in SOURCES)))
        for table in SOURCES:
            columns = stored_columns(c, table)
            c.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
                sql.Identifier("src", table), columns, columns, sql.Identifier(f"copy_{table}")))
        c.commit()
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(sql.SQL("ANALYZE {}").format(
            sql.SQL(", ").join(sql.Identifier("src", t) for t in SOURCES)))


def package(url: str, model_key: str) -> dict[str, list]:
    """Everything a package holds that the fit computed, in a fixed order."""
    with psycopg.connect(url) as c:
        k = {"k": model_key}
        return {
            "registry": c.execute(
                "SELECT base_rate, base_logit, train_cutoff_ts FROM ml.woe_anchor_model_registry_v1"
                " WHERE model_key = %(k)s", k).fetchall(),
            "cuts": c.execute(
                "SELECT fold_id, c1, c2 FROM ml.woe_anchor_cuts_v1"
                " WHERE model_key = %(k)s ORDER BY fold_id NULLS FIRST", k).fetchall(),
            "map": c.execute(
                "SELECT fold_id, band_name, band_value, woe, sum_w_pos, sum_w_neg, n_rows"
                " FROM ml.woe_anchor_map_v1 WHERE model_key = %(k)s"
                " ORDER BY fold_id NULLS FIRST, band_name, band_value", k).fetchall(),
            "scores": c.execute(
                "SELECT generation, listing_id, t0, fold_id, woe_logit, woe_p"
                " FROM ml.woe_anchor_scores_v1 WHERE model_key = %(k)s"
                " ORDER BY generation, listing_id, t0", k).fetchall(),
        }


def fit(url: str, model_key: str) -> train.Report:
    with psycopg.connect(url) as c:
        return train.fit(c, train.FitOptions(model_key=model_key), **QUIET)


def test_sources_count_as_ordered_only_when_analyze_found_them_so(make_database):
    url = make_database(migrate_to="head")
    with psycopg.connect(url, autocommit=True) as c:
        for table in SOURCES:  # no statistics until the test asks for them
            c.execute(sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = off)")
                      .format(sql.Identifier("src", table)))
        c.execute("INSERT INTO src.listing_snapshots_t0 (generation, listing_id, t0) "
                  "SELECT 1, g, '2026-01-01 00:00:00+00' FROM generate_series(1, 500) AS g")
        assert not in_key_order(url), "no statistics must count as not ordered"
        c.execute("ANALYZE src.listing_snapshots_t0")  # in key order, but the only one known
        assert not in_key_order(url), "a source without statistics must count as not ordered"
    with psycopg.connect(url) as c:
        synth.fill(c, 2000, seed=5, replace=True)  # loads in key order, then ANALYZEs
    assert in_key_order(url)
    store_in_random_order(url)
    assert not in_key_order(url)


def test_the_package_is_the_same_whichever_join_plan_built_the_rows(make_database, monkeypatch):
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        synth.fill(c, 3000, seed=7)
    assert in_key_order(url)
    ordered = fit(url, "ordered_sources")
    monkeypatch.setattr(train, "sources_in_key_order", lambda _cur: False)
    hashed = fit(url, "hash_joins")
    assert ordered.oof_auc == hashed.oof_auc and ordered.eval_brier == hashed.eval_brier
    a, b = package(url, "ordered_sources"), package(url, "hash_joins")
    assert len(a["scores"]) == ordered.rows["train_sold"] > 0
    assert a == b  # exact: same floats, not approximately


def test_the_ordered_settings_hold_for_create_rows_only(make_database, monkeypatch):
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        synth.fill(c, 1000, seed=9)
    assert in_key_order(url)
    seen: dict[str, list[str]] = {}
    real_execute = psycopg.ClientCursor.execute

    def spy(self, query, params=None, **kwargs):
        if query is q.CREATE_ROWS or query is q.CREATE_CUTS:
            seen[("rows", "cuts")[query is q.CREATE_CUTS]] = [
                real_execute(self, "SELECT pg_catalog.current_setting(%s)", (name,)).fetchone()[0]
                for name, _ in train.ORDERED_SOURCE_SETTINGS]
        return real_execute(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.ClientCursor, "execute", spy)
    with psycopg.connect(url) as c:
        session = [c.execute("SELECT pg_catalog.current_setting(%s)", (name,)).fetchone()[0]
                   for name, _ in train.ORDERED_SOURCE_SETTINGS]
        c.rollback()
        train.fit(c, train.FitOptions(persist=False), **QUIET)
    assert seen["rows"] == [value for _, value in train.ORDERED_SOURCE_SETTINGS]
    assert seen["cuts"] == session == ["on", "on"]


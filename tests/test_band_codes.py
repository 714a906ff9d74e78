"""Band codes (0050): the one banding definition yields codes, the labels give their values.

What must hold for codes to be a faithful encoding of the bands: the labels are exactly the
band values (independent list in tests/packages.py), every code constant in the definition
names a label and every label is produced by some branch, the text bands are the labels of the
codes, and the code constants are folded at plan time (no function call per row).
"""

from __future__ import annotations

import re

import psycopg
import pytest

from tests.packages import BAND_ORDER, BAND_VALUES, insert_package, insert_source

CODE_CALL = re.compile(r"woe_anchor_band_code_v1\('(\w+)'::text, '(\w+)'::text\)")


@pytest.fixture
def url(make_database) -> str:
    url = make_database(migrate_to="head")
    with psycopg.connect(url) as c:
        insert_source(c, 400)
        insert_package(c, "codes_pkg")
    return url


def labels(conn: psycopg.Connection, band: str) -> list[str]:
    return conn.execute("SELECT ml.woe_anchor_band_labels_v1(%s)", (band,)).fetchone()[0]


def test_labels_are_exactly_the_band_values(conn):
    for band in BAND_ORDER:
        values = labels(conn, band)
        assert len(values) == len(set(values)), band
        assert set(values) == set(BAND_VALUES[band]), band
    assert conn.execute("SELECT ml.woe_anchor_band_labels_v1('no_such_band')").fetchone()[0] is None
    assert conn.execute(
        "SELECT ml.woe_anchor_band_code_v1('dsold', 'no_such_value')").fetchone()[0] is None


def test_every_code_constant_names_a_label_and_every_label_is_reachable(conn):
    definition = conn.execute(  # the definition and the present band's rule, which it calls
        "SELECT string_agg(pg_get_functiondef(f::regproc), E'\\n') FROM unnest(ARRAY["
        "'ml.woe_anchor_band_codes_v1', 'ml.woe_anchor_present_code_v1']) AS f").fetchone()[0]
    assert "ml.woe_anchor_present_code_v1(" in definition.split("CREATE OR REPLACE")[1]
    used = set(CODE_CALL.findall(definition))
    assert used, "no code constants found: the definition's text format changed"
    every_label = {(band, value) for band in BAND_ORDER for value in labels(conn, band)}
    assert used == every_label


def test_text_bands_are_the_labels_of_the_codes(url):
    with psycopg.connect(url) as c:
        rows = c.execute("SELECT * FROM ml.v_woe_anchor_bands_live_v1").fetchall()
        columns = [d.name for d in c.execute(
            "SELECT * FROM ml.v_woe_anchor_bands_live_v1 LIMIT 0").description]
        label_of = {band: labels(c, band) for band in BAND_ORDER}
    assert len(rows) == 400
    seen: dict[str, set[str]] = {band: set() for band in BAND_ORDER}
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        for band in BAND_ORDER:
            code, value = record[f"{band}_code"], record[band]
            assert (code is None) == (value is None), (band, record)
            if code is not None:
                assert label_of[band][code - 1] == value, (band, record)
                seen[band].add(value)
    # the source rows exercise more than one value of every band
    assert all(len(values) > 1 for values in seen.values()), seen


def test_code_constants_are_folded_at_plan_time(url):
    with psycopg.connect(url) as c:
        plan = "\n".join(r[0] for r in c.execute(
            "EXPLAIN (VERBOSE, COSTS OFF) SELECT woe_logit FROM ml.woe_anchor_scores_live_v1"))
    # inlined and folded: no banding function is called per row, the codes are constants
    assert "woe_anchor_band_code" not in plan and "woe_anchor_bands_v1" not in plan
    assert "woe_anchor_present_code" not in plan and "woe_anchor_presentation_score" not in plan
    assert "'2'::smallint" in plan


# 0055's rule for the present band, as ml.woe_anchor_band_codes_v1 spelled it inline before.
PREVIOUS_PRESENT_RULE = """
CASE
    WHEN c1 IS NULL OR c2 IS NULL THEN NULL
    WHEN score < c1 THEN ml.woe_anchor_band_code_v1('present', 'present_lo')
    WHEN score < c2 THEN ml.woe_anchor_band_code_v1('present', 'present_mid')
    ELSE ml.woe_anchor_band_code_v1('present', 'present_hi')
END
"""


def test_present_code_is_the_previous_rule_for_every_input(conn):
    values = ("NULL", "'NaN'", "'-Infinity'", "'Infinity'", "-1.5", "0", "0.25", "0.5", "0.75",
              "1", "2.5")
    grid = ", ".join(f"({v}::float8)" for v in values)
    rows = conn.execute(f"""
        SELECT count(*),
               count(*) FILTER (WHERE ml.woe_anchor_present_code_v1(score, c1, c2)
                                      IS DISTINCT FROM ({PREVIOUS_PRESENT_RULE})),
               count(DISTINCT ml.woe_anchor_present_code_v1(score, c1, c2))
        FROM (VALUES {grid}) AS s(score)
        CROSS JOIN (VALUES {grid}) AS a(c1)
        CROSS JOIN (VALUES {grid}) AS b(c2)
        WHERE score IS NOT NULL
    """).fetchone()
    total, different, codes = rows
    assert total > 1000 and codes == 3
    assert different == 0
    # a NULL score (no assets: the definition never asks) has no band
    assert conn.execute(
        "SELECT ml.woe_anchor_present_code_v1(NULL, 0.2, 0.4)").fetchone()[0] is None

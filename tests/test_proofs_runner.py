"""The proofs runner: each expectation kind passes when met and fails when broken."""

from __future__ import annotations

import pytest

from harness import proofs


def write(tmp_path, name: str, expect: str, body: str):
    path = tmp_path / f"{name}.sql"
    path.write_text(f"-- proof: {name}\n-- group: test\n-- expect: {expect}\n{body}\n")
    return path


CASES = [
    # (expect, body, should pass)
    ("rows = 2", "SELECT 1 UNION ALL SELECT 2;", True),
    ("rows = 3", "SELECT 1 UNION ALL SELECT 2;", False),
    ("rows >= 1", "SELECT 1 WHERE false;", False),
    ("rows <= 0", "SELECT 1 WHERE false;", True),
    ("value = CERTIFIED", "SELECT 'CERTIFIED'::text;", True),
    ("value = CERTIFIED", "SELECT 'FAILED'::text;", False),
    ("value = NULL", "SELECT NULL::int;", True),
    ("value >= 7", "SELECT 10;", True),
    ("value >= 7", "SELECT 6.5;", False),
    ("value <= 0", "SELECT NULL::int;", False),
    ("error ~ division by zero", "SELECT 1/0;", True),
    ("error ~ STALE", "SELECT 1;", False),
    ("rows = 1", "SELECT 1/0;", False),
    # several statements: the last result counts, and a 50% literal is no placeholder
    ("value = 50%", "CREATE TEMP TABLE t (x text); INSERT INTO t VALUES ('50%'); SELECT x FROM t;", True),
    # booleans as psql prints them; a comparison with a non-number fails instead of crashing
    ("value = t", "SELECT true;", True),
    ("value = f", "SELECT true;", False),
    ("value >= 1", "SELECT 'many'::text;", False),
    ("value >= 1", "SELECT true;", False),
]


@pytest.mark.parametrize(("expect", "body", "should_pass"), CASES)
def test_expectations(conn, tmp_path, expect, body, should_pass):
    proof = proofs.Proof.load(write(tmp_path, "p", expect, body))
    assert proofs.run_proof(conn, proof).passed is should_pass


def test_negative_proofs_change_nothing(conn, tmp_path):
    proof = proofs.Proof.load(
        write(tmp_path, "n", "error ~ boom",
              "CREATE TABLE public.leftover (x int);\nDO $$ BEGIN RAISE EXCEPTION 'boom'; END $$;")
    )
    assert proofs.run_proof(conn, proof).passed
    proof = proofs.Proof.load(write(tmp_path, "m", "rows = 1", "CREATE TABLE public.leftover2 (x int);\nSELECT 1;"))
    assert proofs.run_proof(conn, proof).passed
    assert conn.execute("SELECT to_regclass('public.leftover'), to_regclass('public.leftover2')").fetchone() == (None, None)


def test_malformed_headers_are_refused_by_name(tmp_path):
    (tmp_path / "bad.sql").write_text("-- proof: x\n-- expect: rows = 1\nSELECT 1;")
    with pytest.raises(proofs.ProofFormatError, match="bad.sql: header lacks group"):
        proofs.load_all(tmp_path)
    (tmp_path / "bad.sql").write_text("-- proof: x\n-- group: g\n-- expect: roughly 3\nSELECT 1;")
    with pytest.raises(proofs.ProofFormatError, match="cannot read expectation"):
        proofs.load_all(tmp_path)
    (tmp_path / "bad.sql").write_text("-- proof: x\n-- group: g\n-- expect: value >= lots\nSELECT 1;")
    with pytest.raises(proofs.ProofFormatError, match="cannot read expectation"):
        proofs.load_all(tmp_path)
    (tmp_path / "bad.sql").write_text(
        "-- proof: x\n-- group: g\n-- expect: rows = 5\n-- expect: rows = 1\nSELECT 1;")
    with pytest.raises(proofs.ProofFormatError, match="more than one expect"):
        proofs.load_all(tmp_path)


def test_only_the_leading_comment_block_is_the_header(conn, tmp_path):
    # an expectation-like comment further down cannot override the header's
    path = tmp_path / "p.sql"
    path.write_text("-- proof: x\n-- group: g\n-- expect: rows = 5\nSELECT 1;\n-- expect: rows = 1\n")
    proof = proofs.Proof.load(path)
    assert proof.expect == "rows = 5" and not proofs.run_proof(conn, proof).passed


def test_cli_exit_status_reflects_failures(database_url, tmp_path, capsys):
    write(tmp_path, "ok", "rows = 1", "SELECT 1;")
    assert proofs.main(["--database-url", database_url, "--dir", str(tmp_path)]) == 0
    write(tmp_path, "broken", "rows = 5", "SELECT 1;")
    assert proofs.main(["--database-url", database_url, "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  broken" in out and "1 passed, 1 failed" in out

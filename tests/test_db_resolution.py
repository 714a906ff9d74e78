"""harness.db decides which database is used: flag > WOE_DATABASE_URL > DATABASE_URL > embedded."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from harness import db


def test_precedence(monkeypatch):
    monkeypatch.setenv("WOE_DATABASE_URL", "postgresql://woe@h1/a")
    monkeypatch.setenv("DATABASE_URL", "postgresql://plain@h2/b")
    assert db.resolve("postgresql+psycopg://cli@h0/c") == db.ResolvedDatabase(
        "postgresql://cli@h0/c", "--database-url"
    )
    assert db.resolve().source == "WOE_DATABASE_URL"
    monkeypatch.delenv("WOE_DATABASE_URL")
    assert db.resolve() == db.ResolvedDatabase("postgresql://plain@h2/b", "DATABASE_URL")


def test_embedded_is_the_fallback_and_says_so(monkeypatch, capsys):
    monkeypatch.delenv("WOE_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    resolved = db.resolve()
    assert resolved.source == "embedded"
    assert "using embedded PostgreSQL 18 at " in capsys.readouterr().err
    import psycopg

    with psycopg.connect(resolved.url) as c:
        assert c.execute("SHOW server_version_num").fetchone()[0].startswith("18")


@pytest.mark.parametrize("bad", ["mysql://u@h/d", "not a url", "sqlite:///x.db"])
def test_non_postgres_urls_are_refused_clearly(bad):
    with pytest.raises(ValueError, match="URL"):
        db.resolve(bad)


def test_with_dbname_keeps_the_socket_host():
    url = "postgresql://postgres:@/postgres?host=/tmp/sock"
    assert db.with_dbname(url, "other") == "postgresql://postgres:@/other?host=/tmp/sock"


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], check=False, capture_output=True, timeout=20).returncode == 0


@pytest.mark.skipif(not _docker_answers(), reason="no Docker daemon answers on this machine")
def test_testcontainers_provider_migrates_to_head():
    from harness.containers import postgres_container
    from tests.conftest import upgrade

    with postgres_container() as url:
        upgrade(url)
        import psycopg

        with psycopg.connect(url) as c:
            assert c.execute("SELECT to_regclass('ml.woe_anchor_map_v1')").fetchone()[0]

"""``threadloom migrate`` and ``threadloom db upgrade`` from the command line."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

if os.environ.get("CI") != "true":  # CI installs the extra: there a missing one must fail
    pytest.importorskip("psycopg", reason="migrating needs the postgres extra")

from threadloom.cli.app import app
from threadloom.testing import generate_home

from ..migrate.homes import rollout_files
from ..store.postgres import server

runner = CliRunner()


@pytest.fixture
def pg_url() -> str:
    """This test process's database, as a postgresql:// URI."""
    return server.as_uri(server.process_database_url())


def test_migrate_copies_a_home_to_postgres_and_back(tmp_path: Path, pg_url: str) -> None:
    source, back = tmp_path / "home", tmp_path / "back"
    generate_home(source, threads=6, seed=4, archived_frac=0.3, named_frac=0.5)
    owner = ["--owner", server.new_owner()]

    there = runner.invoke(app, ["migrate", "--from", str(source), "--to", pg_url, *owner])
    again = runner.invoke(app, ["migrate", "--from", str(source), "--to", pg_url, *owner])
    home = runner.invoke(app, ["migrate", "--from", pg_url, "--to", str(back), *owner])

    assert there.exit_code == 0, there.output
    assert "6 copied, 0 unchanged, 0 failed" in there.output
    assert "verified: threads 6" in there.output
    assert again.exit_code == 0, again.output
    assert "0 copied, 6 unchanged" in again.output
    assert home.exit_code == 0, home.output
    assert "verified: threads 6" in home.output
    assert rollout_files(back) == rollout_files(source)


def test_migrate_needs_one_url_and_one_home(tmp_path: Path) -> None:
    both_homes = runner.invoke(app, ["migrate", "--from", str(tmp_path), "--to", str(tmp_path)])
    no_home = runner.invoke(
        app, ["migrate", "--from", str(tmp_path / "nope"), "--to", "postgresql://x@127.0.0.1/db"]
    )

    assert both_homes.exit_code == 2
    assert "one of --from and --to must be a postgresql:// URL" in both_homes.output
    assert no_home.exit_code == 2
    assert "no such CODEX_HOME folder" in no_home.output


def test_migrate_to_an_unreachable_server_fails_with_the_reason(tmp_path: Path) -> None:
    generate_home(tmp_path, threads=1, seed=1)

    result = runner.invoke(
        app, ["migrate", "--from", str(tmp_path), "--to", "postgresql://nobody@127.0.0.1:1/none"]
    )

    assert result.exit_code == 1
    assert "error: PostgreSQL is unavailable" in result.output


def test_db_upgrade_is_a_threadloom_command(pg_url: str) -> None:
    schema = f"tl_{uuid.uuid4().hex[:12]}"
    try:
        result = runner.invoke(app, ["db", "upgrade", pg_url, "--schema", schema])
        assert result.exit_code == 0, result.output
        assert f"schema {schema}: version 0 →" in result.output
    finally:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    psycopg.sql.Identifier(schema)
                )
            )

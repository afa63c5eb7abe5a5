"""Fixtures of the migration tests: a PostgreSQL test database (see tests/store/postgres)."""

from __future__ import annotations

import os

import pytest

if os.environ.get("CI") != "true":  # CI installs the extra: there a missing one must fail
    pytest.importorskip("psycopg", reason="migrating needs the postgres extra")

from ..store.postgres import server


@pytest.fixture
def pg_url() -> str:
    """This test process's database (skipped without a server, except under CI=true)."""
    return server.process_database_url()


@pytest.fixture
def owner() -> str:
    """An owner no other test uses."""
    return server.new_owner()

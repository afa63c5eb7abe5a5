"""Fixtures of the PostgreSQL store's own tests (see ``server`` for the server they use)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

if os.environ.get("CI") != "true":  # CI installs the extra: there a missing one must fail
    pytest.importorskip("psycopg", reason="the PostgreSQL store needs the postgres extra")

from threadloom.store.postgres import PostgresThreadStore

from . import server

StoreFactory = Callable[..., PostgresThreadStore]


@pytest.fixture
def pg_url() -> str:
    """This test process's database (skipped without a server, except under CI=true)."""
    return server.process_database_url()


@pytest.fixture
async def stores(pg_url: str) -> AsyncIterator[StoreFactory]:
    """Make stores on the test database for owners of this test's own (``owner`` names one
    of them: each test gets fresh owners); every store made is closed after the test."""
    made: list[PostgresThreadStore] = []
    prefix = server.new_owner()

    def make(owner: str = "default", **options: Any) -> PostgresThreadStore:
        options.setdefault("default_provider", "openai")
        url = options.pop("url", pg_url)
        store = PostgresThreadStore(url, owner=f"{prefix}-{owner}", **options)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


@pytest.fixture
async def schema(pg_url: str) -> AsyncIterator[str]:
    """A schema name no other test uses (dropped afterwards)."""
    import psycopg  # noqa: PLC0415 - after the extra's check above

    name = f"tl_{uuid.uuid4().hex[:12]}"
    yield name
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(
            psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(name))
        )

"""The schema: numbered migrations recorded in a version table, applied once, in order."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from typer.testing import CliRunner

from threadloom import CorruptData, ListThreadsParams, ReadThreadParams, Unavailable
from threadloom.cli.db import db_app
from threadloom.store.postgres.schema import (
    LATEST,
    MIGRATIONS,
    Migration,
    current_version,
    has_trigram_indexes,
    upgrade,
)

from ...conformance.builders import make_thread, user_message
from . import server
from .conftest import StoreFactory


async def versions(pg_url: str, schema: str) -> list[tuple[int, str]]:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        cur = await conn.execute(
            psycopg.sql.SQL("SELECT version, description FROM {}.schema_version ORDER BY 1").format(
                psycopg.sql.Identifier(schema)
            )
        )
        return [(int(v), str(d)) for v, d in await cur.fetchall()]


async def test_an_upgrade_applies_every_migration_once_and_records_it(
    pg_url: str, schema: str
) -> None:
    first = await upgrade(pg_url, schema)
    again = await upgrade(pg_url, schema)

    assert (first.before, first.after, first.applied) == (0, LATEST, tuple(range(1, LATEST + 1)))
    assert (again.before, again.after, again.applied) == (LATEST, LATEST, ())
    assert await versions(pg_url, schema) == [(m.version, m.description) for m in MIGRATIONS]


async def test_concurrent_upgrades_apply_each_migration_once(pg_url: str, schema: str) -> None:
    results = await asyncio.gather(*(upgrade(pg_url, schema) for _ in range(4)))

    assert sorted(r.applied for r in results) == [(), (), (), tuple(range(1, LATEST + 1))]
    assert [v for v, _ in await versions(pg_url, schema)] == list(range(1, LATEST + 1))


NOTES_V1 = Migration(1, "notes", ("CREATE TABLE notes (id integer PRIMARY KEY, body text)",))
NOTES_V2 = Migration(2, "notes get a tag", ("ALTER TABLE notes ADD COLUMN tag text",))


async def test_a_later_migration_applies_on_top_and_keeps_the_data(
    pg_url: str, schema: str
) -> None:
    await upgrade(pg_url, schema, [NOTES_V1])
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(f"INSERT INTO \"{schema}\".notes VALUES (1, 'kept')".encode())

    result = await upgrade(pg_url, schema, [NOTES_V2, NOTES_V1])

    assert (result.before, result.after, result.applied) == (1, 2, (2,))
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        cur = await conn.execute(f'SELECT id, body, tag FROM "{schema}".notes'.encode())
        assert await cur.fetchall() == [(1, "kept", None)]


async def test_a_failing_migration_changes_nothing(pg_url: str, schema: str) -> None:
    await upgrade(pg_url, schema, [NOTES_V1])
    broken = Migration(2, "broken", ("ALTER TABLE notes ADD COLUMN tag text", "SELECT nope"))

    with pytest.raises(psycopg.Error):
        await upgrade(pg_url, schema, [NOTES_V1, broken])

    assert await versions(pg_url, schema) == [(1, "notes")]
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        cur = await conn.execute(f'SELECT * FROM "{schema}".notes'.encode())
        assert [c.name for c in cur.description or []] == ["id", "body"]


async def test_a_schema_newer_than_this_threadloom_is_refused(
    pg_url: str, schema: str, stores: StoreFactory
) -> None:
    await upgrade(pg_url, schema)
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(
            f"INSERT INTO \"{schema}\".schema_version VALUES ({LATEST + 1}, 'future')".encode()
        )

    with pytest.raises(CorruptData, match=f"version {LATEST + 1}, newer"):
        await upgrade(pg_url, schema)
    with pytest.raises(CorruptData, match="newer than this threadloom"):
        await make_thread(stores(schema=schema))


async def test_a_store_creates_its_schema_on_first_use_in_a_new_database(
    stores: StoreFactory,
) -> None:
    async with server.fresh_database() as url:
        store = stores(url=url)
        tid = await make_thread(store, user_message("first"))
        assert (await store.read_thread(ReadThreadParams(thread_id=tid))).preview == "first"
        await store.close()
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            assert await current_version(conn, "threadloom") == LATEST


async def test_a_store_told_not_to_upgrade_asks_for_the_upgrade_command(
    stores: StoreFactory, schema: str
) -> None:
    with pytest.raises(Unavailable, match="threadloom db upgrade"):
        await make_thread(stores(schema=schema, upgrade=False))


def test_the_db_upgrade_command_upgrades_and_says_what_it_did(pg_url: str, schema: str) -> None:
    runner = CliRunner()

    first = runner.invoke(db_app, ["upgrade", pg_url, "--schema", schema])
    again = runner.invoke(db_app, ["upgrade", pg_url, "--schema", schema])
    bad = runner.invoke(db_app, ["upgrade", "postgresql://nobody@127.0.0.1:1/none"])

    assert first.exit_code == 0, first.output
    assert f"version 0 → {LATEST}" in first.output
    assert again.exit_code == 0
    assert f"already at version {LATEST}" in again.output
    assert bad.exit_code == 1
    assert "error:" in bad.output


async def test_listing_indexes_and_compression_are_in_place_after_an_upgrade(
    pg_url: str, schema: str
) -> None:
    await upgrade(pg_url, schema)

    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        cur = await conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        assert await has_trigram_indexes(conn, schema) == (await cur.fetchone() is not None)
        cur = await conn.execute(  # appends rewrite rows: searches read short pending lists
            "SELECT c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname LIKE %s",
            (schema, "%trgm"),
        )
        assert all(r[0] == ["gin_pending_list_limit=256"] for r in await cur.fetchall())
        cur = await conn.execute(
            "SELECT attstattarget FROM pg_attribute"
            " WHERE attrelid = format('%%I.threads', %s::text)::regclass AND attname = 'preview'",
            (schema,),
        )
        assert await cur.fetchone() == (1000,)
        cur = await conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND indexname LIKE %s",
            (schema, "threads_by_cwd%"),
        )
        assert sorted(r[0] for r in await cur.fetchall()) == [
            "threads_by_cwd",
            "threads_by_cwd_s",
        ]
        cur = await conn.execute(
            "SELECT c.relname, a.attname, a.attcompression FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND a.attcompression <> '' ORDER BY 1",
            (schema,),
        )
        compressed = await cur.fetchall()
        try:
            await conn.execute("SET default_toast_compression = lz4")
        except psycopg.errors.InvalidParameterValue:  # built without lz4: pglz stays
            assert compressed == []
        else:
            assert compressed == [
                ("items", "line", "l"),
                ("texts", "body", "l"),
                ("threads", "state", "l"),
            ]


async def test_a_server_without_pg_trgm_gets_no_trigram_indexes_and_search_terms_still_work(
    stores: StoreFactory,
) -> None:
    async with server.fresh_database() as url:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            # pg_trgm can only be installed into the public schema, and there is none
            await conn.execute("DROP SCHEMA public CASCADE")
        store = stores(url=url)
        await make_thread(store, user_message("a flaky test"))
        await make_thread(store, user_message("all green"))

        page = await store.list_threads(ListThreadsParams(search_term="flaky"))

        assert [t.preview for t in page.items] == ["a flaky test"]
        assert not store.db.trigram
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            assert not await has_trigram_indexes(conn, "threadloom")
            assert await current_version(conn, "threadloom") == LATEST
        await store.close()

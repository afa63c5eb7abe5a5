"""Migration 4: summaries stored before recorded thread settings counted are folded again."""

from __future__ import annotations

import msgspec
import psycopg

from threadloom import ReadThreadParams
from threadloom.store.postgres.schema import LATEST, upgrade

from ...conformance.builders import make_thread, settings_applied, turn
from .conftest import StoreFactory


async def test_summaries_stored_under_the_old_rules_follow_recorded_settings(
    pg_url: str, schema: str, stores: StoreFactory
) -> None:
    store = stores(schema=schema)
    resumed = await make_thread(
        store, *turn("first", model="gpt-5"), settings_applied("gpt-6", effort="high", cwd="/w/b")
    )
    plain = await make_thread(store, *turn("second", model="gpt-5"))
    await store.close()
    untouched = (await _age(pg_url, schema))[plain]

    result = await upgrade(pg_url, schema)

    store = stores(schema=schema)
    thread = await store.read_thread(ReadThreadParams(thread_id=resumed))
    other = await store.read_thread(ReadThreadParams(thread_id=plain))
    assert result.applied == tuple(range(4, LATEST + 1))
    assert (thread.model, thread.reasoning_effort, thread.settings_cwd) == ("gpt-6", "high", "/w/b")
    assert (other.model, other.reasoning_effort) == ("gpt-5", None)
    assert (await _states(pg_url, schema))[plain] == untouched


async def _states(pg_url: str, schema: str) -> dict[str, bytes]:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(
            psycopg.sql.SQL("SET search_path TO {}").format(psycopg.sql.Identifier(schema))
        )
        cur = await conn.execute("SELECT thread_id, state FROM threads")
        return {t: bytes(s) for t, s in await cur.fetchall()}


async def _age(pg_url: str, schema: str) -> dict[str, bytes]:
    """Give every row the summary the old rules stored (model and effort of the last turn
    context, no settings) and forget migration 4 (and those after it); the rows' states as
    they now are."""
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(
            psycopg.sql.SQL("SET search_path TO {}").format(psycopg.sql.Identifier(schema))
        )
        cur = await conn.execute("SELECT key, state FROM threads")
        for key, blob in await cur.fetchall():
            state = msgspec.msgpack.decode(bytes(blob))
            state.update(model=state["context_model"], reasoning_effort=None)
            for new in ("context_model", "settings_cwd", "last_task_id"):
                state.pop(new, None)
            await conn.execute(
                "UPDATE threads SET state = %s WHERE key = %s", (msgspec.msgpack.encode(state), key)
            )
        await conn.execute("DELETE FROM schema_version WHERE version >= 4")
    return await _states(pg_url, schema)

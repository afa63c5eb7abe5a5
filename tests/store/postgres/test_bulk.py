"""Large batches (lines stored with COPY) and what deleting a thread takes with it."""

from __future__ import annotations

import pytest

from threadloom import HistoryMode, LiveThread, LoadHistoryParams, WriteFailed
from threadloom.protocol.codec import encode_line
from threadloom.protocol.rollout import RESPONSE_ITEM, RolloutLine
from threadloom.store.params import SearchThreadsParams, ThreadIdParams
from threadloom.store.postgres import PostgresThreadStore
from threadloom.store.postgres.writer import COPY_FROM, words

from ...conformance.builders import agent_message, create_params
from .conftest import StoreFactory
from .test_retries import LostAcks, output
from .test_writer import TEXTS


async def thread_key(store: PostgresThreadStore, thread_id: str) -> int:
    async with store.db.connection() as conn:
        cur = await conn.execute(
            "SELECT key FROM threads WHERE owner = %s AND thread_id = %s", (store.owner, thread_id)
        )
        found = await cur.fetchone()
    assert found is not None
    return int(found[0])


async def stored_rows(store: PostgresThreadStore, key: int) -> tuple[int, int]:
    """How many items and texts rows a thread key has."""
    async with store.db.connection() as conn:
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM items WHERE thread_key = %s),"
            " (SELECT count(*) FROM texts WHERE thread_key = %s)",
            (key, key),
        )
        found = await cur.fetchone()
    assert found is not None
    return int(found[0]), int(found[1])


def big_batch(tag: str) -> list[RolloutLine]:
    """More lines than COPY_FROM: tool outputs, and what the agent says (search texts)."""
    lines = [output(f'{tag} line {n} \u00e9\u2028"quoted"') for n in range(COPY_FROM)]
    return [*lines, *(agent_message(f"{tag} said {n}") for n in range(5))]


@pytest.mark.parametrize("mode", [HistoryMode.LEGACY, HistoryMode.PAGINATED])
async def test_large_batches_are_stored_byte_for_byte(
    stores: StoreFactory, mode: HistoryMode
) -> None:
    store = stores()
    live = await LiveThread.create(store, create_params(history_mode=mode))
    first, second = big_batch("first"), big_batch("second")
    await live.append(first)  # materialises the thread: its row and lines in one transaction
    await live.flush()
    await live.append(second)  # a stored thread: the lease-guarded update, then the COPY
    await live.shutdown()

    history = await store.load_history(LoadHistoryParams(thread_id=live.thread_id))
    stored = history.items[1:]
    if mode == HistoryMode.PAGINATED:  # events are not kept: only the tool outputs
        kept = [line for line in first + second if line.type == RESPONSE_ITEM]
        assert [line.payload for line in stored] == [line.payload for line in kept]
        assert [line.ordinal for line in history.items] == list(range(len(history.items)))
        return
    raws = [encode_line(line) for line in first + second]
    assert [encode_line(line) for line in stored] == raws
    found = await store.search_threads(SearchThreadsParams(query="second"))
    assert [hit.thread.thread_id for hit in found.items] == [live.thread_id]


async def test_a_retried_large_batch_is_stored_once(
    stores: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = stores()
    acks = LostAcks(store, monkeypatch)
    live = await LiveThread.create(store, create_params())
    await live.append([output("start")])
    await live.flush()
    acks.armed = 1
    batch = big_batch("again")
    await live.append(batch)
    with pytest.raises(WriteFailed):
        await live.flush()
    await live.flush()
    await live.shutdown()
    history = await store.load_history(LoadHistoryParams(thread_id=live.thread_id))
    assert [line.payload for line in history.items[2:]] == [line.payload for line in batch]


async def test_deleting_a_thread_deletes_its_lines_and_texts(stores: StoreFactory) -> None:
    store = stores()
    live = await LiveThread.create(store, create_params())
    await live.append(big_batch("gone"))
    await live.shutdown()
    key = await thread_key(store, live.thread_id)
    assert await stored_rows(store, key) == (COPY_FROM + 6, 5)

    await store.delete_thread(ThreadIdParams(thread_id=live.thread_id))
    assert await stored_rows(store, key) == (0, 0)


async def test_the_stored_words_are_the_reference_words(stores: StoreFactory) -> None:
    store = stores()
    said = [t for t in TEXTS if t and "\x00" not in t] + ["Again again AGAIN, and again."]
    live = await LiveThread.create(store, create_params())
    await live.append([agent_message(t) for t in said])  # the thread's first write
    await live.flush()
    await live.append([agent_message(t) for t in said])  # one statement
    await live.shutdown()

    key = await thread_key(store, live.thread_id)
    async with store.db.connection() as conn:
        cur = await conn.execute(
            "SELECT body, words::text FROM texts WHERE thread_key = %s ORDER BY id", (key,)
        )
        rows = await cur.fetchall()
        assert len(rows) == 2 * len(said)
        for body, stored in rows:
            cur = await conn.execute("SELECT array_to_tsvector(%s::text[])::text", (words(body),))
            assert await cur.fetchone() == (stored,)


async def test_truncating_threads_empties_lines_and_texts(
    stores: StoreFactory, schema: str
) -> None:
    store = stores(schema=schema)
    live = await LiveThread.create(store, create_params())
    await live.append(big_batch("all"))
    await live.shutdown()
    key = await thread_key(store, live.thread_id)
    assert await stored_rows(store, key) == (COPY_FROM + 6, 5)
    async with store.db.connection() as conn:
        await conn.execute(f'TRUNCATE "{schema}".threads CASCADE'.encode())
        await conn.commit()
    assert await stored_rows(store, key) == (0, 0)

"""Appends retried after a lost connection are applied once; nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from threadloom import (
    AppendItemsParams,
    HistoryMode,
    ListThreadsParams,
    LiveThread,
    LoadHistoryParams,
    ThreadloomError,
    Unavailable,
    WriteFailed,
)
from threadloom.ids import ThreadId
from threadloom.protocol.rollout import RESPONSE_ITEM, RolloutLine
from threadloom.store.postgres import PostgresThreadStore
from threadloom.store.postgres.db import Conn

from ...conformance.builders import (
    LINE_TIME,
    agent_message,
    create_params,
    make_thread,
    user_message,
)
from .conftest import StoreFactory


async def messages(store: PostgresThreadStore, tid: ThreadId) -> list[str]:
    history = await store.load_history(LoadHistoryParams(thread_id=tid))
    return [line.payload["message"] for line in history.items[1:]]


def batch(tid: ThreadId, *texts: str, key: str | None) -> AppendItemsParams:
    return AppendItemsParams(
        thread_id=tid, items=[agent_message(t) for t in texts], idempotency_key=key
    )


class Server:
    """Ends the connections of one store (as a server restart or a network cut does)."""

    def __init__(self, pg_url: str) -> None:
        self.name = f"tl-{uuid.uuid4().hex[:12]}"
        self.url = make_conninfo(pg_url, application_name=self.name)
        self.admin_url = pg_url

    async def cut(self) -> int:
        async with await psycopg.AsyncConnection.connect(self.admin_url, autocommit=True) as conn:
            cur = await conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (self.name,),
            )
            row = await cur.fetchone()
            return int(row[0]) if row else 0


async def test_a_batch_sent_again_with_its_key_is_applied_once(stores: StoreFactory) -> None:
    store = stores()
    tid = await make_thread(store, user_message("hi"), keep_writer=True)

    await store.append_items(batch(tid, "a", "b", key="batch-1"))
    await store.append_items(batch(tid, "a", "b", key="batch-1"))
    await store.append_items(batch(tid, "c", key="batch-2"))
    await store.append_items(batch(tid, "c", key=None))

    assert await messages(store, tid) == ["hi", "a", "b", "c", "c"]


async def test_a_batch_retried_after_a_lost_connection_is_applied_once(
    stores: StoreFactory, pg_url: str
) -> None:
    server = Server(pg_url)
    store = stores(url=server.url)
    tid = await make_thread(store, user_message("hi"), keep_writer=True)
    await store.append_items(batch(tid, "a", key="k1"))

    assert await server.cut() >= 1
    applied = False
    for _ in range(5):  # retry until a fresh connection is used, as a caller would
        try:
            await store.append_items(batch(tid, "a", key="k1"))  # its ack was "lost"
            await store.append_items(batch(tid, "b", key="k2"))
            applied = True
            break
        except Unavailable:
            continue
    assert applied
    await store.append_items(batch(tid, "b", key="k2"))

    assert await messages(store, tid) == ["hi", "a", "b"]


async def test_a_live_thread_loses_and_repeats_nothing_across_a_cut(
    stores: StoreFactory, pg_url: str
) -> None:
    server = Server(pg_url)
    store = stores(url=server.url)
    live = await LiveThread.create(store, create_params())
    sent = [f"line {n}" for n in range(30)]
    await live.append([user_message("start")])
    await live.flush()

    failures = 0
    for n, text in enumerate(sent):
        while True:  # a background failure is raised once; the line is then not taken
            try:
                await live.append([agent_message(text)])
                break
            except WriteFailed:
                failures += 1
        if n % 10 == 5:
            await server.cut()
        await asyncio.sleep(0)
    for _ in range(10):
        try:
            await live.flush()
            break
        except WriteFailed:
            continue
    else:
        pytest.fail("flush never succeeded after the connection was cut")
    await live.shutdown()

    assert failures >= 1, "the cuts were noticed"
    assert await messages(store, live.thread_id) == ["start", *sent]


async def test_reads_go_on_after_the_server_ended_their_connections(
    stores: StoreFactory, pg_url: str
) -> None:
    server = Server(pg_url)
    store = stores(url=server.url, max_pool_size=3)
    tid = await make_thread(store, user_message("hi"))
    listing = ListThreadsParams()
    assert [t.thread_id for t in (await store.list_threads(listing)).items] == [tid]

    await server.cut()

    try:
        page = await store.list_threads(listing)
    except ThreadloomError as exc:  # pragma: no cover - the failure this test guards against
        pytest.fail(f"a read after a cut failed: {exc}")
    assert [t.thread_id for t in page.items] == [tid]


class LostAcks:
    """Makes the store's next ``armed`` writes commit and then fail, as when the connection
    drops between the commit and its acknowledgement."""

    def __init__(self, store: PostgresThreadStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.armed = 0
        for name in ("transaction", "one_statement"):  # every way the store commits a write
            monkeypatch.setattr(store.db, name, self._lossy(getattr(store.db, name)))

    def _lossy(
        self, real: Callable[[], AbstractAsyncContextManager[Conn]]
    ) -> Callable[[], AbstractAsyncContextManager[Conn]]:
        @asynccontextmanager
        async def lossy() -> AsyncIterator[Conn]:
            async with real() as conn:
                yield conn
            if self.armed:
                self.armed -= 1
                raise Unavailable("connection lost before the commit was acknowledged")

        return lossy


def output(text: str) -> RolloutLine:
    """A tool output: kept by every policy, legacy and paginated."""
    return RolloutLine(
        timestamp=LINE_TIME,
        type=RESPONSE_ITEM,
        payload={"type": "function_call_output", "call_id": text, "output": text},
    )


@pytest.mark.parametrize("mode", [HistoryMode.LEGACY, HistoryMode.PAGINATED])
@pytest.mark.parametrize("first", [True, False], ids=["materializing", "later"])
async def test_a_live_thread_retrying_a_committed_batch_stores_it_once(
    stores: StoreFactory, monkeypatch: pytest.MonkeyPatch, mode: HistoryMode, first: bool
) -> None:
    store = stores()
    acks = LostAcks(store, monkeypatch)
    live = await LiveThread.create(store, create_params(history_mode=mode))
    if not first:
        await live.append([output("start")])
        await live.flush()
    sent = [output(f"line {n}") for n in range(5)]

    acks.armed = 2
    await live.append(sent[:2])
    with pytest.raises(WriteFailed):
        await live.flush()
    await live.append(sent[2:])  # queued behind the batch whose outcome is unknown
    with pytest.raises(WriteFailed):
        await live.flush()  # the retry commits, and its acknowledgement is lost too
    await live.flush()
    await live.shutdown()

    history = await store.load_history(LoadHistoryParams(thread_id=live.thread_id))
    stored = [line.payload["output"] for line in history.items[1:]]
    expected = [f"line {n}" for n in range(5)]
    assert stored == (expected if first else ["start", *expected])
    if mode == HistoryMode.PAGINATED:
        assert [line.ordinal for line in history.items] == list(range(len(history.items)))

"""One live writer per thread across every process: leases, their renewal and their expiry."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time

import psycopg
import pytest

from threadloom import (
    AppendItemsParams,
    Conflict,
    LiveThread,
    LoadHistoryParams,
    ResumeThreadParams,
    ThreadIdParams,
)
from threadloom.ids import ThreadId

from ...conformance.builders import create_params, make_thread, user_message
from .conftest import StoreFactory


async def expire_leases(pg_url: str, owner: str) -> None:
    """Make every lease of ``owner`` look expired (as after a long stall of its holder)."""
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute(
            "UPDATE threadloom.writers SET expires_at = clock_timestamp() - interval '1 second'"
            " WHERE owner = %s",
            (owner,),
        )


async def messages(store: object, tid: ThreadId) -> list[str]:
    from threadloom.store.postgres import PostgresThreadStore  # noqa: PLC0415

    assert isinstance(store, PostgresThreadStore)
    history = await store.load_history(LoadHistoryParams(thread_id=tid))
    return [line.payload["message"] for line in history.items[1:]]


async def test_a_thread_held_by_one_store_cannot_be_opened_by_another(
    stores: StoreFactory,
) -> None:
    first, second = stores(), stores()  # two processes' views of one owner
    live = await LiveThread.create(first, create_params())
    await live.append([user_message("hello")])
    await live.flush()

    with pytest.raises(Conflict, match="already has an active writer"):
        await LiveThread.resume(second, live.thread_id)
    with pytest.raises(Conflict, match="already has an active writer"):
        await second.create_thread(create_params(live.thread_id))
    await live.shutdown()

    again = await LiveThread.resume(second, live.thread_id)
    await again.append([user_message("from the second")])
    await again.shutdown()
    assert await messages(first, live.thread_id) == ["hello", "from the second"]


async def test_a_started_thread_is_claimed_before_anything_is_stored(
    stores: StoreFactory,
) -> None:
    first, second = stores(), stores()
    live = await LiveThread.create(first, create_params())

    with pytest.raises(Conflict, match="already has an active writer"):
        await second.create_thread(create_params(live.thread_id))
    await live.discard()
    created = await second.create_thread(create_params(live.thread_id))
    assert created.thread_id == live.thread_id


async def test_a_live_writer_keeps_its_thread_beyond_one_lease(stores: StoreFactory) -> None:
    first, second = stores(writer_lease_s=0.6), stores()
    live = await LiveThread.create(first, create_params())
    await live.append([user_message("hello")])
    await live.flush()

    await asyncio.sleep(1.5)  # idle for more than two leases: renewed in the background

    with pytest.raises(Conflict):
        await second.resume_thread(ResumeThreadParams(thread_id=live.thread_id))
    await live.append([user_message("still mine")])
    await live.shutdown()
    assert await messages(second, live.thread_id) == ["hello", "still mine"]


async def test_a_writer_whose_lease_was_taken_over_cannot_write_any_more(
    stores: StoreFactory, pg_url: str
) -> None:
    first, second = stores(), stores()
    tid = await make_thread(first, user_message("one"), keep_writer=True)
    await expire_leases(pg_url, first.owner)

    await second.resume_thread(ResumeThreadParams(thread_id=tid))
    with pytest.raises(Conflict, match="no longer held"):
        await first.append_items(AppendItemsParams(thread_id=tid, items=[user_message("two")]))
    await second.append_items(AppendItemsParams(thread_id=tid, items=[user_message("three")]))
    await second.shutdown_thread(ThreadIdParams(thread_id=tid))

    assert await messages(second, tid) == ["one", "three"]


CRASHING_WRITER = textwrap.dedent(
    """
    import asyncio, os, sys
    from threadloom import CreateThreadParams, LiveThread, RolloutLine, new_thread_id
    from threadloom.store.postgres import PostgresThreadStore

    async def main() -> None:
        store = PostgresThreadStore(sys.argv[1], owner=sys.argv[2], writer_lease_s=1.0)
        live = await LiveThread.create(store, CreateThreadParams(
            thread_id=new_thread_id(), cwd="/w", originator="test", cli_version="0.169.0"))
        await live.append([RolloutLine(timestamp="2025-03-01T10:00:00.000Z", type="event_msg",
            payload={"type": "user_message", "message": "before the crash"})])
        await live.flush()
        print(live.thread_id, flush=True)
        os._exit(9)  # no shutdown, no lease released: a crash

    asyncio.run(main())
    """
)


async def test_the_lease_of_a_crashed_writer_expires(stores: StoreFactory, pg_url: str) -> None:
    survivor = stores()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, pg_url, survivor.owner],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 9, done.stderr
    tid = ThreadId(done.stdout.strip())
    crashed_at = time.monotonic()

    with pytest.raises(Conflict):
        await survivor.resume_thread(ResumeThreadParams(thread_id=tid))
    while True:
        try:
            await survivor.resume_thread(ResumeThreadParams(thread_id=tid))
            break
        except Conflict:
            assert time.monotonic() - crashed_at < 10, "the lease never expired"
            await asyncio.sleep(0.1)

    await survivor.append_items(AppendItemsParams(thread_id=tid, items=[user_message("after")]))
    await survivor.shutdown_thread(ThreadIdParams(thread_id=tid))
    assert await messages(survivor, tid) == ["before the crash", "after"]


async def test_closing_a_store_gives_its_leases_up(stores: StoreFactory) -> None:
    first, second = stores(), stores()
    tid = await make_thread(first, user_message("one"), keep_writer=True)

    await first.close()

    resumed = await second.resume_thread(ResumeThreadParams(thread_id=tid))
    assert resumed.thread_id == tid

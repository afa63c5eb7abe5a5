"""Concurrent calls from many asyncio tasks: nothing lost, per-task order kept, one writer."""

from __future__ import annotations

import asyncio

from threadloom.errors import Conflict
from threadloom.ids import ThreadId
from threadloom.store.base import ThreadStore
from threadloom.store.params import (
    AppendItemsParams,
    ListThreadsParams,
    LoadHistoryParams,
    ResumeThreadParams,
    SetThreadNameParams,
    ThreadIdParams,
)
from threadloom.store.records import ThreadPage

from .builders import BASE_MS, event, make_thread, user_message

TASKS = 8
LINES_PER_TASK = 25


async def test_appends_from_many_tasks_all_land_in_order_per_task(store: ThreadStore) -> None:
    tid = await make_thread(store, keep_writer=True)

    async def writer(task: int) -> None:
        for seq in range(LINES_PER_TASK):
            line = event({"type": "agent_message", "message": f"{task}:{seq}"})
            await store.append_items(AppendItemsParams(thread_id=tid, items=[line]))
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(task) for task in range(TASKS)))
    await store.shutdown_thread(ThreadIdParams(thread_id=tid))

    messages = [
        line.payload["message"]
        for line in (await store.load_history(LoadHistoryParams(thread_id=tid))).items
        if line.event_type == "agent_message"
    ]
    assert len(messages) == TASKS * LINES_PER_TASK
    for task in range(TASKS):
        own = [int(m.split(":")[1]) for m in messages if m.startswith(f"{task}:")]
        assert own == list(range(LINES_PER_TASK))


async def test_batches_appended_concurrently_are_never_interleaved(store: ThreadStore) -> None:
    tid = await make_thread(store, keep_writer=True)
    batch_size = 10

    async def writer(task: int) -> None:
        batch = [event({"type": "agent_message", "message": f"{task}"}) for _ in range(batch_size)]
        await store.append_items(AppendItemsParams(thread_id=tid, items=batch))

    await asyncio.gather(*(writer(task) for task in range(TASKS)))
    await store.shutdown_thread(ThreadIdParams(thread_id=tid))

    messages = [
        line.payload["message"]
        for line in (await store.load_history(LoadHistoryParams(thread_id=tid))).items
        if line.event_type == "agent_message"
    ]
    runs = [messages[i : i + batch_size] for i in range(0, len(messages), batch_size)]
    assert len(runs) == TASKS
    assert all(len(set(run)) == 1 for run in runs)


async def test_threads_created_concurrently_are_all_stored(store: ThreadStore) -> None:
    made = await asyncio.gather(
        *(
            make_thread(store, user_message(f"q{n}"), created_ms=BASE_MS + n * 1000)
            for n in range(20)
        )
    )

    page = await store.list_threads(ListThreadsParams(limit=100))

    assert sorted(t.thread_id for t in page.items) == sorted(made)


async def test_only_one_of_many_concurrent_resumes_gets_the_writer(store: ThreadStore) -> None:
    tid = await make_thread(store)

    results = await asyncio.gather(
        *(store.resume_thread(ResumeThreadParams(thread_id=tid)) for _ in range(6)),
        return_exceptions=True,
    )

    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(error, Conflict) for error in losers)


async def test_concurrent_renames_and_listings_see_consistent_names(store: ThreadStore) -> None:
    tids: list[ThreadId] = [
        await make_thread(store, user_message(f"q{n}"), created_ms=BASE_MS + n) for n in range(5)
    ]

    async def rename(tid: ThreadId) -> None:
        for n in range(5):
            await store.set_thread_name(SetThreadNameParams(thread_id=tid, name=f"{tid}-{n}"))
            await asyncio.sleep(0)

    async def rename_all() -> None:
        await asyncio.gather(*(rename(tid) for tid in tids))

    async def list_many() -> list[ThreadPage]:
        return list(
            await asyncio.gather(*(store.list_threads(ListThreadsParams()) for _ in range(5)))
        )

    _, pages = await asyncio.gather(rename_all(), list_many())

    assert all(sorted(t.thread_id for t in page.items) == sorted(tids) for page in pages)
    final = await store.list_threads(ListThreadsParams())
    assert {t.thread_id: t.name for t in final.items} == {tid: f"{tid}-4" for tid in tids}

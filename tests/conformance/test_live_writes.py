"""LiveThread's background writer on every backend: strict ordering under concurrent appends
and back-pressure, and write failures surfaced without losing or duplicating lines."""

from __future__ import annotations

import asyncio
import errno

import pytest

from threadloom import (
    AppendItemsParams,
    Capability,
    CreateThreadParams,
    FindSpawnDescendantParams,
    FindThreadByNameParams,
    ForkThreadParams,
    ListSpawnEdgesParams,
    ListThreadsParams,
    LiveThread,
    LoadHistoryParams,
    ReadThreadByPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    RolloutLine,
    SearchPage,
    SearchThreadsParams,
    SetThreadNameParams,
    SpawnEdge,
    StoredThread,
    StoredThreadHistory,
    ThreadIdParams,
    ThreadPage,
    ThreadStore,
    UpdateThreadMetadataParams,
    UpsertSpawnEdgeParams,
    WriteFailed,
)
from threadloom.protocol.rollout import RESPONSE_ITEM, SESSION_META

from .builders import (
    LINE_TIME,
    create_params,
    task_started,
    token_count,
    turn,
    turn_context,
    user_message,
)

Tag = tuple[int, int]


def tagged(task: int, n: int) -> RolloutLine:
    """A tool output tagged with who appended it and in which of its appends."""
    return RolloutLine(
        timestamp=LINE_TIME,
        type=RESPONSE_ITEM,
        payload={
            "type": "function_call_output",
            "call_id": f"call-{task}-{n}",
            "output": f"output {n} of task {task}",
        },
    )


def tag_of(line: RolloutLine) -> Tag:
    _, task, n = line.payload["call_id"].split("-")
    return int(task), int(n)


async def stored_lines(store: ThreadStore, live: LiveThread) -> list[RolloutLine]:
    return (await store.load_history(LoadHistoryParams(thread_id=live.thread_id))).items


def content(lines: list[RolloutLine]) -> list[tuple[str, str, object]]:
    return [(line.timestamp, line.type, line.payload) for line in lines]


# --- ordering -------------------------------------------------------------------------------
async def append_concurrently(
    live: LiveThread, tasks: int, per_task: int, *, flush_every: int = 0
) -> tuple[list[Tag], bool]:
    """``tasks`` tasks each appending ``per_task`` tagged lines, interleaved; the tags in the
    order ``append`` was called, and whether any append had to wait (back-pressure)."""
    calls: list[Tag] = []
    waited = False

    async def writer(task: int) -> None:
        nonlocal waited
        for n in range(per_task):
            calls.append((task, n))
            before = len(calls)
            await live.append([tagged(task, n)])
            waited = waited or len(calls) != before
            if flush_every and n % flush_every == flush_every - 1:
                await live.flush()
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(task) for task in range(tasks)))
    return calls, waited


def assert_in_call_order(lines: list[RolloutLine], calls: list[Tag], per_task: int) -> None:
    tags = [tag_of(line) for line in lines]
    assert sorted(tags) == sorted(calls), "every appended line exactly once"
    for task in {task for task, _ in calls}:
        assert [n for t, n in tags if t == task] == list(range(per_task)), f"task {task}"
    assert tags == calls, "lines are stored in the order append() was called"


@pytest.mark.parametrize("flush_every", [0, 10], ids=["appends", "appends+flushes"])
async def test_concurrent_appends_are_stored_in_call_order(
    store: ThreadStore, flush_every: int
) -> None:
    live = await LiveThread.create(store, create_params())

    calls, _ = await append_concurrently(live, 20, 50, flush_every=flush_every)
    await live.flush()

    stored = await stored_lines(store, live)
    assert stored[0].type == SESSION_META
    assert_in_call_order(stored[1:], calls, 50)
    await live.shutdown()


async def test_order_holds_under_back_pressure(store: ThreadStore) -> None:
    live = await LiveThread.create(store, create_params(), max_pending=3)
    seen_pending: list[int] = []

    async def sample() -> None:
        while True:
            seen_pending.append(live.pending)
            await asyncio.sleep(0)

    sampler = asyncio.create_task(sample())
    try:
        calls, waited = await append_concurrently(live, 20, 50)
    finally:
        sampler.cancel()
    await live.flush()

    assert waited, "a full queue makes append wait"
    assert max(seen_pending) <= 3
    stored = await stored_lines(store, live)
    assert stored[0].type == SESSION_META
    assert_in_call_order(stored[1:], calls, 50)
    await live.shutdown()


# --- write failures ---------------------------------------------------------------------------
class FaultyStore:
    """A ThreadStore forwarding every call to ``inner``; ``append_items`` raises an OSError
    (before writing anything) as many times as ``fail`` asks."""

    def __init__(self, inner: ThreadStore) -> None:
        self.inner = inner
        self.failures = 0
        self.raised: list[OSError] = []

    def fail(self, times: int) -> None:
        self.failures = times

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.inner.capabilities

    async def append_items(self, params: AppendItemsParams) -> None:
        if self.failures:
            self.failures -= 1
            error = OSError(errno.ENOSPC, f"injected failure {len(self.raised) + 1}")
            self.raised.append(error)
            raise error
        await self.inner.append_items(params)

    async def create_thread(self, params: CreateThreadParams) -> StoredThread:
        return await self.inner.create_thread(params)

    async def resume_thread(self, params: ResumeThreadParams) -> StoredThread:
        return await self.inner.resume_thread(params)

    async def persist_thread(self, params: ThreadIdParams) -> None:
        await self.inner.persist_thread(params)

    async def flush_thread(self, params: ThreadIdParams) -> None:
        await self.inner.flush_thread(params)

    async def shutdown_thread(self, params: ThreadIdParams) -> None:
        await self.inner.shutdown_thread(params)

    async def discard_thread(self, params: ThreadIdParams) -> None:
        await self.inner.discard_thread(params)

    async def fork_thread(self, params: ForkThreadParams) -> StoredThread:
        return await self.inner.fork_thread(params)

    async def load_history(self, params: LoadHistoryParams) -> StoredThreadHistory:
        return await self.inner.load_history(params)

    async def read_thread(self, params: ReadThreadParams) -> StoredThread:
        return await self.inner.read_thread(params)

    async def read_thread_by_rollout_path(self, params: ReadThreadByPathParams) -> StoredThread:
        return await self.inner.read_thread_by_rollout_path(params)

    async def list_threads(self, params: ListThreadsParams) -> ThreadPage:
        return await self.inner.list_threads(params)

    async def search_threads(self, params: SearchThreadsParams) -> SearchPage:
        return await self.inner.search_threads(params)

    async def find_thread_by_name(self, params: FindThreadByNameParams) -> StoredThread | None:
        return await self.inner.find_thread_by_name(params)

    async def resolve_legacy_path(self, params: ThreadIdParams) -> str:
        return await self.inner.resolve_legacy_path(params)

    async def set_thread_name(self, params: SetThreadNameParams) -> None:
        await self.inner.set_thread_name(params)

    async def update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        return await self.inner.update_thread_metadata(params)

    async def archive_thread(self, params: ThreadIdParams) -> None:
        await self.inner.archive_thread(params)

    async def unarchive_thread(self, params: ThreadIdParams) -> StoredThread:
        return await self.inner.unarchive_thread(params)

    async def delete_thread(self, params: ThreadIdParams) -> None:
        await self.inner.delete_thread(params)

    async def upsert_spawn_edge(self, params: UpsertSpawnEdgeParams) -> None:
        await self.inner.upsert_spawn_edge(params)

    async def list_spawn_edges(self, params: ListSpawnEdgesParams) -> list[SpawnEdge]:
        return await self.inner.list_spawn_edges(params)

    async def find_spawn_descendant(self, params: FindSpawnDescendantParams) -> StoredThread | None:
        return await self.inner.find_spawn_descendant(params)

    async def close(self) -> None:
        await self.inner.close()


async def until_raised(faulty: FaultyStore, count: int) -> None:
    """Let the background writer run until it has met ``count`` injected failures."""
    async with asyncio.timeout(5):
        while len(faulty.raised) < count:
            await asyncio.sleep(0.001)


def assert_write_failed(error: WriteFailed, faulty: FaultyStore, thread_id: str) -> None:
    cause = faulty.raised[-1]
    assert error.cause is cause
    assert error.thread_id == thread_id
    assert str(cause) in str(error)


async def test_a_failed_write_surfaces_on_flush_and_the_retry_writes_it_once(
    store: ThreadStore,
) -> None:
    faulty = FaultyStore(store)
    first = turn("first", "ok", turn_id="t1")
    live = await LiveThread.create(faulty, create_params())
    await live.append(first)
    await live.flush()

    faulty.fail(1)
    second = turn("second", "ok", turn_id="t2")
    await live.append(second)
    with pytest.raises(WriteFailed) as info:
        await live.flush()
    assert_write_failed(info.value, faulty, live.thread_id)
    assert info.value.pending == len(second)
    assert content((await stored_lines(store, live))[1:]) == content(first)

    await live.flush()
    assert content((await stored_lines(store, live))[1:]) == content([*first, *second])
    await live.shutdown()
    assert content((await stored_lines(store, live))[1:]) == content([*first, *second])


async def test_write_failed_chains_the_store_error(store: ThreadStore) -> None:
    """Tracebacks show the store's error as the direct cause, on flush and on append."""
    faulty = FaultyStore(store)
    live = await LiveThread.create(faulty, create_params())
    await live.append([task_started("t1")])
    faulty.fail(2)

    with pytest.raises(WriteFailed) as on_flush:
        await live.flush()
    assert on_flush.value.__cause__ is faulty.raised[0]

    await live.append([user_message("a")])
    await until_raised(faulty, 2)
    with pytest.raises(WriteFailed) as on_append:
        await live.append([user_message("b")])
    assert on_append.value.__cause__ is faulty.raised[1]
    await live.shutdown()


async def test_a_failed_write_surfaces_on_the_next_append(store: ThreadStore) -> None:
    faulty = FaultyStore(store)
    live = await LiveThread.create(faulty, create_params())
    await live.append([task_started("t1")])
    await live.flush()

    faulty.fail(1)
    await live.append([user_message("a")])
    await until_raised(faulty, 1)
    with pytest.raises(WriteFailed) as info:
        await live.append([user_message("b")])
    assert_write_failed(info.value, faulty, live.thread_id)
    await live.append([user_message("b")])  # the caller retries; the kept line goes first
    await live.flush()

    expected = [task_started("t1"), user_message("a"), user_message("b")]
    assert content((await stored_lines(store, live))[1:]) == content(expected)
    await live.shutdown()


async def test_lines_appended_while_writes_fail_keep_their_order(store: ThreadStore) -> None:
    faulty = FaultyStore(store)
    live = await LiveThread.create(faulty, create_params())
    await live.append([tagged(0, 0)])
    await live.flush()
    faulty.fail(3)

    reported = 0
    for n in range(1, 40):
        while True:
            try:
                await live.append([tagged(0, n)])
                break
            except WriteFailed as error:
                assert_write_failed(error, faulty, live.thread_id)
                reported += 1
        await asyncio.sleep(0.001 if n % 5 == 0 else 0)
    for _ in range(5):
        try:
            await live.flush()
            break
        except WriteFailed:
            reported += 1

    assert len(faulty.raised) == 3
    assert reported == 3, "each failure is reported exactly once"
    stored = await stored_lines(store, live)
    assert [tag_of(line) for line in stored[1:]] == [(0, n) for n in range(40)]
    await live.shutdown()


async def test_a_failed_first_write_keeps_the_session_meta_and_buffer(store: ThreadStore) -> None:
    faulty = FaultyStore(store)
    live = await LiveThread.create(faulty, create_params())
    setup = [turn_context("gpt-5", effort="low"), token_count(0)]
    await live.append(setup)
    faulty.fail(1)

    await live.append([task_started("t1"), user_message("first")])
    with pytest.raises(WriteFailed):
        await live.flush()
    await live.flush()

    stored = await stored_lines(store, live)
    assert [line.type for line in stored].count(SESSION_META) == 1
    assert stored[0].payload["id"] == live.thread_id
    assert content(stored[1:]) == content([*setup, task_started("t1"), user_message("first")])
    await live.shutdown()


async def test_a_failed_shutdown_leaves_the_thread_open(store: ThreadStore) -> None:
    faulty = FaultyStore(store)
    live = await LiveThread.create(faulty, create_params())
    lines = turn("bye", "ok", turn_id="t1")
    faulty.fail(1)
    await live.append(lines)

    with pytest.raises(WriteFailed):
        await live.shutdown()
    await live.shutdown()

    assert content((await stored_lines(store, live))[1:]) == content(lines)
    resumed = await LiveThread.resume(store, live.thread_id)
    await resumed.shutdown()

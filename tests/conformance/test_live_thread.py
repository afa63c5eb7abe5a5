"""LiveThread on every backend: lazy materialisation, ephemeral threads, lifecycle, resume,
fork, history tails and metadata kept in step (rollout-format 12, app-server threads)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest

from threadloom import (
    Conflict,
    HistoryMode,
    InvalidRequest,
    InvalidThreadId,
    ListThreadsParams,
    LiveState,
    LiveThread,
    LoadHistoryParams,
    LocalThreadStore,
    NotFound,
    ReadThreadParams,
    RolloutLine,
    ThreadId,
    ThreadMetadataPatch,
    ThreadStore,
    new_thread_id,
)
from threadloom.protocol.codec import encode_line
from threadloom.protocol.policy import EventMode
from threadloom.protocol.rollout import EVENT_MSG, SESSION_META
from threadloom.store.params import ForkThreadParams

from .backends import DEFAULT_PROVIDER
from .builders import (
    agent_message,
    create_params,
    event,
    task_started,
    token_count,
    turn,
    turn_context,
    user_message,
)

ALL = ListThreadsParams(model_providers=[], source_kinds=[], limit=100)


# --- helpers --------------------------------------------------------------------------------
def settings_applied(thread_id: str) -> RolloutLine:
    """The ``thread_settings_applied`` event Codex writes when it loads a thread."""
    return event(
        {
            "type": "thread_settings_applied",
            "thread_id": thread_id,
            "thread_settings": {
                "model": "gpt-5",
                "model_provider_id": "openai",
                "approval_policy": "on-request",
                "approvals_reviewer": "user",
                "cwd": "/w/a",
                "runtime_workspace_roots": ["/w/a"],
                "collaboration_mode": {
                    "mode": "default",
                    "settings": {"model": "gpt-5", "reasoning_effort": None},
                },
                "disabled_plugin_ids": [],
            },
        }
    )


def setup_lines(thread_id: str) -> list[RolloutLine]:
    """What a thread writes when it is loaded and configured, before any turn."""
    return [settings_applied(thread_id), turn_context("gpt-5", effort="high"), token_count(0)]


def key(line: RolloutLine) -> tuple[str, str, Any]:
    """A line as it must read back from any backend (legacy: no ordinal)."""
    return (line.timestamp, line.type, line.payload)


def keys(lines: list[RolloutLine]) -> list[tuple[str, str, Any]]:
    return [key(line) for line in lines]


def content(lines: list[RolloutLine]) -> list[tuple[str, Any]]:
    """Lines without their timestamps (a fork re-stamps what it copies)."""
    return [(line.type, line.payload) for line in lines]


async def stored_lines(store: ThreadStore, thread_id: ThreadId) -> list[RolloutLine]:
    return (await store.load_history(LoadHistoryParams(thread_id=thread_id))).items


async def listed(store: ThreadStore) -> list[ThreadId]:
    return [thread.thread_id for thread in (await store.list_threads(ALL)).items]


async def assert_absent(store: ThreadStore, thread_id: ThreadId) -> None:
    """Nothing of the thread is in the store: not readable, no history, not listed."""
    with pytest.raises(NotFound):
        await store.read_thread(ReadThreadParams(thread_id=thread_id))
    with pytest.raises(NotFound):
        await store.load_history(LoadHistoryParams(thread_id=thread_id))
    assert thread_id not in await listed(store)


def assert_own_meta(line: RolloutLine, thread_id: str) -> None:
    assert line.type == SESSION_META
    assert line.payload["id"] == thread_id


@asynccontextmanager
async def second_reader(backend: str, store: ThreadStore, tmp: Path) -> AsyncIterator[ThreadStore]:
    """Another store instance on the same data (another process's view); the same store for
    backends without shared storage."""
    if backend == "local":
        other = LocalThreadStore(tmp / "codex_home", default_provider=DEFAULT_PROVIDER)
        try:
            yield other
        finally:
            await other.close()
    else:
        yield store


async def open_thread(store: ThreadStore, *lines: RolloutLine, **params: Any) -> LiveThread:
    """A created live thread with ``lines`` appended and flushed."""
    live = await LiveThread.create(store, create_params(**params))
    if lines:
        await live.append(list(lines))
        await live.flush()
    return live


# --- creation and lazy materialisation --------------------------------------------------------
async def test_a_created_thread_is_invisible_until_something_worth_keeping(
    store: ThreadStore,
) -> None:
    live = await LiveThread.create(store, create_params())
    tid = live.thread_id
    setup = setup_lines(tid)

    assert live.state is LiveState.STARTED
    await assert_absent(store, tid)

    await live.append(setup)
    await live.flush()
    assert live.state is LiveState.STARTED
    await assert_absent(store, tid)
    started = (await live.load_history()).items
    assert_own_meta(started[0], tid)
    assert keys(started[1:]) == keys(setup)

    first_turn = turn("hello there", "hi", turn_id="turn-1", tokens=120)
    await live.append(first_turn)
    assert live.materialized
    await live.flush()

    stored = await stored_lines(store, tid)
    assert_own_meta(stored[0], tid)
    assert [line.type for line in stored].count(SESSION_META) == 1
    assert keys(stored[1:]) == keys([*setup, *first_turn])
    assert keys((await live.load_history()).items) == keys(stored)
    assert (await store.read_thread(ReadThreadParams(thread_id=tid))).preview == "hello there"
    assert tid in await listed(store)
    await live.shutdown()


async def test_a_thread_with_only_setup_lines_leaves_nothing_behind(store: ThreadStore) -> None:
    live = await LiveThread.create(store, create_params())
    await live.append(setup_lines(live.thread_id))
    await live.shutdown()

    assert live.state is LiveState.SHUT_DOWN
    await assert_absent(store, live.thread_id)


@pytest.mark.parametrize("buffered", [False, True], ids=["nothing-buffered", "buffered"])
async def test_persist_materialises_the_session_meta_and_what_was_buffered(
    store: ThreadStore, buffered: bool
) -> None:
    live = await LiveThread.create(store, create_params())
    tid = live.thread_id
    setup = setup_lines(tid) if buffered else []
    await live.append(setup)

    await live.persist()
    await live.persist()

    assert live.state is LiveState.MATERIALIZED
    stored = await stored_lines(store, tid)
    assert len(stored) == 1 + len(setup)
    assert_own_meta(stored[0], tid)
    assert keys(stored[1:]) == keys(setup)
    read = await store.read_thread(ReadThreadParams(thread_id=tid))
    assert read.preview == ""
    assert tid not in await listed(store)  # no preview yet: Codex lists it after a message
    await live.shutdown()


@pytest.mark.parametrize("history", list(HistoryMode))
async def test_set_name_materialises_a_started_thread(
    store: ThreadStore, history: HistoryMode
) -> None:
    live = await LiveThread.create(store, create_params(history_mode=history))
    tid = live.thread_id

    await live.set_name("  Release checklist  ")

    assert live.state is LiveState.MATERIALIZED
    assert live.metadata.name == "Release checklist"
    stored = await stored_lines(store, tid)
    assert len(stored) == 1
    assert_own_meta(stored[0], tid)
    assert stored[0].ordinal == (0 if history is HistoryMode.PAGINATED else None)
    assert (await store.read_thread(ReadThreadParams(thread_id=tid))).name == "Release checklist"
    await live.shutdown()


async def test_update_metadata_materialises_a_started_legacy_thread(store: ThreadStore) -> None:
    live = await LiveThread.create(store, create_params())
    tid = live.thread_id
    await live.append([turn_context("gpt-5")])

    updated = await live.update_metadata(ThreadMetadataPatch(memory_mode="disabled"))

    assert live.state is LiveState.MATERIALIZED
    assert updated.memory_mode == "disabled"
    assert live.metadata.memory_mode == "disabled"
    stored = await stored_lines(store, tid)
    # session_meta, the buffered turn context, then the updated copy of the session_meta
    assert [line.type for line in stored] == [SESSION_META, "turn_context", SESSION_META]
    assert_own_meta(stored[2], tid)
    assert stored[2].payload["memory_mode"] == "disabled"
    assert (await store.read_thread(ReadThreadParams(thread_id=tid))).memory_mode == "disabled"
    await live.shutdown()


async def test_update_metadata_keeps_a_started_paginated_thread_off_the_store(
    store: ThreadStore,
) -> None:
    live = await LiveThread.create(store, create_params(history_mode=HistoryMode.PAGINATED))
    tid = live.thread_id

    updated = await live.update_metadata(ThreadMetadataPatch(memory_mode="disabled"))

    assert updated.memory_mode == "disabled"
    assert live.metadata.memory_mode == "disabled"
    assert live.state is LiveState.STARTED
    assert tid not in await listed(store)
    with pytest.raises(NotFound):
        await store.load_history(LoadHistoryParams(thread_id=tid))

    await live.append([task_started("turn-1"), user_message("first question")])
    await live.flush()

    stored = await stored_lines(store, tid)
    assert_own_meta(stored[0], tid)
    # paginated: metadata lives beside the rollout, never as a session_meta copy in it
    assert [line.type for line in stored] == [SESSION_META, EVENT_MSG]
    assert [line.ordinal for line in stored] == [0, 1]
    read = await store.read_thread(ReadThreadParams(thread_id=tid))
    assert read.memory_mode == "disabled"
    await live.shutdown()


async def test_creating_an_existing_thread_again_is_a_conflict(store: ThreadStore) -> None:
    params = create_params()
    first = await LiveThread.create(store, params)
    lines = turn("original", "ok", turn_id="t1")
    await first.append(lines)
    await first.shutdown()

    with pytest.raises(Conflict, match=params.thread_id):
        await LiveThread.create(store, params)

    stored = await stored_lines(store, params.thread_id)
    assert_own_meta(stored[0], params.thread_id)
    assert keys(stored[1:]) == keys(lines)


# --- ephemeral threads ------------------------------------------------------------------------
async def test_an_ephemeral_thread_never_reaches_the_store(store: ThreadStore) -> None:
    live = await LiveThread.create(store, create_params(), ephemeral=True)
    tid = live.thread_id
    lines = [*setup_lines(tid), *turn("private question", "private answer", tokens=50)]

    await live.append(lines)
    await live.persist()
    await live.flush()

    assert live.rollout_path is None
    assert live.metadata.preview == "private question"
    history = (await live.load_history()).items
    assert_own_meta(history[0], tid)
    assert keys(history[1:]) == keys(lines)
    assert keys((await live.load_history(last=2)).items) == keys(lines[-2:])
    await assert_absent(store, tid)

    message = "ephemeral thread does not support metadata updates"
    with pytest.raises(InvalidRequest, match=message):
        await live.update_metadata(ThreadMetadataPatch(memory_mode="disabled"))
    with pytest.raises(InvalidRequest, match=message):
        await live.set_name("secret")

    await live.shutdown()
    await assert_absent(store, tid)


# --- lifecycle --------------------------------------------------------------------------------
async def test_flushed_lines_are_visible_to_another_reader(
    store: ThreadStore, backend: str, tmp_path: Path
) -> None:
    lines = [*turn("one", "uno", turn_id="t1"), *turn("two", "dos", turn_id="t2", tokens=300)]
    live = await open_thread(store)
    await live.append(lines)
    await live.flush()

    async with second_reader(backend, store, tmp_path) as reader:
        stored = await stored_lines(reader, live.thread_id)
        read = await reader.read_thread(ReadThreadParams(thread_id=live.thread_id))
        assert live.thread_id in await listed(reader)

    assert_own_meta(stored[0], live.thread_id)
    assert keys(stored[1:]) == keys(lines)
    assert read.preview == "one"
    assert read.tokens_used == 300
    await live.shutdown()


async def test_shutdown_is_idempotent_and_releases_the_writer(store: ThreadStore) -> None:
    first = turn("before", "ok", turn_id="t1")
    live = await open_thread(store, *first)
    tid = live.thread_id

    await live.shutdown()
    await live.shutdown()
    assert live.state is LiveState.SHUT_DOWN

    resumed = await LiveThread.resume(store, tid)
    second = turn("after", "ok", turn_id="t2")
    await resumed.append(second)
    await resumed.shutdown()

    assert keys((await stored_lines(store, tid))[1:]) == keys([*first, *second])


@pytest.mark.parametrize("end", ["shutdown", "discard"])
async def test_a_closed_thread_refuses_writes(store: ThreadStore, end: str) -> None:
    live = await open_thread(store, *turn("hi"))
    await (live.shutdown() if end == "shutdown" else live.discard())

    with pytest.raises(Conflict, match=f"thread {live.thread_id} was") as info:
        await live.append([user_message("late")])
    assert info.value.thread_id == live.thread_id
    with pytest.raises(Conflict):
        await live.flush()
    with pytest.raises(Conflict):
        await live.persist()
    with pytest.raises(Conflict):
        await live.set_name("late")
    assert "late" not in [
        line.payload.get("message") for line in await stored_lines(store, live.thread_id)
    ]


async def test_discarding_a_started_thread_leaves_nothing(store: ThreadStore) -> None:
    live = await LiveThread.create(store, create_params())
    await live.append(setup_lines(live.thread_id))

    await live.discard()
    await live.discard()

    assert live.state is LiveState.DISCARDED
    await assert_absent(store, live.thread_id)
    with pytest.raises(NotFound):
        await LiveThread.resume(store, live.thread_id)


async def test_discard_keeps_exactly_the_flushed_lines(store: ThreadStore) -> None:
    flushed = turn("kept", "yes", turn_id="t1")
    live = await open_thread(store, *flushed)
    tid = live.thread_id
    await live.append(turn("dropped", "no", turn_id="t2"))

    await live.discard()
    await live.discard()

    assert keys((await stored_lines(store, tid))[1:]) == keys(flushed)
    resumed = await LiveThread.resume(store, tid)
    assert resumed.metadata.preview == "kept"
    later = turn("again", "yes", turn_id="t3")
    await resumed.append(later)
    await resumed.shutdown()
    assert keys((await stored_lines(store, tid))[1:]) == keys([*flushed, *later])


async def test_only_one_live_writer_per_thread(store: ThreadStore) -> None:
    live = await open_thread(store, *turn("mine"))
    tid = live.thread_id

    with pytest.raises(Conflict) as info:
        await LiveThread.resume(store, tid)
    assert info.value.message == f"thread {tid} already has an active writer"
    assert info.value.thread_id == tid

    await live.shutdown()
    again = await LiveThread.resume(store, tid)
    with pytest.raises(Conflict, match=tid):
        await LiveThread.resume(store, tid)
    await again.shutdown()


async def test_resume_of_an_unknown_thread_is_not_found(store: ThreadStore) -> None:
    with pytest.raises(NotFound):
        await LiveThread.resume(store, new_thread_id())


@pytest.mark.parametrize("raw", ["not-a-uuid", "", "12345678-1234-1234-1234-12345678901g"])
async def test_bad_thread_ids_are_refused(store: ThreadStore, raw: str) -> None:
    with pytest.raises(InvalidThreadId):
        await LiveThread.resume(store, raw)
    with pytest.raises(InvalidThreadId):
        await LiveThread.create(
            store, msgspec.structs.replace(create_params(), thread_id=ThreadId(raw))
        )
    with pytest.raises(InvalidThreadId):
        await LiveThread.fork(store, raw, create_params())
    assert await listed(store) == []


# --- resume, fork, tails ------------------------------------------------------------------------
async def test_resume_appends_after_the_existing_history(store: ThreadStore) -> None:
    first = turn("first question", "first answer", turn_id="t1", tokens=100)
    live = await open_thread(store, *first)
    tid = live.thread_id
    await live.shutdown()

    resumed = await LiveThread.resume(store, tid)
    assert resumed.state is LiveState.MATERIALIZED
    assert resumed.metadata.preview == "first question"
    assert resumed.metadata.tokens_used == 100
    second = [settings_applied(tid), *turn("second", "ok", turn_id="t2", tokens=250)]
    await resumed.append(second)
    await resumed.flush()

    history = (await resumed.load_history()).items
    assert_own_meta(history[0], tid)
    assert keys(history[1:]) == keys([*first, *second])
    assert resumed.metadata.tokens_used == 250
    await resumed.shutdown()
    read = await store.read_thread(ReadThreadParams(thread_id=tid))
    assert (read.preview, read.tokens_used) == ("first question", 250)


@pytest.mark.parametrize("keep", [0, 3, None], ids=["keep-0", "keep-3", "keep-all"])
async def test_fork_copies_the_first_lines_of_its_parent(
    store: ThreadStore, keep: int | None
) -> None:
    parent_lines = [*turn("parent q1", "a1", turn_id="t1"), *turn("parent q2", "a2", turn_id="t2")]
    parent = await open_thread(store, *parent_lines)
    pid = parent.thread_id
    await parent.shutdown()
    before = await stored_lines(store, pid)

    child = await LiveThread.fork(store, pid, create_params(), keep_items=keep)
    cid = child.thread_id

    assert cid != pid
    assert child.state is LiveState.MATERIALIZED
    assert child.metadata.forked_from_id == pid
    history = (await child.load_history()).items
    copied = parent_lines if keep is None else parent_lines[:keep]
    assert_own_meta(history[0], cid)
    assert history[0].payload["forked_from_id"] == pid
    assert_own_meta(history[1], pid)
    assert content(history[2:]) == content(copied)

    extra = turn("child q", "child a", turn_id="t3")
    await child.append(extra)
    await child.shutdown()
    assert keys((await stored_lines(store, cid))[2 + len(copied) :]) == keys(extra)
    assert (await store.read_thread(ReadThreadParams(thread_id=cid))).forked_from_id == pid
    assert keys(await stored_lines(store, pid)) == keys(before)


# --- paginated forks (rollout-format 16.2) ------------------------------------------------------
async def paginated_parent(store: ThreadStore) -> tuple[ThreadId, list[RolloutLine]]:
    """A closed paginated thread of two turns, and its stored lines (ordinals 0, 1, ...)."""
    turns = [task_started("t1"), turn_context("gpt-5", turn_id="t1"), token_count(10)]
    turns += [task_started("t2"), turn_context("gpt-5", turn_id="t2"), token_count(20)]
    parent = await open_thread(store, *turns, history_mode=HistoryMode.PAGINATED)
    await parent.shutdown()
    lines = await stored_lines(store, parent.thread_id)
    assert [line.ordinal for line in lines] == list(range(len(lines)))
    return parent.thread_id, lines


def prefix_bytes(lines: list[RolloutLine], end_ordinal: int) -> int:
    """The length of the parent's lines below ``end_ordinal``, as written."""
    return sum(
        len(encode_line(line)) + 1
        for line in lines
        if line.ordinal is not None and line.ordinal < end_ordinal
    )


def assert_points_into(child: list[RolloutLine], parent_id: ThreadId, end: int, size: int) -> None:
    head = child[0]
    assert head.type == SESSION_META
    assert head.ordinal == end
    assert head.payload["forked_from_id"] == parent_id
    assert head.payload["forked_from_ordinal_exclusive"] == end
    assert head.payload["history_mode"] == "paginated"
    assert head.payload["history_base"] == {
        "thread_id": parent_id,
        "end_ordinal_exclusive": end,
        "end_byte_offset": size,
    }


async def test_a_paginated_fork_copies_nothing_and_continues_the_ordinals(
    store: ThreadStore,
) -> None:
    parent_id, parent_lines = await paginated_parent(store)
    end = len(parent_lines)

    child = await LiveThread.fork(store, parent_id, create_params())
    assert child.metadata.history_mode == HistoryMode.PAGINATED
    assert child.metadata.forked_from_id == parent_id
    await child.append([token_count(30)])
    await child.shutdown()

    lines = await stored_lines(store, child.thread_id)
    assert_points_into(lines, parent_id, end, prefix_bytes(parent_lines, end))
    assert [line.ordinal for line in lines] == [end, end + 1]
    assert content(lines[1:]) == content([token_count(30)])
    assert await stored_lines(store, parent_id) == parent_lines
    stored = await store.read_thread(ReadThreadParams(thread_id=child.thread_id))
    assert (stored.history_mode, stored.forked_from_id) == (HistoryMode.PAGINATED, parent_id)


async def test_a_paginated_fork_at_an_ordinal_inherits_the_lines_below_it(
    store: ThreadStore,
) -> None:
    parent_id, parent_lines = await paginated_parent(store)
    second_turn = next(
        line.ordinal
        for line in parent_lines
        if line.type == EVENT_MSG and line.payload.get("turn_id") == "t2"
    )
    assert second_turn is not None

    stored = await store.fork_thread(
        ForkThreadParams(
            source_thread_id=parent_id, thread=create_params(), end_ordinal=second_turn
        )
    )
    child = LiveThread(store, stored, event_mode=EventMode.LIMITED, materialized=True)
    await child.append([task_started("t3")])
    await child.shutdown()

    lines = await stored_lines(store, child.thread_id)
    assert_points_into(lines, parent_id, second_turn, prefix_bytes(parent_lines, second_turn))
    assert [line.ordinal for line in lines] == [second_turn, second_turn + 1]
    assert await stored_lines(store, parent_id) == parent_lines


async def test_a_fork_of_a_paginated_fork_points_into_the_fork(store: ThreadStore) -> None:
    parent_id, parent_lines = await paginated_parent(store)
    child = await LiveThread.fork(store, parent_id, create_params())
    await child.append([token_count(30)])
    await child.shutdown()
    child_lines = await stored_lines(store, child.thread_id)

    grandchild = await LiveThread.fork(store, child.thread_id, create_params())
    await grandchild.shutdown()

    lines = await stored_lines(store, grandchild.thread_id)
    end = len(parent_lines) + len(child_lines)
    assert_points_into(lines, child.thread_id, end, prefix_bytes(child_lines, end))
    assert len(lines) == 1


@pytest.mark.parametrize("end_ordinal", [-1, 1000])
async def test_a_paginated_fork_at_no_line_of_the_parent_is_refused(
    store: ThreadStore, end_ordinal: int
) -> None:
    parent_id, parent_lines = await paginated_parent(store)
    params = create_params()

    with pytest.raises(InvalidRequest):
        await store.fork_thread(
            ForkThreadParams(source_thread_id=parent_id, thread=params, end_ordinal=end_ordinal)
        )

    with pytest.raises(NotFound):
        await store.read_thread(ReadThreadParams(thread_id=params.thread_id))
    assert await stored_lines(store, parent_id) == parent_lines


@pytest.mark.parametrize("last", [0, 1, 5, 100])
async def test_load_history_last_is_the_tail_of_the_full_history(
    store: ThreadStore, last: int
) -> None:
    live = await open_thread(store, *turn("q1", "a1", turn_id="t1"), *turn("q2", turn_id="t2"))
    await live.append(turn("q3", "a3", turn_id="t3"))  # not flushed: still part of it

    full = (await live.load_history()).items
    tail = (await live.load_history(last=last)).items

    assert len(full) > 5
    assert keys(tail) == (keys(full[-last:]) if last else [])
    await live.shutdown()
    stored_tail = await store.load_history(LoadHistoryParams(thread_id=live.thread_id, last=last))
    assert keys(stored_tail.items) == keys(tail)


async def test_load_history_last_before_materialisation(store: ThreadStore) -> None:
    live = await LiveThread.create(store, create_params())
    setup = setup_lines(live.thread_id)
    await live.append(setup)

    assert keys((await live.load_history(last=2)).items) == keys(setup[-2:])
    assert (await live.load_history(last=0)).items == []
    assert len((await live.load_history(last=10)).items) == 1 + len(setup)
    with pytest.raises(InvalidRequest):
        await live.load_history(last=-1)
    await live.discard()


# --- metadata kept in step ----------------------------------------------------------------------
async def test_metadata_follows_appended_lines_before_they_are_written(
    store: ThreadStore,
) -> None:
    live = await LiveThread.create(store, create_params())
    tid = live.thread_id
    before_ms = time.time_ns() // 1_000_000

    await live.append(
        [
            task_started("turn-1"),
            turn_context("gpt-5-codex", effort="high", turn_id="turn-1"),
            user_message("## My request for Codex:\n fix the flaky test"),
            token_count(1234),
        ]
    )

    meta = live.metadata  # no flush yet
    assert meta.preview == "fix the flaky test"
    assert meta.first_user_message is not None
    assert "fix the flaky test" in meta.first_user_message
    assert meta.model == "gpt-5-codex"
    assert meta.reasoning_effort == "high"
    assert meta.tokens_used == 1234
    assert meta.updated_at_ms >= before_ms
    assert meta.thread_id == tid

    await live.append([agent_message("done"), token_count(2000)])
    assert live.metadata.tokens_used == 2000
    await live.flush()

    read = await store.read_thread(ReadThreadParams(thread_id=tid))
    (row,) = [t for t in (await store.list_threads(ALL)).items if t.thread_id == tid]
    for stored in (read, row):
        assert stored.preview == live.metadata.preview
        assert stored.model == "gpt-5-codex"
        assert stored.reasoning_effort == "high"
        assert stored.tokens_used == 2000
    await live.shutdown()


async def test_name_and_metadata_updates_are_reflected_everywhere(store: ThreadStore) -> None:
    live = await open_thread(store, *turn("what changed?", "nothing", turn_id="t1"))
    tid = live.thread_id

    await live.set_name("Changelog")
    assert live.metadata.name == "Changelog"
    assert (await store.read_thread(ReadThreadParams(thread_id=tid))).name == "Changelog"

    updated = await live.update_metadata(
        ThreadMetadataPatch(name="Changelog v2", memory_mode="disabled")
    )
    assert (updated.name, updated.memory_mode) == ("Changelog v2", "disabled")
    assert (live.metadata.name, live.metadata.memory_mode) == ("Changelog v2", "disabled")
    assert live.metadata.preview == "what changed?"

    await live.append(turn("more", "ok", turn_id="t2"))
    await live.shutdown()
    read = await store.read_thread(ReadThreadParams(thread_id=tid))
    assert (read.name, read.memory_mode, read.preview) == (
        "Changelog v2",
        "disabled",
        "what changed?",
    )

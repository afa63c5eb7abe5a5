"""Archive, unarchive and delete: lifecycle and errors."""

from __future__ import annotations

import pytest

from threadloom.errors import Conflict, NotFound
from threadloom.ids import ThreadId, new_thread_id
from threadloom.store.base import ThreadStore
from threadloom.store.params import (
    FindThreadByNameParams,
    ListThreadsParams,
    LoadHistoryParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    SetThreadNameParams,
    ThreadIdParams,
)

from .builders import make_thread, user_message


async def listed(store: ThreadStore, *, archived: bool = False) -> list[ThreadId]:
    page = await store.list_threads(ListThreadsParams(archived=archived, limit=100))
    return [t.thread_id for t in page.items]


# --- archive --------------------------------------------------------------------------------
async def test_an_archived_thread_leaves_the_default_listing_but_stays_readable(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store)
    other = await make_thread(store)

    await store.archive_thread(ThreadIdParams(thread_id=tid))

    assert await listed(store) == [other]
    assert await listed(store, archived=True) == [tid]
    thread = await store.read_thread(ReadThreadParams(thread_id=tid))
    assert thread.archived
    history = await store.load_history(LoadHistoryParams(thread_id=tid))
    assert history.items[1:] == [user_message("hello")]


async def test_archived_threads_are_hidden_from_reads_that_exclude_them(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store)
    await store.archive_thread(ThreadIdParams(thread_id=tid))

    with pytest.raises(NotFound):
        await store.read_thread(ReadThreadParams(thread_id=tid, include_archived=False))
    with pytest.raises(NotFound):
        await store.load_history(LoadHistoryParams(thread_id=tid, include_archived=False))


async def test_archiving_keeps_the_updated_time(store: ThreadStore) -> None:
    tid = await make_thread(store)
    before = await store.read_thread(ReadThreadParams(thread_id=tid))

    await store.archive_thread(ThreadIdParams(thread_id=tid))

    after = await store.read_thread(ReadThreadParams(thread_id=tid))
    assert after.updated_at_ms == before.updated_at_ms


async def test_archiving_an_unknown_thread_is_not_found(store: ThreadStore) -> None:
    tid = new_thread_id()

    with pytest.raises(NotFound) as caught:
        await store.archive_thread(ThreadIdParams(thread_id=tid))

    assert caught.value.message == f"no rollout found for thread id {tid}"


async def test_archiving_an_archived_thread_is_not_found(store: ThreadStore) -> None:
    tid = await make_thread(store)
    await store.archive_thread(ThreadIdParams(thread_id=tid))

    with pytest.raises(NotFound) as caught:
        await store.archive_thread(ThreadIdParams(thread_id=tid))

    assert caught.value.message == f"no rollout found for thread id {tid}"


async def test_archiving_a_thread_with_an_active_writer_conflicts(store: ThreadStore) -> None:
    tid = await make_thread(store, keep_writer=True)

    with pytest.raises(Conflict):
        await store.archive_thread(ThreadIdParams(thread_id=tid))

    await store.shutdown_thread(ThreadIdParams(thread_id=tid))
    await store.archive_thread(ThreadIdParams(thread_id=tid))
    assert await listed(store, archived=True) == [tid]


# --- unarchive ------------------------------------------------------------------------------
async def test_unarchiving_returns_the_thread_to_the_listing(store: ThreadStore) -> None:
    tid = await make_thread(store)
    before = await store.read_thread(ReadThreadParams(thread_id=tid))
    await store.archive_thread(ThreadIdParams(thread_id=tid))

    restored = await store.unarchive_thread(ThreadIdParams(thread_id=tid))

    assert restored.thread_id == tid
    assert not restored.archived
    assert restored.preview == "hello"
    assert restored.updated_at_ms >= before.updated_at_ms
    assert await listed(store) == [tid]
    assert await listed(store, archived=True) == []
    await store.resume_thread(ResumeThreadParams(thread_id=tid))


async def test_archiving_and_unarchiving_leave_the_recency_as_it_was(store: ThreadStore) -> None:
    tid = await make_thread(store)
    before = await store.read_thread(ReadThreadParams(thread_id=tid))

    await store.archive_thread(ThreadIdParams(thread_id=tid))
    archived = await store.read_thread(ReadThreadParams(thread_id=tid))
    restored = await store.unarchive_thread(ThreadIdParams(thread_id=tid))

    assert archived.recency_at_ms == before.recency_at_ms
    assert restored.recency_at_ms == before.recency_at_ms
    assert (await store.read_thread(ReadThreadParams(thread_id=tid))).recency_at_ms == (
        before.recency_at_ms
    )


@pytest.mark.parametrize("archived_first", [False, True])
async def test_unarchiving_a_thread_that_is_not_archived_is_not_found(
    store: ThreadStore, archived_first: bool
) -> None:
    tid = await make_thread(store)
    if archived_first:
        await store.archive_thread(ThreadIdParams(thread_id=tid))
        await store.unarchive_thread(ThreadIdParams(thread_id=tid))

    with pytest.raises(NotFound) as caught:
        await store.unarchive_thread(ThreadIdParams(thread_id=tid))

    assert caught.value.message == f"no archived rollout found for thread id {tid}"


async def test_unarchiving_an_unknown_thread_is_not_found(store: ThreadStore) -> None:
    tid = new_thread_id()

    with pytest.raises(NotFound) as caught:
        await store.unarchive_thread(ThreadIdParams(thread_id=tid))

    assert caught.value.message == f"no archived rollout found for thread id {tid}"


# --- delete ---------------------------------------------------------------------------------
async def test_a_deleted_thread_is_gone_everywhere(store: ThreadStore) -> None:
    tid = await make_thread(store, user_message("findable words"))
    await store.set_thread_name(SetThreadNameParams(thread_id=tid, name="doomed"))

    await store.delete_thread(ThreadIdParams(thread_id=tid))

    with pytest.raises(NotFound):
        await store.read_thread(ReadThreadParams(thread_id=tid))
    with pytest.raises(NotFound):
        await store.load_history(LoadHistoryParams(thread_id=tid))
    with pytest.raises(NotFound):
        await store.resume_thread(ResumeThreadParams(thread_id=tid))
    assert await listed(store) == []
    assert await store.find_thread_by_name(FindThreadByNameParams(name="doomed")) is None
    hits = await store.search_threads(SearchThreadsParams(query="findable"))
    assert hits.items == []


async def test_an_archived_thread_can_be_deleted(store: ThreadStore) -> None:
    tid = await make_thread(store)
    await store.archive_thread(ThreadIdParams(thread_id=tid))

    await store.delete_thread(ThreadIdParams(thread_id=tid))

    assert await listed(store, archived=True) == []
    with pytest.raises(NotFound):
        await store.read_thread(ReadThreadParams(thread_id=tid))


async def test_deleting_an_unknown_or_deleted_thread_is_not_found(store: ThreadStore) -> None:
    tid = await make_thread(store)
    await store.delete_thread(ThreadIdParams(thread_id=tid))

    with pytest.raises(NotFound) as caught:
        await store.delete_thread(ThreadIdParams(thread_id=tid))

    assert caught.value.message == f"no rollout found for thread id {tid}"


async def test_deleting_a_thread_with_an_active_writer_conflicts(store: ThreadStore) -> None:
    tid = await make_thread(store, keep_writer=True)

    with pytest.raises(Conflict):
        await store.delete_thread(ThreadIdParams(thread_id=tid))

    assert (await store.read_thread(ReadThreadParams(thread_id=tid))).thread_id == tid


async def test_deleting_one_thread_leaves_the_others(store: ThreadStore) -> None:
    doomed = await make_thread(store, user_message("doomed"))
    kept = await make_thread(store, user_message("kept"))

    await store.delete_thread(ThreadIdParams(thread_id=doomed))

    assert await listed(store) == [kept]
    assert (await store.read_thread(ReadThreadParams(thread_id=kept))).preview == "kept"

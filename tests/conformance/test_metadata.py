"""Names, metadata patches (git, memory mode, name) and lookup by name."""

from __future__ import annotations

import pytest

from threadloom.errors import InvalidRequest, NotFound
from threadloom.ids import ThreadId, new_thread_id
from threadloom.protocol.rollout import SESSION_META, GitInfo, order_session_meta
from threadloom.store.base import ThreadStore
from threadloom.store.params import (
    UNSET,
    FindThreadByNameParams,
    GitInfoPatch,
    ListThreadsParams,
    LoadHistoryParams,
    ReadThreadParams,
    SetThreadNameParams,
    ThreadIdParams,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
)
from threadloom.store.records import StoredThread

from .builders import BASE_MS, create_params, make_thread, user_message

GIT = GitInfo(commit_hash="abc", branch="main", repository_url="https://x/r.git")


async def read(store: ThreadStore, thread_id: ThreadId) -> StoredThread:
    return await store.read_thread(ReadThreadParams(thread_id=thread_id))


async def listed_name(store: ThreadStore, thread_id: ThreadId) -> str | None:
    page = await store.list_threads(ListThreadsParams(limit=100))
    return next(t.name for t in page.items if t.thread_id == thread_id)


async def rename(store: ThreadStore, thread_id: ThreadId, name: str) -> None:
    await store.set_thread_name(SetThreadNameParams(thread_id=thread_id, name=name))


async def patch(
    store: ThreadStore, thread_id: ThreadId, *, include_archived: bool = True, **fields: object
) -> StoredThread:
    return await store.update_thread_metadata(
        UpdateThreadMetadataParams(
            thread_id=thread_id,
            patch=ThreadMetadataPatch(**fields),  # type: ignore[arg-type]
            include_archived=include_archived,
        )
    )


# --- names --------------------------------------------------------------------------------
async def test_a_name_is_trimmed_and_shown_by_read_and_list(store: ThreadStore) -> None:
    tid = await make_thread(store)

    await rename(store, tid, "  my thread \n")

    assert (await read(store, tid)).name == "my thread"
    assert await listed_name(store, tid) == "my thread"


@pytest.mark.parametrize("name", ["", "   ", "\n\t"])
async def test_an_empty_or_blank_name_is_an_invalid_request(store: ThreadStore, name: str) -> None:
    tid = await make_thread(store)

    with pytest.raises(InvalidRequest) as caught:
        await rename(store, tid, name)

    assert caught.value.message == "thread name must not be empty"


async def test_naming_an_unknown_thread_is_not_found(store: ThreadStore) -> None:
    tid = new_thread_id()

    with pytest.raises(NotFound) as caught:
        await rename(store, tid, "x")

    assert caught.value.message == f"no rollout found for thread id {tid}"


async def test_naming_an_archived_thread_is_not_found(store: ThreadStore) -> None:
    tid = await make_thread(store)
    await store.archive_thread(ThreadIdParams(thread_id=tid))

    with pytest.raises(NotFound) as caught:
        await rename(store, tid, "x")

    assert caught.value.message == f"no rollout found for thread id {tid}"


async def test_naming_a_created_thread_materialises_it(store: ThreadStore) -> None:
    tid = (await store.create_thread(create_params())).thread_id

    await rename(store, tid, "early name")

    thread = await store.read_thread(ReadThreadParams(thread_id=tid, include_history=True))
    assert thread.name == "early name"
    assert thread.history is not None
    assert [line.type for line in thread.history.items] == [SESSION_META]


async def test_renaming_does_not_write_to_the_history(store: ThreadStore) -> None:
    tid = await make_thread(store)
    before = await store.load_history(LoadHistoryParams(thread_id=tid))

    await rename(store, tid, "new name")

    assert await store.load_history(LoadHistoryParams(thread_id=tid)) == before


async def test_the_last_name_set_wins(store: ThreadStore) -> None:
    tid = await make_thread(store)

    for name in ("one", "two", "three"):
        await rename(store, tid, name)

    assert (await read(store, tid)).name == "three"
    assert await listed_name(store, tid) == "three"


async def test_a_cleared_name_reads_as_none_but_lists_the_last_non_empty_name(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store)
    await rename(store, tid, "kept for lists")

    cleared = await patch(store, tid, name=None)

    assert cleared.name is None
    assert (await read(store, tid)).name is None
    assert await listed_name(store, tid) == "kept for lists"


# --- metadata patches -------------------------------------------------------------------------
async def test_an_empty_patch_is_an_invalid_request(store: ThreadStore) -> None:
    tid = await make_thread(store)

    with pytest.raises(InvalidRequest) as caught:
        await patch(store, tid)

    assert caught.value.message == "thread metadata update must include at least one field"


async def test_a_git_patch_without_any_member_is_an_invalid_request(store: ThreadStore) -> None:
    tid = await make_thread(store)

    with pytest.raises(InvalidRequest) as caught:
        await patch(store, tid, git=GitInfoPatch())

    assert caught.value.message == "gitInfo must include at least one field"


async def test_git_members_are_set_kept_and_cleared_independently(store: ThreadStore) -> None:
    tid = await make_thread(store)

    first = await patch(store, tid, git=GitInfoPatch(sha="abc", branch="main", origin_url="u"))
    second = await patch(store, tid, git=GitInfoPatch(branch="dev", origin_url=None))

    assert first.git_info == GitInfo(commit_hash="abc", branch="main", repository_url="u")
    assert second.git_info == GitInfo(commit_hash="abc", branch="dev")
    assert (await read(store, tid)).git_info == GitInfo(commit_hash="abc", branch="dev")


async def test_a_git_patch_merges_with_the_git_info_recorded_at_creation(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store, git=GIT)

    updated = await patch(store, tid, git=GitInfoPatch(sha="def"))

    assert updated.git_info == GitInfo(
        commit_hash="def", branch="main", repository_url="https://x/r.git"
    )


async def test_clearing_every_git_member_leaves_no_git_info(store: ThreadStore) -> None:
    tid = await make_thread(store, git=GIT)

    updated = await patch(store, tid, git=GitInfoPatch(sha=None, branch=None, origin_url=None))

    assert updated.git_info is None
    assert (await read(store, tid)).git_info is None


async def test_a_metadata_update_moves_the_update_time_but_is_no_activity_for_the_recency(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store, git=GIT)
    before = await read(store, tid)

    updated = await patch(store, tid, git=GitInfoPatch(branch="dev"), memory_mode="disabled")
    listed = (await store.list_threads(ListThreadsParams(limit=100))).items

    assert updated.updated_at_ms >= before.updated_at_ms
    assert updated.recency_at_ms == before.recency_at_ms
    assert [t.recency_at_ms for t in listed if t.thread_id == tid] == [before.recency_at_ms]


async def test_memory_mode_defaults_to_enabled_and_can_be_changed(store: ThreadStore) -> None:
    tid = await make_thread(store)
    assert (await read(store, tid)).memory_mode == "enabled"

    disabled = await patch(store, tid, memory_mode="disabled")
    enabled = await patch(store, tid, memory_mode="enabled")

    assert disabled.memory_mode == "disabled"
    assert enabled.memory_mode == "enabled"


async def test_an_unknown_memory_mode_is_an_invalid_request(store: ThreadStore) -> None:
    tid = await make_thread(store)

    with pytest.raises(InvalidRequest):
        await patch(store, tid, memory_mode="sometimes")

    assert (await read(store, tid)).memory_mode == "enabled"


async def test_a_patch_can_set_the_name(store: ThreadStore) -> None:
    tid = await make_thread(store)

    updated = await patch(store, tid, name="  patched  ")

    assert updated.name == "patched"
    assert await listed_name(store, tid) == "patched"


async def test_a_patch_is_applied_all_or_nothing(store: ThreadStore) -> None:
    tid = await make_thread(store, git=GIT)
    await rename(store, tid, "original")
    history = await store.load_history(LoadHistoryParams(thread_id=tid))

    with pytest.raises(InvalidRequest) as caught:
        await patch(
            store, tid, name="   ", memory_mode="disabled", git=GitInfoPatch(branch="other")
        )

    thread = await read(store, tid)
    assert caught.value.message == "thread name must not be empty"
    assert thread.name == "original"
    assert thread.memory_mode == "enabled"
    assert thread.git_info == GIT
    assert await store.load_history(LoadHistoryParams(thread_id=tid)) == history


async def test_one_patch_changes_name_memory_mode_and_git_together(store: ThreadStore) -> None:
    tid = await make_thread(store)

    updated = await patch(
        store, tid, name="all", memory_mode="disabled", git=GitInfoPatch(branch="b")
    )

    assert (updated.name, updated.memory_mode, updated.git_info) == (
        "all",
        "disabled",
        GitInfo(branch="b"),
    )
    assert await read(store, tid) == updated


async def test_updating_an_unknown_thread_is_not_found(store: ThreadStore) -> None:
    tid = new_thread_id()

    with pytest.raises(NotFound) as caught:
        await patch(store, tid, memory_mode="disabled")

    assert caught.value.message == f"no rollout found for thread id {tid}"


async def test_archived_threads_can_be_updated_unless_excluded(store: ThreadStore) -> None:
    tid = await make_thread(store)
    await store.archive_thread(ThreadIdParams(thread_id=tid))

    updated = await patch(store, tid, git=GitInfoPatch(branch="b"))
    with pytest.raises(NotFound):
        await patch(store, tid, include_archived=False, git=GitInfoPatch(branch="c"))

    assert updated.archived
    assert updated.git_info == GitInfo(branch="b")


async def test_a_legacy_git_or_memory_update_appends_a_session_meta_copy(
    store: ThreadStore,
) -> None:
    tid = await make_thread(store, git=GIT, created_ms=BASE_MS + 42)
    first = (await store.load_history(LoadHistoryParams(thread_id=tid))).items[0]

    await patch(store, tid, memory_mode="disabled", git=GitInfoPatch(origin_url=None))
    await patch(store, tid, name="names do not touch the history")

    items = (await store.load_history(LoadHistoryParams(thread_id=tid))).items
    copy = items[-1].payload
    assert len(items) == 3
    assert items[-1].type == SESSION_META
    assert list(copy) == list(order_session_meta(copy))
    assert copy["id"] == tid
    assert copy["timestamp"] == first.payload["timestamp"]
    assert copy["memory_mode"] == "disabled"
    assert copy["history_mode"] == "legacy"
    assert copy["git"] == {"commit_hash": "abc", "branch": "main"}
    assert (await read(store, tid)).created_at_ms == BASE_MS + 42


async def test_the_name_field_of_a_patch_is_left_alone_when_unset(store: ThreadStore) -> None:
    tid = await make_thread(store)
    await rename(store, tid, "stays")

    updated = await patch(store, tid, name=UNSET, memory_mode="disabled")

    assert updated.name == "stays"


# --- lookup by name ---------------------------------------------------------------------------
async def find(store: ThreadStore, name: str, *, include_archived: bool = False) -> ThreadId | None:
    found = await store.find_thread_by_name(
        FindThreadByNameParams(name=name, include_archived=include_archived)
    )
    return None if found is None else found.thread_id


async def test_find_by_name_returns_the_most_recently_named_thread(store: ThreadStore) -> None:
    older = await make_thread(store, created_ms=BASE_MS + 5000)
    newer = await make_thread(store, created_ms=BASE_MS)
    await rename(store, newer, "shared")
    await rename(store, older, "shared")

    assert await find(store, "shared") == older
    await rename(store, newer, "shared")
    assert await find(store, "shared") == newer


async def test_a_renamed_thread_is_not_found_by_its_old_name(store: ThreadStore) -> None:
    tid = await make_thread(store)
    await rename(store, tid, "old")
    await rename(store, tid, "new")

    assert await find(store, "old") is None
    assert await find(store, "new") == tid


async def test_a_cleared_name_finds_nothing(store: ThreadStore) -> None:
    tid = await make_thread(store)
    await rename(store, tid, "gone")
    await patch(store, tid, name=None)

    assert await find(store, "gone") is None


async def test_archived_threads_are_found_by_name_only_when_included(store: ThreadStore) -> None:
    tid = await make_thread(store)
    await rename(store, tid, "archived one")
    await store.archive_thread(ThreadIdParams(thread_id=tid))

    assert await find(store, "archived one") is None
    assert await find(store, "archived one", include_archived=True) == tid


async def test_find_by_name_matches_the_whole_trimmed_name(store: ThreadStore) -> None:
    tid = await make_thread(store, user_message("q"))
    await rename(store, tid, "exact name")

    assert await find(store, "exact name") == tid
    assert await find(store, "  exact name ") == tid
    assert await find(store, "exact") is None
    assert await find(store, "Exact Name") is None
    assert await find(store, "nobody") is None

"""The public API is exactly what ``threadloom.__all__`` pins."""

from __future__ import annotations

from pathlib import Path

import threadloom

PINNED = {
    "UNSET",
    "WriteFailed",
    "LiveThread",
    "LiveState",
    "ForkThreadParams",
    "EventMode",
    "AppendItemsParams",
    "Capability",
    "Conflict",
    "CorruptData",
    "CreateThreadParams",
    "FindSpawnDescendantParams",
    "FindThreadByNameParams",
    "GitInfo",
    "GitInfoPatch",
    "HistoryMode",
    "InMemoryThreadStore",
    "InternalError",
    "InvalidRequest",
    "InvalidThreadId",
    "ListSpawnEdgesParams",
    "ListThreadsParams",
    "LoadHistoryParams",
    "LocalThreadStore",
    "NotFound",
    "ReadThreadByPathParams",
    "ReadThreadParams",
    "ResumeThreadParams",
    "RolloutLine",
    "SearchHit",
    "SearchPage",
    "SearchThreadsParams",
    "SessionMeta",
    "SessionSource",
    "SetThreadNameParams",
    "SortDirection",
    "SortKey",
    "SpawnEdge",
    "SpawnEdgeStatus",
    "StoredThread",
    "StoredThreadHistory",
    "ThreadId",
    "ThreadIdParams",
    "ThreadMetadataPatch",
    "ThreadPage",
    "ThreadStore",
    "ThreadloomError",
    "Unavailable",
    "Unsupported",
    "UpdateThreadMetadataParams",
    "UpsertSpawnEdgeParams",
    "new_thread_id",
    "parse_thread_id",
}


def test_exported_names_are_pinned() -> None:
    assert set(threadloom.__all__) == PINNED


def test_every_exported_name_exists_and_all_is_sorted() -> None:
    for name in threadloom.__all__:
        assert hasattr(threadloom, name), name
    assert threadloom.__all__ == sorted(threadloom.__all__, key=lambda n: (not n.isupper(), n))


def test_every_store_backend_satisfies_the_protocol(tmp_path: Path) -> None:
    assert isinstance(threadloom.InMemoryThreadStore(), threadloom.ThreadStore)
    local = threadloom.LocalThreadStore(tmp_path, watch=False)
    assert isinstance(local, threadloom.ThreadStore)
    local.index.close()

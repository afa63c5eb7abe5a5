"""The ThreadStore boundary: one async Protocol every backend implements.

Params in, records out; the thread id is the only durable handle. Operations a backend cannot
offer raise ``Unsupported(operation)``; ``capabilities`` says which ones are offered.
"""

from __future__ import annotations

import enum
from typing import Protocol, runtime_checkable

from threadloom.store.params import (
    AppendItemsParams,
    CreateThreadParams,
    FindSpawnDescendantParams,
    FindThreadByNameParams,
    ForkThreadParams,
    ListSpawnEdgesParams,
    ListThreadsParams,
    LoadHistoryParams,
    ReadThreadByPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    SetThreadNameParams,
    ThreadIdParams,
    UpdateThreadMetadataParams,
    UpsertSpawnEdgeParams,
)
from threadloom.store.records import (
    SearchPage,
    SpawnEdge,
    StoredThread,
    StoredThreadHistory,
    ThreadPage,
)


class Capability(enum.StrEnum):
    """Optional operations a store may offer."""

    READ_BY_ROLLOUT_PATH = "read_by_rollout_path"
    RESOLVE_LEGACY_PATH = "resolve_legacy_path"
    FULL_TEXT_SEARCH = "full_text_search"


@runtime_checkable
class ThreadStore(Protocol):
    """Durable storage of threads. Every method is safe to call concurrently."""

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    # --- live writing -------------------------------------------------------------------
    async def create_thread(self, params: CreateThreadParams) -> StoredThread:
        """Open a new thread for writing; its session_meta is written on first append."""
        ...

    async def resume_thread(self, params: ResumeThreadParams) -> StoredThread:
        """Reopen an existing thread for writing (Conflict if another writer holds it)."""
        ...

    async def append_items(self, params: AppendItemsParams) -> None:
        """Append lines, in order, to a thread opened for writing."""
        ...

    async def persist_thread(self, params: ThreadIdParams) -> None:
        """Materialise the thread now (write its session_meta if not yet written)."""
        ...

    async def flush_thread(self, params: ThreadIdParams) -> None:
        """Return once everything appended so far is durable and readable by others."""
        ...

    async def shutdown_thread(self, params: ThreadIdParams) -> None:
        """Flush, then release the writer."""
        ...

    async def discard_thread(self, params: ThreadIdParams) -> None:
        """Release the writer without writing anything more (idempotent)."""
        ...

    async def fork_thread(self, params: ForkThreadParams) -> StoredThread:
        """Create a thread holding a copy of another's history; it is left open for writing."""
        ...

    # --- reading ------------------------------------------------------------------------
    async def load_history(self, params: LoadHistoryParams) -> StoredThreadHistory: ...

    async def read_thread(self, params: ReadThreadParams) -> StoredThread: ...

    async def read_thread_by_rollout_path(self, params: ReadThreadByPathParams) -> StoredThread:
        """Local stores only; other backends raise Unsupported."""
        ...

    async def list_threads(self, params: ListThreadsParams) -> ThreadPage: ...

    async def search_threads(self, params: SearchThreadsParams) -> SearchPage: ...

    async def find_thread_by_name(self, params: FindThreadByNameParams) -> StoredThread | None: ...

    async def resolve_legacy_path(self, params: ThreadIdParams) -> str:
        """The rollout file of a thread (local stores only)."""
        ...

    # --- changing metadata ----------------------------------------------------------------
    async def set_thread_name(self, params: SetThreadNameParams) -> None: ...

    async def update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread: ...

    async def archive_thread(self, params: ThreadIdParams) -> None: ...

    async def unarchive_thread(self, params: ThreadIdParams) -> StoredThread: ...

    async def delete_thread(self, params: ThreadIdParams) -> None: ...

    # --- sub-agent spawn edges ----------------------------------------------------------
    async def upsert_spawn_edge(self, params: UpsertSpawnEdgeParams) -> None: ...

    async def list_spawn_edges(self, params: ListSpawnEdgesParams) -> list[SpawnEdge]: ...

    async def find_spawn_descendant(
        self, params: FindSpawnDescendantParams
    ) -> StoredThread | None: ...

    async def close(self) -> None:
        """Release every resource (writers are shut down)."""
        ...

"""threadloom: durable, forkable, searchable conversation threads in Codex's on-disk format.

The public API: the ThreadStore boundary and its backends, their params and records, the
LiveThread persistence handle, thread ids, and the error tree. Everything else lives in
submodules named after what they own.
"""

from threadloom.errors import (
    Conflict,
    CorruptData,
    InternalError,
    InvalidRequest,
    InvalidThreadId,
    NotFound,
    ThreadloomError,
    Unavailable,
    Unsupported,
    WriteFailed,
)
from threadloom.ids import ThreadId, new_thread_id, parse_thread_id
from threadloom.live import LiveState, LiveThread
from threadloom.protocol.policy import EventMode
from threadloom.protocol.rollout import GitInfo, HistoryMode, RolloutLine, SessionMeta
from threadloom.protocol.source import SessionSource
from threadloom.store.base import Capability, ThreadStore
from threadloom.store.local import LocalThreadStore
from threadloom.store.memory import InMemoryThreadStore
from threadloom.store.params import (
    UNSET,
    AppendItemsParams,
    CreateThreadParams,
    FindSpawnDescendantParams,
    FindThreadByNameParams,
    ForkThreadParams,
    GitInfoPatch,
    ListSpawnEdgesParams,
    ListThreadsParams,
    LoadHistoryParams,
    ReadThreadByPathParams,
    ReadThreadParams,
    ResumeThreadParams,
    SearchThreadsParams,
    SetThreadNameParams,
    SortDirection,
    SortKey,
    SpawnEdgeStatus,
    ThreadIdParams,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
    UpsertSpawnEdgeParams,
)
from threadloom.store.records import (
    SearchHit,
    SearchPage,
    SpawnEdge,
    StoredThread,
    StoredThreadHistory,
    ThreadPage,
)

__version__ = "0.1.0"

__all__ = [
    "UNSET",
    "AppendItemsParams",
    "Capability",
    "Conflict",
    "CorruptData",
    "CreateThreadParams",
    "EventMode",
    "FindSpawnDescendantParams",
    "FindThreadByNameParams",
    "ForkThreadParams",
    "GitInfo",
    "GitInfoPatch",
    "HistoryMode",
    "InMemoryThreadStore",
    "InternalError",
    "InvalidRequest",
    "InvalidThreadId",
    "ListSpawnEdgesParams",
    "ListThreadsParams",
    "LiveState",
    "LiveThread",
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
    "WriteFailed",
    "new_thread_id",
    "parse_thread_id",
]

"""One frozen params object per ThreadStore operation."""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from threadloom.ids import ThreadId
from threadloom.protocol.cursor import DEFAULT_LIMIT, MAX_LIMIT
from threadloom.protocol.rollout import GitInfo, HistoryMode, RolloutLine

DEFAULT_PAGE_SIZE = DEFAULT_LIMIT
MAX_PAGE_SIZE = MAX_LIMIT


class SortKey(enum.StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    RECENCY_AT = "recency_at"


class SortDirection(enum.StrEnum):
    ASC = "asc"
    DESC = "desc"


class CreateThreadParams(msgspec.Struct, frozen=True, kw_only=True):
    """A new thread; nothing is written until its first append (or ``materialize=True``)."""

    thread_id: ThreadId
    cwd: str
    originator: str
    cli_version: str
    created_at_ms: int | None = None
    source: Any = "vscode"
    model_provider: str | None = None
    history_mode: HistoryMode = HistoryMode.LEGACY
    forked_from_id: ThreadId | None = None
    parent_thread_id: ThreadId | None = None
    thread_source: str | None = None
    agent_nickname: str | None = None
    agent_role: str | None = None
    agent_path: str | None = None
    base_instructions: Any = None
    dynamic_tools: list[Any] | None = None
    memory_mode: str | None = None
    git: GitInfo | None = None
    extra: dict[str, Any] = msgspec.field(default_factory=dict)
    """Further session_meta fields, written verbatim (e.g. ``context_window``)."""
    materialize: bool = False


class ResumeThreadParams(msgspec.Struct, frozen=True, kw_only=True):
    """Reopen an existing thread for appends (takes the writer lock)."""

    thread_id: ThreadId
    include_archived: bool = False


class AppendItemsParams(msgspec.Struct, frozen=True, kw_only=True):
    """Rollout lines to append to a thread opened with create or resume, in order."""

    thread_id: ThreadId
    items: list[RolloutLine]
    sync: bool = False
    """Return only once these lines (and every earlier one) are durable."""
    encoded: list[bytes] | None = None
    """The items as ``protocol.codec.encode_line`` gives them, when the caller already has
    them (LiveThread does): a store may write these bytes instead of encoding again."""
    idempotency_key: str | None = None
    """Names this batch for the thread: a batch retried with the same key (e.g. after a lost
    connection) is applied once. Honoured by the PostgreSQL store; the memory and local
    stores ignore it (a failed batch of theirs leaves nothing behind)."""


class ThreadIdParams(msgspec.Struct, frozen=True, kw_only=True):
    """Operations that only need a thread id (persist, flush, shutdown, discard, archive…)."""

    thread_id: ThreadId


class LoadHistoryParams(msgspec.Struct, frozen=True, kw_only=True):
    thread_id: ThreadId
    include_archived: bool = True
    last: int | None = None
    """Only the last ``last`` lines (read from the end, without reading the rest)."""


class ForkThreadParams(msgspec.Struct, frozen=True, kw_only=True):
    """A new thread continuing another's history, in the source's history mode.

    Legacy (rollout-format 16.1): the child is written at once (its session_meta, the
    parent's, then the copied lines, with the fork time as their timestamps). Paginated
    (16.2): nothing is copied; the child's session_meta says which prefix of the parent it
    inherits (``history_base``) and its ordinals continue the parent's. Either way the child
    stays open for writing, as after ``create_thread``.
    """

    source_thread_id: ThreadId
    thread: CreateThreadParams
    """The child; ``forked_from_id`` and ``history_mode`` are taken from the source."""
    keep_items: int | None = None
    """Legacy: how many of the source's lines after its first session_meta to copy (None:
    all)."""
    end_ordinal: int | None = None
    """Paginated: the child inherits the parent's lines below this ordinal (None: all of
    them); it must be the ordinal of one of the parent's own lines."""
    include_archived: bool = True


class ReadThreadParams(msgspec.Struct, frozen=True, kw_only=True):
    thread_id: ThreadId
    include_archived: bool = True
    include_history: bool = False


class ReadThreadByPathParams(msgspec.Struct, frozen=True, kw_only=True):
    rollout_path: str
    include_archived: bool = True
    include_history: bool = False


class ListThreadsParams(msgspec.Struct, frozen=True, kw_only=True):
    """``thread/list`` semantics (app-server-threads section 5)."""

    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None
    sort_key: SortKey = SortKey.CREATED_AT
    sort_direction: SortDirection = SortDirection.DESC
    model_providers: list[str] | None = None
    """None: the default provider only; []: every provider."""
    source_kinds: list[str] = msgspec.field(default_factory=list)
    """Empty: interactive sources only."""
    archived: bool = False
    cwds: list[str] | None = None
    search_term: str | None = None
    state_db_only: bool = False
    """Answer as Codex's database listing does (``useStateDbOnly``, or a ``sectionId``):
    millisecond order and cursors whatever the filters, and a search term matched against the
    preview and the title, not the names of ``session_index.jsonl`` (protocol.listing)."""
    excluded_thread_ids: list[ThreadId] = msgspec.field(default_factory=list)
    """Threads left out before the limit applies; ``nextCursor`` still counts them (a page
    whose only followers are excluded has one), as Codex's paging does."""


class SearchThreadsParams(msgspec.Struct, frozen=True, kw_only=True):
    """Full-text search over everything said in threads."""

    query: str
    limit: int = 20
    cursor: str | None = None
    archived: bool | None = False
    """False: live threads only; True: archived only; None: both."""


class FindThreadByNameParams(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    include_archived: bool = False


class SetThreadNameParams(msgspec.Struct, frozen=True, kw_only=True):
    thread_id: ThreadId
    name: str


class Unset(enum.Enum):
    """Marker for a patch field that is left as it is."""

    UNSET = "unset"


UNSET = Unset.UNSET


class GitInfoPatch(msgspec.Struct, frozen=True, kw_only=True):
    """Three-state patch per member: UNSET keeps, None clears, a string sets."""

    sha: str | Unset | None = UNSET
    branch: str | Unset | None = UNSET
    origin_url: str | Unset | None = UNSET

    @property
    def is_empty(self) -> bool:
        return self.sha is UNSET and self.branch is UNSET and self.origin_url is UNSET


class ThreadMetadataPatch(msgspec.Struct, frozen=True, kw_only=True):
    """Fields to change; every field left UNSET is kept. Applied atomically."""

    name: str | Unset | None = UNSET
    memory_mode: str | Unset = UNSET
    git: GitInfoPatch | None = None

    @property
    def is_empty(self) -> bool:
        git_empty = self.git is None or self.git.is_empty
        return self.name is UNSET and self.memory_mode is UNSET and git_empty


class UpdateThreadMetadataParams(msgspec.Struct, frozen=True, kw_only=True):
    thread_id: ThreadId
    patch: ThreadMetadataPatch
    include_archived: bool = True


class SpawnEdgeStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class UpsertSpawnEdgeParams(msgspec.Struct, frozen=True, kw_only=True):
    parent_thread_id: ThreadId
    child_thread_id: ThreadId
    status: SpawnEdgeStatus = SpawnEdgeStatus.OPEN


class ListSpawnEdgesParams(msgspec.Struct, frozen=True, kw_only=True):
    """Children of a thread (``recursive``: every descendant), optionally by status."""

    parent_thread_id: ThreadId
    recursive: bool = False
    status: SpawnEdgeStatus | None = None


class FindSpawnDescendantParams(msgspec.Struct, frozen=True, kw_only=True):
    """The descendant of ``root_thread_id`` whose agent path is ``agent_path``."""

    root_thread_id: ThreadId
    agent_path: str

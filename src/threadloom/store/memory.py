"""InMemoryThreadStore: the local store's semantics without files.

Threads live in dictionaries; every rule that does not depend on files is the same as for the
local store: lazy materialisation, one writer per thread, Codex's listing and cursors, the
read/list name rules, metadata patches appending a ``session_meta`` copy (legacy threads),
archive/unarchive/delete, full-text search and spawn edges. ``rollout_path`` is always None.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from threadloom.errors import Conflict, InvalidRequest, NotFound, Unsupported
from threadloom.ids import ThreadId
from threadloom.protocol.codec import (
    LineError,
    decode_line,
    encode_line,
    format_timestamp,
)
from threadloom.protocol.cursor import clamp_limit
from threadloom.protocol.listing import list_page, uses_database
from threadloom.protocol.policy import line_kept_on_read
from threadloom.protocol.rollout import (
    GitInfo,
    HistoryMode,
    InvalidSessionMeta,
    RolloutLine,
    SessionMeta,
)
from threadloom.protocol.source import InvalidSource
from threadloom.protocol.summary import SummaryState
from threadloom.protocol.texts import SearchText, TextState, extract
from threadloom.store.base import Capability
from threadloom.store.create import parent_meta_copy, session_meta_line
from threadloom.store.fork_lines import inherited_end
from threadloom.store.metadata_patch import meta_copy_line, patch_git, validate_patch
from threadloom.store.params import (
    UNSET,
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
    SpawnEdgeStatus,
    ThreadIdParams,
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
    stored_from_summary,
)
from threadloom.store.search_rank import make_snippet, score_thread, search_terms


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _not_found(thread_id: str) -> NotFound:
    return NotFound(f"no rollout found for thread id {thread_id}", thread_id)


def _active_writer(thread_id: str) -> Conflict:
    return Conflict(f"thread {thread_id} already has an active writer", thread_id)


@dataclass(slots=True)
class _Thread:
    """One thread: its lines and everything derived from them."""

    thread_id: ThreadId
    meta: SessionMeta
    updated_at_ms: int
    recency_at_ms: int = 0
    """Last activity: appended lines that show some (``SummaryState.activity_mark``) move it;
    recorded settings, injected items, metadata updates and unarchiving do not."""
    lines: list[RolloutLine] = field(default_factory=list)
    state: SummaryState = field(default_factory=SummaryState)
    text_state: TextState = field(default_factory=TextState)
    texts: list[SearchText] = field(default_factory=list)
    index: int = 0
    next_ordinal: int = 0
    archived: bool = False
    archived_at_ms: int | None = None
    read_name: str | None = None
    list_name: str | None = None
    name_seq: int = -1
    git_override: GitInfo | None = None
    memory_override: str | None = None
    overridden: bool = False
    """Paginated threads keep metadata patches beside their lines, as Codex's database does."""

    def append(self, line: RolloutLine) -> None:
        """Store one detached line (ordinals as the local writer writes them) and fold it in."""
        if self.meta.history_mode == HistoryMode.PAGINATED:
            line = msgspec.structs.replace(line, ordinal=self.next_ordinal)
            self.next_ordinal += 1
        elif line.ordinal is not None:
            line = msgspec.structs.replace(line, ordinal=None)
        self.lines.append(line)
        payload = line.payload
        self.state.feed(line.type, payload)
        text = extract(self.text_state, line.type, payload, self.index)
        if text is not None:
            self.texts.append(text)
        if line_kept_on_read(line):
            self.index += 1

    def history(self, last: int | None = None) -> StoredThreadHistory:
        """The stored lines (the last ``last`` of them), detached from the store."""
        lines = self.lines if last is None else self.lines[len(self.lines) - last :] if last else []
        return StoredThreadHistory(
            thread_id=self.thread_id, items=[_snapshot(line) for line in lines]
        )

    def git(self) -> GitInfo | None:
        git = self.git_override if self.overridden else self.state.git_info()
        return None if git is None or git.is_empty else git

    def memory_mode(self) -> str:
        mode = self.memory_override if self.overridden else self.state.memory_mode
        return mode or "enabled"

    def set_name(self, name: str, seq: int) -> None:
        """Record one name entry (empty = cleared), as one line of ``session_index.jsonl``."""
        self.read_name = name or None
        if name:
            self.list_name = name
        self.name_seq = seq

    @property
    def agent_path(self) -> str | None:
        if self.meta.agent_path is not None:
            return self.meta.agent_path
        spawn = self.meta.source.spawn
        value = spawn.get("agent_path") if spawn is not None else None
        return value if isinstance(value, str) else None


@dataclass(slots=True)
class _Writer:
    """The active writer of a thread; ``pending`` holds the thread until it is materialised."""

    thread_id: ThreadId
    pending: _Thread | None


class InMemoryThreadStore:
    """A ThreadStore keeping everything in memory (tests, ephemeral use)."""

    def __init__(
        self, *, default_provider: str = "openai", clock: Callable[[], int] | None = None
    ) -> None:
        self.default_provider = default_provider
        self._clock = clock or _now_ms
        self._lock = asyncio.Lock()
        self._threads: dict[ThreadId, _Thread] = {}
        self._writers: dict[ThreadId, _Writer] = {}
        self._edges: dict[ThreadId, tuple[ThreadId, SpawnEdgeStatus]] = {}
        self._name_seq = 0

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.FULL_TEXT_SEARCH})

    # --- live writing -------------------------------------------------------------------
    async def create_thread(self, params: CreateThreadParams) -> StoredThread:
        async with self._lock:
            tid = params.thread_id
            if tid in self._writers:
                raise _active_writer(tid)
            if tid in self._threads:
                raise Conflict(f"thread {tid} already exists", tid)
            now = self._clock()
            created = params.created_at_ms if params.created_at_ms is not None else now
            fixed = msgspec.structs.replace(params, created_at_ms=created)
            try:
                line = session_meta_line(fixed, now_ms=now)
                meta = SessionMeta.from_payload(line.payload)
            except (InvalidSource, InvalidSessionMeta) as exc:
                raise InvalidRequest(f"invalid session metadata: {exc}") from None
            thread = _Thread(thread_id=tid, meta=meta, updated_at_ms=created, recency_at_ms=created)
            thread.append(_snapshot(line))
            writer = _Writer(tid, thread)
            self._writers[tid] = writer
            if params.materialize:
                self._materialise(writer, now)
            return self._record(thread, listing=False)

    async def resume_thread(self, params: ResumeThreadParams) -> StoredThread:
        async with self._lock:
            tid = params.thread_id
            thread = self._threads.get(tid)
            if thread is None:
                raise _not_found(tid)
            if thread.archived and not params.include_archived:
                raise InvalidRequest(
                    f"session {tid} is archived. Run `codex unarchive {tid}` to unarchive it first."
                )
            if tid in self._writers:
                raise _active_writer(tid)
            self._writers[tid] = _Writer(tid, None)
            return self._record(thread, listing=False)

    async def append_items(self, params: AppendItemsParams) -> None:
        async with self._lock:
            tid = params.thread_id
            writer = self._writers.get(tid)
            if writer is None:
                if tid in self._threads:
                    raise Conflict(f"thread {tid} is not open for writing", tid)
                raise _not_found(tid)
            if params.encoded is not None and len(params.encoded) == len(params.items):
                lines = [_decoded(data) for data in params.encoded]
            else:
                lines = [_snapshot(line) for line in params.items]
            now = self._clock()
            thread = self._materialise(writer, now)
            before = thread.state.activity_mark()
            for line in lines:
                thread.append(line)
            thread.updated_at_ms = now
            if thread.state.activity_mark() != before:
                thread.recency_at_ms = now

    async def persist_thread(self, params: ThreadIdParams) -> None:
        async with self._lock:
            writer = self._writers.get(params.thread_id)
            if writer is not None:
                self._materialise(writer, self._clock())
            elif params.thread_id not in self._threads:
                raise _not_found(params.thread_id)

    async def flush_thread(self, params: ThreadIdParams) -> None:
        async with self._lock:
            tid = params.thread_id
            if tid not in self._writers and tid not in self._threads:
                raise _not_found(tid)

    async def shutdown_thread(self, params: ThreadIdParams) -> None:
        async with self._lock:
            tid = params.thread_id
            if self._writers.pop(tid, None) is None and tid not in self._threads:
                raise _not_found(tid)

    async def discard_thread(self, params: ThreadIdParams) -> None:
        async with self._lock:
            self._writers.pop(params.thread_id, None)

    async def fork_thread(self, params: ForkThreadParams) -> StoredThread:
        if params.keep_items is not None and params.keep_items < 0:
            raise InvalidRequest("keep_items must not be negative")
        async with self._lock:
            source = self._stored(params.source_thread_id, include_archived=params.include_archived)
            if source.meta.history_mode == HistoryMode.PAGINATED:
                base = _inherited_prefix(source, params.end_ordinal)
            else:
                base = None
            copied = source.lines[1:]
            if params.keep_items is not None:
                copied = copied[: params.keep_items]
            parent_meta = source.lines[0]
        child = msgspec.structs.replace(
            params.thread,
            forked_from_id=source.meta.id,
            history_mode=source.meta.history_mode,
            materialize=False,
        )
        if base is not None:
            return await self._fork_paginated(child, source.meta.id, base)
        stored = await self.create_thread(child)
        stamp = format_timestamp(stored.created_at_ms)
        lines = [
            parent_meta_copy(parent_meta.payload, source.meta.history_mode, stamp),
            *(msgspec.structs.replace(line, timestamp=stamp) for line in copied),
        ]
        await self.append_items(AppendItemsParams(thread_id=stored.thread_id, items=lines))
        return await self.read_thread(ReadThreadParams(thread_id=stored.thread_id))

    async def _fork_paginated(
        self, child: CreateThreadParams, parent_id: str, base: tuple[int, int]
    ) -> StoredThread:
        """A paginated child pointing into its parent (rollout-format 16.2): nothing copied,
        ordinals continuing the parent's."""
        end_ordinal, end_offset = base
        extra = {
            **child.extra,
            "forked_from_ordinal_exclusive": end_ordinal,
            "history_base": {
                "thread_id": parent_id,
                "end_ordinal_exclusive": end_ordinal,
                "end_byte_offset": end_offset,
            },
        }
        stored = await self.create_thread(msgspec.structs.replace(child, extra=extra))
        async with self._lock:
            writer = self._writers[stored.thread_id]
            thread = writer.pending
            assert thread is not None
            thread.lines[0] = msgspec.structs.replace(thread.lines[0], ordinal=end_ordinal)
            thread.next_ordinal = end_ordinal + 1
            self._materialise(writer, self._clock())
        return await self.read_thread(ReadThreadParams(thread_id=stored.thread_id))

    # --- reading ------------------------------------------------------------------------
    async def load_history(self, params: LoadHistoryParams) -> StoredThreadHistory:
        if params.last is not None and params.last < 0:
            raise InvalidRequest("last must not be negative")
        async with self._lock:
            thread = self._stored(params.thread_id, include_archived=params.include_archived)
            return thread.history(params.last)

    async def read_thread(self, params: ReadThreadParams) -> StoredThread:
        async with self._lock:
            thread = self._stored(params.thread_id, include_archived=params.include_archived)
            return self._record(thread, listing=False, history=params.include_history)

    async def read_thread_by_rollout_path(self, params: ReadThreadByPathParams) -> StoredThread:
        raise Unsupported("read_thread_by_rollout_path")

    async def list_threads(self, params: ListThreadsParams) -> ThreadPage:
        async with self._lock:
            records = [self._record(t, listing=True) for t in self._threads.values()]
        page = list_page(records, params, default_provider=self.default_provider)
        items = page.items
        if uses_database(params):
            # Codex's database rows have no parent thread and follow the recorded settings'
            # cwd (protocol.listing).
            items = [
                msgspec.structs.replace(t, parent_thread_id=None, cwd=t.settings_cwd or t.cwd)
                for t in items
            ]
        return ThreadPage(
            items=items,
            next_cursor=page.next_cursor,
            backwards_cursor=page.backwards_cursor,
        )

    async def search_threads(self, params: SearchThreadsParams) -> SearchPage:
        terms = search_terms(params.query)
        if not terms:
            raise InvalidRequest("search query must contain at least one word")
        offset = _parse_search_cursor(params.cursor)
        limit = clamp_limit(params.limit)
        async with self._lock:
            scored: list[tuple[float, int, str, _Thread, SearchText, tuple[int, int]]] = []
            for thread in self._threads.values():
                if params.archived is not None and thread.archived != params.archived:
                    continue
                found = score_thread(thread.texts, terms)
                if found is not None:
                    score, text, span = found
                    scored.append(
                        (score, thread.updated_at_ms, thread.thread_id, thread, text, span)
                    )
            scored.sort(key=lambda hit: (hit[0], hit[1], hit[2]), reverse=True)
            page = scored[offset : offset + limit]
            items = [
                SearchHit(
                    thread=self._record(thread, listing=True),
                    snippet=make_snippet(text.text, *span),
                    turn_id=text.turn_id,
                    role=text.role,
                    score=score,
                )
                for score, _, _, thread, text, span in page
            ]
        end = offset + len(page)
        more = end < len(scored)
        return SearchPage(items=items, next_cursor=str(end) if more else None)

    async def find_thread_by_name(self, params: FindThreadByNameParams) -> StoredThread | None:
        name = params.name.strip()
        async with self._lock:
            best: _Thread | None = None
            for thread in self._threads.values():
                if thread.read_name != name:
                    continue
                if thread.archived and not params.include_archived:
                    continue
                if best is None or thread.name_seq > best.name_seq:
                    best = thread
            return None if best is None else self._record(best, listing=False)

    async def resolve_legacy_path(self, params: ThreadIdParams) -> str:
        raise Unsupported("resolve_legacy_path")

    # --- changing metadata ----------------------------------------------------------------
    async def set_thread_name(self, params: SetThreadNameParams) -> None:
        name = params.name.strip()
        if not name:
            raise InvalidRequest("thread name must not be empty")
        async with self._lock:
            thread = self._for_metadata(params.thread_id, include_archived=False)
            thread.set_name(name, self._next_name_seq())

    async def update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        patch = params.patch
        name = validate_patch(patch)
        async with self._lock:
            writer = self._writers.get(params.thread_id)
            if (
                writer is not None
                and writer.pending is not None
                and writer.pending.meta.history_mode == HistoryMode.PAGINATED
                and name is UNSET
            ):
                # a started paginated thread: its metadata is kept aside, not stored (12.1)
                thread = writer.pending
            else:
                thread = self._for_metadata(
                    params.thread_id, include_archived=params.include_archived
                )
            if name is not UNSET:
                thread.set_name(name or "", self._next_name_seq())
            if patch.git is not None or patch.memory_mode is not UNSET:
                git = patch_git(thread.git(), patch.git)
                mode = thread.memory_mode() if patch.memory_mode is UNSET else patch.memory_mode
                now = self._clock()
                if thread.meta.history_mode == HistoryMode.LEGACY:
                    copy = meta_copy_line(
                        thread.state.meta_payload, thread.meta.history_mode, git, mode, now
                    )
                    thread.append(_snapshot(copy))
                else:
                    thread.overridden = True
                    thread.git_override, thread.memory_override = git, mode
                thread.updated_at_ms = now
            return self._record(thread, listing=False)

    async def archive_thread(self, params: ThreadIdParams) -> None:
        async with self._lock:
            tid = params.thread_id
            thread = self._threads.get(tid)
            if thread is None or thread.archived:
                raise _not_found(tid)
            if tid in self._writers:
                raise _active_writer(tid)
            thread.archived = True
            thread.archived_at_ms = self._clock()

    async def unarchive_thread(self, params: ThreadIdParams) -> StoredThread:
        async with self._lock:
            tid = params.thread_id
            thread = self._threads.get(tid)
            if thread is None or not thread.archived:
                raise NotFound(f"no archived rollout found for thread id {tid}", tid)
            if tid in self._writers:
                raise _active_writer(tid)
            thread.archived = False
            thread.archived_at_ms = None
            thread.updated_at_ms = self._clock()
            return self._record(thread, listing=False)

    async def delete_thread(self, params: ThreadIdParams) -> None:
        async with self._lock:
            tid = params.thread_id
            if tid not in self._threads:
                raise _not_found(tid)
            if tid in self._writers:
                raise _active_writer(tid)
            del self._threads[tid]
            self._edges = {
                child: (parent, status)
                for child, (parent, status) in self._edges.items()
                if tid not in (child, parent)
            }

    # --- sub-agent spawn edges ----------------------------------------------------------
    async def upsert_spawn_edge(self, params: UpsertSpawnEdgeParams) -> None:
        async with self._lock:
            self._edges[params.child_thread_id] = (params.parent_thread_id, params.status)

    async def list_spawn_edges(self, params: ListSpawnEdgesParams) -> list[SpawnEdge]:
        async with self._lock:
            return self._descendants(params.parent_thread_id, params.recursive, params.status)

    async def find_spawn_descendant(self, params: FindSpawnDescendantParams) -> StoredThread | None:
        async with self._lock:
            for edge in self._descendants(params.root_thread_id, recursive=True, status=None):
                thread = self._threads.get(edge.child_thread_id)
                if thread is not None and thread.agent_path == params.agent_path:
                    return self._record(thread, listing=False)
            return None

    async def close(self) -> None:
        async with self._lock:
            self._writers.clear()

    # --- internals ------------------------------------------------------------------------
    def _materialise(self, writer: _Writer, now: int) -> _Thread:
        """The writer's stored thread, storing it first if this is its first write."""
        if writer.pending is None:
            return self._threads[writer.thread_id]
        thread, writer.pending = writer.pending, None
        thread.updated_at_ms = thread.recency_at_ms = now
        self._threads[writer.thread_id] = thread
        return thread

    def _stored(self, thread_id: ThreadId, *, include_archived: bool) -> _Thread:
        thread = self._threads.get(thread_id)
        if thread is None or (thread.archived and not include_archived):
            raise _not_found(thread_id)
        return thread

    def _for_metadata(self, thread_id: ThreadId, *, include_archived: bool) -> _Thread:
        """The thread a metadata change applies to; a pending one is materialised first."""
        writer = self._writers.get(thread_id)
        if writer is not None and writer.pending is not None:
            return self._materialise(writer, self._clock())
        return self._stored(thread_id, include_archived=include_archived)

    def _next_name_seq(self) -> int:
        self._name_seq += 1
        return self._name_seq

    def _descendants(
        self, root: ThreadId, recursive: bool, status: SpawnEdgeStatus | None
    ) -> list[SpawnEdge]:
        """Edges below ``root`` (only through edges of ``status``), by (depth, child id)."""
        children: dict[str, list[tuple[ThreadId, SpawnEdgeStatus]]] = {}
        for child, (parent, edge_status) in self._edges.items():
            if status is None or edge_status == status:
                children.setdefault(parent, []).append((child, edge_status))
        out: list[SpawnEdge] = []
        seen = {root}
        queue: deque[tuple[ThreadId, int]] = deque([(root, 0)])
        while queue:
            parent, depth = queue.popleft()
            for child, edge_status in children.get(parent, []):
                if child in seen:
                    continue
                seen.add(child)
                out.append(
                    SpawnEdge(
                        parent_thread_id=parent,
                        child_thread_id=child,
                        status=edge_status,
                        depth=depth + 1,
                    )
                )
                if recursive:
                    queue.append((child, depth + 1))
        out.sort(key=lambda edge: (edge.depth, edge.child_thread_id))
        return out

    def _record(self, thread: _Thread, *, listing: bool, history: bool = False) -> StoredThread:
        meta, state = thread.meta, thread.state
        return stored_from_summary(
            meta,
            state,
            default_provider=self.default_provider,
            name=thread.list_name if listing else thread.read_name,
            updated_at_ms=thread.updated_at_ms,
            recency_at_ms=thread.recency_at_ms or thread.updated_at_ms,
            archived=thread.archived,
            archived_at_ms=thread.archived_at_ms,
            git_info=thread.git(),
            memory_mode=thread.memory_mode(),
            history=thread.history() if history else None,
        )


def _snapshot(line: RolloutLine) -> RolloutLine:
    """The line as a file would give it back: JSON round trip, detached from the caller."""
    try:
        return decode_line(encode_line(line))
    except (TypeError, msgspec.EncodeError, LineError) as exc:
        raise InvalidRequest(f"rollout line cannot be stored as JSON: {exc}") from None


def _decoded(data: bytes) -> RolloutLine:
    try:
        return decode_line(data)
    except LineError as exc:
        raise InvalidRequest(f"rollout line cannot be stored as JSON: {exc}") from None


def _parse_search_cursor(cursor: str | None) -> int:
    """Search cursors are opaque to callers; here they are the offset of the next hit."""
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()):
        raise InvalidRequest(f"invalid cursor: {cursor}")
    return int(cursor)


def _inherited_prefix(parent: _Thread, end_ordinal: int | None) -> tuple[int, int]:
    """``(end_ordinal_exclusive, end_byte_offset)`` a paginated fork of ``parent`` inherits:
    its lines below ``end_ordinal`` (None: all), measured as the local store writes them."""
    lines = ((line.ordinal, len(encode_line(line))) for line in parent.lines)
    end = inherited_end(lines, end_ordinal)
    if end is None:
        raise InvalidRequest(f"ordinal {end_ordinal} is not a line of thread {parent.thread_id}")
    return end

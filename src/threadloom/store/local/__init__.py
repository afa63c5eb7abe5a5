"""LocalThreadStore: threads as Codex rollout files in a CODEX_HOME, with threadloom's index.

This module is the delegation table; each operation lives in the module named after it.
Blocking work runs in worker threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import msgspec

from threadloom.errors import Conflict, CorruptData, InvalidRequest, NotFound
from threadloom.ids import ThreadId, parse_thread_id
from threadloom.protocol.codec import encode_line, format_timestamp
from threadloom.protocol.paths import parse_rollout_name, rollout_relative_path
from threadloom.protocol.rollout import HistoryMode
from threadloom.protocol.summary import SummaryState
from threadloom.store.base import Capability
from threadloom.store.create import created_ms, parent_meta_copy, session_meta_line
from threadloom.store.local import fork, mutations
from threadloom.store.local.convert import read_failure_message, stored_thread
from threadloom.store.local.index import FILE_COLUMNS, FileRow, Index, ProgressFn
from threadloom.store.local.layout import CodexHome
from threadloom.store.local.listing import list_threads
from threadloom.store.local.locks import WriterLock
from threadloom.store.local.reader import iter_lines, tail_lines
from threadloom.store.local.scan import scan_summary
from threadloom.store.local.search import search
from threadloom.store.local.spawn import SpawnEdges
from threadloom.store.local.watcher import Watcher
from threadloom.store.local.writer import RolloutWriter, decompress_in_place, next_ordinal
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
    ThreadIdParams,
    UpdateThreadMetadataParams,
    UpsertSpawnEdgeParams,
)
from threadloom.store.records import (
    IndexStats,
    SearchPage,
    SpawnEdge,
    StoredThread,
    StoredThreadHistory,
    ThreadPage,
)

__all__ = ["LocalThreadStore"]

P = ParamSpec("P")
R = TypeVar("R")


def _try_watcher(home: CodexHome) -> Watcher | None:
    try:
        return Watcher(home)
    except OSError:
        return None


def default_provider_of(home: CodexHome) -> str:
    """The provider of ``config.toml`` (``model_provider``), else ``openai``."""
    try:
        with open(home.root / "config.toml", "rb") as f:
            value = tomllib.load(f).get("model_provider")
    except (OSError, tomllib.TOMLDecodeError):
        return "openai"
    return value if isinstance(value, str) and value else "openai"


class LocalThreadStore:
    """The embedded default store, reading and writing Codex's own on-disk format."""

    capabilities = frozenset(
        {
            Capability.READ_BY_ROLLOUT_PATH,
            Capability.RESOLVE_LEGACY_PATH,
            Capability.FULL_TEXT_SEARCH,
        }
    )

    def __init__(
        self,
        codex_home: Path | str,
        *,
        default_provider: str | None = None,
        watch: bool = True,
    ) -> None:
        self.home = CodexHome(Path(codex_home))
        self.default_provider = default_provider or default_provider_of(self.home)
        self.index = Index(self.home)
        self.spawn = SpawnEdges(self.index)
        self._watcher: Watcher | None = None
        self._watch = watch
        self._synced = False
        self._writers: dict[str, RolloutWriter] = {}
        self._writers_lock = threading.Lock()

    # --- plumbing -----------------------------------------------------------------------
    async def _run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(fn, *args, **kwargs)

    def refresh(self, progress: ProgressFn | None = None) -> IndexStats:
        """Bring the index up to date with the files (synchronous; the CLI shows progress)."""
        with self.index.lock:
            if self._watch and self._watcher is None:
                self._watcher = _try_watcher(self.home)
            elif self._watcher is not None:
                self._watcher.poll()
                self._watcher.rewatch()
            stats = self.index.refresh(progress)
            self._synced = True
            return stats

    def index_texts(self, progress: ProgressFn | None = None) -> int:
        """Extract the search texts of every file read since the last call; return how many."""
        self._sync()
        return self.index.refresh_texts(progress)

    def _push_live(self) -> None:
        """Tell the index what this process's writers wrote, from their own state."""
        with self._writers_lock:
            writers = list(self._writers.values())
        for writer in writers:
            self._push_writer(writer)

    def _push_writer(self, writer: RolloutWriter) -> None:
        written = writer.written_state()
        if written is not None:
            self.index.note_written(
                written.path, written.size, written.mtime_ns, written.inode, written.state_blob
            )

    def _sync(self) -> None:
        """Make the index current: only what changed when watching, else a full check."""
        with self.index.lock:
            self._push_live()
            if self._watcher is None or not self._synced:
                self.refresh()
                return
            changes = self._watcher.poll()
            if changes.full:
                self.refresh()
                return
            if changes.paths:
                self.index.refresh_paths(changes.paths)
            elif changes.names:
                self.index.refresh_names()

    def rebuild(self, progress: ProgressFn | None = None) -> IndexStats:
        """Drop the index and build it again from the files."""
        self.index.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.home.index_db) + suffix).unlink(missing_ok=True)
        self.index = Index(self.home)
        self.spawn = SpawnEdges(self.index)
        return self.refresh(progress)

    def _row(self, thread_id: ThreadId, *, include_archived: bool = True) -> FileRow:
        self._sync()
        row = self.index.find(thread_id, include_archived=include_archived)
        if row is None:
            invalid = self.index.find_invalid(thread_id)
            if invalid is not None:
                path, _ = invalid
                raise CorruptData(read_failure_message(Path(path)), Path(path))
            raise mutations.no_rollout(thread_id)
        return row

    def _inherit_from_base(self, row: FileRow) -> FileRow:
        """A paginated fork's model comes from its parent's history below the fork point."""
        meta = row.meta
        base = meta.history_base if meta is not None else None
        if base is None or row.state.model is not None:
            return row
        parent_id, end = base.get("thread_id"), base.get("end_byte_offset")
        if not isinstance(parent_id, str) or not isinstance(end, int) or parent_id == row.thread_id:
            return row
        parent = self.index.find(parent_id.lower())
        if parent is None:
            return row
        inherited = SummaryState()
        try:
            scan_summary(Path(parent.path), parent.path.endswith(".zst"), inherited, 0, end)
        except OSError:
            return row
        state = msgspec.structs.replace(
            row.state, model=inherited.model, reasoning_effort=inherited.reasoning_effort
        )
        return dataclasses.replace(row, state=state)

    def _stored(self, row: FileRow, *, history: bool = False) -> StoredThread:
        items = None
        if history:
            items = StoredThreadHistory(
                thread_id=ThreadId(row.thread_id or ""), items=list(iter_lines(Path(row.path)))
            )
        return stored_thread(
            row, default_provider=self.default_provider, listing=False, history=items
        )

    # --- live writing ---------------------------------------------------------------------
    async def create_thread(self, params: CreateThreadParams) -> StoredThread:
        return await self._run(self._create, params)

    def _create(self, params: CreateThreadParams) -> StoredThread:
        thread_id = parse_thread_id(params.thread_id)
        created = created_ms(params)  # one clock reading for the name, the meta and the record
        params = msgspec.structs.replace(params, created_at_ms=created)
        meta_line = session_meta_line(params)
        path = self.home.root / rollout_relative_path(thread_id, created)
        lock = WriterLock(self.home.writer_locks, thread_id)
        lock.acquire()
        try:
            self._check_new(thread_id)
        except BaseException:
            lock.release()
            raise
        writer = RolloutWriter(
            thread_id,
            path,
            lock,
            params.history_mode,
            meta_line=meta_line,
            summary=SummaryState(),
        )
        with self._writers_lock:
            self._writers[thread_id] = writer
        if params.materialize:
            writer.persist()
            writer.flush()
        state = SummaryState()
        state.feed(meta_line.type, meta_line.payload)
        row = FileRow(
            path=str(path),
            thread_id=thread_id,
            archived=False,
            size=0,
            mtime_ns=created * 1_000_000,
            inode=0,
            state=state,
        )
        return self._stored(row)

    def _check_new(self, thread_id: ThreadId) -> None:
        """Refuse an id that is stored already (under its writer lock, so no race). An empty
        file left by a creator killed before its first write holds nothing: it is removed."""
        self._sync()
        if self.index.find(thread_id) is not None:
            raise Conflict(f"thread {thread_id} already exists", thread_id)
        invalid = self.index.find_invalid(thread_id)
        if invalid is not None:
            path = Path(invalid[0])
            try:
                empty = path.stat().st_size == 0
            except FileNotFoundError:
                empty = True
            if not empty:
                raise Conflict(f"thread {thread_id} already exists", thread_id)
            path.unlink(missing_ok=True)
            self.index.refresh_paths([path])

    async def resume_thread(self, params: ResumeThreadParams) -> StoredThread:
        return await self._run(self._resume, params)

    def _resume(self, params: ResumeThreadParams) -> StoredThread:
        row = self._row(params.thread_id)
        meta = row.meta
        assert meta is not None
        if row.archived and not params.include_archived:
            raise InvalidRequest(
                f"session {meta.id} is archived. Run `codex unarchive {meta.id}` to unarchive "
                "it first."
            )
        lock = WriterLock(self.home.writer_locks, meta.id)
        lock.acquire()
        try:
            path = decompress_in_place(Path(row.path))
            ordinal = next_ordinal(path) if meta.history_mode == HistoryMode.PAGINATED else None
        except BaseException:
            lock.release()
            raise
        writer = RolloutWriter(
            meta.id,
            path,
            lock,
            meta.history_mode,
            next_ordinal=ordinal,
            summary=row.state if path == Path(row.path) else None,
        )
        with self._writers_lock:
            self._writers[meta.id] = writer
        return self._stored(row)

    def _writer(self, thread_id: ThreadId) -> RolloutWriter:
        with self._writers_lock:
            writer = self._writers.get(thread_id)
        if writer is None:
            self._sync()
            if self.index.find(thread_id) is None:
                raise mutations.no_rollout(thread_id)
            raise Conflict(f"thread {thread_id} is not open for writing", thread_id)
        return writer

    async def append_items(self, params: AppendItemsParams) -> None:
        writer = self._writer(params.thread_id)
        await self._run(writer.append, params.items, sync=params.sync, encoded=params.encoded)

    async def persist_thread(self, params: ThreadIdParams) -> None:
        await self._run(self._writer(params.thread_id).persist)

    async def flush_thread(self, params: ThreadIdParams) -> None:
        await self._run(self._writer(params.thread_id).flush)

    async def shutdown_thread(self, params: ThreadIdParams) -> None:
        writer = self._writer(params.thread_id)
        await self._run(self._close_writer, writer, True)

    async def discard_thread(self, params: ThreadIdParams) -> None:
        with self._writers_lock:
            writer = self._writers.get(params.thread_id)
        if writer is not None:
            await self._run(self._close_writer, writer, False)

    def _close_writer(self, writer: RolloutWriter, flush: bool) -> None:
        try:
            writer.close(flush=flush)
            with self.index.lock:
                self._push_writer(writer)
        finally:
            self._drop_writer(writer)

    async def fork_thread(self, params: ForkThreadParams) -> StoredThread:
        return await self._run(self._fork, params)

    def _fork(self, params: ForkThreadParams) -> StoredThread:
        source = self._row(params.source_thread_id, include_archived=params.include_archived)
        meta = source.meta
        assert meta is not None
        assert source.state.meta_payload is not None
        if meta.history_mode == HistoryMode.PAGINATED:
            return self._fork_paginated(params, source)
        if params.keep_items is not None and params.keep_items < 0:
            raise InvalidRequest("keep_items must not be negative")
        child = msgspec.structs.replace(
            params.thread, forked_from_id=meta.id, history_mode=meta.history_mode
        )
        stored = self._create(child)
        writer = self._writer(stored.thread_id)
        try:
            assert writer.meta_line is not None
            stamp = format_timestamp(stored.created_at_ms)
            summary = SummaryState()
            parent = parent_meta_copy(source.state.meta_payload, meta.history_mode, stamp)
            for line in (writer.meta_line, parent):
                summary.feed(line.type, line.payload)
            with fork.copied_history(
                Path(source.path), params.keep_items, stamp, summary
            ) as chunks:
                writer.append_chunks([encode_line(parent) + b"\n", *chunks])
            writer.summary = summary
            self._push_writer(writer)
            row = self._row(stored.thread_id)
        except BaseException:
            self._close_writer(writer, False)
            writer.path.unlink(missing_ok=True)
            raise
        return self._stored(row)

    def _fork_paginated(self, params: ForkThreadParams, source: FileRow) -> StoredThread:
        """A paginated child: its session_meta points into the parent (``history_base``),
        its ordinals continue the parent's; nothing is copied (rollout-format 16.2)."""
        meta = source.meta
        assert meta is not None
        end_ordinal, end_offset = fork.inherited_prefix(Path(source.path), params.end_ordinal)
        extra = {
            **params.thread.extra,
            "forked_from_ordinal_exclusive": end_ordinal,
            "history_base": {
                "thread_id": meta.id,
                "end_ordinal_exclusive": end_ordinal,
                "end_byte_offset": end_offset,
            },
        }
        child = msgspec.structs.replace(
            params.thread,
            forked_from_id=meta.id,
            history_mode=HistoryMode.PAGINATED,
            extra=extra,
            materialize=False,
        )
        stored = self._create(child)
        writer = self._writer(stored.thread_id)
        try:
            writer.next_ordinal = end_ordinal
            writer.persist()
            writer.flush()
            self._push_writer(writer)
            row = self._row(stored.thread_id)
        except BaseException:
            self._close_writer(writer, False)
            writer.path.unlink(missing_ok=True)
            raise
        return self._stored(self._inherit_from_base(row))

    def _drop_writer(self, writer: RolloutWriter) -> None:
        with self._writers_lock:
            if self._writers.get(writer.thread_id) is writer:
                del self._writers[writer.thread_id]

    # --- reading --------------------------------------------------------------------------
    async def load_history(self, params: LoadHistoryParams) -> StoredThreadHistory:
        if params.last is not None:
            return await self._run(self._tail, params)
        stored = await self._run(self._read, params.thread_id, params.include_archived, True)
        assert stored.history is not None
        return stored.history

    def _tail(self, params: LoadHistoryParams) -> StoredThreadHistory:
        if params.last is None or params.last < 0:
            raise InvalidRequest("last must not be negative")
        with self._writers_lock:
            writer = self._writers.get(params.thread_id)
        if writer is not None and writer.materialized:
            path = writer.path  # this process writes it: no need to ask the index
        else:
            path = Path(self._row(params.thread_id, include_archived=params.include_archived).path)
        items = tail_lines(path, params.last)
        return StoredThreadHistory(thread_id=params.thread_id, items=items)

    async def read_thread(self, params: ReadThreadParams) -> StoredThread:
        return await self._run(
            self._read, params.thread_id, params.include_archived, params.include_history
        )

    def _read(self, thread_id: ThreadId, include_archived: bool, history: bool) -> StoredThread:
        row = self._inherit_from_base(self._row(thread_id, include_archived=include_archived))
        return self._stored(row, history=history)

    async def read_thread_by_rollout_path(self, params: ReadThreadByPathParams) -> StoredThread:
        return await self._run(self._read_path, params)

    def _read_path(self, params: ReadThreadByPathParams) -> StoredThread:
        path = Path(params.rollout_path).absolute()
        if parse_rollout_name(path.name) is None or not path.is_file():
            raise NotFound(f"no rollout found at {path}")
        self.index.refresh_paths([path])
        rows = self.index.rows(
            f"SELECT {FILE_COLUMNS} FROM files f LEFT JOIN names n ON n.thread_id = f.thread_id"
            " WHERE f.path = ?",
            (str(path),),
        )
        if not rows or rows[0].thread_id is None:
            raise CorruptData(f"rollout at {path} does not start with session metadata", path)
        if rows[0].archived and not params.include_archived:
            raise NotFound(f"no rollout found at {path}")
        return self._stored(rows[0], history=params.include_history)

    async def resolve_legacy_path(self, params: ThreadIdParams) -> str:
        row = await self._run(self._row, params.thread_id)
        return row.path

    async def list_threads(self, params: ListThreadsParams) -> ThreadPage:
        return await self._run(self._list, params)

    def _list(self, params: ListThreadsParams) -> ThreadPage:
        self._sync()
        return list_threads(self.index, params, self.default_provider)

    async def search_threads(self, params: SearchThreadsParams) -> SearchPage:
        return await self._run(self._search, params)

    def _search(self, params: SearchThreadsParams) -> SearchPage:
        self.index_texts()
        return search(self.index, params, self.default_provider)

    async def find_thread_by_name(self, params: FindThreadByNameParams) -> StoredThread | None:
        return await self._run(self._find_by_name, params)

    def _find_by_name(self, params: FindThreadByNameParams) -> StoredThread | None:
        self._sync()
        for thread_id in self.index.ids_named(params.name.strip()):
            row = self.index.find(thread_id, include_archived=params.include_archived)
            if row is not None:
                return self._stored(row)
        return None

    # --- changing metadata ------------------------------------------------------------------
    async def set_thread_name(self, params: SetThreadNameParams) -> None:
        await self._run(self._set_name, params)

    def _set_name(self, params: SetThreadNameParams) -> None:
        name = mutations.validate_name(params.name)
        with self._writers_lock:
            writer = self._writers.get(params.thread_id)
        if writer is not None and not writer.materialized:
            writer.persist()  # naming a started thread materialises it (thread/name/set)
            writer.flush()
        row = self._row(params.thread_id, include_archived=False)
        mutations.set_name(self.home, row, name)

    async def update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        return await self._run(self._update_metadata, params)

    def _update_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        mutations.validate_patch(params.patch)
        with self._writers_lock:
            writer = self._writers.get(params.thread_id)
        if writer is not None and not writer.materialized:
            if writer.history_mode == HistoryMode.PAGINATED and params.patch.name is UNSET:
                # a started paginated thread: its metadata is kept aside, no file (12.1)
                row = self._pending_row(writer)
                mutations.update_metadata(self.home, self.index, row, params.patch, writer)
                return self._stored(self._pending_row(writer))
            writer.persist()
        row = self._row(params.thread_id, include_archived=params.include_archived)
        mutations.update_metadata(self.home, self.index, row, params.patch, writer)
        return self._stored(self._row(params.thread_id))

    def _pending_row(self, writer: RolloutWriter) -> FileRow:
        """The index row a not-yet-written thread will have."""
        assert writer.meta_line is not None
        state = SummaryState()
        state.feed(writer.meta_line.type, writer.meta_line.payload)
        state = self.index.with_override(state)
        return FileRow(
            path=str(writer.path),
            thread_id=writer.thread_id,
            archived=False,
            size=0,
            mtime_ns=0,
            inode=0,
            state=state,
        )

    async def archive_thread(self, params: ThreadIdParams) -> None:
        await self._run(self._archive, params.thread_id)

    def _archive(self, thread_id: ThreadId) -> None:
        row = self._row(thread_id, include_archived=False)
        target = mutations.archive(self.home, row)
        self.index.refresh_paths([Path(row.path), target])

    async def unarchive_thread(self, params: ThreadIdParams) -> StoredThread:
        return await self._run(self._unarchive, params.thread_id)

    def _unarchive(self, thread_id: ThreadId) -> StoredThread:
        self._sync()
        row = self.index.find(thread_id)
        if row is None or not row.archived:
            raise NotFound(f"no archived rollout found for thread id {thread_id}", thread_id)
        target = mutations.unarchive(self.home, row)
        self.index.refresh_paths([Path(row.path), target])
        return self._stored(self._row(thread_id))

    async def delete_thread(self, params: ThreadIdParams) -> None:
        await self._run(self._delete, params.thread_id)

    def _delete(self, thread_id: ThreadId) -> None:
        row = self._row(thread_id)
        rows = self.index.rows(
            f"SELECT {FILE_COLUMNS} FROM files f LEFT JOIN names n ON n.thread_id = f.thread_id"
            " WHERE f.thread_id = ?",
            (row.thread_id,),
        )
        removed = mutations.delete(self.home, rows or [row], ThreadId(row.thread_id or thread_id))
        self.index.refresh_paths(removed)
        self.spawn.forget(thread_id)

    # --- spawn edges ----------------------------------------------------------------------
    async def upsert_spawn_edge(self, params: UpsertSpawnEdgeParams) -> None:
        await self._run(self.spawn.upsert, params)

    async def list_spawn_edges(self, params: ListSpawnEdgesParams) -> list[SpawnEdge]:
        return await self._run(self.spawn.list, params)

    async def find_spawn_descendant(self, params: FindSpawnDescendantParams) -> StoredThread | None:
        return await self._run(self._find_descendant, params)

    def _find_descendant(self, params: FindSpawnDescendantParams) -> StoredThread | None:
        self._sync()
        for edge in self.spawn.list(
            ListSpawnEdgesParams(parent_thread_id=params.root_thread_id, recursive=True)
        ):
            row = self.index.find(edge.child_thread_id)
            if (
                row is not None
                and row.meta is not None
                and row.meta.agent_path == params.agent_path
            ):
                return self._stored(row)
        return None

    async def close(self) -> None:
        with self._writers_lock:
            writers = list(self._writers.values())
            self._writers.clear()
        for writer in writers:
            await self._run(writer.close)
        if self._watcher is not None:
            self._watcher.close()
        self.index.close()

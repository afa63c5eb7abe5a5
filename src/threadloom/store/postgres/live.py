"""Live writing on PostgreSQL: creating, resuming, appending to and forking threads.

A thread is written through its writer (``claims``): created (claimed, its session_meta kept
aside until it materialises), resumed (claimed again), appended to (one transaction per
batch, ``StoreCore._write``), flushed (every commit is durable: nothing to wait for), shut
down (the lease given up). A fork copies what its source's file would give (``fork``).
"""

from __future__ import annotations

import msgspec

from threadloom.errors import Conflict, InvalidRequest
from threadloom.ids import parse_thread_id
from threadloom.protocol.codec import format_timestamp
from threadloom.protocol.rollout import HistoryMode, InvalidSessionMeta, SessionMeta
from threadloom.protocol.source import InvalidSource
from threadloom.store.create import parent_meta_copy, session_meta_line
from threadloom.store.params import (
    AppendItemsParams,
    CreateThreadParams,
    ForkThreadParams,
    ResumeThreadParams,
    ThreadIdParams,
)
from threadloom.store.postgres.core import FOR_FORK, StoreCore
from threadloom.store.postgres.fork import after_first_meta, inherited_prefix, restamped
from threadloom.store.postgres.rows import ThreadRow
from threadloom.store.postgres.writer import apply, new_row, not_found, prepare, prepare_line
from threadloom.store.records import StoredThread


class LiveWriting(StoreCore):
    """The live-writing operations of the ThreadStore Protocol."""

    async def create_thread(self, params: CreateThreadParams) -> StoredThread:
        return await self._create(params)

    async def _create(
        self, params: CreateThreadParams, first_ordinal: int | None = None
    ) -> StoredThread:
        """Claim and start a thread (``first_ordinal``: its session_meta's, when paginated)."""
        tid = parse_thread_id(params.thread_id)
        now = self._clock()
        created = params.created_at_ms if params.created_at_ms is not None else now
        fixed = msgspec.structs.replace(params, thread_id=tid, created_at_ms=created)
        try:
            line = session_meta_line(fixed)
            meta = SessionMeta.from_payload(line.payload)
        except (InvalidSource, InvalidSessionMeta) as exc:
            raise InvalidRequest(f"invalid session metadata: {exc}") from None
        writer = await self.claims.claim(tid)
        try:
            if await self._exists(tid):
                raise Conflict(f"thread {tid} already exists", tid)
            writer.paginated = meta.history_mode == HistoryMode.PAGINATED
            row = new_row(tid, created)
            row.next_ordinal = first_ordinal
            batch = apply(row, [prepare_line(line)], writer.paginated)
            writer.pending, writer.pending_raw = row, batch.raws[0]
            if params.materialize:
                await self._write(writer, [])
        except BaseException:
            await self._release(writer, quiet=True)
            raise
        return self._record(row)

    async def resume_thread(self, params: ResumeThreadParams) -> StoredThread:
        tid = params.thread_id
        async with self.db.connection() as conn:
            row = await self._row(conn, tid)
        if row.archived and not params.include_archived:
            raise InvalidRequest(
                f"session {tid} is archived. Run `codex unarchive {tid}` to unarchive it first."
            )
        writer = await self.claims.claim(tid)
        try:
            async with self.db.connection() as conn:  # again, now that nobody else can write
                row = await self._row(conn, tid, include_archived=params.include_archived)
        except BaseException:
            await self._release(writer, quiet=True)
            raise
        writer.paginated = row.history_mode == HistoryMode.PAGINATED
        writer.row = row
        return self._record(row)

    async def append_items(self, params: AppendItemsParams) -> None:
        tid = params.thread_id
        writer = self._writer(tid)
        if writer is None:
            if await self._exists(tid):
                raise Conflict(f"thread {tid} is not open for writing", tid)
            raise not_found(tid)
        await self._write(writer, prepare(params), key=params.idempotency_key)

    async def persist_thread(self, params: ThreadIdParams) -> None:
        writer = self._writer(params.thread_id)
        if writer is not None:
            if writer.pending is not None:
                await self._write(writer, [])
        elif not await self._exists(params.thread_id):
            raise not_found(params.thread_id)

    async def flush_thread(self, params: ThreadIdParams) -> None:
        """Every write is durable once committed: nothing to wait for."""
        if self._writer(params.thread_id) is None and not await self._exists(params.thread_id):
            raise not_found(params.thread_id)

    async def shutdown_thread(self, params: ThreadIdParams) -> None:
        writer = self._writer(params.thread_id)
        if writer is None:
            if not await self._exists(params.thread_id):
                raise not_found(params.thread_id)
            return
        async with writer.lock:  # let a write in progress end
            await self._release(writer)

    async def discard_thread(self, params: ThreadIdParams) -> None:
        writer = self._writer(params.thread_id)
        if writer is not None:
            async with writer.lock:
                await self._release(writer, quiet=True)

    async def fork_thread(self, params: ForkThreadParams) -> StoredThread:
        if params.keep_items is not None and params.keep_items < 0:
            raise InvalidRequest("keep_items must not be negative")
        keep = params.keep_items
        source, lines = await self._snapshot(
            params.source_thread_id,
            include_archived=params.include_archived,
            history=True,
            lines=FOR_FORK,
        )
        meta = source.meta
        assert lines is not None
        if meta.history_mode == HistoryMode.PAGINATED:
            return await self._fork_paginated(params, source, lines)
        assert source.state.meta_payload is not None
        history = after_first_meta(lines)
        copied = history if keep is None else history[:keep]
        child = msgspec.structs.replace(
            params.thread,
            forked_from_id=meta.id,
            history_mode=meta.history_mode,
            materialize=False,
        )
        stored = await self.create_thread(child)
        writer = self._writer(stored.thread_id)
        assert writer is not None
        stamp = format_timestamp(stored.created_at_ms)
        parent = parent_meta_copy(source.state.meta_payload, meta.history_mode, stamp)
        todo = [prepare_line(parent), *(restamped(raw, stamp) for raw in copied)]
        try:
            await self._write(writer, todo)
        except BaseException:
            await self._release(writer, quiet=True)
            raise
        return await self._stored(stored.thread_id)

    async def _fork_paginated(
        self, params: ForkThreadParams, source: ThreadRow, lines: list[bytes]
    ) -> StoredThread:
        """A paginated child pointing into its parent (rollout-format 16.2): nothing copied,
        its ordinals continuing the parent's; stored at once."""
        complete = lines[:-1] if source.torn_tail else lines
        end_ordinal, end_offset = inherited_prefix(source, complete, params.end_ordinal)
        child = params.thread
        extra = {
            **child.extra,
            "forked_from_ordinal_exclusive": end_ordinal,
            "history_base": {
                "thread_id": source.thread_id,
                "end_ordinal_exclusive": end_ordinal,
                "end_byte_offset": end_offset,
            },
        }
        child = msgspec.structs.replace(
            child,
            forked_from_id=source.thread_id,
            history_mode=HistoryMode.PAGINATED,
            materialize=False,
            extra=extra,
        )
        stored = await self._create(child, first_ordinal=end_ordinal)
        writer = self._writer(stored.thread_id)
        assert writer is not None
        try:
            await self._write(writer, [])
        except BaseException:
            await self._release(writer, quiet=True)
            raise
        return await self._stored(stored.thread_id)

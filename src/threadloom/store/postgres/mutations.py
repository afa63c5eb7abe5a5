"""Changing stored threads on PostgreSQL: names, metadata patches, archiving, deleting.

Each change is one transaction on the thread's row (locked), refused with Conflict while a
live writer of another store holds the thread (its writer would not know). A rename appends
the ``session_index.jsonl`` entry Codex would write.
"""

from __future__ import annotations

from threadloom.errors import InvalidRequest, NotFound
from threadloom.protocol.codec import format_rfc3339_nanos
from threadloom.protocol.codec_json import dumps
from threadloom.protocol.rollout import HistoryMode
from threadloom.store.metadata_patch import validate_patch
from threadloom.store.params import (
    UNSET,
    SetThreadNameParams,
    ThreadIdParams,
    ThreadMetadataPatch,
    UpdateThreadMetadataParams,
    UpsertSpawnEdgeParams,
)
from threadloom.store.postgres import spawn
from threadloom.store.postgres.claims import Claims, Writer, active_writer
from threadloom.store.postgres.core import StoreCore
from threadloom.store.postgres.db import Conn
from threadloom.store.postgres.metadata import meta_copy, override
from threadloom.store.postgres.rows import encode_meta, pg_text
from threadloom.store.postgres.writer import apply, close_torn, not_found, select_row, store_batch
from threadloom.store.records import StoredThread


class Mutations(StoreCore):
    """The operations of the ThreadStore Protocol that change stored threads."""

    async def set_thread_name(self, params: SetThreadNameParams) -> None:
        name = params.name.strip()
        if not name:
            raise InvalidRequest("thread name must not be empty")
        await self._materialize_for_metadata(params.thread_id)
        async with self.db.connection() as conn:
            if not await self._set_name(conn, params.thread_id, name, include_archived=False):
                raise not_found(params.thread_id)

    async def _materialize_for_metadata(self, thread_id: str) -> None:
        """A started thread is stored before its metadata changes (as on the memory store)."""
        writer = self._writer(thread_id)
        if writer is not None and writer.pending is not None:
            await self._write(writer, [])

    async def _set_name(
        self, conn: Conn, thread_id: str, name: str, *, include_archived: bool
    ) -> bool:
        """Record a name (empty: cleared) and its ``session_index.jsonl`` entry; False when
        the thread is not there."""
        raw = name.encode() if name else None
        archived = "" if include_archived else " AND NOT archived"
        entry = dumps(
            {
                "id": thread_id,
                "thread_name": name,
                "updated_at": format_rfc3339_nanos(self._clock() * 1_000_000),
            }
        )
        query = (
            "WITH renamed AS (UPDATE threads SET named = true, read_name = %s,"
            " list_name = coalesce(%s, list_name),"
            " list_name_text = coalesce(%s, list_name_text), find_name = %s,"
            " name_seq = nextval('name_seq')"
            f" WHERE owner = %s AND thread_id = %s{archived} RETURNING key, name_seq)"
            " INSERT INTO name_entries (thread_key, seq, line)"
            " SELECT key, name_seq, %s FROM renamed"
        )
        cur = await conn.execute(
            query.encode(),
            (raw, raw, pg_text(name) or None, pg_text(name) or None, self.owner, thread_id, entry),
        )
        return cur.rowcount == 1

    async def update_thread_metadata(self, params: UpdateThreadMetadataParams) -> StoredThread:
        patch = params.patch
        name = validate_patch(patch)
        tid = params.thread_id
        touches = patch.git is not None or patch.memory_mode is not UNSET
        writer = self._writer(tid)
        if writer is not None and writer.pending is not None:
            if writer.paginated and name is UNSET:
                # a started paginated thread: its metadata is kept aside, not stored (12.1)
                async with writer.lock:
                    pending = writer.pending
                    if pending is not None:
                        override(pending, patch, self._clock())
                        return self._record(pending)
            await self._write(writer, [])
        async with self.db.connection() as conn:
            await self._row(conn, tid, include_archived=params.include_archived)
        if touches:
            if writer is not None and not writer.paginated:
                await self._write(
                    writer, lambda row: [meta_copy(row, patch, self._clock())], activity=False
                )
            else:
                await self._patch_stored(tid, patch, writer)
        if name is not UNSET:
            async with self.db.connection() as conn:
                await self._set_name(conn, tid, name or "", include_archived=True)
        async with self.db.connection() as conn:
            return self._record(await self._row(conn, tid))

    async def _patch_stored(
        self, thread_id: str, patch: ThreadMetadataPatch, writer: Writer | None
    ) -> None:
        """Apply a git / memory-mode patch to a stored thread in one transaction: a legacy
        thread gets a session_meta copy, a paginated one keeps it beside its lines."""
        async with self.db.transaction() as conn:
            row = await self._row(conn, thread_id, lock="FOR UPDATE")
            if writer is None and await Claims.held(conn, self.owner, thread_id):
                raise active_writer(thread_id)
            now = self._clock()
            if row.history_mode == HistoryMode.LEGACY:
                if row.torn_tail:
                    await close_torn(conn, row)
                batch = apply(row, [meta_copy(row, patch, now)], paginated=False)
                row.updated_ms = now
                await store_batch(conn, row, batch)
                return
            override(row, patch, now)
            await conn.execute(
                "UPDATE threads SET overridden = true, override_git = %s, override_memory = %s,"
                " updated_ms = %s WHERE key = %s",
                (
                    None if row.override_git is None else encode_meta(row.override_git),
                    row.override_memory,
                    row.updated_ms,
                    row.key,
                ),
            )

    async def archive_thread(self, params: ThreadIdParams) -> None:
        tid = params.thread_id
        async with self.db.transaction() as conn:
            row = await self._row(conn, tid, include_archived=False, lock="FOR UPDATE")
            if await Claims.held(conn, self.owner, tid):
                raise active_writer(tid)
            await conn.execute(
                "UPDATE threads SET archived = true, archived_at_ms = %s WHERE key = %s",
                (self._clock(), row.key),
            )

    async def unarchive_thread(self, params: ThreadIdParams) -> StoredThread:
        tid = params.thread_id
        async with self.db.transaction() as conn:
            row = await select_row(conn, self.owner, tid, lock="FOR UPDATE")
            if row is None or not row.archived:
                raise NotFound(f"no archived rollout found for thread id {tid}", tid)
            if await Claims.held(conn, self.owner, tid):
                raise active_writer(tid)
            row.archived, row.archived_at_ms, row.updated_ms = False, None, self._clock()
            await conn.execute(
                "UPDATE threads SET archived = false, archived_at_ms = NULL, updated_ms = %s"
                " WHERE key = %s",
                (row.updated_ms, row.key),
            )
        return self._record(row)

    async def delete_thread(self, params: ThreadIdParams) -> None:
        tid = params.thread_id
        async with self.db.transaction() as conn:
            row = await self._row(conn, tid, lock="FOR UPDATE")
            if await Claims.held(conn, self.owner, tid):
                raise active_writer(tid)
            await conn.execute("DELETE FROM threads WHERE key = %s", (row.key,))
            await spawn.forget(conn, self.owner, tid)

    # --- sub-agent spawn edges ----------------------------------------------------------
    async def upsert_spawn_edge(self, params: UpsertSpawnEdgeParams) -> None:
        async with self.db.connection() as conn:
            await spawn.upsert(conn, self.owner, params)
